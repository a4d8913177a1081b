//! Every fault the controller must survive ends in damping frames, over real processes: a real
//! `vigor control` connects to a stand-in robot that this test runs on its own zenoh session (it
//! listens on loopback, publishes `rt/lowstate` at 500 Hz with a real-time thread where the
//! machine permits, and records every `rt/lowcmd` frame with its arrival time). Each test arms the
//! controller (stiff stand gains), injects one fault, and measures the time from the injection to
//! the first damping frame (every driven motor kp 0, kd 8). The shipped 20 ms LowState watchdog is
//! used throughout. `cargo test --release -p vigor-system-tests --test system faults --
//! --nocapture` prints the fault table of docs/controller.md.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use vigor_msgs::project::Command as Op;
use vigor_msgs::project::{ControllerCommand, ControllerState, ControllerStatus, TransitionReason};
use vigor_msgs::unitree_hg::{LowCmd, LowState, MotorCmd};
use vigor_system_tests::{free_port, real_time};
use zenoh::Wait;

/// What the stand-in robot publishes.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Publish {
    /// A standing robot, `tick` advancing.
    Normal,
    /// Nothing.
    Silent,
    /// The same frame over and over (`tick` frozen).
    Frozen,
    /// NaN in a joint position (CRC valid).
    NanJoint,
    /// A single NaN frame, then normal again.
    OneNan,
    /// Motor 4 reports error code 0x10.
    MotorError,
    /// Motor 4's winding at 130 °C.
    Overheat,
    /// The remote's `select` button held.
    RemoteSelect,
}

/// A LowCmd frame as received, with its arrival time.
type Frame = (Instant, LowCmd);

struct Robot {
    session: zenoh::Session,
    mode: Arc<Mutex<Publish>>,
    frames: Arc<Mutex<Vec<Frame>>>,
    statuses: Arc<Mutex<Vec<ControllerStatus>>>,
    stop: Arc<AtomicBool>,
    publisher: Option<std::thread::JoinHandle<()>>,
    _subs: Vec<zenoh::pubsub::Subscriber<()>>,
    seq: u64,
}

impl Robot {
    fn listen(endpoint: &str) -> Self {
        Self::listen_as(endpoint, standing(0))
    }

    /// A stand-in robot that publishes `base` (its `tick` advanced, faults applied).
    fn listen_as(endpoint: &str, base: LowState) -> Self {
        let mut cfg = zenoh::Config::default();
        cfg.insert_json5("mode", "\"peer\"").unwrap();
        cfg.insert_json5("scouting/multicast/enabled", "false")
            .unwrap();
        cfg.insert_json5("listen/endpoints", &format!("[\"{endpoint}\"]"))
            .unwrap();
        let session = zenoh::open(cfg).wait().unwrap();
        let frames: Arc<Mutex<Vec<Frame>>> = Arc::default();
        let statuses: Arc<Mutex<Vec<ControllerStatus>>> = Arc::default();
        let sink = Arc::clone(&frames);
        let lowcmd = session
            .declare_subscriber("rt/lowcmd")
            .callback(move |s| {
                if let Ok(c) = LowCmd::decode(&s.payload().to_bytes()) {
                    sink.lock().unwrap().push((Instant::now(), c));
                }
            })
            .wait()
            .unwrap();
        let sink = Arc::clone(&statuses);
        let status = session
            .declare_subscriber("vigor/controller/status")
            .callback(move |s| {
                if let Ok(st) = ControllerStatus::decode(&s.payload().to_bytes()) {
                    sink.lock().unwrap().push(st);
                }
            })
            .wait()
            .unwrap();
        let mode = Arc::new(Mutex::new(Publish::Normal));
        let stop = Arc::new(AtomicBool::new(false));
        let publisher = {
            let (mode, stop) = (Arc::clone(&mode), Arc::clone(&stop));
            let p = session.declare_publisher("rt/lowstate").wait().unwrap();
            std::thread::spawn(move || publish_loop(&p, &base, &mode, &stop))
        };
        Self {
            session,
            mode,
            frames,
            statuses,
            stop,
            publisher: Some(publisher),
            _subs: vec![lowcmd, status],
            seq: 0,
        }
    }

    fn set(&self, p: Publish) -> Instant {
        *self.mode.lock().unwrap() = p;
        Instant::now()
    }

    fn command(&mut self, command: Op) -> Instant {
        self.seq += 1;
        let c = ControllerCommand {
            seq: self.seq,
            stamp_ns: 0,
            command,
        };
        let at = Instant::now();
        self.session
            .put("vigor/controller/command", c.encode())
            .wait()
            .unwrap();
        at
    }

    fn wait_state(&self, what: &str, timeout: Duration, want: ControllerState) -> ControllerStatus {
        let start = Instant::now();
        loop {
            if let Some(s) = self.statuses.lock().unwrap().last().cloned()
                && s.state == want
            {
                return s;
            }
            assert!(
                start.elapsed() < timeout,
                "timed out waiting for {what}; last status {:?}",
                self.statuses.lock().unwrap().last()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// The first damping frame at or after `since`, as the time from `since`.
    fn damped_after(&self, since: Instant, timeout: Duration) -> Option<Duration> {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if let Some(at) = self
                .frames
                .lock()
                .unwrap()
                .iter()
                .find(|(at, c)| *at >= since && is_damping(c))
                .map(|(at, _)| *at)
            {
                return Some(at - since);
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        None
    }

    fn last_frames(&self, n: usize) -> Vec<LowCmd> {
        let f = self.frames.lock().unwrap();
        f.iter().rev().take(n).map(|(_, c)| c.clone()).collect()
    }
}

impl Drop for Robot {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(p) = self.publisher.take() {
            let _ = p.join();
        }
    }
}

/// Every driven motor (the G1 29-DoF's slots 0..29) in damping: kp 0, kd 8.
fn is_damping(c: &LowCmd) -> bool {
    c.motor_cmd[..29]
        .iter()
        .all(|m| m.mode == 1 && m.kp == 0.0 && m.kd == 8.0)
}

fn standing(tick: u32) -> LowState {
    let mut s = LowState {
        mode_machine: 5,
        tick,
        ..LowState::default()
    };
    s.imu_state.quaternion = [1.0, 0.0, 0.0, 0.0];
    s.imu_state.accelerometer = [0.0, 0.0, 9.81];
    s
}

fn publish_loop(
    p: &zenoh::pubsub::Publisher<'static>,
    base: &LowState,
    mode: &Mutex<Publish>,
    stop: &AtomicBool,
) {
    use thread_priority::{
        RealtimeThreadSchedulePolicy, ThreadPriority, ThreadPriorityValue, ThreadSchedulePolicy,
        set_thread_priority_and_policy, thread_native_id,
    };
    // Like the robot's own firmware: real-time when the machine permits (CI runs as root).
    let _ = set_thread_priority_and_policy(
        thread_native_id(),
        ThreadPriority::Crossplatform(ThreadPriorityValue::try_from(60u8).unwrap()),
        ThreadSchedulePolicy::Realtime(RealtimeThreadSchedulePolicy::Fifo),
    );
    let period = Duration::from_millis(2);
    let mut due = Instant::now();
    let mut tick = 1u32;
    let mut frozen = base.clone().with_crc();
    while !stop.load(Ordering::SeqCst) {
        due += period;
        if let Some(w) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(w);
        }
        let m = *mode.lock().unwrap();
        tick += 1;
        let mut s = base.clone();
        s.tick = tick;
        match m {
            Publish::Normal => {}
            Publish::Silent => continue,
            Publish::Frozen => {
                p.put(frozen.encode()).wait().unwrap();
                continue;
            }
            Publish::NanJoint => s.motor_state[3].q = f32::NAN,
            Publish::OneNan => {
                s.motor_state[3].q = f32::NAN;
                *mode.lock().unwrap() = Publish::Normal;
            }
            Publish::MotorError => s.motor_state[4].motorstate = 0x10,
            Publish::Overheat => s.motor_state[4].temperature = [40, 130],
            Publish::RemoteSelect => s.wireless_remote[2] = 0x08,
        }
        let s = s.with_crc();
        frozen = s.clone();
        let _ = p.put(s.encode()).wait();
    }
}

struct Controller {
    child: Child,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Controller {
    /// `vigor control` with the untrained policy, the shipped config with `edits` applied, and
    /// extra arguments.
    fn start(endpoint: &str, edits: &[(&str, &str)], args: &[&str]) -> Self {
        Self::start_for(endpoint, "g1_29dof", edits, args)
    }

    /// [`Controller::start`] with an untrained policy for `robot`.
    fn start_for(endpoint: &str, robot: &str, edits: &[(&str, &str)], args: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let policy = dir.path().join("policy");
        let bin = vigor_system_tests::vigor_bin();
        let ok = Command::new(&bin)
            .args(["policy", "init", "--robot", robot, "--out"])
            .arg(&policy)
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(ok.success());
        let mut toml = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/controller.toml"),
        )
        .unwrap();
        for (from, to) in edits {
            assert!(toml.contains(from), "{from} not in controller.toml");
            toml = toml.replace(from, to);
        }
        let config = dir.path().join("controller.toml");
        std::fs::write(&config, toml).unwrap();
        let log = dir.path().join("control.log");
        let child = Command::new(&bin)
            .args(["control", "--policy"])
            .arg(&policy)
            .arg("--config")
            .arg(&config)
            .args(["--connect", endpoint])
            .args(args)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Self {
            child,
            log,
            _dir: dir,
        }
    }

    fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            assert!(
                start.elapsed() < timeout,
                "vigor control did not exit:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{sig}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
    }
}

impl Drop for Controller {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A robot and an armed controller.
fn armed(edits: &[(&str, &str)], args: &[&str]) -> (Robot, Controller) {
    let endpoint = format!("tcp/127.0.0.1:{}", free_port());
    let mut robot = Robot::listen(&endpoint);
    let ctl = Controller::start(&endpoint, edits, args);
    robot.wait_state("Passive", Duration::from_secs(30), ControllerState::Passive);
    robot.command(Op::Arm);
    robot.wait_state("Armed", Duration::from_secs(10), ControllerState::Armed);
    (robot, ctl)
}

fn report(fault: &str, latency: Option<Duration>) -> Duration {
    let l = latency.unwrap_or_else(|| panic!("{fault}: no damping frame"));
    println!("fault table: {fault:<44} {:>8.1} ms", l.as_secs_f64() * 1e3);
    l
}

/// Injects `fault` into an armed controller and checks it damps, latched or not, for `reason`.
fn damps(fault: &str, publish: Publish, reason: TransitionReason, bound: Duration) {
    let _g = real_time();
    let (robot, mut ctl) = armed(&[], &[]);
    let at = robot.set(publish);
    let l = report(fault, robot.damped_after(at, Duration::from_secs(3)));
    assert!(l < bound, "{fault}: {l:?}");
    let s = robot.wait_state("Damping", Duration::from_secs(3), ControllerState::Damping);
    assert_eq!(s.reason, reason, "{fault}");
    assert!(
        ctl.child.try_wait().unwrap().is_none(),
        "{fault}: the daemon died:\n{}",
        ctl.log()
    );
}

#[test]
fn a_stream_of_nan_lowstate_is_dropped_counted_and_goes_stale() {
    damps(
        "LowState with NaN joint positions",
        Publish::NanJoint,
        TransitionReason::LowStateStale,
        Duration::from_millis(200),
    );
}

#[test]
fn one_nan_lowstate_is_dropped_and_counted_without_a_fault() {
    let _g = real_time();
    let (robot, ctl) = armed(&[], &[]);
    robot.set(Publish::OneNan);
    std::thread::sleep(Duration::from_millis(300));
    robot.statuses.lock().unwrap().clear();
    let s = robot.wait_state("a status", Duration::from_secs(2), ControllerState::Armed);
    assert_eq!(s.faults.nonfinite_states, 1, "{s:?}");
    drop(ctl);
}

#[test]
fn a_frozen_tick_goes_stale_while_frames_keep_coming() {
    damps(
        "LowState tick frozen (frames keep coming)",
        Publish::Frozen,
        TransitionReason::LowStateStale,
        Duration::from_millis(200),
    );
}

#[test]
fn silence_goes_stale_within_the_watchdog() {
    damps(
        "LowState stops",
        Publish::Silent,
        TransitionReason::LowStateStale,
        Duration::from_millis(200),
    );
}

#[test]
fn a_motor_error_code_latches_damping() {
    damps(
        "motor error code",
        Publish::MotorError,
        TransitionReason::MotorFault,
        Duration::from_millis(200),
    );
}

#[test]
fn an_overheated_motor_latches_damping() {
    damps(
        "motor winding over 120 °C",
        Publish::Overheat,
        TransitionReason::MotorFault,
        Duration::from_millis(200),
    );
}

#[test]
fn the_remote_select_button_is_an_estop() {
    damps(
        "remote `select` pressed",
        Publish::RemoteSelect,
        TransitionReason::RemoteEStop,
        Duration::from_millis(200),
    );
}

#[test]
fn an_estop_is_not_undone_by_commands_queued_before_it() {
    let _g = real_time();
    let (mut robot, _ctl) = armed(&[], &[]);
    // A burst: a clear and an arm queued, then the e-stop. Without the queue rule the clear and
    // the arm would run after the e-stop and re-arm the robot.
    robot.command(Op::Disarm);
    robot.command(Op::Clear);
    robot.command(Op::Arm);
    let at = robot.command(Op::EStop);
    report(
        "e-stop command",
        robot.damped_after(at, Duration::from_secs(2)),
    );
    std::thread::sleep(Duration::from_millis(400));
    let s = robot.statuses.lock().unwrap().last().cloned().unwrap();
    assert_eq!(
        (s.state, s.reason, s.latched),
        (ControllerState::Damping, TransitionReason::EStop, true)
    );
}

#[test]
fn another_lowcmd_writer_while_armed_latches_damping() {
    let _g = real_time();
    let (robot, _ctl) = armed(&[], &[]);
    let mut intruder = LowCmd {
        mode_machine: 5,
        ..LowCmd::default()
    };
    intruder.motor_cmd[0] = MotorCmd {
        mode: 1,
        kp: 50.0,
        ..MotorCmd::default()
    };
    let at = Instant::now();
    robot
        .session
        .put("rt/lowcmd", intruder.with_crc().encode())
        .wait()
        .unwrap();
    report(
        "another rt/lowcmd writer",
        robot.damped_after(at, Duration::from_secs(2)),
    );
    let s = robot.wait_state("Damping", Duration::from_secs(2), ControllerState::Damping);
    assert_eq!(s.reason, TransitionReason::OtherWriter);
    assert!(s.latched && s.faults.other_writers >= 1, "{s:?}");
}

#[test]
fn a_lost_operator_heartbeat_damps() {
    let _g = real_time();
    let endpoint = format!("tcp/127.0.0.1:{}", free_port());
    let mut robot = Robot::listen(&endpoint);
    let _ctl = Controller::start(
        &endpoint,
        &[("operator_heartbeat_ms = 0", "operator_heartbeat_ms = 200")],
        &[],
    );
    robot.wait_state("Passive", Duration::from_secs(30), ControllerState::Passive);
    let beat = |r: &mut Robot| r.command(Op::Heartbeat);
    beat(&mut robot);
    std::thread::sleep(Duration::from_millis(20));
    robot.command(Op::Arm);
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(4) {
        beat(&mut robot);
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        robot.statuses.lock().unwrap().last().map(|s| s.state),
        Some(ControllerState::Armed)
    );
    let last = beat(&mut robot);
    let l = report(
        "operator heartbeat stops (200 ms deadman)",
        robot.damped_after(last, Duration::from_secs(2)),
    );
    assert!(
        l >= Duration::from_millis(190),
        "damped before the deadman expired: {l:?}"
    );
    let s = robot.wait_state("Damping", Duration::from_secs(2), ControllerState::Damping);
    assert_eq!(s.reason, TransitionReason::OperatorLost);
}

/// Engages the policy (Active), with an injected policy fault, and measures the damping.
fn active_with(inject: &str) -> (Robot, Controller, Instant) {
    let (mut robot, ctl) = armed(&[], &["--inject-fault", inject]);
    let at = robot.command(Op::Engage);
    (robot, ctl, at)
}

#[test]
fn a_stalled_policy_damps_after_the_policy_watchdog() {
    let _g = real_time();
    let (robot, _ctl, at) = active_with("policy-stall@0");
    let l = report(
        "policy thread stalls (60 ms watchdog)",
        robot.damped_after(at, Duration::from_secs(2)),
    );
    assert!(l < Duration::from_millis(500), "{l:?}");
    let s = robot.wait_state("Damping", Duration::from_secs(2), ControllerState::Damping);
    assert_eq!(s.reason, TransitionReason::PolicyStale);
    assert!(s.latched);
}

#[test]
fn a_policy_thread_panic_damps_and_exits_non_zero() {
    let _g = real_time();
    let (robot, mut ctl, at) = active_with("policy-panic@0");
    report(
        "policy thread panics",
        robot.damped_after(at, Duration::from_secs(2)),
    );
    let status = ctl.wait_exit(Duration::from_secs(5));
    assert!(!status.success(), "exit {status}");
    assert!(
        ctl.log().contains("the policy thread died"),
        "{}",
        ctl.log()
    );
    let last = robot.last_frames(5);
    assert!(
        last.iter().all(is_damping),
        "the last frames were not damping"
    );
}

#[test]
fn a_control_thread_panic_damps_from_the_supervisor_and_exits_non_zero() {
    let _g = real_time();
    let endpoint = format!("tcp/127.0.0.1:{}", free_port());
    let mut robot = Robot::listen(&endpoint);
    // Armed about 3 s after start (start-up, then the 2.5 s ramp); the control thread dies at 6 s.
    let mut ctl = Controller::start(&endpoint, &[], &["--inject-fault", "control-panic@6"]);
    robot.wait_state("Passive", Duration::from_secs(30), ControllerState::Passive);
    robot.command(Op::Arm);
    robot.wait_state("Armed", Duration::from_secs(10), ControllerState::Armed);
    let armed_at = Instant::now();
    let status = ctl.wait_exit(Duration::from_secs(15));
    assert!(!status.success(), "exit {status}");
    assert!(
        ctl.log().contains("the control thread died"),
        "{}",
        ctl.log()
    );
    // The stiff frames stop, damping frames follow, and they are the last ones.
    let frames = robot.frames.lock().unwrap().clone();
    let last_stiff = frames
        .iter()
        .rev()
        .find(|(at, c)| *at > armed_at && !is_damping(c))
        .map(|(at, _)| *at)
        .expect("no stiff frame while armed");
    let damping = frames.iter().filter(|(at, _)| *at > last_stiff).count();
    assert!(
        damping >= 10,
        "{damping} damping frames after the stiff ones"
    );
    assert!(frames.iter().rev().take(5).all(|(_, c)| is_damping(c)));
    let gap = frames
        .iter()
        .find(|(at, _)| *at > last_stiff)
        .map(|(at, _)| *at - last_stiff)
        .unwrap();
    report("control thread panics (supervisor damps)", Some(gap));
}

fn exits_with_damping(how: &str, args: &[&str], signal: Option<&str>) {
    let _g = real_time();
    let (robot, mut ctl) = armed(&[], args);
    let at = Instant::now();
    if let Some(sig) = signal {
        ctl.signal(sig);
    }
    let status = ctl.wait_exit(Duration::from_secs(40));
    assert!(status.success(), "{how}: exit {status}\n{}", ctl.log());
    let frames = robot.frames.lock().unwrap().clone();
    let tail: Vec<&Frame> = frames.iter().filter(|(t, _)| *t >= at).collect();
    let first = tail
        .iter()
        .position(|(_, c)| is_damping(c))
        .expect("no damping frame");
    assert!(
        tail[first..].iter().all(|(_, c)| is_damping(c)),
        "{how}: stiff after damping"
    );
    assert!(
        tail.len() - first >= 10,
        "{how}: {} damping frames",
        tail.len() - first
    );
    if signal.is_some() {
        report(how, Some(tail[first].0 - at));
    }
}

#[test]
fn sigterm_sends_damping_frames_before_exit() {
    exits_with_damping("SIGTERM", &[], Some("TERM"));
}

#[test]
fn sigint_sends_damping_frames_before_exit() {
    exits_with_damping("SIGINT", &[], Some("INT"));
}

#[test]
fn the_end_of_the_duration_sends_damping_frames_before_exit() {
    exits_with_damping("--duration-s", &["--duration-s", "6"], None);
}

/// `vigor robot show --robot NAME --json`: (slot, default position) per joint.
fn joint_table(robot: &str) -> Vec<(usize, f32)> {
    let out = Command::new(vigor_system_tests::vigor_bin())
        .args(["robot", "show", "--robot", robot, "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["joints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| {
            (
                j["slot"].as_u64().unwrap() as usize,
                j["default"].as_f64().unwrap() as f32,
            )
        })
        .collect()
}

#[test]
fn a_23_dof_robot_is_commanded_on_its_own_motor_slots() {
    let _g = real_time();
    let joints = joint_table("g1_23dof");
    assert_eq!(joints.len(), 23);
    let endpoint = format!("tcp/127.0.0.1:{}", free_port());
    let mut base = standing(0);
    base.mode_machine = 4;
    for &(slot, q) in &joints {
        base.motor_state[slot].q = q;
    }
    let mut robot = Robot::listen_as(&endpoint, base);
    // The shipped config expects a 29-DoF robot: refused at start, naming the mismatch.
    let mut wrong = Controller::start(&endpoint, &[], &["--robot", "g1_23dof"]);
    let status = wrong.wait_exit(Duration::from_secs(30));
    assert!(!status.success());
    assert!(wrong.log().contains("mode_machine"), "{}", wrong.log());
    let _ctl = Controller::start_for(
        &endpoint,
        "g1_23dof",
        &[("mode_machine = 5", "mode_machine = 4")],
        &["--robot", "g1_23dof"],
    );
    robot.wait_state("Passive", Duration::from_secs(30), ControllerState::Passive);
    robot.command(Op::Arm);
    robot.wait_state("Armed", Duration::from_secs(10), ControllerState::Armed);
    std::thread::sleep(Duration::from_millis(100));
    let cmd = robot.last_frames(1).remove(0);
    assert_eq!(cmd.mode_machine, 4);
    for &(slot, q) in &joints {
        let m = &cmd.motor_cmd[slot];
        assert!(m.mode == 1 && m.kp > 0.0, "slot {slot} not driven: {m:?}");
        assert!(
            (m.q - q).abs() < 1e-6,
            "slot {slot}: target {} for stand pose {q}",
            m.q
        );
    }
    for slot in [13, 14, 20, 21, 27, 28, 29, 34] {
        assert_eq!(
            cmd.motor_cmd[slot],
            MotorCmd::default(),
            "slot {slot} is not this robot's"
        );
    }
}
