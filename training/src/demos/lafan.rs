//! LAFAN1-G1 retargeted takes, in the CSV format Unitree publishes with its retargeted LAFAN1
//! dataset: no header, one frame per line at 30 fps, 36 comma-separated columns: pelvis position
//! x, y, z (m, z up, ground at 0), pelvis quaternion x, y, z, w, then the 29 joint angles (rad) in
//! motor-slot order.

use std::path::{Path, PathBuf};

use vigor_sim::robot::Robot;

use super::DemoError;
use super::clip::Frame;

/// Frame rate of the LAFAN1-G1 CSV takes, Hz.
pub const LAFAN_FPS: f64 = 30.0;
/// Columns before the joints: position (3) and quaternion x y z w (4).
pub const ROOT_COLUMNS: usize = 7;
/// Allowed deviation of a quaternion's norm from 1 (the published takes stay within 1e-6).
pub const QUAT_NORM_TOLERANCE: f64 = 1e-2;
/// Allowed excursion past a joint limit, rad (the published takes stay inside the limits).
pub const LIMIT_TOLERANCE_RAD: f64 = 1e-3;

/// One imported take: every frame of the file.
#[derive(Debug, Clone, PartialEq)]
pub struct Take {
    /// File stem, e.g. `fallAndGetUp1_subject1`.
    pub name: String,
    /// The file it came from.
    pub path: PathBuf,
    /// Frame rate, Hz.
    pub rate_hz: f64,
    /// Frames, quaternions renormalised and stored w x y z.
    pub frames: Vec<Frame>,
}

/// Parses CSV text of a take for `robot`; `path` names the source in errors.
///
/// # Errors
/// [`DemoError::Csv`] naming the line and column: wrong column count, a field that is not a
/// number, NaN or infinity, a quaternion whose norm is not 1, a joint outside its limits; or no
/// frames at all.
pub fn parse_take(text: &str, path: &Path, robot: &Robot) -> Result<Take, DemoError> {
    let columns = ROOT_COLUMNS + robot.joints.len();
    let mut frames = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        let bad = |message: String| DemoError::Csv {
            path: path.to_owned(),
            line: line_no,
            message,
        };
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').collect();
        if fields.len() != columns {
            return Err(bad(format!(
                "{} columns, expected {columns} (pelvis x y z, quaternion x y z w, {} joints)",
                fields.len(),
                robot.joints.len()
            )));
        }
        let mut v = Vec::with_capacity(columns);
        for (c, field) in fields.iter().enumerate() {
            let x: f64 = field.trim().parse().map_err(|_| {
                bad(format!(
                    "column {}: `{}` is not a number",
                    c + 1,
                    field.trim()
                ))
            })?;
            if !x.is_finite() {
                return Err(bad(format!("column {}: {x} is not finite", c + 1)));
            }
            v.push(x);
        }
        let [qx, qy, qz, qw] = [v[3], v[4], v[5], v[6]];
        let norm = (qx * qx + qy * qy + qz * qz + qw * qw).sqrt();
        if (norm - 1.0).abs() > QUAT_NORM_TOLERANCE {
            return Err(bad(format!(
                "columns 4-7: quaternion norm {norm:.4}, expected 1 ± {QUAT_NORM_TOLERANCE}"
            )));
        }
        let q = v[ROOT_COLUMNS..].to_vec();
        for (k, (x, j)) in q.iter().zip(&robot.joints).enumerate() {
            if *x < j.lower - LIMIT_TOLERANCE_RAD || *x > j.upper + LIMIT_TOLERANCE_RAD {
                return Err(bad(format!(
                    "column {}: {} = {x:.4} rad is outside its range {:.4} ..= {:.4}",
                    ROOT_COLUMNS + k + 1,
                    j.name,
                    j.lower,
                    j.upper
                )));
            }
        }
        frames.push(Frame {
            root_pos_m: [v[0], v[1], v[2]],
            root_quat_wxyz: [qw / norm, qx / norm, qy / norm, qz / norm],
            joint_pos_rad: q,
        });
    }
    if frames.is_empty() {
        return Err(DemoError::Csv {
            path: path.to_owned(),
            line: 1,
            message: "no frames".into(),
        });
    }
    Ok(Take {
        name: path
            .file_stem()
            .map_or_else(|| "take".to_owned(), |s| s.to_string_lossy().into_owned()),
        path: path.to_owned(),
        rate_hz: LAFAN_FPS,
        frames,
    })
}

/// Reads and validates a CSV take for `robot` (see [`parse_take`]).
///
/// # Errors
/// [`DemoError::Io`] or [`DemoError::Csv`], naming the file.
pub fn read_take(path: &Path, robot: &Robot) -> Result<Take, DemoError> {
    let text = std::fs::read_to_string(path).map_err(|source| DemoError::Io {
        path: path.to_owned(),
        source,
    })?;
    parse_take(&text, path, robot)
}
