//! `vigor sim record` and `vigor replay`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use vigor_record::{DepthView, EpisodeRecorder, Pose};
use vigor_sim::env::{Env, EpisodeSpec, tilt_rad};
use vigor_sim::rapier::JointCommand;
use vigor_sim::robot::Robot;
use vigor_sim::scenario::Scenario;
use vigor_sim::sensors::{
    DepthCamera, LinkPose, RobotGeometry, camera_pose, link_pose_from_rapier,
};
use vigor_sim::terrain::TerrainKind;

/// `vigor sim ...`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Simulate one episode of a scenario and record it to a rerun file (.rrd).
    ///
    /// Fall scenarios hold the default pose with a stiff PD until pushed; lying scenarios hold
    /// still under damping (no policy yet). The recording has the links, terrain, depth stream,
    /// contacts and forces, base height and tilt. Open it with `vigor replay FILE`.
    Record(RecordArgs),
}

/// `vigor sim record` flags.
#[derive(Debug, Args)]
pub struct RecordArgs {
    /// Scenario: supine, prone, side, sitting, legs_on_box, draped_over_stair, push,
    /// push_toward_stairs, push_off_platform.
    #[arg(long, default_value = "push")]
    scenario: String,
    /// Terrain kind: flat, rough, waves, slope_up, slope_down, inverted_slope, stairs_up,
    /// stairs_down, stepping_stones, boxes, platform, gaps (scenarios that need one override it).
    #[arg(long, default_value = "flat")]
    terrain: String,
    /// Terrain difficulty, 0..=1.
    #[arg(long, default_value_t = 0.5)]
    difficulty: f32,
    /// Simulated seconds.
    #[arg(long, default_value_t = 4.0)]
    seconds: f32,
    /// Episode seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output recording.
    #[arg(long)]
    out: PathBuf,
    /// Simulator config (default: the shipped configs/sim.toml, embedded).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Physics engine, rapier or mujoco (default: the config's `physics.engine`).
    #[arg(long, value_parser = ["rapier", "mujoco"])]
    engine: Option<String>,
}

impl RecordArgs {
    /// Arguments for recording `scenario` on its default terrain with the shipped config.
    #[must_use]
    pub fn new(scenario: &str, seconds: f32, seed: u64, out: PathBuf) -> Self {
        Self {
            scenario: scenario.to_owned(),
            terrain: "flat".to_owned(),
            difficulty: 0.5,
            seconds,
            seed,
            out,
            config: None,
            engine: None,
        }
    }
}

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

/// Records one episode.
pub fn record(a: &RecordArgs) -> Result<()> {
    let scenario = Scenario::from_name(&a.scenario).map_err(anyhow::Error::msg)?;
    let kind = TerrainKind::from_name(&a.terrain)?;
    anyhow::ensure!(
        (0.0..=1.0).contains(&a.difficulty),
        "--difficulty {} is out of range: allowed 0 ..= 1",
        a.difficulty
    );
    anyhow::ensure!(
        a.seconds > 0.0 && a.seconds <= 600.0,
        "--seconds {} is out of range: allowed (0, 600]",
        a.seconds
    );
    let mut params = match &a.config {
        Some(path) => vigor_common::config::load_checked::<vigor_sim::SimConfig>(path)?,
        None => vigor_sim::SimConfig::embedded()?,
    };
    if let Some(engine) = &a.engine {
        params.env.engine = engine
            .parse()
            .map_err(|e: String| anyhow::anyhow!("--engine: {e}"))?;
    }
    let robot = Robot::embedded("g1_29dof")?;
    let spec = EpisodeSpec {
        scenario,
        terrain: (kind, a.difficulty),
        seed: a.seed,
    };
    let mut env = Env::new(&robot, &params.env, spec)?;
    let (kind, difficulty) = scenario.terrain_for((kind, a.difficulty));
    let line = format!(
        "scenario {scenario}, terrain {kind} at difficulty {difficulty:.2}, seed {}, engine {}",
        a.seed, params.env.engine
    );
    let recorder = EpisodeRecorder::create(&a.out, &robot, Some(env.terrain()), &line)?;
    let camera_config = params.depth;
    // Pinhole focal lengths of the camera's field of view, as the depth renderer uses them.
    let focal = [
        0.5 * f32::from(camera_config.width_px) / (0.5 * camera_config.hfov_deg.to_radians()).tan(),
        0.5 * f32::from(camera_config.height_px)
            / (0.5 * camera_config.vfov_deg.to_radians()).tan(),
    ];
    let camera = DepthCamera::new(camera_config)?;
    let geometry = RobotGeometry::new(&robot);
    let mut depth = vec![0.0f32; camera.len()];
    let dt = params.env.physics.dt_s * params.env.decimation as f32;
    let steps = (a.seconds / dt).round() as usize;
    let depth_every = (1.0 / (30.0 * dt)).round().max(1.0) as usize;
    println!(
        "recording {line}: {steps} policy steps of {:.0} ms",
        dt * 1e3
    );
    for step in 0..=steps {
        if step > 0 {
            let commands = if scenario.is_fall() && env.trigger_s().is_none() {
                hold(&robot)
            } else {
                damping(&robot)
            };
            env.step(&commands);
        }
        let poses: Vec<LinkPose> = env
            .sim()
            .link_poses()
            .iter()
            .map(link_pose_from_rapier)
            .collect();
        let state = env.state();
        let record_poses: Vec<Pose> = poses
            .iter()
            .map(|p| Pose {
                pos: p.pos,
                quat_wxyz: p.quat_wxyz,
            })
            .collect();
        let time = f64::from(env.episode_s());
        recorder.log_step(
            time,
            &record_poses,
            &env.sim().contacts(),
            state.base_pos[2] - env.terrain().height(state.base_pos[0], state.base_pos[1]),
            tilt_rad(state.base_quat).to_degrees(),
        )?;
        if step % depth_every == 0
            && let Some(cam) = camera_pose(&robot, &poses)
        {
            camera.render(
                cam,
                Some(env.terrain()),
                Some((&geometry, &poses)),
                &mut depth,
            );
            recorder.log_depth(
                time,
                DepthView {
                    metres: &depth,
                    width: camera.width() as u32,
                    height: camera.height() as u32,
                    fx_px: focal[0],
                    fy_px: focal[1],
                },
            )?;
        }
    }
    recorder.finish()?;
    match env.trigger_s() {
        Some(t) => println!("tilt passed 20° at {t:.2} s"),
        None => println!("tilt stayed under 20°"),
    }
    println!("wrote {}", a.out.display());
    Ok(())
}

/// Runs the subcommand.
pub fn run(cmd: &Command) -> Result<()> {
    match cmd {
        Command::Record(a) => record(a),
    }
}

/// `vigor replay` flags.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The recording (.rrd).
    file: PathBuf,
    /// Serve the web viewer on this machine instead of opening a window (then open the printed
    /// address in a browser).
    #[arg(long)]
    web: bool,
}

/// The `rerun` viewer: next to this binary's project environment, or on PATH.
fn rerun_binary() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let from_repo = exe.ancestors().find_map(|d| {
        let candidate = d.join(".venv/bin/rerun");
        candidate.is_file().then_some(candidate)
    });
    from_repo.or_else(|| {
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|p| p.join("rerun"))
                .find(|p| p.is_file())
        })
    })
}

/// Opens a recording in rerun.
pub fn replay(a: &ReplayArgs) -> Result<()> {
    if !a.file.is_file() {
        bail!("{}: no such recording", a.file.display());
    }
    let Some(rerun) = rerun_binary() else {
        bail!(
            "the rerun viewer is not installed: run scripts/setup.sh (installs rerun-sdk 0.36.3 into .venv)"
        );
    };
    let mut cmd = std::process::Command::new(&rerun);
    if a.web {
        cmd.arg("--web-viewer");
    }
    cmd.arg(Path::new(&a.file));
    let status = cmd
        .status()
        .with_context(|| format!("starting {}", rerun.display()))?;
    anyhow::ensure!(status.success(), "rerun exited with {status}");
    Ok(())
}
