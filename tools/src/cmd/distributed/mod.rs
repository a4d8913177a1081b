//! Training beyond one machine: one learner and rollout workers over zenoh.
//!
//! The learner (`vigor train teacher --workers N`) runs the ordinary training loop
//! ([`vigor_training::teacher::train_with`]) with a [`Learner`] as its collector. Each
//! iteration's episodes are split into chunks of `--chunk-envs` episodes; the learner answers
//! three queryables:
//!
//! - [`topics::TRAIN_WORK`]: an idle worker asks for work and gets a chunk's [`Assignment`] (or
//!   `Wait`, or `Done` at the end of the run);
//! - [`topics::TRAIN_WEIGHTS`]: a worker whose weights are not the assignment's version fetches
//!   them (the manifest, with configuration and normaliser, and every tensor), so a worker that
//!   joins late starts from the current weights;
//! - [`topics::TRAIN_CHUNK`]: a worker hands in the rollout of its chunk, and learns whether it
//!   was taken.
//!
//! Every chunk carries the weights version it ran with. The learner takes a chunk only for the
//! iteration and version it assigned (anything older is dropped as stale) and reports the
//! staleness of what it trains on: 0 when each iteration waits for the newest weights, 1 with
//! `--overlap`, where the next iteration's episodes run on the current weights while the update
//! runs and PPO's ratio against the behaviour policy's log-probabilities (carried in the chunk)
//! makes the lag safe.
//!
//! Each worker holds a zenoh liveliness token; when it disappears (the process died, its link
//! dropped) the chunks it held go back to the queue at once, and a chunk held longer than
//! `--reassign-after-s` goes back too (a hung worker). Episodes are deterministic given their
//! assignment, so a chunk run twice on the same kind of CPU and libtorch gives the same rollout,
//! and a CPU run with each iteration in one chunk and no lag equals the in-process run bit for
//! bit (smaller chunks change the forward passes' batch size, and with it the last bits).

use std::path::PathBuf;
use std::time::Duration;

use vigor_controller::bus::{BusConfig, Mode};

/// The learner's default listening endpoint (the simulated robot's bus uses 7447).
pub const DEFAULT_LEARNER_ENDPOINT: &str = "tcp/127.0.0.1:7460";
/// Liveliness key prefix of the workers' tokens.
const WORKER_TOKEN: &str = "vigor/train/worker";
/// Weights versions the learner keeps answering for.
const KEPT_VERSIONS: usize = 4;

mod collect;
mod learner;
#[cfg(test)]
mod tests;
mod worker;

pub use learner::{Learner, LearnerOptions};
pub use worker::{WorkerOptions, run_worker};

/// The learner's options from the command line's.
#[must_use]
pub fn learner_options(
    listen: &[String],
    bus_config: Option<PathBuf>,
    local_workers: usize,
    worker_threads: usize,
    chunk_envs: usize,
    overlap: bool,
    reassign_after_s: f64,
) -> LearnerOptions {
    LearnerOptions {
        bus: BusConfig {
            config_file: bus_config,
            connect: Vec::new(),
            listen: listen.to_vec(),
            mode: Some(Mode::Router),
        },
        local_workers,
        worker_threads,
        chunk_envs,
        overlap,
        reassign_after: Duration::from_secs_f64(reassign_after_s.max(0.1)),
    }
}
