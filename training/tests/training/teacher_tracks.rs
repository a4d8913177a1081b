//! Which demonstration a teacher episode tracks: the gravity rule, the hand-over from a fall to
//! the recovery the body lies in, and where posed fall starts begin and whether they hand over.

use std::sync::Arc;

use vigor_common::config::{self, Validate};
use vigor_sim::env::EpisodeSpec;
use vigor_sim::robot::Robot;
use vigor_sim::scenario::Scenario;
use vigor_sim::terrain::TerrainKind;
use vigor_training::demos::Posture;
use vigor_training::teacher::config::{DEFAULT_TOML, ReferenceRule, UNIFIED_TOML};
use vigor_training::teacher::curriculum::{Curriculum, reference_start};
use vigor_training::teacher::reference::ReferenceSet;
use vigor_training::teacher::runner::env_config;
use vigor_training::teacher::{TaskEnv, TeacherConfig, TeacherParams};

#[test]
fn the_gravity_rule_tracks_the_posture_the_robot_is_in() {
    let robot = Robot::embedded("g1_29dof").unwrap();
    let sim = vigor_sim::SimConfig::embedded().unwrap();
    let p = Arc::new(
        config::parse::<TeacherConfig>(UNIFIED_TOML, "teacher-unified.toml")
            .unwrap()
            .validate("teacher-unified.toml")
            .unwrap(),
    );
    assert_eq!(p.raw.task.reference_rule, ReferenceRule::Gravity);
    let cfg = env_config(&p, &sim);
    let refs = Arc::new(ReferenceSet::shipped(&robot, 0.5).unwrap());
    // The body-frame gravity at engagement says how the robot lies or tips: along +x it faces
    // down (prone), along -x up (supine), along y it is on a side. Falls engage at 20° of tilt.
    let lying_in = |g: [f32; 3]| {
        if g[1].abs() > g[0].abs() {
            Posture::Side
        } else if g[0] > 0.0 {
            Posture::Prone
        } else {
            Posture::Supine
        }
    };
    let mut seen = std::collections::BTreeMap::new();
    for scenario in [
        Scenario::Supine,
        Scenario::Prone,
        Scenario::Side,
        Scenario::Push,
    ] {
        for seed in 0..12 {
            let spec = EpisodeSpec {
                scenario,
                terrain: (TerrainKind::Flat, 0.0),
                seed,
            };
            let env = TaskEnv::new(&robot, &cfg, Arc::clone(&p), Arc::clone(&refs), spec).unwrap();
            let g = vigor_policy::projected_gravity(env.env().state().base_quat);
            let picked = refs.references[env.reference_index()].posture;
            assert_eq!(picked, lying_in(g), "{scenario} seed {seed}: gravity {g:?}");
            if matches!(scenario, Scenario::Supine | Scenario::Prone) {
                assert_eq!(
                    picked,
                    ReferenceSet::posture_for(scenario),
                    "{scenario} seed {seed}"
                );
            }
            seen.entry(scenario.name())
                .or_insert_with(std::collections::BTreeSet::new)
                .insert(format!("{picked:?}"));
        }
    }
    // Side starts often roll onto the back or front while they settle (the scenario rule had
    // them track the side recovery anyway), and random pushes tip the robot more than one way.
    assert!(seen["push"].len() >= 2, "{seen:?}");
    assert!(seen["side"].len() >= 2, "{seen:?}");
}

#[test]
fn a_fall_demonstration_hands_over_to_the_recovery_the_body_lies_in() {
    let robot = Robot::embedded("g1_29dof").unwrap();
    let sim = vigor_sim::SimConfig::embedded().unwrap();
    let mut raw = config::parse::<TeacherConfig>(UNIFIED_TOML, "teacher-unified.toml").unwrap();
    assert!(
        raw.task.reanchor.is_some(),
        "the unified teacher hands over"
    );
    let mut none = raw.clone();
    none.task.reanchor = None;
    let off = Arc::new(none.validate("teacher-unified.toml").unwrap());
    // A loose rule so a push hands over while it falls: past 30° of tilt, 0.2 s in.
    raw.task.reanchor = Some(loose_rule(false));
    let on = Arc::new(raw.validate("teacher-unified.toml").unwrap());
    let refs = Arc::new(ReferenceSet::for_task(&robot, &on.raw.task).unwrap());
    let cfg = env_config(&on, &sim);
    let is_fall = |k: usize| {
        vigor_policy::student::tilt_rad(refs.signatures()[k])
            < vigor_policy::student::Reanchor::FALL_TRACK_TILT_RAD
    };
    let episode = |p: &Arc<TeacherParams>, scenario: Scenario| {
        let spec = EpisodeSpec {
            scenario,
            terrain: (TerrainKind::Flat, 0.0),
            seed: 3,
        };
        let mut env = TaskEnv::new(&robot, &cfg, Arc::clone(p), Arc::clone(&refs), spec).unwrap();
        let first = env.reference_index();
        for _ in 0..75 {
            env.step(&[0.0; 29]);
        }
        (first, env)
    };
    let (first, env) = episode(&on, Scenario::Push);
    assert!(is_fall(first), "a push engages on a fall demonstration");
    let at = env.outcome().handed_over_s.expect("handed over");
    assert!((0.2..1.5).contains(&at), "{at}");
    assert!(
        !is_fall(env.reference_index()),
        "then tracks a lying recovery"
    );
    assert!((env.reference_time_s() - (env.since_engaged_s() - at)).abs() < 1e-6);
    // Without the rule the fall demonstration plays on, and lying starts never hand over.
    let (first_off, env) = episode(&off, Scenario::Push);
    assert_eq!(
        (env.reference_index(), env.outcome().handed_over_s),
        (first_off, None)
    );
    let (first, env) = episode(&on, Scenario::Supine);
    assert_eq!(
        (env.reference_index(), env.outcome().handed_over_s),
        (first, None)
    );
    assert_eq!(env.reference_time_s(), env.since_engaged_s());
}

#[test]
fn a_posed_fall_start_tracks_its_demonstration_through_when_told_to() {
    let robot = Robot::embedded("g1_29dof").unwrap();
    let sim = vigor_sim::SimConfig::embedded().unwrap();
    let mut raw = config::parse::<TeacherConfig>(UNIFIED_TOML, "teacher-unified.toml").unwrap();
    assert!(raw.task.fall_reference_hand_over, "absent reads as true");
    // The loose rule of the test above: past 30° of tilt, 0.2 s in.
    raw.task.reanchor = Some(loose_rule(false));
    let refs = Arc::new(ReferenceSet::for_task(&robot, &raw.task).unwrap());
    let falls: Vec<usize> = (0..refs.references.len())
        .filter(|&k| {
            vigor_policy::student::tilt_rad(refs.signatures()[k])
                < vigor_policy::student::Reanchor::FALL_TRACK_TILT_RAD
        })
        .collect();
    assert_eq!(falls.len(), 4, "the four fall demonstrations");
    let run = |hand_over: bool, posed: bool| {
        let mut raw = raw.clone();
        raw.task.fall_reference_hand_over = hand_over;
        let p = Arc::new(raw.validate("teacher-unified.toml").unwrap());
        let cfg = env_config(&p, &sim);
        let spec = EpisodeSpec {
            scenario: Scenario::Push,
            terrain: (TerrainKind::Flat, 0.0),
            seed: 3,
        };
        let mut env = TaskEnv::new(&robot, &cfg, Arc::clone(&p), Arc::clone(&refs), spec).unwrap();
        if posed {
            env.reset_posed_on(spec, falls[0], 0.0).unwrap();
        }
        let first = env.reference_index();
        for _ in 0..100 {
            env.step(&[0.0; 29]);
        }
        (first, env.reference_index(), env.outcome().handed_over_s)
    };
    // Posed on the fall demonstration, the body tips past the rule's tilt either way.
    let (first, now, at) = run(true, true);
    assert_eq!(first, falls[0]);
    assert!(at.is_some() && now != first, "hands over as before");
    let (first, now, at) = run(false, true);
    assert_eq!(
        (now, at),
        (first, None),
        "tracks its fall demonstration through"
    );
    // A real push hands over whatever the key says.
    let (first, now, at) = run(false, false);
    assert!(falls.contains(&first));
    assert!(
        at.is_some() && now != first,
        "a pushed body still hands over"
    );
}

#[test]
fn with_again_a_recovery_whose_clip_ended_lying_starts_over() {
    let robot = Robot::embedded("g1_29dof").unwrap();
    let sim = vigor_sim::SimConfig::embedded().unwrap();
    let mut raw = config::parse::<TeacherConfig>(UNIFIED_TOML, "teacher-unified.toml").unwrap();
    // A 1 s clip, so it ends early; zero residuals cannot get the robot up in that time.
    raw.task.reference_duration_s = 1.0;
    let rule = |again| Some(loose_rule(again));
    let run = |again: bool| {
        let mut raw = raw.clone();
        raw.task.reanchor = rule(again);
        let mut env = flat_episode(&robot, &sim, raw, Scenario::Supine);
        for _ in 0..80 {
            env.step(&[0.0; 29]);
        }
        env
    };
    let on = run(true);
    let out = on.outcome();
    assert!(out.restarts >= 1, "{out:?}");
    assert_eq!(out.handed_over_s, None, "a lying start hands nothing over");
    assert!(
        on.reference_time_s() < on.since_engaged_s() - 1.0 + 1e-3,
        "the clock restarted: {} of {}",
        on.reference_time_s(),
        on.since_engaged_s()
    );
    let off = run(false);
    assert_eq!(off.outcome().restarts, 0);
    assert_eq!(off.reference_time_s(), off.since_engaged_s());
}

#[test]
fn with_a_sitting_tilt_a_body_leaning_back_still_after_its_clip_starts_over() {
    let robot = Robot::embedded("g1_29dof").unwrap();
    let sim = vigor_sim::SimConfig::embedded().unwrap();
    let raw = config::parse::<TeacherConfig>(UNIFIED_TOML, "teacher-unified.toml").unwrap();
    // Short clips (0.5-1 s), so they end early, and a lying test at 86°: zero residuals tracking
    // the supine clip from the seat leave the body rocking on its back, lying only part of the
    // time (at 0.5 and 0.6 s a restart finds it sitting up, 22° and 16° from upright).
    let run = |clip_s: f32, sitting: Option<f32>| {
        let mut raw = raw.clone();
        raw.task.reference_duration_s = clip_s;
        raw.task.reanchor = Some(vigor_policy::student::Reanchor {
            after_s: 0.2,
            lying_tilt_rad: 1.5,
            settled_rad_s: 20.0,
            again: true,
            sitting_tilt_rad: sitting,
        });
        let mut env = flat_episode(&robot, &sim, raw, Scenario::Sitting);
        // The tilt at each restart (the reference clock going back).
        let mut tilts = Vec::new();
        let mut clock = 0.0;
        for _ in 0..300 {
            env.step(&[0.0; 29]);
            let g = vigor_policy::projected_gravity(env.env().state().base_quat);
            if env.reference_time_s() < clock {
                tilts.push(vigor_policy::student::tilt_rad(g));
            }
            clock = env.reference_time_s();
        }
        assert_eq!(tilts.len(), env.outcome().restarts as usize);
        tilts
    };
    let mut seen = Vec::new();
    for tenths in 5..=10 {
        let clip_s = tenths as f32 / 10.0;
        // Lying only: every restart found the body past 86°.
        let lying = run(clip_s, None);
        assert!(lying.iter().all(|&t| t > 1.5), "{clip_s} s: {lying:?}");
        // With a sitting tilt, a body leaning back under that, still for 0.5 s, starts over too.
        let sitting = run(clip_s, Some(0.2));
        seen.push((clip_s, lying, sitting));
    }
    assert!(
        seen.iter().any(|(_, _, s)| s.iter().any(|&t| t <= 1.5)),
        "{seen:?}"
    );
}

/// An episode of `scenario` on flat ground (seed 5) under the configuration `raw`.
fn flat_episode(
    robot: &Robot,
    sim: &vigor_sim::SimParams,
    raw: TeacherConfig,
    scenario: Scenario,
) -> TaskEnv {
    let p = Arc::new(raw.validate("teacher-unified.toml").unwrap());
    let refs = Arc::new(ReferenceSet::for_task(robot, &p.raw.task).unwrap());
    let cfg = env_config(&p, sim);
    let spec = EpisodeSpec {
        scenario,
        terrain: (TerrainKind::Flat, 0.0),
        seed: 5,
    };
    TaskEnv::new(robot, &cfg, p, refs, spec).unwrap()
}

#[test]
fn posed_fall_starts_keep_below_their_phase_ceiling() {
    let mut p = TeacherConfig::embedded().unwrap();
    p.raw.task.reference_start_share = 0.5;
    p.raw.task.fall_reference_start_share = 0.5;
    let c = Curriculum::new(64, 0.8);
    let specs: Vec<EpisodeSpec> = (0..20)
        .flat_map(|it| (0..64).map(move |i| (it, i)))
        .map(|(it, i)| c.spec(&p, it, i))
        .collect();
    let fall = |s: &EpisodeSpec| EpisodeSpec {
        scenario: Scenario::Push,
        ..*s
    };
    let whole: Vec<Option<f64>> = specs
        .iter()
        .map(|s| reference_start(&p, &fall(s)))
        .collect();
    p.raw.task.fall_reference_phase_max = 0.25;
    let landing: Vec<Option<f64>> = specs
        .iter()
        .map(|s| reference_start(&p, &fall(s)))
        .collect();
    // The same starts are posed, each at a quarter of its phase over the whole clip.
    assert_eq!(
        whole.iter().flatten().count(),
        landing.iter().flatten().count()
    );
    assert!(whole.iter().flatten().any(|f| *f > 0.5));
    for (w, l) in whole.iter().zip(&landing) {
        assert_eq!(w.map(|f| f * 0.25), *l);
    }
    // The lying starts keep their phases over the whole clip.
    assert!(
        specs
            .iter()
            .filter_map(|s| reference_start(&p, s))
            .any(|f| f > 0.5)
    );
    let params =
        |text: &str| config::parse::<TeacherConfig>(text, "teacher.toml")?.validate("teacher.toml");
    let err = params(&DEFAULT_TOML.replace(
        "reference_start_share = 0.0",
        "reference_start_share = 0.0\nfall_reference_phase_max = 0.0",
    ))
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("`task.fall_reference_phase_max` = 0") && err.contains("0.05 ..= 1"),
        "{err}"
    );
}

/// A loose hand-over rule, so a push hands over while it falls: past 30° of tilt, 0.2 s in.
fn loose_rule(again: bool) -> vigor_policy::student::Reanchor {
    vigor_policy::student::Reanchor {
        after_s: 0.2,
        lying_tilt_rad: 0.52,
        settled_rad_s: 20.0,
        again,
        sitting_tilt_rad: None,
    }
}
