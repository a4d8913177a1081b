//! Robot description checks: shipped files, figures against ../shared's reference MJCF, FK, MJCF.

use std::path::Path;

use rapier3d::na::{Isometry3, Translation3, UnitQuaternion, Vector3};
use vigor_msgs::unitree_hg::{G1_23DOF_INVALID_SLOTS, G1_29DOF_SLOT_NAMES};

use super::*;

fn g1() -> Robot {
    Robot::embedded("g1_29dof").unwrap()
}

#[test]
fn g1_29dof_has_unitree_slot_order_and_mass() {
    let r = g1();
    assert_eq!(r.links.len(), 30);
    assert_eq!(r.joints.len(), 29);
    for (slot, (j, name)) in r.joints.iter().zip(G1_29DOF_SLOT_NAMES).enumerate() {
        assert_eq!(j.slot, slot);
        assert_eq!(j.name, format!("{name}_joint"));
        assert!(j.lower < j.default && j.default < j.upper, "{}", j.name);
    }
    assert!((r.mass() - 33.34).abs() < 2e-3, "{}", r.mass());
    assert_eq!(r.mode_machine, 5);
    let colliders: usize = r.links.iter().map(|l| l.colliders.len()).sum();
    assert_eq!(colliders, 27);
}

#[test]
fn g1_23dof_locks_exactly_the_slots_a_23dof_robot_lacks() {
    let r = Robot::embedded("g1_23dof").unwrap();
    assert_eq!(r.joints.len(), 23);
    assert_eq!(r.mode_machine, 4);
    for slot in 0..29 {
        let driven = r.joints.iter().any(|j| j.slot == slot);
        assert_eq!(
            driven,
            !G1_23DOF_INVALID_SLOTS.contains(&slot),
            "slot {slot}"
        );
    }
    assert!((r.mass() - 33.34).abs() < 2e-3);
    let fixed = r
        .links
        .iter()
        .filter(|l| l.attachment == Attachment::Fixed)
        .count();
    assert_eq!(fixed, 6);
    // The same variant loads from the files on disk.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/robots");
    assert_eq!(
        Robot::load(&dir.join("g1_23dof.toml")).unwrap().joints,
        r.joints
    );
}

#[test]
fn standing_at_the_reference_height_puts_the_feet_on_the_ground() {
    let r = g1();
    let root = Isometry3::translation(0.0, 0.0, 0.793);
    let poses = r.forward_kinematics(&root, &vec![0.0; 29]);
    for foot in ["left_foot", "right_foot"] {
        let (link, p) = r.site(foot).unwrap();
        let z = (poses[link] * p).z;
        // The foot site sits at the sole's centre, about 2 mm above the capsules' lowest point.
        assert!(z.abs() < 0.01, "{foot} at z = {z}");
    }
    // Lowest point of every collider over the ground when standing with straight legs.
    let lowest = lowest_point(&r, &poses);
    assert!(lowest.abs() < 0.01, "lowest collider point at {lowest}");
}

fn lowest_point(r: &Robot, poses: &[Isometry3<f64>]) -> f64 {
    let mut lowest = f64::INFINITY;
    for (l, link) in r.links.iter().enumerate() {
        for c in &link.colliders {
            let z = match &c.shape {
                Shape::Capsule { a, b, radius } => (poses[l] * a).z.min((poses[l] * b).z) - radius,
                Shape::Sphere { centre, radius } => (poses[l] * centre).z - radius,
                Shape::Cuboid {
                    centre,
                    half_extents,
                } => {
                    let mut z = f64::INFINITY;
                    for s in 0..8 {
                        let sign = |bit: usize| if s & bit == 0 { -1.0 } else { 1.0 };
                        let corner = centre
                            + Vector3::new(
                                sign(1) * half_extents.x,
                                sign(2) * half_extents.y,
                                sign(4) * half_extents.z,
                            );
                        z = z.min((poses[l] * corner).z);
                    }
                    z
                }
            };
            lowest = lowest.min(z);
        }
    }
    lowest
}

#[test]
fn forward_kinematics_turns_about_the_joint_axis() {
    let r = g1();
    let root = Isometry3::from_parts(Translation3::new(1.0, 2.0, 0.8), UnitQuaternion::identity());
    let mut q = vec![0.0; 29];
    let knee = r
        .joints
        .iter()
        .position(|j| j.name == "left_knee_joint")
        .unwrap();
    let shin = r.joints[knee].link;
    let ankle = r.link_index("left_ankle_pitch_link").unwrap();
    let rest = r.forward_kinematics(&root, &q);
    q[knee] = 1.0;
    let bent = r.forward_kinematics(&root, &q);
    // The knee frame does not move; the ankle swings on a circle about it.
    assert!((rest[shin].translation.vector - bent[shin].translation.vector).norm() < 1e-12);
    let d_rest = (rest[ankle].translation.vector - rest[shin].translation.vector).norm();
    let d_bent = (bent[ankle].translation.vector - bent[shin].translation.vector).norm();
    assert!((d_rest - d_bent).abs() < 1e-12);
    assert!(
        bent[ankle].translation.z > rest[ankle].translation.z + 0.1,
        "knee flexion lifts the foot"
    );
}

#[test]
fn invalid_descriptions_name_the_key() {
    let bad_mass = G1_29DOF_TOML.replace("total_mass_kg = 33.34", "total_mass_kg = 30.0");
    let err = build_from(&bad_mass).unwrap_err().to_string();
    assert!(
        err.contains("`total_mass_kg`: 30 kg but the links sum to 33.3411 kg"),
        "{err}"
    );
    let bad_parent = G1_29DOF_TOML.replacen("parent = \"pelvis\"", "parent = \"torso_link\"", 1);
    let err = build_from(&bad_parent).unwrap_err().to_string();
    assert!(
        err.contains("`links[1].parent`: torso_link is not an earlier link"),
        "{err}"
    );
    let bad_slot = G1_29DOF_TOML.replacen("slot = 1\n", "slot = 0\n", 1);
    assert!(
        build_from(&bad_slot)
            .unwrap_err()
            .to_string()
            .contains("slot 0 used twice")
    );
    let bad_default = G1_29DOF_TOML.replacen("default_rad = 0.3", "default_rad = 3.3", 1);
    let err = build_from(&bad_default).unwrap_err().to_string();
    assert!(err.contains("default_rad` = 3.3 is out of range"), "{err}");
}

fn build_from(text: &str) -> Result<Robot, RobotError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.toml");
    std::fs::write(&path, text).unwrap();
    Robot::load(&path)
}

#[test]
fn mjcf_export_is_well_formed_with_every_body_joint_and_motor() {
    let r = g1();
    let xml = to_mjcf(&r, 0.002);
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let count = |tag: &str| doc.descendants().filter(|n| n.has_tag_name(tag)).count();
    assert_eq!(count("body"), 30);
    assert_eq!(count("joint"), 29);
    assert_eq!(count("motor"), 29);
    assert_eq!(count("geom"), 28); // 27 robot primitives + floor
    assert_eq!(count("camera"), 1);
}

fn nums(s: Option<&str>, default: &[f64]) -> Vec<f64> {
    s.map_or_else(
        || default.to_vec(),
        |s| s.split_whitespace().map(|x| x.parse().unwrap()).collect(),
    )
}

/// Every figure of the description against ../shared/reference/g1/g1_29dof_primitives.xml.
#[test]
fn figures_match_the_reference_mjcf() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/reference/g1/g1_29dof_primitives.xml");
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!("skipped: {} not found", path.display());
        return;
    };
    let doc = roxmltree::Document::parse(&text).unwrap();
    let r = g1();
    let close = |a: &[f64], b: &[f64], what: &str| {
        assert_eq!(a.len(), b.len(), "{what}");
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() < 1e-9, "{what}: {a:?} vs {b:?}");
        }
    };
    let mut checked = 0;
    for body in doc.descendants().filter(|n| n.has_tag_name("body")) {
        let name = body.attribute("name").unwrap();
        let link = &r.links[r
            .link_index(name)
            .unwrap_or_else(|| panic!("{name} missing"))];
        let t = link.offset.translation.vector;
        close(
            &[t.x, t.y, t.z],
            &nums(body.attribute("pos"), &[0.0; 3]),
            name,
        );
        let inertial = body
            .children()
            .find(|n| n.has_tag_name("inertial"))
            .unwrap();
        close(&[link.mass], &nums(inertial.attribute("mass"), &[]), name);
        close(
            &[link.com.x, link.com.y, link.com.z],
            &nums(inertial.attribute("pos"), &[]),
            name,
        );
        let d = link.inertia_diag;
        close(
            &[d.x, d.y, d.z],
            &nums(inertial.attribute("diaginertia"), &[]),
            name,
        );
        if let Some(j) = body.children().find(|n| n.has_tag_name("joint")) {
            let joint = r
                .joints
                .iter()
                .find(|x| Some(x.name.as_str()) == j.attribute("name"))
                .unwrap();
            if let Some(range) = j.attribute("range") {
                close(
                    &[joint.lower, joint.upper],
                    &nums(Some(range), &[]),
                    &joint.name,
                );
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 29);
}
