//! Reading artifacts of schema 1, only to convert them (`vigor policy migrate`): a proprioceptive
//! MLP's `manifest.json` of version 1 and a student's `student.json`. The teacher's `teacher.json`
//! is converted by `vigor-training`, which owns its configuration type. The weights are never
//! touched, so a converted policy acts exactly as before (the students' probes check it).

use std::path::Path;

use serde::Deserialize;
use vigor_perception::DepthPreprocessConfig;

use crate::artifact::{
    self, ActionSpec, ArtifactError, MANIFEST_FILE, Manifest, MlpNetwork, Network, PolicyKind,
    SCHEMA_VERSION,
};
use crate::net::MlpSpec;
use crate::normaliser::Normaliser;
use crate::obs::ObservationLayout;
use crate::student::{ReferenceTrack, StudentNetwork, StudentSpec};

/// A student's manifest file of schema 1.
pub const LEGACY_STUDENT_MANIFEST: &str = "student.json";

/// `manifest.json` of schema 1 (a proprioceptive MLP).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MlpV1 {
    schema_version: u32,
    name: String,
    observation: ObservationLayout,
    normaliser: Normaliser,
    action: ActionSpec,
    actor: MlpSpec,
    weights_sha256: String,
    git_hash: String,
    seed: u64,
}

/// `student.json` of schema 1.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StudentV1 {
    schema_version: u32,
    name: String,
    observation: ObservationLayout,
    normaliser: Normaliser,
    depth: Option<DepthPreprocessConfig>,
    depth_rate_hz: f32,
    phase_period_s: f32,
    action_clip: f32,
    action_scale: f32,
    references: Vec<ReferenceTrack>,
    spec: StudentSpec,
    weights_sha256: String,
    git_hash: String,
    seed: u64,
    teacher: String,
}

fn read<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, ArtifactError> {
    let bytes = std::fs::read(path).map_err(|source| ArtifactError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_slice(&bytes).map_err(|e| ArtifactError::Manifest {
        path: path.to_path_buf(),
        message: format!("not a schema-1 artifact either: {e}"),
    })
}

fn version_1(path: &Path, found: u32) -> Result<(), ArtifactError> {
    if found == 1 {
        Ok(())
    } else {
        Err(ArtifactError::Schema {
            path: path.to_path_buf(),
            found,
        })
    }
}

/// Whether `dir` holds a schema-1 MLP or student artifact this module converts.
#[must_use]
pub fn is_legacy(dir: &Path) -> bool {
    if dir.join(LEGACY_STUDENT_MANIFEST).exists() {
        return true;
    }
    std::fs::read(dir.join(MANIFEST_FILE))
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| v.get("schema_version").and_then(serde_json::Value::as_u64))
        == Some(1)
}

/// Converts the schema-1 MLP or student artifact in `dir` into a policy artifact in `out` (`dir`
/// itself to convert in place), for a robot `robot` with `joints` (names by slot); a depth
/// student gets `fallback` as its blind fallback. Returns the new manifest; the old manifest file
/// is left for the caller to remove.
///
/// # Errors
/// Unreadable or inconsistent files, naming them.
pub fn migrate(
    dir: &Path,
    out: &Path,
    robot: &str,
    joints: &[String],
    fallback: Option<String>,
) -> Result<Manifest, ArtifactError> {
    let student = dir.join(LEGACY_STUDENT_MANIFEST);
    let manifest = if student.exists() {
        let old: StudentV1 = read(&student)?;
        version_1(&student, old.schema_version)?;
        let kind = if old.depth.is_some() {
            PolicyKind::DepthStudent
        } else {
            PolicyKind::BlindStudent
        };
        Manifest {
            schema_version: SCHEMA_VERSION,
            kind,
            name: old.name,
            robot: robot.to_owned(),
            joints: joints.to_vec(),
            normaliser: old.normaliser,
            network: Network::Student(StudentNetwork {
                observation: old.observation,
                fallback: fallback.filter(|_| kind == PolicyKind::DepthStudent),
                depth: old.depth,
                depth_rate_hz: old.depth_rate_hz,
                phase_period_s: old.phase_period_s,
                action_clip: old.action_clip,
                action_scale: old.action_scale,
                references: old.references,
                spec: old.spec,
                teacher: old.teacher,
                reanchor: None,
            }),
            weights_sha256: old.weights_sha256,
            git_hash: old.git_hash,
            seed: old.seed,
        }
    } else {
        let path = dir.join(MANIFEST_FILE);
        let old: MlpV1 = read(&path)?;
        version_1(&path, old.schema_version)?;
        Manifest {
            schema_version: SCHEMA_VERSION,
            kind: PolicyKind::Mlp,
            name: old.name,
            robot: robot.to_owned(),
            joints: joints.to_vec(),
            normaliser: old.normaliser,
            network: Network::Mlp(MlpNetwork {
                observation: old.observation,
                action: old.action,
                actor: old.actor,
            }),
            weights_sha256: old.weights_sha256,
            git_hash: old.git_hash,
            seed: old.seed,
        }
    };
    artifact::migrate_weights(dir, out, manifest)
}
