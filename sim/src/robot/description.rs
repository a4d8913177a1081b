//! The robot description file (`configs/robots/*.toml`): what it says, before validation.

use serde::Deserialize;

/// A robot description file: either a full description (`links`, `camera`, `total_mass_kg`) or a
/// variant (`derive_from` another file plus `locked_joints`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RobotFile {
    /// Robot name, e.g. `g1_29dof`.
    pub name: String,
    /// `mode_machine` the robot reports (5 = G1 29-DoF, 4 = G1 23-DoF).
    pub mode_machine: u8,
    /// For a variant: the file (same folder) it starts from.
    #[serde(default)]
    pub derive_from: Option<String>,
    /// For a variant: joints turned into fixed joints at 0 rad.
    #[serde(default)]
    pub locked_joints: Vec<String>,
    /// Total mass, kg; checked against the links' sum within 5 g.
    #[serde(default)]
    pub total_mass_kg: Option<f64>,
    /// Head depth camera mount.
    #[serde(default)]
    pub camera: Option<CameraSpec>,
    /// Links, each after its parent.
    #[serde(default)]
    pub links: Vec<LinkSpec>,
}

/// `[camera]`: the head depth camera's mount.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CameraSpec {
    /// Link the camera is fixed to.
    pub link: String,
    /// Position in that link's frame, m.
    pub pos_m: [f64; 3],
    /// Downward pitch about the link's y axis, rad (the camera looks along its x axis).
    pub pitch_down_rad: f64,
}

fn zero3() -> [f64; 3] {
    [0.0; 3]
}

fn identity_quat() -> [f64; 4] {
    [1.0, 0.0, 0.0, 0.0]
}

/// `[[links]]`: one rigid body.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkSpec {
    /// Unique link name.
    pub name: String,
    /// Parent link name; empty for the root (the floating base).
    pub parent: String,
    /// Frame origin in the parent's frame, m (for the root: its default standing position).
    #[serde(default = "zero3")]
    pub pos_m: [f64; 3],
    /// Frame orientation relative to the parent, w x y z.
    #[serde(default = "identity_quat")]
    pub quat_wxyz: [f64; 4],
    /// Mass, kg (> 0).
    pub mass_kg: f64,
    /// Centre of mass in the link frame, m.
    pub com_m: [f64; 3],
    /// Orientation of the principal inertia axes in the link frame, w x y z.
    #[serde(default = "identity_quat")]
    pub inertia_quat_wxyz: [f64; 4],
    /// Principal moments of inertia, kg·m² (> 0, satisfying the triangle inequality).
    pub inertia_diag_kgm2: [f64; 3],
    /// Collision primitives in the link frame.
    #[serde(default)]
    pub colliders: Vec<ColliderSpec>,
    /// Named points (IMUs, feet, palms) in the link frame.
    #[serde(default)]
    pub sites: Vec<SiteSpec>,
    /// The revolute joint that connects the link to its parent (absent for the root).
    #[serde(default)]
    pub joint: Option<JointSpec>,
}

/// One collision primitive: exactly one of `capsule`, `sphere`, `box`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColliderSpec {
    /// Name (unique within the robot).
    pub name: String,
    /// A capsule.
    #[serde(default)]
    pub capsule: Option<CapsuleSpec>,
    /// A sphere.
    #[serde(default)]
    pub sphere: Option<SphereSpec>,
    /// A box.
    #[serde(default, rename = "box")]
    pub cuboid: Option<BoxSpec>,
}

/// Capsule: the segment `from_m`..`to_m` swept by a sphere of `radius_m`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CapsuleSpec {
    /// Segment start, m.
    pub from_m: [f64; 3],
    /// Segment end, m.
    pub to_m: [f64; 3],
    /// Radius, m.
    pub radius_m: f64,
}

/// Sphere.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SphereSpec {
    /// Centre, m.
    pub pos_m: [f64; 3],
    /// Radius, m.
    pub radius_m: f64,
}

/// Axis-aligned box in the link frame.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoxSpec {
    /// Centre, m.
    pub pos_m: [f64; 3],
    /// Half extents, m.
    pub half_extents_m: [f64; 3],
}

/// A named point.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteSpec {
    /// Name (unique within the robot).
    pub name: String,
    /// Position in the link frame, m.
    pub pos_m: [f64; 3],
}

/// `[links.joint]`: a revolute joint driven by one motor.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JointSpec {
    /// Joint name (Unitree's, e.g. `left_knee_joint`).
    pub name: String,
    /// Unitree motor slot, 0..35.
    pub slot: usize,
    /// Rotation axis in the link frame (normalised on load).
    pub axis: [f64; 3],
    /// Position limits [lower, upper], rad.
    pub range_rad: [f64; 2],
    /// Motor torque limit, N·m.
    pub effort_nm: f64,
    /// Velocity limit, rad/s.
    pub velocity_rad_s: f64,
    /// Reflected rotor inertia, kg·m².
    pub armature_kgm2: f64,
    /// Dry friction torque, N·m.
    pub friction_nm: f64,
    /// Position in the default standing pose, rad.
    pub default_rad: f64,
    /// Default position gain, N·m/rad.
    pub kp: f64,
    /// Default velocity gain, N·m·s/rad.
    pub kd: f64,
}
