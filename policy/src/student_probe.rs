//! The student artifact's self-check: `probe.safetensors` holds a short episode's raw inputs (depth
//! frames in metres as the camera gave them, proprioceptive frames, seconds since engagement) and
//! the actions the batched training code computed for them. Replaying them one tick at a time
//! through [`StudentRuntime`], as the controller runs the student, must give the same actions:
//! run it on the robot's computer before trusting an artifact there.

use std::path::Path;

use tch::Tensor;

use crate::artifact::ArtifactError;
use crate::student::StudentPolicy;
use crate::student_runtime::StudentRuntime;

/// The probe's file name inside a student artifact.
pub const PROBE_FILE: &str = "probe.safetensors";

/// What a probe replay found.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeReport {
    /// Ticks replayed.
    pub ticks: usize,
    /// Depth frames pushed.
    pub depth_frames: usize,
    /// Largest difference between a replayed and a recorded action value.
    pub max_abs_error: f32,
}

fn tensor<'a>(
    probe: &'a [(String, Tensor)],
    path: &Path,
    name: &str,
) -> Result<&'a Tensor, ArtifactError> {
    probe
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, t)| t)
        .ok_or_else(|| ArtifactError::Inconsistent(format!("{}: no `{name}`", path.display())))
}

/// Replays the probe of the student artifact in `dir` on the CPU.
///
/// # Errors
/// A missing or malformed probe or artifact, naming the file.
pub fn replay_probe(dir: &Path) -> Result<ProbeReport, ArtifactError> {
    let path = dir.join(PROBE_FILE);
    let probe = Tensor::read_safetensors(&path)?;
    let rows = |name: &str| -> Result<Vec<Vec<f32>>, ArtifactError> {
        Ok(Vec::<Vec<f32>>::try_from(tensor(&probe, &path, name)?)?)
    };
    let index = Vec::<i64>::try_from(tensor(&probe, &path, "depth_index")?)?;
    let frames = rows("frame")?;
    let engaged = rows("engaged_s")?;
    let actions = rows("action")?;
    let depth = match probe.iter().any(|(n, _)| n == "depth_m") {
        true => rows("depth_m")?,
        false => Vec::new(),
    };
    let policy = StudentPolicy::load(dir, tch::Device::Cpu)?;
    let (w, h) = match probe.iter().any(|(n, _)| n == "depth_size") {
        true => {
            let size = Vec::<i64>::try_from(tensor(&probe, &path, "depth_size")?)?;
            match size.as_slice() {
                [w, h] if *w > 0 && *h > 0 => (*w as usize, *h as usize),
                _ => {
                    return Err(ArtifactError::Inconsistent(format!(
                        "{}: `depth_size` must be [width, height]",
                        path.display()
                    )));
                }
            }
        }
        false => (0, 0),
    };
    let mut rt = StudentRuntime::new(policy)?;
    let mut report = ProbeReport {
        ticks: 0,
        depth_frames: 0,
        max_abs_error: 0.0,
    };
    for (k, &d) in index.iter().enumerate() {
        let bad =
            || ArtifactError::Inconsistent(format!("{}: tick {k} is incomplete", path.display()));
        if d >= 0 {
            let frame = depth.get(d as usize).ok_or_else(bad)?;
            rt.push_depth_m(w, h, frame)
                .map_err(|e| ArtifactError::Inconsistent(e.to_string()))?;
            report.depth_frames += 1;
        }
        let (frame, t, recorded) = (
            frames.get(k).ok_or_else(bad)?,
            engaged.get(k).and_then(|v| v.first()).ok_or_else(bad)?,
            actions.get(k).ok_or_else(bad)?,
        );
        let out = rt.step(frame, *t)?;
        for (x, y) in out.action.iter().zip(recorded) {
            report.max_abs_error = report.max_abs_error.max((x - y).abs());
        }
        report.ticks += 1;
    }
    Ok(report)
}
