//! Analytic ray casts against the robot's own collision primitives (capsules, spheres, boxes), so
//! the depth camera sees the robot's body and the privileged observations can measure it.
//!
//! Every `ray_*` function takes a unit direction and returns the distance to where the ray enters
//! the solid, or `Some(0.0)` when the origin is inside it or on its surface (the solid blocks the
//! ray at once; no exit distance is reported). Hits behind the origin are misses.

use crate::robot::{Robot, Shape};

use super::pose::{LinkPose, add, dot, normalize, scale, sub};

/// Rays more nearly parallel to a capsule's axis than this (`sin²` of the angle) skip the
/// lateral surface: the end spheres alone give their hit.
const AXIS_PARALLEL_EPS: f32 = 1e-9;

/// Entry distance of the ray `origin + t dir` (`dir` unit) into the ball `|p - centre| <= radius`.
#[must_use]
pub fn ray_sphere(origin: [f32; 3], dir: [f32; 3], centre: [f32; 3], radius: f32) -> Option<f32> {
    let oc = sub(origin, centre);
    let r2 = radius * radius;
    if dot(oc, oc) <= r2 {
        return Some(0.0);
    }
    let b = dot(oc, dir);
    // Outside and heading away: no hit ahead.
    if b >= 0.0 {
        return None;
    }
    // r² minus the squared distance of closest approach: the well-conditioned form of b² - c.
    let miss = sub(oc, scale(dir, b));
    let disc = r2 - dot(miss, miss);
    (disc >= 0.0).then(|| -b - disc.sqrt())
}

/// Entry distance of the ray `origin + t dir` (`dir` unit) into the capsule swept by a sphere of
/// `radius` along the segment `a..b`.
///
/// The capsule is the union of the two end balls and the finite cylinder between them, so its first
/// hit from outside is the nearest of their first hits (cylinder hits counted only on its lateral
/// surface between the ends: a hit on an end disc lies inside an end ball, which is hit no later).
#[must_use]
pub fn ray_capsule(
    origin: [f32; 3],
    dir: [f32; 3],
    a: [f32; 3],
    b: [f32; 3],
    radius: f32,
) -> Option<f32> {
    let ba = sub(b, a);
    let oa = sub(origin, a);
    let baba = dot(ba, ba);
    let baoa = dot(ba, oa);
    let s = if baba > 0.0 {
        (baoa / baba).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let off_axis = sub(oa, scale(ba, s));
    if dot(off_axis, off_axis) <= radius * radius {
        return Some(0.0);
    }
    let ends = match (
        ray_sphere(origin, dir, a, radius),
        ray_sphere(origin, dir, b, radius),
    ) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    };
    // Lateral surface, from the ray's point nearest the segment's middle (`t0` along it) so that
    // the quadratic's terms stay small: with `p = origin + t0 dir - a`,
    // |p + s dir|² - ((p + s dir)·ba)² / baba = radius², times baba, is k2 s² + 2 k1 s + k0 = 0.
    let bard = dot(ba, dir);
    let k2 = baba - bard * bard;
    if k2 <= AXIS_PARALLEL_EPS * baba {
        return ends;
    }
    let t0 = -dot(sub(oa, scale(ba, 0.5)), dir);
    let p = add(oa, scale(dir, t0));
    let bap = dot(ba, p);
    let k1 = baba * dot(p, dir) - bap * bard;
    let k0 = baba * dot(p, p) - bap * bap - radius * radius * baba;
    let disc = k1 * k1 - k2 * k0;
    if disc < 0.0 {
        return ends;
    }
    let t = t0 + (-k1 - disc.sqrt()) / k2;
    let y = baoa + t * bard;
    if t >= 0.0 && (0.0..=baba).contains(&y) {
        Some(ends.map_or(t, |e| e.min(t)))
    } else {
        ends
    }
}

/// Entry distance of the ray `origin + t dir` (`dir` unit) into the axis-aligned box
/// `|p - centre| <= half_extents` (per axis), by the slab method. Transform a ray into the box's
/// frame first for a box that is axis-aligned only there (see [`RobotCollider::raycast`]).
#[must_use]
pub fn ray_box(
    origin: [f32; 3],
    dir: [f32; 3],
    centre: [f32; 3],
    half_extents: [f32; 3],
) -> Option<f32> {
    let o = sub(origin, centre);
    // Starting at 0 makes an origin inside every slab report 0.
    let (mut near, mut far) = (0.0_f32, f32::INFINITY);
    for k in 0..3 {
        let h = half_extents[k];
        if dir[k] == 0.0 {
            if o[k].abs() > h {
                return None;
            }
            continue;
        }
        let inv = 1.0 / dir[k];
        let (t1, t2) = ((-h - o[k]) * inv, (h - o[k]) * inv);
        near = near.max(t1.min(t2));
        far = far.min(t1.max(t2));
        if near > far {
            return None;
        }
    }
    Some(near)
}

/// A collision primitive in its link's frame, in `f32`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Primitive {
    /// Segment `a..b` swept by a sphere of `radius`, m.
    Capsule {
        /// Segment start, m.
        a: [f32; 3],
        /// Segment end, m.
        b: [f32; 3],
        /// Radius, m.
        radius: f32,
    },
    /// Ball.
    Sphere {
        /// Centre, m.
        centre: [f32; 3],
        /// Radius, m.
        radius: f32,
    },
    /// Box aligned with the link frame's axes.
    Cuboid {
        /// Centre, m.
        centre: [f32; 3],
        /// Half extents along the link's x, y, z, m.
        half_extents: [f32; 3],
    },
}

fn f32x3(x: f64, y: f64, z: f64) -> [f32; 3] {
    [x as f32, y as f32, z as f32]
}

impl Primitive {
    /// The `f32` copy of a robot-model shape.
    #[must_use]
    pub fn from_shape(shape: &Shape) -> Self {
        match shape {
            Shape::Capsule { a, b, radius } => Self::Capsule {
                a: f32x3(a.x, a.y, a.z),
                b: f32x3(b.x, b.y, b.z),
                radius: *radius as f32,
            },
            Shape::Sphere { centre, radius } => Self::Sphere {
                centre: f32x3(centre.x, centre.y, centre.z),
                radius: *radius as f32,
            },
            Shape::Cuboid {
                centre,
                half_extents: h,
            } => Self::Cuboid {
                centre: f32x3(centre.x, centre.y, centre.z),
                half_extents: f32x3(h.x, h.y, h.z),
            },
        }
    }

    /// Entry distance of a ray given in the primitive's own frame (`dir` unit); see the module doc.
    #[must_use]
    pub fn raycast(&self, origin: [f32; 3], dir: [f32; 3]) -> Option<f32> {
        match *self {
            Self::Capsule { a, b, radius } => ray_capsule(origin, dir, a, b, radius),
            Self::Sphere { centre, radius } => ray_sphere(origin, dir, centre, radius),
            Self::Cuboid {
                centre,
                half_extents,
            } => ray_box(origin, dir, centre, half_extents),
        }
    }

    /// A ball containing the primitive, `(centre, radius)` in its frame.
    #[must_use]
    pub fn bounding_sphere(&self) -> ([f32; 3], f32) {
        match *self {
            Self::Capsule { a, b, radius } => {
                let ab = sub(b, a);
                (add(a, scale(ab, 0.5)), 0.5 * dot(ab, ab).sqrt() + radius)
            }
            Self::Sphere { centre, radius } => (centre, radius),
            Self::Cuboid {
                centre,
                half_extents,
            } => (centre, dot(half_extents, half_extents).sqrt()),
        }
    }
}

/// One collider of the robot: its primitive, the link that carries it, and its bounding ball.
#[derive(Debug, Clone, PartialEq)]
pub struct RobotCollider {
    /// Collider name from the robot description.
    pub name: String,
    /// Index of the carrying link in [`Robot::links`] (and in the link-pose slices).
    pub link: usize,
    /// Shape in the link frame.
    pub primitive: Primitive,
    /// Centre of a ball containing the shape, link frame, m.
    pub bound_centre: [f32; 3],
    /// Radius of that ball, m.
    pub bound_radius: f32,
}

impl RobotCollider {
    /// Entry distance of the world ray `origin + t dir` (`dir` unit) into this collider when its
    /// link is at `link_pose`, if it is at most `max_dist`. A bounding-ball test rejects most
    /// misses before the ray is moved into the link frame.
    #[must_use]
    pub fn raycast(
        &self,
        link_pose: &LinkPose,
        origin: [f32; 3],
        dir: [f32; 3],
        max_dist: f32,
    ) -> Option<f32> {
        let oc = sub(origin, link_pose.transform_point(self.bound_centre));
        let c = dot(oc, oc) - self.bound_radius * self.bound_radius;
        if c > 0.0 {
            let b = dot(oc, dir);
            let disc = b * b - c;
            if b >= 0.0 || disc < 0.0 || -b - disc.sqrt() > max_dist {
                return None;
            }
        }
        let o = link_pose.inverse_transform_point(origin);
        let d = link_pose.inverse_rotate(dir);
        self.primitive.raycast(o, d).filter(|&t| t <= max_dist)
    }
}

/// The robot's colliders in `f32`, built once from the description; posed per query by the link
/// poses (`link_poses[i]` is the world pose of [`Robot::links`]`[i]`), so any physics backend can
/// use it.
#[derive(Debug, Clone, PartialEq)]
pub struct RobotGeometry {
    colliders: Vec<RobotCollider>,
    link_count: usize,
}

impl RobotGeometry {
    /// Every collider of every link of `robot`, in link order.
    #[must_use]
    pub fn new(robot: &Robot) -> Self {
        let colliders = robot
            .links
            .iter()
            .enumerate()
            .flat_map(|(link, l)| {
                l.colliders.iter().map(move |c| {
                    let primitive = Primitive::from_shape(&c.shape);
                    let (bound_centre, bound_radius) = primitive.bounding_sphere();
                    RobotCollider {
                        name: c.name.clone(),
                        link,
                        primitive,
                        bound_centre,
                        bound_radius,
                    }
                })
            })
            .collect();
        Self {
            colliders,
            link_count: robot.links.len(),
        }
    }

    /// The colliders, in link order.
    #[must_use]
    pub fn colliders(&self) -> &[RobotCollider] {
        &self.colliders
    }

    /// Number of links of the robot it was built from.
    #[must_use]
    pub fn link_count(&self) -> usize {
        self.link_count
    }

    /// Distance along `dir` (any non-zero length) from `origin` to the first robot surface within
    /// `max_dist`, m (0 when the origin is inside a collider). Colliders whose link has no pose in
    /// `link_poses` are skipped.
    #[must_use]
    pub fn raycast(
        &self,
        link_poses: &[LinkPose],
        origin: [f32; 3],
        dir: [f32; 3],
        max_dist: f32,
    ) -> Option<f32> {
        self.raycast_collider(link_poses, origin, dir, max_dist)
            .map(|(t, _)| t)
    }

    /// As [`Self::raycast`], also naming the collider hit (an index into [`Self::colliders`]).
    #[must_use]
    pub fn raycast_collider(
        &self,
        link_poses: &[LinkPose],
        origin: [f32; 3],
        dir: [f32; 3],
        max_dist: f32,
    ) -> Option<(f32, usize)> {
        let d = normalize(dir);
        if dot(d, d) == 0.0 || max_dist.is_nan() || max_dist < 0.0 {
            return None;
        }
        let mut best: Option<(f32, usize)> = None;
        for (i, c) in self.colliders.iter().enumerate() {
            let Some(pose) = link_poses.get(c.link) else {
                continue;
            };
            let limit = best.map_or(max_dist, |(t, _)| t);
            if let Some(t) = c.raycast(pose, origin, d, limit)
                && best.is_none_or(|(b, _)| t < b)
            {
                best = Some((t, i));
            }
        }
        best
    }
}
