//! Configuration checks (`vigor config check`) and demonstration checks (`vigor demos check`).

use crate::{assert_fails_saying, text, vigor};

#[test]
fn config_check_passes_on_shipped_configs_and_names_bad_keys() {
    let out = vigor(&["config", "check"], b"");
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(text(&out.stdout).contains("ok    configs/controller.toml"));

    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("configs");
    std::fs::create_dir(&cfg).unwrap();
    let shipped = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../configs/controller.toml"
    ))
    .unwrap();
    let bad = cfg.join("controller.toml");
    std::fs::write(&bad, shipped.replace("tilt_deg = 20.0", "tilt_deg = 90.0")).unwrap();
    let out = vigor(&["config", "check", bad.to_str().unwrap()], b"");
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("`engage.tilt_deg` = 90 is out of range: allowed 5 ..= 60"),
        "{stdout}"
    );
    assert!(stdout.contains(&bad.display().to_string()), "{stdout}");
}

#[test]
fn demos_check_writes_its_report_and_refuses_bad_ranges() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("feasibility");
    let check = |extra: &[&str]| {
        let mut args = vec!["demos", "check", "--out", out_dir.to_str().unwrap()];
        args.extend_from_slice(extra);
        vigor(&args, b"")
    };
    let out = check(&[
        "--phases",
        "1,1",
        "--scenarios",
        "none",
        "--assist",
        "0.8",
        "--trials",
        "1",
        "--plain",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let md = std::fs::read_to_string(out_dir.join("feasibility.md")).unwrap();
    // The embedded unified configuration tracks eight demonstrations; a duplicated phase is
    // played once.
    for demo in ["supine_roll_kneel", "fall_right_kneel"] {
        assert_eq!(
            md.matches(&format!("| {demo} | posed 1 | 1 |")).count(),
            1,
            "{md}"
        );
    }
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("feasibility.json")).unwrap())
            .unwrap();
    assert_eq!(json["episodes"].as_array().unwrap().len(), 8);
    assert_fails_saying(
        &check(&["--phases", "1.5"]),
        "--phases: 1.5 is out of range: allowed 0 ..= 1",
    );
}
