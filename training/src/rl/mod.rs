//! Reinforcement learning in rsl_rl's shape, written with tch: running observation normalisation,
//! generalised advantage estimation over a rollout, PPO's losses and its KL-adaptive learning rate,
//! and an Adam optimiser whose moments live in the checkpoint (so a resumed run continues exactly).
//!
//! Invariants: nothing here reads a clock or an unseeded random source; minibatch order comes from
//! a seed the caller passes. Every function that is a formula is tested against hand-worked values
//! in `tests.rs`.

pub mod adam;
pub mod gae;
pub mod normaliser;
pub mod ppo;

pub use adam::Adam;
pub use gae::{Advantages, gae, grouped_gae};
pub use normaliser::RunningNorm;
pub use ppo::{
    GaussianPolicy, Part, PpoBatch, PpoConfig, PpoStats, adapt_learning_rate, clipped_surrogate,
    clipped_value_loss, gaussian_kl, gaussian_log_prob, ppo_update,
};

#[cfg(test)]
mod symmetry_tests;
#[cfg(test)]
mod tests;
