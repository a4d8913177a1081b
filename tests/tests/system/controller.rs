//! The controller daemon against the simulated robot: real `vigor control` and `vigor sim-robot`
//! processes talking zenoh over loopback, driven and watched from this test through its own zenoh
//! session, as an operator would.
//!
//! The scenarios run one at a time (`vigor_system_tests::real_time`): each runs two real-time processes, and on a
//! two-core machine parallel scenarios would starve each other's 500 Hz loops. The controller
//! runs the shipped config with one change: a 100 ms LowState watchdog instead of 20 ms. These
//! scenarios test the state machine, the policies and the bus against a simulated robot that
//! shares two cores with the controller and this test; on a slow machine its LowState gaps passed
//! 20 ms during a ramp and turned a stand into a fall. The 20 ms watchdog itself is tested by
//! `faults`, against a stand-in robot that publishes from a real-time thread.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use vigor_msgs::project::Command as Op;
use vigor_msgs::project::{
    ControllerCommand, ControllerState, ControllerStatus, SimRequest, SimRequestKind,
    TransitionReason,
};
use vigor_msgs::unitree_hg::{LowCmd, LowState, MotorCmd};
use vigor_system_tests::{free_port, real_time, rerun_cli};
use zenoh::Wait;

mod student;

/// A child process killed when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn configs() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../configs"))
}

/// Test configs: sim-robot without depth (no policy here reads it), the shipped controller config
/// with a 100 ms LowState watchdog (the module's documentation says why).
fn write_configs(dir: &Path) -> (PathBuf, PathBuf) {
    let sim = std::fs::read_to_string(configs().join("sim_robot.toml"))
        .unwrap()
        .replace("depth_rate_hz = 30", "depth_rate_hz = 0");
    let shipped = std::fs::read_to_string(configs().join("controller.toml")).unwrap();
    let ctl = shipped.replace("lowstate_stale_periods = 10", "lowstate_stale_periods = 50");
    assert_ne!(
        ctl, shipped,
        "the watchdog line of configs/controller.toml changed"
    );
    let (s, c) = (dir.join("sim_robot.toml"), dir.join("controller.toml"));
    std::fs::write(&s, sim).unwrap();
    std::fs::write(&c, ctl).unwrap();
    (s, c)
}

fn vigor(args: &[&str]) -> Command {
    let mut c = Command::new(vigor_system_tests::vigor_bin());
    c.args(args).stdout(Stdio::null()).stderr(Stdio::null());
    c
}

struct Rig {
    dir: tempfile::TempDir,
    endpoint: String,
    sim_config: PathBuf,
    sim: Option<Proc>,
    control: Proc,
    bus: zenoh::Session,
    statuses: Arc<Mutex<Vec<ControllerStatus>>>,
    _status_sub: zenoh::pubsub::Subscriber<()>,
    seq: u64,
    /// The operator's command publisher (declared once, as `vigor topic pub` does).
    commands: Option<zenoh::pubsub::Publisher<'static>>,
}

impl Rig {
    fn start(policy_flags: &[&str]) -> Self {
        Self::start_with(policy_flags, &[])
    }

    /// Starts with extra `vigor control` arguments.
    fn start_with(policy_flags: &[&str], control_args: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let policy = dir.path().join("policy");
        let mut args = vec!["policy", "init", "--out", policy.to_str().unwrap()];
        args.extend(policy_flags);
        assert!(vigor(&args).status().unwrap().success());
        Self::start_policy(dir, &policy, 0, None, control_args)
    }

    /// Starts `vigor control --policy policy` with sim-robot streaming depth at `depth_hz` (0:
    /// none) and the shipped controller config with `edit` (from, to) applied; the controller's
    /// stderr goes to `dir/control.log`.
    fn start_policy(
        dir: tempfile::TempDir,
        policy: &Path,
        depth_hz: u32,
        edit: Option<(&str, &str)>,
        control_args: &[&str],
    ) -> Self {
        let (sim_config, ctl_config) = write_configs(dir.path());
        let sim = std::fs::read_to_string(&sim_config)
            .unwrap()
            .replace("depth_rate_hz = 0", &format!("depth_rate_hz = {depth_hz}"));
        std::fs::write(&sim_config, sim).unwrap();
        if let Some((from, to)) = edit {
            let ctl = std::fs::read_to_string(&ctl_config).unwrap();
            assert!(ctl.contains(from), "{from}");
            std::fs::write(&ctl_config, ctl.replace(from, to)).unwrap();
        }
        let endpoint = format!("tcp/127.0.0.1:{}", free_port());
        let sim_log = std::fs::File::create(dir.path().join("sim-robot.log")).unwrap();
        let sim = Proc(
            vigor(&[
                "sim-robot",
                "--config",
                sim_config.to_str().unwrap(),
                "--listen",
                &endpoint,
            ])
            .stderr(sim_log)
            .spawn()
            .unwrap(),
        );
        let mut args = vec![
            "control",
            "--policy",
            policy.to_str().unwrap(),
            "--config",
            ctl_config.to_str().unwrap(),
            "--connect",
            &endpoint,
        ];
        args.extend(control_args);
        let log = std::fs::File::create(dir.path().join("control.log")).unwrap();
        let control = Proc(vigor(&args).stderr(log).spawn().unwrap());
        // The operator's session: a client of the simulated robot (the router), like the
        // controller; it waits for the router to listen.
        let mut cfg = zenoh::Config::default();
        cfg.insert_json5("mode", "\"client\"").unwrap();
        cfg.insert_json5("connect/timeout_ms", "30000").unwrap();
        cfg.insert_json5("scouting/multicast/enabled", "false")
            .unwrap();
        cfg.insert_json5("connect/endpoints", &format!("[\"{endpoint}\"]"))
            .unwrap();
        let bus = zenoh::open(cfg).wait().unwrap();
        let statuses = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&statuses);
        let status_sub = bus
            .declare_subscriber("vigor/controller/status")
            .callback(move |s| {
                if let Ok(st) = ControllerStatus::decode(&s.payload().to_bytes()) {
                    sink.lock().unwrap().push(st);
                }
            })
            .wait()
            .unwrap();
        let mut rig = Self {
            dir,
            endpoint,
            sim_config,
            sim: Some(sim),
            control,
            bus,
            statuses,
            _status_sub: status_sub,
            seq: 0,
            commands: None,
        };
        rig.wait_for("the first status", Duration::from_secs(30), |_| true);
        // Commands go only toward subscribers this session has heard of: wait for the
        // controller's, through the simulated robot.
        let p = rig
            .bus
            .declare_publisher("vigor/controller/command")
            .wait()
            .unwrap();
        let start = Instant::now();
        while !p.matching_status().wait().unwrap().matching() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "the controller's command subscription never reached the test"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        rig.commands = Some(p);
        rig
    }

    /// Waits until a status satisfies `pred`; panics with the statuses seen.
    fn wait_for(
        &mut self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&ControllerStatus) -> bool,
    ) -> ControllerStatus {
        let start = Instant::now();
        loop {
            {
                let mut all = self.statuses.lock().unwrap();
                if let Some(s) = all.iter().find(|s| pred(s)).cloned() {
                    all.clear();
                    return s;
                }
                if start.elapsed() > timeout {
                    let tail: Vec<String> = all
                        .iter()
                        .rev()
                        .take(5)
                        .map(|s| {
                            format!(
                                "{:?}/{:?} latched {} {:?}",
                                s.state, s.reason, s.latched, s.faults
                            )
                        })
                        .collect();
                    drop(all);
                    panic!(
                        "timed out waiting for {what}; last statuses: {tail:#?}\n{}",
                        self.logs()
                    );
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The ends of the controller's and the simulated robot's logs, and whether each still runs.
    fn logs(&mut self) -> String {
        let tail = |name: &str| {
            let text = std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(15)..].join("\n")
        };
        let alive = |p: &mut Proc| match p.0.try_wait() {
            Ok(None) => "running".to_owned(),
            Ok(Some(status)) => format!("exited: {status}"),
            Err(e) => format!("unknown: {e}"),
        };
        let sim = self
            .sim
            .as_mut()
            .map_or("stopped by the test".to_owned(), alive);
        let control = alive(&mut self.control);
        format!(
            "vigor control ({control}), control.log:\n{}\nvigor sim-robot ({sim}), sim-robot.log:\n{}",
            tail("control.log"),
            tail("sim-robot.log")
        )
    }

    fn latest(&mut self) -> ControllerStatus {
        self.statuses.lock().unwrap().clear();
        self.wait_for("a status", Duration::from_secs(5), |_| true)
    }

    fn command(&mut self, command: Op) {
        self.seq += 1;
        let c = ControllerCommand {
            seq: self.seq,
            stamp_ns: 0,
            command,
        };
        self.commands
            .as_ref()
            .unwrap()
            .put(c.encode())
            .wait()
            .unwrap();
    }

    fn request(&mut self, request: SimRequestKind) {
        self.seq += 1;
        let r = SimRequest {
            seq: self.seq,
            stamp_ns: 0,
            request,
        };
        self.bus
            .put("vigor/sim/request", r.encode().unwrap())
            .wait()
            .unwrap();
    }

    /// Arms, as an operator would: again if the controller refused for want of a LowState
    /// (the simulated robot's stream had not reached it yet).
    fn arm(&mut self) {
        let start = Instant::now();
        loop {
            self.command(Op::Arm);
            let s = self.wait_for("Ramp or a refusal", Duration::from_secs(10), |s| {
                s.state == ControllerState::Ramp || s.reason == TransitionReason::NoLowState
            });
            if s.state == ControllerState::Ramp {
                return;
            }
            if start.elapsed() > Duration::from_secs(20) {
                panic!(
                    "no LowState reached the controller in 20 s\n{}",
                    self.logs()
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn arm_and_stand(&mut self) {
        self.arm();
        let s = self.wait_for("Armed", Duration::from_secs(15), |s| {
            s.state == ControllerState::Armed
        });
        assert_eq!(s.reason, TransitionReason::RampComplete);
        // The simulated robot's gantry lowers 3.5-4.5 s after position control began (the ramp
        // took 2.5 s of it); then the held stand carries the robot and keeps the tilt small.
        std::thread::sleep(Duration::from_millis(2500));
        let s = self.latest();
        assert_eq!(s.state, ControllerState::Armed, "{s:?}");
        assert!(
            s.tilt_rad < 0.15,
            "standing after the ramp: tilt {} rad",
            s.tilt_rad
        );
    }
}

#[test]
fn ramp_and_stand_then_a_push_engages_the_policy_and_the_run_is_recorded() {
    let _g = real_time();
    let rrd = std::env::temp_dir().join(format!("vigor-control-{}.rrd", std::process::id()));
    let mut rig = Rig::start_with(
        &[],
        &["--duration-s", "16", "--record", rrd.to_str().unwrap()],
    );
    let first = rig.latest();
    assert_eq!(first.state, ControllerState::Passive);
    rig.arm_and_stand();
    rig.request(SimRequestKind::Push {
        link: "torso_link".into(),
        force_n: [450.0, 0.0, 0.0],
        duration_s: 0.25,
    });
    let s = rig.wait_for("Active after the push", Duration::from_secs(10), |s| {
        s.state == ControllerState::Active
    });
    assert_eq!(s.reason, TransitionReason::TiltEngaged);
    assert!(
        s.tilt_rad > 20f32.to_radians(),
        "engaged at {} rad",
        s.tilt_rad
    );
    // The daemon stops after its duration and flushes the recording, which rerun reads back.
    let start = Instant::now();
    while rig.control.0.try_wait().unwrap().is_none() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "vigor control did not stop"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let rerun = rerun_cli();
    let verify = Command::new(&rerun)
        .args(["rrd", "verify"])
        .arg(&rrd)
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
    let stats = Command::new(&rerun)
        .args(["rrd", "stats"])
        .arg(&rrd)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&stats.stdout);
    for entity in [
        "/world/robot/pelvis",
        "/world/robot/torso_link",
        "/controller",
        "/plots/tilt_deg",
        "/joints/left_knee/q",
        "/joints/left_knee/q_target",
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(&format!("{entity}:"))),
            "{entity} missing from the recording:\n{text}"
        );
    }
    let _ = std::fs::remove_file(&rrd);
}

#[test]
fn sim_robot_killed_damps_and_its_return_brings_passive() {
    let _g = real_time();
    let mut rig = Rig::start(&[]);
    rig.arm_and_stand();
    // The simulated robot is the bus's router (as the robot's DDS bridge is): while it is gone,
    // nothing reaches this test, so the damping shows in what the controller reports once the
    // robot is back: the watchdog expired once, unlatched, and LowState's return cleared it.
    drop(rig.sim.take());
    std::thread::sleep(Duration::from_millis(500));
    rig.statuses.lock().unwrap().clear();
    let endpoint = rig.endpoint.clone();
    let cfg = rig.sim_config.clone();
    rig.sim = Some(Proc(
        vigor(&[
            "sim-robot",
            "--config",
            cfg.to_str().unwrap(),
            "--listen",
            &endpoint,
        ])
        .spawn()
        .unwrap(),
    ));
    let s = rig.wait_for(
        "Passive once LowState returns",
        Duration::from_secs(30),
        |s| s.state == ControllerState::Passive,
    );
    assert_eq!(s.reason, TransitionReason::Cleared);
    assert!(!s.latched);
    assert_eq!(s.faults.lowstate_stale, 1);
    let _ = rig.dir.path();
}

#[test]
fn corrupted_and_foreign_lowstate_frames_are_dropped_and_counted() {
    let _g = real_time();
    let mut rig = Rig::start(&[]);
    let mut good = LowState {
        mode_machine: 5,
        ..LowState::default()
    }
    .with_crc()
    .encode();
    let mut bad_crc = good.clone();
    let n = bad_crc.len();
    bad_crc[n - 1] ^= 0x5A;
    let mut wrong = LowState {
        mode_machine: 4,
        ..LowState::default()
    };
    wrong = wrong.with_crc();
    // Blocking congestion control: every frame is delivered, so the counts are exact (a put may
    // otherwise be dropped on a busy machine, as the robot's own stream may).
    let foreign = rig
        .bus
        .declare_publisher("rt/lowstate")
        .congestion_control(zenoh::qos::CongestionControl::Block)
        .wait()
        .unwrap();
    for _ in 0..100 {
        foreign.put(bad_crc.clone()).wait().unwrap();
        foreign.put(good[..100].to_vec()).wait().unwrap();
        foreign.put(wrong.encode()).wait().unwrap();
        std::thread::sleep(Duration::from_millis(2));
    }
    let s = rig.wait_for("the counters", Duration::from_secs(5), |s| {
        s.faults.bad_frames >= 200 && s.faults.wrong_mode_machine >= 100
    });
    assert_eq!(s.state, ControllerState::Passive, "{s:?}");
    assert_eq!(s.faults.lowstate_stale, 0);
    good.clear();
}

#[test]
fn estop_damps_and_latches_until_cleared() {
    let _g = real_time();
    let mut rig = Rig::start(&[]);
    rig.arm_and_stand();
    rig.command(Op::EStop);
    let s = rig.wait_for("Damping after the e-stop", Duration::from_secs(2), |s| {
        s.state == ControllerState::Damping
    });
    assert_eq!(s.reason, TransitionReason::EStop);
    assert!(s.latched);
    rig.command(Op::Arm);
    std::thread::sleep(Duration::from_millis(500));
    let s = rig.latest();
    assert_eq!(
        (s.state, s.latched),
        (ControllerState::Damping, true),
        "arm must not clear"
    );
    rig.command(Op::Clear);
    let s = rig.wait_for("Passive after clear", Duration::from_secs(2), |s| {
        s.state == ControllerState::Passive
    });
    assert!(!s.latched);
}

#[test]
fn a_nan_policy_damps_and_latches() {
    let _g = real_time();
    let mut rig = Rig::start(&["--nan-actions"]);
    rig.arm_and_stand();
    rig.command(Op::Engage);
    let s = rig.wait_for("Damping on NaN actions", Duration::from_secs(5), |s| {
        s.state == ControllerState::Damping
    });
    assert_eq!(s.reason, TransitionReason::NonFiniteAction);
    assert!(s.latched && s.faults.nonfinite_actions >= 1, "{s:?}");
}

#[test]
fn a_second_lowcmd_writer_keeps_the_controller_from_arming() {
    let _g = real_time();
    let mut rig = Rig::start(&[]);
    // Another process streams damping commands on rt/lowcmd.
    let mut foreign = LowCmd {
        mode_machine: 5,
        ..LowCmd::default()
    };
    for m in foreign.motor_cmd.iter_mut().take(29) {
        *m = MotorCmd {
            mode: 1,
            kd: 1.0,
            ..MotorCmd::default()
        };
    }
    let frame = foreign.with_crc().encode();
    let writer = rig.bus.declare_publisher("rt/lowcmd").wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut armed_once = false;
    while Instant::now() < deadline {
        writer.put(frame.clone()).wait().unwrap();
        if !armed_once && Instant::now() + Duration::from_millis(1500) > deadline {
            rig.command(Op::Arm);
            armed_once = true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let s = rig.wait_for("the refusal", Duration::from_secs(2), |s| {
        s.reason == TransitionReason::OtherWriter
    });
    assert_eq!(s.state, ControllerState::Passive);
    assert!(s.faults.other_writers >= 1 || s.reason == TransitionReason::OtherWriter);
}
