//! Left-right mirroring of what a policy reads and does, for symmetry augmentation: the
//! proprioceptive frame ([`vigor_policy::ObservationLayout`]) and the actions, through the robot's
//! joint mirror map ([`vigor_sim::robot::mirror::JointMirror`]).
//!
//! Under the reflection through the pelvis's x-z plane, the body-frame angular velocity
//! `(x, y, z)` becomes `(-x, y, -z)`, gravity in the body frame `(x, y, z)` becomes `(x, -y, z)`,
//! an orientation quaternion `(w, x, y, z)` becomes `(w, -x, y, -z)`, and joint values go through
//! the joint map. Joint positions relative to the stand keep their meaning because the stand pose
//! is its own mirror image (tested in `vigor_sim::robot::mirror`).

use vigor_policy::ObservationLayout;
use vigor_sim::robot::mirror::JointMirror;

/// The mirror image of a body-frame angular velocity.
#[must_use]
pub fn mirror_angular_velocity(w: [f32; 3]) -> [f32; 3] {
    [-w[0], w[1], -w[2]]
}

/// The mirror image of an orientation (w x y z).
#[must_use]
pub fn mirror_quaternion(q: [f32; 4]) -> [f32; 4] {
    [q[0], -q[1], q[2], -q[3]]
}

/// The mirror image of a proprioceptive frame laid out by `layout`. Blocks it does not know are
/// copied unchanged.
///
/// # Panics
/// If `frame` is shorter than `layout` or a joint block's size is not the map's joint count.
#[must_use]
pub fn mirror_frame(layout: &ObservationLayout, joints: &JointMirror, frame: &[f32]) -> Vec<f32> {
    let mut out = frame.to_vec();
    let mut at = 0;
    for b in &layout.blocks {
        let src = &frame[at..at + b.size];
        let dst = &mut out[at..at + b.size];
        match b.name.as_str() {
            "base_ang_vel" => {
                dst.copy_from_slice(&mirror_angular_velocity([src[0], src[1], src[2]]))
            }
            "projected_gravity" => dst.copy_from_slice(&[src[0], -src[1], src[2]]),
            "joint_pos_rel" | "joint_vel" | "last_action" => {
                dst.copy_from_slice(&joints.apply(src));
            }
            _ => {}
        }
        at += b.size;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigor_policy::obs::{Proprioception, projected_gravity};
    use vigor_sim::robot::Robot;

    fn frame(layout: &ObservationLayout, p: &Proprioception<'_>) -> Vec<f32> {
        let mut out = vec![0.0; layout.len()];
        layout.write_proprioception(p, &mut out);
        out
    }

    #[test]
    fn the_mirrored_frame_is_the_frame_of_the_mirrored_robot_and_twice_is_the_identity() {
        let robot = Robot::embedded("g1_29dof").unwrap();
        let m = JointMirror::new(&robot).unwrap();
        let layout = ObservationLayout::g1_proprioception();
        let n = robot.joints.len();
        let default_q: Vec<f32> = robot.joints.iter().map(|j| j.default as f32).collect();
        let q: Vec<f32> = (0..n)
            .map(|i| default_q[i] + 0.05 * (i as f32 - 14.0))
            .collect();
        let dq: Vec<f32> = (0..n).map(|i| 0.3 * (i as f32).sin()).collect();
        let last: Vec<f32> = (0..n).map(|i| 0.2 * (i as f32).cos()).collect();
        // Tilted about all three axes.
        let (h, r) = (0.3f32, 0.2f32);
        let quat = {
            let (a, b) = ((h / 2.0).cos(), (h / 2.0).sin());
            let (c, d) = ((r / 2.0).cos(), (r / 2.0).sin());
            let n = (a * c, b * d, a * d, b * c);
            let norm = (n.0 * n.0 + n.1 * n.1 + n.2 * n.2 + n.3 * n.3).sqrt();
            [n.0 / norm, n.1 / norm, n.2 / norm, n.3 / norm]
        };
        let gyro = [0.4, -0.7, 1.1];
        let original = frame(
            &layout,
            &Proprioception {
                gyro,
                quat_wxyz: quat,
                q: &q,
                dq: &dq,
                default_q: &default_q,
                last_action: &last,
            },
        );
        let mirrored_state = frame(
            &layout,
            &Proprioception {
                gyro: mirror_angular_velocity(gyro),
                quat_wxyz: mirror_quaternion(quat),
                q: &m.apply(&q),
                dq: &m.apply(&dq),
                default_q: &default_q,
                last_action: &m.apply(&last),
            },
        );
        let mirrored = mirror_frame(&layout, &m, &original);
        for (k, (a, b)) in mirrored.iter().zip(&mirrored_state).enumerate() {
            assert!((a - b).abs() < 1e-5, "value {k}: {a} vs {b}");
        }
        assert_eq!(mirror_frame(&layout, &m, &mirrored), original);
        // Gravity mirrors as the frame says.
        let g = projected_gravity(quat);
        let gm = projected_gravity(mirror_quaternion(quat));
        assert!((g[0] - gm[0]).abs() < 1e-6 && (g[1] + gm[1]).abs() < 1e-6);
    }
}
