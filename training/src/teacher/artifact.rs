//! The teacher artifact (`teacher.json` + `weights.safetensors`) and the training checkpoint
//! around it (plus `optimizer.safetensors` and `state.json`). Every file is written to a temporary
//! name, synced and renamed; a checkpoint directory is assembled under a temporary name and renamed
//! into place, and `latest` is rewritten last, so a run killed at any moment resumes from the last
//! complete checkpoint.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tch::Tensor;
use vigor_common::fsutil;

use super::config::TeacherConfig;
use super::curriculum::Curriculum;
use super::model::{TeacherNet, TeacherSpec};
use crate::rl::{Adam, RunningNorm};

/// Manifest schema version.
pub const TEACHER_SCHEMA: u32 = 1;
/// The manifest's file name.
pub const TEACHER_MANIFEST: &str = "teacher.json";
/// The weights' file name.
pub const WEIGHTS: &str = "weights.safetensors";
const OPTIMIZER: &str = "optimizer.safetensors";
const STATE: &str = "state.json";
/// The file in a run directory naming the newest complete checkpoint.
pub const LATEST: &str = "latest";

/// `teacher.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeacherManifest {
    /// [`TEACHER_SCHEMA`].
    pub schema_version: u32,
    /// Name.
    pub name: String,
    /// Robot description name.
    pub robot: String,
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
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ArtifactError + '_ {
    move |source| ArtifactError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn torch(path: &Path) -> impl FnOnce(tch::TchError) -> ArtifactError + '_ {
    move |source| ArtifactError::Torch {
        path: path.to_path_buf(),
        source,
    }
}

fn sha256(path: &Path) -> Result<String, ArtifactError> {
    let bytes = std::fs::read(path).map_err(io(path))?;
    Ok(Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
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
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let weights = dir.join(WEIGHTS);
    let tmp = dir.join(".weights.tmp.safetensors");
    net.vs.save(&tmp).map_err(torch(&tmp))?;
    fsutil::commit(&tmp, &weights).map_err(io(&weights))?;
    manifest.weights_sha256 = sha256(&weights)?;
    write_json(&dir.join(TEACHER_MANIFEST), manifest)
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
    let manifest: TeacherManifest = read_json(&path)?;
    if manifest.schema_version != TEACHER_SCHEMA {
        return Err(ArtifactError::Invalid {
            path,
            message: format!(
                "schema version {}, this build reads {TEACHER_SCHEMA}",
                manifest.schema_version
            ),
        });
    }
    let weights = dir.join(WEIGHTS);
    let found = sha256(&weights)?;
    if found != manifest.weights_sha256 {
        return Err(ArtifactError::Invalid {
            path: weights,
            message: format!(
                "SHA-256 {found} does not match the manifest's {}",
                manifest.weights_sha256
            ),
        });
    }
    let mut net = TeacherNet::on(manifest.spec.clone(), 1.0, 0, device);
    net.vs.load(&weights).map_err(torch(&weights))?;
    Ok(Teacher { manifest, net })
}

/// Writes checkpoint `name` under `run/checkpoints/` and points `run/latest` at it; keeps the
/// newest `keep` checkpoints.
///
/// # Errors
/// File system or libtorch errors, naming the file.
pub fn save_checkpoint(
    run: &Path,
    name: &str,
    net: &TeacherNet,
    manifest: &mut TeacherManifest,
    adam: &Adam,
    state: &TrainState,
    keep: usize,
) -> Result<(), ArtifactError> {
    let root = run.join("checkpoints");
    let tmp = root.join(format!(".tmp-{name}"));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(io(&tmp))?;
    }
    save_artifact(&tmp, net, manifest)?;
    let mut named: Vec<(String, Tensor)> = Vec::new();
    for (k, n) in adam.names.iter().enumerate() {
        named.push((format!("m.{n}"), adam.m[k].to(tch::Device::Cpu)));
        named.push((format!("v.{n}"), adam.v[k].to(tch::Device::Cpu)));
    }
    let opt = tmp.join(OPTIMIZER);
    let opt_tmp = tmp.join(".optimizer.tmp.safetensors");
    Tensor::write_safetensors(&named, &opt_tmp).map_err(torch(&opt_tmp))?;
    fsutil::commit(&opt_tmp, &opt).map_err(io(&opt))?;
    write_json(&tmp.join(STATE), state)?;
    let dir = root.join(name);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(io(&dir))?;
    }
    std::fs::rename(&tmp, &dir).map_err(io(&dir))?;
    std::fs::File::open(&root)
        .and_then(|d| d.sync_all())
        .map_err(io(&root))?;
    fsutil::write_atomic(
        &run.join(LATEST),
        format!("checkpoints/{name}\n").as_bytes(),
    )
    .map_err(io(run))?;
    let mut all: Vec<PathBuf> = std::fs::read_dir(&root)
        .map_err(io(&root))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("iter_"))
        })
        .collect();
    all.sort_by_key(|p| iteration_of(p));
    for old in all.iter().rev().skip(keep) {
        let _ = std::fs::remove_dir_all(old);
    }
    Ok(())
}

fn iteration_of(dir: &Path) -> u64 {
    dir.file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_prefix("iter_"))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// A checkpoint read back.
#[derive(Debug)]
pub struct Checkpoint {
    /// Manifest and networks.
    pub teacher: Teacher,
    /// Optimiser moments by name (`m.<param>`, `v.<param>`).
    pub optimizer: Vec<(String, Tensor)>,
    /// Training state.
    pub state: TrainState,
    /// Its directory.
    pub dir: PathBuf,
}

/// Reads the checkpoint `run/latest` points at.
///
/// # Errors
/// No checkpoint, or unreadable files, naming them.
pub fn load_latest(run: &Path, device: tch::Device) -> Result<Checkpoint, ArtifactError> {
    let latest = run.join(LATEST);
    let rel = std::fs::read_to_string(&latest).map_err(io(&latest))?;
    let named = run.join(rel.trim());
    match load_checkpoint(&named, device) {
        Ok(ck) => Ok(ck),
        Err(first) => {
            // After a power loss `latest` can name a checkpoint whose files never reached the
            // disk: fall back to the newest complete one.
            let root = run.join("checkpoints");
            let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
                .map_err(io(&root))?
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| iteration_of(p) > 0 && *p != named)
                .collect();
            dirs.sort_by_key(|p| std::cmp::Reverse(iteration_of(p)));
            dirs.iter()
                .find_map(|d| load_checkpoint(d, device).ok())
                .ok_or(first)
        }
    }
}

fn load_checkpoint(dir: &Path, device: tch::Device) -> Result<Checkpoint, ArtifactError> {
    let dir = dir.to_path_buf();
    let teacher = load_artifact_on(&dir, device)?;
    let opt = dir.join(OPTIMIZER);
    let optimizer = Tensor::read_safetensors(&opt).map_err(torch(&opt))?;
    let state = read_json(&dir.join(STATE))?;
    Ok(Checkpoint {
        teacher,
        optimizer,
        state,
        dir,
    })
}
