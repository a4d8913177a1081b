//! `vigor control` (the controller daemon, as the robot's `vigor-controller` runs it, plus
//! `--record`) and `vigor sim-robot` (the simulated G1 on the bus).

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use anyhow::Result;
use clap::Args;
use vigor_controller::bus::DEFAULT_ENDPOINT;
use vigor_controller::cli::{self, BusArgs, Daemon};
use vigor_sim::robot::Robot;

use crate::sim_robot::{SimRobot, SimRobotConfig, node};

/// `vigor control` flags: those of the robot's `vigor-controller`, and recording.
#[derive(Debug, Args)]
pub struct ControlArgs {
    #[command(flatten)]
    controller: cli::ControlArgs,
    /// Record the robot's state, the commands, the depth stream and the controller's status to
    /// this rerun file (replay it with `vigor replay`).
    #[arg(long)]
    record: Option<PathBuf>,
}

/// `vigor sim-robot` flags.
#[derive(Debug, Args)]
pub struct SimRobotArgs {
    /// Simulated-robot config (default: the shipped configs/sim_robot.toml, embedded).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Physics engine, overriding the config: rapier or mujoco.
    #[arg(long, value_parser = ["rapier", "mujoco"])]
    engine: Option<String>,
    /// Command latency, ms, overriding the config.
    #[arg(long)]
    command_latency_ms: Option<f32>,
    /// State latency, ms, overriding the config.
    #[arg(long)]
    state_latency_ms: Option<f32>,
    /// Message loss probability, overriding the config.
    #[arg(long)]
    loss: Option<f32>,
    /// Stop after this many seconds (default: run until killed).
    #[arg(long)]
    duration_s: Option<f64>,
    /// Robot description: a shipped name (g1_29dof, g1_23dof) or a file.
    #[arg(long, default_value = "g1_29dof")]
    robot: String,
    #[command(flatten)]
    bus: BusArgs,
}

/// A robot description: a shipped name or a file.
pub fn robot_named(name: &str) -> Result<Robot> {
    let path = std::path::Path::new(name);
    Ok(if path.is_file() {
        Robot::load(path)?
    } else {
        Robot::embedded(name)?
    })
}

/// The controller's joints for a simulator robot (the sim-robot tests drive the controller's core
/// with one).
#[cfg(test)]
pub fn joint_specs(
    robot: &Robot,
    params: &vigor_controller::ControllerParams,
) -> Vec<vigor_controller::JointSpec> {
    use vigor_controller::robot::{Joint, JointTable};
    let table = JointTable {
        name: robot.name.clone(),
        mode_machine: robot.mode_machine,
        joints: robot
            .joints
            .iter()
            .map(|j| Joint {
                name: j.name.clone(),
                slot: j.slot,
                lower_rad: j.lower,
                upper_rad: j.upper,
                effort_nm: j.effort,
                velocity_rad_s: j.velocity,
                default_rad: j.default,
                kp: j.kp,
                kd: j.kd,
            })
            .collect(),
    };
    vigor_controller::robot::joint_specs(&table, params)
}

/// Runs the controller daemon, recording the bus when asked.
///
/// # Errors
/// Bad config, robot or policy, a bus that cannot be opened, or a thread that died.
pub fn control(a: &ControlArgs) -> Result<()> {
    let daemon = Daemon::prepare(&a.controller, "vigor control")?;
    // The recorder has its own session on the same bus: it connects where the controller
    // connects, or to the controller's listen endpoints.
    let recorder = match &a.record {
        Some(out) => {
            let mut rb = daemon.bus().clone();
            rb.connect.extend(
                rb.listen
                    .drain(..)
                    .map(|e| e.replace("0.0.0.0", "127.0.0.1")),
            );
            Some(crate::bus_record::BusRecorder::start(
                rb,
                daemon.scope().map(str::to_owned),
                robot_named(&a.controller.robot)?,
                out.clone(),
            )?)
        }
        None => None,
    };
    let finished = daemon.run()?;
    if let (Some(r), Some(out)) = (recorder, &a.record) {
        let n = r.finish()?;
        println!("recorded {n} states to {}", out.display());
    }
    finished.summarise()
}

/// Runs the simulated robot.
///
/// # Errors
/// Bad config, or a bus that cannot be opened.
pub fn sim_robot(a: &SimRobotArgs) -> Result<()> {
    let mut params = match &a.config {
        Some(p) => vigor_common::config::load_checked::<SimRobotConfig>(p)?,
        None => SimRobotConfig::embedded()?,
    };
    if let Some(e) = &a.engine {
        params.engine = e
            .parse()
            .map_err(|e: String| anyhow::anyhow!("--engine: {e}"))?;
    }
    if let Some(ms) = a.command_latency_ms {
        anyhow::ensure!(
            (0.0..=100.0).contains(&ms),
            "--command-latency-ms {ms}: allowed 0 ..= 100"
        );
        params.command_latency_s = f64::from(ms) / 1e3;
    }
    if let Some(ms) = a.state_latency_ms {
        anyhow::ensure!(
            (0.0..=100.0).contains(&ms),
            "--state-latency-ms {ms}: allowed 0 ..= 100"
        );
        params.state_latency_s = f64::from(ms) / 1e3;
    }
    if let Some(p) = a.loss {
        anyhow::ensure!((0.0..=0.5).contains(&p), "--loss {p}: allowed 0 ..= 0.5");
        params.loss = p;
    }
    let sim = vigor_sim::SimConfig::embedded()?;
    let robot = robot_named(&a.robot)?;
    let mut bus = a.bus.bus(&[], &[DEFAULT_ENDPOINT]);
    // The robot's side of the bus is a router (the DDS bridge on the G1): route between the
    // controller (a client) and every other session, unless a config file says otherwise.
    if bus.config_file.is_none() {
        bus.mode = Some(vigor_controller::bus::Mode::Router);
    }
    eprintln!(
        "vigor sim-robot: {} on {} ({}), LowState at {} Hz, depth at {} Hz, bus {:?} {:?}",
        robot.name,
        params.terrain,
        params.engine,
        params.lowstate_rate_hz,
        params.depth_rate_hz,
        bus.connect,
        bus.listen
    );
    let sim_robot = SimRobot::new(robot, params, &sim)?;
    let stop = AtomicBool::new(false);
    let report = node::run(
        sim_robot,
        &bus,
        a.bus.scope.as_deref(),
        cli::duration(a.duration_s)?,
        &stop,
    )?;
    println!(
        "sim-robot: {} steps ({} late), {:?}",
        report.steps, report.late_steps, report.counters
    );
    Ok(())
}
