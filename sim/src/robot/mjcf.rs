//! MJCF export: the description as a MuJoCo model with a ground plane.
//!
//! Bodies nest as in the description; each driven joint gets a `motor` actuator with the effort
//! limit as control range, so the caller applies the explicit PD law itself (as the robot does).
//! Robot geoms collide with the world (contype 1, conaffinity 0) but not with each other; the floor
//! has contype 0, conaffinity 1. Frames use MuJoCo's w x y z quaternions.

use std::fmt::Write as _;

use rapier3d::na::{Isometry3, Matrix3, Point3, Rotation3, UnitQuaternion};

use super::model::{Attachment, Robot, Shape};
use crate::terrain::HeightField;

fn v3(p: &Point3<f64>) -> String {
    format!("{} {} {}", p.x, p.y, p.z)
}

fn q4(q: &UnitQuaternion<f64>) -> String {
    format!("{} {} {} {}", q.w, q.i, q.j, q.k)
}

fn pose(iso: &Isometry3<f64>) -> String {
    let t = iso.translation.vector;
    format!(
        r#"pos="{} {} {}" quat="{}""#,
        t.x,
        t.y,
        t.z,
        q4(&iso.rotation)
    )
}

/// The robot as an MJCF document, with a ground plane and physics timestep `timestep_s`.
#[must_use]
pub fn to_mjcf(robot: &Robot, timestep_s: f64) -> String {
    to_mjcf_on(robot, timestep_s, None)
}

/// The robot as an MJCF document standing on `field` (a MuJoCo height field with the same
/// samples), or on the plane z = 0 when `field` is `None`.
///
/// MuJoCo normalises height-field elevations to 0..1 and scales them by the field's vertical
/// size, and its first row of `elevation` is the one at +y: the field is written top row first,
/// with vertical size max - min and the geom lifted to the lowest height, so the sample heights
/// come back exactly (to f32 precision).
#[must_use]
pub fn to_mjcf_on(robot: &Robot, timestep_s: f64, field: Option<&HeightField>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, r#"<mujoco model="{}">"#, robot.name);
    let _ = writeln!(
        out,
        "  <!-- Written by vigor from configs/robots/{}.toml. Explicit PD: drive the motors with\n       tau = clamp(tau_ff + kp (q* - q) + kd (dq* - dq), +-effort). -->",
        robot.name
    );
    let _ = writeln!(out, r#"  <compiler angle="radian" autolimits="true"/>"#);
    let _ = writeln!(
        out,
        r#"  <option timestep="{timestep_s}" integrator="implicitfast"/>"#
    );
    let flat_z = field.map_or(0.0, |f| f.height_range().0);
    let field = field.filter(|f| {
        let (lo, hi) = f.height_range();
        hi > lo
    });
    if let Some(f) = field {
        let (lo, hi) = f.height_range();
        let (nx, ny) = (f.nx(), f.ny());
        let half = [
            0.5 * (nx - 1) as f32 * f.cell_m(),
            0.5 * (ny - 1) as f32 * f.cell_m(),
        ];
        let _ = writeln!(
            out,
            r#"  <asset>
    <hfield name="terrain" nrow="{ny}" ncol="{nx}" size="{} {} {} 0.5" elevation=""#,
            half[0],
            half[1],
            hi - lo
        );
        for iy in (0..ny).rev() {
            out.push_str("      ");
            for ix in 0..nx {
                let _ = write!(out, "{} ", f.at(ix, iy) - lo);
            }
            out.push('\n');
        }
        out.push_str("    \"/>\n  </asset>\n");
        let origin = f.origin_xy();
        out.push_str("  <worldbody>\n");
        let _ = writeln!(
            out,
            r#"    <geom name="floor" type="hfield" hfield="terrain" pos="{} {} {lo}" contype="0" conaffinity="1"/>"#,
            origin[0] + half[0],
            origin[1] + half[1]
        );
    } else {
        out.push_str("  <worldbody>\n");
        let _ = writeln!(
            out,
            r#"    <geom name="floor" type="plane" pos="0 0 {flat_z}" size="0 0 0.05" contype="0" conaffinity="1"/>"#
        );
    }
    write_body(robot, 0, 2, &mut out);
    out.push_str("  </worldbody>\n  <actuator>\n");
    for j in &robot.joints {
        let _ = writeln!(
            out,
            r#"    <motor name="{}" joint="{}" ctrlrange="{} {}"/>"#,
            j.name, j.name, -j.effort, j.effort
        );
    }
    out.push_str("  </actuator>\n</mujoco>\n");
    out
}

fn write_body(robot: &Robot, index: usize, depth: usize, out: &mut String) {
    let link = &robot.links[index];
    let pad = "  ".repeat(depth);
    let _ = writeln!(
        out,
        r#"{pad}<body name="{}" {}>"#,
        link.name,
        pose(&link.offset)
    );
    let _ = writeln!(
        out,
        r#"{pad}  <inertial pos="{}" quat="{}" mass="{}" diaginertia="{} {} {}"/>"#,
        v3(&link.com),
        q4(&link.inertia_frame),
        link.mass,
        link.inertia_diag.x,
        link.inertia_diag.y,
        link.inertia_diag.z
    );
    match link.attachment {
        Attachment::Root => {
            let _ = writeln!(out, r#"{pad}  <freejoint name="floating_base_joint"/>"#);
        }
        Attachment::Revolute(j) => {
            let j = &robot.joints[j];
            let _ = writeln!(
                out,
                r#"{pad}  <joint name="{}" type="hinge" axis="{} {} {}" range="{} {}" armature="{}" frictionloss="{}" actuatorfrcrange="{} {}"/>"#,
                j.name,
                j.axis.x,
                j.axis.y,
                j.axis.z,
                j.lower,
                j.upper,
                j.armature,
                j.friction,
                -j.effort,
                j.effort
            );
        }
        Attachment::Fixed => {}
    }
    for c in &link.colliders {
        let geom = match &c.shape {
            Shape::Capsule { a, b, radius } => {
                format!(
                    r#"type="capsule" fromto="{} {}" size="{radius}""#,
                    v3(a),
                    v3(b)
                )
            }
            Shape::Sphere { centre, radius } => {
                format!(r#"type="sphere" pos="{}" size="{radius}""#, v3(centre))
            }
            Shape::Cuboid {
                centre,
                half_extents: h,
            } => {
                format!(
                    r#"type="box" pos="{}" size="{} {} {}""#,
                    v3(centre),
                    h.x,
                    h.y,
                    h.z
                )
            }
        };
        let _ = writeln!(
            out,
            r#"{pad}  <geom name="{}" {geom} contype="1" conaffinity="0"/>"#,
            c.name
        );
    }
    for s in &link.sites {
        let _ = writeln!(
            out,
            r#"{pad}  <site name="{}" pos="{}" size="0.01"/>"#,
            s.name,
            v3(&s.pos)
        );
    }
    if robot.camera.link == index {
        // MuJoCo cameras look along -z with y up; ours looks along x with z up (y left). Columns:
        // MuJoCo's x, y, z axes in our camera frame.
        let to_mujoco =
            UnitQuaternion::from_rotation_matrix(&Rotation3::from_matrix_unchecked(Matrix3::new(
                0.0, 0.0, -1.0, //
                -1.0, 0.0, 0.0, //
                0.0, 1.0, 0.0,
            )));
        let cam = Isometry3::from_parts(
            robot.camera.offset.translation,
            robot.camera.offset.rotation * to_mujoco,
        );
        let _ = writeln!(
            out,
            r#"{pad}  <camera name="head_depth" {} fovy="58"/>"#,
            pose(&cam)
        );
    }
    for (child, l) in robot.links.iter().enumerate() {
        if l.parent == Some(index) {
            write_body(robot, child, depth + 1, out);
        }
    }
    let _ = writeln!(out, "{pad}</body>");
}
