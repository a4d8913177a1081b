//! Learning in vigor: everything that turns demonstrations and simulation into a policy artifact.
//!
//! - [`demos`]: retargeted human demonstrations (LAFAN1-G1 import), segmentation into fall and
//!   get-up clips, forward kinematics, sparse keyframes, terrain alignment, and the project's own
//!   authored recovery behaviours.
//!
//! - [`algorithm`], [`run_dir`], [`metrics`]: the one training loop, the run directory it owns, and
//!   the typed metrics line of each iteration.
//! - [`rl`]: PPO, GAE, Adam and observation normalisation.
//! - [`teacher`]: the privileged goal-in-context teacher, its task, curriculum, runs and the
//!   evaluation harness with the paper's metrics.
//! - [`student`]: the depth (and blind) student distilled from the teacher with DAgger.
//!
//! It depends on [`vigor_policy`] for the network and the artifact format, and on [`vigor_sim`] for
//! the robot and the environment; nothing on the robot depends on it.

pub mod algorithm;
pub mod demos;
pub mod metrics;
pub mod mirror;
pub mod rl;
pub mod run_dir;
pub mod student;
pub mod teacher;

pub use vigor_policy as policy;
pub use vigor_sim as sim;
