//! The validated robot model: links in parent-before-child order, joints by motor slot, colliders,
//! sites and camera, with frames as nalgebra isometries (f64).

use std::path::Path;

use rapier3d::na::{Isometry3, Point3, Translation3, Unit, UnitQuaternion, Vector3};

use vigor_common::ConfigError;

use super::RobotError;
use super::description::RobotFile;
use super::validate::{check_joint, check_link, vec3};

/// A collision primitive in its link's frame.
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// Segment `a`..`b` swept by a sphere of `radius`.
    Capsule {
        /// Segment start, m.
        a: Point3<f64>,
        /// Segment end, m.
        b: Point3<f64>,
        /// Radius, m.
        radius: f64,
    },
    /// Sphere.
    Sphere {
        /// Centre, m.
        centre: Point3<f64>,
        /// Radius, m.
        radius: f64,
    },
    /// Axis-aligned box.
    Cuboid {
        /// Centre, m.
        centre: Point3<f64>,
        /// Half extents, m.
        half_extents: Vector3<f64>,
    },
}

/// A named collision primitive.
#[derive(Debug, Clone, PartialEq)]
pub struct Collider {
    /// Name.
    pub name: String,
    /// Shape in the link frame.
    pub shape: Shape,
}

/// A named point on a link.
#[derive(Debug, Clone, PartialEq)]
pub struct Site {
    /// Name.
    pub name: String,
    /// Position in the link frame, m.
    pub pos: Point3<f64>,
}

/// How a link hangs from its parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attachment {
    /// The floating base.
    Root,
    /// A driven revolute joint: index into [`Robot::joints`].
    Revolute(usize),
    /// Rigidly fixed (a locked joint of a variant).
    Fixed,
}

/// One rigid body.
#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    /// Name.
    pub name: String,
    /// Parent link index (`None` for the root); always smaller than this link's index.
    pub parent: Option<usize>,
    /// Frame relative to the parent at joint position 0 (root: default standing pose in world).
    pub offset: Isometry3<f64>,
    /// How it is attached.
    pub attachment: Attachment,
    /// Mass, kg.
    pub mass: f64,
    /// Centre of mass in the link frame, m.
    pub com: Point3<f64>,
    /// Principal axes of inertia in the link frame.
    pub inertia_frame: UnitQuaternion<f64>,
    /// Principal moments, kg·m².
    pub inertia_diag: Vector3<f64>,
    /// Collision primitives.
    pub colliders: Vec<Collider>,
    /// Named points.
    pub sites: Vec<Site>,
}

/// A driven joint.
#[derive(Debug, Clone, PartialEq)]
pub struct Joint {
    /// Name.
    pub name: String,
    /// Unitree motor slot.
    pub slot: usize,
    /// Index of the link it moves.
    pub link: usize,
    /// Axis in the link frame.
    pub axis: Unit<Vector3<f64>>,
    /// Lower limit, rad.
    pub lower: f64,
    /// Upper limit, rad.
    pub upper: f64,
    /// Torque limit, N·m.
    pub effort: f64,
    /// Velocity limit, rad/s.
    pub velocity: f64,
    /// Rotor inertia, kg·m².
    pub armature: f64,
    /// Dry friction, N·m.
    pub friction: f64,
    /// Default standing position, rad.
    pub default: f64,
    /// Default position gain, N·m/rad.
    pub kp: f64,
    /// Default velocity gain, N·m·s/rad.
    pub kd: f64,
}

/// Head camera mount.
#[derive(Debug, Clone, PartialEq)]
pub struct CameraMount {
    /// Link index.
    pub link: usize,
    /// Camera frame in the link frame: x forward (optical axis), y left, z up.
    pub offset: Isometry3<f64>,
}

/// A validated robot.
#[derive(Debug, Clone, PartialEq)]
pub struct Robot {
    /// Name.
    pub name: String,
    /// `mode_machine` it reports.
    pub mode_machine: u8,
    /// Links, parents first; link 0 is the root.
    pub links: Vec<Link>,
    /// Driven joints in motor-slot order.
    pub joints: Vec<Joint>,
    /// Head camera.
    pub camera: CameraMount,
}

/// The shipped G1 29-DoF description.
pub const G1_29DOF_TOML: &str = include_str!("../../../configs/robots/g1_29dof.toml");
/// The shipped G1 23-DoF (wrist- and waist-locked) variant.
pub const G1_23DOF_TOML: &str = include_str!("../../../configs/robots/g1_23dof.toml");

impl Robot {
    /// The shipped robot named `name` (`g1_29dof` or `g1_23dof`).
    ///
    /// # Errors
    /// Unknown name, or a broken shipped file (a test guards them).
    pub fn embedded(name: &str) -> Result<Self, RobotError> {
        let base = || -> Result<RobotFile, RobotError> {
            vigor_common::config::parse(G1_29DOF_TOML, "<embedded configs/robots/g1_29dof.toml>")
                .map_err(RobotError::from)
        };
        match name {
            "g1_29dof" => Self::from_file(base()?, "<embedded configs/robots/g1_29dof.toml>"),
            "g1_23dof" => {
                let file = "<embedded configs/robots/g1_23dof.toml>";
                let variant: RobotFile = vigor_common::config::parse(G1_23DOF_TOML, file)?;
                Self::from_variant(base()?, variant, file)
            }
            other => Err(RobotError::Unknown(other.to_owned())),
        }
    }

    /// Loads a description file (following `derive_from` within the same folder).
    ///
    /// # Errors
    /// I/O, parse or validation errors naming the file and key.
    pub fn load(path: &Path) -> Result<Self, RobotError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            file: file.clone(),
            source,
        })?;
        Self::parse(&text, &file)
    }

    /// Parses description text; `file` names it in errors and locates a variant's base (in the
    /// same folder, else the shipped description of that name).
    ///
    /// # Errors
    /// Parse or validation errors naming the file and key.
    pub fn parse(text: &str, file: &str) -> Result<Self, RobotError> {
        let spec: RobotFile = vigor_common::config::parse(text, file)?;
        let Some(base) = spec.derive_from.clone() else {
            return Self::from_file(spec, file);
        };
        let base_path = Path::new(file)
            .parent()
            .unwrap_or(Path::new("."))
            .join(&base);
        let base_spec: RobotFile = if base_path.is_file() {
            vigor_common::config::load(&base_path)?
        } else if base == "g1_29dof.toml" {
            vigor_common::config::parse(G1_29DOF_TOML, "<embedded configs/robots/g1_29dof.toml>")?
        } else {
            return Err(RobotError::invalid(
                file,
                "derive_from".into(),
                format!("{} not found", base_path.display()),
            ));
        };
        if base_spec.derive_from.is_some() {
            return Err(RobotError::invalid(
                file,
                "derive_from".into(),
                "chains of variants are not supported",
            ));
        }
        Self::from_variant(base_spec, spec, file)
    }

    fn from_variant(
        mut base: RobotFile,
        variant: RobotFile,
        file: &str,
    ) -> Result<Self, RobotError> {
        if !variant.links.is_empty() || variant.camera.is_some() {
            return Err(RobotError::invalid(
                file,
                "links".into(),
                "a variant (derive_from) may not redefine links or camera",
            ));
        }
        for locked in &variant.locked_joints {
            let link = base
                .links
                .iter_mut()
                .find(|l| l.joint.as_ref().is_some_and(|j| &j.name == locked))
                .ok_or_else(|| {
                    RobotError::invalid(
                        file,
                        "locked_joints".into(),
                        format!("no joint named {locked}"),
                    )
                })?;
            link.joint = None;
        }
        base.name = variant.name;
        base.mode_machine = variant.mode_machine;
        base.derive_from = None;
        Self::build(base, file, true)
    }

    fn from_file(spec: RobotFile, file: &str) -> Result<Self, RobotError> {
        if spec.derive_from.is_some() || !spec.locked_joints.is_empty() {
            return Err(RobotError::invalid(
                file,
                "derive_from".into(),
                "load variants with Robot::load",
            ));
        }
        Self::build(spec, file, false)
    }

    fn build(spec: RobotFile, file: &str, allow_fixed: bool) -> Result<Self, RobotError> {
        let mut links: Vec<Link> = Vec::with_capacity(spec.links.len());
        let mut joints: Vec<Joint> = Vec::new();
        let mut names = std::collections::HashSet::new();
        for (i, l) in spec.links.iter().enumerate() {
            let key = |k: &str| format!("links[{i}].{k}");
            if !names.insert(l.name.as_str()) {
                return Err(RobotError::invalid(
                    file,
                    key("name"),
                    format!("duplicate link {}", l.name),
                ));
            }
            let parent = if l.parent.is_empty() {
                if i != 0 {
                    return Err(RobotError::invalid(
                        file,
                        key("parent"),
                        "only the first link may be the root",
                    ));
                }
                None
            } else {
                Some(
                    links
                        .iter()
                        .position(|p| p.name == l.parent)
                        .ok_or_else(|| {
                            RobotError::invalid(
                                file,
                                key("parent"),
                                format!("{} is not an earlier link", l.parent),
                            )
                        })?,
                )
            };
            let attachment = match (&l.joint, parent) {
                (_, None) => Attachment::Root,
                (Some(j), Some(_)) => {
                    joints.push(check_joint(file, i, l, j.slot, links.len())?);
                    Attachment::Revolute(joints.len() - 1)
                }
                (None, Some(_)) if allow_fixed => Attachment::Fixed,
                (None, Some(_)) => {
                    return Err(RobotError::invalid(
                        file,
                        key("joint"),
                        "every non-root link needs a joint",
                    ));
                }
            };
            links.push(check_link(file, i, l, parent, attachment)?);
        }
        if links.is_empty() {
            return Err(RobotError::invalid(file, "links".into(), "no links"));
        }
        let mass: f64 = links.iter().map(|l| l.mass).sum();
        if let Some(total) = spec.total_mass_kg
            && (mass - total).abs() > 5e-3
        {
            return Err(RobotError::invalid(
                file,
                "total_mass_kg".into(),
                format!("{total} kg but the links sum to {mass:.4} kg"),
            ));
        }
        joints.sort_by_key(|j| j.slot);
        for w in joints.windows(2) {
            if w[0].slot == w[1].slot {
                return Err(RobotError::invalid(
                    file,
                    "links.joint.slot".into(),
                    format!("slot {} used twice", w[0].slot),
                ));
            }
        }
        for (ji, j) in joints.iter().enumerate() {
            links[j.link].attachment = Attachment::Revolute(ji);
        }
        let cam = spec
            .camera
            .ok_or_else(|| RobotError::invalid(file, "camera".into(), "missing [camera]"))?;
        let cam_link = links
            .iter()
            .position(|l| l.name == cam.link)
            .ok_or_else(|| {
                RobotError::invalid(
                    file,
                    "camera.link".into(),
                    format!("no link named {}", cam.link),
                )
            })?;
        let camera = CameraMount {
            link: cam_link,
            offset: Isometry3::from_parts(
                Translation3::from(vec3(cam.pos_m)),
                UnitQuaternion::from_axis_angle(&Vector3::y_axis(), cam.pitch_down_rad),
            ),
        };
        Ok(Self {
            name: spec.name,
            mode_machine: spec.mode_machine,
            links,
            joints,
            camera,
        })
    }

    /// Total mass, kg.
    #[must_use]
    pub fn mass(&self) -> f64 {
        self.links.iter().map(|l| l.mass).sum()
    }

    /// Index of the link named `name`.
    #[must_use]
    pub fn link_index(&self, name: &str) -> Option<usize> {
        self.links.iter().position(|l| l.name == name)
    }

    /// Default standing joint positions, by joint index.
    #[must_use]
    pub fn default_pose(&self) -> Vec<f64> {
        self.joints.iter().map(|j| j.default).collect()
    }

    /// The link and position of site `name`.
    #[must_use]
    pub fn site(&self, name: &str) -> Option<(usize, Point3<f64>)> {
        self.links
            .iter()
            .enumerate()
            .find_map(|(i, l)| l.sites.iter().find(|s| s.name == name).map(|s| (i, s.pos)))
    }

    /// Lowest point of the robot's colliders, m, if it stood at `root` with joints `q`.
    #[must_use]
    pub fn lowest_point_at(&self, root: &Isometry3<f64>, q: &[f64]) -> f64 {
        let poses = self.forward_kinematics(root, q);
        self.link_lowest_points(&poses)
            .iter()
            .filter_map(|p| p.map(|p| p.z))
            .fold(f64::INFINITY, f64::min)
    }

    /// The lowest point (world frame) of each link's collision primitives for link poses `poses`
    /// (from [`Robot::forward_kinematics`]); `None` for a link without colliders.
    #[must_use]
    pub fn link_lowest_points(&self, poses: &[Isometry3<f64>]) -> Vec<Option<Point3<f64>>> {
        self.links
            .iter()
            .zip(poses)
            .map(|(link, pose)| {
                let mut lowest: Option<Point3<f64>> = None;
                let mut take = |p: Point3<f64>| {
                    if lowest.is_none_or(|l| p.z < l.z) {
                        lowest = Some(p);
                    }
                };
                for c in &link.colliders {
                    match &c.shape {
                        Shape::Capsule { a, b, radius } => {
                            let (a, b) = (pose * a, pose * b);
                            let end = if a.z <= b.z { a } else { b };
                            take(end - Vector3::z() * *radius);
                        }
                        Shape::Sphere { centre, radius } => {
                            take(pose * centre - Vector3::z() * *radius);
                        }
                        Shape::Cuboid {
                            centre,
                            half_extents: h,
                        } => {
                            for s in 0..8u8 {
                                let pick = |bit: u8, e: f64| if s & bit == 0 { -e } else { e };
                                let corner =
                                    centre + Vector3::new(pick(1, h.x), pick(2, h.y), pick(4, h.z));
                                take(pose * corner);
                            }
                        }
                    }
                }
                lowest
            })
            .collect()
    }

    /// World pose of every link for root pose `root` and joint positions `q` (by joint index).
    ///
    /// # Panics
    /// Never for a validated robot: parents precede children. `q` shorter than the joint count
    /// treats the missing joints as 0.
    #[must_use]
    pub fn forward_kinematics(&self, root: &Isometry3<f64>, q: &[f64]) -> Vec<Isometry3<f64>> {
        let mut poses: Vec<Isometry3<f64>> = Vec::with_capacity(self.links.len());
        for link in &self.links {
            let pose = match (link.parent, link.attachment) {
                (None, _) => *root,
                (Some(p), Attachment::Revolute(j)) => {
                    let angle = q.get(j).copied().unwrap_or(0.0);
                    poses[p]
                        * link.offset
                        * UnitQuaternion::from_axis_angle(&self.joints[j].axis, angle)
                }
                (Some(p), _) => poses[p] * link.offset,
            };
            poses.push(pose);
        }
        poses
    }
}
