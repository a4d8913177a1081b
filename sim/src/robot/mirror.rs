//! Left-right mirror maps of the robot, from its description: the reflection through the
//! sagittal (x-z) plane of the pelvis at the zero pose, as symmetry augmentation needs it.
//!
//! Each joint's partner is the joint of the same name with `left_` and `right_` swapped (itself for
//! the waist). Its sign comes from the joint axes at the zero pose in the pelvis frame: a reflection
//! turns a rotation about axis `a` into one about `M a` with the opposite sense, so the mirrored
//! angle is `-(a'·M a)` times the angle, where `a'` is the partner's axis and `M = diag(1, -1, 1)`.
//! Pitch joints keep their angle; roll and yaw joints change its sign. A description whose partner
//! axes are not mirror images is refused.

use rapier3d::na::{Isometry3, Vector3};

use super::Robot;

/// The mirror map of the joints: `mirrored[i] = sign[i] * q[partner[i]]`.
#[derive(Debug, Clone, PartialEq)]
pub struct JointMirror {
    /// For each joint, the joint it takes its value from.
    pub partner: Vec<usize>,
    /// For each joint, +1 or -1.
    pub sign: Vec<f64>,
}

/// Why a description has no mirror map.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MirrorError {
    /// A `left_`/`right_` joint without its partner.
    #[error("joint `{0}` has no mirror partner `{1}`")]
    NoPartner(String, String),
    /// The partner's axis is not the mirror image of this joint's.
    #[error("joints `{0}` and `{1}`: their axes are not mirror images (dot {2:.3})")]
    Axes(String, String, f64),
}

fn partner_name(name: &str) -> String {
    if let Some(rest) = name.strip_prefix("left_") {
        format!("right_{rest}")
    } else if let Some(rest) = name.strip_prefix("right_") {
        format!("left_{rest}")
    } else {
        name.to_owned()
    }
}

/// Reflection through the x-z plane.
#[must_use]
pub fn reflect(v: Vector3<f64>) -> Vector3<f64> {
    Vector3::new(v.x, -v.y, v.z)
}

impl JointMirror {
    /// The map of `robot`.
    ///
    /// # Errors
    /// A joint without a partner, or partners whose axes are not mirror images.
    pub fn new(robot: &Robot) -> Result<Self, MirrorError> {
        let zero = vec![0.0; robot.joints.len()];
        let poses = robot.forward_kinematics(&Isometry3::identity(), &zero);
        let axis =
            |j: usize| poses[robot.joints[j].link].rotation * robot.joints[j].axis.into_inner();
        let mut partner = Vec::with_capacity(robot.joints.len());
        let mut sign = Vec::with_capacity(robot.joints.len());
        for (i, joint) in robot.joints.iter().enumerate() {
            let name = partner_name(&joint.name);
            let p = robot
                .joints
                .iter()
                .position(|j| j.name == name)
                .ok_or_else(|| MirrorError::NoPartner(joint.name.clone(), name.clone()))?;
            let dot = axis(p).dot(&reflect(axis(i)));
            if (dot.abs() - 1.0).abs() > 1e-6 {
                return Err(MirrorError::Axes(joint.name.clone(), name, dot));
            }
            partner.push(p);
            sign.push(-dot.signum());
        }
        Ok(Self { partner, sign })
    }

    /// The mirrored joint values (positions, velocities or actions), by joint index.
    ///
    /// # Panics
    /// If `q` does not have one value per joint.
    #[must_use]
    pub fn apply<T>(&self, q: &[T]) -> Vec<T>
    where
        T: Copy + std::ops::Neg<Output = T>,
    {
        assert_eq!(q.len(), self.partner.len(), "one value per joint");
        self.partner
            .iter()
            .zip(&self.sign)
            .map(|(&p, &s)| if s < 0.0 { -q[p] } else { q[p] })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g1() -> Robot {
        Robot::embedded("g1_29dof").unwrap()
    }

    #[test]
    fn mirroring_twice_is_the_identity_and_pitch_keeps_roll_and_yaw_flip() {
        let robot = g1();
        let m = JointMirror::new(&robot).unwrap();
        let q: Vec<f64> = (0..robot.joints.len())
            .map(|i| 0.1 * i as f64 - 1.0)
            .collect();
        assert_eq!(m.apply(&m.apply(&q)), q);
        let idx = |n: &str| robot.joints.iter().position(|j| j.name == n).unwrap();
        let (lhp, rhp) = (idx("left_hip_pitch_joint"), idx("right_hip_pitch_joint"));
        assert_eq!((m.partner[lhp], m.sign[lhp]), (rhp, 1.0));
        let (lhr, rhr) = (idx("left_hip_roll_joint"), idx("right_hip_roll_joint"));
        assert_eq!((m.partner[lhr], m.sign[lhr]), (rhr, -1.0));
        let wy = idx("waist_yaw_joint");
        assert_eq!((m.partner[wy], m.sign[wy]), (wy, -1.0));
        let wp = idx("waist_pitch_joint");
        assert_eq!((m.partner[wp], m.sign[wp]), (wp, 1.0));
    }

    #[test]
    fn the_mirrored_stand_is_the_stand_and_limits_map_onto_limits() {
        let robot = g1();
        let m = JointMirror::new(&robot).unwrap();
        let q0 = robot.default_pose();
        for (a, b) in m.apply(&q0).iter().zip(&q0) {
            assert!((a - b).abs() < 1e-9, "{a} vs {b}");
        }
        for (i, j) in robot.joints.iter().enumerate() {
            let p = &robot.joints[m.partner[i]];
            let (lo, hi) = if m.sign[i] > 0.0 {
                (p.lower, p.upper)
            } else {
                (-p.upper, -p.lower)
            };
            assert!(
                (lo - j.lower).abs() < 1e-6 && (hi - j.upper).abs() < 1e-6,
                "{}: [{}, {}] against the partner's mirrored [{lo}, {hi}]",
                j.name,
                j.lower,
                j.upper
            );
        }
    }

    #[test]
    fn a_mirrored_pose_puts_every_link_at_the_reflection_of_its_partner() {
        let robot = g1();
        let m = JointMirror::new(&robot).unwrap();
        let q: Vec<f64> = (0..robot.joints.len())
            .map(|i| {
                let j = &robot.joints[i];
                j.lower + (j.upper - j.lower) * (0.2 + 0.6 * ((i * 7 % 11) as f64 / 11.0))
            })
            .collect();
        let poses = robot.forward_kinematics(&Isometry3::identity(), &q);
        let mirrored = robot.forward_kinematics(&Isometry3::identity(), &m.apply(&q));
        for (k, link) in robot.links.iter().enumerate() {
            let p = robot.link_index(&partner_name(&link.name)).unwrap();
            let want = reflect(poses[p].translation.vector);
            let got = mirrored[k].translation.vector;
            // The description's own left and right halves differ by a few micrometres (the
            // shoulders' mounts, from Unitree's URDF): 0.1 mm is the tolerance.
            assert!(
                (want - got).norm() < 1e-4,
                "{}: {got:?} is not the reflection {want:?} of {}",
                link.name,
                robot.links[p].name
            );
        }
    }
}
