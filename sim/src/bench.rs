//! The simulator benchmark behind `vigor bench sim`: physics steps per second of one environment
//! in a fall scenario (flat and rough ground), and of the vectorised environment on all cores.

use std::time::Instant;

use serde::Serialize;

use crate::env::EnvError;
use crate::env::{Env, EnvConfig, EpisodeSpec};
use crate::rapier::{JointCommand, JointModel};
use crate::robot::Robot;
use crate::scenario::Scenario;
use crate::sensors::{
    DepthCamera, DepthCameraConfig, LinkPose, RobotGeometry, camera_pose, link_pose_from_rapier,
};
use crate::terrain::TerrainKind;
use crate::vec_env::VecEnv;

/// What `vigor bench sim --json` prints.
#[derive(Debug, Clone, Serialize)]
pub struct SimBench {
    /// Engine measured.
    pub engine: &'static str,
    /// Physics rate, Hz.
    pub physics_hz: f64,
    /// Physics steps per second, one environment, flat ground, push scenario.
    pub single_steps_per_s_flat: f64,
    /// Physics steps per second, one environment, rough ground (difficulty 0.5), push scenario.
    pub single_steps_per_s_rough: f64,
    /// Worker threads of the vectorised run.
    pub threads: usize,
    /// Environments in the vectorised run.
    pub vec_envs: usize,
    /// Physics steps per second summed over all environments of the vectorised run.
    pub vec_steps_per_s: f64,
    /// Milliseconds per depth frame of the default camera (64 x 36) from the robot's head, robot
    /// and terrain in view.
    pub depth_frame_ms: Option<f64>,
    /// Simulated seconds per environment in each measurement.
    pub seconds_simulated: f64,
}

/// The stiff default-pose hold used as the pre-push command.
#[must_use]
pub fn hold_commands(robot: &Robot) -> Vec<JointCommand> {
    robot
        .joints
        .iter()
        .map(|j| JointCommand {
            q: j.default as f32,
            kp: if j.slot < 15 { 300.0 } else { j.kp as f32 },
            kd: if j.slot < 15 { 15.0 } else { j.kd as f32 },
            ..JointCommand::default()
        })
        .collect()
}

/// The default pose held with the robot description's own gains (those the policies act with).
#[must_use]
pub fn own_gain_commands(robot: &Robot) -> Vec<JointCommand> {
    robot
        .joints
        .iter()
        .map(|j| JointCommand {
            q: j.default as f32,
            kp: j.kp as f32,
            kd: j.kd as f32,
            ..JointCommand::default()
        })
        .collect()
}

/// Physics steps per second of one environment on one thread, standing on `terrain`, over
/// `seconds` simulated.
///
/// # Errors
/// Invalid terrain parameters.
pub fn single(
    robot: &Robot,
    config: &EnvConfig,
    terrain: (TerrainKind, f32),
    seconds: f64,
) -> Result<f64, EnvError> {
    let spec = EpisodeSpec {
        scenario: Scenario::Push,
        terrain,
        seed: 1,
    };
    let mut env = Env::new(robot, config, spec)?;
    let commands = hold_commands(robot);
    let policy_steps =
        (seconds / (config.physics.dt_s as f64 * f64::from(config.decimation))).ceil() as usize;
    let start = Instant::now();
    for _ in 0..policy_steps {
        env.step(&commands);
    }
    let physics_steps = policy_steps * config.decimation as usize;
    Ok(physics_steps as f64 / start.elapsed().as_secs_f64())
}

/// Mean time of 200 renders of the default depth camera from `env`'s robot, ms.
fn depth_frame_ms(robot: &Robot, env: Option<&Env>) -> Option<f64> {
    let env = env?;
    let camera = DepthCamera::new(DepthCameraConfig::default()).ok()?;
    let geometry = RobotGeometry::new(robot);
    let poses: Vec<LinkPose> = env
        .sim()
        .link_poses()
        .iter()
        .map(link_pose_from_rapier)
        .collect();
    let pose = camera_pose(robot, &poses)?;
    let mut out = vec![0.0; camera.len()];
    let frames = 200;
    let start = Instant::now();
    for _ in 0..frames {
        camera.render(
            pose,
            Some(env.terrain()),
            Some((&geometry, &poses)),
            &mut out,
        );
    }
    Some(start.elapsed().as_secs_f64() * 1e3 / f64::from(frames))
}

/// Runs the benchmark, simulating `seconds` per measurement.
///
/// # Errors
/// Invalid terrain parameters.
pub fn run(
    robot: &Robot,
    config: &EnvConfig,
    seconds: f64,
    threads: usize,
) -> Result<SimBench, EnvError> {
    let flat = single(robot, config, (TerrainKind::Flat, 0.0), seconds)?;
    let rough = single(robot, config, (TerrainKind::Rough, 0.5), seconds)?;
    let threads = crate::par::resolve(threads);
    let specs: Vec<EpisodeSpec> = (0..2 * threads as u64)
        .map(|i| EpisodeSpec {
            scenario: Scenario::Push,
            terrain: (TerrainKind::Flat, 0.0),
            seed: 10 + i,
        })
        .collect();
    let mut v = VecEnv::new(robot, config, &specs, threads)?;
    let commands = vec![hold_commands(robot); v.len()];
    let policy_steps =
        (seconds / (config.physics.dt_s as f64 * f64::from(config.decimation))).ceil() as usize;
    let start = Instant::now();
    for _ in 0..policy_steps {
        v.step(&commands, |_, _| None)?;
    }
    let vec_steps = (policy_steps * config.decimation as usize * v.len()) as f64
        / start.elapsed().as_secs_f64();
    let depth_ms = depth_frame_ms(robot, v.envs().first());
    Ok(SimBench {
        engine: config.engine.name(),
        physics_hz: (1.0 / f64::from(config.physics.dt_s)).round(),
        single_steps_per_s_flat: flat,
        single_steps_per_s_rough: rough,
        threads,
        vec_envs: v.len(),
        vec_steps_per_s: vec_steps,
        depth_frame_ms: depth_ms,
        seconds_simulated: seconds,
    })
}

/// One row of the configuration study: a solver setting, its speed and its fidelity checks.
#[derive(Debug, Clone, Serialize)]
pub struct ConfigRow {
    /// `multibody` (reduced coordinates) or `impulse` (maximal coordinates).
    pub joints: &'static str,
    /// `explicit` (torques from the state at the start of the step) or `implicit` (rapier's
    /// force-based joint motors).
    pub motors: &'static str,
    /// Constraint solver iterations.
    pub solver_iterations: usize,
    /// Physics steps per second, one environment, flat ground, push scenario.
    pub steps_per_s: f64,
    /// Relative error of the free-fall distance after 0.5 s.
    pub free_fall_rel_error: f64,
    /// Worst base tilt while holding the default pose for 10 s, degrees.
    pub stand_worst_tilt_deg: f64,
    /// Deepest collider penetration after standing 10 s, m (positive = into the ground).
    pub stand_penetration_m: f64,
    /// Base drift over 1 s of lying (supine, after settling), m.
    pub lying_drift_m: f64,
    /// All checks pass (free fall within 1 %, tilt under 10°, penetration under 1 cm, drift
    /// under 3 cm).
    pub passes: bool,
}

/// The four fidelity checks of one physics configuration, on flat ground.
struct Checks {
    free_fall_rel_error: f64,
    stand_worst_tilt_deg: f64,
    stand_penetration_m: f64,
    lying_drift_m: f64,
}

impl Checks {
    /// Free fall within 1 %, tilt under 10°, penetration under 1 cm, drift under 3 cm.
    fn pass(&self) -> bool {
        self.free_fall_rel_error < 0.01
            && self.stand_worst_tilt_deg < 10.0
            && self.stand_penetration_m < 0.01
            && self.lying_drift_m < 0.03
    }
}

/// Runs the checks in `config`'s engine and physics: free fall from 3 m for 0.5 s, holding the
/// default pose for 10 s (worst tilt, then the deepest penetration), and a settled supine start
/// under joint damping for 1 s (base drift).
fn checks(robot: &Robot, config: &EnvConfig) -> Result<Checks, EnvError> {
    use crate::engine::Engine;
    use crate::rapier::Ground;
    use rapier3d::na::Isometry3;
    let physics = &config.physics;
    let mut sim = Engine::new(config.engine, robot, &Ground::Flat, physics)?;
    sim.reset(
        &Isometry3::translation(0.0, 0.0, 3.0),
        &robot.default_pose(),
    );
    sim.set_commands(&vec![JointCommand::default(); robot.joints.len()]);
    let z0 = f64::from(sim.state().base_pos[2]);
    let n = (0.5 / f64::from(physics.dt_s)).round() as usize;
    for _ in 0..n {
        sim.step();
    }
    let t = n as f64 * f64::from(physics.dt_s);
    let fell = z0 - f64::from(sim.state().base_pos[2]);
    let free_fall_rel_error = (fell - 0.5 * 9.81 * t * t).abs() / (0.5 * 9.81 * t * t);

    let mut sim = Engine::new(config.engine, robot, &Ground::Flat, physics)?;
    sim.set_commands(&hold_commands(robot));
    let mut worst = 0f64;
    for _ in 0..(10.0 / f64::from(physics.dt_s)).round() as usize {
        sim.step();
        worst = worst.max(f64::from(crate::env::tilt_rad(sim.state().base_quat)).to_degrees());
    }
    let s = sim.state();
    let (q, _) = sim.joint_state();
    let root = s.root();
    let q: Vec<f64> = q.iter().map(|&x| x.into()).collect();
    let penetration = -sim.lowest_point_at(&root, &q);

    let spec = EpisodeSpec {
        scenario: Scenario::Supine,
        terrain: (TerrainKind::Flat, 0.0),
        seed: 3,
    };
    let mut env = Env::new(robot, config, spec)?;
    let before = env.state().base_pos;
    let damping = vec![
        JointCommand {
            kd: 3.0,
            ..JointCommand::default()
        };
        robot.joints.len()
    ];
    for _ in 0..(1.0 / (f64::from(physics.dt_s) * f64::from(config.decimation))).round() as usize {
        env.step(&damping);
    }
    let after = env.state().base_pos;
    let lying_drift_m = f64::from(
        (0..3)
            .map(|i| (after[i] - before[i]).powi(2))
            .sum::<f32>()
            .sqrt(),
    );
    Ok(Checks {
        free_fall_rel_error,
        stand_worst_tilt_deg: worst,
        stand_penetration_m: penetration,
        lying_drift_m,
    })
}

/// Speed and the fidelity checks for each solver iteration count, in rapier whatever `base`'s
/// engine (the settings are rapier's joint models and solver).
///
/// # Errors
/// Invalid terrain parameters.
pub fn config_study(
    robot: &Robot,
    base: &EnvConfig,
    settings: &[(JointModel, usize, bool)],
    seconds: f64,
) -> Result<Vec<ConfigRow>, EnvError> {
    use crate::engine::EngineKind;
    use crate::rapier::PhysicsParams;
    let mut rows = Vec::new();
    for &(joints, it, implicit_motors) in settings {
        let physics = PhysicsParams {
            solver_iterations: it,
            joints,
            implicit_motors,
            ..base.physics.clone()
        };
        let config = EnvConfig {
            engine: EngineKind::Rapier,
            physics: physics.clone(),
            ..base.clone()
        };
        let steps_per_s = single(robot, &config, (TerrainKind::Flat, 0.0), seconds)?;
        let c = checks(robot, &config)?;
        rows.push(ConfigRow {
            joints: match joints {
                JointModel::Multibody => "multibody",
                JointModel::Impulse => "impulse",
            },
            motors: if implicit_motors {
                "implicit"
            } else {
                "explicit"
            },
            solver_iterations: it,
            steps_per_s,
            free_fall_rel_error: c.free_fall_rel_error,
            stand_worst_tilt_deg: c.stand_worst_tilt_deg,
            stand_penetration_m: c.stand_penetration_m,
            lying_drift_m: c.lying_drift_m,
            passes: c.pass(),
        });
    }
    Ok(rows)
}

/// One physics rate of [`rate_study`].
#[derive(Debug, Clone, Serialize)]
pub struct RateRow {
    /// Physics rate, Hz.
    pub physics_hz: u32,
    /// Physics steps per second, one environment on one thread, flat ground, push scenario.
    pub steps_per_s: f64,
    /// Policy (environment) steps per second of the same run: what training gets per core.
    pub env_steps_per_s: f64,
    /// Relative error of the free-fall distance after 0.5 s.
    pub free_fall_rel_error: f64,
    /// Worst base tilt while holding the default pose for 10 s, degrees.
    pub stand_worst_tilt_deg: f64,
    /// Deepest collider penetration after standing 10 s, m.
    pub stand_penetration_m: f64,
    /// Base drift over 1 s of lying (supine, after settling), m.
    pub lying_drift_m: f64,
    /// Pushed over from the stand held with the description's gains on flat ground (the push
    /// scenario, 2 s): RMS distance of the pelvis from the reference rate's at the same policy
    /// steps, m.
    pub push_flat_rms_m: f64,
    /// The same on rough ground at difficulty 0.5.
    pub push_rough_rms_m: f64,
    /// The four checks pass (free fall within 1 %, tilt under 10°, penetration under 1 cm,
    /// drift under 3 cm).
    pub passes: bool,
}

/// The pelvis position at every policy step of `seconds` of the push scenario on `terrain`
/// under the stiff hold.
fn push_track(
    robot: &Robot,
    config: &EnvConfig,
    terrain: (TerrainKind, f32),
    seconds: f64,
) -> Result<Vec<[f32; 3]>, EnvError> {
    let spec = EpisodeSpec {
        scenario: Scenario::Push,
        terrain,
        seed: 1,
    };
    let mut env = Env::new(robot, config, spec)?;
    let commands = own_gain_commands(robot);
    let steps = (seconds / (f64::from(config.physics.dt_s) * f64::from(config.decimation))).round()
        as usize;
    let mut out = Vec::with_capacity(steps);
    for _ in 0..steps {
        env.step(&commands);
        out.push(env.state().base_pos);
    }
    Ok(out)
}

fn rms_distance(a: &[[f32; 3]], b: &[[f32; 3]]) -> f64 {
    let n = a.len().min(b.len()).max(1);
    let sum: f64 = a
        .iter()
        .zip(b)
        .map(|(p, q)| (0..3).map(|i| f64::from(p[i] - q[i]).powi(2)).sum::<f64>())
        .sum();
    (sum / n as f64).sqrt()
}

/// The physics-rate study behind `vigor bench sim --rates`: for each rate of `rates_hz` in
/// `base`'s engine, the speed, the four fidelity checks of [`config_study`], and how far a push
/// fall on flat and on rough ground departs from the same fall at `reference_hz` (the pelvis,
/// RMS over 2 s). `base`'s decimation and physics step are replaced per rate (policy at 50 Hz);
/// give it no randomisation or noise (latencies are counted in physics steps and would change
/// their duration with the rate). The speed is [`single`]'s, under the stiff hold, so at a rate
/// where that hold topples it is the speed of a fallen robot.
///
/// # Errors
/// Invalid terrain parameters, or a model the engine refuses.
pub fn rate_study(
    robot: &Robot,
    base: &EnvConfig,
    rates_hz: &[u32],
    reference_hz: u32,
    seconds: f64,
) -> Result<Vec<RateRow>, EnvError> {
    let at = |hz: u32| EnvConfig {
        physics: crate::rapier::PhysicsParams {
            dt_s: 1.0 / hz as f32,
            ..base.physics.clone()
        },
        decimation: (hz / 50).max(1),
        ..base.clone()
    };
    let flat = (TerrainKind::Flat, 0.0);
    let rough = (TerrainKind::Rough, 0.5);
    let reference = at(reference_hz);
    let ref_flat = push_track(robot, &reference, flat, 2.0)?;
    let ref_rough = push_track(robot, &reference, rough, 2.0)?;
    let mut rows = Vec::new();
    for &hz in rates_hz {
        let config = at(hz);
        let steps_per_s = single(robot, &config, flat, seconds)?;
        let c = checks(robot, &config)?;
        rows.push(RateRow {
            physics_hz: hz,
            steps_per_s,
            env_steps_per_s: steps_per_s / f64::from(config.decimation),
            free_fall_rel_error: c.free_fall_rel_error,
            stand_worst_tilt_deg: c.stand_worst_tilt_deg,
            stand_penetration_m: c.stand_penetration_m,
            lying_drift_m: c.lying_drift_m,
            push_flat_rms_m: rms_distance(&push_track(robot, &config, flat, 2.0)?, &ref_flat),
            push_rough_rms_m: rms_distance(&push_track(robot, &config, rough, 2.0)?, &ref_rough),
            passes: c.pass(),
        });
    }
    Ok(rows)
}
