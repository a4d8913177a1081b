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

/// What happened, as the status stream told it.
pub struct LiveOutcome {
    /// Transitions `(state, reason)` in order.
    pub transitions: Vec<(ControllerState, TransitionReason)>,
    /// Largest tilt seen after the push, rad.
    pub max_tilt_rad: f32,
}

impl LiveOutcome {
    /// One line per transition, and the verdict.
    #[must_use]
    pub fn describe(&self) -> String {
        let mut s = String::new();
        for (state, reason) in &self.transitions {
            let _ = writeln!(s, "- {state:?} ({reason:?})");
        }
        let engaged = self
            .transitions
            .iter()
            .any(|t| t.0 == ControllerState::Active);
        let recovered = self
            .transitions
            .iter()
            .any(|t| t.1 == TransitionReason::Recovered);
        let _ = writeln!(
            s,
            "Push: the policy {}; largest tilt {:.0}°; {}.",
            if engaged { "engaged" } else { "did not engage" },
            self.max_tilt_rad.to_degrees(),
            if recovered {
                "the robot recovered and the controller handed back to Armed"
            } else {
                "no recovery (expected of an untrained policy)"
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
    sim.args(["sim-robot", "--listen", &endpoint, "--duration-s", "22"]);
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

    let bus = BusConfig::connect_to(&endpoint).open()?;
    let seen: Arc<Mutex<Vec<ControllerStatus>>> = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    let _sub = bus
        .declare_subscriber(topics::CONTROLLER_STATUS.key)
        .callback(move |s| {
            if let Ok(st) = ControllerStatus::decode(&s.payload().to_bytes())
                && let Ok(mut v) = sink.lock()
            {
                v.push(st);
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
    let mut seq = 0;
    let mut put = |key: &str, bytes: Vec<u8>| {
        seq += 1;
        bus.put(key, bytes)
            .wait()
            .map_err(|e| anyhow::anyhow!("zenoh: {e}"))
    };
    put(
        topics::CONTROLLER_COMMAND.key,
        ControllerCommand {
            seq: 1,
            stamp_ns: 0,
            command: Op::Arm,
        }
        .encode(),
    )?;
    let armed = wait(&|s| s.state == ControllerState::Armed, 15);
    let mut pushed_at = None;
    if armed {
        // The simulated robot's gantry lowers 3.5-4.5 s after the ramp began.
        std::thread::sleep(Duration::from_millis(2500));
        put(
            topics::SIM_REQUEST.key,
            SimRequest {
                seq: 2,
                stamp_ns: 0,
                request: SimRequestKind::Push {
                    link: "torso_link".into(),
                    force_n: [450.0, 0.0, 0.0],
                    duration_s: 0.25,
                },
            }
            .encode()?,
        )?;
        pushed_at = Some(seen.lock().map_or(0, |v| v.len()));
    }
    let start = Instant::now();
    while control.0.try_wait()?.is_none() && start.elapsed() < Duration::from_secs(40) {
        std::thread::sleep(Duration::from_millis(100));
    }
    let all = seen.lock().map(|v| v.clone()).unwrap_or_default();
    let mut transitions: Vec<(ControllerState, TransitionReason)> = Vec::new();
    for s in &all {
        if transitions.last() != Some(&(s.state, s.reason)) {
            transitions.push((s.state, s.reason));
        }
    }
    let max_tilt_rad = pushed_at
        .map(|i| {
            all[i.min(all.len())..]
                .iter()
                .map(|s| s.tilt_rad)
                .fold(0.0, f32::max)
        })
        .unwrap_or(0.0);
    Ok(LiveOutcome {
        transitions,
        max_tilt_rad,
    })
}
