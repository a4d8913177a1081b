//! The depth camera against flat ground, a stair riser and the standing G1's own body.

use rapier3d::na::Isometry3;

use super::depth::*;
use super::geometry::{RobotGeometry, ray_sphere};
use super::pose::LinkPose;
use super::{SensorError, ground_raycast};
use crate::robot::Robot;
use crate::terrain::{Terrain, TerrainKind};

fn camera() -> DepthCamera {
    DepthCamera::new(DepthCameraConfig::default()).unwrap()
}

/// Pitched down by `deg` about the camera's y axis, at `pos`.
fn pitched(pos: [f32; 3], deg: f32) -> LinkPose {
    let half = 0.5 * deg.to_radians();
    LinkPose {
        pos,
        quat_wxyz: [half.cos(), 0.0, half.sin(), 0.0],
    }
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
fn pixel_rays_put_row_0_at_the_top_and_col_0_at_the_left() {
    let cam = camera();
    assert_eq!((cam.width(), cam.height(), cam.len()), (64, 36, 2304));
    let top_left = cam.ray(0, 0).unwrap();
    assert!(
        top_left[1] > 0.0 && top_left[2] > 0.0,
        "looks up-left: {top_left:?}"
    );
    let bottom_right = cam.ray(35, 63).unwrap();
    assert!(
        bottom_right[1] < 0.0 && bottom_right[2] < 0.0,
        "{bottom_right:?}"
    );
    // Pixel centres: the outermost column looks 43.5° out less half a pixel.
    let fx = 32.0 / 43.5_f32.to_radians().tan();
    let want = (31.5 / fx).atan();
    let got = top_left[1].atan2(top_left[0]);
    assert!(
        (got - want).abs() < 1e-5,
        "{} vs {}",
        got.to_degrees(),
        want.to_degrees()
    );
    assert_eq!(cam.ray(36, 0), None);
}

#[test]
fn looking_straight_down_at_flat_ground_reads_the_height_at_every_pixel() {
    let cam = camera();
    let flat = Terrain::single(TerrainKind::Flat, 0.0, 0, 5.0, 0.05).unwrap();
    let mut img = vec![f32::NAN; cam.len()];
    for terrain in [None, Some(&flat)] {
        for h in [0.5_f32, 1.3] {
            cam.render(pitched([0.2, -0.1, h], 90.0), terrain, None, &mut img);
            // z-depth, not ray length: the corners' rays are 1.4 times longer.
            for (i, z) in img.iter().enumerate() {
                assert!((z - h).abs() < 1e-4, "h {h}: pixel {i} reads {z}");
            }
        }
    }
}

#[test]
fn a_stair_riser_reads_its_distance_along_the_axis() {
    // StairsUp at difficulty 0.5: a pit floor at -0.70 m inside |x|, |y| <= 0.75 m, first riser of
    // 0.14 m, which the 5 cm height field ramps from x = 0.75 (z = -0.70) to 0.80 (z = -0.56).
    let terrain = Terrain::single(TerrainKind::StairsUp, 0.5, 0, 5.0, 0.05).unwrap();
    assert!((terrain.height(0.0, 0.0) + 0.70).abs() < 1e-5);
    assert!((terrain.height(0.9, 0.0) + 0.56).abs() < 1e-5);
    let cam = camera();
    let mut img = vec![0.0; cam.len()];
    // Level camera at z = -0.63 on the pit's centre line, looking along +x at the riser.
    cam.render(
        pitched([0.0, 0.0, -0.63], 0.0),
        Some(&terrain),
        None,
        &mut img,
    );
    // A ray (1, l, u) meets the ramp x = 0.75 + (z + 0.70) 0.05 / 0.14 with z = -0.63 + u x.
    let k = 0.05 / 0.14;
    let mut checked = 0;
    for row in 15..=20 {
        for col in 16..48 {
            let d = cam.ray(row, col).unwrap();
            let u = d[2] / d[0];
            let want = (0.75 + 0.07 * k) / (1.0 - k * u);
            let got = img[row * cam.width() + col];
            assert!(
                (got - want).abs() < 1e-3,
                "pixel ({row}, {col}): {got} vs {want}"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 6 * 32);
    // Along the axis the riser's middle: 0.775 m.
    let centre = img[17 * cam.width() + 32];
    assert!((centre - 0.775).abs() < 5e-3, "{centre}");
}

#[test]
fn no_return_beyond_far_or_nearer_than_near() {
    let cam = camera();
    let mut img = vec![1.0; cam.len()];
    // Level camera 1 m up: the upper half sees sky, lower rows ground beyond 3 m or nearer.
    cam.render(pitched([0.0, 0.0, 1.0], 0.0), None, None, &mut img);
    assert!(
        img[..18 * 64].iter().all(|&z| z == NO_RETURN),
        "sky reads 0"
    );
    let bottom = img[35 * 64 + 32];
    assert!(
        (bottom - 1.0 / (17.5 / 18.0 * 29.0_f32.to_radians().tan())).abs() < 1e-3,
        "{bottom}"
    );
    assert_eq!(
        img[18 * 64 + 32],
        NO_RETURN,
        "ground 60 m away is beyond far"
    );
    // 5 cm above the ground looking down: closer than the 0.1 m near clip.
    cam.render(pitched([0.0, 0.0, 0.05], 90.0), None, None, &mut img);
    assert!(img.iter().all(|&z| z == NO_RETURN));
}

#[test]
fn the_standing_g1_sees_its_hands_low_in_the_image_and_not_its_legs() {
    let (robot, poses) = standing();
    let g = RobotGeometry::new(&robot);
    let eye = camera_pose(&robot, &poses).unwrap();
    // The D435i sits 1.27 m up, pitched 47.6° down (unitree_hg.md).
    let fwd = eye.rotate([1.0, 0.0, 0.0]);
    assert!((eye.pos[2] - 1.267).abs() < 2e-3, "{:?}", eye.pos);
    assert!((fwd[2].asin().to_degrees() + 47.6).abs() < 0.05, "{fwd:?}");
    let cam = camera();
    let (mut with, mut without) = (vec![0.0; cam.len()], vec![0.0; cam.len()]);
    cam.render(eye, None, Some((&g, &poses)), &mut with);
    cam.render(eye, None, None, &mut without);
    let mut seen = Vec::new();
    for (i, (a, b)) in with.iter().zip(&without).enumerate() {
        if a != b {
            let (row, col) = (i / 64, i % 64);
            let ray = eye.rotate(cam.ray(row, col).unwrap());
            let (_, c) = g.raycast_collider(&poses, eye.pos, ray, 10.0).unwrap();
            seen.push(g.colliders()[c].name.as_str());
            assert!(row >= 16, "robot seen at row {row}");
        }
    }
    // With the default pose's bent elbows the forearms and hands come into the lower image;
    // the legs and feet stay under the camera, out of its 29° lower half-field.
    assert!(seen.len() > 100, "{} robot pixels", seen.len());
    for name in &seen {
        assert!(
            name.contains("wrist") || name.contains("hand"),
            "sees {name}"
        );
    }
    // The lens sits 0.2 mm outside the head sphere (0.0602 m from its centre) and the frustum
    // looks away from it, so no pixel sees the head, whatever the robot's pose.
    let head = poses[robot.link_index("torso_link").unwrap()].transform_point([0.0, 0.0, 0.43]);
    for i in 0..cam.len() {
        let ray = eye.rotate(cam.ray(i / 64, i % 64).unwrap());
        assert_eq!(
            ray_sphere(eye.pos, ray, head, 0.06),
            None,
            "pixel {i} sees the head"
        );
    }
    // Left hand at the image's left, right hand at its right, 0.3 to 0.4 m away.
    for (col, side) in [(20, "left_"), (44, "right_")] {
        let i = 30 * 64 + col;
        let ray = eye.rotate(cam.ray(30, col).unwrap());
        let (_, c) = g.raycast_collider(&poses, eye.pos, ray, 10.0).unwrap();
        assert!(
            g.colliders()[c].name.starts_with(side),
            "{}",
            g.colliders()[c].name
        );
        assert!(
            (0.3..0.4).contains(&with[i]) && without[i] > 1.0,
            "{} {}",
            with[i],
            without[i]
        );
    }
}

#[test]
fn splatting_matches_casting_every_pixel_against_every_collider() {
    let (robot, mut poses) = standing();
    // On a stair top, seen by the head camera, by the head camera tilted steeper (the feet in
    // view), and from in front.
    let g = RobotGeometry::new(&robot);
    let terrain = Terrain::single(TerrainKind::StairsDown, 0.8, 3, 5.0, 0.05).unwrap();
    for pose in &mut poses {
        pose.pos[2] += terrain.height(0.0, 0.0);
    }
    let cam = camera();
    let mut img = vec![0.0; cam.len()];
    let mount = camera_pose(&robot, &poses).unwrap();
    // From 1.2 m in front, turned round to face the robot and pitched 10° down: the whole body.
    let facing = LinkPose {
        pos: [1.2, 0.0, mount.pos[2] - 0.3],
        quat_wxyz: [0.0, 0.0, 0.0, 1.0],
    }
    .compose(&pitched([0.0; 3], 10.0));
    let mut robot_px = 0;
    for eye in [mount, pitched(mount.pos, 60.0), facing] {
        cam.render(eye, Some(&terrain), Some((&g, &poses)), &mut img);
        for (i, &got) in img.iter().enumerate() {
            let d = cam.ray(i / 64, i % 64).unwrap();
            let w = eye.rotate(d);
            let max = 3.0 / d[0];
            let ground = ground_raycast(Some(&terrain), eye.pos, w, max);
            let body = g.raycast(&poses, eye.pos, w, max);
            robot_px += usize::from(body.is_some_and(|b| ground.is_none_or(|g| b < g)));
            let len = ground.into_iter().chain(body).fold(f32::INFINITY, f32::min);
            let z = len * d[0];
            let want = if (0.1..=3.0).contains(&z) { z } else { 0.0 };
            // 10 µm: camera-frame and world-frame casts round differently (grazing hits most).
            assert!(
                (got - want).abs() < 1e-5,
                "{eye:?} pixel {i}: {got} vs {want}"
            );
        }
    }
    assert!(robot_px > 600, "only {robot_px} pixels see the robot");
}

#[test]
fn rejects_a_near_clip_beyond_the_far_clip() {
    let err = DepthCamera::new(DepthCameraConfig {
        near_m: 1.0,
        far_m: 0.5,
        ..DepthCameraConfig::default()
    });
    assert!(matches!(
        err,
        Err(SensorError::InvalidParameter { name: "near_m", .. })
    ));
}
