//! `vigor demos import | list | show` on a synthetic take written here, and on the shipped set.

use std::path::Path;
use std::process::{Command, Output};

fn vigor(args: &[&str], paths: &[&Path]) -> Output {
    Command::new(vigor_system_tests::vigor_bin())
        .args(args)
        .args(paths)
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

/// One CSV line in Unitree's LAFAN1-G1 layout: pelvis, quaternion x y z w, 29 joints.
fn line(z: f64, pitch: f64) -> String {
    let (s, c) = ((pitch / 2.0).sin(), (pitch / 2.0).cos());
    let mut v = vec![0.0, 0.0, z, 0.0, s, 0.0, c];
    // Default stand: hip pitch -0.1, knee 0.3, ankle pitch -0.2 on both legs, the rest 0.
    for _ in 0..2 {
        v.extend([-0.1, 0.0, 0.0, 0.3, -0.2, 0.0]);
    }
    v.extend([0.0; 17]);
    v.iter()
        .map(|x| format!("{x:.6}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// 30 fps: stand, fall onto the back, lie, get up, stand; twice; then a fall with no get-up.
fn synthetic_take() -> String {
    let mut out = Vec::new();
    let up = (0.79, 0.0);
    let down = (0.12, -std::f64::consts::FRAC_PI_2);
    let ramp = |a: (f64, f64), b: (f64, f64), n: usize, out: &mut Vec<String>| {
        for i in 1..=n {
            let s = i as f64 / n as f64;
            out.push(line(a.0 + (b.0 - a.0) * s, a.1 + (b.1 - a.1) * s));
        }
    };
    for _ in 0..2 {
        out.extend(std::iter::repeat_n(line(up.0, up.1), 30));
        ramp(up, down, 15, &mut out);
        out.extend(std::iter::repeat_n(line(down.0, down.1), 30));
        ramp(down, up, 30, &mut out);
    }
    out.extend(std::iter::repeat_n(line(up.0, up.1), 30));
    ramp(up, down, 15, &mut out);
    out.extend(std::iter::repeat_n(line(down.0, down.1), 20));
    out.join("\n") + "\n"
}

fn rerun_stats(rrd: &Path) -> String {
    let rerun = vigor_system_tests::rerun_cli();
    let verify = Command::new(&rerun)
        .args(["rrd", "verify"])
        .arg(rrd)
        .output()
        .unwrap();
    assert!(verify.status.success(), "{}", text(&verify));
    let stats = Command::new(&rerun)
        .args(["rrd", "stats"])
        .arg(rrd)
        .output()
        .unwrap();
    assert!(stats.status.success(), "{}", text(&stats));
    String::from_utf8_lossy(&stats.stdout).into_owned()
}

#[test]
fn import_then_list_then_show_a_take_on_terrain() {
    let _g = vigor_system_tests::cpu_heavy();
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("synthetic_take.csv");
    std::fs::write(&csv, synthetic_take()).unwrap();
    let clips = dir.path().join("clips");
    let run = vigor(&["demos", "import", "--out"], &[&clips, &csv]);
    let out = text(&run);
    assert!(run.status.success(), "{out}");
    assert!(
        out.contains("2 clips") && out.contains("wrote 2 clips"),
        "{out}"
    );
    let files: Vec<_> = std::fs::read_dir(&clips).unwrap().collect();
    assert_eq!(files.len(), 2, "{out}");

    let run = vigor(&["demos", "list"], &[&clips]);
    let out = text(&run);
    assert!(run.status.success(), "{out}");
    assert!(
        out.contains("synthetic_take_01") && out.contains("synthetic_take_02"),
        "{out}"
    );
    assert!(out.contains("supine"), "{out}");

    let rrd = dir.path().join("clip.rrd");
    let clip = clips.join("synthetic_take_01.vclip");
    let run = vigor(
        &[
            "demos",
            "show",
            "--terrain",
            "rough",
            "--difficulty",
            "0.8",
            "--seed",
            "4",
            "--out",
        ],
        &[&rrd, &clip],
    );
    let out = text(&run);
    assert!(run.status.success(), "{out}");
    assert!(
        out.contains("aligned on rough") && out.contains("lifted"),
        "{out}"
    );
    let stats = rerun_stats(&rrd);
    for entity in [
        "/world/terrain",
        "/world/robot/pelvis",
        "/world/keyframes/next",
        "/world/keyframes/all/k00",
        "/world/reference_flat",
        "/plots/phase",
        "/events",
        "/episode",
    ] {
        assert!(
            stats.lines().any(|l| l.starts_with(&format!("{entity}:"))),
            "{entity} missing:\n{stats}"
        );
    }
}

#[test]
fn shipped_demonstrations_list_and_show() {
    let _g = vigor_system_tests::cpu_heavy();
    let run = vigor(&["demos", "list"], &[]);
    let out = text(&run);
    assert!(run.status.success(), "{out}");
    for name in ["supine_roll_kneel", "prone_push_up", "side_roll_kneel"] {
        assert!(out.contains(name), "{name} missing:\n{out}");
    }
    let dir = tempfile::tempdir().unwrap();
    let rrd = dir.path().join("prone.rrd");
    let run = vigor(&["demos", "show", "prone_push_up", "--out"], &[&rrd]);
    let out = text(&run);
    assert!(run.status.success(), "{out}");
    assert!(out.contains("starts prone"), "{out}");
    let stats = rerun_stats(&rrd);
    assert!(
        stats
            .lines()
            .any(|l| l.starts_with("/world/keyframes/next:")),
        "{stats}"
    );
    assert!(
        !stats.lines().any(|l| l.starts_with("/world/terrain:")),
        "no terrain asked for"
    );
}

#[test]
fn import_errors_name_the_file_and_line_and_show_names_the_choices() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("broken.csv");
    let mut take = synthetic_take();
    take = take.replacen('\n', "\n0.0,0.0,0.79\n", 3);
    std::fs::write(&csv, take).unwrap();
    let run = vigor(
        &["demos", "import", "--out"],
        &[&dir.path().join("o"), &csv],
    );
    assert_eq!(run.status.code(), Some(1), "{}", text(&run));
    let err = text(&run);
    assert!(
        err.contains("broken.csv:2: 3 columns, expected 36"),
        "{err}"
    );

    let run = vigor(
        &["demos", "show", "cartwheel", "--out"],
        &[&dir.path().join("x.rrd")],
    );
    assert_eq!(run.status.code(), Some(1));
    let err = text(&run);
    assert!(
        err.contains("`cartwheel` is neither a clip file nor a shipped demonstration")
            && err.contains("prone_push_up"),
        "{err}"
    );
}
