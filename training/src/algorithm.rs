//! The one training loop, shared by every algorithm (the teacher's PPO and the students' DAgger,
//! as rsl_rl's runner shares its loop between its algorithms): each iteration the algorithm
//! collects and learns ([`Algorithm::iterate`]); the loop appends the iteration's metrics to the
//! run directory, lets the algorithm keep its best artifact, commits a checkpoint every so many
//! iterations and at the end (the algorithm writes its files into the checkpoint's temporary
//! folder), and reports to the caller (progress bars, logs).

use std::path::{Path, PathBuf};

use vigor_sim::env::EnvError;

use crate::demos::DemoError;
use crate::metrics::Metrics;
use crate::run_dir::{RunDir, RunDirError};
use crate::teacher::artifact::ArtifactError;

/// Why training stopped.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// Simulator.
    #[error(transparent)]
    Env(#[from] EnvError),
    /// Demonstrations.
    #[error(transparent)]
    Demo(#[from] DemoError),
    /// Artifact or checkpoint.
    #[error(transparent)]
    Artifact(#[from] ArtifactError),
    /// The run directory.
    #[error(transparent)]
    RunDir(#[from] RunDirError),
    /// A file.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// `--resume` with a different configuration, or a new run over an existing one.
    #[error("{0}")]
    Resume(String),
    /// An artifact's stored configuration or an episode description is not valid here.
    #[error("{0}")]
    Invalid(String),
}

/// One iteration's headline numbers (the rest is in the metrics line).
#[derive(Debug, Clone)]
pub struct IterationReport {
    /// Iteration just finished (from 1).
    pub iteration: u64,
    /// Of how many.
    pub iterations: u64,
    /// Environment steps so far.
    pub env_steps: u64,
    /// Environment steps per second of this iteration (rollout plus update).
    pub steps_per_s: f64,
    /// The headline number beside success: the teacher's mean episode return, a student's
    /// action error against the teacher.
    pub mean_return: f64,
    /// Success rate.
    pub success: f64,
    /// The full metrics line.
    pub metrics: Metrics,
}

/// One training algorithm as the loop drives it.
pub trait Algorithm {
    /// Iterations done so far (more than zero after a resume).
    fn done(&self) -> u64;
    /// Runs one iteration (episodes and an update) and reports it, its metrics line included.
    ///
    /// # Errors
    /// Simulator or update errors.
    fn iterate(&mut self) -> Result<IterationReport, TrainError>;
    /// After the iteration's metrics are written: keeps the best artifact, for an algorithm that
    /// has one.
    ///
    /// # Errors
    /// File errors.
    fn after_iteration(&mut self, _run: &RunDir) -> Result<(), TrainError> {
        Ok(())
    }
    /// Writes everything a resume needs into the checkpoint folder `dir`.
    ///
    /// # Errors
    /// File or libtorch errors.
    fn write_checkpoint(&mut self, dir: &Path) -> Result<(), TrainError>;
    /// After a checkpoint is committed: pictures and exports in the run directory.
    ///
    /// # Errors
    /// File errors.
    fn after_checkpoint(&mut self, _run: &RunDir) -> Result<(), TrainError> {
        Ok(())
    }
}

/// Runs `algorithm` in `run` until `iterations` are done, with a checkpoint every
/// `checkpoint_every` iterations and after the last; `on_iteration` sees every report.
///
/// # Errors
/// The algorithm's errors, or the run directory's.
pub fn run<A, F>(
    algorithm: &mut A,
    run: &RunDir,
    iterations: u64,
    checkpoint_every: u64,
    mut on_iteration: F,
) -> Result<(), TrainError>
where
    A: Algorithm + ?Sized,
    F: FnMut(&IterationReport),
{
    while algorithm.done() < iterations {
        let report = algorithm.iterate()?;
        run.append_metrics(&report.metrics)?;
        algorithm.after_iteration(run)?;
        let it = report.iteration;
        if it.is_multiple_of(checkpoint_every.max(1)) || it == iterations {
            run.commit_checkpoint(it, |dir| algorithm.write_checkpoint(dir))?;
            algorithm.after_checkpoint(run)?;
        }
        on_iteration(&report);
    }
    Ok(())
}
