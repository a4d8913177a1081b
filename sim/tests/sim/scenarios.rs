//! Scenario starts and episodes on the rapier robot: settled lying starts, pushes that topple,
//! determinism, randomisation.

use vigor_sim::env::{Env, EnvConfig, EpisodeSpec, Randomisation, tilt_rad};
use vigor_sim::rapier::JointCommand;
use vigor_sim::robot::Robot;
use vigor_sim::scenario::Scenario;
use vigor_sim::terrain::TerrainKind;

fn g1() -> Robot {
    Robot::embedded("g1_29dof").unwrap()
}

fn spec(scenario: Scenario, seed: u64) -> EpisodeSpec {
    EpisodeSpec {
        scenario,
        terrain: (TerrainKind::Flat, 0.0),
        seed,
    }
}

/// Stiff hold of the default pose (see the rapier tests for why these gains stand).
fn hold(robot: &Robot) -> Vec<JointCommand> {
    vigor_sim::bench::hold_commands(robot)
}

fn damping(robot: &Robot) -> Vec<JointCommand> {
    vec![
        JointCommand {
            kd: 3.0,
            ..JointCommand::default()
        };
        robot.joints.len()
    ]
}

fn distance(a: [f32; 3], b: [f32; 3]) -> f32 {
    (0..3).map(|i| (b[i] - a[i]).powi(2)).sum::<f32>().sqrt()
}

fn max_link_speed(env: &Env) -> f32 {
    let s = env.state();
    let v = s.base_linvel;
    (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt()
}

#[test]
fn lying_starts_settle_without_penetration_or_explosion_and_stay_still() {
    let robot = g1();
    let config = EnvConfig::default();
    for scenario in Scenario::ALL.into_iter().filter(|s| !s.is_fall()) {
        let mut env = Env::new(&robot, &config, spec(scenario, 3)).unwrap();
        let s0 = env.state();
        let ground = env.terrain().height(s0.base_pos[0], s0.base_pos[1]);
        let above = s0.base_pos[2] - ground;
        assert!(above > 0.0, "{scenario}: pelvis below the terrain");
        assert!(
            above < 0.6,
            "{scenario}: pelvis {above} m above the terrain is not lying"
        );
        assert!(tilt_rad(s0.base_quat) > 0.5, "{scenario}: not lying down");
        assert!(
            max_link_speed(&env) < 0.3,
            "{scenario}: still moving at {} m/s after settling",
            max_link_speed(&env)
        );
        // Lying under damping for 1 s more: the robot stays where it is.
        for _ in 0..50 {
            env.step(&damping(&robot));
        }
        let s1 = env.state();
        let moved = distance(s0.base_pos, s1.base_pos);
        assert!(moved < 0.03, "{scenario}: drifted {moved} m while lying");
        assert!(s1.q.iter().all(|q| q.is_finite()));
    }
}

#[test]
fn pushes_topple_the_standing_robot_and_trigger_at_20_degrees() {
    let robot = g1();
    let config = EnvConfig::default();
    for (scenario, seed) in [
        (Scenario::Push, 1),
        (Scenario::PushTowardStairs, 2),
        (Scenario::PushOffPlatform, 3),
    ] {
        let mut env = Env::new(&robot, &config, spec(scenario, seed)).unwrap();
        assert!(
            env.state().base_pos[2]
                > env
                    .terrain()
                    .height(env.state().base_pos[0], env.state().base_pos[1])
                    + 0.7
        );
        let push_at = env.start().push.unwrap().at_s;
        for _ in 0..150 {
            env.step(&hold(&robot));
        }
        let trigger = env
            .trigger_s()
            .unwrap_or_else(|| panic!("{scenario}: never tilted past 20°"));
        assert!(
            trigger > push_at,
            "{scenario}: triggered at {trigger} s before the push at {push_at} s"
        );
        assert!(
            tilt_rad(env.state().base_quat) > 0.8,
            "{scenario}: did not fall"
        );
    }
}

#[test]
fn same_spec_same_episode_different_seed_different_episode() {
    let robot = g1();
    let config = EnvConfig {
        randomisation: Randomisation {
            friction: [0.5, 1.2],
            motor_strength: [0.8, 1.1],
            gain_scale: [0.9, 1.1],
            latency_steps: [0, 3],
            link_mass_scale: [0.9, 1.1],
            ..Randomisation::none()
        },
        ..EnvConfig::default()
    };
    let run = |seed| {
        let mut env = Env::new(&robot, &config, spec(Scenario::Push, seed)).unwrap();
        for _ in 0..40 {
            env.step(&hold(&robot));
        }
        env.state()
    };
    assert_eq!(run(5), run(5));
    assert_ne!(run(5), run(6));
}

#[test]
fn a_failed_actuator_applies_no_torque() {
    let robot = g1();
    let config = EnvConfig {
        randomisation: Randomisation {
            actuator_failure_prob: 1.0,
            ..Randomisation::none()
        },
        ..EnvConfig::default()
    };
    let mut env = Env::new(&robot, &config, spec(Scenario::Push, 4)).unwrap();
    env.step(&hold(&robot));
    let dead = env.state().tau.iter().filter(|t| **t == 0.0).count();
    assert_eq!(
        dead,
        1,
        "exactly one motor should be dead: {:?}",
        env.state().tau
    );
}

#[test]
fn vectorised_results_do_not_depend_on_the_thread_count() {
    use vigor_sim::vec_env::VecEnv;
    let robot = g1();
    let config = EnvConfig::default();
    let specs: Vec<EpisodeSpec> = (0..4).map(|i| spec(Scenario::Push, 100 + i)).collect();
    let run = |threads| {
        let mut v = VecEnv::new(&robot, &config, &specs, threads).unwrap();
        let commands = vec![hold(&robot); v.len()];
        for _ in 0..30 {
            // Environment 2 restarts after 0.3 s: resets run inside the parallel step.
            v.step(&commands, |i, env| {
                (i == 2 && env.episode_s() > 0.3).then(|| spec(Scenario::Push, 7))
            })
            .unwrap();
        }
        v.states()
    };
    let one = run(1);
    assert_eq!(one, run(2));
    assert_eq!(one, run(3));
    assert_ne!(one[0], one[1]);
}

/// An environment reset on flat ground returns its MuJoCo engine to the as-built state instead
/// of compiling the model again: after an episode with randomised masses and friction, a failed
/// motor and a push, the next episode runs exactly as in a newly built environment.
#[test]
fn a_renewed_flat_engine_runs_as_a_new_one() {
    use vigor_sim::engine::EngineKind;
    let robot = g1();
    let config = EnvConfig {
        engine: EngineKind::Mujoco,
        randomisation: Randomisation {
            friction: [0.5, 1.2],
            motor_strength: [0.8, 1.1],
            gain_scale: [0.9, 1.1],
            latency_steps: [0, 3],
            link_mass_scale: [0.7, 1.3],
            actuator_failure_prob: 1.0,
            ..Randomisation::none()
        },
        ..EnvConfig::default()
    };
    let run = |env: &mut Env| {
        let mut out = Vec::new();
        for _ in 0..60 {
            env.step(&hold(&robot));
            out.push(env.state());
        }
        out
    };
    for (first, second) in [
        (spec(Scenario::Push, 3), spec(Scenario::Supine, 4)),
        (spec(Scenario::Side, 5), spec(Scenario::Push, 6)),
    ] {
        let mut reused = Env::new(&robot, &config, first).unwrap();
        run(&mut reused);
        reused.reset(second).unwrap();
        let mut fresh = Env::new(&robot, &config, second).unwrap();
        assert_eq!(reused.state(), fresh.state(), "{second:?}: the start");
        assert_eq!(run(&mut reused), run(&mut fresh), "{second:?}: the episode");
    }
}

/// With a start pool, a lying start on flat ground comes settled from the pool: no settle steps
/// are run at the reset, the robot lies still where the start is placed, each episode turns it by
/// its own yaw, and the same spec gives the same start.
#[test]
fn pooled_lying_starts_come_settled_without_settle_steps() {
    use vigor_sim::engine::EngineKind;
    let robot = g1();
    let pooled = EnvConfig {
        engine: EngineKind::Mujoco,
        start_pool: 4,
        ..EnvConfig::default()
    };
    let afresh = EnvConfig {
        start_pool: 0,
        ..pooled.clone()
    };
    let fresh = Env::new(&robot, &afresh, spec(Scenario::Supine, 3)).unwrap();
    assert!(
        fresh.sim().time_s() > 1.9,
        "a start settled afresh runs 2 s of physics"
    );
    let mut yaws = Vec::new();
    for seed in 0..6 {
        let mut env = Env::new(&robot, &pooled, spec(Scenario::Supine, seed)).unwrap();
        assert_eq!(
            env.sim().time_s(),
            0.0,
            "seed {seed}: settle steps were run"
        );
        let s0 = env.state();
        assert!(tilt_rad(s0.base_quat) > 1.0, "seed {seed}: not lying");
        assert!(
            s0.base_pos[2] < 0.3,
            "seed {seed}: pelvis at {}",
            s0.base_pos[2]
        );
        // Settled: half a second more under damping barely moves it.
        for _ in 0..25 {
            env.step(&damping(&robot));
        }
        let s1 = env.state();
        let moved = distance(s0.base_pos, s1.base_pos);
        assert!(moved < 0.03, "seed {seed}: moved {moved} m after the reset");
        yaws.push(s0.base_quat);
        let again = Env::new(&robot, &pooled, spec(Scenario::Supine, seed)).unwrap();
        assert_eq!(again.state(), s0, "seed {seed}: not deterministic");
    }
    // Six episodes from four entries, each turned its own way: six orientations.
    for (i, a) in yaws.iter().enumerate() {
        for b in &yaws[i + 1..] {
            let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
            assert!(
                dot.abs() < 0.9999,
                "two episodes lie the same way: {yaws:?}"
            );
        }
    }
}

#[test]
fn lying_starts_at_the_protocol_offset_settle_on_the_terrain_not_on_the_spawn_square() {
    use vigor_sim::engine::EngineKind;
    use vigor_sim::scenario::PROTOCOL_LYING_OFFSET_M;
    let robot = g1();
    let at = |range: [f32; 2]| EnvConfig {
        engine: EngineKind::Mujoco,
        lying_offset_m: range,
        ..EnvConfig::default()
    };
    // The top of a pyramid: the level spawn square at the centre, a slope down all around it.
    let slope = |seed| EpisodeSpec {
        scenario: Scenario::Supine,
        terrain: (TerrainKind::SlopeDown, 0.8),
        seed,
    };
    let settled = |config: &EnvConfig, seed| {
        let env = Env::new(&robot, config, slope(seed)).unwrap();
        let centre = env.terrain().tiles()[0].centre_xy;
        let [x, y, _] = env.state().base_pos;
        let ring = (x - centre[0]).abs().max((y - centre[1]).abs());
        let drop = env.terrain().height(centre[0], centre[1]) - env.terrain().height(x, y);
        (ring, drop)
    };
    for seed in 0..3 {
        let (ring, drop) = settled(&at([0.0, 0.0]), seed);
        assert!(
            ring < 0.3 && drop.abs() < 1e-3,
            "centre: ring {ring}, drop {drop}"
        );
        let (ring, drop) = settled(&at(PROTOCOL_LYING_OFFSET_M), seed);
        // The pelvis may slide during the 2 s settle; it stays off the square, downhill.
        assert!(
            ring > 0.85 && ring < 2.4 && drop > 0.04,
            "seed {seed}: ring {ring}, {drop} m below the summit"
        );
    }
}

#[test]
fn pooled_lying_starts_on_terrain_play_on_the_pools_tiles_settled_there() {
    use rapier3d::na::UnitQuaternion;
    use vigor_sim::engine::EngineKind;
    use vigor_sim::start_pool::{index, tile_seed};
    let robot = g1();
    let pooled = EnvConfig {
        engine: EngineKind::Mujoco,
        start_pool: 3,
        lying_offset_m: [1.0, 1.6],
        ..EnvConfig::default()
    };
    let afresh = EnvConfig {
        start_pool: 0,
        ..pooled.clone()
    };
    // Rough ground: each seed its own heights, so tiles tell apart.
    let rough = (TerrainKind::Rough, 0.5);
    let on = |scenario, seed| EpisodeSpec {
        scenario,
        terrain: rough,
        seed,
    };
    // The terrain along a diagonal through the tile, so two tiles of the kind tell apart.
    let ground = |env: &Env| -> Vec<f32> {
        (0..41)
            .map(|i| {
                let x = -2.0 + 0.1 * i as f32;
                env.terrain().height(x, 0.6 * x)
            })
            .collect()
    };
    let mut used = Vec::new();
    for seed in 0..8 {
        let env = Env::new(&robot, &pooled, on(Scenario::Supine, seed)).unwrap();
        assert_eq!(
            env.sim().time_s(),
            0.0,
            "seed {seed}: settle steps were run"
        );
        let entry = index(seed, 3);
        used.push(entry);
        // The entry is the start settled afresh, with nominal physics, on the entry's own tile
        // at the entry's own place: the episode's seed replaced by the tile seed.
        let fresh = Env::new(
            &robot,
            &afresh,
            on(Scenario::Supine, tile_seed(rough, entry)),
        )
        .unwrap();
        assert!(
            fresh.sim().time_s() > 1.9,
            "a fresh start runs its 2 s settle"
        );
        assert_eq!(
            ground(&env),
            ground(&fresh),
            "seed {seed}: not the entry's tile"
        );
        // The seed the environment reports regenerates its tile (`vigor sim-robot` takes it from
        // there for its later resets), and it is the entry's, not one from the episode's seed.
        assert_eq!(env.terrain().seed(), fresh.terrain().seed());
        let regenerated = vigor_sim::terrain::Terrain::single(
            rough.0,
            rough.1,
            env.terrain().seed(),
            pooled.tile_size_m,
            pooled.cell_m,
        )
        .unwrap();
        assert_eq!(
            env.terrain().field().heights(),
            regenerated.field().heights(),
            "seed {seed}: the reported terrain seed does not give the tile"
        );
        let (s, f) = (env.state(), fresh.state());
        assert!(
            distance(s.base_pos, f.base_pos) < 1e-5,
            "seed {seed}: {:?} against {:?}",
            s.base_pos,
            f.base_pos
        );
        assert!(
            s.q.iter().zip(&f.q).all(|(a, b)| (a - b).abs() < 1e-5),
            "seed {seed}: joints differ"
        );
        assert!(tilt_rad(s.base_quat) > 1.0, "seed {seed}: not lying");
        // Out where the protocol lays it, not at the tile centre.
        let c = env.terrain().tiles()[0].centre_xy;
        let out = (s.base_pos[0] - c[0])
            .abs()
            .max((s.base_pos[1] - c[1]).abs());
        assert!(out > 0.7, "seed {seed}: pelvis {out} m from the centre");
        // Without the pool the same episode has a tile and a place of its own.
        let own = Env::new(&robot, &afresh, on(Scenario::Supine, seed)).unwrap();
        assert_ne!(
            ground(&own),
            ground(&env),
            "seed {seed}: the pool changed no tile"
        );
        assert!(
            distance(own.state().base_pos, s.base_pos) > 0.01,
            "seed {seed}: nor the place"
        );
        assert_ne!(
            own.terrain().seed(),
            env.terrain().seed(),
            "seed {seed}: nor the seed"
        );
    }
    used.sort_unstable();
    used.dedup();
    assert!(used.len() >= 2, "eight episodes drew one entry: {used:?}");

    // Starts that do not settle keep their own tiles: a push, and a start part-way along a
    // demonstration (`reset_posed`).
    let push = on(Scenario::Push, 5);
    let mut a = Env::new(&robot, &pooled, push).unwrap();
    let mut b = Env::new(&robot, &afresh, push).unwrap();
    for _ in 0..25 {
        a.step(&damping(&robot));
        b.step(&damping(&robot));
    }
    assert_eq!(a.state(), b.state(), "the pool changed a push");
    let q = robot.default_pose();
    for env in [&mut a, &mut b] {
        env.reset_posed(on(Scenario::Prone, 6), UnitQuaternion::identity(), &q, 0.05)
            .unwrap();
    }
    assert_eq!(
        ground(&a),
        ground(&b),
        "the pool changed a posed start's tile"
    );
    assert_eq!(a.state(), b.state(), "the pool changed a posed start");
}
