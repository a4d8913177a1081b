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

/// Runs libtorch's operators on the calling thread only (no intra-op worker pool). The robot's
/// policy is small: a pool would add wake-up latency, and its workers would inherit the policy
/// thread's real-time priority and spin on a core the control loop may need.
pub fn run_single_threaded() {
    tch::set_num_threads(1);
}
