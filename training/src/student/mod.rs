//! The depth student (VIGOR's deployable policy), distilled from the teacher.
//!
//! - [`config`]: `configs/student.toml` (depth or blind, model sizes, depth preprocessing and
//!   randomisation, DAgger schedule, optimiser).
//! - [`sensor`]: the simulated head camera and randomisation feeding the robot's own input code.
//! - [`rollout`]: DAgger rollouts (teacher labels, mixture actions) and evaluation rollouts.
//! - [`runner`]: the distillation run (DAgger rollouts, updates, metrics, curves).
//! - [`artifact`]: the deployable artifact with its probe, checkpoints and resume.
//!
//! Invariants: the student's inputs are built by `vigor_policy::StudentInputs` exactly as on the
//! robot; the same seed and configuration give the same student on any thread count.

pub mod artifact;
pub mod config;
mod dagger;
pub mod rollout;
pub mod runner;
pub mod sensor;
pub mod symmetry;

pub use artifact::{export, load_student};
pub use config::{StudentConfig, StudentKind};
pub use runner::{StudentRunOptions, StudentTask, train_student};
