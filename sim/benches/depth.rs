//! One head-camera depth frame of the default size (64 × 36) rendered against a stairs tile with the
//! standing G1 in view: the per-environment cost of depth observations in the simulator.
#![allow(missing_docs)]

use criterion::{Criterion, criterion_group, criterion_main};
use rapier3d::na::Isometry3;

use vigor_sim::robot::Robot;
use vigor_sim::sensors::{DepthCamera, DepthCameraConfig, LinkPose, RobotGeometry, camera_pose};
use vigor_sim::terrain::{Terrain, TerrainKind};

/// Pelvis height of the standing G1 above the ground under it, m.
const STANDING_ROOT_Z_M: f64 = 0.793;

fn depth_frame(c: &mut Criterion) {
    // Setup failures are bugs in shipped data: a benchmark may stop on them.
    let robot = Robot::embedded("g1_29dof").expect("shipped G1 description");
    let terrain =
        Terrain::single(TerrainKind::StairsUp, 0.5, 0, 5.0, 0.05).expect("stairs tile parameters");
    let camera = DepthCamera::new(DepthCameraConfig::default()).expect("default camera config");
    // Standing on the floor of the stair pit, facing the first riser.
    let root_z = STANDING_ROOT_Z_M + f64::from(terrain.height(0.0, 0.0));
    let poses: Vec<LinkPose> = robot
        .forward_kinematics(
            &Isometry3::translation(0.0, 0.0, root_z),
            &robot.default_pose(),
        )
        .iter()
        .map(LinkPose::from_isometry)
        .collect();
    let geometry = RobotGeometry::new(&robot);
    let eye = camera_pose(&robot, &poses).expect("a pose for every link");
    let mut image = vec![0.0_f32; camera.len()];
    c.bench_function("depth_frame_64x36_stairs_with_robot", |b| {
        b.iter(|| {
            camera.render(
                std::hint::black_box(eye),
                Some(&terrain),
                Some((&geometry, &poses)),
                &mut image,
            );
            std::hint::black_box(&image);
        });
    });
    c.bench_function("depth_frame_64x36_stairs_terrain_only", |b| {
        b.iter(|| {
            camera.render(std::hint::black_box(eye), Some(&terrain), None, &mut image);
            std::hint::black_box(&image);
        });
    });
}

criterion_group!(benches, depth_frame);
criterion_main!(benches);
