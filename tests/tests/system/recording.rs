//! `vigor sim record` writes a rerun recording that rerun's own CLI (rerun-sdk 0.36.3, the same
//! version as the crate, installed by scripts/setup.sh) verifies and reads back.

use std::process::Command;

use vigor_system_tests::rerun_cli;

#[test]
fn sim_record_writes_a_recording_rerun_reads_back() {
    record_and_read_back("rapier");
}

#[test]
fn sim_record_on_mujoco_writes_the_same_entities() {
    record_and_read_back("mujoco");
}

fn record_and_read_back(engine: &str) {
    let _g = vigor_system_tests::cpu_heavy();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("episode.rrd");
    let run = Command::new(vigor_system_tests::vigor_bin())
        .args([
            "sim",
            "record",
            "--scenario",
            "push",
            "--seconds",
            "1.5",
            "--seed",
            "2",
            "--engine",
            engine,
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
    assert!(
        stdout.contains("tilt passed 20°"),
        "{engine}: the push should topple the robot: {stdout}"
    );
    assert!(stdout.contains(&format!("engine {engine}")), "{stdout}");

    let verify = Command::new(rerun_cli())
        .args(["rrd", "verify"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );

    let stats = Command::new(rerun_cli())
        .args(["rrd", "stats"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(stats.status.success());
    let text = String::from_utf8_lossy(&stats.stdout);
    for entity in [
        "/world/terrain",
        "/world/robot/pelvis",
        "/world/robot/pelvis/geometry/spheres",
        "/world/robot/left_knee_link/geometry/capsules",
        "/world/robot/left_ankle_roll_link/geometry/boxes",
        "/world/robot/torso_link/head_camera/depth",
        "/world/contacts",
        "/world/contacts/forces",
        "/plots/base_height_m",
        "/plots/tilt_deg",
        "/episode",
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(&format!("{entity}:"))),
            "{engine}: {entity} missing:\n{text}"
        );
    }
}

#[test]
fn sim_record_rejects_an_unknown_scenario_naming_the_choices() {
    let dir = tempfile::tempdir().unwrap();
    let run = Command::new(vigor_system_tests::vigor_bin())
        .args(["sim", "record", "--scenario", "cartwheel", "--out"])
        .arg(dir.path().join("x.rrd"))
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1));
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(
        err.contains("unknown scenario `cartwheel`") && err.contains("push_off_platform"),
        "{err}"
    );
}
