//! The research commands: evaluation placement flags, paired comparison of evaluations,
//! learning-curve comparison, the terrain preview, the robot's MJCF export and the simulator
//! benchmark.

use crate::{assert_fails_saying, text, vigor};

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
fn eval_compare_pairs_two_evaluations_start_by_start() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a");
    let out = vigor(
        &[
            "eval",
            "--policy",
            "policies/teacher-unified",
            "--scenarios",
            "supine,push",
            "--terrains",
            "flat",
            "--trials",
            "2",
            "--no-record",
            "--plain",
            "--out",
            a.to_str().unwrap(),
        ],
        b"",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    // B: the same four starts with the first one's outcome turned over, in another order.
    let mut json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(a.join("eval.json")).unwrap()).unwrap();
    let episodes = json["episodes"].as_array_mut().unwrap();
    assert_eq!(episodes.len(), 4);
    let first = episodes[0]["outcome"]["success"].as_bool().unwrap();
    let a_wins = episodes
        .iter()
        .filter(|e| e["outcome"]["success"] == true)
        .count();
    episodes[0]["outcome"]["success"] = (!first).into();
    episodes.reverse();
    let b = dir.path().join("b.json");
    std::fs::write(&b, serde_json::to_vec(&json).unwrap()).unwrap();
    let md = dir.path().join("ab.md");
    let out = vigor(
        &[
            "eval",
            "compare",
            a.to_str().unwrap(),
            b.to_str().unwrap(),
            "--out",
            md.to_str().unwrap(),
        ],
        b"",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let b_wins = if first { a_wins - 1 } else { a_wins + 1 };
    let (only_a, only_b) = if first { (1, 0) } else { (0, 1) };
    let pct = |k: usize| format!("{k} ({:.1} %)", 25.0 * k as f64);
    let row = format!(
        "| **overall** | 4 | {} | {} | {} | {only_a} | {only_b} | 1 |",
        pct(a_wins),
        pct(b_wins),
        a_wins.min(b_wins)
    );
    let printed = text(&out.stdout);
    assert!(printed.contains(&row), "{row}\n{printed}");
    assert!(printed.contains("| supine | 2 |") && printed.contains("| push | 2 |"));
    assert_eq!(std::fs::read_to_string(&md).unwrap(), printed);
    let counts: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("ab.json")).unwrap()).unwrap();
    assert_eq!(counts["engines"][0]["overall"]["only"][0], only_a);
    // The same starts on another engine pair only when asked to (sim2sim).
    let engine_a = json["episodes"][0]["engine"].as_str().unwrap().to_owned();
    let other = if engine_a == "mujoco" {
        "rapier"
    } else {
        "mujoco"
    };
    for e in json["episodes"].as_array_mut().unwrap() {
        e["engine"] = other.into();
    }
    std::fs::write(&b, serde_json::to_vec(&json).unwrap()).unwrap();
    let (a_path, b_path) = (a.to_str().unwrap(), b.to_str().unwrap());
    let out = vigor(&["eval", "compare", a_path, b_path], b"");
    assert_fails_saying(&out, "(or pass --across-engines)");
    let out = vigor(
        &["eval", "compare", a_path, b_path, "--across-engines"],
        b"",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let printed = text(&out.stdout);
    assert!(
        printed.contains(&format!("## {engine_a} (A) against {other} (B)"))
            && printed.contains(&row),
        "{printed}"
    );
    // Another seed's starts are other starts: nothing pairs, and the error says why.
    json["seed"] = 5.into();
    for e in json["episodes"].as_array_mut().unwrap() {
        e["seed"] = (e["seed"].as_u64().unwrap() ^ 1).into();
    }
    std::fs::write(&b, serde_json::to_vec(&json).unwrap()).unwrap();
    let out = vigor(
        &["eval", "compare", a.to_str().unwrap(), b.to_str().unwrap()],
        b"",
    );
    assert_fails_saying(
        &out,
        "share no start (seed 0, 2 trials per cell against seed 5",
    );
    let out = vigor(&["eval", "compare", a.to_str().unwrap(), "nowhere"], b"");
    assert_fails_saying(&out, "reading nowhere");
    let out = vigor(&["eval", "--trials", "2"], b"");
    assert_fails_saying(&out, "--policy");
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

/// The binary pins the math libraries' code paths (`vigor_policy::PINNED_MATH_PATHS`): an
/// evaluation with nothing set computes exactly what one with the pins set by hand does. Without
/// the pins, a processor with wider instructions than AVX2 (AVX-512 here) takes other paths and
/// every episode's return differs; on an AVX2-only processor this holds either way.
#[test]
fn evaluation_takes_the_pinned_math_paths_whatever_the_processor() {
    let dir = tempfile::tempdir().unwrap();
    let returns = |name: &str, pinned: bool| {
        let out_dir = dir.path().join(name);
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_vigor"));
        cmd.args(["eval", "--policy", "policies/teacher-unified"])
            .args(["--scenarios", "supine,push", "--terrains", "rough"])
            .args(["--trials", "2", "--threads", "1", "--no-record", "--plain"])
            .arg("--out")
            .arg(&out_dir)
            .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
        for (key, value) in vigor_policy::PINNED_MATH_PATHS {
            if pinned {
                cmd.env(key, value);
            } else {
                cmd.env_remove(key);
            }
        }
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        let eval: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out_dir.join("eval.json")).unwrap()).unwrap();
        eval["episodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["outcome"]["reward"].as_f64().unwrap())
            .collect::<Vec<_>>()
    };
    let by_hand = returns("pinned", true);
    assert_eq!(by_hand.len(), 4);
    assert_eq!(returns("unset", false), by_hand);
}
