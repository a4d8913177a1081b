//! The teacher's evaluation: tables per engine, determinism, recordings that replay the evaluated
//! episode, a teacher that does not fit refused, and the flattened height scan.

use std::sync::Arc;

use vigor_sim::env::EpisodeSpec;
use vigor_sim::robot::Robot;
use vigor_sim::scenario::Scenario;
use vigor_sim::terrain::TerrainKind;
use vigor_training::teacher::eval::{self, EvalPlan};
use vigor_training::teacher::reference::ReferenceSet;
use vigor_training::teacher::runner::env_config;
use vigor_training::teacher::{TaskEnv, TeacherConfig, load_artifact};

use super::teacher::{run, tiny};

#[test]
fn evaluation_gives_a_table_per_engine_and_recordings() {
    let dir = tempfile::tempdir().unwrap();
    run(&tiny(0, 1), dir.path(), false).unwrap();
    let teacher = load_artifact(&dir.path().join("best")).unwrap();
    let robot = Robot::embedded("g1_29dof").unwrap();
    let sim = vigor_sim::SimConfig::embedded().unwrap();
    let plan = EvalPlan {
        scenarios: vec![Scenario::Prone],
        terrains: vec![(TerrainKind::Flat, 0.0), (TerrainKind::Rough, 0.5)],
        trials: 2,
        seed: 0,
        engines: vigor_sim::engine::EngineKind::ALL.to_vec(),
        threads: 0,
        assist: 0.0,
        drawn: false,
        lying_offset_m: [0.0, 0.0],
        flat_scan: false,
    };
    let evaluate = || {
        eval::evaluate(
            eval::Evaluee::Teacher(&teacher),
            &robot,
            &sim,
            &plan,
            |_, _| {},
        )
        .unwrap()
    };
    let results = evaluate();
    assert_eq!(results.len(), 8);
    assert_eq!(results, evaluate(), "evaluation is deterministic");
    let cells = eval::summarise(&results);
    assert_eq!(cells.len(), 4);
    let table = eval::markdown(&cells);
    assert_eq!(table.lines().count(), 6);
    assert!(
        table.contains("| rapier | prone | rough | 2 |")
            && table.contains("| mujoco | prone | flat | 2 |"),
        "{table}"
    );
    let [(_, best), _, (_, worst)] = eval::best_median_worst(&results);
    assert!(results[best].outcome.reward >= results[worst].outcome.reward);
    let mut wrong = load_artifact(&dir.path().join("best")).unwrap();
    wrong.manifest.spec.scan += 1;
    let err = eval::evaluate(
        eval::Evaluee::Teacher(&wrong),
        &robot,
        &sim,
        &plan,
        |_, _| {},
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("this build makes"), "{err}");
    let rrd = dir.path().join("best.rrd");
    eval::record_episode(
        eval::Evaluee::Teacher(&teacher),
        &robot,
        &sim,
        (&plan, &results),
        best,
        &rrd,
    )
    .unwrap();
    // The replay checks itself against the evaluation: a result it does not reproduce is refused.
    let mut tampered = results.clone();
    tampered[best].outcome.reward += 1.0;
    let err = eval::record_episode(
        eval::Evaluee::Teacher(&teacher),
        &robot,
        &sim,
        (&plan, &tampered),
        best,
        &dir.path().join("tampered.rrd"),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("differs from its evaluation"), "{err}");
    assert!(std::fs::metadata(&rrd).unwrap().len() > 10_000);
}

#[test]
fn the_flat_scan_reads_level_ground_and_leaves_the_rest_of_the_observation() {
    let robot = Robot::embedded("g1_29dof").unwrap();
    let sim = vigor_sim::SimConfig::embedded().unwrap();
    let p = Arc::new(TeacherConfig::embedded().unwrap());
    let mut cfg = env_config(&p, &sim);
    // Lying on the steps, 1.3 m from the tile centre: the scan around the pelvis sees risers.
    cfg.lying_offset_m = [1.3, 1.3];
    let refs = Arc::new(ReferenceSet::shipped(&robot, 0.5).unwrap());
    let spec = EpisodeSpec {
        scenario: Scenario::Supine,
        terrain: (TerrainKind::StairsUp, 1.0),
        seed: 5,
    };
    let mut env = TaskEnv::new(&robot, &cfg, Arc::clone(&p), Arc::clone(&refs), spec).unwrap();
    let d = env.dims();
    let mut seen = vec![f32::NAN; d.critic()];
    env.observe(&mut seen);
    env.set_flat_scan(true);
    let mut flat = vec![f32::NAN; d.critic()];
    env.observe(&mut flat);
    let scan = d.reference..d.goal();
    let s = env.env().state();
    let beneath = s.base_pos[2] - env.env().terrain().height(s.base_pos[0], s.base_pos[1]);
    assert!(
        flat[scan.clone()].iter().all(|&h| h == beneath),
        "{:?}",
        &flat[scan.clone()]
    );
    let spread = |v: &[f32]| {
        v.iter().copied().fold(f32::MIN, f32::max) - v.iter().copied().fold(f32::MAX, f32::min)
    };
    assert!(
        spread(&seen[scan.clone()]) > 0.1,
        "the steps show in the real scan"
    );
    assert_eq!(seen[..scan.start], flat[..scan.start]);
    assert_eq!(seen[scan.end..], flat[scan.end..]);
}

#[test]
fn the_lowest_link_reads_a_limb_in_a_pit() {
    let robot = Robot::embedded("g1_29dof").unwrap();
    let sim = vigor_sim::SimConfig::embedded().unwrap();
    let mut raw = vigor_common::config::parse::<TeacherConfig>(
        vigor_training::teacher::config::UNIFIED_TOML,
        "teacher-unified.toml",
    )
    .unwrap();
    raw.task.lying_offset_m = [1.0, 1.6];
    raw.rewards.pit = -1.0;
    let p =
        Arc::new(vigor_common::config::Validate::validate(&raw, "teacher-unified.toml").unwrap());
    let refs = Arc::new(ReferenceSet::for_task(&robot, &p.raw.task).unwrap());
    let mut cfg = env_config(&p, &sim);
    cfg.lying_offset_m = p.raw.task.lying_offset_m;
    // Supine on the terrain, zero residuals for 2 s: the body lies where it settled.
    let lowest = |terrain: (TerrainKind, f32), seed: u64| {
        let spec = EpisodeSpec {
            scenario: Scenario::Supine,
            terrain,
            seed,
        };
        let mut env = TaskEnv::new(&robot, &cfg, Arc::clone(&p), Arc::clone(&refs), spec).unwrap();
        let pit = vigor_training::teacher::task::REWARD_TERMS
            .iter()
            .position(|t| *t == "pit")
            .unwrap();
        let mut pit_sum = 0.0;
        for _ in 0..100 {
            pit_sum += env.step(&[0.0; 29]).terms[pit];
        }
        let out = env.outcome();
        assert!(out.lowest_link_m <= out.lowest_link_start_m);
        // The `pit` term charges a link down in a pit of stones or gaps, and nothing elsewhere.
        let deep = out.lowest_link_m < -vigor_training::teacher::task::PIT_LINK_M
            && matches!(terrain.0, TerrainKind::Gaps | TerrainKind::SteppingStones);
        assert_eq!(
            pit_sum < 0.0,
            deep,
            "pit term {pit_sum}, lowest {}",
            out.lowest_link_m
        );
        (out.lowest_link_start_m, out.lowest_link_m)
    };
    for seed in 0..3 {
        let (start, flat) = lowest((TerrainKind::Flat, 0.0), seed);
        assert!((-0.01..0.2).contains(&flat), "flat, seed {seed}: {flat}");
        assert!((-0.01..0.2).contains(&start), "flat, seed {seed}: {start}");
    }
    // Stairs up and the bowl of slopes up spawn below 0 and have no pits: no pit term there
    // (the per-step check inside `lowest`), though links lie far below 0.
    for kind in [TerrainKind::StairsUp, TerrainKind::SlopeUp] {
        let (start, _) = lowest((kind, 1.0), 0);
        assert!(start < -0.3, "{kind:?} spawns below 0: {start}");
    }
    // 0.6 m trenches 1 m deep from 0.75 m out, a body lying 1-1.6 m out: limbs go in (measured:
    // to the trench floor in all of seeds 0-7).
    let pits: Vec<(f32, f32)> = (0..3)
        .map(|seed| lowest((TerrainKind::Gaps, 1.0), seed))
        .collect();
    assert!(pits.iter().all(|&(_, z)| z < -0.5), "{pits:?}");
    assert!(
        pits.iter().any(|&(start, z)| z < start - 0.1),
        "some go in after engagement: {pits:?}"
    );
}
