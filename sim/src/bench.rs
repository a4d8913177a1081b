//! The simulator benchmark behind `vigor bench sim`: physics steps per second of one environment
//! in a fall scenario (flat and rough ground), and of the vectorised environment on all cores.

use std::time::Instant;

use serde::Serialize;

use crate::env::{Env, EnvConfig, EpisodeSpec};
use crate::rapier::JointCommand;
use crate::robot::Robot;
use crate::scenario::Scenario;
use crate::sensors::{
    DepthCamera, DepthCameraConfig, LinkPose, RobotGeometry, camera_pose, link_pose_from_rapier,
};
use crate::terrain::{TerrainError, TerrainKind};
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

fn single(
    robot: &Robot,
    config: &EnvConfig,
    terrain: (TerrainKind, f32),
    seconds: f64,
) -> Result<f64, TerrainError> {
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
) -> Result<SimBench, TerrainError> {
    let flat = single(robot, config, (TerrainKind::Flat, 0.0), seconds)?;
    let rough = single(robot, config, (TerrainKind::Rough, 0.5), seconds)?;
    let threads = if threads == 0 {
        std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
    } else {
        threads
    };
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
        engine: "rapier",
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
