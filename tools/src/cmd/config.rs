//! `vigor config check|show`.

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Subcommand;

use crate::configs;

/// `vigor config ...`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Parse and validate config files; with no files, every file under ./configs.
    ///
    /// Errors name the file, the key and the allowed range. Exit code 1 if any file fails.
    Check {
        /// Files to check (their path names the schema: .../configs/controller.toml, ...; a
        /// training run's config.toml, beside its `latest` or `checkpoints/`, is a teacher's or
        /// a student's by its tables).
        files: Vec<PathBuf>,
        /// Check every file against this shipped config's schema instead (e.g. `teacher.toml`,
        /// `teacher-unified.toml`, `student.toml`): for copies kept under other names.
        #[arg(long = "as", value_name = "SHIPPED")]
        schema: Option<String>,
        /// Also print the checked parameters (with derived values such as periods).
        #[arg(long)]
        verbose: bool,
    },
    /// Print a shipped config (embedded in this binary): a starting point for your own.
    Show {
        /// Name under configs/, e.g. controller.toml.
        name: String,
    },
}

/// Runs the subcommand.
pub fn run(cmd: &Command) -> Result<()> {
    match cmd {
        Command::Check {
            files,
            verbose,
            schema,
        } => {
            if schema.is_some() && files.is_empty() {
                bail!("--as checks the files named: name at least one");
            }
            let files = if files.is_empty() {
                configs::files_under(std::path::Path::new("configs")).map_err(|e| {
                    anyhow::anyhow!("configs: {e} (run from the repository root or name files)")
                })?
            } else {
                files.clone()
            };
            let mut failed = 0;
            for f in &files {
                match configs::check_file(f, schema.as_deref()) {
                    Ok(params) => {
                        println!("ok    {}", f.display());
                        if *verbose {
                            println!("{params}");
                        }
                    }
                    Err(e) => {
                        failed += 1;
                        println!("FAIL  {e:#}");
                    }
                }
            }
            if failed > 0 {
                bail!("{failed} of {} config files failed", files.len());
            }
            Ok(())
        }
        Command::Show { name } => {
            let Some(k) = configs::find(std::path::Path::new(name)) else {
                let names: Vec<String> = configs::KNOWN
                    .iter()
                    .map(|k| format!("{} ({})", k.name, k.about))
                    .collect();
                bail!(
                    "no shipped config named {name}; shipped: {}",
                    names.join("; ")
                );
            };
            print!("{}", k.embedded);
            Ok(())
        }
    }
}
