//! The fault tests' rig: a stand-in robot on the test's own zenoh session (it listens on
//! loopback, publishes `rt/lowstate` at 500 Hz from a real-time thread where permitted, and records
//! every `rt/lowcmd` frame with its arrival time) and a real `vigor control` process.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use vigor_msgs::project::Command as Op;
use vigor_msgs::project::{ControllerCommand, ControllerState, ControllerStatus};
use vigor_msgs::unitree_hg::{LowCmd, LowState};
use vigor_system_tests::free_port;
use zenoh::Wait;

/// What the stand-in robot publishes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Publish {
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
pub(super) type Frame = (Instant, LowCmd);

pub(super) struct Robot {
    pub(super) session: zenoh::Session,
    pub(super) mode: Arc<Mutex<Publish>>,
    pub(super) frames: Arc<Mutex<Vec<Frame>>>,
    pub(super) statuses: Arc<Mutex<Vec<ControllerStatus>>>,
    pub(super) stop: Arc<AtomicBool>,
    pub(super) publisher: Option<std::thread::JoinHandle<()>>,
    pub(super) _subs: Vec<zenoh::pubsub::Subscriber<()>>,
    pub(super) seq: u64,
}

impl Robot {
    pub(super) fn listen(endpoint: &str) -> Self {
        Self::listen_as(endpoint, standing(0))
    }

    /// A stand-in robot that publishes `base` (its `tick` advanced, faults applied).
    pub(super) fn listen_as(endpoint: &str, base: LowState) -> Self {
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

    pub(super) fn set(&self, p: Publish) -> Instant {
        *self.mode.lock().unwrap() = p;
        Instant::now()
    }

    pub(super) fn command(&mut self, command: Op) -> Instant {
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

    pub(super) fn wait_state(
        &self,
        what: &str,
        timeout: Duration,
        want: ControllerState,
    ) -> ControllerStatus {
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

    /// Waits until a status received from now on satisfies `pred`.
    pub(super) fn wait_until(
        &self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&ControllerStatus) -> bool,
    ) -> ControllerStatus {
        let start = Instant::now();
        loop {
            if let Some(s) = self.statuses.lock().unwrap().iter().find(|s| pred(s)) {
                return s.clone();
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
    pub(super) fn damped_after(&self, since: Instant, timeout: Duration) -> Option<Duration> {
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

    pub(super) fn last_frames(&self, n: usize) -> Vec<LowCmd> {
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
pub(super) fn is_damping(c: &LowCmd) -> bool {
    c.motor_cmd[..29]
        .iter()
        .all(|m| m.mode == 1 && m.kp == 0.0 && m.kd == 8.0)
}

pub(super) fn standing(tick: u32) -> LowState {
    let mut s = LowState {
        mode_machine: 5,
        tick,
        ..LowState::default()
    };
    s.imu_state.quaternion = [1.0, 0.0, 0.0, 0.0];
    s.imu_state.accelerometer = [0.0, 0.0, 9.81];
    s
}

pub(super) fn publish_loop(
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

pub(super) struct Controller {
    pub(super) child: Child,
    pub(super) log: PathBuf,
    pub(super) _dir: tempfile::TempDir,
}

impl Controller {
    /// `vigor control` with the untrained policy, the shipped config with `edits` applied, and
    /// extra arguments.
    pub(super) fn start(endpoint: &str, edits: &[(&str, &str)], args: &[&str]) -> Self {
        Self::start_for(endpoint, "g1_29dof", edits, args)
    }

    /// [`Controller::start`] with an untrained policy for `robot`.
    pub(super) fn start_for(
        endpoint: &str,
        robot: &str,
        edits: &[(&str, &str)],
        args: &[&str],
    ) -> Self {
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
        // A 1 s ramp (the shortest allowed) rather than the shipped 2.5 s: no test here is about
        // the ramp, and on a busy machine a shorter window is less often cut by a LowState gap.
        let ramp = [("duration_s = 2.5", "duration_s = 1.0")];
        let ramp = if edits.iter().any(|(from, _)| from.contains("duration_s")) {
            &[][..]
        } else {
            &ramp[..]
        };
        for (from, to) in ramp.iter().chain(edits) {
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

    pub(super) fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
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

    pub(super) fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub(super) fn signal(&self, sig: &str) {
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
pub(super) fn armed(edits: &[(&str, &str)], args: &[&str]) -> (Robot, Controller) {
    let endpoint = format!("tcp/127.0.0.1:{}", free_port());
    let mut robot = Robot::listen(&endpoint);
    let ctl = Controller::start(&endpoint, edits, args);
    robot.wait_state("Passive", Duration::from_secs(30), ControllerState::Passive);
    arm(&mut robot);
    (robot, ctl)
}

/// Arms and waits for Armed, as an operator would: again whenever the controller is back in
/// Passive, because it refused for want of a LowState, or because a LowState gap past the 20 ms
/// watchdog (a busy machine delays this process's publisher or the daemon's receiver) dropped the
/// ramp to Damping and the stream's return cleared it. Arm is only acted on in Passive, so a
/// repeated one is harmless; the next is sent once the statuses (10 Hz) can show the last one's
/// effect. Every test then starts from a cleanly armed controller.
pub(super) fn arm(robot: &mut Robot) {
    arm_with(robot, false);
}

/// [`arm`], sending the operator's heartbeat every 50 ms while it waits (for a controller with
/// the deadman on).
pub(super) fn arm_with(robot: &mut Robot, heartbeat: bool) {
    const PATIENCE: Duration = Duration::from_secs(60);
    let start = Instant::now();
    let (mut sent, mut beat) = (None::<Instant>, None::<Instant>);
    let mut attempts = 0;
    loop {
        if heartbeat && beat.is_none_or(|b| b.elapsed() >= Duration::from_millis(50)) {
            beat = Some(robot.command(Op::Heartbeat));
        }
        let last = robot.statuses.lock().unwrap().last().cloned();
        match last {
            Some(s) if s.state == ControllerState::Armed => return,
            Some(s)
                if s.state == ControllerState::Passive
                    && sent.is_none_or(|t| t.elapsed() >= Duration::from_millis(300)) =>
            {
                assert!(
                    start.elapsed() < PATIENCE,
                    "not armed after {attempts} Arm commands in {PATIENCE:?}; last status {s:?}"
                );
                attempts += 1;
                sent = Some(robot.command(Op::Arm));
            }
            s => assert!(
                start.elapsed() < PATIENCE,
                "not armed after {attempts} Arm commands in {PATIENCE:?}; last status {s:?}"
            ),
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

pub(super) fn report(fault: &str, latency: Option<Duration>) -> Duration {
    let l = latency.unwrap_or_else(|| panic!("{fault}: no damping frame"));
    println!("fault table: {fault:<44} {:>8.1} ms", l.as_secs_f64() * 1e3);
    l
}

/// `vigor robot show --robot NAME --json`: (slot, default position) per joint.
pub(super) fn joint_table(robot: &str) -> Vec<(usize, f32)> {
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
