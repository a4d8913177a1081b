//! [`LinkPose`], the engine-neutral rigid transform the sensors read, with the few `[f32; 3]`
//! vector helpers they share, and conversions from the robot model's and rapier's pose types.

use rapier3d::na::Isometry3;

/// A rigid transform (a link's or the camera's frame in the world): `p_world = R(q) p_local + pos`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinkPose {
    /// Frame origin, m.
    pub pos: [f32; 3],
    /// Orientation as a unit quaternion `(w, x, y, z)`.
    pub quat_wxyz: [f32; 4],
}

impl Default for LinkPose {
    fn default() -> Self {
        Self::IDENTITY
    }
}

impl LinkPose {
    /// The identity transform.
    pub const IDENTITY: Self = Self {
        pos: [0.0; 3],
        quat_wxyz: [1.0, 0.0, 0.0, 0.0],
    };

    /// From a robot-model isometry (f64, e.g. [`crate::robot::Robot::forward_kinematics`]).
    #[must_use]
    pub fn from_isometry(iso: &Isometry3<f64>) -> Self {
        let t = iso.translation.vector;
        let q = iso.rotation;
        Self {
            pos: [t.x as f32, t.y as f32, t.z as f32],
            quat_wxyz: [q.w as f32, q.i as f32, q.j as f32, q.k as f32],
        }
    }

    /// Rotates `v` from this frame into the parent (world) frame.
    #[must_use]
    pub fn rotate(&self, v: [f32; 3]) -> [f32; 3] {
        let [w, x, y, z] = self.quat_wxyz;
        rotate_by(w, [x, y, z], v)
    }

    /// Rotates `v` from the parent (world) frame into this frame.
    #[must_use]
    pub fn inverse_rotate(&self, v: [f32; 3]) -> [f32; 3] {
        let [w, x, y, z] = self.quat_wxyz;
        rotate_by(w, [-x, -y, -z], v)
    }

    /// Maps a point of this frame into the parent (world) frame.
    #[must_use]
    pub fn transform_point(&self, p: [f32; 3]) -> [f32; 3] {
        add(self.rotate(p), self.pos)
    }

    /// Maps a world point into this frame.
    #[must_use]
    pub fn inverse_transform_point(&self, p: [f32; 3]) -> [f32; 3] {
        self.inverse_rotate(sub(p, self.pos))
    }

    /// `self ∘ other`: the frame `other` (given relative to `self`) in `self`'s parent frame.
    #[must_use]
    pub fn compose(&self, other: &Self) -> Self {
        let [aw, ax, ay, az] = self.quat_wxyz;
        let [bw, bx, by, bz] = other.quat_wxyz;
        Self {
            pos: self.transform_point(other.pos),
            quat_wxyz: [
                aw * bw - ax * bx - ay * by - az * bz,
                aw * bx + ax * bw + ay * bz - az * by,
                aw * by - ax * bz + ay * bw + az * bx,
                aw * bz + ax * by - ay * bx + az * bw,
            ],
        }
    }

    /// The inverse transform.
    #[must_use]
    pub fn inverse(&self) -> Self {
        let [w, x, y, z] = self.quat_wxyz;
        let q = [w, -x, -y, -z];
        Self {
            pos: rotate_by(w, [-x, -y, -z], scale(self.pos, -1.0)),
            quat_wxyz: q,
        }
    }
}

/// From a rapier pose ([`crate::rapier::RapierSim::link_poses`]).
#[must_use]
pub fn link_pose_from_rapier(pose: &rapier3d::math::Pose) -> LinkPose {
    let (t, r) = (pose.translation, pose.rotation);
    LinkPose {
        pos: [t.x, t.y, t.z],
        quat_wxyz: [r.w, r.x, r.y, r.z],
    }
}

/// `q v q*` for the unit quaternion `(w, u)`: `v + w t + u × t` with `t = 2 u × v`.
fn rotate_by(w: f32, u: [f32; 3], v: [f32; 3]) -> [f32; 3] {
    let t = scale(cross(u, v), 2.0);
    add(add(v, scale(t, w)), cross(u, t))
}

/// `a + b`.
pub(crate) fn add(a: [f32; 3], b: [f32; 3]) -> [f32; 3] {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2]]
}

/// `a - b`.
pub(crate) fn sub(a: [f32; 3], b: [f32; 3]) -> [f32; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

/// `s a`.
pub(crate) fn scale(a: [f32; 3], s: f32) -> [f32; 3] {
    [a[0] * s, a[1] * s, a[2] * s]
}

/// `a · b`.
pub(crate) fn dot(a: [f32; 3], b: [f32; 3]) -> f32 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

/// `a × b`.
pub(crate) fn cross(a: [f32; 3], b: [f32; 3]) -> [f32; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

/// `a / |a|`, or `a` unchanged when it has no length.
pub(crate) fn normalize(a: [f32; 3]) -> [f32; 3] {
    let n = dot(a, a).sqrt();
    if n > 0.0 { scale(a, 1.0 / n) } else { a }
}

#[cfg(test)]
mod tests {
    use rapier3d::na::{Translation3, UnitQuaternion, Vector3};

    use super::*;

    fn close(a: [f32; 3], b: [f32; 3]) -> bool {
        a.iter().zip(&b).all(|(x, y)| (x - y).abs() < 1e-5)
    }

    #[test]
    fn matches_nalgebra_for_points_composition_and_inverse() {
        let a = Isometry3::from_parts(
            Translation3::new(0.3, -1.2, 0.8),
            UnitQuaternion::from_euler_angles(0.4, -0.7, 2.1),
        );
        let b = Isometry3::from_parts(
            Translation3::new(-0.1, 0.2, 0.5),
            UnitQuaternion::from_axis_angle(&Vector3::y_axis(), 0.8308),
        );
        let (pa, pb) = (LinkPose::from_isometry(&a), LinkPose::from_isometry(&b));
        let p = [0.7, -0.4, 1.1];
        let want = a * rapier3d::na::Point3::new(0.7, -0.4, 1.1);
        let got = pa.transform_point(p);
        assert!(
            close(got, [want.x as f32, want.y as f32, want.z as f32]),
            "{got:?} vs {want}"
        );
        let back = pa.inverse_transform_point(got);
        assert!(close(back, p), "round trip {back:?}");
        let ab = LinkPose::from_isometry(&(a * b));
        let composed = pa.compose(&pb);
        assert!(close(composed.pos, ab.pos), "{composed:?} vs {ab:?}");
        assert!(close(composed.transform_point(p), ab.transform_point(p)));
        let inv = pa.inverse();
        assert!(close(inv.transform_point(got), p), "inverse");
    }

    #[test]
    fn converts_rapier_poses() {
        use rapier3d::math::{Pose, Rotation, Vector};
        let r = Rotation::from_xyzw(0.1, 0.2, 0.3, 0.9).normalize();
        let pose = Pose::from_parts(Vector::new(1.0, 2.0, 3.0), r);
        let lp = link_pose_from_rapier(&pose);
        let want = pose.transform_point(Vector::new(0.5, -0.5, 0.25));
        let got = lp.transform_point([0.5, -0.5, 0.25]);
        assert!(close(got, [want.x, want.y, want.z]), "{got:?} vs {want:?}");
    }
}
