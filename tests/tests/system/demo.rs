//! The README's main job, `vigor demo`, run as a real process into a temporary folder.

use std::process::Command;

use vigor_msgs::unitree_hg::{LowCmd, LowState};

#[test]
fn demo_writes_frames_policy_and_summary_that_read_back() {
    let _g = vigor_system_tests::real_time();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("demo");
    let run = Command::new(vigor_system_tests::vigor_bin())
        .args(["demo", "--out", out.to_str().unwrap(), "--seed", "3"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(stdout.contains("[10/10]"), "{stdout}");
    // The shipped teacher, evaluated on both engines from the three lying starts.
    for row in [
        "| rapier | supine | flat | 2 |",
        "| mujoco | prone | flat | 2 |",
        "| mujoco | side | flat | 2 |",
    ] {
        assert!(stdout.contains(row), "{row} missing: {stdout}");
    }
    assert!(out.join("teacher/manifest.json").is_file());
    assert!(std::fs::metadata(out.join("teacher.rrd")).unwrap().len() > 100_000);
    // The controller ran the shipped depth student through five episodes, each reported.
    for line in [
        "1. 450 N push on flat ground: the policy engaged",
        "3. 450 N push on stairs_down (difficulty 0.6): the policy",
        "4. supine start on flat ground: the policy",
        "5. prone start on flat ground: the policy",
        "episodes recovered",
    ] {
        assert!(stdout.contains(line), "{line} missing: {stdout}");
    }
    assert!(out.join("student-depth/manifest.json").is_file());
    assert!(out.join("student-blind/manifest.json").is_file());
    assert!(std::fs::metadata(out.join("controller.rrd")).unwrap().len() > 10_000);
    assert!(std::fs::metadata(out.join("episode.rrd")).unwrap().len() > 100_000);
    assert!(
        stdout.contains("demonstration supine_roll_kneel")
            && stdout.contains("aligned on stairs_up"),
        "{stdout}"
    );
    assert!(
        std::fs::metadata(out.join("demonstration.rrd"))
            .unwrap()
            .len()
            > 100_000
    );
    let png = std::fs::read(out.join("terrain.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");

    let cmd = LowCmd::decode(&std::fs::read(out.join("lowcmd_damping.bin")).unwrap()).unwrap();
    assert_eq!(cmd.mode_machine, 5);
    assert!(
        cmd.motor_cmd[..29]
            .iter()
            .all(|m| m.mode == 1 && m.kp == 0.0 && m.kd == 8.0)
    );
    let state =
        LowState::decode(&std::fs::read(out.join("lowstate_standing.bin")).unwrap()).unwrap();
    assert_eq!(state.imu_state.quaternion, [1.0, 0.0, 0.0, 0.0]);
    let json: LowCmd =
        serde_json::from_slice(&std::fs::read(out.join("lowcmd_damping.json")).unwrap()).unwrap();
    assert_eq!(json, cmd);

    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("policy/manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["seed"], 3);
    assert_eq!(manifest["kind"], "mlp");
    assert_eq!(manifest["network"]["mlp"]["actor"]["input"], 93);
    assert!(out.join("policy/weights.safetensors").is_file());
    let summary = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(summary.contains("| 28 | right_wrist_yaw |"), "{summary}");

    // Same seed, same policy: the demo is deterministic.
    let again = dir.path().join("again");
    let run = Command::new(vigor_system_tests::vigor_bin())
        .args(["demo", "--out", again.to_str().unwrap(), "--seed", "3"])
        .output()
        .unwrap();
    assert!(run.status.success());
    assert_eq!(
        std::fs::read(out.join("policy/weights.safetensors")).unwrap(),
        std::fs::read(again.join("policy/weights.safetensors")).unwrap()
    );
}
