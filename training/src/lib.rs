//! Learning in vigor: everything that turns demonstrations and simulation into a policy artifact.
//!
//! - [`demos`]: retargeted human demonstrations (LAFAN1-G1 import), segmentation into fall and
//!   get-up clips, forward kinematics, sparse keyframes, terrain alignment, and the project's own
//!   authored recovery behaviours.
//!
//! It will also hold, in rsl_rl's shape: the environment interface, rollout storage, PPO for the
//! goal-in-context teacher, distillation for the depth student (one algorithm trait, one runner),
//! the evaluation harness with the paper's metrics, and run directories with atomic checkpoints.
//! It depends on [`vigor_policy`] for the network and the artifact format, and on [`vigor_sim`] for
//! the robot and the environment; nothing on the robot depends on it.

pub mod demos;
pub mod rl;
pub mod teacher;

pub use vigor_policy as policy;
pub use vigor_sim as sim;
