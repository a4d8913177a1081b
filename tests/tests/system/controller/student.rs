//! The controller on the shipped students: the depth student on the simulated depth stream, its
//! blind fallback when depth stops, the teacher refused, and the closed-loop evaluation through
//! the bus.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use vigor_msgs::project::{ControllerState, ControllerStatus, SimRequestKind, TransitionReason};
use vigor_system_tests::{real_time, rerun_cli};

use super::Rig;

fn shipped(name: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../policies")).join(name)
}

impl Rig {
    /// What the controller wrote to stderr so far.
    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("control.log")).unwrap_or_default()
    }

    /// Arms, stands, pushes the robot over and waits for the policy to engage.
    fn push_to_active(&mut self) -> ControllerStatus {
        self.arm_and_stand();
        self.request(SimRequestKind::Push {
            link: "torso_link".into(),
            force_n: [450.0, 0.0, 0.0],
            duration_s: 0.25,
        });
        self.wait_for("Active after the push", Duration::from_secs(10), |s| {
            s.state == ControllerState::Active
        })
    }
}

#[test]
fn the_shipped_depth_student_drives_the_robot_on_the_simulated_depth_stream() {
    let _g = real_time();
    let dir = tempfile::tempdir().unwrap();
    let rrd = dir.path().join("student.rrd");
    let rrd_arg = rrd.to_str().unwrap().to_owned();
    // The unified student the demo runs; its manifest names its blind fallback
    // (`vigor policy fallback`), which the controller loads without `--blind-policy`.
    let mut rig = Rig::start_policy(
        dir,
        &shipped("student-depth-unified"),
        30,
        None,
        &["--duration-s", "14", "--record", &rrd_arg],
    );
    let log = rig.log();
    assert!(
        log.contains(
            "policy `student-depth-seed1` (depth_student), blind fallback `student-blind-seed1`"
        ),
        "{log}"
    );
    rig.push_to_active();
    // The student acts on the robot for 2 s: finite targets (no NonFiniteAction), depth fresh.
    std::thread::sleep(Duration::from_secs(2));
    let s = rig.latest();
    assert_eq!(s.state, ControllerState::Active, "{s:?}");
    assert_eq!(s.faults.nonfinite_actions, 0, "{s:?}");
    assert_eq!(s.faults.depth_stale, 0, "{s:?}");
    assert_eq!(s.faults.policy_stale, 0, "{s:?}");
    assert!(!rig.log().contains("blind fallback acts"), "{}", rig.log());
    // The recording has the depth stream, z_hat and the chosen track, as rerun reads them.
    let start = Instant::now();
    while rig.control.0.try_wait().unwrap().is_none() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "vigor control did not stop"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let stats = Command::new(rerun_cli())
        .args(["rrd", "stats"])
        .arg(&rrd)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&stats.stdout);
    for entity in [
        "/policy/z_hat/00",
        "/policy/z_hat/31",
        "/policy/track",
        "/policy",
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(&format!("{entity}:"))),
            "{entity} missing from the recording:\n{text}"
        );
    }
    assert!(
        text.lines().any(|l| l.contains("head_camera/depth:")),
        "no depth in the recording:\n{text}"
    );
}

#[test]
fn without_depth_frames_the_blind_fallback_acts_or_the_robot_is_damped_as_configured() {
    let _g = real_time();
    // "blind" (shipped): the blind student takes over and the robot stays under the policy.
    let dir = tempfile::tempdir().unwrap();
    let mut rig = Rig::start_policy(dir, &shipped("student-depth"), 0, None, &[]);
    rig.push_to_active();
    std::thread::sleep(Duration::from_secs(1));
    let s = rig.latest();
    assert_eq!(s.state, ControllerState::Active, "{s:?}");
    assert!(s.faults.depth_stale > 0, "{s:?}");
    assert_eq!(s.faults.nonfinite_actions, 0, "{s:?}");
    let log = rig.log();
    assert!(
        log.contains("depth stale: the blind fallback `student-blind-seed1` acts"),
        "{log}"
    );
    drop(rig);
    // "damping": no fallback; the first Active tick without depth damps and latches.
    let dir = tempfile::tempdir().unwrap();
    let mut rig = Rig::start_policy(
        dir,
        &shipped("student-depth"),
        0,
        Some((
            "depth_stale_action = \"blind\"",
            "depth_stale_action = \"damping\"",
        )),
        &[],
    );
    rig.arm_and_stand();
    rig.request(SimRequestKind::Push {
        link: "torso_link".into(),
        force_n: [450.0, 0.0, 0.0],
        duration_s: 0.25,
    });
    let s = rig.wait_for("Damping for stale depth", Duration::from_secs(10), |s| {
        s.state == ControllerState::Damping
    });
    assert_eq!(s.reason, TransitionReason::DepthStale, "{s:?}");
    assert!(s.latched);
}

#[test]
fn a_teacher_artifact_is_refused_at_start_with_the_reason() {
    let out = Command::new(vigor_system_tests::vigor_bin())
        .args(["control", "--policy"])
        .arg(shipped("teacher"))
        .args(["--duration-s", "1"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("a policy of kind `teacher`"), "{err}");
    assert!(err.contains("cannot run on the robot"), "{err}");
}

#[test]
fn eval_via_bus_runs_the_student_in_the_controller_and_judges_each_start() {
    let _g = real_time();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bus");
    let run = Command::new(vigor_system_tests::vigor_bin())
        .args(["eval", "--policy"])
        .arg(shipped("student-depth"))
        .args([
            "--via-bus",
            "--trials",
            "1",
            "--scenarios",
            "supine",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(stdout.contains("| supine | 1 |"), "{stdout}");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("eval-bus.json")).unwrap()).unwrap();
    let start = &report["starts"][0];
    let o = &start["bus"];
    assert_eq!(o["scenario"], "supine");
    // The bus ran the in-process evaluation's own episode: its seed is the one `vigor eval`
    // gives the first supine start on flat ground.
    let in_process = Command::new(vigor_system_tests::vigor_bin())
        .args(["eval", "--policy"])
        .arg(shipped("student-depth"))
        .args([
            "--trials",
            "1",
            "--scenarios",
            "supine",
            "--terrains",
            "flat",
            "--no-record",
        ])
        .arg("--out")
        .arg(dir.path().join("in-process"))
        .output()
        .unwrap();
    assert!(in_process.status.success());
    let eval: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("in-process/eval.json")).unwrap())
            .unwrap();
    assert_eq!(o["seed"], eval["episodes"][0]["seed"], "{o}");
    assert_eq!(
        start["in_process"], eval["episodes"][0]["outcome"]["success"],
        "{start}"
    );
    // Armed while lying, the controller engaged the student at once.
    assert_eq!(o["engaged"], true, "{o}");
    assert!(o["pelvis_m"].as_f64().unwrap() > 0.0, "{o}");
    // A teacher cannot run in the controller.
    let teacher = Command::new(vigor_system_tests::vigor_bin())
        .args(["eval", "--policy"])
        .arg(shipped("teacher"))
        .args(["--via-bus", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(!teacher.status.success());
    assert!(
        String::from_utf8_lossy(&teacher.stderr).contains("--via-bus runs a student"),
        "{}",
        String::from_utf8_lossy(&teacher.stderr)
    );
}
