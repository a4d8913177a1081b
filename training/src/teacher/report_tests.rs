//! Tests of what runs report: learning-curve pictures, run comparisons and the protocol's cells.

use vigor_sim::scenario::Scenario;
use vigor_sim::terrain::TerrainKind;

use crate::metrics::Metrics;

/// RGB pixels of a PNG, with its width and height.
fn pixels(bytes: Vec<u8>) -> (Vec<u8>, usize, usize) {
    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
        .read_info()
        .unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    (buf, info.width as usize, info.height as usize)
}

#[test]
fn a_dense_noisy_curve_stays_inside_its_panel() {
    // A thousand iterations whose return jumps between two values: drawn 2 px wide, plotters'
    // mitre joins shot spikes through the caption above the panel.
    let rows: Vec<Metrics> = (1..=1000u64)
        .map(|i| Metrics {
            iteration: i,
            teacher: Some(crate::metrics::TeacherMetrics {
                mean_return: if i % 2 == 0 { 10.0 } else { 0.0 },
                ..Default::default()
            }),
            ..Metrics::default()
        })
        .collect();
    let (buf, w, _) = pixels(super::curves::render(&rows));
    let near = |p: &[u8], c: [u8; 3]| p.iter().zip(c).all(|(a, b)| a.abs_diff(b) < 40);
    let in_caption: usize = (0..10)
        .map(|y| {
            buf[y * w * 3..(y * w + 560) * 3]
                .chunks(3)
                .filter(|p| near(p, [31, 119, 180]))
                .count()
        })
        .sum();
    assert_eq!(in_caption, 0, "line pixels in the first panel's top rows");
}

#[test]
fn curves_are_a_png_with_the_lines_drawn() {
    let rows: Vec<Metrics> = (1..=20)
        .map(|i| {
            let v = serde_json::json!({"iteration": i, "env_steps": i * 100, "mean_return": f64::from(i).sqrt(), "success": f64::from(i) / 20.0, "safe_success": f64::from(i) / 40.0});
            serde_json::from_value(v).unwrap()
        })
        .collect();
    let bytes = super::curves::render(&rows);
    if let Ok(path) = std::env::var("VIGOR_CURVES_OUT") {
        std::fs::write(path, &bytes).unwrap();
    }
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    // Eleven panels (the last three: the curriculum's level per terrain kind), two per row.
    assert_eq!((info.width, info.height), (1120, 1920));
    let near = |p: &[u8], c: [u8; 3]| p.iter().zip(c).all(|(a, b)| a.abs_diff(b) < 12);
    let blue = buf.chunks(3).filter(|p| near(p, [31, 119, 180])).count();
    assert!(blue > 400, "{blue} blue pixels");
    // The success panel (top right) has its second line, safe success, in orange.
    let orange = buf.chunks(3).filter(|p| near(p, [255, 127, 14])).count();
    assert!(orange > 200, "{orange} orange pixels");
    // Text: the first panel's caption band (its top 36 rows) holds dark glyph pixels.
    let w = info.width as usize;
    let caption: usize = (0..36)
        .map(|y| {
            buf[y * w * 3..(y * w + 560) * 3]
                .chunks(3)
                .filter(|p| p.iter().all(|v| *v < 100))
                .count()
        })
        .sum();
    assert!(
        caption > 100,
        "{caption} dark pixels in the caption: no font (scripts/setup.sh installs fonts-dejavu-core)"
    );
}

#[test]
fn runs_compare_in_windows_and_in_pictures_against_steps_and_hours() {
    use super::curves::{compare_table, render_compare};
    let run = |name: &str, n: u64, rate: f64| {
        let rows = (1..=n)
            .map(|i| {
                let v = serde_json::json!({
                    "iteration": i,
                    "env_steps": i * 12_000,
                    "wall_s": i as f64 * 10.0,
                    "success": rate,
                    "mean_return": i as f64,
                });
                serde_json::from_value::<Metrics>(v).unwrap()
            })
            .collect::<Vec<_>>();
        (name.to_owned(), rows)
    };
    let runs = vec![run("base", 50, 0.25), run("lever", 30, 0.5)];
    let metrics = vec!["success".to_owned(), "mean_return".to_owned()];
    let table = compare_table(&runs, &metrics, 25, None);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(
        lines[0],
        "Each cell: success / mean_return, means over the window."
    );
    assert_eq!(lines[2], "| iterations | env steps | base | lever |");
    assert_eq!(lines[4], "| 1-25 | 0.30 M | 25 % / 13.00 | 50 % / 13.00 |");
    assert_eq!(lines[5], "| 26-50 | 0.60 M | 25 % / 38.00 | 50 % / 28.00 |");
    assert_eq!(lines.len(), 6);
    // Cut at a step budget: the first 20 iterations.
    let cut = compare_table(&runs, &metrics, 25, Some(240_000.0));
    assert_eq!(
        cut.lines().nth(4),
        Some("| 1-20 | 0.24 M | 25 % / 10.50 | 50 % / 10.50 |")
    );
    let bytes = render_compare(&runs, &metrics, 5);
    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
        .read_info()
        .unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(
        (info.width, info.height),
        (1120, 640),
        "two metrics, steps and hours"
    );
    let near = |p: &[u8], c: [u8; 3]| p.iter().zip(c).all(|(a, b)| a.abs_diff(b) < 12);
    assert!(
        buf.chunks(3).filter(|p| near(p, [31, 119, 180])).count() > 400,
        "the first run"
    );
    assert!(
        buf.chunks(3).filter(|p| near(p, [255, 127, 14])).count() > 400,
        "the second run"
    );
}

#[test]
fn the_vigor_protocol_covers_every_start_where_it_makes_sense_with_drawn_difficulty() {
    use super::eval::{EpisodeResult, EvalPlan, protocol_summary};
    use super::task::Outcome;
    use vigor_sim::engine::EngineKind;
    let plan = EvalPlan::protocol(8, 3, vec![EngineKind::Mujoco], 0);
    let cells = plan.cells();
    // Supine, prone, side, sitting and push on all twelve kinds; the four that need their own
    // terrain once each, on it.
    assert_eq!(cells.len(), 5 * 12 + 4);
    for s in Scenario::ALL {
        let mine: Vec<_> = cells.iter().filter(|c| c.0 == s).collect();
        match s.required_terrain() {
            Some((kind, difficulty)) => {
                assert_eq!(mine.len(), 1, "{s}");
                assert_eq!(mine[0].1, kind);
                assert!(mine[0].2.iter().all(|&d| d == difficulty));
            }
            None => assert_eq!(mine.len(), 12, "{s}"),
        }
    }
    let mut all = Vec::new();
    for (_, terrain, difficulties) in &cells {
        assert_eq!(difficulties.len(), 8);
        assert!(difficulties.iter().all(|d| (0.0..=1.0).contains(d)));
        if *terrain == TerrainKind::Flat {
            assert!(difficulties.iter().all(|&d| d == 0.0));
        } else {
            all.extend_from_slice(difficulties);
        }
    }
    // Drawn over the whole range, the same for the same seed, different for another.
    assert!(all.iter().any(|&d| d < 0.1) && all.iter().any(|&d| d > 0.9));
    assert_eq!(plan.cells(), EvalPlan::protocol(8, 3, vec![], 0).cells());
    assert_ne!(plan.cells(), EvalPlan::protocol(8, 4, vec![], 0).cells());

    // The summary splits stand-up (lying starts) from fall recovery (pushes).
    let result = |scenario: &str, terrain: &str, success: bool| EpisodeResult {
        engine: "mujoco".into(),
        scenario: scenario.into(),
        terrain: terrain.into(),
        difficulty: 0.5,
        seed: 0,
        assist: 0.0,
        outcome: Outcome {
            success,
            safe_success: success,
            ..Outcome::default()
        },
    };
    let results = vec![
        result("supine", "flat", true),
        result("prone", "rough", false),
        result("push", "flat", true),
        result("push", "rough", true),
        result("push_off_platform", "platform", false),
    ];
    let s = &protocol_summary(&results)[0];
    assert_eq!((s.stand_up.n, s.stand_up.success), (2, 0.5));
    assert_eq!(s.fall_recovery.n, 3);
    assert!((s.fall_recovery.success - 2.0 / 3.0).abs() < 1e-12);
    assert_eq!(s.overall.n, 5);
    let flat = s.per_terrain.iter().find(|t| t.0 == "flat").unwrap();
    assert_eq!((flat.1.success, flat.2.success), (1.0, 1.0));
    assert!((s.stand_up.ci95 - 1.96 * (0.25f64 / 2.0).sqrt()).abs() < 1e-12);
}

#[test]
fn the_sign_test_matches_the_binomial_tails() {
    use super::paired::sign_test_p;
    // 10 to 0: 2 / 2^10. 31 to 17: twice P(X <= 17) for X ~ B(48, 1/2), 0.0595.
    assert!((sign_test_p(10, 0) - 2.0 / 1024.0).abs() < 1e-12);
    assert!((sign_test_p(0, 10) - 2.0 / 1024.0).abs() < 1e-12);
    assert!(
        (sign_test_p(31, 17) - 0.0595).abs() < 5e-4,
        "{}",
        sign_test_p(31, 17)
    );
    // 5 to 1: (1 + 6) * 2 / 64.
    assert!((sign_test_p(5, 1) - 14.0 / 64.0).abs() < 1e-12);
    assert_eq!(sign_test_p(0, 0), 1.0);
    assert_eq!(sign_test_p(7, 7), 1.0);
    assert!(sign_test_p(8, 7) <= 1.0);
    // Large splits stay finite: 600 to 400 is far from chance.
    let p = sign_test_p(600, 400);
    assert!(p > 0.0 && p < 1e-9, "{p}");
}

#[test]
fn two_evaluations_pair_by_start_and_split_like_the_protocol() {
    use super::eval::EpisodeResult;
    use super::paired::{pair, paired_markdown};
    use super::task::Outcome;
    let result = |scenario: &str, terrain: &str, seed: u64, success: bool| EpisodeResult {
        engine: "mujoco".into(),
        scenario: scenario.into(),
        terrain: terrain.into(),
        difficulty: 0.5,
        seed,
        assist: 0.0,
        outcome: Outcome {
            success,
            safe_success: success && seed != 1,
            ..Outcome::default()
        },
    };
    let a = vec![
        result("supine", "flat", 1, true),
        result("supine", "stairs_up", 2, true),
        result("prone", "stairs_up", 3, false),
        result("push", "flat", 4, true),
        result("push", "gaps", 5, false),
        result("side", "gaps", 9, true),
    ];
    // The same starts in another order, and one of its own; seed 9 is A's alone.
    let b = vec![
        result("push", "gaps", 5, true),
        result("push", "flat", 4, true),
        result("prone", "stairs_up", 3, true),
        result("supine", "stairs_up", 2, false),
        result("supine", "flat", 1, true),
        result("sitting", "flat", 7, true),
    ];
    let (reports, unpaired) = pair(&a, &b);
    assert_eq!(unpaired.only_in, [1, 1]);
    assert_eq!(reports.len(), 1);
    let r = &reports[0];
    assert_eq!(r.overall.n, 5);
    assert_eq!(r.overall.success, [3, 4]);
    assert_eq!(r.overall.safe_success, [2, 3]);
    assert_eq!((r.overall.both, r.overall.only), (2, [1, 2]));
    assert_eq!(r.stand_up.n, 3);
    assert_eq!((r.stand_up.both, r.stand_up.only), (1, [1, 1]));
    assert_eq!(r.fall_recovery.n, 2);
    assert_eq!((r.fall_recovery.both, r.fall_recovery.only), (1, [0, 1]));
    let terrains: Vec<(&str, usize, [usize; 2])> = r
        .per_terrain
        .iter()
        .map(|(t, p)| (t.as_str(), p.n, p.only))
        .collect();
    assert_eq!(
        terrains,
        vec![
            ("flat", 2, [0, 0]),
            ("stairs_up", 2, [1, 1]),
            ("gaps", 1, [0, 1])
        ]
    );
    let starts: Vec<&str> = r.per_start.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(starts, vec!["supine", "prone", "push"]);
    // A start is the same start only on the same engine.
    let mut on_rapier = b.clone();
    for e in &mut on_rapier {
        e.engine = "rapier".into();
    }
    let (reports, unpaired) = pair(&a, &on_rapier);
    assert!(reports.is_empty());
    assert_eq!(unpaired.only_in, [6, 6]);
    // The same seed at another difficulty or assist is another start; a repeated start pairs
    // once per copy on each side.
    let mut harder = b.clone();
    harder[0].difficulty = 0.8;
    harder[1].assist = 0.2;
    assert_eq!(pair(&a, &harder).1.only_in, [3, 3]);
    let mut twice = a.clone();
    twice.push(a[0].clone());
    assert_eq!(pair(&twice, &b).1.only_in, [2, 1]);
    assert_eq!(pair(&b, &twice).0[0].overall.n, 5);
    let md = paired_markdown(&pair(&a, &b).0, ["runs/x", "runs/y"]);
    assert!(md.contains("A: runs/x\nB: runs/y"), "{md}");
    assert!(
        md.contains("| **overall** | 5 | 3 (60.0 %) | 4 (80.0 %) | 2 | 1 | 2 | 1 |"),
        "{md}"
    );
    assert!(
        md.contains("| gaps | 1 | 0 (0.0 %) | 1 (100.0 %) | 0 | 0 | 1 | 1 |"),
        "{md}"
    );
}
