//! The proprioceptive MLP (`vigor policy init`): one observation vector in, one action per joint
//! out, in the policy artifact format of [`crate::artifact`].

use std::path::Path;

use tch::nn::{self, Module};
use tch::{Device, Kind, Tensor};

use crate::artifact::{
    ACTOR_PREFIX, ArtifactError, MANIFEST_FILE, Manifest, MlpNetwork, SCHEMA_VERSION, load_weights,
    read_manifest, save,
};
use crate::net::Mlp;

/// A proprioceptive MLP ready to act: manifest plus actor network on the CPU.
#[derive(Debug)]
pub struct Policy {
    manifest: Manifest,
    mlp: MlpNetwork,
    vs: nn::VarStore,
    actor: Mlp,
}

impl Policy {
    /// A freshly initialised policy, seeded: the same seed gives the same weights.
    ///
    /// # Errors
    /// [`ArtifactError`] if the manifest is not an MLP's or its shapes disagree.
    pub fn init(mut manifest: Manifest) -> Result<Self, ArtifactError> {
        manifest.schema_version = SCHEMA_VERSION;
        manifest.check(Path::new("<new policy>"))?;
        let mlp = mlp_of(&manifest, Path::new("<new policy>"))?.clone();
        let vs = nn::VarStore::new(Device::Cpu);
        let mut actor = Mlp::new(&(vs.root() / ACTOR_PREFIX), &mlp.actor);
        actor.init_seeded(manifest.seed);
        Ok(Self {
            manifest,
            mlp,
            vs,
            actor,
        })
    }

    /// The manifest (its `weights_sha256` is current after [`Policy::save`] or [`Policy::load`]).
    #[must_use]
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The MLP part of the manifest.
    #[must_use]
    pub fn network(&self) -> &MlpNetwork {
        &self.mlp
    }

    /// The variable store (for training).
    #[must_use]
    pub fn var_store(&self) -> &nn::VarStore {
        &self.vs
    }

    /// Actions for one raw observation (normalised here, in f32).
    ///
    /// # Errors
    /// [`ArtifactError::ObservationSize`] or a libtorch error.
    pub fn act(&self, observation: &[f32]) -> Result<Vec<f32>, ArtifactError> {
        let n = &self.manifest.normaliser;
        if observation.len() != n.len() {
            return Err(ArtifactError::ObservationSize {
                expected: n.len(),
                got: observation.len(),
            });
        }
        let mut normalised = observation.to_vec();
        n.apply_f32(&mut normalised);
        let out = tch::no_grad(|| {
            let x = Tensor::from_slice(&normalised)
                .to_kind(Kind::Float)
                .unsqueeze(0);
            self.actor.forward(&x).squeeze_dim(0)
        });
        Ok(Vec::<f32>::try_from(&out)?)
    }

    /// Writes the artifact into `dir` (created if needed) atomically, updating the manifest's
    /// weights digest.
    ///
    /// # Errors
    /// I/O or libtorch errors, naming the file.
    pub fn save(&mut self, dir: &Path) -> Result<(), ArtifactError> {
        save(dir, &self.vs, &mut self.manifest)
    }

    /// Loads the MLP artifact in `dir`, checking schema, kind, digest and shapes.
    ///
    /// # Errors
    /// Any [`ArtifactError`], naming the file.
    pub fn load(dir: &Path) -> Result<Self, ArtifactError> {
        let manifest = read_manifest(dir)?;
        let mlp = mlp_of(&manifest, &dir.join(MANIFEST_FILE))?.clone();
        let mut vs = nn::VarStore::new(Device::Cpu);
        let actor = Mlp::new(&(vs.root() / ACTOR_PREFIX), &mlp.actor);
        load_weights(dir, &manifest, &mut vs)?;
        Ok(Self {
            manifest,
            mlp,
            vs,
            actor,
        })
    }
}

fn mlp_of<'a>(m: &'a Manifest, path: &Path) -> Result<&'a MlpNetwork, ArtifactError> {
    m.mlp().ok_or_else(|| ArtifactError::WrongKind {
        path: path.to_path_buf(),
        kind: m.kind,
        message: "expected a proprioceptive MLP (`mlp`)".into(),
    })
}
