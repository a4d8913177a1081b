//! The controller's command line, shared by the robot's binary (`vigor-controller`) and the
//! workstation's `vigor control`: the flags, loading what they name, the run, and its timing
//! summary.
//!
//! A front end flattens [`ControlArgs`] into its own flags and calls [`control`]. To wrap something
//! around the run, it goes step by step instead: [`Daemon::prepare`] (load and check, nothing
//! open yet), then [`Daemon::run`] (until a signal, the end of `--duration-s` or a dead thread),
//! then [`Finished::summarise`]. `vigor control --record` starts its recorder on
//! [`Daemon::bus`] between the first two and finishes it before the summary.
//!
//! The policy is loaded in one place, [`load_policy`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;

use crate::bus::{BusConfig, DEFAULT_ENDPOINT, Mode};
use crate::config::{ControllerConfig, ControllerParams};
use crate::node::{FaultInjection, LoopStats, NodeOptions, NodeReport};
use crate::robot::{JointTable, joint_specs};

/// The daemon in one line: [`ABOUT`], and the head of [`LONG_ABOUT`].
macro_rules! about {
    () => {
        "The on-robot controller daemon: safety state machine, 500 Hz LowCmd, the policy at 50 Hz."
    };
}

/// One line on what the daemon is (`--help` of `vigor-controller`, `vigor control`, `vigor --help`).
pub const ABOUT: &str = about!();

/// What `--help` says about the daemon, in both binaries.
pub const LONG_ABOUT: &str = concat!(
    about!(),
    "\n\n",
    "Starts in Passive (damping). Send `arm`, `engage`, `estop`, `clear` or `disarm` with \
     `vigor topic pub vigor/controller/command --json cmd.json`; watch it with \
     `vigor topic echo vigor/controller/status`. Connects to tcp/127.0.0.1:7447 unless told \
     otherwise, as a zenoh client (it listens nowhere unless given --listen); on the robot, give \
     it deploy/zenoh/controller.json5 and the robot's router (deploy/README.md). SIGINT, SIGTERM \
     and the end of --duration-s send damping frames before it exits; a dead thread damps and \
     exits non-zero. Every fault and its test: docs/controller.md."
);

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

/// The controller's flags (`vigor-controller`, and `vigor control` before its own).
#[derive(Debug, Clone, Args)]
pub struct ControlArgs {
    /// Policy artifact folder (manifest.json + weights.safetensors): a depth or blind student
    /// (e.g. policies/student-depth) or a proprioceptive MLP. A teacher is refused: it needs the
    /// simulator's privileged state.
    #[arg(long)]
    pub policy: PathBuf,
    /// The blind student a depth student falls back to while depth frames are older than
    /// `watchdog.depth_stale_ms` (default: the one the depth student's artifact names, e.g.
    /// policies/student-blind).
    #[arg(long)]
    pub blind_policy: Option<PathBuf>,
    /// Controller config (default: the shipped configs/controller.toml, embedded).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Robot description: a shipped name (g1_29dof, g1_23dof) or a file.
    #[arg(long, default_value = "g1_29dof")]
    pub robot: String,
    /// Stop after this many seconds and print the loop timing (default: run until killed).
    #[arg(long)]
    pub duration_s: Option<f64>,
    /// For the fault tests: inject KIND@SECONDS, KIND one of control-panic, policy-panic (while
    /// Active) or policy-stall (while Active). The daemon must damp and exit non-zero.
    #[arg(long, hide = true)]
    pub inject_fault: Option<FaultInjection>,
    /// The zenoh flags.
    #[command(flatten)]
    pub bus: BusArgs,
}

/// Loads the policy artifact in `dir` for the robot of `table`, with its blind fallback (`blind`,
/// else the one the artifact names): the one place the daemon's front end loads a policy.
///
/// # Errors
/// A missing or broken artifact, a teacher, or joints that are not the robot's, naming the folder
/// and the field.
pub fn load_policy(
    dir: &Path,
    blind: Option<&Path>,
    table: &JointTable,
) -> Result<vigor_policy::Deployment> {
    let names: Vec<String> = table.joints.iter().map(|j| j.name.clone()).collect();
    let default_q: Vec<f32> = table.joints.iter().map(|j| j.default_rad as f32).collect();
    let joints = vigor_policy::RobotJoints {
        names: &names,
        default_q: &default_q,
    };
    let load = |d: &Path| {
        vigor_policy::load_runtime(d, joints)
            .with_context(|| format!("loading the policy artifact {}", d.display()))
    };
    let primary = load(dir)?;
    let fallback = match primary.reads_depth() {
        true => vigor_policy::runtime::fallback_dir(dir, primary.manifest(), blind)
            .map(|d| load(&d))
            .transpose()?,
        false => None,
    };
    vigor_policy::Deployment::new(primary, fallback)
        .with_context(|| format!("pairing {} with its blind fallback", dir.display()))
}

/// `--duration-s`, checked: `None` runs until stopped.
///
/// # Errors
/// Outside (0, 86400] s.
pub fn duration(s: Option<f64>) -> Result<Option<Duration>> {
    s.map(|s| {
        anyhow::ensure!(
            s > 0.0 && s <= 86_400.0,
            "--duration-s {s} is out of range: allowed (0, 86400]"
        );
        Ok(Duration::from_secs_f64(s))
    })
    .transpose()
}

/// A controller ready to start: its config checked, its joint table and policy loaded, its bus
/// chosen. Nothing is open yet.
pub struct Daemon {
    program: &'static str,
    params: ControllerParams,
    table: JointTable,
    policy: vigor_policy::Deployment,
    bus: BusConfig,
    scope: Option<String>,
    duration: Option<Duration>,
    inject: Option<FaultInjection>,
}

impl Daemon {
    /// Loads what the flags name and prints what will run; `program` prefixes its messages.
    ///
    /// # Errors
    /// A bad config, robot description, policy or `--duration-s`.
    pub fn prepare(a: &ControlArgs, program: &'static str) -> Result<Self> {
        let params = match &a.config {
            Some(p) => vigor_common::config::load_checked::<ControllerConfig>(p)?,
            None => ControllerConfig::embedded()?,
        };
        let table = JointTable::named(&a.robot)?;
        let policy = load_policy(&a.policy, a.blind_policy.as_deref(), &table)?;
        let mut bus = a.bus.bus(&[DEFAULT_ENDPOINT], &[]);
        // A client of the robot's router (or the simulated robot) unless asked to listen: see
        // crate::bus.
        if bus.listen.is_empty() {
            bus.mode = Some(Mode::Client);
        }
        eprintln!(
            "{program}: policy `{}` ({}){}, {} joints ({}), {:.0} Hz control, {:.0} Hz policy, bus {:?} {:?}",
            policy.primary().manifest().name,
            policy.primary().manifest().kind,
            policy
                .fallback()
                .map(|f| format!(", blind fallback `{}`", f.manifest().name))
                .unwrap_or_default(),
            table.joints.len(),
            table.name,
            1.0 / params.control_dt_s,
            1.0 / (params.control_dt_s * f64::from(params.policy_decimation)),
            bus.connect,
            bus.listen
        );
        Ok(Self {
            program,
            params,
            table,
            policy,
            bus,
            scope: a.bus.scope.clone(),
            duration: duration(a.duration_s)?,
            inject: a.inject_fault,
        })
    }

    /// The bus the daemon will open.
    #[must_use]
    pub fn bus(&self) -> &BusConfig {
        &self.bus
    }

    /// The key scope, if any.
    #[must_use]
    pub fn scope(&self) -> Option<&str> {
        self.scope.as_deref()
    }

    /// Starts the daemon and runs it until a signal, the end of `--duration-s` or a dead thread.
    ///
    /// # Errors
    /// A joint table or policy that does not fit the config, a bus that cannot be opened, or
    /// signal handlers that cannot be registered. A thread that died is in the summary.
    pub fn run(self) -> Result<Finished> {
        let program = self.program;
        let exit_damping_s = self.params.exit_damping_s;
        let signal = crate::node::stop_on_signals()
            .context("registering the SIGINT and SIGTERM handlers")?;
        let handle = crate::node::start(NodeOptions {
            bus: self.bus,
            joints: joint_specs(&self.table, &self.params),
            params: self.params,
            robot_mode_machine: self.table.mode_machine,
            policy: self.policy,
            scope: self.scope,
            duration: self.duration,
            inject: self.inject,
        })?;
        let rt = handle.realtime();
        if rt.degraded() {
            eprintln!(
                "{program}: warning: real-time scheduling not fully granted ({rt}); the loop runs, \
                 with more jitter on a busy computer (README, \"On the robot\", says how to grant \
                 it)"
            );
        } else {
            eprintln!("{program}: real-time: {rt}");
        }
        Ok(Finished {
            report: handle.run(&signal),
            exit_damping_s,
        })
    }
}

/// A daemon that has stopped.
pub struct Finished {
    /// What the daemon reports.
    pub report: NodeReport,
    exit_damping_s: f64,
}

impl Finished {
    /// Prints the final state, faults and loop timing (quantiles of the control period error, the
    /// LowState-to-LowCmd reaction and the policy inference).
    ///
    /// # Errors
    /// A thread died (the daemon damped and stopped): the caller exits non-zero.
    pub fn summarise(&self) -> Result<()> {
        let report = &self.report;
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
                "the {thread} thread died; the daemon sent damping frames for {:.0} ms and stopped",
                self.exit_damping_s * 1e3
            );
        }
        Ok(())
    }
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

/// Runs the controller daemon as `program` and prints its summary.
///
/// # Errors
/// Bad config, robot or policy, a bus that cannot be opened, or a thread that died.
pub fn control(a: &ControlArgs, program: &'static str) -> Result<()> {
    Daemon::prepare(a, program)?.run()?.summarise()
}
