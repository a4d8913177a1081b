//! The policy artifact, one format for every kind of policy: a directory with
//! `weights.safetensors` and `manifest.json`.
//!
//! The manifest names the policy's [`PolicyKind`] (proprioceptive MLP, teacher, depth student,
//! blind student), the robot and the joints its actions drive, its observation [`Normaliser`], its
//! network ([`Network`]: the shapes and everything else that kind needs) and the SHA-256 of the
//! weights. One path writes and reads every kind ([`save`], [`read_manifest`], [`load_weights`]):
//! saving writes the weights to a temporary file, syncs and renames it, then writes the manifest
//! the same way; loading checks the schema version, the kind against the network, every shape and
//! statistic, and the digest. A crash during saving leaves either the previous artifact or a
//! manifest whose digest does not match, never a silently mixed one. Artifacts of schema 1
//! (`student.json`, `teacher.json`, or a `manifest.json` of version 1) are refused with the command
//! that converts them (`vigor policy migrate`).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tch::nn;
use vigor_common::fsutil;

pub use crate::mlp::Policy;
use crate::net::MlpSpec;
pub use crate::normaliser::Normaliser;
use crate::obs::ObservationLayout;
use crate::student::StudentNetwork;

/// Schema version written into every manifest; loading refuses others.
pub const SCHEMA_VERSION: u32 = 2;
/// Manifest file name inside an artifact directory.
pub const MANIFEST_FILE: &str = "manifest.json";
/// Weights file name inside an artifact directory.
pub const WEIGHTS_FILE: &str = "weights.safetensors";
/// Variable-store prefix of the actor's layers (`actor.l0.weight`, ...).
pub const ACTOR_PREFIX: &str = "actor";
/// Manifest files of schema 1, by kind: found instead of `manifest.json`, they get the
/// migration hint.
pub const LEGACY_MANIFESTS: [&str; 2] = ["student.json", "teacher.json"];

/// What a policy is, and so what it needs to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyKind {
    /// A proprioceptive MLP (`vigor policy init`): observation, normaliser, actor.
    Mlp,
    /// The privileged goal-in-context teacher: it reads the simulator's state (terrain scan,
    /// contacts, the demonstration), so it runs only in simulation.
    Teacher,
    /// VIGOR's deployable student: head depth plus proprioception history.
    DepthStudent,
    /// The proprioception-only student: the comparison, and the controller's fallback when depth
    /// stops.
    BlindStudent,
}

impl PolicyKind {
    /// The name used in manifests and messages.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mlp => "mlp",
            Self::Teacher => "teacher",
            Self::DepthStudent => "depth_student",
            Self::BlindStudent => "blind_student",
        }
    }

    /// Whether the robot can run it (everything but the teacher, which needs privileged inputs).
    #[must_use]
    pub fn runs_on_robot(self) -> bool {
        self != Self::Teacher
    }
}

impl std::fmt::Display for PolicyKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
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

/// A proprioceptive MLP's network: one observation vector in, one action per joint out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MlpNetwork {
    /// Observation vector the actor expects (before normalisation).
    pub observation: ObservationLayout,
    /// Action interpretation.
    pub action: ActionSpec,
    /// Actor network shape.
    pub actor: MlpSpec,
}

/// The kind-specific part of a manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[expect(
    clippy::large_enum_variant,
    reason = "one manifest per loaded policy; boxing would only complicate its serde form"
)]
#[serde(rename_all = "snake_case")]
pub enum Network {
    /// [`PolicyKind::Mlp`].
    Mlp(MlpNetwork),
    /// [`PolicyKind::DepthStudent`] and [`PolicyKind::BlindStudent`].
    Student(StudentNetwork),
    /// [`PolicyKind::Teacher`]: the training configuration and network shapes, as
    /// `vigor-training` writes and reads them (the robot never runs a teacher).
    Teacher(serde_json::Value),
}

/// `manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// [`SCHEMA_VERSION`] when written.
    pub schema_version: u32,
    /// What the policy is.
    pub kind: PolicyKind,
    /// Human-readable name, e.g. `student-depth-seed1`.
    pub name: String,
    /// The robot description it was trained for (e.g. `g1_29dof`).
    pub robot: String,
    /// The joints its actions drive, in action order (the robot description's names, by motor
    /// slot); the controller checks them against its robot at load.
    pub joints: Vec<String>,
    /// Observation normalisation (the MLP's observation, the students' proprioception history,
    /// the teacher's critic observation).
    pub normaliser: Normaliser,
    /// Shapes and everything else the kind needs.
    pub network: Network,
    /// Lower-case hex SHA-256 of `weights.safetensors` (filled in by [`save`]).
    pub weights_sha256: String,
    /// Git commit of the code that produced the artifact (`unknown` outside a checkout).
    pub git_hash: String,
    /// Seed of the run that produced it.
    pub seed: u64,
}

impl Manifest {
    /// The MLP network, for [`PolicyKind::Mlp`].
    #[must_use]
    pub fn mlp(&self) -> Option<&MlpNetwork> {
        match &self.network {
            Network::Mlp(m) => Some(m),
            _ => None,
        }
    }

    /// The student network, for either student kind.
    #[must_use]
    pub fn student(&self) -> Option<&StudentNetwork> {
        match &self.network {
            Network::Student(s) => Some(s),
            _ => None,
        }
    }

    /// The teacher's training description, for [`PolicyKind::Teacher`].
    #[must_use]
    pub fn teacher(&self) -> Option<&serde_json::Value> {
        match &self.network {
            Network::Teacher(t) => Some(t),
            _ => None,
        }
    }

    /// `Err` naming the first field that disagrees with the kind, the others or itself.
    /// `path` is the manifest file the error names.
    ///
    /// # Errors
    /// [`ArtifactError::Field`].
    pub fn check(&self, path: &Path) -> Result<(), ArtifactError> {
        let bad = |field: &str, message: String| {
            Err(ArtifactError::Field {
                path: path.to_path_buf(),
                field: field.to_owned(),
                message,
            })
        };
        if self.joints.is_empty() {
            return bad("joints", "must name at least one joint".into());
        }
        if let Some((i, name)) = self
            .joints
            .iter()
            .enumerate()
            .find(|(i, n)| n.is_empty() || self.joints[..*i].contains(n))
        {
            return bad(
                &format!("joints[{i}]"),
                format!("`{name}` is empty or repeated"),
            );
        }
        let n = self.joints.len();
        let normalised = match (&self.network, self.kind) {
            (Network::Mlp(m), PolicyKind::Mlp) => {
                if let Err(e) = check_mlp(m, n) {
                    return bad("network.mlp", e);
                }
                m.observation.len()
            }
            (Network::Student(s), PolicyKind::DepthStudent | PolicyKind::BlindStudent) => {
                if s.depth.is_some() != (self.kind == PolicyKind::DepthStudent) {
                    return bad(
                        "network.student.depth",
                        format!(
                            "a {} {} depth preprocessing",
                            self.kind,
                            if self.kind == PolicyKind::DepthStudent {
                                "needs"
                            } else {
                                "has no"
                            }
                        ),
                    );
                }
                if s.spec.actions != n {
                    return bad(
                        "network.student.spec.actions",
                        format!("{} actions for {n} joints", s.spec.actions),
                    );
                }
                if let Err(e) = s.check() {
                    return bad("network.student", e);
                }
                s.spec.history * s.spec.frame
            }
            (Network::Teacher(_), PolicyKind::Teacher) => self.normaliser.len(),
            (other, kind) => {
                let found = match other {
                    Network::Mlp(_) => "mlp",
                    Network::Student(_) => "student",
                    Network::Teacher(_) => "teacher",
                };
                return bad(
                    "network",
                    format!("a `{found}` network for a policy of kind `{kind}`"),
                );
            }
        };
        if let Err(e) = self.normaliser.check(normalised) {
            return bad("normaliser", e);
        }
        Ok(())
    }
}

fn check_mlp(m: &MlpNetwork, joints: usize) -> Result<(), String> {
    let obs = m.observation.len();
    if m.actor.input != obs {
        return Err(format!(
            "actor.input {} != observation size {obs}",
            m.actor.input
        ));
    }
    if m.actor.output != m.action.dim || m.action.dim != joints {
        return Err(format!(
            "actor.output {} and action.dim {} must both be the {joints} joints",
            m.actor.output, m.action.dim
        ));
    }
    if !(m.action.scale.is_finite() && m.action.scale > 0.0) {
        return Err(format!(
            "action.scale {} must be finite and > 0",
            m.action.scale
        ));
    }
    Ok(())
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
    #[error(
        "{path}: `schema_version` is {found}; this build reads {SCHEMA_VERSION}{}",
        if *found < SCHEMA_VERSION { " (convert it with `vigor policy migrate`)" } else { "" }
    )]
    Schema {
        /// The manifest file.
        path: PathBuf,
        /// Version found.
        found: u32,
    },
    /// A directory with a schema-1 manifest of another name.
    #[error(
        "{path}: a schema-1 artifact; this build reads `manifest.json` of schema {SCHEMA_VERSION}: \
         convert it with `vigor policy migrate {dir}`"
    )]
    Legacy {
        /// The old manifest file.
        path: PathBuf,
        /// Its directory.
        dir: String,
    },
    /// A manifest field that is out of range or disagrees with the others.
    #[error("{path}: `{field}`: {message}")]
    Field {
        /// The manifest file.
        path: PathBuf,
        /// The field, e.g. `network.student.spec.actions`.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// A policy of a kind the caller cannot use.
    #[error("{path}: a policy of kind `{kind}`: {message}")]
    WrongKind {
        /// The manifest file.
        path: PathBuf,
        /// Its kind.
        kind: PolicyKind,
        /// Why it cannot be used here.
        message: String,
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
    /// Values disagree with each other (in memory, before a manifest file exists).
    #[error("inconsistent policy: {0}")]
    Inconsistent(String),
    /// An observation of the wrong size was passed to a policy.
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

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ArtifactError + '_ {
    move |source| ArtifactError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes an artifact into `dir` (created if needed): the weights of `vs`, then `manifest` with
/// their digest (updated in place), each file atomically. The one save path of every kind.
///
/// # Errors
/// An inconsistent manifest, or I/O and libtorch errors, naming the file.
pub fn save(dir: &Path, vs: &nn::VarStore, manifest: &mut Manifest) -> Result<(), ArtifactError> {
    manifest.schema_version = SCHEMA_VERSION;
    let path = dir.join(MANIFEST_FILE);
    manifest.check(&path)?;
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let weights = dir.join(WEIGHTS_FILE);
    let tmp = fsutil::temp_sibling(&weights);
    vs.save(&tmp)?;
    fsutil::commit(&tmp, &weights).map_err(io(&weights))?;
    manifest.weights_sha256 = sha256_file(&weights)?;
    write_manifest(dir, manifest)
}

/// Rewrites the manifest of the artifact in `dir` atomically, leaving the weights as they are
/// (their digest in `manifest` must already be theirs): for changes to the manifest alone, such
/// as a depth student's fallback.
///
/// # Errors
/// An inconsistent manifest, or an I/O error, naming the file.
pub fn write_manifest(dir: &Path, manifest: &Manifest) -> Result<(), ArtifactError> {
    let path = dir.join(MANIFEST_FILE);
    manifest.check(&path)?;
    let json = serde_json::to_vec_pretty(manifest).map_err(|e| ArtifactError::Manifest {
        path: path.clone(),
        message: e.to_string(),
    })?;
    fsutil::write_atomic(&path, &json).map_err(io(&path))
}

/// Reads and checks the manifest of the artifact in `dir` without loading weights. The one read
/// path of every kind.
///
/// # Errors
/// A missing, old, foreign or inconsistent manifest, naming the file and the field.
pub fn read_manifest(dir: &Path) -> Result<Manifest, ArtifactError> {
    let path = dir.join(MANIFEST_FILE);
    if !path.exists()
        && let Some(old) = LEGACY_MANIFESTS
            .iter()
            .map(|f| dir.join(f))
            .find(|p| p.exists())
    {
        return Err(ArtifactError::Legacy {
            path: old,
            dir: dir.display().to_string(),
        });
    }
    let text = std::fs::read(&path).map_err(io(&path))?;
    let invalid = |message: String| ArtifactError::Manifest {
        path: path.clone(),
        message,
    };
    // The version first: an old or foreign file gets a message about that, not about its
    // first unknown field.
    let value: serde_json::Value =
        serde_json::from_slice(&text).map_err(|e| invalid(e.to_string()))?;
    match value
        .get("schema_version")
        .and_then(serde_json::Value::as_u64)
    {
        Some(v) if v == u64::from(SCHEMA_VERSION) => {}
        Some(v) => {
            return Err(ArtifactError::Schema {
                path,
                found: u32::try_from(v).unwrap_or(u32::MAX),
            });
        }
        None => {
            return Err(invalid(
                "no `schema_version`: not a vigor policy manifest".into(),
            ));
        }
    }
    let manifest: Manifest = serde_json::from_value(value).map_err(|e| invalid(e.to_string()))?;
    manifest.check(&path)?;
    Ok(manifest)
}

/// Checks the digest of the weights in `dir` against `manifest` and loads them into `vs`, whose
/// variables the caller created for the manifest's shapes. The one weights path of every kind.
///
/// # Errors
/// A digest mismatch, or missing or mis-shaped tensors, naming the file.
pub fn load_weights(
    dir: &Path,
    manifest: &Manifest,
    vs: &mut nn::VarStore,
) -> Result<(), ArtifactError> {
    let weights = dir.join(WEIGHTS_FILE);
    let found = sha256_file(&weights)?;
    if found != manifest.weights_sha256 {
        return Err(ArtifactError::Digest {
            path: weights,
            expected: manifest.weights_sha256.clone(),
            found,
        });
    }
    vs.load(&weights).map_err(|e| ArtifactError::Manifest {
        path: weights,
        message: format!("weights do not fit the manifest's shapes: {e}"),
    })
}

/// Writes the manifest of a converted (schema-1) artifact: checks `manifest` and the digest of
/// the weights in `dir`, copies them to `out` when that is another directory, and writes `out`'s
/// `manifest.json`. The weights are not changed, so the policy acts exactly as before.
///
/// # Errors
/// An inconsistent manifest, weights that are not the ones it names, or I/O errors, naming the
/// file.
pub fn migrate_weights(
    dir: &Path,
    out: &Path,
    mut manifest: Manifest,
) -> Result<Manifest, ArtifactError> {
    let path = out.join(MANIFEST_FILE);
    manifest.schema_version = SCHEMA_VERSION;
    manifest.check(&path)?;
    let weights = dir.join(WEIGHTS_FILE);
    let found = sha256_file(&weights)?;
    if found != manifest.weights_sha256 {
        return Err(ArtifactError::Digest {
            path: weights,
            expected: manifest.weights_sha256,
            found,
        });
    }
    std::fs::create_dir_all(out).map_err(io(out))?;
    let copy = out.join(WEIGHTS_FILE);
    if copy != weights {
        let bytes = std::fs::read(&weights).map_err(io(&weights))?;
        fsutil::write_atomic(&copy, &bytes).map_err(io(&copy))?;
    }
    let json = serde_json::to_vec_pretty(&manifest).map_err(|e| ArtifactError::Manifest {
        path: path.clone(),
        message: e.to_string(),
    })?;
    fsutil::write_atomic(&path, &json).map_err(io(&path))?;
    Ok(manifest)
}

/// Lower-case hex SHA-256 of the file at `path`.
///
/// # Errors
/// The file cannot be read.
pub fn sha256_file(path: &Path) -> Result<String, ArtifactError> {
    let bytes = std::fs::read(path).map_err(io(path))?;
    Ok(Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

#[cfg(test)]
#[path = "artifact_tests.rs"]
mod tests;
