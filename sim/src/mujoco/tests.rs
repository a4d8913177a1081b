use rapier3d::na::Isometry3;

use super::*;
use crate::terrain::{Terrain, TerrainKind};

fn g1() -> Robot {
    Robot::embedded("g1_29dof").unwrap()
}

fn params() -> PhysicsParams {
    PhysicsParams::default()
}

fn tilt_deg(q: [f32; 4]) -> f32 {
    crate::env::tilt_rad(q).to_degrees()
}

#[test]
fn height_field_reproduces_the_terrain_heights() {
    let terrain = Terrain::single(TerrainKind::Rough, 0.8, 11, 4.0, 0.05).unwrap();
    let field = terrain.field();
    let (lo, hi) = field.height_range();
    assert!(hi - lo > 0.02, "rough terrain should not be flat");
    let mut sim = MujocoSim::new(&g1(), &Ground::Field(field.clone()), &params()).unwrap();
    let [x0, y0] = field.origin_xy();
    let [x1, y1] = field.max_xy();
    let mut worst = 0f64;
    // Sample points, cell corners included, away from the robot standing in the middle.
    for i in 0..40 {
        for k in 0..4 {
            let fx = (f64::from(i) + 0.37 * f64::from(k)) / 41.2;
            let fy = (f64::from(i * 7 % 40) + 0.5 * f64::from(k)) / 41.6;
            let x = f64::from(x0) + 0.05 + fx * f64::from(x1 - x0 - 0.1);
            let y = f64::from(y0) + 0.05 + fy * f64::from(y1 - y0 - 0.1);
            if x.abs() < 0.6 && y.abs() < 0.6 {
                continue;
            }
            let (geom, dist) =
                sim.data
                    .ray(&[x, y, 5.0], &[0.0, 0.0, -1.0], None, true, None, None);
            assert!(geom.is_some(), "ray at ({x}, {y}) missed the field");
            let expect = f64::from(terrain.height(x as f32, y as f32));
            worst = worst.max(((5.0 - dist) - expect).abs());
        }
    }
    assert!(
        worst < 2e-3,
        "MuJoCo height field differs from the terrain by {worst} m"
    );
}

#[test]
fn free_fall_matches_g() {
    let robot = g1();
    let mut sim = MujocoSim::new(&robot, &Ground::Flat, &params()).unwrap();
    sim.reset(
        &Isometry3::translation(0.0, 0.0, 3.0),
        &robot.default_pose(),
    );
    sim.set_commands(&vec![JointCommand::default(); robot.joints.len()]);
    let z0 = f64::from(sim.state().base_pos[2]);
    for _ in 0..250 {
        sim.step();
    }
    let t = 250.0 * f64::from(sim.dt_s());
    let fell = z0 - f64::from(sim.state().base_pos[2]);
    let expect = 0.5 * 9.81 * t * t;
    assert!(
        (fell - expect).abs() < 0.01 * expect,
        "fell {fell} m in {t} s, expected {expect}"
    );
    let a = sim.state().base_accel;
    assert!(
        a.iter().all(|x| x.abs() < 0.05),
        "free-fall accelerometer {a:?}"
    );
}

#[test]
fn stands_for_10_s_carrying_its_weight_on_the_feet() {
    let robot = g1();
    let mut sim = MujocoSim::new(&robot, &Ground::Flat, &params()).unwrap();
    sim.set_commands(&crate::bench::hold_commands(&robot));
    let mut worst = 0f32;
    for _ in 0..5000 {
        sim.step();
        worst = worst.max(tilt_deg(sim.state().base_quat));
    }
    let s = sim.state();
    assert!(worst < 10.0, "tilted {worst} degrees");
    assert!(s.base_pos[2] > 0.7, "pelvis at {} m", s.base_pos[2]);
    assert!(
        (s.base_accel[2] - 9.81).abs() < 0.5,
        "accelerometer {:?}",
        s.base_accel
    );
    let weight = robot.mass() as f32 * 9.81;
    let total: f32 = sim.contact_forces().iter().map(|f| f[2]).sum();
    assert!(
        (total - weight).abs() < 0.05 * weight,
        "ground carries {total} N of {weight} N"
    );
    let feet =
        ["left_ankle_roll_link", "right_ankle_roll_link"].map(|n| robot.link_index(n).unwrap());
    let contacts = sim.contacts();
    assert!(!contacts.is_empty());
    assert!(contacts.iter().all(|c| feet.contains(&c.link)));
    let (q, _) = sim.joint_state();
    let low = robot.lowest_point_at(
        &s.root(),
        &q.iter().map(|&x| f64::from(x)).collect::<Vec<_>>(),
    );
    assert!(low > -0.01, "penetration {low} m");
}

#[test]
fn reset_reads_back_joint_positions_and_link_poses() {
    let robot = g1();
    let mut sim = MujocoSim::new(&robot, &Ground::Flat, &params()).unwrap();
    let q: Vec<f64> = robot
        .joints
        .iter()
        .map(|j| 0.3 * j.lower + 0.2 * j.upper)
        .collect();
    let root = Isometry3::translation(0.1, -0.2, 2.0);
    sim.reset(&root, &q);
    let (got, dq) = sim.joint_state();
    for ((a, b), j) in got.iter().zip(&q).zip(&robot.joints) {
        assert!((f64::from(*a) - b).abs() < 1e-6, "{}: {a} vs {b}", j.name);
    }
    assert!(dq.iter().all(|&v| v == 0.0));
    let fk = robot.forward_kinematics(&root, &q);
    for ((pose, expect), link) in sim.link_poses().iter().zip(&fk).zip(&robot.links) {
        let t = expect.translation.vector;
        let d = (pose.translation - Vector::new(t.x as f32, t.y as f32, t.z as f32)).length();
        assert!(d < 1e-4, "{}: {d} m from forward kinematics", link.name);
    }
}

#[test]
fn a_heavier_pelvis_adds_its_weight_to_the_support() {
    let robot = g1();
    let run = |edit: &dyn Fn(&mut MujocoSim)| {
        let mut sim = MujocoSim::new(&robot, &Ground::Flat, &params()).unwrap();
        edit(&mut sim);
        sim.set_commands(&crate::bench::hold_commands(&robot));
        for _ in 0..500 {
            sim.step();
        }
        sim.contact_forces().iter().map(|f| f[2]).sum::<f32>()
    };
    let nominal = run(&|_| {});
    let heavy = run(&|s| s.set_link_mass_scale(0, 1.5));
    let pelvis_mass = robot.links[0].mass as f32;
    assert!(
        (heavy - nominal - 0.5 * pelvis_mass * 9.81).abs() < 0.1 * pelvis_mass * 9.81,
        "support {nominal} N -> {heavy} N with the pelvis 1.5 times heavier"
    );
}

#[test]
fn same_commands_give_bit_identical_trajectories_on_any_thread() {
    let robot = g1();
    let run = |robot: Robot| {
        let mut sim = MujocoSim::new(&robot, &Ground::Flat, &params()).unwrap();
        sim.set_commands(&crate::bench::hold_commands(&robot));
        sim.push(0, [120.0, 30.0, 0.0], 0.1);
        for _ in 0..400 {
            sim.step();
        }
        sim.state()
    };
    let here = run(robot.clone());
    let there = std::thread::spawn(move || run(robot)).join().unwrap();
    assert_eq!(here, there);
}
