//! Learning in vigor: everything that turns demonstrations and simulation into a policy artifact.
//!
//! It will hold, in rsl_rl's shape: demonstration import and keyframes, the environment interface,
//! rollout storage, PPO for the goal-in-context teacher, distillation for the depth student (one
//! algorithm trait, one runner), the evaluation harness with the paper's metrics, and run
//! directories with atomic checkpoints. It depends on [`vigor_policy`] for the network and the
//! artifact format, and on [`vigor_sim`] for the environment; nothing on the robot depends on it.
//!
//! Today it holds no code of its own: the demonstrations, teacher and student issues fill it.

pub use vigor_policy as policy;
pub use vigor_sim as sim;
