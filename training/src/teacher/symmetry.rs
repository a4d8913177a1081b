//! Left-right symmetry augmentation for the teacher: the mirror image of a whole critic row and of
//! an action, so that PPO can train on each transition and on its mirror image (the data
//! augmentation of Mittal et al., "Symmetry Considerations for Learning Task Symmetric Robot
//! Policies", ICRA 2024).
//!
//! The reflection is the one of [`crate::mirror`]: through the x-z plane of the heading frame.
//! Every block of the row is a signed permutation of itself under it:
//! - reference: keypoints (left and right keypoints swap, y changes sign), root height, gravity
//!   in the pelvis frame (y changes sign), joints (the joint mirror map), time to go;
//! - height scan: the point at `(x, y)` takes the value of the point at `(x, -y)`;
//! - each proprioceptive frame: [`crate::mirror`]'s rules as a permutation;
//! - critic extras: base velocity in the body frame (y changes sign), head height, per-link
//!   contacts (left and right links swap), difficulty and the two phases.
//!
//! The head keypoint is the camera, 17.5 mm left of the torso's midline on the G1, so its mirror
//! image is 35 mm off; every other value is exact.

use vigor_policy::ObservationLayout;
use vigor_sim::robot::Robot;
use vigor_sim::robot::mirror::{JointMirror, MirrorError};

use super::config::TeacherParams;
use super::task::{ObsDims, height_scan, obs_dims};
use crate::demos::KEYPOINTS;

/// A mirror map as a signed permutation: `out[i] = ±row[source[i]]`, minus where `negate[i]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedPermutation {
    /// The index each value is taken from.
    pub source: Vec<usize>,
    /// Whether it changes sign.
    pub negate: Vec<bool>,
}

impl SignedPermutation {
    fn with_capacity(n: usize) -> Self {
        Self {
            source: Vec::with_capacity(n),
            negate: Vec::with_capacity(n),
        }
    }

    fn push(&mut self, source: usize, negate: bool) {
        self.source.push(source);
        self.negate.push(negate);
    }

    /// Values mapped.
    #[must_use]
    pub fn len(&self) -> usize {
        self.source.len()
    }

    /// True for an empty map.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.source.is_empty()
    }

    /// Writes the mirror image of `row` into `out`.
    ///
    /// # Panics
    /// If either length differs from the map's.
    pub fn apply_into(&self, row: &[f32], out: &mut [f32]) {
        assert_eq!(row.len(), self.len(), "row length");
        assert_eq!(out.len(), self.len(), "output length");
        for ((o, &s), &neg) in out.iter_mut().zip(&self.source).zip(&self.negate) {
            *o = if neg { -row[s] } else { row[s] };
        }
    }

    /// The mirror image of every row of `rows` (rows of [`Self::len`] values).
    ///
    /// # Panics
    /// If `rows` is not a whole number of rows.
    #[must_use]
    pub fn apply_rows(&self, rows: &[f32]) -> Vec<f32> {
        let n = self.len().max(1);
        assert_eq!(rows.len() % n, 0, "whole rows");
        let mut out = vec![0.0; rows.len()];
        for (r, o) in rows.chunks_exact(n).zip(out.chunks_exact_mut(n)) {
            self.apply_into(r, o);
        }
        out
    }

    /// True when applying the map twice gives every row back (a reflection must).
    #[must_use]
    pub fn is_involution(&self) -> bool {
        self.source
            .iter()
            .enumerate()
            .all(|(i, &s)| self.source[s] == i && self.negate[s] == self.negate[i])
    }

    fn extend_joints(&mut self, at: usize, joints: &JointMirror) {
        for (&p, &s) in joints.partner.iter().zip(&joints.sign) {
            self.push(at + p, s < 0.0);
        }
    }
}

/// The partner of a name under the reflection: `left_` and `right_` swapped, anywhere in it.
fn partner_name(name: &str) -> String {
    if name.contains("left_") {
        name.replacen("left_", "right_", 1)
    } else if name.contains("right_") {
        name.replacen("right_", "left_", 1)
    } else {
        name.to_owned()
    }
}

/// Index of the partner of each of `names`.
fn partners(names: &[&str], what: &str) -> Result<Vec<usize>, SymmetryError> {
    names
        .iter()
        .map(|n| {
            let p = partner_name(n);
            names
                .iter()
                .position(|m| *m == p)
                .ok_or_else(|| SymmetryError::NoPartner {
                    what: what.to_owned(),
                    name: (*n).to_owned(),
                    partner: p,
                })
        })
        .collect()
}

/// Why a teacher's rows have no mirror map.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SymmetryError {
    /// The robot's joints have no mirror map.
    #[error(transparent)]
    Joints(#[from] MirrorError),
    /// A keypoint or link without its mirror partner.
    #[error("{what} `{name}` has no mirror partner `{partner}`")]
    NoPartner {
        /// "keypoint" or "link".
        what: String,
        /// Its name.
        name: String,
        /// The name looked for.
        partner: String,
    },
    /// A height-scan point whose mirror image is not in the grid.
    #[error("the height scan's point ({0:.3}, {1:.3}) has no mirror image (x, -y) in the grid")]
    Scan(f32, f32),
    /// A joint block whose size is not the robot's joint count.
    #[error("the proprioceptive block `{0}` has {1} values for {2} joints")]
    Block(String, usize, usize),
    /// The blocks do not add up to the row.
    #[error("the mirror map covers {0} values of a {1}-value row")]
    Size(usize, usize),
}

/// The mirror maps of a teacher: its rows (critic layout; the actor's is the first part) and its
/// actions.
#[derive(Debug, Clone, PartialEq)]
pub struct TeacherMirror {
    /// Of a critic row.
    pub row: SignedPermutation,
    /// Of an action (joint targets, one per joint).
    pub action: SignedPermutation,
}

impl TeacherMirror {
    /// The maps of the teacher `params` configures for `robot`.
    ///
    /// # Errors
    /// As [`TeacherMirror::new`].
    pub fn for_teacher(robot: &Robot, params: &TeacherParams) -> Result<Self, SymmetryError> {
        Self::new(
            robot,
            &obs_dims(robot, params),
            &ObservationLayout::g1_proprioception(),
            height_scan(params).points(),
        )
    }

    /// The maps for `robot`'s teacher rows laid out by `dims`, with one proprioceptive frame laid
    /// out by `layout` and the height scan's points `scan_points` (heading frame, x y).
    ///
    /// # Errors
    /// A joint, keypoint, link or scan point without a mirror image, or blocks that do not fill
    /// the row.
    pub fn new(
        robot: &Robot,
        dims: &ObsDims,
        layout: &ObservationLayout,
        scan_points: &[[f32; 2]],
    ) -> Result<Self, SymmetryError> {
        let joints = JointMirror::new(robot)?;
        let nj = robot.joints.len();
        let mut row = SignedPermutation::with_capacity(dims.critic());

        // Reference: keypoints, root height, gravity, joints, time to go.
        let names: Vec<&str> = KEYPOINTS.iter().map(|k| k.name).collect();
        for (k, &p) in partners(&names, "keypoint")?.iter().enumerate() {
            debug_assert_eq!(row.len(), 3 * k);
            row.push(3 * p, false);
            row.push(3 * p + 1, true);
            row.push(3 * p + 2, false);
        }
        let at = row.len();
        row.push(at, false);
        row.push(at + 1, false);
        row.push(at + 2, true);
        row.push(at + 3, false);
        let at = row.len();
        row.extend_joints(at, &joints);
        let at = row.len();
        row.push(at, false);

        // Height scan.
        let at = row.len();
        for &[x, y] in scan_points {
            let m = scan_points
                .iter()
                .position(|&[u, v]| (u - x).abs() < 1e-4 && (v + y).abs() < 1e-4)
                .ok_or(SymmetryError::Scan(x, y))?;
            row.push(at + m, false);
        }

        // Proprioception history, frame by frame.
        for _ in 0..dims.history {
            for b in &layout.blocks {
                let at = row.len();
                match b.name.as_str() {
                    "base_ang_vel" => {
                        row.push(at, true);
                        row.push(at + 1, false);
                        row.push(at + 2, true);
                    }
                    "projected_gravity" => {
                        row.push(at, false);
                        row.push(at + 1, true);
                        row.push(at + 2, false);
                    }
                    "joint_pos_rel" | "joint_vel" | "last_action" => {
                        if b.size != nj {
                            return Err(SymmetryError::Block(b.name.clone(), b.size, nj));
                        }
                        row.extend_joints(at, &joints);
                    }
                    _ => (0..b.size).for_each(|i| row.push(at + i, false)),
                }
            }
        }

        // Critic extras: body-frame velocity, head height, contacts, difficulty, two phases.
        let at = row.len();
        row.push(at, false);
        row.push(at + 1, true);
        row.push(at + 2, false);
        row.push(at + 3, false);
        let links: Vec<&str> = robot.links.iter().map(|l| l.name.as_str()).collect();
        let at = row.len();
        for p in partners(&links, "link")? {
            row.push(at + p, false);
        }
        let at = row.len();
        (0..3).for_each(|i| row.push(at + i, false));

        if row.len() != dims.critic() {
            return Err(SymmetryError::Size(row.len(), dims.critic()));
        }
        let mut action = SignedPermutation::with_capacity(nj);
        action.extend_joints(0, &joints);
        Ok(Self { row, action })
    }
}

#[cfg(test)]
mod tests {
    use vigor_common::config;
    use vigor_policy::Proprioception;

    use super::*;
    use crate::demos::shipped_demos;
    use crate::teacher::config::TeacherConfig;
    use crate::teacher::reference::{Reference, reference_obs_len};
    use vigor_common::config::Validate as _;

    fn unified() -> (Robot, TeacherParams) {
        let robot = Robot::embedded("g1_29dof").unwrap();
        let file = "configs/teacher-unified.toml";
        let params = config::parse::<TeacherConfig>(
            include_str!("../../../configs/teacher-unified.toml"),
            file,
        )
        .unwrap()
        .validate(file)
        .unwrap();
        (robot, params)
    }

    #[test]
    fn the_maps_fill_the_row_and_twice_are_the_identity() {
        let (robot, params) = unified();
        let m = TeacherMirror::for_teacher(&robot, &params).unwrap();
        assert_eq!(m.row.len(), obs_dims(&robot, &params).critic());
        assert_eq!(m.action.len(), robot.joints.len());
        assert!(m.row.is_involution() && m.action.is_involution());
        let row: Vec<f32> = (0..m.row.len()).map(|i| (i as f32 * 0.37).sin()).collect();
        assert_eq!(m.row.apply_rows(&m.row.apply_rows(&row)), row);
        assert_ne!(m.row.apply_rows(&row), row);
        // The shipped lying-start teacher has the same layout.
        let shipped = TeacherConfig::embedded().unwrap();
        assert!(TeacherMirror::for_teacher(&robot, &shipped).is_ok());
    }

    #[test]
    fn each_height_scan_point_reads_its_mirror_image() {
        let (robot, params) = unified();
        let m = TeacherMirror::for_teacher(&robot, &params).unwrap();
        let dims = obs_dims(&robot, &params);
        let scan = height_scan(&params);
        let points = scan.points();
        for (i, [x, y]) in points.iter().enumerate() {
            let s = m.row.source[dims.reference + i] - dims.reference;
            assert!(!m.row.negate[dims.reference + i]);
            assert!((points[s][0] - x).abs() < 1e-5 && (points[s][1] + y).abs() < 1e-5);
        }
    }

    #[test]
    fn a_proprioceptive_frame_mirrors_as_the_tested_frame_mirror_does() {
        let (robot, params) = unified();
        let m = TeacherMirror::for_teacher(&robot, &params).unwrap();
        let dims = obs_dims(&robot, &params);
        let layout = ObservationLayout::g1_proprioception();
        let n = robot.joints.len();
        let default_q: Vec<f32> = robot.joints.iter().map(|j| j.default as f32).collect();
        let q: Vec<f32> = (0..n).map(|i| default_q[i] + 0.03 * i as f32).collect();
        let dq: Vec<f32> = (0..n).map(|i| (i as f32).cos()).collect();
        let last: Vec<f32> = (0..n).map(|i| (i as f32).sin()).collect();
        let mut frame = vec![0.0; layout.len()];
        layout.write_proprioception(
            &Proprioception {
                gyro: [0.3, -0.2, 0.1],
                quat_wxyz: [0.96, 0.1, 0.2, 0.17],
                q: &q,
                dq: &dq,
                default_q: &default_q,
                last_action: &last,
            },
            &mut frame,
        );
        let mut row = vec![0.0; dims.critic()];
        for k in 0..dims.history {
            let at = dims.goal() + k * dims.proprio;
            row[at..at + dims.proprio].copy_from_slice(&frame);
        }
        let mirrored = m.row.apply_rows(&row);
        let expected =
            crate::mirror::mirror_frame(&layout, &JointMirror::new(&robot).unwrap(), &frame);
        for k in 0..dims.history {
            let at = dims.goal() + k * dims.proprio;
            assert_eq!(mirrored[at..at + dims.proprio], expected[..], "frame {k}");
        }
    }

    #[test]
    fn the_mirrored_reference_of_a_demonstration_is_the_reference_of_its_mirror_image() {
        // side_roll_kneel and side_roll_kneel_left are mirror images (configs/demos/): keypoints,
        // root height, gravity, joints and time to go of one, mirrored, are the other's.
        let (robot, params) = unified();
        let m = TeacherMirror::for_teacher(&robot, &params).unwrap();
        let demos = shipped_demos(&robot).unwrap();
        let reference = |name: &str| {
            let d = demos.iter().find(|d| d.name == name).unwrap();
            Reference::new(&robot, &d.to_clip(&robot, 50.0), d.posture, 0.5).unwrap()
        };
        let (right, left) = (
            reference("side_roll_kneel"),
            reference("side_roll_kneel_left"),
        );
        let default_q: Vec<f32> = robot.joints.iter().map(|j| j.default as f32).collect();
        let len = reference_obs_len(robot.joints.len());
        let head = KEYPOINTS.iter().position(|k| k.name == "head").unwrap();
        let mut compared = 0;
        for t in [0.0, 1.3, 2.9, 4.4, 6.0, 8.2] {
            let mut row = vec![0.0; m.row.len()];
            right.write_obs(t, &default_q, 1.0, &mut row[..len]);
            let mut theirs = vec![0.0; len];
            left.write_obs(t, &default_q, 1.0, &mut theirs);
            let mirrored = m.row.apply_rows(&row);
            for (i, (a, b)) in mirrored[..len].iter().zip(&theirs).enumerate() {
                // The head keypoint is the camera, 17.5 mm off the midline.
                let tol = if i / 3 == head && i < 3 * KEYPOINTS.len() {
                    0.04
                } else {
                    2e-3
                };
                assert!((a - b).abs() < tol, "t {t} s, value {i}: {a} against {b}");
                compared += 1;
            }
        }
        assert_eq!(compared, 6 * len);
    }
}
