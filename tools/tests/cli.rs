//! The `vigor` binary as a user runs it: help, message inspection, config checks; what the
//! builds resolve (one feature set for the binary and the tests, a robot binary without the
//! simulator); the controller's joint table against the simulator's robot model.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn vigor(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vigor"))
        .args(args)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn vigor");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A run that failed and said `words` on stderr.
fn assert_fails_saying(out: &Output, words: &str) {
    assert!(!out.status.success(), "succeeded; expected: {words}");
    assert!(text(&out.stderr).contains(words), "{}", text(&out.stderr));
}

#[test]
fn help_lists_the_commands() {
    let out = vigor(&["--help"], b"");
    assert!(out.status.success());
    let help = text(&out.stdout);
    for cmd in ["demo", "msgs", "config", "topic"] {
        assert!(help.contains(cmd), "--help does not mention {cmd}:\n{help}");
    }
}

#[test]
fn lowcmd_json_encodes_decodes_and_reencodes_to_the_same_bytes() {
    let bytes = vigor(
        &["msgs", "encode", "--type", "lowcmd"],
        br#"{"mode_machine":5,"motor_cmd":[{"mode":1,"kd":8}]}"#,
    );
    assert!(bytes.status.success(), "{}", text(&bytes.stderr));
    assert_eq!(bytes.stdout.len(), 1004);
    let json = vigor(&["msgs", "decode", "--type", "lowcmd"], &bytes.stdout);
    assert!(json.status.success(), "{}", text(&json.stderr));
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(value["motor_cmd"][0]["kd"], 8.0);
    assert_eq!(value["motor_cmd"].as_array().unwrap().len(), 35);
    let again = vigor(&["msgs", "encode", "--type", "lowcmd"], &json.stdout);
    assert_eq!(again.stdout, bytes.stdout);
}

#[test]
fn lowstate_and_project_messages_round_trip_through_the_tool() {
    let cases: [(&str, &str); 3] = [
        (
            "lowstate",
            r#"{"mode_machine":5,"tick":9,"imu_state":{"quaternion":[1,0,0,0]}}"#,
        ),
        ("command", r#"{"seq":1,"stamp_ns":2,"command":"e_stop"}"#),
        (
            "sim-request",
            r#"{"seq":1,"stamp_ns":2,"request":{"push":{"link":"torso_link","force_n":[80,0,0],"duration_s":0.2}}}"#,
        ),
    ];
    for (kind, json) in cases {
        let bytes = vigor(&["msgs", "encode", "--type", kind], json.as_bytes());
        assert!(bytes.status.success(), "{kind}: {}", text(&bytes.stderr));
        let back = vigor(&["msgs", "decode", "--type", kind], &bytes.stdout);
        assert!(back.status.success(), "{kind}: {}", text(&back.stderr));
        let again = vigor(&["msgs", "encode", "--type", kind], &back.stdout);
        assert_eq!(again.stdout, bytes.stdout, "{kind}");
    }
}

#[test]
fn bad_input_fails_with_a_clear_message() {
    let out = vigor(&["msgs", "decode", "--type", "lowcmd"], &[0u8; 10]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr).trim(),
        "error: stdin is not a valid frame: LowCmd: expected 1004 bytes, got 10"
    );
    let out = vigor(
        &["msgs", "encode", "--type", "lowcmd"],
        br#"{"mode_machine": 5, "motor": []}"#,
    );
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("not valid LowCmd JSON") && err.contains("motor"),
        "{err}"
    );
    let out = vigor(&["msgs", "decode", "--type", "nope"], b"");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn eval_lays_lying_starts_where_asked_names_it_and_refuses_places_off_the_tile() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("ev");
    let run = |offset: &str| {
        vigor(
            &[
                "eval",
                "--policy",
                "policies/teacher-unified",
                "--scenarios",
                "supine",
                "--terrains",
                "slope_down",
                "--trials",
                "1",
                "--lying-offset-m",
                offset,
                "--no-record",
                "--plain",
                "--out",
                out_dir.to_str().unwrap(),
            ],
            b"",
        )
    };
    let out = run("1.2");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let md = std::fs::read_to_string(out_dir.join("eval.md")).unwrap();
    assert!(
        md.lines()
            .next()
            .unwrap()
            .ends_with("lying starts 1.20 m from the tile centre"),
        "{md}"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out_dir.join("eval.json")).unwrap()).unwrap();
    assert_eq!(json["lying_offset_m"][0].as_f64().unwrap() as f32, 1.2);
    assert_eq!(json["lying_offset_m"][1].as_f64().unwrap() as f32, 1.2);
    for (bad, words) in [
        ("2.0", "--lying-offset-m 2,2: allowed 0 ..= 1.8, low first"),
        (
            "1.4,1.0",
            "--lying-offset-m 1.4,1: allowed 0 ..= 1.8, low first",
        ),
    ] {
        assert_fails_saying(&run(bad), words);
    }
    // The bus path resets `vigor sim-robot` at the centre: it refuses another placement.
    let out = vigor(
        &[
            "eval",
            "--policy",
            "policies/student-depth-unified",
            "--via-bus",
            "--lying-offset-m",
            "1.2",
            "--out",
            out_dir.to_str().unwrap(),
        ],
        b"",
    );
    assert_fails_saying(&out, "--lying-offset-m is for in-process evaluation");
}

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
    let out = vigor(
        &[
            "demos",
            "check",
            "--out",
            out_dir.to_str().unwrap(),
            "--phases",
            "1,1",
            "--scenarios",
            "none",
            "--assist",
            "0.8",
            "--trials",
            "1",
            "--plain",
        ],
        b"",
    );
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
    let out = vigor(
        &[
            "demos",
            "check",
            "--out",
            out_dir.to_str().unwrap(),
            "--phases",
            "1.5",
        ],
        b"",
    );
    assert_fails_saying(&out, "--phases: 1.5 is out of range: allowed 0 ..= 1");
}

#[test]
fn topic_list_shows_every_key_with_scope() {
    let out = vigor(&["topic", "list", "--scope", "g1"], b"");
    assert!(out.status.success());
    let s = text(&out.stdout);
    for t in vigor_msgs_keys() {
        assert!(s.contains(&format!("g1/{t}")), "{t} missing:\n{s}");
    }
}

fn vigor_msgs_keys() -> [&'static str; 3] {
    ["rt/lowcmd", "rt/lowstate", "vigor/controller/status"]
}

#[test]
fn train_compare_prints_windows_draws_runs_and_names_a_missing_metric() {
    let dir = tempfile::tempdir().unwrap();
    for (name, success) in [("base", 0.25), ("lever", 0.5)] {
        let run = dir.path().join(name);
        std::fs::create_dir_all(&run).unwrap();
        let lines: String = (1..=10)
            .map(|i| {
                format!(
                    "{{\"iteration\":{i},\"env_steps\":{},\"wall_s\":{i}.0,\"success\":{success}}}\n",
                    i * 1000
                )
            })
            .collect();
        std::fs::write(run.join("metrics.jsonl"), lines).unwrap();
    }
    let png = dir.path().join("compare.png");
    let (base, lever) = (dir.path().join("base"), dir.path().join("lever"));
    let args = |metrics: &str| {
        vec![
            "train".to_owned(),
            "compare".to_owned(),
            base.display().to_string(),
            lever.display().to_string(),
            "--window".to_owned(),
            "5".to_owned(),
            "--metrics".to_owned(),
            metrics.to_owned(),
            "--out".to_owned(),
            png.display().to_string(),
        ]
    };
    let a = args("success");
    let out = vigor(&a.iter().map(String::as_str).collect::<Vec<_>>(), b"");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    assert!(
        table.contains("| iterations | env steps | base | lever |"),
        "{table}"
    );
    assert!(table.contains("| 6-10 | 0.01 M | 25 % | 50 % |"), "{table}");
    assert!(std::fs::read(&png).unwrap().starts_with(b"\x89PNG"));
    let a = args("success,ppo/kl");
    let out = vigor(&a.iter().map(String::as_str).collect::<Vec<_>>(), b"");
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("metrics.jsonl") && err.contains("`ppo/kl`"),
        "{err}"
    );
}

#[test]
fn terrain_preview_writes_a_png_of_the_grid() {
    let dir = tempfile::tempdir().unwrap();
    // 2 rows × 3 cols of 4 m tiles in a 1 m border: 10 m along x (picture height), 14 m along y.
    let cfg = dir.path().join("small.toml");
    std::fs::write(
        &cfg,
        "seed = 1\ntile_size_m = 4.0\ncell_m = 0.1\nrows = 2\ncols = 3\n\
         kinds = [\"stairs_up\", \"stepping_stones\", \"gaps\"]\nborder_m = 1.0\n\
         difficulty_min = 0.0\ndifficulty_max = 1.0\n",
    )
    .unwrap();
    let out_png = dir.path().join("grid.png");
    let out = vigor(
        &[
            "terrain",
            "preview",
            "--out",
            out_png.to_str().unwrap(),
            "--config",
            cfg.to_str().unwrap(),
            "--seed",
            "7",
            "--px-per-m",
            "10",
        ],
        b"",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("140 × 100 px"),
        "{}",
        text(&out.stdout)
    );
    let png = std::fs::read(&out_png).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    assert_eq!(&png[12..16], b"IHDR");
    let be = |i: usize| u32::from_be_bytes([png[i], png[i + 1], png[i + 2], png[i + 3]]);
    assert_eq!((be(16), be(20)), (140, 100), "IHDR width × height");

    // The shipped config, embedded, also renders; a bad resolution is refused by name.
    let out = vigor(
        &[
            "terrain",
            "preview",
            "--out",
            out_png.to_str().unwrap(),
            "--px-per-m",
            "0.5",
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("`px_per_m` = 0.5"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn robot_export_mjcf_writes_a_model_with_every_joint() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("g1.xml");
    let run = vigor(
        &[
            "robot",
            "export-mjcf",
            "--robot",
            "g1_23dof",
            "--out",
            out.to_str().unwrap(),
        ],
        b"",
    );
    assert!(run.status.success(), "{}", text(&run.stderr));
    let xml = std::fs::read_to_string(&out).unwrap();
    assert_eq!(xml.matches("<motor ").count(), 23);
    assert!(xml.contains(r#"<freejoint name="floating_base_joint"/>"#));
    let bad = vigor(&["robot", "show", "--robot", "g2"], b"");
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        text(&bad.stderr).contains("no shipped robot named g2"),
        "{}",
        text(&bad.stderr)
    );
}

#[test]
fn bench_sim_json_reports_both_engines() {
    let out = vigor(
        &[
            "bench",
            "sim",
            "--json",
            "--seconds",
            "0.1",
            "--threads",
            "1",
        ],
        b"",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in [
        "physics_hz",
        "single_steps_per_s_flat",
        "single_steps_per_s_rough",
        "threads",
        "vec_steps_per_s",
        "depth_frame_ms",
    ] {
        assert!(v[key].as_f64().is_some_and(|x| x > 0.0), "{key} in {v}");
    }
    assert_eq!(v["engine"], "rapier");
    for engine in ["rapier", "mujoco"] {
        let e = &v["engines"][engine];
        assert_eq!(e["engine"], engine);
        assert!(
            e["single_steps_per_s_flat"]
                .as_f64()
                .is_some_and(|x| x > 0.0),
            "{e}"
        );
    }
    assert!(
        v["rapier_over_mujoco_single"]
            .as_f64()
            .is_some_and(|x| x > 0.0)
    );
}

/// `cargo tree ARGS --offline --prefix none --format "{p} [{f}]"` at the workspace root: one
/// line per dependency, `name vX.Y.Z [features]` (a path or `(proc-macro)` may follow the version).
fn cargo_tree(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO"))
        .arg("tree")
        .args(args)
        .args(["--offline", "--prefix", "none", "--format", "{p} [{f}]"])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .output()
        .expect("run cargo tree");
    assert!(out.status.success(), "cargo tree: {}", text(&out.stderr));
    text(&out.stdout)
}

/// Features of every dependency `cargo tree` resolves for `args`, as `name version` -> the
/// feature sets it is built with (a crate built both for the host, as a build or proc-macro
/// dependency, and for the target may have two). vigor's own crates are left out: their test
/// harnesses are built anyway.
fn resolved_features(
    args: &[&str],
) -> std::collections::BTreeMap<String, std::collections::BTreeSet<Vec<String>>> {
    let mut map = std::collections::BTreeMap::<_, std::collections::BTreeSet<_>>::new();
    for line in cargo_tree(args).lines() {
        let Some((pkg, rest)) = line.split_once(" [") else {
            continue;
        };
        // `name vX.Y.Z` (drop a path or `(proc-macro)` after it).
        let pkg: Vec<&str> = pkg.split_whitespace().take(2).collect();
        if pkg.first().is_some_and(|n| n.starts_with("vigor-")) {
            continue;
        }
        let feats = rest.split(']').next().unwrap_or("");
        let mut feats: Vec<String> = feats
            .split(',')
            .filter(|f| !f.is_empty())
            .map(str::to_owned)
            .collect();
        feats.sort();
        map.entry(pkg.join(" ")).or_default().insert(feats);
    }
    map
}

/// The README's two commands share one build: the `vigor` binary (`cargo run --release`) and the
/// test build (`cargo test --workspace --release`) must resolve the same features for every
/// dependency they share, or the second rebuilds large parts of the first (the pins in
/// tools/Cargo.toml keep them equal).
#[test]
fn the_binary_and_the_test_build_resolve_the_same_features() {
    let binary = resolved_features(&["-p", "vigor-tools", "-e", "normal,build"]);
    let tests = resolved_features(&["--workspace", "-e", "normal,build,dev"]);
    let differ: Vec<String> = tests
        .iter()
        .filter_map(|(pkg, f)| {
            let b = binary.get(pkg)?;
            (b != f).then(|| format!("{pkg}: binary {b:?}, tests {f:?}"))
        })
        .collect();
    assert!(
        binary.len() > 100 && differ.is_empty(),
        "pin these features in tools/Cargo.toml:\n{}",
        differ.join("\n")
    );
}

/// The robot's binary, `vigor-controller`, links what the daemon needs (the controller, the policy
/// runtime, perception's depth preprocessing, the codecs, zenoh) and none of the simulator,
/// trainer or recorder. `cargo build -p vigor-controller` (the README's command for the robot)
/// resolves exactly this tree; a workspace build would unify perception's `sim` feature in, which
/// is why the README builds the package alone.
#[test]
fn the_controller_binary_links_no_simulator_trainer_or_recorder() {
    const FORBIDDEN: [&str; 7] = [
        "rapier3d",
        "mujoco-rs",
        "vigor-sim",
        "vigor-training",
        "vigor-record",
        "re_sdk",
        "re_sdk_types",
    ];
    let tree = cargo_tree(&["-p", "vigor-controller", "-e", "normal"]);
    let mut found: Vec<&str> = tree
        .lines()
        .filter(|l| {
            FORBIDDEN
                .iter()
                .any(|f| l.split_whitespace().next() == Some(*f))
        })
        .collect();
    found.sort_unstable();
    found.dedup();
    assert!(
        found.is_empty(),
        "vigor-controller depends on:\n{}",
        found.join("\n")
    );
    for needed in [
        "vigor-policy ",
        "vigor-perception ",
        "vigor-msgs ",
        "zenoh ",
    ] {
        assert!(
            tree.lines().any(|l| l.starts_with(needed)),
            "{needed}missing from the tree:\n{tree}"
        );
    }
    // `name vX.Y.Z [f1,f2]`, perhaps with ` (*)` after a crate shown before.
    let features = |l: &str| -> Vec<String> {
        let f = l.split_once(" [").map_or("", |(_, f)| f);
        let f = f.split(']').next().unwrap_or("");
        f.split(',')
            .filter(|f| !f.is_empty())
            .map(str::to_owned)
            .collect()
    };
    for line in tree.lines().filter(|l| l.starts_with("vigor-perception ")) {
        assert!(
            !features(line).iter().any(|f| f == "sim"),
            "vigor-perception with its `sim` feature: {line}"
        );
    }
}

/// The controller reads its joint table from the robot description without the simulator
/// (`vigor_common::robot`); for both shipped robots it must agree with the simulator's full model
/// on every joint's slot, name, limits, torque limit, gains and default pose.
#[test]
fn the_controllers_joint_table_agrees_with_the_simulators_robot() {
    use vigor_common::robot::{JointTable, SHIPPED};
    use vigor_sim::robot::Robot;
    for name in SHIPPED {
        let table = JointTable::embedded(name).unwrap();
        let robot = Robot::embedded(name).unwrap();
        assert_eq!(
            (table.name.as_str(), table.mode_machine),
            (robot.name.as_str(), robot.mode_machine),
            "{name}"
        );
        let table_joints: Vec<_> = table
            .joints
            .iter()
            .map(|j| {
                let figures = [
                    j.lower_rad,
                    j.upper_rad,
                    j.effort_nm,
                    j.velocity_rad_s,
                    j.default_rad,
                    j.kp,
                    j.kd,
                ];
                (j.slot, j.name.as_str(), figures)
            })
            .collect();
        let robot_joints: Vec<_> = robot
            .joints
            .iter()
            .map(|j| {
                let figures = [
                    j.lower, j.upper, j.effort, j.velocity, j.default, j.kp, j.kd,
                ];
                (j.slot, j.name.as_str(), figures)
            })
            .collect();
        assert_eq!(
            table_joints, robot_joints,
            "{name}: the joint table differs from the simulator's robot \
             (slot, name, [lower, upper, effort, velocity, default, kp, kd])"
        );
    }
}
