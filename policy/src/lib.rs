//! What training and the controller must agree on: the policy network, the observation layout
//! and the deployable policy artifact.
//!
//! - [`obs`]: named observation blocks and their order, so the controller can check at load that
//!   it builds exactly the vector the policy was trained on.
//! - [`net`]: the actor network (tch), with named layers so checkpoint keys stay stable.
//! - [`artifact`]: one self-contained directory per policy: `weights.safetensors` plus
//!   `manifest.json` (schema version, observation layout, normaliser statistics, action scaling,
//!   network shape, weights digest, git hash, seed), written atomically and verified on load.
//!
//! Invariants: a loaded artifact reproduces the outputs it was saved with; the controller depends
//! on this crate and never on `vigor-training`.

pub mod artifact;
pub mod net;
pub mod obs;

pub use artifact::{ActionMode, ActionSpec, ArtifactError, Manifest, Normaliser, Policy};
pub use net::{Activation, Mlp, MlpSpec};
pub use obs::{ObsBlock, ObservationLayout, Proprioception, projected_gravity};
