//! `vigor control` (the controller daemon) and `vigor sim-robot` (the simulated G1 on the bus).

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use vigor_controller::bus::{BusConfig, DEFAULT_ENDPOINT};
use vigor_controller::core::JointSpec;
use vigor_controller::node::{LoopStats, NodeOptions};
use vigor_sim::robot::Robot;

use crate::sim_robot::{SimRobot, SimRobotConfig, node};

/// Zenoh flags shared by every networked command, as zenoh's own tools take them.
#[derive(Debug, Clone, Args)]
pub struct BusArgs {
    /// zenoh configuration file (JSON5), e.g. deploy/zenoh/*.json5 for TLS and access control.
    #[arg(long)]
    pub zenoh_config: Option<PathBuf>,
    /// Endpoint to connect to (repeatable), e.g. tcp/192.168.123.164:7447; overrides the file's.
    #[arg(long)]
    pub connect: Vec<String>,
    /// Endpoint to listen on (repeatable); overrides the file's.
    #[arg(long)]
    pub listen: Vec<String>,
    /// Key scope, as zenoh's DDS bridge `--scope` prefixes keys.
    #[arg(long)]
    pub scope: Option<String>,
}

impl BusArgs {
    /// The bus, connecting to `default_connect` / listening on `default_listen` when neither the
    /// flags nor a file say otherwise.
    #[must_use]
    pub fn bus(&self, default_connect: &[&str], default_listen: &[&str]) -> BusConfig {
        let none = self.zenoh_config.is_none() && self.connect.is_empty() && self.listen.is_empty();
        let own = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect();
        BusConfig {
            config_file: self.zenoh_config.clone(),
            connect: if none {
                own(default_connect)
            } else {
                self.connect.clone()
            },
            listen: if none {
                own(default_listen)
            } else {
                self.listen.clone()
            },
            mode: None,
        }
    }
}

/// `vigor control` flags.
#[derive(Debug, Args)]
pub struct ControlArgs {
    /// Policy artifact folder (manifest.json + weights.safetensors).
    #[arg(long)]
    policy: PathBuf,
    /// Controller config (default: the shipped configs/controller.toml, embedded).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Robot description: a shipped name or a file.
    #[arg(long, default_value = "g1_29dof")]
    robot: String,
    /// Stop after this many seconds and print the loop timing (default: run until killed).
    #[arg(long)]
    duration_s: Option<f64>,
    /// Record the robot's state, the commands, the depth stream and the controller's status to
    /// this rerun file (replay it with `vigor replay`).
    #[arg(long)]
    record: Option<PathBuf>,
    /// For the fault tests: inject KIND@SECONDS, KIND one of control-panic, policy-panic (while
    /// Active) or policy-stall (while Active). The daemon must damp and exit non-zero.
    #[arg(long, hide = true)]
    inject_fault: Option<vigor_controller::node::FaultInjection>,
    #[command(flatten)]
    bus: BusArgs,
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

/// Motor slots of the legs and waist on the G1 (the stand gains apply to them).
pub const LEG_WAIST_SLOTS: usize = 15;
/// Motor slots of the legs on the G1.
pub const LEGS_SLOTS: usize = 12;

/// The controller's view of the robot's joints: limits and gains from the description, stand
/// gains for the legs and waist from the controller config.
#[must_use]
pub fn joint_specs(robot: &Robot, params: &vigor_controller::ControllerParams) -> Vec<JointSpec> {
    robot
        .joints
        .iter()
        .map(|j| {
            let legs = j.slot < LEG_WAIST_SLOTS;
            JointSpec {
                slot: j.slot,
                default: j.default as f32,
                lower: j.lower as f32,
                upper: j.upper as f32,
                effort: j.effort as f32,
                kp: j.kp as f32,
                kd: j.kd as f32,
                stand_kp: if legs { params.stand_kp } else { j.kp as f32 },
                stand_kd: if legs { params.stand_kd } else { j.kd as f32 },
                leg: j.slot < LEGS_SLOTS,
            }
        })
        .collect()
}

fn duration(s: Option<f64>) -> Result<Option<Duration>> {
    s.map(|s| {
        anyhow::ensure!(
            s > 0.0 && s <= 86_400.0,
            "--duration-s {s} is out of range: allowed (0, 86400]"
        );
        Ok(Duration::from_secs_f64(s))
    })
    .transpose()
}

/// Prints quantiles of a loop-timing histogram.
fn print_quantiles(label: &str, h: &[u64], max: u64) {
    println!(
        "{label}: p50 {} µs, p99 {} µs, max {} µs ({} samples)",
        LoopStats::quantile(h, 0.5),
        LoopStats::quantile(h, 0.99),
        max,
        h.iter().sum::<u64>()
    );
}

/// Runs the controller daemon.
///
/// # Errors
/// Bad config or policy, or a bus that cannot be opened.
pub fn control(a: &ControlArgs) -> Result<()> {
    let params = match &a.config {
        Some(p) => vigor_common::config::load_checked::<vigor_controller::ControllerConfig>(p)?,
        None => vigor_controller::ControllerConfig::embedded()?,
    };
    let robot = robot_named(&a.robot)?;
    let policy = vigor_policy::Policy::load(&a.policy)
        .with_context(|| format!("loading the policy artifact {}", a.policy.display()))?;
    let mut bus = a.bus.bus(&[DEFAULT_ENDPOINT], &[]);
    // A client of the robot's router (or the simulated robot) unless asked to listen: see
    // vigor_controller::bus.
    if bus.listen.is_empty() {
        bus.mode = Some(vigor_controller::bus::Mode::Client);
    }
    eprintln!(
        "vigor control: policy `{}`, {} joints, {:.0} Hz control, {:.0} Hz policy, bus {:?} {:?}",
        policy.manifest().name,
        robot.joints.len(),
        1.0 / params.control_dt_s,
        1.0 / (params.control_dt_s * f64::from(params.policy_decimation)),
        bus.connect,
        bus.listen
    );
    let joints = joint_specs(&robot, &params);
    // The recorder has its own session on the same bus: it connects where the controller
    // connects, or to the controller's listen endpoints.
    let recorder = match &a.record {
        Some(out) => {
            let mut rb = bus.clone();
            rb.connect.extend(
                rb.listen
                    .drain(..)
                    .map(|e| e.replace("0.0.0.0", "127.0.0.1")),
            );
            Some(crate::bus_record::BusRecorder::start(
                rb,
                a.bus.scope.clone(),
                robot.clone(),
                out.clone(),
            )?)
        }
        None => None,
    };
    let exit_ms = params.exit_damping_s * 1e3;
    let signal = vigor_controller::node::stop_on_signals()
        .context("registering the SIGINT and SIGTERM handlers")?;
    let handle = vigor_controller::node::start(NodeOptions {
        bus,
        params,
        joints,
        robot_mode_machine: robot.mode_machine,
        policy,
        scope: a.bus.scope.clone(),
        duration: duration(a.duration_s)?,
        inject: a.inject_fault,
    })?;
    let rt = handle.realtime();
    if rt.degraded() {
        eprintln!(
            "vigor control: warning: real-time scheduling not fully granted ({rt}); the loop runs, \
             with more jitter on a busy computer (README, \"On the robot\", says how to grant it)"
        );
    } else {
        eprintln!("vigor control: real-time: {rt}");
    }
    let report = handle.run(&signal);
    if let (Some(r), Some(out)) = (recorder, &a.record) {
        let n = r.finish()?;
        println!("recorded {n} states to {}", out.display());
    }
    println!("final state {:?}, faults {:?}", report.state, report.faults);
    println!("real-time: {}", report.realtime);
    let s = &report.stats;
    println!("control ticks: {}", s.ticks);
    print_quantiles(
        "control period error",
        &s.period_error_us,
        s.max_period_error_us,
    );
    print_quantiles(
        "lowstate-to-lowcmd reaction",
        &s.reaction_us,
        s.max_reaction_us,
    );
    print_quantiles("policy inference", &s.policy_us, s.max_policy_us);
    if let Some(thread) = report.died {
        anyhow::bail!(
            "the {thread} thread died; the daemon sent damping frames for {exit_ms:.0} ms and stopped"
        );
    }
    Ok(())
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
        duration(a.duration_s)?,
        &stop,
    )?;
    println!(
        "sim-robot: {} steps ({} late), {:?}",
        report.steps, report.late_steps, report.counters
    );
    Ok(())
}
