//! `vigor train teacher` and `vigor eval` as a user runs them: a tiny run, its files, the refusal
//! to overwrite a run, `--resume`, a bad config naming the key, and the evaluation outputs.

use std::path::Path;
use std::process::{Command, Output};

fn vigor(args: &[&str]) -> Output {
    Command::new(vigor_system_tests::vigor_bin())
        .args(args)
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The shipped teacher config shrunk to seconds: 2 environments, 1 s episodes, small networks.
fn tiny_config(dir: &Path) -> String {
    let shipped = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/teacher.toml"),
    )
    .unwrap();
    let text = shipped
        .replace("envs = 32", "envs = 2")
        .replace("iterations = 400", "iterations = 1")
        .replace("checkpoint_every = 5", "checkpoint_every = 1")
        .replace("episode_s = 7.5", "episode_s = 1.0")
        .replace("encoder_hidden = [128, 64]", "encoder_hidden = [16]")
        .replace("actor_hidden = [256, 128, 64]", "actor_hidden = [16]")
        .replace("critic_hidden = [256, 128, 64]", "critic_hidden = [16]");
    let path = dir.join("tiny.toml");
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[test]
fn train_resume_and_evaluate_from_the_command_line() {
    let _g = vigor_system_tests::cpu_heavy();
    let tmp = tempfile::tempdir().unwrap();
    let config = tiny_config(tmp.path());
    let run = tmp.path().join("run");
    let run_s = run.display().to_string();
    let o = vigor(&[
        "train",
        "teacher",
        "--config",
        &config,
        "--run-dir",
        &run_s,
        "--plain",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("it 1/1"), "{}", text(&o));
    for f in [
        "metrics.jsonl",
        "metrics.rrd",
        "curves.png",
        "latest",
        "best/manifest.json",
        "checkpoints/iter_000001/optimizer.safetensors",
    ] {
        assert!(run.join(f).is_file(), "{f}");
    }
    let o = vigor(&["train", "teacher", "--config", &config, "--run-dir", &run_s]);
    assert!(
        !o.status.success() && text(&o).contains("--resume"),
        "{}",
        text(&o)
    );
    let o = vigor(&[
        "train",
        "teacher",
        "--config",
        &config,
        "--run-dir",
        &run_s,
        "--resume",
        "--iterations",
        "2",
        "--plain",
    ]);
    assert!(
        o.status.success() && text(&o).contains("it 2/2"),
        "{}",
        text(&o)
    );
    assert_eq!(
        std::fs::read_to_string(run.join("metrics.jsonl"))
            .unwrap()
            .lines()
            .count(),
        2
    );

    let bad = tmp.path().join("bad.toml");
    std::fs::write(
        &bad,
        std::fs::read_to_string(&config)
            .unwrap()
            .replace("history = 3", "history = 0"),
    )
    .unwrap();
    let o = vigor(&[
        "train",
        "teacher",
        "--config",
        &bad.display().to_string(),
        "--run-dir",
        &run_s,
    ]);
    assert!(!o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("bad.toml: `task.history` = 0 is out of range: allowed 1 ..= 50"),
        "{}",
        text(&o)
    );

    let out = tmp.path().join("eval");
    let o = vigor(&[
        "eval",
        "--policy",
        &run.join("best").display().to_string(),
        "--trials",
        "1",
        "--out",
        &out.display().to_string(),
        "--terrains",
        "flat",
        "--scenarios",
        "side",
        "--engine",
        "both",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let table = std::fs::read_to_string(out.join("eval.md")).unwrap();
    assert!(
        table.contains("| rapier | side | flat | 1 |")
            && table.contains("| mujoco | side | flat | 1 |"),
        "{table}"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("eval.json")).unwrap()).unwrap();
    assert_eq!(json["cells"].as_array().unwrap().len(), 2);
    for f in ["best.rrd", "median.rrd", "worst.rrd"] {
        assert!(out.join(f).is_file(), "{f}");
    }
    let o = vigor(&[
        "eval",
        "--policy",
        &run.display().to_string(),
        "--out",
        &out.display().to_string(),
    ]);
    assert!(
        !o.status.success() && text(&o).contains("manifest.json"),
        "{}",
        text(&o)
    );
}
