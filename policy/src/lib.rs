//! What training and the controller must agree on: the policy network, the observation layout
//! and the deployable policy artifact.
//!
//! - [`obs`]: named observation blocks and their order, so the controller can check at load that
//!   it builds exactly the vector the policy was trained on.
//! - [`net`]: the actor network (tch), with named layers so checkpoint keys stay stable.
//! - [`artifact`]: one self-contained directory per policy, every kind in one format:
//!   `weights.safetensors` plus `manifest.json` (schema version, kind, robot joints, normaliser,
//!   network, weights digest, git hash, seed), written atomically and verified on load;
//!   [`normaliser`], the one observation normaliser of training and deployment; [`mlp`], the
//!   proprioceptive MLP.
//! - [`runtime`]: the [`PolicyRuntime`] trait every robot-runnable kind implements, and the
//!   [`Deployment`] (primary policy plus blind fallback) the controller's policy thread holds.
//! - [`student`] and [`student_runtime`]: the depth student (CNN over depth, temporal convolution
//!   over proprioception, latent head, actor), its artifact, and the input pipeline shared by
//!   training and the robot; [`student_probe`], the artifact's self-check.
//!
//! Invariants: a loaded artifact reproduces the outputs it was saved with; the controller depends
//! on this crate and never on `vigor-training`.

pub mod artifact;
pub mod legacy;
pub mod mlp;
pub mod net;
pub mod normaliser;
pub mod obs;
pub mod runtime;
pub mod student;
pub mod student_probe;
pub mod student_runtime;
pub mod track;

pub use artifact::{
    ActionMode, ActionSpec, ArtifactError, Manifest, MlpNetwork, Network, Policy, PolicyKind,
};
pub use net::{Activation, Mlp, MlpSpec};
pub use normaliser::Normaliser;
pub use obs::{ObsBlock, ObservationLayout, Proprioception, projected_gravity};
pub use runtime::{
    Acting, Deployment, MlpRuntime, PolicyOutput, PolicyRuntime, RobotJoints, RobotState,
    StudentDeployment, load_runtime, set_fallback,
};
pub use student::{StudentNetwork, StudentPolicy, StudentSpec};
pub use student_runtime::{StudentInputs, StudentOutput, StudentRuntime};
pub use track::set_again;

/// The code paths of the math libraries under libtorch, pinned to AVX2 (environment variable,
/// value): MKL's matrix products (`MKL_CBWR`, its conditional numerical reproducibility), ATen's
/// own vectorised kernels (`ATEN_CPU_CAPABILITY`) and oneDNN's convolutions
/// (`ONEDNN_MAX_CPU_ISA`). Each picks the widest instructions the processor has, and results
/// differ in the last bits between them (measured 2026-12-06: the same evaluation on an AVX-512
/// machine, default against `MKL_CBWR=AVX2`, differed in all 16 episodes), which the physics then
/// carries apart. Pinned, a run resumed or an evaluation repeated on another x86-64 machine with
/// AVX2 computes what it computed here.
pub const PINNED_MATH_PATHS: [(&str, &str); 3] = [
    ("MKL_CBWR", "AVX2"),
    ("ATEN_CPU_CAPABILITY", "avx2"),
    ("ONEDNN_MAX_CPU_ISA", "AVX2"),
];

/// The entries of [`PINNED_MATH_PATHS`] that `get` (the process environment) does not set
/// already: a value the user chose wins. The binaries set these first thing in `main`, before any
/// thread exists and before libtorch first runs.
pub fn math_paths_to_pin(
    get: impl Fn(&str) -> Option<String>,
) -> Vec<(&'static str, &'static str)> {
    PINNED_MATH_PATHS
        .into_iter()
        .filter(|(key, _)| get(key).is_none())
        .collect()
}

/// Runs libtorch's operators on the calling thread only (no intra-op worker pool). The robot's
/// policy is small: a pool would add wake-up latency, and its workers would inherit the policy
/// thread's real-time priority and spin on a core the control loop may need.
pub fn run_single_threaded() {
    tch::set_num_threads(1);
}

#[cfg(test)]
mod pin_tests {
    use super::{PINNED_MATH_PATHS, math_paths_to_pin};

    #[test]
    fn the_pins_fill_what_the_environment_leaves_unset_and_a_users_choice_wins() {
        assert_eq!(math_paths_to_pin(|_| None), PINNED_MATH_PATHS.to_vec());
        let chosen = |k: &str| (k == "MKL_CBWR").then(|| "AUTO".to_owned());
        assert_eq!(
            math_paths_to_pin(chosen),
            vec![
                ("ATEN_CPU_CAPABILITY", "avx2"),
                ("ONEDNN_MAX_CPU_ISA", "AVX2")
            ]
        );
        assert!(math_paths_to_pin(|_| Some(String::new())).is_empty());
    }
}
