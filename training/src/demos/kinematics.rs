//! Forward kinematics of a clip: every link's world pose per frame, and keypoints (hands, feet,
//! knees, elbows, shoulders, hips, torso, head camera) in the world and relative to the pelvis, for
//! tracking rewards and for display.

use rapier3d::na::{Isometry3, Point3};
use vigor_sim::robot::Robot;

use super::DemoError;
use super::clip::Clip;

/// Where a keypoint sits on the robot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeypointAt {
    /// A link frame's origin (the joint that moves it).
    Link(&'static str),
    /// A named site of the description.
    Site(&'static str),
    /// The head camera's optical centre.
    Camera,
}

/// A named point tracked along clips.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keypoint {
    /// Name, e.g. `left_hand`.
    pub name: &'static str,
    /// Where it is.
    pub at: KeypointAt,
}

const fn kp(name: &'static str, at: KeypointAt) -> Keypoint {
    Keypoint { name, at }
}

/// The keypoints, in a fixed order (observation and reward layouts index them).
pub const KEYPOINTS: [Keypoint; 15] = [
    kp("torso", KeypointAt::Link("torso_link")),
    kp("head", KeypointAt::Camera),
    kp("left_shoulder", KeypointAt::Link("left_shoulder_roll_link")),
    kp(
        "right_shoulder",
        KeypointAt::Link("right_shoulder_roll_link"),
    ),
    kp("left_elbow", KeypointAt::Link("left_elbow_link")),
    kp("right_elbow", KeypointAt::Link("right_elbow_link")),
    kp("left_hand", KeypointAt::Site("left_palm")),
    kp("right_hand", KeypointAt::Site("right_palm")),
    kp("left_hip", KeypointAt::Link("left_hip_roll_link")),
    kp("right_hip", KeypointAt::Link("right_hip_roll_link")),
    kp("left_knee", KeypointAt::Link("left_knee_link")),
    kp("right_knee", KeypointAt::Link("right_knee_link")),
    kp("left_foot", KeypointAt::Site("left_foot")),
    kp("right_foot", KeypointAt::Site("right_foot")),
    kp("pelvis", KeypointAt::Link("pelvis")),
];

/// Lines between keypoints (indices into [`KEYPOINTS`]) that draw a stick figure.
pub const SKELETON: [[usize; 2]; 14] = [
    [1, 0],
    [0, 14],
    [0, 2],
    [0, 3],
    [2, 4],
    [4, 6],
    [3, 5],
    [5, 7],
    [14, 8],
    [14, 9],
    [8, 10],
    [10, 12],
    [9, 11],
    [11, 13],
];

/// A keypoint resolved on a robot: link index and point in that link's frame.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Resolved {
    link: usize,
    local: Point3<f64>,
}

fn resolve(robot: &Robot) -> Result<Vec<Resolved>, DemoError> {
    KEYPOINTS
        .iter()
        .map(|k| {
            let found = match k.at {
                KeypointAt::Link(name) => robot.link_index(name).map(|link| Resolved {
                    link,
                    local: Point3::origin(),
                }),
                KeypointAt::Site(name) => robot
                    .site(name)
                    .map(|(link, local)| Resolved { link, local }),
                KeypointAt::Camera => Some(Resolved {
                    link: robot.camera.link,
                    local: Point3::from(robot.camera.offset.translation.vector),
                }),
            };
            found.ok_or_else(|| DemoError::Clip {
                clip: robot.name.clone(),
                message: format!("robot has no link or site for keypoint `{}`", k.name),
            })
        })
        .collect()
}

/// The keypoints resolved once on a robot, to place them for any link poses (the simulated
/// robot's, each step).
#[derive(Debug, Clone, PartialEq)]
pub struct KeypointSet(Vec<Resolved>);

impl KeypointSet {
    /// Resolves [`KEYPOINTS`] on `robot`.
    ///
    /// # Errors
    /// [`DemoError::Clip`] when the robot lacks a keypoint's link or site.
    pub fn new(robot: &Robot) -> Result<Self, DemoError> {
        resolve(robot).map(Self)
    }

    /// The keypoints for world link poses `poses` (indexed like the robot's links).
    #[must_use]
    pub fn place(&self, poses: &[Isometry3<f64>]) -> Vec<Point3<f64>> {
        self.0.iter().map(|r| poses[r.link] * r.local).collect()
    }
}

/// Forward kinematics of every frame of a clip.
#[derive(Debug, Clone, PartialEq)]
pub struct ClipKinematics {
    /// World pose of every link, per frame (`[frame][link]`).
    pub link_poses: Vec<Vec<Isometry3<f64>>>,
    /// Keypoints in the world, per frame (`[frame][keypoint]`, order of [`KEYPOINTS`]).
    pub keypoints_world: Vec<Vec<Point3<f64>>>,
    /// Keypoints in the pelvis frame, per frame.
    pub keypoints_root: Vec<Vec<Point3<f64>>>,
    /// Lowest collider point of each link, per frame (`None` for links without colliders).
    pub lowest_points: Vec<Vec<Option<Point3<f64>>>>,
}

impl ClipKinematics {
    /// Runs forward kinematics over `clip` for `robot`.
    ///
    /// # Errors
    /// [`DemoError::Clip`] when a frame's joint count differs from the robot's, or the robot lacks
    /// a keypoint's link or site.
    pub fn new(robot: &Robot, clip: &Clip) -> Result<Self, DemoError> {
        let resolved = resolve(robot)?;
        let mut out = Self {
            link_poses: Vec::with_capacity(clip.frames.len()),
            keypoints_world: Vec::with_capacity(clip.frames.len()),
            keypoints_root: Vec::with_capacity(clip.frames.len()),
            lowest_points: Vec::with_capacity(clip.frames.len()),
        };
        for (k, f) in clip.frames.iter().enumerate() {
            if f.joint_pos_rad.len() != robot.joints.len() {
                return Err(DemoError::Clip {
                    clip: clip.name.clone(),
                    message: format!(
                        "frame {k} has {} joints; robot {} has {}",
                        f.joint_pos_rad.len(),
                        robot.name,
                        robot.joints.len()
                    ),
                });
            }
            let root = f.root();
            let poses = robot.forward_kinematics(&root, &f.joint_pos_rad);
            let world: Vec<Point3<f64>> =
                resolved.iter().map(|r| poses[r.link] * r.local).collect();
            let inv = root.inverse();
            out.keypoints_root
                .push(world.iter().map(|p| inv * p).collect());
            out.keypoints_world.push(world);
            out.lowest_points.push(robot.link_lowest_points(&poses));
            out.link_poses.push(poses);
        }
        Ok(out)
    }

    /// Index of keypoint `name` in [`KEYPOINTS`].
    #[must_use]
    pub fn keypoint_index(name: &str) -> Option<usize> {
        KEYPOINTS.iter().position(|k| k.name == name)
    }

    /// The lowest collider point over all links at frame `k`, m.
    #[must_use]
    pub fn lowest_z(&self, k: usize) -> f64 {
        self.lowest_points[k]
            .iter()
            .filter_map(|p| p.map(|p| p.z))
            .fold(f64::INFINITY, f64::min)
    }
}
