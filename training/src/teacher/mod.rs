//! VIGOR's privileged teacher: a goal-in-context policy trained with PPO to follow sparse
//! keyframes of a recovery demonstration from lying and falling starts.
//!
//! - [`config`]: `configs/teacher.toml`, typed and checked.
//! - [`reference`]: the tracked demonstration as the task reads it (heading-relative keypoints,
//!   root height, gravity, joints) and its sparse keyframes.
//! - [`task`] and `step`: one environment's observation rows, actions to motor commands, the
//!   reward terms and the episode outcome (success, safe success, time, tracking, energy, drift).
//! - [`model`]: z = g(next keyframe, height scan), pi(z, proprioception history), the critic.
//! - [`rollout`]: whole-episode rollouts of a batch of environments, in parallel.
//! - [`curriculum`]: flat ground, then terrain kinds over difficulty levels.
//! - [`runner`]: the PPO loop, metrics and checkpoints; [`artifact`]: the files; [`curves`]:
//!   the learning-curve picture and the rerun metrics recording.
//!
//! Invariants: every random draw derives from the config's seed and the iteration, so a run
//! resumed from a checkpoint continues exactly as if it had not stopped, for any thread count.

pub mod artifact;
pub mod collect;
pub mod config;
mod config_check;
pub mod curriculum;
pub mod curves;
pub mod eval;
pub mod feasibility;
mod iteration;
pub mod model;
pub mod paired;
pub mod protocol;
pub mod reference;
pub mod replay;
pub mod rollout;
pub mod runner;
mod step;
pub mod symmetry;
pub mod task;
pub mod widen;

#[cfg(test)]
mod curriculum_range_tests;
#[cfg(test)]
mod curriculum_tests;
#[cfg(test)]
mod report_tests;
#[cfg(test)]
mod tests;

pub use artifact::{Teacher, TeacherManifest, load_artifact};
pub use collect::{Collector, InProcess, Job};
pub use config::{TeacherConfig, TeacherParams};
pub use runner::{IterationReport, RunOptions, TrainError, train, train_with, training_sim};
pub use task::{Outcome, TaskEnv};
