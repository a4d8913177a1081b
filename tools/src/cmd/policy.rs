//! `vigor policy init`: a freshly initialised policy artifact, for trying the controller before
//! a trained one exists; `vigor policy check`: a student artifact's self-check; `vigor policy
//! migrate`: artifacts of schema 1 converted to the current one; `vigor policy fallback`: the
//! blind student a depth student falls back to; `vigor policy again`: whether a student starts a
//! failed recovery over.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Subcommand;
use vigor_policy::Policy;

/// `vigor policy ...`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a seeded, untrained policy artifact for a G1 (29-DoF unless --robot says otherwise) (manifest.json + weights.safetensors),
    /// or with --teacher an untrained teacher.
    Init {
        /// Output folder.
        #[arg(long)]
        out: PathBuf,
        /// Weight initialisation seed.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Robot description (a shipped name or a file): the policy drives its joints.
        #[arg(long, default_value = "g1_29dof")]
        robot: String,
        /// Fault injection for controller tests: make every action NaN (the actor's output bias
        /// is set to NaN). Never deploy such an artifact; the controller must refuse it at run
        /// time by damping.
        #[arg(long)]
        nan_actions: bool,
        /// Write an untrained goal-in-context teacher (`manifest.json` + `weights.safetensors`)
        /// for the teacher config instead: the baseline `vigor eval` compares trained teachers
        /// with.
        #[arg(long)]
        teacher: bool,
        /// The teacher config (with --teacher; default: the embedded configs/teacher.toml).
        #[arg(long, requires = "teacher")]
        config: Option<PathBuf>,
    },
    /// Convert a policy artifact of schema 1 (`teacher.json`, `student.json`, or a
    /// `manifest.json` of version 1) into the current format, in place: the weights stay as they
    /// are (so the policy acts exactly as before; `vigor policy check` replays a student's probe),
    /// a `manifest.json` of schema 2 replaces the old manifest, and every other file is kept.
    Migrate {
        /// The artifact folder.
        dir: PathBuf,
        /// Robot description the policy drives (a shipped name or a file): its joint names, by
        /// motor slot, go into the manifest.
        #[arg(long, default_value = "g1_29dof")]
        robot: String,
        /// For a depth student: its blind fallback, a folder relative to DIR (e.g.
        /// `../student-blind`), which the controller loads when depth frames stop.
        #[arg(long)]
        fallback: Option<String>,
    },
    /// Name the blind student a depth student falls back to when depth frames stop, or with
    /// --clear remove it. The pair is checked first as the controller loads it (both load for the
    /// robot, the fallback reads no depth and drives the same joints); only `manifest.json`
    /// changes, the weights stay as they are. `vigor control --policy DIR` then loads the
    /// fallback without `--blind-policy`.
    Fallback {
        /// The depth student's artifact folder.
        dir: PathBuf,
        /// The blind student's folder, relative to DIR (e.g. `../student-blind-unified`), so the
        /// two can be moved together.
        #[arg(required_unless_present = "clear", conflicts_with = "clear")]
        fallback: Option<String>,
        /// Remove the fallback the manifest names.
        #[arg(long)]
        clear: bool,
        /// Robot description the pair must drive (a shipped name or a file).
        #[arg(long, default_value = "g1_29dof")]
        robot: String,
    },
    /// Let a student start a recovery over whenever its clip has ended with the robot lying (a
    /// failed get-up, or a second fall), from the recovery for how it lies; with --sitting-deg
    /// also when it sits still after its clip; with --off it tries once and then holds the clip's
    /// standing frame. Only `manifest.json` changes (`network.student.reanchor.again` and
    /// `.sitting_tilt_rad`); every action before a clip ends is as before.
    Again {
        /// The student's artifact folder.
        dir: PathBuf,
        /// Try each recovery once (the rule of artifacts written before this option).
        #[arg(long, conflicts_with = "sitting_deg")]
        off: bool,
        /// Also start over a robot that sits after its clip: leaning backward or sideways past
        /// this many degrees (11.5 up to the rule's lying tilt) and still for 0.5 s. A forward
        /// lean never counts (a crouch rising over its feet). Without it only a lying robot
        /// starts over.
        #[arg(long, value_name = "DEG")]
        sitting_deg: Option<f32>,
    },
    /// Check a student artifact on this machine: load it as the controller does, replay its probe
    /// (a recorded episode's raw depth frames and proprioception) one tick at a time, and compare
    /// every action with the one training computed. Exits non-zero above the tolerance.
    Check {
        /// The student artifact folder (`manifest.json`, `weights.safetensors`,
        /// `probe.safetensors`).
        policy: PathBuf,
        /// Largest allowed difference per action value.
        #[arg(long, default_value_t = 1e-4)]
        tolerance: f32,
    },
}

/// Runs the subcommand.
///
/// # Errors
/// The artifact cannot be written.
pub fn run(c: &Command) -> Result<()> {
    match c {
        Command::Migrate {
            dir,
            robot,
            fallback,
        } => migrate(dir, robot, fallback.clone()),
        Command::Fallback {
            dir,
            fallback,
            robot,
            ..
        } => {
            let robot = crate::cmd::control::robot_named(robot)?;
            let names: Vec<String> = robot.joints.iter().map(|j| j.name.clone()).collect();
            let default_q: Vec<f32> = robot.joints.iter().map(|j| j.default as f32).collect();
            let joints = vigor_policy::RobotJoints {
                names: &names,
                default_q: &default_q,
            };
            let m = vigor_policy::set_fallback(dir, fallback.as_deref(), joints)?;
            match fallback {
                Some(f) => println!(
                    "{}: `{}` falls back to {f} (`{}`) when depth frames stop",
                    dir.display(),
                    m.name,
                    vigor_policy::artifact::read_manifest(&dir.join(f))?.name
                ),
                None => println!("{}: `{}` has no fallback now", dir.display(), m.name),
            }
            Ok(())
        }
        Command::Again {
            dir,
            off,
            sitting_deg,
        } => {
            let sitting = sitting_deg.map(f32::to_radians);
            let m = vigor_policy::set_again(dir, !off, sitting)?;
            let what = match (off, sitting_deg) {
                (true, _) => "tries each recovery once".to_string(),
                (false, None) => {
                    "starts a recovery over when its clip has ended with the robot lying".into()
                }
                (false, Some(d)) => format!(
                    "starts a recovery over when its clip has ended with the robot lying, or \
                     sitting still leaning back or sideways past {d}°"
                ),
            };
            println!("{}: `{}` {what}", dir.display(), m.name);
            Ok(())
        }
        Command::Check { policy, tolerance } => {
            let r = vigor_policy::student_probe::replay_probe(policy)
                .map_err(|e| anyhow::anyhow!("{}: {e}", policy.display()))?;
            println!(
                "{}: {} ticks, {} depth frames replayed; largest action difference {:.2e} (tolerance {tolerance:.0e})",
                policy.display(),
                r.ticks,
                r.depth_frames,
                r.max_abs_error
            );
            anyhow::ensure!(
                r.max_abs_error <= *tolerance,
                "the artifact does not reproduce its training outputs on this machine"
            );
            Ok(())
        }
        Command::Init {
            out,
            seed,
            teacher: true,
            config,
            ..
        } => {
            use vigor_common::config::Validate;
            let (raw, file) = match config {
                Some(path) => (
                    vigor_common::config::load::<vigor_training::teacher::TeacherConfig>(path)?,
                    path.display().to_string(),
                ),
                None => (
                    vigor_common::config::parse(
                        vigor_training::teacher::config::DEFAULT_TOML,
                        "<embedded configs/teacher.toml>",
                    )?,
                    "<embedded configs/teacher.toml>".to_owned(),
                ),
            };
            let params = raw.validate(&file)?;
            let robot = vigor_sim::robot::Robot::embedded("g1_29dof")?;
            let (net, mut manifest) = vigor_training::teacher::runner::untrained(
                &params,
                &robot,
                *seed,
                env!("VIGOR_GIT_HASH"),
            );
            vigor_training::teacher::artifact::save_artifact(out, &net, &mut manifest)?;
            println!("wrote {} ({})", out.display(), manifest.name);
            Ok(())
        }
        Command::Init {
            out,
            seed,
            nan_actions,
            robot,
            ..
        } => {
            let name = if *nan_actions {
                format!("nan-actions-seed{seed}")
            } else {
                format!("untrained-seed{seed}")
            };
            let robot = crate::cmd::control::robot_named(robot)?;
            let mut p = Policy::init(crate::cmd::demo::untrained_manifest_for(
                &name, *seed, &robot,
            ))?;
            if *nan_actions {
                let vars = p.var_store().variables();
                let last = vars
                    .keys()
                    .filter(|k| k.ends_with(".bias"))
                    .max()
                    .cloned()
                    .ok_or_else(|| anyhow::anyhow!("the actor has no bias to poison"))?;
                tch::no_grad(|| {
                    let _ = vars[&last].shallow_clone().fill_(f64::NAN);
                });
            }
            p.save(out)?;
            println!("wrote {} ({name})", out.display());
            Ok(())
        }
    }
}

fn migrate(dir: &Path, robot: &str, fallback: Option<String>) -> Result<()> {
    let robot = crate::cmd::control::robot_named(robot)?;
    let names: Vec<String> = robot.joints.iter().map(|j| j.name.clone()).collect();
    let teacher = dir.join(vigor_training::teacher::artifact::LEGACY_TEACHER_MANIFEST);
    let student = dir.join(vigor_policy::legacy::LEGACY_STUDENT_MANIFEST);
    let m = if teacher.exists() {
        vigor_training::teacher::artifact::migrate_legacy(dir, dir, &names)?
    } else if vigor_policy::legacy::is_legacy(dir) {
        vigor_policy::legacy::migrate(dir, dir, &robot.name, &names, fallback)?
    } else {
        let m = vigor_policy::artifact::read_manifest(dir)?;
        println!(
            "{}: already schema {} (`{}`, {}); nothing to do",
            dir.display(),
            m.schema_version,
            m.name,
            m.kind
        );
        return Ok(());
    };
    for old in [teacher, student] {
        if old.exists() {
            std::fs::remove_file(&old).with_context(|| format!("removing {}", old.display()))?;
        }
    }
    // Read back through the one load path.
    let back = vigor_policy::artifact::read_manifest(dir)?;
    anyhow::ensure!(
        back == m,
        "{}: the manifest did not read back",
        dir.display()
    );
    println!(
        "{}: `{}` ({}) converted to schema {}; weights unchanged (SHA-256 {})",
        dir.display(),
        m.name,
        m.kind,
        m.schema_version,
        &m.weights_sha256[..12]
    );
    Ok(())
}
