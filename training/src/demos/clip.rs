//! A clip: one demonstration as root poses and joint positions at a fixed rate, and its file.
//!
//! # File format (`.vclip`, version 1)
//! All integers and floats little-endian.
//!
//! | bytes       | content                                                                  |
//! |-------------|--------------------------------------------------------------------------|
//! | 8           | magic `VIGORCLP`                                                         |
//! | 4           | `u32` format version (1)                                                 |
//! | 4           | `u32` header length `H`                                                  |
//! | `H`         | UTF-8 JSON [`ClipHeader`]: name, source, labels, robot, rate, counts     |
//! | `F·(7+J)·4` | `f32` frames: root x y z (m), root quaternion w x y z, `J` joints (rad) |
//! | 4           | `u32` CRC-32 (IEEE) of every byte before it                              |
//!
//! `F` frames of `J` joints in Unitree motor-slot order, both given in the header, sampled every
//! `1 / rate_hz` seconds from time 0. A 10 s clip of the 29-DoF G1 at 50 Hz is 72 KB.

use std::path::Path;

use rapier3d::na::{Isometry3, Quaternion, Translation3, UnitQuaternion, Vector3};
use serde::{Deserialize, Serialize};

use super::DemoError;
use super::posture::Posture;

const MAGIC: &[u8; 8] = b"VIGORCLP";
/// The clip file format version this build reads and writes.
pub const CLIP_FORMAT_VERSION: u32 = 1;
/// The clip file extension.
pub const CLIP_EXTENSION: &str = "vclip";

/// One instant of a reference motion.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    /// Pelvis position in the world, m (z up, ground at z = 0).
    pub root_pos_m: [f64; 3],
    /// Pelvis orientation, w x y z, unit norm.
    pub root_quat_wxyz: [f64; 4],
    /// Joint positions by motor slot, rad.
    pub joint_pos_rad: Vec<f64>,
}

impl Frame {
    /// The pelvis pose as an isometry.
    #[must_use]
    pub fn root(&self) -> Isometry3<f64> {
        let [w, x, y, z] = self.root_quat_wxyz;
        Isometry3::from_parts(
            Translation3::from(Vector3::from(self.root_pos_m)),
            UnitQuaternion::from_quaternion(Quaternion::new(w, x, y, z)),
        )
    }

    /// Sets the pelvis pose from an isometry.
    pub fn set_root(&mut self, root: &Isometry3<f64>) {
        let t = root.translation.vector;
        let q = root.rotation;
        self.root_pos_m = [t.x, t.y, t.z];
        self.root_quat_wxyz = [q.w, q.i, q.j, q.k];
    }

    /// The frame a fraction `s` (0..=1) of the way from `self` to `other`: positions and joints
    /// linearly, the orientation by the shortest-arc slerp.
    #[must_use]
    pub fn lerp(&self, other: &Self, s: f64) -> Self {
        let lerp = |a: f64, b: f64| a + (b - a) * s;
        let qa = self.root().rotation;
        let qb = other.root().rotation;
        let q = qa
            .try_slerp(&qb, s, 1e-9)
            .unwrap_or(if s < 0.5 { qa } else { qb });
        Self {
            root_pos_m: std::array::from_fn(|i| lerp(self.root_pos_m[i], other.root_pos_m[i])),
            root_quat_wxyz: [q.w, q.i, q.j, q.k],
            joint_pos_rad: self
                .joint_pos_rad
                .iter()
                .zip(&other.joint_pos_rad)
                .map(|(&a, &b)| lerp(a, b))
                .collect(),
        }
    }
}

/// Everything about a clip except its frames: the JSON header of the file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClipHeader {
    /// Name, unique within a demonstration set, e.g. `fallAndGetUp1_subject1_03`.
    pub name: String,
    /// Where it came from, e.g. `lafan1-g1:fallAndGetUp1_subject1.csv frames 812..1410`.
    pub source: String,
    /// The lying posture the recovery starts from.
    pub posture: Posture,
    /// The recovery behaviour: the postures it passes through, e.g. `supine>side>prone>kneel>stand`.
    pub behaviour: String,
    /// The robot description it is for, e.g. `g1_29dof`.
    pub robot: String,
    /// Frame rate, Hz.
    pub rate_hz: f64,
    /// Number of frames.
    pub frames: usize,
    /// Joints per frame.
    pub joints: usize,
}

/// A demonstration: frames at a fixed rate, with its labels.
#[derive(Debug, Clone, PartialEq)]
pub struct Clip {
    /// Name, unique within a set.
    pub name: String,
    /// Provenance.
    pub source: String,
    /// The lying posture the recovery starts from.
    pub posture: Posture,
    /// The recovery behaviour (postures passed through, `>`-separated).
    pub behaviour: String,
    /// Robot description name.
    pub robot: String,
    /// Frame rate, Hz.
    pub rate_hz: f64,
    /// The frames, `1 / rate_hz` apart from time 0.
    pub frames: Vec<Frame>,
}

impl Clip {
    /// Duration, s (time of the last frame).
    #[must_use]
    pub fn duration_s(&self) -> f64 {
        self.frames.len().saturating_sub(1) as f64 / self.rate_hz
    }

    /// The reference at time `t_s`, interpolated between frames and clamped to the clip.
    ///
    /// # Panics
    /// On a clip without frames (every constructor refuses those).
    #[must_use]
    pub fn sample(&self, t_s: f64) -> Frame {
        let x = (t_s * self.rate_hz).clamp(0.0, (self.frames.len() - 1) as f64);
        let i = (x.floor() as usize).min(self.frames.len() - 1);
        let j = (i + 1).min(self.frames.len() - 1);
        self.frames[i].lerp(&self.frames[j], x - i as f64)
    }

    /// The same motion resampled at `rate_hz` from time 0; the last frame lies within one new
    /// period of the end.
    #[must_use]
    pub fn resampled(&self, rate_hz: f64) -> Self {
        let n = (self.duration_s() * rate_hz + 1e-6).floor() as usize + 1;
        Self {
            rate_hz,
            frames: (0..n).map(|k| self.sample(k as f64 / rate_hz)).collect(),
            ..self.clone()
        }
    }

    /// The file header of this clip.
    #[must_use]
    pub fn header(&self) -> ClipHeader {
        ClipHeader {
            name: self.name.clone(),
            source: self.source.clone(),
            posture: self.posture,
            behaviour: self.behaviour.clone(),
            robot: self.robot.clone(),
            rate_hz: self.rate_hz,
            frames: self.frames.len(),
            joints: self.frames.first().map_or(0, |f| f.joint_pos_rad.len()),
        }
    }

    /// The clip in the file format (module docs).
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let header = self.header();
        let json = serde_json::to_vec(&header).unwrap_or_default();
        let mut out = Vec::with_capacity(20 + json.len() + header.frames * (7 + header.joints) * 4);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&CLIP_FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&(json.len() as u32).to_le_bytes());
        out.extend_from_slice(&json);
        for f in &self.frames {
            let values = f
                .root_pos_m
                .iter()
                .chain(&f.root_quat_wxyz)
                .chain(&f.joint_pos_rad);
            for v in values {
                out.extend_from_slice(&(*v as f32).to_le_bytes());
            }
        }
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    /// Parses the file format; `path` names the source in errors.
    ///
    /// # Errors
    /// [`DemoError::ClipFile`] naming what is wrong: magic, version, lengths, checksum, header,
    /// non-finite values or a non-unit quaternion.
    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<Self, DemoError> {
        let bad = |message: String| DemoError::ClipFile {
            path: path.to_owned(),
            message,
        };
        if bytes.len() < 20 || &bytes[..8] != MAGIC {
            return Err(bad("missing the VIGORCLP magic".into()));
        }
        let word = |at: usize| {
            u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
        };
        let version = word(8);
        if version != CLIP_FORMAT_VERSION {
            return Err(bad(format!(
                "format version {version}; this build reads version {CLIP_FORMAT_VERSION}"
            )));
        }
        let body = bytes.len() - 4;
        let stored = word(body);
        let computed = crc32fast::hash(&bytes[..body]);
        if stored != computed {
            return Err(bad(format!(
                "checksum mismatch (stored {stored:#010x}, computed {computed:#010x}): the file is truncated or corrupt"
            )));
        }
        let h = word(12) as usize;
        let header_end = 16usize
            .checked_add(h)
            .filter(|&e| e <= body)
            .ok_or_else(|| bad(format!("header length {h} runs past the end")))?;
        let header: ClipHeader = serde_json::from_slice(&bytes[16..header_end])
            .map_err(|e| bad(format!("header: {e}")))?;
        if !(header.rate_hz.is_finite() && header.rate_hz > 0.0) {
            return Err(bad(format!(
                "rate_hz = {} must be positive",
                header.rate_hz
            )));
        }
        if header.frames == 0 {
            return Err(bad("no frames".into()));
        }
        let stride = 7 + header.joints;
        let expected = header.frames.checked_mul(stride * 4);
        if expected != Some(body - header_end) {
            return Err(bad(format!(
                "{} bytes of frames, expected {} frames x {stride} floats",
                body - header_end,
                header.frames
            )));
        }
        let floats: Vec<f64> = bytes[header_end..body]
            .chunks_exact(4)
            .map(|c| f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]])))
            .collect();
        let mut frames = Vec::with_capacity(header.frames);
        for (k, v) in floats.chunks_exact(stride).enumerate() {
            if let Some(i) = v.iter().position(|x| !x.is_finite()) {
                return Err(bad(format!("frame {k}: value {i} is not finite")));
            }
            let frame = Frame {
                root_pos_m: [v[0], v[1], v[2]],
                root_quat_wxyz: [v[3], v[4], v[5], v[6]],
                joint_pos_rad: v[7..].to_vec(),
            };
            let norm = frame
                .root_quat_wxyz
                .iter()
                .map(|x| x * x)
                .sum::<f64>()
                .sqrt();
            if (norm - 1.0).abs() > 1e-3 {
                return Err(bad(format!(
                    "frame {k}: quaternion norm {norm:.5}, expected 1"
                )));
            }
            frames.push(frame);
        }
        Ok(Self {
            name: header.name,
            source: header.source,
            posture: header.posture,
            behaviour: header.behaviour,
            robot: header.robot,
            rate_hz: header.rate_hz,
            frames,
        })
    }

    /// Writes the clip to `path` atomically (a crash leaves the old file or none).
    ///
    /// # Errors
    /// [`DemoError::Io`] naming the path.
    pub fn save(&self, path: &Path) -> Result<(), DemoError> {
        vigor_common::fsutil::write_atomic(path, &self.to_bytes()).map_err(|source| DemoError::Io {
            path: path.to_owned(),
            source,
        })
    }

    /// Reads a clip file.
    ///
    /// # Errors
    /// [`DemoError::Io`] or [`DemoError::ClipFile`], naming the path.
    pub fn load(path: &Path) -> Result<Self, DemoError> {
        let bytes = std::fs::read(path).map_err(|source| DemoError::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::from_bytes(&bytes, path)
    }

    /// Every clip file (`*.vclip`) in `dir`, sorted by file name.
    ///
    /// # Errors
    /// The folder or a clip in it cannot be read.
    pub fn load_dir(dir: &Path) -> Result<Vec<Self>, DemoError> {
        let io = |source| DemoError::Io {
            path: dir.to_owned(),
            source,
        };
        let mut paths = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(io)? {
            let path = entry.map_err(io)?.path();
            if path.extension().is_some_and(|e| e == CLIP_EXTENSION) {
                paths.push(path);
            }
        }
        paths.sort();
        paths.iter().map(|p| Self::load(p)).collect()
    }

    /// Checks the clip against a robot: joint count and limits (with `tolerance_rad`).
    ///
    /// # Errors
    /// [`DemoError::Clip`] naming the frame and joint.
    pub fn check_against(
        &self,
        robot: &vigor_sim::robot::Robot,
        tolerance_rad: f64,
    ) -> Result<(), DemoError> {
        let bad = |message: String| DemoError::Clip {
            clip: self.name.clone(),
            message,
        };
        if self.frames.is_empty() {
            return Err(bad("no frames".into()));
        }
        for (k, f) in self.frames.iter().enumerate() {
            if f.joint_pos_rad.len() != robot.joints.len() {
                return Err(bad(format!(
                    "frame {k} has {} joints; robot {} has {}",
                    f.joint_pos_rad.len(),
                    robot.name,
                    robot.joints.len()
                )));
            }
            for (q, j) in f.joint_pos_rad.iter().zip(&robot.joints) {
                if *q < j.lower - tolerance_rad || *q > j.upper + tolerance_rad {
                    return Err(bad(format!(
                        "frame {k}: {} = {q:.4} rad is outside its range {:.4} ..= {:.4}",
                        j.name, j.lower, j.upper
                    )));
                }
            }
        }
        Ok(())
    }
}
