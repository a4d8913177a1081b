//! Privileged observations for the teacher and for fall detection, from link poses alone: the
//! head's height above the ground and approximate per-link ground contacts.
//!
//! Contacts here are geometric, the engine-agnostic fallback: a link is "in contact" when one of its
//! colliders comes within a threshold of the ground, measured vertically at the primitive's lowest
//! points (below). A physics backend that reports real contacts should be preferred where it exists.

use crate::robot::{Robot, Shape};
use crate::terrain::Terrain;

use super::geometry::{Primitive, RobotGeometry};
use super::ground_height;
use super::pose::LinkPose;

/// The link that carries the head collider.
pub const HEAD_LINK: &str = "torso_link";
/// The head collider's name (a sphere on [`HEAD_LINK`]).
pub const HEAD_COLLIDER: &str = "head";
/// A contact threshold for [`contact_states`], m: 1 cm, above the few millimetres by which the
/// physics lets a resting foot hover or sink, below a foot lifted in a step.
pub const CONTACT_THRESHOLD_M: f32 = 0.01;

/// Height of the lowest point of the head sphere ([`HEAD_COLLIDER`] on [`HEAD_LINK`]) above the
/// ground directly below its centre, m (negative when it is below the surface). `None` when the
/// robot has no such sphere or `link_poses` lacks its link. The ground is `terrain`, or z = 0.
#[must_use]
pub fn head_height_above_terrain(
    robot: &Robot,
    link_poses: &[LinkPose],
    terrain: Option<&Terrain>,
) -> Option<f32> {
    let link = robot.link_index(HEAD_LINK)?;
    let (centre, radius) = robot.links[link]
        .colliders
        .iter()
        .find(|c| c.name == HEAD_COLLIDER)
        .and_then(|c| match &c.shape {
            Shape::Sphere { centre, radius } => Some((centre, *radius as f32)),
            _ => None,
        })?;
    let [x, y, z] =
        link_poses
            .get(link)?
            .transform_point([centre.x as f32, centre.y as f32, centre.z as f32]);
    Some(z - radius - ground_height(terrain, x, y))
}

/// Approximate clearance of `primitive` (at link pose `pose`) above the ground, m: the least of
/// `z - radius - ground(x, y)` over a capsule's two segment ends or a sphere's centre, or of
/// `z - ground(x, y)` over a box's eight corners. Exact on level ground (a capsule's lowest point
/// lies over an end, a box's at a corner); on uneven ground it reads the ground only under those
/// points, so an edge poking into a step between them is missed. Negative means penetration.
#[must_use]
pub fn ground_clearance(primitive: &Primitive, pose: &LinkPose, terrain: Option<&Terrain>) -> f32 {
    let gap = |p: [f32; 3], radius: f32| {
        let [x, y, z] = pose.transform_point(p);
        z - radius - ground_height(terrain, x, y)
    };
    match *primitive {
        Primitive::Capsule { a, b, radius } => gap(a, radius).min(gap(b, radius)),
        Primitive::Sphere { centre, radius } => gap(centre, radius),
        Primitive::Cuboid {
            centre,
            half_extents: h,
        } => (0..8)
            .map(|corner| {
                let sign = |bit: usize| if corner & bit == 0 { -1.0 } else { 1.0 };
                let p = [
                    centre[0] + sign(1) * h[0],
                    centre[1] + sign(2) * h[1],
                    centre[2] + sign(4) * h[2],
                ];
                gap(p, 0.0)
            })
            .fold(f32::INFINITY, f32::min),
    }
}

/// Per link, whether any of its colliders' [`ground_clearance`] is at most `threshold_m` (see
/// [`CONTACT_THRESHOLD_M`]); links without colliders, or without a pose in `link_poses`, read
/// false. The ground is `terrain`, or z = 0. No allocation.
///
/// # Panics
/// If `out.len() != geometry.link_count()`.
pub fn contact_states(
    geometry: &RobotGeometry,
    link_poses: &[LinkPose],
    terrain: Option<&Terrain>,
    threshold_m: f32,
    out: &mut [bool],
) {
    assert_eq!(
        out.len(),
        geometry.link_count(),
        "one contact flag per link"
    );
    out.fill(false);
    for c in geometry.colliders() {
        if let Some(pose) = link_poses.get(c.link)
            && ground_clearance(&c.primitive, pose, terrain) <= threshold_m
        {
            out[c.link] = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use rapier3d::na::Isometry3;

    use super::*;
    use crate::terrain::TerrainKind;

    fn standing(root_z: f64) -> (Robot, Vec<LinkPose>) {
        let robot = Robot::embedded("g1_29dof").unwrap();
        let root = Isometry3::translation(0.0, 0.0, root_z);
        let poses = robot
            .forward_kinematics(&root, &robot.default_pose())
            .iter()
            .map(LinkPose::from_isometry)
            .collect();
        (robot, poses)
    }

    #[test]
    fn the_standing_g1_holds_its_head_1_2_m_up() {
        let (robot, poses) = standing(0.793);
        // Torso origin 0.837 m up (pelvis 0.793 + waist 0.044), head centre 0.43 m above it,
        // radius 0.06: 1.207 m.
        let h = head_height_above_terrain(&robot, &poses, None).unwrap();
        assert!((1.19..1.23).contains(&h), "head at {h} m");
        // On a 0.3 m platform (difficulty 0.5) the same pose 0.3 m higher reads the same.
        let platform = Terrain::single(TerrainKind::Platform, 0.5, 0, 5.0, 0.05).unwrap();
        let (_, raised) = standing(0.793 + 0.3);
        let on = head_height_above_terrain(&robot, &raised, Some(&platform)).unwrap();
        assert!((on - h).abs() < 1e-4, "{on} vs {h}");
        assert_eq!(head_height_above_terrain(&robot, &poses[..3], None), None);
    }

    #[test]
    fn the_standing_g1_touches_the_ground_with_its_feet_only() {
        let (robot, poses) = standing(0.793);
        let g = RobotGeometry::new(&robot);
        let mut contact = vec![true; g.link_count()];
        contact_states(&g, &poses, None, CONTACT_THRESHOLD_M, &mut contact);
        let touching: Vec<&str> = (0..contact.len())
            .filter(|&l| contact[l])
            .map(|l| robot.links[l].name.as_str())
            .collect();
        assert_eq!(touching, ["left_ankle_roll_link", "right_ankle_roll_link"]);
        // The soles' boxes hover 7 mm up with the knees bent at the reference pelvis height.
        let soles: Vec<f32> = g
            .colliders()
            .iter()
            .filter(|c| c.name.ends_with("foot_box"))
            .map(|c| ground_clearance(&c.primitive, &poses[c.link], None))
            .collect();
        for s in soles {
            assert!((0.0..0.01).contains(&s), "sole clearance {s}");
        }
        // Lifted 5 cm, nothing touches.
        let (_, lifted) = standing(0.843);
        contact_states(&g, &lifted, None, CONTACT_THRESHOLD_M, &mut contact);
        assert!(contact.iter().all(|&c| !c), "{contact:?}");
    }

    #[test]
    fn box_clearance_is_its_lowest_corner() {
        let b = Primitive::Cuboid {
            centre: [0.0, 0.0, 0.0],
            half_extents: [0.5, 0.2, 0.1],
        };
        // Rolled 90° about x at 1 m: the 0.2 half extent now points down.
        let s = std::f32::consts::FRAC_1_SQRT_2;
        let pose = LinkPose {
            pos: [0.0, 0.0, 1.0],
            quat_wxyz: [s, s, 0.0, 0.0],
        };
        assert!((ground_clearance(&b, &pose, None) - 0.8).abs() < 1e-6);
    }
}
