//! Recording what goes over the bus to a rerun file, so real fall episodes can be replayed:
//! the robot's state (as a posed body: the IMU orientation and joint angles through forward
//! kinematics, lowered onto the floor), the commanded and measured joint angles, the controller's
//! status and transitions, the depth stream, and what the policy did (which policy acted, the
//! student's z_hat and reference track, the depth age). It runs in its own thread with its own zenoh
//! session, so the controller's control thread never waits for it.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use rapier3d::na::{Isometry3, Quaternion, UnitQuaternion};
use vigor_controller::bus::BusConfig;
use vigor_msgs::project::{ActingPolicy, ControllerStatus, DepthData, DepthFrame, PolicyTrace};
use vigor_msgs::topics;
use vigor_msgs::unitree_hg::{LowCmd, LowState};
use vigor_record::{DepthView, EpisodeRecorder, Pose};
use vigor_sim::robot::Robot;
use zenoh::Wait;

/// LowState and LowCmd frames kept, one in this many (500 Hz -> 50 Hz).
pub const DECIMATION: u64 = 10;

/// A running recorder.
pub struct BusRecorder {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<Result<u64>>,
}

impl BusRecorder {
    /// Starts recording the bus described by `bus` (keys under `scope`) into `out`.
    ///
    /// # Errors
    /// The recording cannot be created or the bus opened.
    pub fn start(
        bus: BusConfig,
        scope: Option<String>,
        robot: Robot,
        out: PathBuf,
    ) -> Result<Self> {
        let line = format!("vigor control recording of the bus {:?}", bus.connect);
        let rec = EpisodeRecorder::create(&out, &robot, None, &line)?;
        let session = bus.open()?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("vigor-record".into())
            .spawn(move || {
                record(&session, scope.as_deref(), &robot, &rec, &flag).and_then(|n| {
                    rec.finish()?;
                    Ok(n)
                })
            })
            .context("starting the recorder thread")?;
        Ok(Self { stop, thread })
    }

    /// Stops, flushes the file and returns the number of states recorded.
    ///
    /// # Errors
    /// The recording failed.
    pub fn finish(self) -> Result<u64> {
        self.stop.store(true, Ordering::SeqCst);
        self.thread
            .join()
            .map_err(|_| anyhow!("the recorder thread panicked"))?
    }
}

fn record(
    session: &zenoh::Session,
    scope: Option<&str>,
    robot: &Robot,
    rec: &EpisodeRecorder,
    stop: &AtomicBool,
) -> Result<u64> {
    let sub = |t: &topics::Topic| {
        session
            .declare_subscriber(t.scoped(scope))
            .wait()
            .map_err(|e| anyhow!("zenoh: {e}"))
    };
    let states = sub(&topics::LOWSTATE)?;
    let cmds = sub(&topics::LOWCMD)?;
    let statuses = sub(&topics::CONTROLLER_STATUS)?;
    let depth = sub(&topics::DEPTH)?;
    let traces = sub(&topics::CONTROLLER_POLICY)?;
    let mut last_acting: Option<(ActingPolicy, Option<u8>)> = None;
    let start = Instant::now();
    let (mut n_state, mut n_cmd, mut recorded) = (0u64, 0u64, 0u64);
    let mut last_state: Option<(u8, u8)> = None;
    let names: Vec<String> = robot
        .joints
        .iter()
        .map(|j| j.name.replace("_joint", ""))
        .collect();
    while !stop.load(Ordering::SeqCst) {
        let mut idle = true;
        let t = start.elapsed().as_secs_f64();
        while let Ok(Some(s)) = states.try_recv() {
            idle = false;
            n_state += 1;
            if !n_state.is_multiple_of(DECIMATION) {
                continue;
            }
            if let Ok(state) = LowState::decode(&s.payload().to_bytes()) {
                log_state(rec, robot, &names, t, &state)?;
                recorded += 1;
            }
        }
        while let Ok(Some(s)) = cmds.try_recv() {
            idle = false;
            n_cmd += 1;
            if !n_cmd.is_multiple_of(DECIMATION) {
                continue;
            }
            if let Ok(cmd) = LowCmd::decode(&s.payload().to_bytes()) {
                for (j, name) in robot.joints.iter().zip(&names) {
                    let m = &cmd.motor_cmd[j.slot];
                    rec.log_scalar(t, &format!("joints/{name}/q_target"), f64::from(m.q))?;
                }
            }
        }
        while let Ok(Some(s)) = statuses.try_recv() {
            idle = false;
            if let Ok(st) = ControllerStatus::decode(&s.payload().to_bytes()) {
                rec.log_scalar(t, "plots/controller_state", f64::from(st.state.code()))?;
                let key = (st.state.code(), st.reason.code());
                if last_state != Some(key) {
                    last_state = Some(key);
                    rec.log_text(
                        t,
                        "controller",
                        &format!(
                            "{:?} ({:?}){}",
                            st.state,
                            st.reason,
                            if st.latched { ", latched" } else { "" }
                        ),
                    )?;
                }
            }
        }
        while let Ok(Some(s)) = traces.try_recv() {
            idle = false;
            if let Ok(tr) = PolicyTrace::decode(&s.payload().to_bytes()) {
                log_trace(rec, t, &tr, &mut last_acting)?;
            }
        }
        while let Ok(Some(s)) = depth.try_recv() {
            idle = false;
            if let Ok(frame) = DepthFrame::decode(&s.payload().to_bytes()) {
                log_depth(rec, t, &frame)?;
            }
        }
        if idle {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    Ok(recorded)
}

fn log_state(
    rec: &EpisodeRecorder,
    robot: &Robot,
    names: &[String],
    t: f64,
    s: &LowState,
) -> Result<()> {
    let [w, x, y, z] = s.imu_state.quaternion.map(f64::from);
    let rotation = UnitQuaternion::from_quaternion(Quaternion::new(w, x, y, z));
    let q: Vec<f64> = robot
        .joints
        .iter()
        .map(|j| f64::from(s.motor_state[j.slot].q))
        .collect();
    // The robot does not measure where it is: draw it at the origin, resting on the floor.
    let mut root = Isometry3::from_parts(Default::default(), rotation);
    root.translation.vector.z = -robot.lowest_point_at(&root, &q);
    let poses: Vec<Pose> = robot
        .forward_kinematics(&root, &q)
        .iter()
        .map(|p| {
            let v = p.translation.vector;
            let r = p.rotation;
            Pose {
                pos: [v.x as f32, v.y as f32, v.z as f32],
                quat_wxyz: [r.w as f32, r.i as f32, r.j as f32, r.k as f32],
            }
        })
        .collect();
    let tilt = vigor_controller::core::tilt_rad(s.imu_state.quaternion).to_degrees();
    rec.log_step(t, &poses, &[], root.translation.vector.z as f32, tilt)?;
    for (j, name) in robot.joints.iter().zip(names) {
        rec.log_scalar(
            t,
            &format!("joints/{name}/q"),
            f64::from(s.motor_state[j.slot].q),
        )?;
    }
    Ok(())
}

/// The policy's tick: z_hat per dimension (`policy/z_hat/NN`), the reference track, the depth
/// age, and a line whenever the acting policy or the track changes.
fn log_trace(
    rec: &EpisodeRecorder,
    t: f64,
    tr: &PolicyTrace,
    last: &mut Option<(ActingPolicy, Option<u8>)>,
) -> Result<()> {
    for (k, z) in tr.latent.iter().enumerate() {
        rec.log_scalar(t, &format!("policy/z_hat/{k:02}"), f64::from(*z))?;
    }
    if let Some(track) = tr.track {
        rec.log_scalar(t, "policy/track", f64::from(track))?;
    }
    if let Some(age) = tr.depth_age_ms {
        rec.log_scalar(t, "policy/depth_age_ms", f64::from(age))?;
    }
    let now = (tr.acting, tr.track);
    if *last != Some(now) {
        *last = Some(now);
        rec.log_text(
            t,
            "policy",
            &format!(
                "{} acts{}",
                match tr.acting {
                    ActingPolicy::Primary => "the policy",
                    ActingPolicy::Fallback => "the blind fallback (depth stale)",
                },
                tr.track
                    .map(|k| format!(", reference track {k}"))
                    .unwrap_or_default()
            ),
        )?;
    }
    Ok(())
}

fn log_depth(rec: &EpisodeRecorder, t: f64, f: &DepthFrame) -> Result<()> {
    let metres: Vec<f32> = match &f.depth {
        DepthData::Metres(v) => v.clone(),
        DepthData::Millimetres(v) => v.iter().map(|&mm| f32::from(mm) / 1000.0).collect(),
    };
    rec.log_depth(
        t,
        DepthView {
            metres: &metres,
            width: u32::from(f.width),
            height: u32::from(f.height),
            fx_px: f.intrinsics.fx_px,
            fy_px: f.intrinsics.fy_px,
        },
    )?;
    Ok(())
}
