//! Field-by-field validation of a robot description, with errors naming the file and key.

use rapier3d::na::{Isometry3, Point3, Translation3, Unit, UnitQuaternion, Vector3};

use super::RobotError;
use super::description::{ColliderSpec, LinkSpec};
use super::model::{Attachment, Collider, Joint, Link, Shape, Site};

pub(super) fn vec3(v: [f64; 3]) -> Vector3<f64> {
    Vector3::new(v[0], v[1], v[2])
}

pub(super) fn point3(v: [f64; 3]) -> Point3<f64> {
    Point3::new(v[0], v[1], v[2])
}

pub(super) fn quat(
    file: &str,
    key: String,
    q: [f64; 4],
) -> Result<UnitQuaternion<f64>, RobotError> {
    let raw = rapier3d::na::Quaternion::new(q[0], q[1], q[2], q[3]);
    let norm = raw.norm();
    if !(0.99..=1.01).contains(&norm) {
        return Err(RobotError::invalid(
            file,
            key,
            format!("quaternion norm {norm:.4}, allowed 0.99 ..= 1.01"),
        ));
    }
    Ok(UnitQuaternion::from_quaternion(raw))
}

pub(super) fn check_joint(
    file: &str,
    i: usize,
    l: &LinkSpec,
    slot: usize,
    link: usize,
) -> Result<Joint, RobotError> {
    let key = |k: &str| format!("links[{i}].joint.{k}");
    let Some(j) = &l.joint else {
        return Err(RobotError::invalid(file, key("name"), "missing joint"));
    };
    vigor_common::config::check_range(file, &key("slot"), slot, 0, 34)?;
    let axis = vec3(j.axis);
    if (axis.norm() - 1.0).abs() > 1e-3 {
        return Err(RobotError::invalid(
            file,
            key("axis"),
            "axis must be a unit vector",
        ));
    }
    let [lower, upper] = j.range_rad;
    if lower.partial_cmp(&upper) != Some(std::cmp::Ordering::Less) {
        return Err(RobotError::invalid(
            file,
            key("range_rad"),
            "lower must be below upper",
        ));
    }
    vigor_common::config::check_range(file, &key("default_rad"), j.default_rad, lower, upper)?;
    vigor_common::config::check_range(file, &key("effort_nm"), j.effort_nm, 0.1, 500.0)?;
    vigor_common::config::check_range(file, &key("velocity_rad_s"), j.velocity_rad_s, 0.1, 100.0)?;
    vigor_common::config::check_range(file, &key("armature_kgm2"), j.armature_kgm2, 0.0, 1.0)?;
    vigor_common::config::check_range(file, &key("friction_nm"), j.friction_nm, 0.0, 10.0)?;
    vigor_common::config::check_range(file, &key("kp"), j.kp, 0.0, 1000.0)?;
    vigor_common::config::check_range(file, &key("kd"), j.kd, 0.0, 100.0)?;
    Ok(Joint {
        name: j.name.clone(),
        slot,
        link,
        axis: Unit::new_normalize(axis),
        lower,
        upper,
        effort: j.effort_nm,
        velocity: j.velocity_rad_s,
        armature: j.armature_kgm2,
        friction: j.friction_nm,
        default: j.default_rad,
        kp: j.kp,
        kd: j.kd,
    })
}

pub(super) fn check_link(
    file: &str,
    i: usize,
    l: &LinkSpec,
    parent: Option<usize>,
    attachment: Attachment,
) -> Result<Link, RobotError> {
    let key = |k: &str| format!("links[{i}].{k}");
    vigor_common::config::check_range(file, &key("mass_kg"), l.mass_kg, 1e-4, 100.0)?;
    let d = l.inertia_diag_kgm2;
    if d.iter().any(|&v| v <= 0.0) || d[0] + d[1] < d[2] || d[1] + d[2] < d[0] || d[0] + d[2] < d[1]
    {
        return Err(RobotError::invalid(
            file,
            key("inertia_diag_kgm2"),
            "moments must be positive and satisfy the triangle inequality",
        ));
    }
    let colliders = l
        .colliders
        .iter()
        .enumerate()
        .map(|(c, spec)| check_collider(file, format!("links[{i}].colliders[{c}]"), spec))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Link {
        name: l.name.clone(),
        parent,
        offset: Isometry3::from_parts(
            Translation3::from(vec3(l.pos_m)),
            quat(file, key("quat_wxyz"), l.quat_wxyz)?,
        ),
        attachment,
        mass: l.mass_kg,
        com: point3(l.com_m),
        inertia_frame: quat(file, key("inertia_quat_wxyz"), l.inertia_quat_wxyz)?,
        inertia_diag: vec3(d),
        colliders,
        sites: l
            .sites
            .iter()
            .map(|s| Site {
                name: s.name.clone(),
                pos: point3(s.pos_m),
            })
            .collect(),
    })
}

fn check_collider(file: &str, key: String, c: &ColliderSpec) -> Result<Collider, RobotError> {
    let shape = match (&c.capsule, &c.sphere, &c.cuboid) {
        (Some(cap), None, None) => {
            vigor_common::config::check_range(
                file,
                &format!("{key}.capsule.radius_m"),
                cap.radius_m,
                1e-3,
                1.0,
            )?;
            Shape::Capsule {
                a: point3(cap.from_m),
                b: point3(cap.to_m),
                radius: cap.radius_m,
            }
        }
        (None, Some(s), None) => {
            vigor_common::config::check_range(
                file,
                &format!("{key}.sphere.radius_m"),
                s.radius_m,
                1e-3,
                1.0,
            )?;
            Shape::Sphere {
                centre: point3(s.pos_m),
                radius: s.radius_m,
            }
        }
        (None, None, Some(b)) => {
            if b.half_extents_m.iter().any(|&h| h <= 0.0) {
                return Err(RobotError::invalid(
                    file,
                    format!("{key}.box.half_extents_m"),
                    "half extents must be > 0",
                ));
            }
            Shape::Cuboid {
                centre: point3(b.pos_m),
                half_extents: vec3(b.half_extents_m),
            }
        }
        _ => {
            return Err(RobotError::invalid(
                file,
                key,
                "exactly one of capsule, sphere, box",
            ));
        }
    };
    Ok(Collider {
        name: c.name.clone(),
        shape,
    })
}
