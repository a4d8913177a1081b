//! Ray casts against the primitives and the posed G1, checked against values worked by hand and
//! against brute force.

use rapier3d::na::Isometry3;

use super::geometry::*;
use super::pose::{LinkPose, add, normalize, sub};
use crate::robot::Robot;

const X: [f32; 3] = [1.0, 0.0, 0.0];
const Z: [f32; 3] = [0.0, 0.0, 1.0];

fn near(got: Option<f32>, want: f32) -> bool {
    got.is_some_and(|t| (t - want).abs() < 1e-5)
}

#[test]
fn sphere_hits_misses_and_reports_zero_from_inside() {
    let c = [0.0; 3];
    assert!(near(ray_sphere([-5.0, 0.0, 0.0], X, c, 1.0), 4.0));
    assert_eq!(
        ray_sphere([-5.0, 1.01, 0.0], X, c, 1.0),
        None,
        "passes beside"
    );
    assert_eq!(
        ray_sphere([5.0, 0.0, 0.0], X, c, 1.0),
        None,
        "sphere behind"
    );
    assert_eq!(ray_sphere([0.2, 0.3, 0.0], X, c, 1.0), Some(0.0), "inside");
    // Off-centre by 0.5: enters where x = -sqrt(1 - 0.25).
    assert!(near(
        ray_sphere([-5.0, 0.5, 0.0], X, c, 1.0),
        5.0 - 0.75_f32.sqrt()
    ));
    // Oblique at 45° through the centre from (-3, 0, -3): 3√2 to the centre, minus the radius.
    let d = normalize([1.0, 0.0, 1.0]);
    assert!(near(
        ray_sphere([-3.0, 0.0, -3.0], d, c, 1.0),
        18.0_f32.sqrt() - 1.0
    ));
}

#[test]
fn capsule_hits_side_caps_and_along_the_axis() {
    let (a, b, r) = ([0.0, 0.0, -1.0], [0.0, 0.0, 1.0], 0.5);
    assert!(near(ray_capsule([-3.0, 0.0, 0.0], X, a, b, r), 2.5), "side");
    // Parallel to the axis (the lateral quadratic degenerates): the top cap.
    let down = [0.0, 0.0, -1.0];
    assert!(
        near(ray_capsule([0.0, 0.0, 5.0], down, a, b, r), 3.5),
        "axial"
    );
    // 0.2 above the top end: the cap's slice there has radius sqrt(0.25 - 0.04).
    let want = 3.0 - 0.21_f32.sqrt();
    assert!(near(ray_capsule([-3.0, 0.0, 1.2], X, a, b, r), want), "cap");
    assert_eq!(
        ray_capsule([-3.0, 0.0, 1.6], X, a, b, r),
        None,
        "over the cap"
    );
    assert_eq!(ray_capsule([-3.0, 0.6, 0.0], X, a, b, r), None, "beside");
    assert_eq!(
        ray_capsule([0.1, 0.2, 1.1], X, a, b, r),
        Some(0.0),
        "inside a cap"
    );
    // Oblique at 45° from (-3, 0, -3): the side x = -0.5 at z = -0.5, after 2.5√2.
    let d = normalize([1.0, 0.0, 1.0]);
    let got = ray_capsule([-3.0, 0.0, -3.0], d, a, b, r);
    assert!(near(got, 2.5 * 2.0_f32.sqrt()), "oblique {got:?}");
}

#[test]
fn box_hits_faces_obliquely_and_reports_zero_from_inside() {
    let (c, h) = ([1.0, 2.0, 3.0], [0.5, 0.25, 1.0]);
    assert!(near(ray_box([1.0, 2.0, -5.0], Z, c, h), 7.0), "bottom face");
    assert!(near(ray_box([-2.0, 2.0, 3.0], X, c, h), 2.5), "side face");
    assert_eq!(
        ray_box([-2.0, 2.3, 3.0], X, c, h),
        None,
        "parallel, outside the y slab"
    );
    assert_eq!(ray_box([3.0, 2.0, 3.0], X, c, h), None, "behind");
    assert_eq!(ray_box([1.2, 2.1, 3.5], X, c, h), Some(0.0), "inside");
    // 45° in xz from (0, 2, 3): reaches x = 0.5 at z = 3.5 (within 2 ..= 4), after 0.5√2.
    let d = normalize([1.0, 0.0, 1.0]);
    assert!(near(
        ray_box([0.0, 2.0, 3.0], d, c, h),
        0.5 * 2.0_f32.sqrt()
    ));
}

#[test]
fn a_box_on_a_turned_link_is_hit_in_the_link_frame() {
    // Link turned 90° about z: the box's long x axis lies along world y.
    let s = std::f32::consts::FRAC_1_SQRT_2;
    let pose = LinkPose {
        pos: [0.0, 0.0, 1.0],
        quat_wxyz: [s, 0.0, 0.0, s],
    };
    let c = RobotCollider {
        name: "bar".into(),
        link: 0,
        primitive: Primitive::Cuboid {
            centre: [0.0; 3],
            half_extents: [1.0, 0.1, 0.1],
        },
        bound_centre: [0.0; 3],
        bound_radius: 1.1,
    };
    let t = c.raycast(&pose, [0.0, -5.0, 1.0], [0.0, 1.0, 0.0], 10.0);
    assert!(near(t, 4.0), "along the bar: {t:?}");
    let t = c.raycast(&pose, [-5.0, 0.9, 1.0], X, 10.0);
    assert!(near(t, 4.9), "across the bar near its end: {t:?}");
    assert_eq!(
        c.raycast(&pose, [-5.0, 0.9, 1.0], X, 4.8),
        None,
        "beyond max_dist"
    );
}

fn standing() -> (Robot, Vec<LinkPose>) {
    let robot = Robot::embedded("g1_29dof").unwrap();
    let root = Isometry3::translation(0.0, 0.0, 0.793);
    let poses = robot
        .forward_kinematics(&root, &robot.default_pose())
        .iter()
        .map(LinkPose::from_isometry)
        .collect();
    (robot, poses)
}

#[test]
fn bounding_balls_lose_no_hit() {
    let (robot, poses) = standing();
    let g = RobotGeometry::new(&robot);
    assert_eq!(g.colliders().len(), 27);
    // Rays from a sphere of origins around the robot towards jittered points on its body.
    let mut hits = 0;
    for k in 0..2000_u32 {
        let f = |m: u32| ((k.wrapping_mul(m) % 1000) as f32) / 1000.0;
        let origin = [
            3.0 * f(7919) - 1.5,
            3.0 * f(104_729) - 1.5,
            2.0 * f(1_299_709),
        ];
        let target = add(
            [0.0, 0.0, 0.2 + f(15_485_863)],
            [0.4 * f(31) - 0.2, 0.0, 0.6],
        );
        let dir = normalize(sub(target, origin));
        let brute = g
            .colliders()
            .iter()
            .filter_map(|c| {
                let p = &poses[c.link];
                let o = p.inverse_transform_point(origin);
                c.primitive.raycast(o, p.inverse_rotate(dir))
            })
            .fold(None, |m: Option<f32>, t| Some(m.map_or(t, |m| m.min(t))));
        let got = g.raycast(&poses, origin, dir, 10.0);
        assert_eq!(
            got.is_some(),
            brute.is_some(),
            "ray {k}: {got:?} vs {brute:?}"
        );
        if let (Some(a), Some(b)) = (got, brute) {
            // 10 µm: the two paths round differently, and grazing hits amplify rounding.
            assert!((a - b).abs() < 1e-5, "ray {k}: {a} vs {b}");
            hits += 1;
        }
    }
    assert!(
        hits > 200,
        "only {hits} rays hit the robot: the test aims badly"
    );
}

#[test]
fn a_ray_down_onto_the_head_stops_on_top_of_it() {
    let (robot, poses) = standing();
    let g = RobotGeometry::new(&robot);
    let torso = robot.link_index("torso_link").unwrap();
    let head = poses[torso].transform_point([0.0, 0.0, 0.43]);
    let origin = [head[0], head[1], 3.0];
    let (t, i) = g
        .raycast_collider(&poses, origin, [0.0, 0.0, -2.0], 5.0)
        .unwrap();
    assert_eq!(g.colliders()[i].name, "head");
    assert!((t - (3.0 - head[2] - 0.06)).abs() < 1e-5, "{t}");
    assert_eq!(g.raycast(&poses, origin, [0.0, 0.0, -1.0], 1.0), None);
}
