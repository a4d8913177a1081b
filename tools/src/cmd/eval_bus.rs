//! `vigor eval --via-bus`: a student evaluated closed-loop through the wire. `vigor sim-robot`
//! (MuJoCo, flat ground, LowState at 500 Hz and head depth at 30 Hz) and `vigor control` running
//! the artifact are real processes on a loopback zenoh bus; this process is the operator. Each
//! start resets the simulated robot into a seeded lying start, arms the controller (which engages
//! the policy at once on a robot that is down), waits one episode and judges the last LowState.
//!
//! Success is the in-process evaluation's definition as far as the robot's own sensors give it:
//! upright, i.e. the pelvis at least [`STANDING_PELVIS_M`] above the ground (from the joint angles
//! and the IMU orientation through forward kinematics, resting on flat ground) and tilt under 20°,
//! at the end of the episode and [`HELD_S`] before it. The robot's sensors do not give the base's
//! linear speed, which the in-process check also bounds; "upright at both times" stands in for
//! it. The gyro's magnitude (averaged over about 0.2 s) is reported beside. The
//! starts are drawn by sim-robot's own seeded start planner, from the same distribution as the
//! in-process evaluation's but not the identical poses.

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use rapier3d::na::{Isometry3, Quaternion, UnitQuaternion};
use vigor_common::seed::derive;
use vigor_controller::bus::BusConfig;
use vigor_msgs::project::{
    Command as Op, ControllerCommand, ControllerState, ControllerStatus, SimRequest, SimRequestKind,
};
use vigor_msgs::topics;
use vigor_msgs::unitree_hg::LowState;
use vigor_sim::robot::Robot;
use zenoh::Wait;

/// Pelvis height of a standing robot, m (the in-process evaluation's threshold).
pub const STANDING_PELVIS_M: f64 = vigor_training::demos::posture::STANDING_PELVIS_M;
/// How long before the end of the episode the robot must already be upright, s.
pub const HELD_S: f32 = 0.5;
/// Largest tilt of a robot that stands, rad (20°, the evaluation's).
pub const UPRIGHT_TILT_RAD: f32 = vigor_sim::env::TRIGGER_TILT_RAD;

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One start's result.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BusOutcome {
    /// Lying start.
    pub scenario: String,
    /// Trial index.
    pub trial: usize,
    /// Whether the policy engaged.
    pub engaged: bool,
    /// Pelvis height at the end, m.
    pub pelvis_m: f64,
    /// Tilt at the end, degrees.
    pub tilt_deg: f32,
    /// Body rotation rate at the end (averaged over about 0.2 s), rad/s.
    pub gyro_rad_s: f32,
    /// Upright at the end and [`HELD_S`] before it.
    pub success: bool,
}

/// The pelvis height of the robot in `s`, resting on flat ground, m.
fn pelvis_height(robot: &Robot, s: &LowState) -> f64 {
    let [w, x, y, z] = s.imu_state.quaternion.map(f64::from);
    let rotation = UnitQuaternion::from_quaternion(Quaternion::new(w, x, y, z));
    let q: Vec<f64> = robot
        .joints
        .iter()
        .map(|j| f64::from(s.motor_state[j.slot].q))
        .collect();
    let root = Isometry3::from_parts(Default::default(), rotation);
    -robot.lowest_point_at(&root, &q)
}

/// Runs `trials` lying starts per scenario of the student in `policy` through the bus, seeded
/// by `seed`, each watched for `episode_s`; writes `out/eval-bus.json` and `out/eval-bus.md`.
///
/// # Errors
/// A process that does not start, a controller that never reports, or file errors.
pub fn run(
    policy: &Path,
    scenarios: &[String],
    trials: usize,
    seed: u64,
    episode_s: f32,
    robot: &Robot,
    out: &Path,
) -> Result<Vec<BusOutcome>> {
    let exe = std::env::current_exe().context("finding the vigor binary")?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let endpoint = format!("tcp/127.0.0.1:{port}");
    let total_s = (scenarios.len() * trials) as f64 * (f64::from(episode_s) + 6.0) + 60.0;
    let quiet = |c: &mut Command| {
        c.stdout(Stdio::null()).stderr(Stdio::null());
    };
    let mut sim = Command::new(&exe);
    sim.args(["sim-robot", "--listen", &endpoint, "--duration-s"])
        .arg(format!("{:.0}", total_s + 10.0));
    quiet(&mut sim);
    let _sim = Proc(sim.spawn().context("starting vigor sim-robot")?);
    let mut ctl = Command::new(&exe);
    ctl.args(["control", "--connect", &endpoint, "--duration-s"])
        .arg(format!("{total_s:.0}"))
        .arg("--policy")
        .arg(policy);
    quiet(&mut ctl);
    let _control = Proc(ctl.spawn().context("starting vigor control")?);

    let bus = BusConfig {
        mode: Some(vigor_controller::bus::Mode::Client),
        ..BusConfig::connect_to(&endpoint)
    }
    .open()?;
    let status: Arc<Mutex<Option<ControllerStatus>>> = Arc::new(Mutex::new(None));
    // The newest LowState, and its gyro magnitude averaged over about 0.2 s (100 frames).
    let state: Arc<Mutex<(Option<LowState>, f32)>> = Arc::new(Mutex::new((None, 0.0)));
    let zerr = |e: zenoh::Error| anyhow::anyhow!("zenoh: {e}");
    let _status_sub = {
        let sink = Arc::clone(&status);
        bus.declare_subscriber(topics::CONTROLLER_STATUS.key)
            .callback(move |s| {
                if let (Ok(st), Ok(mut slot)) = (
                    ControllerStatus::decode(&s.payload().to_bytes()),
                    sink.lock(),
                ) {
                    *slot = Some(st);
                }
            })
            .wait()
            .map_err(zerr)?
    };
    let _state_sub = {
        let sink = Arc::clone(&state);
        bus.declare_subscriber(topics::LOWSTATE.key)
            .callback(move |s| {
                if let (Ok(st), Ok(mut slot)) =
                    (LowState::decode(&s.payload().to_bytes()), sink.lock())
                {
                    let g = st.imu_state.gyroscope;
                    let rate = (g[0] * g[0] + g[1] * g[1] + g[2] * g[2]).sqrt();
                    slot.1 += (rate - slot.1) / 100.0;
                    slot.0 = Some(st);
                }
            })
            .wait()
            .map_err(zerr)?
    };
    let wait = |pred: &dyn Fn(&ControllerStatus) -> bool, secs: f64| -> bool {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs_f64(secs) {
            if status
                .lock()
                .ok()
                .and_then(|s| s.clone())
                .is_some_and(|s| pred(&s))
            {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    };
    if !wait(&|_| true, 30.0) {
        bail!("the controller never published a status");
    }
    let (commands, matched) = vigor_controller::bus::matched_publisher(
        &bus,
        topics::CONTROLLER_COMMAND.key,
        Duration::from_secs(10),
    )?;
    if !matched {
        bail!("the controller's command subscription never reached this session");
    }
    let mut seq = 0u64;
    let mut command = |c: Op| -> Result<()> {
        seq += 1;
        commands
            .put(
                ControllerCommand {
                    seq,
                    stamp_ns: 0,
                    command: c,
                }
                .encode(),
            )
            .wait()
            .map_err(zerr)
    };
    let mut outcomes = Vec::new();
    for (i, scenario) in scenarios.iter().enumerate() {
        for trial in 0..trials {
            command(Op::Disarm)?;
            command(Op::Clear)?;
            let request = SimRequest {
                seq: (i * trials + trial) as u64,
                stamp_ns: 0,
                request: SimRequestKind::Reset {
                    scenario: scenario.clone(),
                    seed: derive(seed, scenario, trial as u64),
                },
            };
            bus.put(topics::SIM_REQUEST.key, request.encode()?)
                .wait()
                .map_err(zerr)?;
            // The robot settles into the start under damping; the controller sees LowState
            // again and is Passive.
            std::thread::sleep(Duration::from_millis(1500));
            wait(&|s| s.state == ControllerState::Passive, 10.0);
            command(Op::Arm)?;
            let engaged = wait(&|s| s.state == ControllerState::Active, 5.0);
            let sample = || {
                let (s, gyro) = state
                    .lock()
                    .map(|s| (s.0.clone().unwrap_or_default(), s.1))
                    .unwrap_or_default();
                let pelvis_m = pelvis_height(robot, &s);
                let tilt = vigor_controller::core::tilt_rad(s.imu_state.quaternion);
                (pelvis_m, tilt, gyro)
            };
            let upright =
                |(p, t, _): (f64, f32, f32)| p >= STANDING_PELVIS_M && t < UPRIGHT_TILT_RAD;
            std::thread::sleep(Duration::from_secs_f32(episode_s - HELD_S));
            let before = sample();
            std::thread::sleep(Duration::from_secs_f32(HELD_S));
            let end = sample();
            let (pelvis_m, tilt, gyro) = end;
            let success = engaged && upright(before) && upright(end);
            eprintln!(
                "{scenario} #{trial}: {} pelvis {pelvis_m:.2} m, tilt {:.0}°, gyro {gyro:.2} rad/s",
                if success { "success," } else { "fail," },
                tilt.to_degrees()
            );
            outcomes.push(BusOutcome {
                scenario: scenario.clone(),
                trial,
                engaged,
                pelvis_m,
                tilt_deg: tilt.to_degrees(),
                gyro_rad_s: gyro,
                success,
            });
        }
    }
    let _ = command(Op::Disarm);
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let json = out.join("eval-bus.json");
    vigor_common::fsutil::write_atomic(&json, &serde_json::to_vec_pretty(&outcomes)?)
        .with_context(|| format!("writing {}", json.display()))?;
    let md = out.join("eval-bus.md");
    vigor_common::fsutil::write_atomic(&md, table(&outcomes, scenarios).as_bytes())
        .with_context(|| format!("writing {}", md.display()))?;
    Ok(outcomes)
}

/// Success per scenario and overall, as markdown.
#[must_use]
pub fn table(outcomes: &[BusOutcome], scenarios: &[String]) -> String {
    let mut s =
        String::from("| path | scenario | terrain | trials | success |\n|---|---|---|---|---|\n");
    let rate = |v: &[&BusOutcome]| {
        100.0 * v.iter().filter(|o| o.success).count() as f64 / v.len().max(1) as f64
    };
    for sc in scenarios {
        let v: Vec<&BusOutcome> = outcomes.iter().filter(|o| &o.scenario == sc).collect();
        let _ = writeln!(s, "| bus | {sc} | flat | {} | {:.0} % |", v.len(), rate(&v));
    }
    let all: Vec<&BusOutcome> = outcomes.iter().collect();
    let _ = writeln!(
        s,
        "| bus | all | flat | {} | {:.1} % |",
        all.len(),
        rate(&all)
    );
    s
}
