//! The live part of `vigor demo`: `vigor sim-robot` and `vigor control` as real processes on a
//! loopback bus, armed, stood up and pushed over while the controller records the run.

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use vigor_controller::bus::BusConfig;
use vigor_msgs::project::{
    Command as Op, ControllerCommand, ControllerState, ControllerStatus, SimRequest,
    SimRequestKind, TransitionReason,
};
use vigor_msgs::topics;
use zenoh::Wait;

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One scripted fall: the terrain to switch to first (kind, difficulty), if any, and the push.
type Fall = (Option<(&'static str, f32)>, [f32; 3]);

/// What happened, as the status stream told it.
pub struct LiveOutcome {
    /// Transitions `(state, reason)` in order.
    pub transitions: Vec<(ControllerState, TransitionReason)>,
    /// One line per fall: terrain, push, whether the policy engaged, the largest tilt.
    pub episodes: Vec<String>,
}

impl LiveOutcome {
    /// One line per transition, and the verdict.
    #[must_use]
    pub fn describe(&self) -> String {
        let mut s = String::new();
        for (state, reason) in &self.transitions {
            let _ = writeln!(s, "- {state:?} ({reason:?})");
        }
        for e in &self.episodes {
            let _ = writeln!(s, "{e}");
        }
        let recovered = self
            .transitions
            .iter()
            .filter(|t| t.1 == TransitionReason::Recovered)
            .count();
        let _ = writeln!(
            s,
            "Outcome: {} of {} falls recovered{}.",
            recovered,
            self.episodes.len(),
            if recovered == 0 {
                " (expected of an untrained policy)"
            } else {
                ""
            }
        );
        s
    }
}

/// Runs the live demo with the artifact in `policy`, recording to `record`.
///
/// # Errors
/// A process failed to start, or the controller never reported.
pub fn run(policy: &Path, record: &Path) -> Result<LiveOutcome> {
    let exe = std::env::current_exe().context("finding the vigor binary")?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let endpoint = format!("tcp/127.0.0.1:{port}");
    let quiet = |c: &mut Command| {
        c.stdout(Stdio::null()).stderr(Stdio::null());
    };
    let mut sim = Command::new(&exe);
    sim.args(["sim-robot", "--listen", &endpoint, "--duration-s", "32"]);
    quiet(&mut sim);
    let _sim = Proc(sim.spawn().context("starting vigor sim-robot")?);
    let mut ctl = Command::new(&exe);
    ctl.args([
        "control",
        "--connect",
        &endpoint,
        "--duration-s",
        "20",
        "--policy",
    ])
    .arg(policy)
    .arg("--record")
    .arg(record);
    quiet(&mut ctl);
    let mut control = Proc(ctl.spawn().context("starting vigor control")?);

    // A client of the simulated robot (the router), like the controller: it waits for the
    // router to listen, and the router routes between them.
    let bus = BusConfig {
        mode: Some(vigor_controller::bus::Mode::Client),
        ..BusConfig::connect_to(&endpoint)
    }
    .open()?;
    let seen: Arc<Mutex<Vec<ControllerStatus>>> = Arc::new(Mutex::new(Vec::new()));
    let log: Arc<Mutex<Vec<ControllerStatus>>> = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    let log_sink = Arc::clone(&log);
    let _sub = bus
        .declare_subscriber(topics::CONTROLLER_STATUS.key)
        .callback(move |s| {
            if let Ok(st) = ControllerStatus::decode(&s.payload().to_bytes()) {
                if let Ok(mut v) = log_sink.lock() {
                    v.push(st.clone());
                }
                if let Ok(mut v) = sink.lock() {
                    v.push(st);
                }
            }
        })
        .wait()
        .map_err(|e| anyhow::anyhow!("zenoh: {e}"))?;
    let wait = |pred: &dyn Fn(&ControllerStatus) -> bool, secs: u64| -> bool {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(secs) {
            if seen.lock().is_ok_and(|v| v.iter().any(pred)) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    };
    if !wait(&|_| true, 30) {
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
    let put = |key: &str, bytes: Vec<u8>| {
        bus.put(key, bytes)
            .wait()
            .map_err(|e| anyhow::anyhow!("zenoh: {e}"))
    };
    let mut seq = 0u64;
    let mut command = |c: Op| {
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
            .map_err(|e| anyhow::anyhow!("zenoh: {e}"))
    };
    let request = |seq: u64, r: SimRequestKind| -> Result<()> {
        put(
            topics::SIM_REQUEST.key,
            SimRequest {
                seq,
                stamp_ns: 0,
                request: r,
            }
            .encode()?,
        )
    };
    let mut episodes = Vec::new();
    // Two falls: pushed forward on flat ground, then pushed sideways on rough ground.
    let plan: [Fall; 2] = [
        (None, [450.0, 0.0, 0.0]),
        (Some(("rough", 0.6)), [0.0, 450.0, 0.0]),
    ];
    for (k, (terrain, force)) in plan.into_iter().enumerate() {
        if let Some((name, difficulty)) = terrain {
            command(Op::Disarm)?;
            command(Op::Clear)?;
            request(
                100 + k as u64,
                SimRequestKind::Terrain {
                    name: name.to_owned(),
                    difficulty,
                    seed: 1,
                },
            )?;
            // The new tile is built and the robot stands in the gantry again; give the
            // controller's watchdog time to see LowState flow again.
            std::thread::sleep(Duration::from_millis(1500));
            if let Ok(mut v) = seen.lock() {
                v.clear();
            }
            wait(&|s| s.state == ControllerState::Passive, 10);
        }
        if let Ok(mut v) = seen.lock() {
            v.clear();
        }
        command(Op::Arm)?;
        if !wait(&|s| s.state == ControllerState::Armed, 15) {
            episodes.push(format!(
                "fall {}: the controller did not reach Armed",
                k + 1
            ));
            continue;
        }
        // The simulated robot's gantry lowers 3.5-4.5 s after the ramp began.
        std::thread::sleep(Duration::from_millis(2500));
        let from = seen.lock().map_or(0, |v| v.len());
        request(
            k as u64,
            SimRequestKind::Push {
                link: "torso_link".into(),
                force_n: force,
                duration_s: 0.25,
            },
        )?;
        let engaged = wait(&|s| s.state == ControllerState::Active, 5);
        std::thread::sleep(Duration::from_millis(2500));
        let tilt = seen
            .lock()
            .map(|v| {
                v[from.min(v.len())..]
                    .iter()
                    .map(|s| s.tilt_rad)
                    .fold(0.0, f32::max)
            })
            .unwrap_or(0.0);
        episodes.push(format!(
            "fall {}: {} N push on {}: the policy {}; largest tilt {:.0}°",
            k + 1,
            force.iter().map(|f| f * f).sum::<f32>().sqrt(),
            terrain.map_or("flat ground".to_owned(), |(n, d)| format!(
                "{n} ground (difficulty {d})"
            )),
            if engaged { "engaged" } else { "did not engage" },
            tilt.to_degrees()
        ));
    }
    let start = Instant::now();
    while control.0.try_wait()?.is_none() && start.elapsed() < Duration::from_secs(40) {
        std::thread::sleep(Duration::from_millis(100));
    }
    let all = log.lock().map(|v| v.clone()).unwrap_or_default();
    let mut transitions: Vec<(ControllerState, TransitionReason)> = Vec::new();
    for s in &all {
        if transitions.last() != Some(&(s.state, s.reason)) {
            transitions.push((s.state, s.reason));
        }
    }
    Ok(LiveOutcome {
        transitions,
        episodes,
    })
}
