//! vigor's own demonstration set: recovery behaviours authored as sparse keyframe sequences.
//!
//! LAFAN1's licence forbids shipping anything derived from it, so the default demonstrations are
//! written by hand in `configs/demos/*.toml`, one file per behaviour. Each keyframe gives a time,
//! the pelvis orientation and horizontal position, and joint angles; joints it does not name keep
//! their value from the previous keyframe (the robot's default pose before the first). The pelvis
//! height is never authored: every pose, keyframes and in-betweens alike, is lowered onto the flat
//! ground (its lowest collider point at z = 0), as a body resting on the floor is.
//!
//! Joint keys, in radians: `both.<joint>` sets the left joint and mirrors it onto the right one
//! (roll and yaw joints change sign, so `both` poses are left-right symmetric); `left.<joint>` and
//! `right.<joint>` set one side; `waist.<yaw|roll|pitch>` the waist. `<joint>` is the description's
//! joint name without side prefix and `_joint` suffix, e.g. `hip_pitch`, `knee`, `elbow`.
//!
//! Between keyframes the pose moves along a smoothstep, `s = 3u² - 2u³`, so it starts and stops
//! at every keyframe; the orientation is slerped. Keyframes marked `static` must hold by
//! themselves in the simulator under the robot's default PD gains (a test checks it).
//!
//! Two keys compose behaviours without copying keyframes:
//! - `[then]` continues with another demo from one of its keyframes on: a fall-mitigation motion
//!   ends in a pose of a recovery (e.g. on hands and knees) and flows into the rest of it. The
//!   named keyframe comes `after_s` after the file's last one; the rest keep their spacing.
//! - `mirror = "<name>"` adds the behaviour's mirror image under that name (left and right
//!   swapped through the robot's joint mirror map, the pelvis reflected through the x-z plane),
//!   so one file serves both sides.

use std::collections::BTreeMap;

use rapier3d::na::{Isometry3, Translation3, UnitQuaternion, Vector3};
use serde::Deserialize;
use vigor_common::config::{self, ConfigError, check_range, inconsistent};
use vigor_sim::robot::Robot;
use vigor_sim::robot::mirror::JointMirror;

use super::DemoError;
use super::clip::{Clip, Frame};
use super::posture::Posture;
use super::segment::{SegmentParams, label, label_from_start};

/// One keyframe as written in a demo file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyframeSpec {
    /// What the pose is, e.g. `on hands and knees`.
    pub name: String,
    /// Time from the start of the behaviour, s; strictly increasing, the first is 0.
    pub time_s: f64,
    /// Pelvis orientation as yaw, tilt, twist, degrees, each in -180 ..= 180: the rotation
    /// `Rz(yaw)·Ry(tilt)·Rz(twist)`. Tilt leans the spine forward from vertical (90: lying face
    /// down, -90: lying on the back, head toward -x); twist turns the body about its spine first
    /// (with tilt -90: 0 on the back, 90 on the left side, 180 face down), so a roll along the
    /// ground is a change of twist alone.
    pub orientation_deg: [f64; 3],
    /// Pelvis x, y, m (|x|, |y| ≤ 2).
    #[serde(default)]
    pub xy_m: [f64; 2],
    /// Whether the pose must hold by itself (checked in the simulator).
    #[serde(default, rename = "static")]
    pub is_static: bool,
    /// Joints set on both sides, mirrored.
    #[serde(default)]
    pub both: BTreeMap<String, f64>,
    /// Left-side joints.
    #[serde(default)]
    pub left: BTreeMap<String, f64>,
    /// Right-side joints.
    #[serde(default)]
    pub right: BTreeMap<String, f64>,
    /// Waist joints: `yaw`, `roll`, `pitch`.
    #[serde(default)]
    pub waist: BTreeMap<String, f64>,
}

/// Where a behaviour flows on into another one.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThenSpec {
    /// The demo it continues with (one without a `[then]` of its own).
    pub demo: String,
    /// The keyframe of that demo it joins at; it and every later one are appended.
    pub from: String,
    /// Time from this file's last keyframe to the joined one, s (0 < after_s ≤ 10).
    pub after_s: f64,
    /// The appended poses are turned about the vertical through the origin by this, degrees
    /// (-180 ..= 180): a recovery written facing -x continues a fall that ends facing elsewhere.
    #[serde(default)]
    pub yaw_deg: f64,
    /// Then moved by this, m (|x|, |y| ≤ 2).
    #[serde(default)]
    pub xy_m: [f64; 2],
}

/// A demo file as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoFile {
    /// Name, unique in the set (the file stem).
    pub name: String,
    /// What the behaviour does, for people.
    pub description: String,
    /// The posture it starts from: a lying one (`supine`, `prone`, `side`) for a recovery,
    /// `standing` for a fall.
    pub posture: String,
    /// The robot description it is written for.
    pub robot: String,
    /// The name of its mirror image, added to the set beside it.
    #[serde(default)]
    pub mirror: Option<String>,
    /// The behaviour it flows on into.
    #[serde(default)]
    pub then: Option<ThenSpec>,
    /// The keyframes, at least two (one with `[then]`).
    pub keyframes: Vec<KeyframeSpec>,
}

/// A checked keyframe.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthoredKey {
    /// What the pose is.
    pub name: String,
    /// Time, s.
    pub time_s: f64,
    /// The pose, lowered onto the ground.
    pub frame: Frame,
    /// Whether it must hold by itself.
    pub is_static: bool,
}

/// A checked authored behaviour.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthoredDemo {
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Declared start posture.
    pub posture: Posture,
    /// Robot description name.
    pub robot: String,
    /// Keyframes.
    pub keys: Vec<AuthoredKey>,
    /// The demo this is the mirror image of (`mirror` in that file), if it is one.
    pub mirror_of: Option<String>,
}

/// The shipped demo files: (name under `configs/`, text).
pub const SHIPPED: &[(&str, &str)] = &[
    (
        "demos/supine_roll_kneel.toml",
        include_str!("../../../configs/demos/supine_roll_kneel.toml"),
    ),
    (
        "demos/prone_push_up.toml",
        include_str!("../../../configs/demos/prone_push_up.toml"),
    ),
    (
        "demos/side_roll_kneel.toml",
        include_str!("../../../configs/demos/side_roll_kneel.toml"),
    ),
    (
        "demos/fall_forward_kneel.toml",
        include_str!("../../../configs/demos/fall_forward_kneel.toml"),
    ),
    (
        "demos/fall_backward_squat.toml",
        include_str!("../../../configs/demos/fall_backward_squat.toml"),
    ),
    (
        "demos/fall_left_kneel.toml",
        include_str!("../../../configs/demos/fall_left_kneel.toml"),
    ),
    (
        "demos/fall_backward_sit.toml",
        include_str!("../../../configs/demos/fall_backward_sit.toml"),
    ),
];

/// The recoveries every teacher tracked before the fall demonstrations existed: the default of
/// a teacher configuration's `task.demos`, so older configurations and artifacts keep their set.
pub const RECOVERIES: [&str; 3] = ["supine_roll_kneel", "prone_push_up", "side_roll_kneel"];

/// Puts `pose` on the ground: the root height that brings its lowest collider point to z = 0.
#[must_use]
pub fn grounded(robot: &Robot, mut frame: Frame) -> Frame {
    let mut root = frame.root();
    root.translation.vector.z = 0.0;
    let low = robot.lowest_point_at(&root, &frame.joint_pos_rad);
    frame.root_pos_m[2] = -low;
    frame
}

fn side_joint(robot: &Robot, side: &str, key: &str) -> Option<usize> {
    let name = format!("{side}_{key}_joint");
    robot.joints.iter().position(|j| j.name == name)
}

impl AuthoredDemo {
    /// Parses and checks a demo file for `robot`; `file` names it in errors.
    ///
    /// # Errors
    /// [`DemoError::Config`] naming the file and key: TOML errors, unknown joints, angles outside
    /// the joint limits, times not increasing, a posture that is neither a lying class nor
    /// standing, a robot name that differs from `robot`, a `[then]` (it needs the rest of its
    /// set: [`AuthoredDemo::parse_set`]). Of a file with `mirror`, only the original is returned.
    pub fn parse(text: &str, file: &str, robot: &Robot) -> Result<Self, DemoError> {
        let mut set = Self::parse_set(&[(file.to_owned(), text)], robot)?;
        Ok(set.swap_remove(0))
    }

    /// Parses a set of demo files, `(file, text)`, for `robot`: each file's own keyframes, then
    /// every `[then]` resolved against the set, then every `mirror` added after its original.
    ///
    /// # Errors
    /// As [`AuthoredDemo::parse`], and naming the file and key: two demos of one name, a `[then]`
    /// naming a demo or keyframe the set does not have, or a demo that itself continues.
    pub fn parse_set(files: &[(String, &str)], robot: &Robot) -> Result<Vec<Self>, DemoError> {
        let mut raws = Vec::with_capacity(files.len());
        for (file, text) in files {
            let raw: DemoFile = config::parse(text, file)?;
            let own = raw.validate(file, robot)?;
            raws.push((file.as_str(), raw, own));
        }
        let mut names: Vec<&str> = Vec::new();
        for (file, raw, _) in &raws {
            let own = std::iter::once(("name", raw.name.as_str()));
            for (key, n) in own.chain(raw.mirror.as_deref().map(|m| ("mirror", m))) {
                if names.contains(&n) {
                    return Err(inconsistent(
                        file,
                        key,
                        format!("another demo of the set is already called `{n}`"),
                    )
                    .into());
                }
                names.push(n);
            }
        }
        let mut out = Vec::with_capacity(names.len());
        for (file, raw, own) in &raws {
            let mut demo = own.clone();
            if let Some(then) = &raw.then {
                let target = raws
                    .iter()
                    .find(|(_, r, _)| r.name == then.demo)
                    .ok_or_else(|| {
                        inconsistent(
                            file,
                            "then.demo",
                            format!("the set has no demo `{}`", then.demo),
                        )
                    })?;
                if target.1.then.is_some() {
                    return Err(inconsistent(
                        file,
                        "then.demo",
                        format!(
                            "`{}` continues itself; join the demo it continues",
                            then.demo
                        ),
                    )
                    .into());
                }
                demo.continue_with(&target.2, then, file)?;
            }
            if let Some(name) = &raw.mirror {
                let mirrored = demo.mirrored(robot, name).map_err(|e| {
                    inconsistent(file, "mirror", format!("the robot has no mirror map: {e}"))
                })?;
                out.push(demo);
                out.push(mirrored);
            } else {
                out.push(demo);
            }
        }
        Ok(out)
    }

    /// Every shipped demo for the shipped G1 29-DoF.
    ///
    /// # Errors
    /// A broken shipped file (a test guards them).
    pub fn shipped(robot: &Robot) -> Result<Vec<Self>, DemoError> {
        let files: Vec<(String, &str)> = SHIPPED
            .iter()
            .map(|(name, text)| (format!("<embedded configs/{name}>"), *text))
            .collect();
        Self::parse_set(&files, robot)
    }

    /// Appends `target`'s keyframes from `then.from` on, the joined one `then.after_s` after
    /// this demo's last keyframe.
    fn continue_with(
        &mut self,
        target: &Self,
        then: &ThenSpec,
        file: &str,
    ) -> Result<(), ConfigError> {
        check_range(file, "then.after_s", then.after_s, 1e-3, 10.0)?;
        let at = target
            .keys
            .iter()
            .position(|k| k.name == then.from)
            .ok_or_else(|| {
                let names: Vec<&str> = target.keys.iter().map(|k| k.name.as_str()).collect();
                inconsistent(
                    file,
                    "then.from",
                    format!(
                        "`{}` has no keyframe `{}` (it has: {})",
                        target.name,
                        then.from,
                        names.join("; ")
                    ),
                )
            })?;
        check_range(file, "then.yaw_deg", then.yaw_deg, -180.0, 180.0)?;
        for (c, v) in then.xy_m.iter().enumerate() {
            check_range(file, &format!("then.xy_m[{c}]"), *v, -2.0, 2.0)?;
        }
        let place = Isometry3::from_parts(
            Translation3::new(then.xy_m[0], then.xy_m[1], 0.0),
            UnitQuaternion::from_axis_angle(&Vector3::z_axis(), then.yaw_deg.to_radians()),
        );
        let last = self.keys.last().map_or(0.0, |k| k.time_s);
        let shift = last + then.after_s - target.keys[at].time_s;
        self.keys.extend(target.keys[at..].iter().map(|k| {
            let mut frame = k.frame.clone();
            frame.set_root(&(place * k.frame.root()));
            AuthoredKey {
                time_s: k.time_s + shift,
                frame,
                ..k.clone()
            }
        }));
        Ok(())
    }

    /// The mirror image of this behaviour, called `name`: every pose through the robot's joint
    /// mirror map, the pelvis reflected through the x-z plane (position `y` and the quaternion's
    /// `x` and `z` change sign), grounded again.
    ///
    /// # Errors
    /// The robot has no mirror map.
    pub fn mirrored(
        &self,
        robot: &Robot,
        name: &str,
    ) -> Result<Self, vigor_sim::robot::mirror::MirrorError> {
        let map = JointMirror::new(robot)?;
        let keys = self
            .keys
            .iter()
            .map(|k| {
                let [x, y, z] = k.frame.root_pos_m;
                let [qw, qx, qy, qz] = k.frame.root_quat_wxyz;
                let frame = Frame {
                    root_pos_m: [x, -y, z],
                    root_quat_wxyz: [qw, -qx, qy, -qz],
                    joint_pos_rad: map.apply(&k.frame.joint_pos_rad),
                };
                AuthoredKey {
                    frame: grounded(robot, frame),
                    ..k.clone()
                }
            })
            .collect();
        Ok(Self {
            name: name.to_owned(),
            description: format!("mirror image of {}: {}", self.name, self.description),
            keys,
            mirror_of: Some(self.name.clone()),
            ..self.clone()
        })
    }

    /// The behaviour as a clip at `rate_hz` (module docs), labelled like imported clips.
    #[must_use]
    pub fn to_clip(&self, robot: &Robot, rate_hz: f64) -> Clip {
        let end = self.keys.last().map_or(0.0, |k| k.time_s);
        let n = (end * rate_hz + 1e-6).floor() as usize + 1;
        let frames: Vec<Frame> = (0..n)
            .map(|i| {
                let t = i as f64 / rate_hz;
                let k = self
                    .keys
                    .partition_point(|k| k.time_s <= t)
                    .clamp(1, self.keys.len() - 1);
                let (a, b) = (&self.keys[k - 1], &self.keys[k]);
                let u = ((t - a.time_s) / (b.time_s - a.time_s)).clamp(0.0, 1.0);
                let s = u * u * (3.0 - 2.0 * u);
                grounded(robot, a.frame.lerp(&b.frame, s))
            })
            .collect();
        let params = SegmentParams::default();
        let behaviour = if self.posture.is_lying() {
            label(robot, &frames, rate_hz, &params).1
        } else {
            label_from_start(robot, &frames, rate_hz, &params)
        };
        Clip {
            name: self.name.clone(),
            source: format!("vigor:configs/demos/{}.toml", self.name),
            posture: self.posture,
            behaviour,
            robot: self.robot.clone(),
            rate_hz,
            frames,
        }
    }
}

impl DemoFile {
    /// Checks the file against `robot`.
    ///
    /// # Errors
    /// See [`AuthoredDemo::parse`].
    pub fn validate(&self, file: &str, robot: &Robot) -> Result<AuthoredDemo, ConfigError> {
        if self.robot != robot.name {
            return Err(inconsistent(
                file,
                "robot",
                format!("written for `{}`, used with `{}`", self.robot, robot.name),
            ));
        }
        let posture = Posture::from_name(&self.posture)
            .ok()
            .filter(|p| p.is_lying() || *p == Posture::Standing)
            .ok_or_else(|| ConfigError::OutOfRange {
                file: file.to_owned(),
                key: "posture".into(),
                value: self.posture.clone(),
                allowed: "one of supine, prone, side, standing".into(),
            })?;
        let least = if self.then.is_some() { 1 } else { 2 };
        if self.keyframes.len() < least {
            return Err(inconsistent(
                file,
                "keyframes",
                if least == 1 {
                    "needs at least one keyframe"
                } else {
                    "needs at least two keyframes (or one and a `[then]`)"
                },
            ));
        }
        let mut q = robot.default_pose();
        let mut keys: Vec<AuthoredKey> = Vec::with_capacity(self.keyframes.len());
        for (i, spec) in self.keyframes.iter().enumerate() {
            let at = |k: &str| format!("keyframes[{i}].{k}");
            check_range(file, &at("time_s"), spec.time_s, 0.0, 60.0)?;
            match keys.last() {
                None if spec.time_s != 0.0 => {
                    return Err(inconsistent(
                        file,
                        &at("time_s"),
                        "the first keyframe is at 0 s",
                    ));
                }
                Some(prev) if spec.time_s <= prev.time_s => {
                    return Err(inconsistent(
                        file,
                        &at("time_s"),
                        format!(
                            "{} s must be after the previous keyframe's {} s",
                            spec.time_s, prev.time_s
                        ),
                    ));
                }
                _ => {}
            }
            for (c, v) in spec.orientation_deg.iter().enumerate() {
                check_range(
                    file,
                    &format!("{}[{c}]", at("orientation_deg")),
                    *v,
                    -180.0,
                    180.0,
                )?;
            }
            for (c, v) in spec.xy_m.iter().enumerate() {
                check_range(file, &format!("{}[{c}]", at("xy_m")), *v, -2.0, 2.0)?;
            }
            let mut set =
                |key: String, joint: Option<usize>, value: f64| -> Result<(), ConfigError> {
                    let j = joint.ok_or_else(|| {
                        inconsistent(
                            file,
                            &key,
                            format!("robot {} has no such joint", robot.name),
                        )
                    })?;
                    let jj = &robot.joints[j];
                    check_range(file, &key, value, jj.lower, jj.upper)?;
                    q[j] = value;
                    Ok(())
                };
            for (k, &v) in &spec.both {
                set(at(&format!("both.{k}")), side_joint(robot, "left", k), v)?;
                let mirror = if k.ends_with("roll") || k.ends_with("yaw") {
                    -v
                } else {
                    v
                };
                set(
                    at(&format!("both.{k}")),
                    side_joint(robot, "right", k),
                    mirror,
                )?;
            }
            for (side, map) in [
                ("left", &spec.left),
                ("right", &spec.right),
                ("waist", &spec.waist),
            ] {
                for (k, &v) in map {
                    set(at(&format!("{side}.{k}")), side_joint(robot, side, k), v)?;
                }
            }
            let [yaw, tilt, twist] = spec.orientation_deg.map(f64::to_radians);
            let z = Vector3::z_axis();
            let mut frame = Frame {
                root_pos_m: [spec.xy_m[0], spec.xy_m[1], 0.0],
                root_quat_wxyz: [1.0, 0.0, 0.0, 0.0],
                joint_pos_rad: q.clone(),
            };
            frame.set_root(&Isometry3::from_parts(
                Translation3::from(Vector3::new(spec.xy_m[0], spec.xy_m[1], 0.0)),
                UnitQuaternion::from_axis_angle(&z, yaw)
                    * UnitQuaternion::from_axis_angle(&Vector3::y_axis(), tilt)
                    * UnitQuaternion::from_axis_angle(&z, twist),
            ));
            keys.push(AuthoredKey {
                name: spec.name.clone(),
                time_s: spec.time_s,
                frame: grounded(robot, frame),
                is_static: spec.is_static,
            });
        }
        Ok(AuthoredDemo {
            name: self.name.clone(),
            description: self.description.clone(),
            posture,
            robot: self.robot.clone(),
            keys,
            mirror_of: None,
        })
    }
}

/// The names of the shipped demos, mirror images included, in set order (read without a robot).
#[must_use]
pub fn shipped_names() -> Vec<String> {
    SHIPPED
        .iter()
        .filter_map(|(name, text)| {
            config::parse::<DemoFile>(text, &format!("<embedded configs/{name}>")).ok()
        })
        .flat_map(|f| std::iter::once(f.name).chain(f.mirror))
        .collect()
}

/// Every shipped demo, parsed for `robot`.
///
/// # Errors
/// A broken shipped file.
pub fn shipped_demos(robot: &Robot) -> Result<Vec<AuthoredDemo>, DemoError> {
    AuthoredDemo::shipped(robot)
}

/// Every shipped demo as a clip at `rate_hz`.
///
/// # Errors
/// A broken shipped file.
pub fn shipped_clips(robot: &Robot, rate_hz: f64) -> Result<Vec<Clip>, DemoError> {
    Ok(shipped_demos(robot)?
        .iter()
        .map(|d| d.to_clip(robot, rate_hz))
        .collect())
}
