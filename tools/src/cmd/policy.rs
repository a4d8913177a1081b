//! `vigor policy init`: a freshly initialised policy artifact, for trying the controller before
//! a trained one exists.

use std::path::PathBuf;

use anyhow::Result;
use clap::Subcommand;
use vigor_policy::Policy;

/// `vigor policy ...`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a seeded, untrained G1 29-DoF policy artifact (manifest.json + weights.safetensors).
    Init {
        /// Output folder.
        #[arg(long)]
        out: PathBuf,
        /// Weight initialisation seed.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Fault injection for controller tests: make every action NaN (the actor's output bias
        /// is set to NaN). Never deploy such an artifact; the controller must refuse it at run
        /// time by damping.
        #[arg(long)]
        nan_actions: bool,
    },
}

/// Runs the subcommand.
///
/// # Errors
/// The artifact cannot be written.
pub fn run(c: &Command) -> Result<()> {
    match c {
        Command::Init {
            out,
            seed,
            nan_actions,
        } => {
            let name = if *nan_actions {
                format!("nan-actions-seed{seed}")
            } else {
                format!("untrained-seed{seed}")
            };
            let mut p = Policy::init(crate::cmd::demo::untrained_manifest(&name, *seed))?;
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
