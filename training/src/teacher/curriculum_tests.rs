//! The curriculum's tests: the assist schedule, terrain promotion and demotion, adaptive start
//! sampling, reference-state starts and adaptive phases (full-range draws: `curriculum_range_tests`).

use vigor_sim::env::EpisodeSpec;
use vigor_sim::scenario::Scenario;
use vigor_sim::terrain::TerrainKind;

use super::config::{DEFAULT_TOML, TeacherConfig, TeacherParams};
use super::curriculum::{Curriculum, phase_bin, reference_start};
use super::tests::params;
#[test]
fn curriculum_lowers_the_assist_then_promotes_and_demotes() {
    let p = TeacherConfig::embedded().unwrap();
    let n = 4;
    let mut c = Curriculum::new(n, 0.8);
    let specs: Vec<EpisodeSpec> = (0..n).map(|i| c.spec(&p, 0, i)).collect();
    let spec = c.spec(&p, 3, 1);
    assert_eq!(spec, c.spec(&p, 3, 1), "seeded");
    assert_ne!(spec.seed, c.spec(&p, 4, 1).seed);
    assert_eq!(spec.terrain, (TerrainKind::Flat, 0.0));
    c.update(
        &p,
        &specs,
        &[Some(true), Some(true), Some(false), Some(false)],
    );
    assert!(
        (c.assist - 0.72).abs() < 1e-6,
        "half succeeded: assist lowered"
    );
    c.update(
        &p,
        &specs,
        &[Some(true), Some(false), Some(false), Some(false)],
    );
    assert!((c.assist - 0.72).abs() < 1e-6, "kept");
    c.assist = 0.021;
    c.update(&p, &specs, &[Some(true); 4]);
    assert_eq!(c.assist, 0.0, "switched off below 2 %");
    assert_eq!(c.stage, 1);
    c.update(
        &p,
        &specs,
        &[Some(true), Some(true), Some(false), Some(false)],
    );
    assert_eq!(c.stage, 2, "flat success 50 % without help: stage 2");
    c.update(
        &p,
        &specs,
        &[Some(true), Some(false), Some(true), Some(true)],
    );
    assert_eq!(c.levels, vec![1, 0, 1, 1]);
    c.update(
        &p,
        &specs,
        &[Some(false), Some(true), Some(true), Some(true)],
    );
    assert_eq!(c.levels, vec![0, 1, 2, 2]);
    // Episodes begun part-way along a demonstration count neither way: here the one full
    // start failed, so the rate is 0 % and only its slot moves.
    c.update(&p, &specs, &[Some(false), None, None, None]);
    assert_eq!(c.levels, vec![0, 1, 2, 2]);
    c.update(&p, &specs, &[None, Some(false), None, Some(true)]);
    assert_eq!(c.levels, vec![0, 0, 2, 3]);
    let s = c.spec(&p, 9, 2);
    assert_eq!(s.terrain, (p.terrains()[2], 2.0 / 14.0));
}

#[test]
fn a_two_way_assist_goes_back_up_after_a_failing_iteration() {
    let mut p = TeacherConfig::embedded().unwrap();
    let mut c = Curriculum::new(4, 0.8);
    let specs: Vec<EpisodeSpec> = (0..4).map(|i| c.spec(&p, 0, i)).collect();
    let fail = [Some(false); 4];
    c.update(&p, &specs, &fail);
    assert!((c.assist - 0.8).abs() < 1e-6, "off by default: kept");
    p.raw.curriculum.assist_raise_below = 0.1;
    c.update(&p, &specs, &[Some(true), Some(true), None, Some(false)]);
    assert!(
        (c.assist - 0.72).abs() < 1e-6,
        "two of three full starts: lowered"
    );
    c.update(
        &p,
        &specs,
        &[Some(true), Some(false), Some(false), Some(false)],
    );
    assert!((c.assist - 0.72).abs() < 1e-6, "25 %: kept");
    c.update(&p, &specs, &fail);
    assert!((c.assist - 0.8).abs() < 1e-6, "none: raised back");
    c.update(&p, &specs, &fail);
    assert!((c.assist - 0.8).abs() < 1e-6, "never above the start");
    // It must lie below the rate that lowers it.
    let err = params(&DEFAULT_TOML.replace("assist_raise_below = 0.0", "assist_raise_below = 0.5"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("curriculum.assist_raise_below"), "{err}");
}

#[test]
fn adaptive_start_sampling_draws_failing_scenarios_more_with_a_uniform_floor() {
    let mut p = TeacherConfig::embedded().unwrap();
    let n = 64;
    let uniform = Curriculum::new(n, 0.8);
    let before: Vec<EpisodeSpec> = (0..n).map(|i| uniform.spec(&p, 5, i)).collect();
    p.raw.curriculum.adaptive_starts = true;
    let mut c = Curriculum::new(n, 0.8);
    // Before any episode every cell has the same prior: the draws are uniform (not the same
    // episodes as the modulo draw, but the same seeds and terrain).
    let w = c.scenario_weights(&p, 0);
    assert!(w.iter().all(|x| (x - 1.0 / 3.0).abs() < 1e-12), "{w:?}");
    let first: Vec<EpisodeSpec> = (0..n).map(|i| c.spec(&p, 5, i)).collect();
    assert!(
        first
            .iter()
            .zip(&before)
            .all(|(a, b)| a.seed == b.seed && a.terrain == b.terrain)
    );
    // Prone always fails, the others always succeed.
    for it in 0..200 {
        let specs: Vec<EpisodeSpec> = (0..n).map(|i| c.spec(&p, it, i)).collect();
        let ok: Vec<Option<bool>> = specs
            .iter()
            .map(|s| Some(s.scenario != Scenario::Prone))
            .collect();
        c.update(&p, &specs, &ok);
        c.assist = 0.8; // stay in stage 1 with help, on flat ground
    }
    let w = c.scenario_weights(&p, 0);
    let prone = p
        .scenarios()
        .iter()
        .position(|s| *s == Scenario::Prone)
        .unwrap();
    let floor = 0.3 / 3.0;
    assert!((w[prone] - (floor + 0.7)).abs() < 1e-3, "{w:?}");
    for (s, x) in w.iter().enumerate().filter(|(s, _)| *s != prone) {
        assert!((x - floor).abs() < 1e-3, "scenario {s}: {x}");
    }
    assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-9);
    let mut count = [0usize; 3];
    for it in 1000..1100 {
        for i in 0..n {
            let s = c.spec(&p, it, i).scenario;
            count[p.scenarios().iter().position(|x| *x == s).unwrap()] += 1;
        }
    }
    let share = count[prone] as f64 / (100 * n) as f64;
    assert!((share - 0.8).abs() < 0.02, "prone drawn {share}");
    // The state round-trips through a checkpoint, and an older checkpoint without it reads.
    let json = serde_json::to_string(&c).unwrap();
    assert_eq!(serde_json::from_str::<Curriculum>(&json).unwrap(), c);
    let old: Curriculum =
        serde_json::from_str(r#"{"stage":1,"levels":[0,0],"assist":0.5}"#).unwrap();
    assert!(old.start_failure.is_empty());
    // Practice episodes (reference-state starts) do not move the rates.
    let snapshot = c.start_failure.clone();
    let specs: Vec<EpisodeSpec> = (0..n).map(|i| c.spec(&p, 7, i)).collect();
    c.update(&p, &specs, &vec![None; n]);
    assert_eq!(c.start_failure, snapshot);
}

#[test]
fn reference_starts_take_their_share_of_lying_starts_and_never_falls() {
    let mut p = TeacherConfig::embedded().unwrap();
    let c = Curriculum::new(64, 0.8);
    let specs: Vec<EpisodeSpec> = (0..50)
        .flat_map(|it| (0..64).map(move |i| (it, i)))
        .map(|(it, i)| c.spec(&p, it, i))
        .collect();
    assert!(
        specs.iter().all(|s| reference_start(&p, s).is_none()),
        "off by default"
    );
    p.raw.task.reference_start_share = 0.3;
    let phases: Vec<f64> = specs
        .iter()
        .filter_map(|s| reference_start(&p, s))
        .collect();
    let share = phases.len() as f64 / specs.len() as f64;
    assert!((share - 0.3).abs() < 0.02, "share {share}");
    assert!(phases.iter().all(|f| (0.0..1.0).contains(f)));
    let early = phases.iter().filter(|f| **f < 0.5).count() as f64 / phases.len() as f64;
    assert!(
        (early - 0.5).abs() < 0.04,
        "phases uniform: {early} below one half"
    );
    assert_eq!(
        specs
            .iter()
            .map(|s| reference_start(&p, s))
            .collect::<Vec<_>>(),
        specs
            .iter()
            .map(|s| reference_start(&p, s))
            .collect::<Vec<_>>(),
        "a function of the episode alone"
    );
    let push = EpisodeSpec {
        scenario: Scenario::Push,
        ..specs[0]
    };
    p.raw.task.reference_start_share = 1.0;
    assert!(
        reference_start(&p, &push).is_none(),
        "fall starts begin at the fall"
    );
    assert!(reference_start(&p, &specs[0]).is_some());
}

#[test]
fn fall_reference_starts_take_their_own_share_of_the_fall_starts() {
    let mut p = TeacherConfig::embedded().unwrap();
    p.raw.task.fall_reference_start_share = 0.5;
    let c = Curriculum::new(64, 0.8);
    let specs: Vec<EpisodeSpec> = (0..50)
        .flat_map(|it| (0..64).map(move |i| (it, i)))
        .map(|(it, i)| c.spec(&p, it, i))
        .map(|s| EpisodeSpec {
            // Every third episode a push, as if the scenario list held falls.
            scenario: if s.seed % 3 == 0 {
                Scenario::Push
            } else {
                s.scenario
            },
            ..s
        })
        .collect();
    let (falls, lying): (Vec<&EpisodeSpec>, Vec<&EpisodeSpec>) =
        specs.iter().partition(|s| s.scenario.is_fall());
    assert!(falls.len() > 500 && lying.len() > 500);
    assert!(
        lying.iter().all(|s| reference_start(&p, s).is_none()),
        "the lying starts keep theirs (0)"
    );
    let phases: Vec<f64> = falls
        .iter()
        .filter_map(|s| reference_start(&p, s))
        .collect();
    let share = phases.len() as f64 / falls.len() as f64;
    assert!((share - 0.5).abs() < 0.04, "share {share}");
    let early = phases.iter().filter(|f| **f < 0.25).count() as f64 / phases.len() as f64;
    assert!(
        (early - 0.25).abs() < 0.05,
        "phases uniform: {early} in the first quarter"
    );
    let err = params(&DEFAULT_TOML.replace(
        "reference_start_share = 0.0",
        "reference_start_share = 0.0\nfall_reference_start_share = 1.5",
    ))
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("`task.fall_reference_start_share` = 1.5") && err.contains("0 ..= 1"),
        "{err}"
    );
}

#[test]
fn adaptive_phases_draw_the_failing_part_of_the_clip_more_and_keep_the_share() {
    let mut p = TeacherConfig::embedded().unwrap();
    p.raw.task.reference_start_share = 0.3;
    let n = 64;
    let all = |c: &Curriculum, p: &TeacherParams, its: std::ops::Range<u64>| -> Vec<EpisodeSpec> {
        its.flat_map(|it| (0..n).map(move |i| (it, i)))
            .map(|(it, i)| c.spec(p, it, i))
            .collect()
    };
    let off = all(&Curriculum::new(n, 0.8), &p, 0..50);
    p.raw.curriculum.adaptive_phase_bins = 4;
    let mut c = Curriculum::new(n, 0.8);
    // The same episodes start part-way; full starts keep their seeds, part-way ones change
    // only their seed.
    for (a, b) in all(&c, &p, 0..50).iter().zip(&off) {
        assert_eq!(
            reference_start(&p, a).is_some(),
            reference_start(&p, b).is_some()
        );
        if reference_start(&p, b).is_none() {
            assert_eq!(a, b);
        } else {
            assert_eq!((a.scenario, a.terrain), (b.scenario, b.terrain));
        }
    }
    // Starts in the last quarter of the clip always fail, the others always succeed.
    for it in 0..200 {
        let specs = all(&c, &p, it..it + 1);
        let ok: Vec<bool> = specs
            .iter()
            .map(|s| reference_start(&p, s).is_none_or(|f| phase_bin(f, 4) != 3))
            .collect();
        c.update_phases(&p, &specs, &ok);
    }
    let w = c.phase_weights(&p, 0);
    let floor = 0.3 / 4.0;
    assert!((w[3] - (floor + 0.7)).abs() < 1e-3, "{w:?}");
    assert!(w[..3].iter().all(|x| (x - floor).abs() < 1e-3), "{w:?}");
    let later = all(&c, &p, 1000..1100);
    let phases: Vec<f64> = later
        .iter()
        .filter_map(|s| reference_start(&p, s))
        .collect();
    let share = phases.len() as f64 / later.len() as f64;
    assert!((share - 0.3).abs() < 0.02, "share {share}");
    let last = phases.iter().filter(|f| phase_bin(**f, 4) == 3).count() as f64;
    let last = last / phases.len() as f64;
    assert!(
        (last - (floor + 0.7)).abs() < 0.03,
        "last quarter drawn {last}"
    );
    assert!(phases.iter().all(|f| (0.0..1.0).contains(f)));
    // Full starts do not move the rates; the state round-trips through a checkpoint, and one
    // written before it existed reads.
    let snapshot = c.phase_failure.clone();
    let full: Vec<EpisodeSpec> = later
        .iter()
        .filter(|s| reference_start(&p, s).is_none())
        .take(n)
        .copied()
        .collect();
    c.update_phases(&p, &full, &vec![false; full.len()]);
    assert_eq!(c.phase_failure, snapshot);
    let json = serde_json::to_string(&c).unwrap();
    assert_eq!(serde_json::from_str::<Curriculum>(&json).unwrap(), c);
    let old: Curriculum =
        serde_json::from_str(r#"{"stage":1,"levels":[0,0],"assist":0.5}"#).unwrap();
    assert!(old.phase_failure.is_empty());
    // The key is checked: a bin count in range, and reference-state starts to apply it to.
    let with = |share: &str, bins: &str| {
        params(
            &DEFAULT_TOML
                .replace(
                    "reference_start_share = 0.0",
                    &format!("reference_start_share = {share}"),
                )
                .replace(
                    "adaptive_phase_bins = 0",
                    &format!("adaptive_phase_bins = {bins}"),
                ),
        )
    };
    assert!(with("0.3", "8").is_ok());
    for (share, bins) in [("0.0", "8"), ("0.3", "1"), ("0.3", "51")] {
        let err = with(share, bins).unwrap_err().to_string();
        assert!(err.contains("curriculum.adaptive_phase_bins"), "{err}");
    }
}

#[test]
fn eased_own_terrain_climbs_with_the_slot_to_the_evaluated_difficulty() {
    let mut p = params(super::config::UNIFIED_TOML).unwrap();
    let n = 24;
    let mut c = Curriculum::new(n, 0.0);
    c.stage = 2;
    let top = p.raw.curriculum.levels - 1;
    // Off: a scenario with its own terrain runs on it as evaluated, whatever its slot.
    let own = |c: &Curriculum, p: &TeacherParams| {
        (0..200u64)
            .flat_map(|it| (0..n).map(move |env| (it, env)))
            .map(|(it, env)| (env, c.spec(p, it, env)))
            .filter(|(_, s)| s.scenario.required_terrain().is_some())
            .collect::<Vec<_>>()
    };
    let drawn = own(&c, &p);
    assert!(drawn.len() > 100);
    for (_, s) in &drawn {
        assert_eq!(Some(s.terrain), s.scenario.required_terrain(), "{s:?}");
    }
    // On: its own kind at its own difficulty times the slot's level fraction.
    p.raw.curriculum.ease_own_terrain = true;
    c.levels = (0..n).map(|env| env % (top + 1)).collect();
    let eased = own(&c, &p);
    assert_eq!(eased.len(), drawn.len(), "the same scenarios are drawn");
    for (env, s) in &eased {
        let (kind, d) = s.scenario.required_terrain().unwrap();
        let fraction = c.levels[*env] as f32 / top as f32;
        assert_eq!(s.terrain, (kind, d * fraction), "{s:?}");
        assert_eq!(
            s.scenario.terrain_for(s.terrain),
            s.terrain,
            "the env builds it"
        );
    }
    assert!(eased.iter().any(|(_, s)| s.terrain.1 == 0.0));
    let at_top = eased
        .iter()
        .find(|(env, _)| c.levels[*env] == top)
        .unwrap()
        .1;
    assert_eq!(Some(at_top.terrain), at_top.scenario.required_terrain());
    // Every other scenario keeps its slot's terrain.
    let slot = c.spec(&p, 0, 5);
    if slot.scenario.required_terrain().is_none() {
        assert_eq!(slot.terrain, (p.terrains()[5], 5.0 / top as f32));
    }
    // The shipped unified config says it, off; a config without the key reads as off.
    assert!(
        !params(super::config::UNIFIED_TOML)
            .unwrap()
            .raw
            .curriculum
            .ease_own_terrain
    );
    assert!(
        !TeacherConfig::embedded()
            .unwrap()
            .raw
            .curriculum
            .ease_own_terrain
    );
}

#[test]
fn amended_terrains_carry_each_kinds_levels_to_its_new_slots() {
    use vigor_sim::terrain::TerrainKind::{Flat, Gaps, Rough, StairsDown};
    let old = [Flat, Rough, Gaps];
    let mut c = Curriculum::new(8, 0.0);
    c.stage = 2;
    // Slots 0, 3, 6 flat; 1, 4, 7 rough; 2, 5 gaps.
    c.levels = vec![14, 5, 1, 13, 6, 0, 12, 7];
    c.start_failure = vec![0.5; 12];
    c.phase_failure = vec![0.5; 8];
    let unchanged = c.clone();
    c.remap_terrains(&old, &old);
    assert_eq!(c, unchanged, "the same list changes nothing");

    // Gaps named twice, a new kind, flat and rough once each: slots 0..8 are
    // flat, gaps, rough, gaps, stairs, flat, gaps, rough.
    let new = [Flat, Gaps, Rough, Gaps, StairsDown];
    c.remap_terrains(&old, &new);
    assert_eq!(
        c.levels,
        vec![14, 1, 5, 0, 0, 13, 1, 6],
        "each slot takes its kind's old levels in slot order, round again; a new kind starts at 0"
    );
    assert!(c.start_failure.is_empty(), "failure rates start afresh");
    assert!(c.phase_failure.is_empty(), "phase failure rates too");

    // Stage 1 has no levels in use: nothing to carry.
    let mut flat = Curriculum::new(4, 0.0);
    flat.remap_terrains(&old, &new);
    assert_eq!(flat.levels, vec![0; 4]);
}

#[test]
fn levels_are_reported_per_terrain_kind_once_each() {
    let line = r#"terrains = ["flat", "rough", "waves", "slope_up", "slope_down", "stairs_up", "stairs_down", "stepping_stones", "boxes", "platform", "gaps", "inverted_slope"]"#;
    let text = super::config::UNIFIED_TOML.replace(line, r#"terrains = ["flat", "gaps", "gaps"]"#);
    assert_ne!(
        text,
        super::config::UNIFIED_TOML,
        "the shipped list is replaced"
    );
    let p = params(&text).unwrap();
    let mut c = Curriculum::new(6, 0.0);
    assert!(
        c.mean_level_per_kind(&p).is_empty(),
        "stage 1 has no levels"
    );
    c.stage = 2;
    // Slots 0 and 3 flat; 1, 2, 4 and 5 gaps.
    c.levels = vec![14, 1, 2, 12, 3, 0];
    assert_eq!(
        c.mean_level_per_kind(&p),
        vec![(TerrainKind::Flat, 13.0), (TerrainKind::Gaps, 1.5)]
    );
}

#[test]
fn starts_on_a_terrain_of_their_own_do_not_move_their_slots_level() {
    let mut p = params(super::config::UNIFIED_TOML).unwrap();
    let n = p.raw.envs;
    let mut c = Curriculum::new(n, 0.0);
    c.stage = 2;
    c.levels = vec![5; n];
    let specs: Vec<EpisodeSpec> = (0..n).map(|env| c.spec(&p, 7, env)).collect();
    let own: Vec<bool> = specs
        .iter()
        .map(|s| s.scenario.required_terrain().is_some())
        .collect();
    assert!(own.iter().any(|o| *o) && own.iter().any(|o| !*o), "{own:?}");
    // Every start succeeds: only the slots whose start ran on the slot's own terrain go up.
    c.update(&p, &specs, &vec![Some(true); n]);
    for (env, o) in own.iter().enumerate() {
        assert_eq!(
            c.levels[env],
            if *o { 5 } else { 6 },
            "slot {env}: {:?}",
            specs[env]
        );
    }
    // Eased, a start on its own terrain plays at its slot's level and moves it.
    p.raw.curriculum.ease_own_terrain = true;
    c.levels = vec![5; n];
    c.update(&p, &specs, &vec![Some(false); n]);
    assert_eq!(c.levels, vec![4; n]);
}
