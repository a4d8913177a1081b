//! The robot's joint table from its description (`configs/robots/*.toml`), without the simulator.
//!
//! The controller needs, per driven joint, its name, motor slot, limits, torque limit, gains and
//! default pose, and the `mode_machine` the robot reports; it needs no links, inertias, colliders
//! or camera mount. [`JointTable`] reads just that from the same files that the simulator's full
//! model (`vigor_sim::robot::Robot`) reads, with the same ranges, so the robot's binary builds
//! without the simulator's types. A test in `tools/tests/cli.rs` checks that both read the
//! shipped robots alike.
//!
//! What is read: the top-level `name`, `mode_machine`, `derive_from` and `locked_joints`, each
//! link's `name` and its `[links.joint]` table (all of its keys: an unknown or missing key there is
//! an error). The rest of a link and of the file (inertials, colliders, sites, camera, total mass)
//! is the simulator's to check (`vigor robot show`).
//!
//! Invariants: joints are in motor-slot order, each slot and name used once, slots within the
//! 35 of `unitree_hg`; every figure comes from the file. Errors name the file, the key and the
//! allowed range, as in [`crate::config`].

use std::path::Path;

use serde::Deserialize;
use serde::de::IgnoredAny;
use vigor_msgs::unitree_hg::NUM_MOTOR_SLOTS;

use crate::config::{self, ConfigError};

/// The shipped G1 29-DoF description.
pub const G1_29DOF_TOML: &str = include_str!("../../configs/robots/g1_29dof.toml");
/// The shipped G1 23-DoF variant (waist roll and pitch and the wrists' pitch and yaw locked).
pub const G1_23DOF_TOML: &str = include_str!("../../configs/robots/g1_23dof.toml");
/// Names of the shipped robots, as `--robot` takes them.
pub const SHIPPED: [&str; 2] = ["g1_29dof", "g1_23dof"];

/// What a description file says, as far as the joint table goes.
#[derive(Debug, Deserialize)]
struct DescriptionFile {
    name: String,
    mode_machine: u8,
    #[serde(default)]
    derive_from: Option<String>,
    #[serde(default)]
    locked_joints: Vec<String>,
    #[serde(default)]
    links: Vec<LinkFile>,
}

/// `[[links]]`, as far as the joint table goes.
#[derive(Debug, Deserialize)]
struct LinkFile {
    #[serde(default)]
    joint: Option<JointFile>,
}

/// `[links.joint]`: every key, so that a misspelt one is refused here too.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JointFile {
    name: String,
    slot: usize,
    /// The simulator's (rotation axis).
    #[serde(rename = "axis")]
    _axis: IgnoredAny,
    range_rad: [f64; 2],
    effort_nm: f64,
    velocity_rad_s: f64,
    /// The simulator's (reflected rotor inertia).
    #[serde(rename = "armature_kgm2")]
    _armature_kgm2: IgnoredAny,
    /// The simulator's (dry friction).
    #[serde(rename = "friction_nm")]
    _friction_nm: IgnoredAny,
    default_rad: f64,
    kp: f64,
    kd: f64,
}

/// One driven joint.
#[derive(Debug, Clone, PartialEq)]
pub struct Joint {
    /// Unitree's joint name, e.g. `left_knee_joint`.
    pub name: String,
    /// Motor slot in `LowCmd` and `LowState`, 0..35.
    pub slot: usize,
    /// Lower position limit, rad.
    pub lower_rad: f64,
    /// Upper position limit, rad (above `lower_rad`).
    pub upper_rad: f64,
    /// Motor torque limit, N·m; 0.1 ..= 500.
    pub effort_nm: f64,
    /// Velocity limit, rad/s; 0.1 ..= 100.
    pub velocity_rad_s: f64,
    /// Position in the default standing pose, rad; within the limits.
    pub default_rad: f64,
    /// Default position gain, N·m/rad; 0 ..= 1000.
    pub kp: f64,
    /// Default velocity gain, N·m·s/rad; 0 ..= 100.
    pub kd: f64,
}

/// A robot's driven joints in motor-slot order, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct JointTable {
    /// Robot name, e.g. `g1_29dof`.
    pub name: String,
    /// `mode_machine` the robot reports (5: G1 29-DoF, 4: G1 23-DoF).
    pub mode_machine: u8,
    /// Driven joints by ascending motor slot.
    pub joints: Vec<Joint>,
}

impl JointTable {
    /// `name` as `--robot` takes it: a description file if one exists at that path, else a
    /// shipped robot ([`SHIPPED`]).
    ///
    /// # Errors
    /// Neither a file nor a shipped name ([`ConfigError::OutOfRange`] for `--robot`), or a file
    /// that does not parse or validate.
    pub fn named(name: &str) -> Result<Self, ConfigError> {
        let path = Path::new(name);
        if path.is_file() {
            Self::load(path)
        } else if shipped_text(name).is_some() {
            Self::embedded(name)
        } else {
            Err(ConfigError::OutOfRange {
                file: "command line".to_owned(),
                key: "--robot".to_owned(),
                value: name.to_owned(),
                allowed: format!("a description file or one of {}", SHIPPED.join(", ")),
            })
        }
    }

    /// The shipped robot `name` (`g1_29dof` or `g1_23dof`), embedded in the binary.
    ///
    /// # Errors
    /// An unknown name; a broken shipped file (a test guards them).
    pub fn embedded(name: &str) -> Result<Self, ConfigError> {
        match shipped_text(name) {
            Some(text) => Self::parse(text, &embedded_file(name)),
            None => Err(ConfigError::OutOfRange {
                file: "<embedded configs/robots/>".to_owned(),
                key: "name".to_owned(),
                value: name.to_owned(),
                allowed: format!("one of {}", SHIPPED.join(", ")),
            }),
        }
    }

    /// Reads a description file (a variant's `derive_from` is looked up in the same folder).
    ///
    /// # Errors
    /// I/O, parse or validation errors naming the file and key.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            file: file.clone(),
            source,
        })?;
        Self::parse(&text, &file)
    }

    /// Parses description text; `file` names it in errors and locates a variant's base: in the
    /// same folder, else the shipped description of that file name.
    ///
    /// # Errors
    /// Parse or validation errors naming the file (the base's for its joints) and key.
    pub fn parse(text: &str, file: &str) -> Result<Self, ConfigError> {
        let spec: DescriptionFile = config::parse(text, file)?;
        let Some(base_name) = &spec.derive_from else {
            if !spec.locked_joints.is_empty() {
                return Err(config::inconsistent(
                    file,
                    "locked_joints",
                    "only a variant (derive_from) locks joints",
                ));
            }
            return build(spec.name, spec.mode_machine, &spec.links, file, &[], file);
        };
        if !spec.links.is_empty() {
            return Err(config::inconsistent(
                file,
                "links",
                "a variant (derive_from) may not redefine links",
            ));
        }
        let base_path = Path::new(file)
            .parent()
            .unwrap_or(Path::new("."))
            .join(base_name);
        let (base, base_file): (DescriptionFile, String) = if base_path.is_file() {
            (config::load(&base_path)?, base_path.display().to_string())
        } else if let Some((name, text)) = base_name
            .strip_suffix(".toml")
            .and_then(|n| shipped_text(n).map(|t| (n, t)))
        {
            let base_file = embedded_file(name);
            (config::parse(text, &base_file)?, base_file)
        } else {
            return Err(config::inconsistent(
                file,
                "derive_from",
                format!("{} not found", base_path.display()),
            ));
        };
        if base.derive_from.is_some() {
            return Err(config::inconsistent(
                file,
                "derive_from",
                "chains of variants are not supported",
            ));
        }
        build(
            spec.name,
            spec.mode_machine,
            &base.links,
            &base_file,
            &spec.locked_joints,
            file,
        )
    }

    /// The joint named `name`.
    #[must_use]
    pub fn joint(&self, name: &str) -> Option<&Joint> {
        self.joints.iter().find(|j| j.name == name)
    }
}

fn shipped_text(name: &str) -> Option<&'static str> {
    match name {
        "g1_29dof" => Some(G1_29DOF_TOML),
        "g1_23dof" => Some(G1_23DOF_TOML),
        _ => None,
    }
}

fn embedded_file(name: &str) -> String {
    format!("<embedded configs/robots/{name}.toml>")
}

/// The joint table of `links` (from `links_file`) less the `locked` joints (named in
/// `file`, the variant, or the same file).
fn build(
    name: String,
    mode_machine: u8,
    links: &[LinkFile],
    links_file: &str,
    locked: &[String],
    file: &str,
) -> Result<JointTable, ConfigError> {
    for (k, l) in locked.iter().enumerate() {
        let known = links
            .iter()
            .any(|link| link.joint.as_ref().is_some_and(|j| &j.name == l));
        if !known {
            return Err(config::inconsistent(
                file,
                &format!("locked_joints[{k}]"),
                format!("no joint named {l} in {links_file}"),
            ));
        }
    }
    // (link index, joint), for errors that point at the link.
    let mut joints: Vec<(usize, Joint)> = Vec::new();
    for (i, link) in links.iter().enumerate() {
        let Some(j) = &link.joint else { continue };
        if !locked.contains(&j.name) {
            joints.push((i, check_joint(links_file, i, j)?));
        }
    }
    joints.sort_by_key(|(_, j)| j.slot);
    for (k, (i, j)) in joints.iter().enumerate() {
        let earlier = &joints[..k];
        if let Some((_, other)) = earlier.iter().find(|(_, o)| o.slot == j.slot) {
            return Err(config::inconsistent(
                links_file,
                &format!("links[{i}].joint.slot"),
                format!("slot {} of {} is also {}'s", j.slot, j.name, other.name),
            ));
        }
        if earlier.iter().any(|(_, o)| o.name == j.name) {
            return Err(config::inconsistent(
                links_file,
                &format!("links[{i}].joint.name"),
                format!("two joints are named {}", j.name),
            ));
        }
    }
    if joints.is_empty() {
        return Err(config::inconsistent(
            links_file,
            "links",
            "no link has a [links.joint]: nothing to drive",
        ));
    }
    Ok(JointTable {
        name,
        mode_machine,
        joints: joints.into_iter().map(|(_, j)| j).collect(),
    })
}

/// Checks one `[links.joint]` of link `i`.
fn check_joint(file: &str, i: usize, j: &JointFile) -> Result<Joint, ConfigError> {
    let key = |k: &str| format!("links[{i}].joint.{k}");
    config::check_range(file, &key("slot"), j.slot, 0, NUM_MOTOR_SLOTS - 1)?;
    let [lower, upper] = j.range_rad;
    if !(lower.is_finite() && upper.is_finite() && lower < upper) {
        return Err(config::inconsistent(
            file,
            &key("range_rad"),
            format!("[{lower}, {upper}]: lower must be below upper, both finite"),
        ));
    }
    config::check_range(file, &key("default_rad"), j.default_rad, lower, upper)?;
    config::check_range(file, &key("effort_nm"), j.effort_nm, 0.1, 500.0)?;
    config::check_range(file, &key("velocity_rad_s"), j.velocity_rad_s, 0.1, 100.0)?;
    config::check_range(file, &key("kp"), j.kp, 0.0, 1000.0)?;
    config::check_range(file, &key("kd"), j.kd, 0.0, 100.0)?;
    Ok(Joint {
        name: j.name.clone(),
        slot: j.slot,
        lower_rad: lower,
        upper_rad: upper,
        effort_nm: j.effort_nm,
        velocity_rad_s: j.velocity_rad_s,
        default_rad: j.default_rad,
        kp: j.kp,
        kd: j.kd,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigor_msgs::unitree_hg::{G1_23DOF_INVALID_SLOTS, G1_29DOF_SLOT_NAMES};

    fn err(text: &str) -> String {
        JointTable::parse(text, "g1.toml").unwrap_err().to_string()
    }

    #[test]
    fn g1_29dof_has_every_joint_in_unitree_slot_order() {
        let t = JointTable::embedded("g1_29dof").unwrap();
        assert_eq!((t.name.as_str(), t.mode_machine), ("g1_29dof", 5));
        assert_eq!(t.joints.len(), 29);
        for (slot, (j, name)) in t.joints.iter().zip(G1_29DOF_SLOT_NAMES).enumerate() {
            assert_eq!((j.slot, j.name.as_str()), (slot, &*format!("{name}_joint")));
        }
        let knee = t.joint("left_knee_joint").unwrap();
        assert_eq!(
            (
                knee.lower_rad,
                knee.upper_rad,
                knee.effort_nm,
                knee.velocity_rad_s
            ),
            (-0.087267, 2.8798, 139.0, 20.0)
        );
        assert_eq!((knee.default_rad, knee.kp, knee.kd), (0.3, 150.0, 4.0));
    }

    #[test]
    fn g1_23dof_drives_every_slot_but_the_six_a_23dof_robot_lacks() {
        let t = JointTable::embedded("g1_23dof").unwrap();
        assert_eq!((t.name.as_str(), t.mode_machine), ("g1_23dof", 4));
        let slots: Vec<usize> = t.joints.iter().map(|j| j.slot).collect();
        let expected: Vec<usize> = (0..29)
            .filter(|s| !G1_23DOF_INVALID_SLOTS.contains(s))
            .collect();
        assert_eq!(slots, expected);
        // The same variant from the files on disk, its base found beside it.
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/robots");
        let on_disk = JointTable::load(&dir.join("g1_23dof.toml")).unwrap();
        assert_eq!(on_disk, t);
        let by_path = JointTable::named(dir.join("g1_29dof.toml").to_str().unwrap()).unwrap();
        assert_eq!(by_path, JointTable::embedded("g1_29dof").unwrap());
    }

    #[test]
    fn an_out_of_range_gain_names_the_file_the_key_and_the_range() {
        let text = G1_29DOF_TOML.replacen("kp = 150.0", "kp = 1500.0", 1);
        assert_eq!(
            err(&text),
            "g1.toml: `links[4].joint.kp` = 1500 is out of range: allowed 0 ..= 1000"
        );
        let text = G1_29DOF_TOML.replacen("default_rad = 0.3", "default_rad = 3.0", 1);
        assert_eq!(
            err(&text),
            "g1.toml: `links[4].joint.default_rad` = 3 is out of range: allowed -0.087267 ..= 2.8798"
        );
        let text = G1_29DOF_TOML.replacen("slot = 3\n", "slot = 35\n", 1);
        assert_eq!(
            err(&text),
            "g1.toml: `links[4].joint.slot` = 35 is out of range: allowed 0 ..= 34"
        );
    }

    #[test]
    fn inverted_limits_and_a_slot_used_twice_are_refused_by_key() {
        let text = G1_29DOF_TOML.replacen(
            "range_rad = [-0.087267, 2.8798]",
            "range_rad = [2.8798, -0.087267]",
            1,
        );
        assert_eq!(
            err(&text),
            "g1.toml: `links[4].joint.range_rad`: [2.8798, -0.087267]: lower must be below \
             upper, both finite"
        );
        let text = G1_29DOF_TOML.replacen("slot = 3\n", "slot = 2\n", 1);
        assert_eq!(
            err(&text),
            "g1.toml: `links[4].joint.slot`: slot 2 of left_knee_joint is also \
             left_hip_yaw_joint's"
        );
    }

    #[test]
    fn a_misspelt_or_missing_joint_key_is_refused() {
        let e = err(&G1_29DOF_TOML.replacen("kd = 4.0", "kdd = 4.0", 1));
        assert!(e.starts_with("g1.toml: ") && e.contains("kdd"), "{e}");
        let e = err(&G1_29DOF_TOML.replacen("friction_nm = 0.1\n", "", 1));
        assert!(e.contains("friction_nm"), "{e}");
    }

    #[test]
    fn a_variant_names_its_own_file_for_what_it_gets_wrong() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("g1_29dof.toml"), G1_29DOF_TOML).unwrap();
        let variant = dir.path().join("one_knee.toml");
        let write = |locked: &str| {
            std::fs::write(
                &variant,
                format!(
                    "name = \"one_knee\"\nmode_machine = 5\nderive_from = \"g1_29dof.toml\"\n\
                     locked_joints = [{locked}]\n"
                ),
            )
            .unwrap();
        };
        write("\"left_knee_joint\"");
        let t = JointTable::load(&variant).unwrap();
        assert_eq!((t.name.as_str(), t.joints.len()), ("one_knee", 28));
        assert!(t.joint("left_knee_joint").is_none());
        write("\"left_knee_joint\", \"tail_joint\"");
        assert_eq!(
            JointTable::load(&variant).unwrap_err().to_string(),
            format!(
                "{}: `locked_joints[1]`: no joint named tail_joint in {}",
                variant.display(),
                dir.path().join("g1_29dof.toml").display()
            )
        );
    }

    #[test]
    fn an_unknown_robot_is_neither_a_file_nor_a_shipped_name() {
        assert_eq!(
            JointTable::named("g2").unwrap_err().to_string(),
            "command line: `--robot` = g2 is out of range: allowed a description file or one of \
             g1_29dof, g1_23dof"
        );
        assert_eq!(
            JointTable::embedded("g2").unwrap_err().to_string(),
            "<embedded configs/robots/>: `name` = g2 is out of range: allowed one of g1_29dof, \
             g1_23dof"
        );
    }
}
