//! The teacher artifact (the policy artifact of `vigor-policy`, kind `teacher`: `manifest.json`
//! and `weights.safetensors`) and the training checkpoint around it (plus `optimizer.safetensors`
//! and `state.json`). Every file is written to a temporary
//! name, synced and renamed; a checkpoint directory is assembled under a temporary name and renamed
//! into place, and `latest` is rewritten last, so a run killed at any moment resumes from the last
//! complete checkpoint.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use vigor_common::fsutil;
use vigor_policy::{Network, PolicyKind};

use super::config::TeacherConfig;
use super::curriculum::Curriculum;
use super::model::{TeacherNet, TeacherSpec};
use crate::rl::{Adam, RunningNorm};
use crate::run_dir::{OPTIMIZER, RunDir, RunDirError, load_moments, save_moments};

/// The manifest's file name (the one every policy artifact has).
pub const TEACHER_MANIFEST: &str = vigor_policy::artifact::MANIFEST_FILE;
/// The manifest's file name in artifacts of schema 1 (`vigor policy migrate` converts them).
pub const LEGACY_TEACHER_MANIFEST: &str = "teacher.json";
/// The weights' file name.
pub const WEIGHTS: &str = vigor_policy::artifact::WEIGHTS_FILE;
const STATE: &str = "state.json";
pub use crate::run_dir::LATEST;

/// The teacher's manifest as training uses it. On disk it is a policy artifact of kind `teacher`
/// ([`vigor_policy::Manifest`]): the common fields there, and `config`, `spec`, `iteration` and
/// `env_steps` in its `network.teacher` ([`TeacherBody`]).
#[derive(Debug, Clone, PartialEq)]
pub struct TeacherManifest {
    /// Name.
    pub name: String,
    /// Robot description name.
    pub robot: String,
    /// The joints its actions drive, by motor slot.
    pub joints: Vec<String>,
    /// The training configuration (task, observation and action settings come from it).
    pub config: TeacherConfig,
    /// Network shapes.
    pub spec: TeacherSpec,
    /// Observation normalisation (critic layout).
    pub normaliser: RunningNorm,
    /// SHA-256 of the weights.
    pub weights_sha256: String,
    /// Commit of the code that trained it.
    pub git_hash: String,
    /// Iteration it was saved at.
    pub iteration: u64,
    /// Environment steps trained on.
    pub env_steps: u64,
}

/// The teacher's part of the policy manifest (`network.teacher`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeacherBody {
    /// The training configuration.
    pub config: TeacherConfig,
    /// Network shapes.
    pub spec: TeacherSpec,
    /// Iteration it was saved at.
    pub iteration: u64,
    /// Environment steps trained on.
    pub env_steps: u64,
}

/// `teacher.json` of schema 1, read only by [`migrate_legacy`].
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct LegacyTeacherManifest {
    schema_version: u32,
    name: String,
    robot: String,
    config: TeacherConfig,
    spec: TeacherSpec,
    normaliser: RunningNorm,
    weights_sha256: String,
    git_hash: String,
    iteration: u64,
    env_steps: u64,
}

impl TeacherManifest {
    /// The policy manifest written to disk.
    ///
    /// # Errors
    /// A configuration that does not serialise.
    pub fn to_policy(&self) -> Result<vigor_policy::Manifest, String> {
        let body = TeacherBody {
            config: self.config.clone(),
            spec: self.spec.clone(),
            iteration: self.iteration,
            env_steps: self.env_steps,
        };
        Ok(vigor_policy::Manifest {
            schema_version: vigor_policy::artifact::SCHEMA_VERSION,
            kind: PolicyKind::Teacher,
            name: self.name.clone(),
            robot: self.robot.clone(),
            joints: self.joints.clone(),
            normaliser: self.normaliser.clone(),
            network: Network::Teacher(serde_json::to_value(body).map_err(|e| e.to_string())?),
            weights_sha256: self.weights_sha256.clone(),
            git_hash: self.git_hash.clone(),
            seed: self.config.seed,
        })
    }

    /// The training view of a policy manifest of kind `teacher`; `path` names the file in errors.
    ///
    /// # Errors
    /// Another kind, or a `network.teacher` this build cannot read.
    pub fn from_policy(m: vigor_policy::Manifest, path: &Path) -> Result<Self, ArtifactError> {
        let invalid = |message: String| ArtifactError::Invalid {
            path: path.to_path_buf(),
            message,
        };
        let Network::Teacher(body) = m.network else {
            return Err(invalid(format!(
                "a policy of kind `{}`, not a teacher",
                m.kind
            )));
        };
        let body: TeacherBody =
            serde_json::from_value(body).map_err(|e| invalid(format!("`network.teacher`: {e}")))?;
        Ok(Self {
            name: m.name,
            robot: m.robot,
            joints: m.joints,
            config: body.config,
            spec: body.spec,
            normaliser: m.normaliser,
            weights_sha256: m.weights_sha256,
            git_hash: m.git_hash,
            iteration: body.iteration,
            env_steps: body.env_steps,
        })
    }
}

/// Converts the schema-1 teacher artifact in `dir` (`teacher.json` + weights) into the policy
/// artifact in `out` (the weights copied unchanged), with `joints` the robot's joint names by
/// slot. Returns the new manifest.
///
/// # Errors
/// Unreadable or inconsistent files, naming them.
pub fn migrate_legacy(
    dir: &Path,
    out: &Path,
    joints: &[String],
) -> Result<vigor_policy::Manifest, ArtifactError> {
    let path = dir.join(LEGACY_TEACHER_MANIFEST);
    let old: LegacyTeacherManifest = read_json(&path)?;
    if old.schema_version != 1 {
        return Err(ArtifactError::Invalid {
            path,
            message: format!("`schema_version` is {}, expected 1", old.schema_version),
        });
    }
    if old.spec.actor.output != joints.len() {
        return Err(ArtifactError::Invalid {
            path,
            message: format!(
                "`spec.actor.output` is {}; the robot `{}` has {} joints",
                old.spec.actor.output,
                old.robot,
                joints.len()
            ),
        });
    }
    let manifest = TeacherManifest {
        name: old.name,
        robot: old.robot,
        joints: joints.to_vec(),
        config: old.config,
        spec: old.spec,
        normaliser: old.normaliser,
        weights_sha256: old.weights_sha256,
        git_hash: old.git_hash,
        iteration: old.iteration,
        env_steps: old.env_steps,
    };
    vigor_policy::artifact::migrate_weights(
        dir,
        out,
        manifest
            .to_policy()
            .map_err(|message| ArtifactError::Invalid {
                path: path.clone(),
                message,
            })?,
    )
    .map_err(policy_error(&path))
}

fn policy_error(path: &Path) -> impl FnOnce(vigor_policy::ArtifactError) -> ArtifactError + '_ {
    move |e| ArtifactError::Invalid {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// Training state besides the networks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainState {
    /// Last completed iteration (the next one is this + 1).
    pub iteration: u64,
    /// Environment steps so far.
    pub env_steps: u64,
    /// Current learning rate.
    pub learning_rate: f64,
    /// Adam's step count.
    pub adam_steps: i64,
    /// Curriculum.
    pub curriculum: Curriculum,
    /// Score of `best/`: `10 (1 - assist) + success rate`, so less help always ranks higher.
    #[serde(alias = "best_success")]
    pub best_score: f64,
    /// Wall-clock seconds trained, summed over sessions.
    pub wall_s: f64,
}

/// Why an artifact or checkpoint could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    /// File system.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// Bad JSON or schema.
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// libtorch.
    #[error("{path}: libtorch: {source}")]
    Torch {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: tch::TchError,
    },
    /// The run directory.
    #[error(transparent)]
    RunDir(#[from] RunDirError),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ArtifactError + '_ {
    move |source| ArtifactError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), ArtifactError> {
    let json = serde_json::to_vec_pretty(value).map_err(|e| ArtifactError::Invalid {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    fsutil::write_atomic(path, &json).map_err(io(path))
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, ArtifactError> {
    let bytes = std::fs::read(path).map_err(io(path))?;
    serde_json::from_slice(&bytes).map_err(|e| ArtifactError::Invalid {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// Writes the artifact (weights, then the manifest with their digest) into `dir`.
///
/// # Errors
/// File system or libtorch errors, naming the file.
pub fn save_artifact(
    dir: &Path,
    net: &TeacherNet,
    manifest: &mut TeacherManifest,
) -> Result<(), ArtifactError> {
    let path = dir.join(TEACHER_MANIFEST);
    let mut m = manifest
        .to_policy()
        .map_err(|message| ArtifactError::Invalid {
            path: path.clone(),
            message,
        })?;
    vigor_policy::artifact::save(dir, &net.vs, &mut m).map_err(policy_error(&path))?;
    manifest.weights_sha256 = m.weights_sha256;
    Ok(())
}

/// A loaded teacher: manifest and networks.
#[derive(Debug)]
pub struct Teacher {
    /// The manifest.
    pub manifest: TeacherManifest,
    /// The networks.
    pub net: TeacherNet,
}

/// Reads the artifact in `dir`, checking the schema and the weights' digest.
///
/// # Errors
/// Missing or mismatched files, naming them.
pub fn load_artifact(dir: &Path) -> Result<Teacher, ArtifactError> {
    load_artifact_on(dir, tch::Device::Cpu)
}

/// [`load_artifact`] onto `device`.
///
/// # Errors
/// Missing or mismatched files, naming them.
pub fn load_artifact_on(dir: &Path, device: tch::Device) -> Result<Teacher, ArtifactError> {
    let path = dir.join(TEACHER_MANIFEST);
    let policy = vigor_policy::artifact::read_manifest(dir).map_err(policy_error(&path))?;
    let mut net = TeacherNet::on(
        TeacherManifest::from_policy(policy.clone(), &path)?.spec,
        1.0,
        0,
        device,
    );
    vigor_policy::artifact::load_weights(dir, &policy, &mut net.vs)
        .map_err(policy_error(&dir.join(WEIGHTS)))?;
    Ok(Teacher {
        manifest: TeacherManifest::from_policy(policy, &path)?,
        net,
    })
}

/// Writes a checkpoint's files into `dir` (the artifact, the optimiser's moments and the
/// training state); [`RunDir::commit_checkpoint`] gives the folder and puts it in place.
///
/// # Errors
/// File system or libtorch errors, naming the file.
pub fn write_checkpoint(
    dir: &Path,
    net: &TeacherNet,
    manifest: &mut TeacherManifest,
    adam: &Adam,
    state: &TrainState,
) -> Result<(), ArtifactError> {
    save_artifact(dir, net, manifest)?;
    save_moments(adam, &dir.join(OPTIMIZER))?;
    write_json(&dir.join(STATE), state)
}

/// A checkpoint read back.
#[derive(Debug)]
pub struct Checkpoint {
    /// Manifest and networks.
    pub teacher: Teacher,
    /// The optimiser, its moments and step count restored.
    pub adam: Adam,
    /// Training state.
    pub state: TrainState,
    /// Its directory.
    pub dir: PathBuf,
}

/// Reads the newest complete checkpoint of `run` ([`RunDir::load_latest`]).
///
/// # Errors
/// No checkpoint, or unreadable files, naming them.
pub fn load_latest(run: &RunDir, device: tch::Device) -> Result<Checkpoint, ArtifactError> {
    run.load_latest(|dir| load_checkpoint(dir, device))
}

fn load_checkpoint(dir: &Path, device: tch::Device) -> Result<Checkpoint, ArtifactError> {
    let dir = dir.to_path_buf();
    let teacher = load_artifact_on(&dir, device)?;
    let state: TrainState = read_json(&dir.join(STATE))?;
    // Read here, so that a checkpoint with a broken optimiser file falls back to an older one.
    let mut adam = Adam::new(&teacher.net.named_parameters());
    load_moments(&mut adam, &dir.join(OPTIMIZER), state.adam_steps, device)?;
    Ok(Checkpoint {
        teacher,
        adam,
        state,
        dir,
    })
}
