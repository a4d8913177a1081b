//! Left-right symmetry in distillation (`[optim] symmetry`): each recorded state is also shown
//! to the student as its mirror image, labelled by the teacher on the mirror image of its
//! privileged row, so the teacher answers for the mirrored state as DAgger's expert answers for
//! any state.
//!
//! The reflection is the one of [`crate::mirror`] and [`crate::teacher::symmetry`]: through the
//! x-z plane of the heading frame. What the student reads mirrors as:
//! - each proprioceptive frame of the history: [`crate::mirror::mirror_frame`] on the raw values,
//!   normalised afterwards as the robot's input code normalises them;
//! - each depth image of the stack: its columns reversed (the camera looks along x with its
//!   columns along y, and its principal point is the image centre). The G1's camera is 17.5 mm
//!   left of the torso's midline, so the mirror image is that of a camera 35 mm to the right of
//!   it: close, not exact;
//! - the phase: unchanged.
//!
//! A state is mirrored only when the student's reference track and the teacher's both have a
//! mirror partner among the artifact's tracks ([`track_partners`]): the track the robot would
//! play for the mirrored state must be the mirror image of the one played, or the label would
//! ask the student for a motion its runtime never plays (the shipped supine recovery rolls to
//! one side, and the mirrored supine state is the supine state).

use vigor_policy::StudentNetwork;
use vigor_policy::track::ReferenceTrack;
use vigor_sim::robot::Robot;
use vigor_sim::robot::mirror::JointMirror;

use crate::mirror::mirror_frame;
use crate::teacher::TeacherParams;
use crate::teacher::symmetry::{SignedPermutation, SymmetryError, TeacherMirror};

/// Largest joint difference, rad, between a track's mirror image and its partner, frame by frame.
pub const PARTNER_TOLERANCE_RAD: f32 = 0.02;

/// Largest difference between a track's mirrored gravity signature and its partner's.
const GRAVITY_TOLERANCE: f32 = 0.02;

/// For each of `tracks`, the track that is its mirror image (itself for a symmetric motion),
/// if any: mirrored gravity signature (y changes sign) and, frame by frame, the mirrored joints
/// within [`PARTNER_TOLERANCE_RAD`], over the same number of frames at the same rate and speed.
#[must_use]
pub fn track_partners(tracks: &[ReferenceTrack], joints: &JointMirror) -> Vec<Option<usize>> {
    tracks
        .iter()
        .map(|a| {
            let g = [a.gravity[0], -a.gravity[1], a.gravity[2]];
            tracks.iter().position(|b| {
                b.q.len() == a.q.len()
                    && b.rate_hz == a.rate_hz
                    && b.speed == a.speed
                    && g.iter()
                        .zip(&b.gravity)
                        .all(|(x, y)| (x - y).abs() <= GRAVITY_TOLERANCE)
                    && a.q.iter().zip(&b.q).all(|(qa, qb)| {
                        joints
                            .apply(qa)
                            .iter()
                            .zip(qb)
                            .all(|(x, y)| (x - y).abs() <= PARTNER_TOLERANCE_RAD)
                    })
            })
        })
        .collect()
}

/// `stack` (images of `width` values per row, row-major, one after the other) with every row
/// reversed.
///
/// # Panics
/// If `width` is 0 or does not divide `stack`'s length.
#[must_use]
pub fn flip_columns(stack: &[f32], width: usize) -> Vec<f32> {
    assert!(
        width > 0 && stack.len().is_multiple_of(width),
        "whole rows of {width} values"
    );
    stack
        .chunks_exact(width)
        .flat_map(|row| row.iter().rev().copied())
        .collect()
}

/// The mirror maps of one distillation: the teacher's privileged row, the student's history and
/// depth stack, and the partners of the reference tracks.
#[derive(Debug, Clone)]
pub struct StudentMirror {
    row: SignedPermutation,
    joints: JointMirror,
    network: StudentNetwork,
    partners: Vec<Option<usize>>,
}

impl StudentMirror {
    /// The maps for the student `network` of the teacher configured by `teacher` on `robot`.
    ///
    /// # Errors
    /// As [`TeacherMirror::for_teacher`].
    pub fn new(
        robot: &Robot,
        teacher: &TeacherParams,
        network: &StudentNetwork,
    ) -> Result<Self, SymmetryError> {
        let row = TeacherMirror::for_teacher(robot, teacher)?.row;
        let joints = JointMirror::new(robot)?;
        let partners = track_partners(&network.references, &joints);
        Ok(Self {
            row,
            joints,
            network: network.clone(),
            partners,
        })
    }

    /// The mirror partner of reference track `track`, if it has one.
    #[must_use]
    pub fn partner(&self, track: usize) -> Option<usize> {
        self.partners.get(track).copied().flatten()
    }

    /// Every track's partner.
    #[must_use]
    pub fn partners(&self) -> &[Option<usize>] {
        &self.partners
    }

    /// The mirror image of a raw (unnormalised) proprioceptive history, frame by frame.
    ///
    /// # Panics
    /// If `raw` is not a whole number of frames.
    #[must_use]
    pub fn history(&self, raw: &[f32]) -> Vec<f32> {
        let frame = self.network.spec.frame;
        assert!(raw.len().is_multiple_of(frame), "whole frames");
        raw.chunks_exact(frame)
            .flat_map(|f| mirror_frame(&self.network.observation, &self.joints, f))
            .collect()
    }

    /// The mirror image of a normalised depth stack (empty for a blind student).
    #[must_use]
    pub fn depth(&self, stack: &[f32]) -> Vec<f32> {
        match &self.network.depth {
            Some(d) if !stack.is_empty() => flip_columns(stack, usize::from(d.width_px)),
            _ => stack.to_vec(),
        }
    }

    /// The mirror image of the teacher's raw (unnormalised) critic rows.
    #[must_use]
    pub fn teacher_rows(&self, raw: &[f32]) -> Vec<f32> {
        self.row.apply_rows(raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_flip_per_row_and_twice_is_the_identity() {
        let stack: Vec<f32> = (0..12).map(|x| x as f32).collect();
        let flipped = flip_columns(&stack, 3);
        assert_eq!(
            flipped,
            vec![2., 1., 0., 5., 4., 3., 8., 7., 6., 11., 10., 9.]
        );
        assert_eq!(flip_columns(&flipped, 3), stack);
    }
}
