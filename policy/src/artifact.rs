//! The deployable policy artifact: a directory with `weights.safetensors` and `manifest.json`.
//!
//! Saving writes the weights to a temporary file, syncs and renames it, then writes the manifest
//! (which carries the weights' SHA-256) the same way; loading checks the schema version, the digest
//! and that the manifest's shapes agree with each other and with the weights. A crash during
//! saving leaves either the previous artifact or a manifest whose digest does not match, never a
//! silently mixed one.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tch::nn::{self, Module};
use tch::{Device, Kind, Tensor};
use vigor_common::fsutil;

use crate::net::{Mlp, MlpSpec};
use crate::obs::ObservationLayout;

/// Schema version written into every manifest; loading refuses others.
pub const SCHEMA_VERSION: u32 = 1;
/// Manifest file name inside an artifact directory.
pub const MANIFEST_FILE: &str = "manifest.json";
/// Weights file name inside an artifact directory.
pub const WEIGHTS_FILE: &str = "weights.safetensors";
/// Variable-store prefix of the actor's layers (`actor.l0.weight`, ...).
pub const ACTOR_PREFIX: &str = "actor";

/// Running observation normalisation: `clamp((x - mean) / sqrt(var + epsilon), -clip, clip)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Normaliser {
    /// Mean per observation value.
    pub mean: Vec<f32>,
    /// Variance per observation value.
    pub var: Vec<f32>,
    /// Added to the variance before the square root.
    pub epsilon: f32,
    /// Symmetric clip of the normalised value.
    pub clip: f32,
}

impl Normaliser {
    /// The identity normaliser (mean 0, variance 1) for `n` values.
    #[must_use]
    pub fn identity(n: usize) -> Self {
        Self {
            mean: vec![0.0; n],
            var: vec![1.0; n],
            epsilon: 1e-8,
            clip: 5.0,
        }
    }
}

/// How actions become joint position targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionMode {
    /// `q* = q_default + scale * a`.
    DefaultOffset,
    /// `q* = q_current + scale * a` (HoST's form).
    CurrentDelta,
}

/// Action interpretation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionSpec {
    /// Number of action values (joints driven).
    pub dim: usize,
    /// How actions map to targets.
    pub mode: ActionMode,
    /// Scale applied to actions, rad.
    pub scale: f32,
}

/// `manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// [`SCHEMA_VERSION`] when written.
    pub schema_version: u32,
    /// Human-readable name, e.g. `teacher-flat-seed3`.
    pub name: String,
    /// Observation vector the actor expects (before normalisation).
    pub observation: ObservationLayout,
    /// Observation normalisation.
    pub normaliser: Normaliser,
    /// Action interpretation.
    pub action: ActionSpec,
    /// Actor network shape.
    pub actor: MlpSpec,
    /// Lower-case hex SHA-256 of `weights.safetensors` (filled in by [`Policy::save`]).
    pub weights_sha256: String,
    /// Git commit of the code that produced the artifact (`unknown` outside a checkout).
    pub git_hash: String,
    /// Seed of the run that produced it.
    pub seed: u64,
}

/// Why an artifact could not be saved, loaded or run.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// `manifest.json` is not valid JSON or does not match the schema.
    #[error("{path}: invalid manifest: {message}")]
    Manifest {
        /// The manifest file.
        path: PathBuf,
        /// serde's description.
        message: String,
    },
    /// The manifest has a schema version this build does not read.
    #[error("{path}: manifest schema version {found}, this build reads {SCHEMA_VERSION}")]
    Schema {
        /// The manifest file.
        path: PathBuf,
        /// Version found.
        found: u32,
    },
    /// The weights are not the ones the manifest was written for.
    #[error("{path}: SHA-256 {found} does not match the manifest's {expected}")]
    Digest {
        /// The weights file.
        path: PathBuf,
        /// Digest in the manifest.
        expected: String,
        /// Digest of the file.
        found: String,
    },
    /// Manifest fields disagree with each other.
    #[error("inconsistent manifest: {0}")]
    Inconsistent(String),
    /// An observation of the wrong size was passed to [`Policy::act`].
    #[error("observation has {got} values, the policy expects {expected}")]
    ObservationSize {
        /// Values expected.
        expected: usize,
        /// Values passed.
        got: usize,
    },
    /// libtorch reported an error (missing or mis-shaped tensors in the weights, ...).
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
}

/// A policy ready to act: manifest plus actor network on the CPU.
#[derive(Debug)]
pub struct Policy {
    manifest: Manifest,
    vs: nn::VarStore,
    actor: Mlp,
}

impl Policy {
    /// A freshly initialised policy, seeded: the same seed gives the same weights.
    ///
    /// # Errors
    /// [`ArtifactError::Inconsistent`] if the manifest's shapes disagree.
    pub fn init(mut manifest: Manifest) -> Result<Self, ArtifactError> {
        manifest.schema_version = SCHEMA_VERSION;
        check_consistent(&manifest)?;
        let vs = nn::VarStore::new(Device::Cpu);
        let mut actor = Mlp::new(&(vs.root() / ACTOR_PREFIX), &manifest.actor);
        actor.init_seeded(manifest.seed);
        Ok(Self {
            manifest,
            vs,
            actor,
        })
    }

    /// The manifest (its `weights_sha256` is current after [`Policy::save`] or [`Policy::load`]).
    #[must_use]
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The variable store (for training).
    #[must_use]
    pub fn var_store(&self) -> &nn::VarStore {
        &self.vs
    }

    /// Actions for one raw observation (normalised here).
    ///
    /// # Errors
    /// [`ArtifactError::ObservationSize`] or a libtorch error.
    pub fn act(&self, observation: &[f32]) -> Result<Vec<f32>, ArtifactError> {
        let n = &self.manifest.normaliser;
        if observation.len() != n.mean.len() {
            return Err(ArtifactError::ObservationSize {
                expected: n.mean.len(),
                got: observation.len(),
            });
        }
        let normalised: Vec<f32> = observation
            .iter()
            .zip(n.mean.iter().zip(&n.var))
            .map(|(&x, (&m, &v))| ((x - m) / (v + n.epsilon).sqrt()).clamp(-n.clip, n.clip))
            .collect();
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
        std::fs::create_dir_all(dir).map_err(|source| ArtifactError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let weights = dir.join(WEIGHTS_FILE);
        let tmp = fsutil::temp_sibling(&weights);
        self.vs.save(&tmp)?;
        fsutil::commit(&tmp, &weights).map_err(|source| ArtifactError::Io {
            path: weights.clone(),
            source,
        })?;
        self.manifest.weights_sha256 = sha256_file(&weights)?;
        let manifest = dir.join(MANIFEST_FILE);
        let json =
            serde_json::to_vec_pretty(&self.manifest).map_err(|e| ArtifactError::Manifest {
                path: manifest.clone(),
                message: e.to_string(),
            })?;
        fsutil::write_atomic(&manifest, &json).map_err(|source| ArtifactError::Io {
            path: manifest,
            source,
        })
    }

    /// Reads the manifest of the artifact in `dir` without loading weights.
    ///
    /// # Errors
    /// I/O, JSON, schema or consistency errors, naming the file.
    pub fn read_manifest(dir: &Path) -> Result<Manifest, ArtifactError> {
        let path = dir.join(MANIFEST_FILE);
        let text = std::fs::read(&path).map_err(|source| ArtifactError::Io {
            path: path.clone(),
            source,
        })?;
        let manifest: Manifest =
            serde_json::from_slice(&text).map_err(|e| ArtifactError::Manifest {
                path: path.clone(),
                message: e.to_string(),
            })?;
        if manifest.schema_version != SCHEMA_VERSION {
            return Err(ArtifactError::Schema {
                path,
                found: manifest.schema_version,
            });
        }
        check_consistent(&manifest)?;
        Ok(manifest)
    }

    /// Loads the artifact in `dir`, checking schema, digest and shapes.
    ///
    /// # Errors
    /// Any [`ArtifactError`], naming the file.
    pub fn load(dir: &Path) -> Result<Self, ArtifactError> {
        let manifest = Self::read_manifest(dir)?;
        let weights = dir.join(WEIGHTS_FILE);
        let found = sha256_file(&weights)?;
        if found != manifest.weights_sha256 {
            return Err(ArtifactError::Digest {
                path: weights,
                expected: manifest.weights_sha256,
                found,
            });
        }
        let mut vs = nn::VarStore::new(Device::Cpu);
        let actor = Mlp::new(&(vs.root() / ACTOR_PREFIX), &manifest.actor);
        vs.load(&weights)?;
        Ok(Self {
            manifest,
            vs,
            actor,
        })
    }
}

fn check_consistent(m: &Manifest) -> Result<(), ArtifactError> {
    let obs = m.observation.len();
    let checks = [
        (
            m.actor.input == obs,
            format!("actor input {} != observation size {obs}", m.actor.input),
        ),
        (
            m.normaliser.mean.len() == obs && m.normaliser.var.len() == obs,
            format!(
                "normaliser has {} means and {} variances for {obs} observation values",
                m.normaliser.mean.len(),
                m.normaliser.var.len()
            ),
        ),
        (
            m.actor.output == m.action.dim,
            format!(
                "actor output {} != action dim {}",
                m.actor.output, m.action.dim
            ),
        ),
        (
            m.normaliser.var.iter().all(|v| v.is_finite() && *v >= 0.0)
                && m.normaliser.mean.iter().all(|v| v.is_finite()),
            "normaliser statistics must be finite with variances >= 0".to_owned(),
        ),
        (
            m.action.scale.is_finite() && m.action.scale > 0.0,
            format!("action scale {} must be finite and > 0", m.action.scale),
        ),
    ];
    match checks.into_iter().find(|(ok, _)| !ok) {
        Some((_, message)) => Err(ArtifactError::Inconsistent(message)),
        None => Ok(()),
    }
}

/// Lower-case hex SHA-256 of the file at `path`.
pub(crate) fn sha256_file(path: &Path) -> Result<String, ArtifactError> {
    let bytes = std::fs::read(path).map_err(|source| ArtifactError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::Activation;

    fn manifest(seed: u64) -> Manifest {
        let observation = ObservationLayout::g1_proprioception();
        let n = observation.len();
        Manifest {
            schema_version: SCHEMA_VERSION,
            name: "test".into(),
            normaliser: Normaliser::identity(n),
            action: ActionSpec {
                dim: 29,
                mode: ActionMode::DefaultOffset,
                scale: 0.25,
            },
            actor: MlpSpec {
                input: n,
                hidden: vec![32, 16],
                output: 29,
                activation: Activation::Elu,
            },
            observation,
            weights_sha256: String::new(),
            git_hash: "unknown".into(),
            seed,
        }
    }

    fn probe() -> Vec<f32> {
        (0..93).map(|i| (i as f32 * 0.37).sin()).collect()
    }

    #[test]
    fn save_then_load_reproduces_actions() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = Policy::init(manifest(7)).unwrap();
        let before = p.act(&probe()).unwrap();
        assert_eq!(before.len(), 29);
        p.save(dir.path()).unwrap();
        let q = Policy::load(dir.path()).unwrap();
        assert_eq!(q.act(&probe()).unwrap(), before);
        assert_eq!(q.manifest().weights_sha256.len(), 64);
        assert_eq!(
            q.var_store()
                .variables()
                .keys()
                .filter(|k| k.starts_with("actor.l"))
                .count(),
            6
        );
    }

    #[test]
    fn same_seed_same_weights_other_seed_differs() {
        let a = Policy::init(manifest(1)).unwrap().act(&probe()).unwrap();
        let b = Policy::init(manifest(1)).unwrap().act(&probe()).unwrap();
        let c = Policy::init(manifest(2)).unwrap().act(&probe()).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn tampered_weights_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        Policy::init(manifest(3)).unwrap().save(dir.path()).unwrap();
        let w = dir.path().join(WEIGHTS_FILE);
        let mut bytes = std::fs::read(&w).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        std::fs::write(&w, bytes).unwrap();
        let err = Policy::load(dir.path()).unwrap_err();
        assert!(matches!(err, ArtifactError::Digest { .. }), "{err}");
    }

    #[test]
    fn inconsistent_and_wrong_size_inputs_are_refused() {
        let mut m = manifest(0);
        m.actor.output = 23;
        assert!(matches!(
            Policy::init(m),
            Err(ArtifactError::Inconsistent(_))
        ));
        let p = Policy::init(manifest(0)).unwrap();
        let err = p.act(&[0.0; 10]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "observation has 10 values, the policy expects 93"
        );
    }
}
