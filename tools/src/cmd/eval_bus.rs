//! `vigor eval --via-bus`: a student evaluated closed-loop through the wire. `vigor sim-robot`
//! (MuJoCo, flat ground, LowState at 500 Hz and head depth at 30 Hz) and `vigor control` running
//! the artifact are real processes on a loopback zenoh bus; this process is the operator. Each
//! start resets the simulated robot into exactly the episode the in-process evaluation runs for
//! the same seed (an episode reset: the same start pose, settled the same way), arms the
//! controller (which engages the policy at once on a robot that is down), waits one episode and
//! judges the last LowState.
//!
//! A start succeeds when the robot has been upright without a break for the last [`HELD_S`] of
//! the episode: the pelvis at least [`STANDING_PELVIS_M`] above the ground (from the joint angles
//! and the IMU orientation through forward kinematics, resting on flat ground) and tilt under
//! 20°, checked on every LowState. The in-process evaluation reports the same rule from the
//! simulator's truth (`upright_s`), beside its own success, which also asks that the base move
//! slower than 0.5 m/s at the last step: a speed the robot's sensors do not give. The gyro's
//! magnitude (averaged over about 0.2 s) is reported beside.

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use rapier3d::na::{Isometry3, Quaternion, UnitQuaternion};
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
/// How long the simulated robot has to acknowledge an episode reset (build the episode's model,
/// settle the start: about 2 s of physics) before the request is sent again, s.
const RESET_ACK_S: u64 = 15;
/// Episode-reset requests per start at most.
const RESET_ATTEMPTS: usize = 3;
/// How long the robot must have been upright without a break at the end of the episode, s.
pub const HELD_S: f32 = 0.5;
/// Largest tilt of a robot that stands, rad (20°, the evaluation's).
pub const UPRIGHT_TILT_RAD: f32 = vigor_sim::env::TRIGGER_TILT_RAD;

/// What the operator's LowState subscriber keeps: the newest judgement of the robot.
#[derive(Debug, Default)]
struct Watch {
    pelvis_m: f64,
    tilt_rad: f32,
    /// Gyro magnitude averaged over about 0.2 s (100 frames), rad/s.
    gyro_rad_s: f32,
    /// Since when the robot has been upright without a break.
    upright_since: Option<Instant>,
}

impl Watch {
    fn take(&mut self, robot: &Robot, s: LowState, at: Instant) {
        let g = s.imu_state.gyroscope;
        let rate = (g[0] * g[0] + g[1] * g[1] + g[2] * g[2]).sqrt();
        self.gyro_rad_s += (rate - self.gyro_rad_s) / 100.0;
        self.pelvis_m = pelvis_height(robot, &s);
        self.tilt_rad = vigor_controller::core::tilt_rad(s.imu_state.quaternion);
        if self.pelvis_m >= STANDING_PELVIS_M && self.tilt_rad < UPRIGHT_TILT_RAD {
            self.upright_since.get_or_insert(at);
        } else {
            self.upright_since = None;
        }
    }
}

struct Proc(Child);

/// The simulated robot's stderr, followed line by line on a thread of its own.
struct SimLog {
    lines: Arc<Mutex<Vec<String>>>,
}

impl SimLog {
    fn follow(stderr: std::process::ChildStderr) -> Self {
        use std::io::BufRead as _;
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&lines);
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Ok(mut v) = sink.lock() {
                    v.push(line);
                }
            }
        });
        Self { lines }
    }

    /// Waits for the simulated robot's word on request `seq`: `Ok` done, `Err(line)` refused;
    /// `None` after `timeout` without either.
    fn wait_for(&self, seq: u64, timeout: Duration) -> Option<Result<(), String>> {
        let (done, refused) = (
            format!("sim-robot: request {seq} done"),
            format!("sim-robot: request {seq} refused"),
        );
        let start = Instant::now();
        while start.elapsed() < timeout {
            if let Ok(v) = self.lines.lock() {
                for line in v.iter() {
                    if line.starts_with(&done) {
                        return Some(Ok(()));
                    }
                    if line.starts_with(&refused) {
                        return Some(Err(line.clone()));
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One start to run through the bus: an episode of the in-process evaluation's list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusEpisode {
    /// Lying start.
    pub scenario: String,
    /// Episode seed (the in-process evaluation's, for the same start).
    pub seed: u64,
}

/// One start's result.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BusOutcome {
    /// Lying start.
    pub scenario: String,
    /// Episode seed.
    pub seed: u64,
    /// Whether the policy engaged.
    pub engaged: bool,
    /// Pelvis height at the end, m.
    pub pelvis_m: f64,
    /// Tilt at the end, degrees.
    pub tilt_deg: f32,
    /// Body rotation rate at the end (averaged over about 0.2 s), rad/s.
    pub gyro_rad_s: f32,
    /// How long the robot had been upright without a break at the end, s.
    pub upright_s: f32,
    /// Upright without a break for the last [`HELD_S`].
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
    episodes: &[BusEpisode],
    episode_s: f32,
    robot: &Robot,
) -> Result<Vec<BusOutcome>> {
    let exe = std::env::current_exe().context("finding the vigor binary")?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let endpoint = format!("tcp/127.0.0.1:{port}");
    let total_s = episodes.len() as f64 * (f64::from(episode_s) + 6.0) + 60.0;
    let quiet = |c: &mut Command| {
        c.stdout(Stdio::null()).stderr(Stdio::null());
    };
    let mut sim = Command::new(&exe);
    sim.args(["sim-robot", "--listen", &endpoint, "--duration-s"])
        .arg(format!("{:.0}", total_s + 10.0))
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut sim = Proc(sim.spawn().context("starting vigor sim-robot")?);
    // The simulated robot says on stderr when it has done (or refused) a request: the reset's
    // acknowledgement.
    let acks = SimLog::follow(
        sim.0
            .stderr
            .take()
            .context("the simulated robot's stderr")?,
    );
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
    let state: Arc<Mutex<Watch>> = Arc::new(Mutex::new(Watch::default()));
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
        let robot = robot.clone();
        bus.declare_subscriber(topics::LOWSTATE.key)
            .callback(move |s| {
                if let (Ok(st), Ok(mut w)) =
                    (LowState::decode(&s.payload().to_bytes()), sink.lock())
                {
                    w.take(&robot, st, Instant::now());
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
    let (requests, matched) = vigor_controller::bus::matched_publisher(
        &bus,
        topics::SIM_REQUEST.key,
        Duration::from_secs(10),
    )?;
    if !matched {
        bail!("the simulated robot's request subscription never reached this session");
    }
    let mut outcomes = Vec::new();
    let mut request_seq = 0u64;
    for episode in episodes {
        command(Op::Disarm)?;
        command(Op::Clear)?;
        // The reset, sent again if the simulated robot does not acknowledge it.
        let mut done = false;
        for _ in 0..RESET_ATTEMPTS {
            request_seq += 1;
            let request = SimRequest {
                seq: request_seq,
                stamp_ns: 0,
                request: SimRequestKind::Episode {
                    scenario: episode.scenario.clone(),
                    terrain: "flat".into(),
                    difficulty: 0.0,
                    seed: episode.seed,
                },
            };
            requests.put(request.encode()?).wait().map_err(zerr)?;
            match acks.wait_for(request_seq, Duration::from_secs(RESET_ACK_S)) {
                Some(Ok(())) => {
                    done = true;
                    break;
                }
                Some(Err(line)) => bail!("the simulated robot refused the episode: {line}"),
                None => {}
            }
        }
        if !done {
            bail!(
                "the simulated robot did not acknowledge the reset into `{}` (seed {}) in {} \
                 tries of {RESET_ACK_S} s",
                episode.scenario,
                episode.seed,
                RESET_ATTEMPTS
            );
        }
        // The controller sees the robot down and is Passive (again, if the reset's stall passed
        // its LowState watchdog); arm, and again if it fell back to Passive.
        let mut engaged = false;
        for _ in 0..2 {
            if let Ok(mut slot) = status.lock() {
                *slot = None;
            }
            wait(&|s| s.state == ControllerState::Passive, 10.0);
            command(Op::Arm)?;
            engaged = wait(&|s| s.state == ControllerState::Active, 5.0);
            if engaged {
                break;
            }
        }
        std::thread::sleep(Duration::from_secs_f32(episode_s));
        let end = Instant::now();
        let (pelvis_m, tilt, gyro, upright_s) = state
            .lock()
            .map(|w| {
                (
                    w.pelvis_m,
                    w.tilt_rad,
                    w.gyro_rad_s,
                    w.upright_since
                        .map_or(0.0, |t| end.saturating_duration_since(t).as_secs_f32()),
                )
            })
            .unwrap_or_default();
        let success = engaged && upright_s >= HELD_S;
        eprintln!(
            "{} (seed {}): {} pelvis {pelvis_m:.2} m, tilt {:.0}°, gyro {gyro:.2} rad/s",
            episode.scenario,
            episode.seed,
            if success { "success," } else { "fail," },
            tilt.to_degrees()
        );
        outcomes.push(BusOutcome {
            scenario: episode.scenario.clone(),
            seed: episode.seed,
            engaged,
            pelvis_m,
            tilt_deg: tilt.to_degrees(),
            gyro_rad_s: gyro,
            upright_s,
            success,
        });
    }
    let _ = command(Op::Disarm);
    Ok(outcomes)
}

/// One start through both paths.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Paired {
    /// Success in-process by `vigor eval`'s own definition (upright and slower than 0.5 m/s at
    /// the end, from the simulator's truth).
    pub in_process: bool,
    /// In-process, how long the robot had been upright without a break at the end, s.
    pub in_process_upright_s: f32,
    /// The same start through the bus.
    pub bus: BusOutcome,
}

impl Paired {
    /// In-process success by the bus's rule: upright without a break for the last [`HELD_S`].
    #[must_use]
    pub fn in_process_held(&self) -> bool {
        self.in_process_upright_s >= HELD_S
    }
}

/// Success per scenario and overall on both paths, and how often they agree, as markdown.
#[must_use]
pub fn paired_table(pairs: &[Paired], scenarios: &[String]) -> String {
    let mut md = String::from(
        "| scenario | starts | in-process, `vigor eval`'s success | in-process, upright for the last 0.5 s | through the bus, upright for the last 0.5 s | same outcome (last two) |\n|---|---|---|---|---|---|\n",
    );
    let pct = |n: usize, of: usize| 100.0 * n as f64 / of.max(1) as f64;
    let mut row = |name: &str, v: &[&Paired]| {
        let n = v.len();
        let paper = v.iter().filter(|p| p.in_process).count();
        let a = v.iter().filter(|p| p.in_process_held()).count();
        let b = v.iter().filter(|p| p.bus.success).count();
        let same = v
            .iter()
            .filter(|p| p.in_process_held() == p.bus.success)
            .count();
        let _ = writeln!(
            md,
            "| {name} | {n} | {:.1} % | {:.1} % | {:.1} % | {same}/{n} |",
            pct(paper, n),
            pct(a, n),
            pct(b, n)
        );
    };
    for s in scenarios {
        let v: Vec<&Paired> = pairs.iter().filter(|p| &p.bus.scenario == s).collect();
        row(s, &v);
    }
    let all: Vec<&Paired> = pairs.iter().collect();
    row("all", &all);
    md
}
