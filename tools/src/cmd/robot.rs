//! `vigor robot show|export-mjcf`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use vigor_sim::robot::{Attachment, Robot, to_mjcf};

/// `vigor robot ...`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the robot's links, joints (by motor slot) with limits, gains and default pose.
    Show {
        #[command(flatten)]
        robot: RobotArg,
        /// Print the joints as JSON (for scripts).
        #[arg(long)]
        json: bool,
    },
    /// Write the robot description as an MJCF file that MuJoCo loads (with a ground plane).
    ExportMjcf {
        #[command(flatten)]
        robot: RobotArg,
        /// Output file.
        #[arg(long)]
        out: PathBuf,
        /// Physics timestep written into the model, s.
        #[arg(long, default_value_t = 0.002)]
        timestep: f64,
    },
}

/// Which robot.
#[derive(Debug, Args)]
pub struct RobotArg {
    /// A shipped robot (`g1_29dof`, `g1_23dof`) or a description file (configs/robots/*.toml).
    #[arg(long, default_value = "g1_29dof")]
    robot: String,
}

impl RobotArg {
    fn load(&self) -> Result<Robot> {
        let path = Path::new(&self.robot);
        Ok(if path.extension().is_some_and(|e| e == "toml") {
            Robot::load(path)?
        } else {
            Robot::embedded(&self.robot)?
        })
    }
}

/// Runs the subcommand.
pub fn run(cmd: &Command) -> Result<()> {
    match cmd {
        Command::Show { robot, json: true } => {
            let r = robot.load()?;
            let joints: Vec<serde_json::Value> = r
                .joints
                .iter()
                .map(|j| {
                    serde_json::json!({
                        "name": j.name, "slot": j.slot, "lower": j.lower, "upper": j.upper,
                        "effort": j.effort, "velocity": j.velocity, "kp": j.kp, "kd": j.kd,
                        "default": j.default, "armature": j.armature, "friction": j.friction,
                    })
                })
                .collect();
            let out = serde_json::json!({"name": r.name, "mass_kg": r.mass(), "mode_machine": r.mode_machine, "joints": joints});
            println!("{out}");
            Ok(())
        }
        Command::Show { robot, json: false } => {
            let r = robot.load()?;
            println!(
                "{}: {} links, {} driven joints, {:.3} kg, mode_machine {}",
                r.name,
                r.links.len(),
                r.joints.len(),
                r.mass(),
                r.mode_machine
            );
            println!(
                "slot  joint                          range (rad)        effort  vel    kp     kd    default"
            );
            for j in &r.joints {
                println!(
                    "{:>4}  {:<30} [{:+.3}, {:+.3}]  {:>6.1}  {:>4.0}  {:>5.1}  {:>4.1}  {:+.2}",
                    j.slot, j.name, j.lower, j.upper, j.effort, j.velocity, j.kp, j.kd, j.default
                );
            }
            let fixed: Vec<&str> = r
                .links
                .iter()
                .filter(|l| l.attachment == Attachment::Fixed)
                .map(|l| l.name.as_str())
                .collect();
            if !fixed.is_empty() {
                println!("locked links: {}", fixed.join(", "));
            }
            Ok(())
        }
        Command::ExportMjcf {
            robot,
            out,
            timestep,
        } => {
            let r = robot.load()?;
            vigor_common::fsutil::write_atomic(out, to_mjcf(&r, *timestep).as_bytes())
                .with_context(|| format!("writing {}", out.display()))?;
            println!(
                "wrote {} ({}, {} joints)",
                out.display(),
                r.name,
                r.joints.len()
            );
            Ok(())
        }
    }
}
