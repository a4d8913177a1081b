//! Episode starts: lying-down (stand-up) scenarios and fall scenarios, seeded.
//!
//! A [`Scenario`] plus a seed gives a [`StartPlan`]: the terrain tile to build, where and how to
//! place the robot, how long to let it settle, and (for fall starts) the push that topples it.
//! Lying starts are produced as VIGOR and HoST do: the robot is dropped a few centimetres above
//! the ground in a randomised lying pose and left to settle under weak joint damping, so every
//! start is a physically resting state rather than a hand-placed one.

use rapier3d::na::{Isometry3, Translation3, UnitQuaternion, Vector3};
use vigor_common::seed::{SplitMix64, derive};

use crate::robot::Robot;
use crate::terrain::TerrainKind;

/// A named episode start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scenario {
    /// Lying on the back.
    Supine,
    /// Lying face down.
    Prone,
    /// Lying on the left or right side.
    Side,
    /// Sitting on the ground, legs forward.
    Sitting,
    /// On the back with the legs up on a platform.
    LegsOnBox,
    /// Face down across a stair edge, legs on the lower step.
    DrapedOverStair,
    /// Standing, then pushed over on the tile.
    Push,
    /// Standing at the top of stairs, pushed toward them.
    PushTowardStairs,
    /// Standing near a platform's edge, pushed off it.
    PushOffPlatform,
}

impl Scenario {
    /// Every scenario.
    pub const ALL: [Self; 9] = [
        Self::Supine,
        Self::Prone,
        Self::Side,
        Self::Sitting,
        Self::LegsOnBox,
        Self::DrapedOverStair,
        Self::Push,
        Self::PushTowardStairs,
        Self::PushOffPlatform,
    ];

    /// The name used in configs, logs and recordings.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Supine => "supine",
            Self::Prone => "prone",
            Self::Side => "side",
            Self::Sitting => "sitting",
            Self::LegsOnBox => "legs_on_box",
            Self::DrapedOverStair => "draped_over_stair",
            Self::Push => "push",
            Self::PushTowardStairs => "push_toward_stairs",
            Self::PushOffPlatform => "push_off_platform",
        }
    }

    /// The scenario called `name`, or the list of names.
    ///
    /// # Errors
    /// An unknown name, with the allowed ones.
    pub fn from_name(name: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|s| s.name() == name)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|s| s.name()).collect();
                format!("unknown scenario `{name}`; allowed: {}", names.join(", "))
            })
    }

    /// True for fall starts (standing robot, push), false for stand-up starts (lying robot).
    #[must_use]
    pub const fn is_fall(self) -> bool {
        matches!(
            self,
            Self::Push | Self::PushTowardStairs | Self::PushOffPlatform
        )
    }

    /// True for the lying starts that may lie anywhere on a tile (supine, prone, side, sitting);
    /// false for the falls and for the starts placed against their own terrain.
    #[must_use]
    pub const fn lies_free(self) -> bool {
        !self.is_fall() && self.required_terrain().is_none()
    }

    /// The terrain this scenario needs, if it needs a particular one (kind, difficulty).
    #[must_use]
    pub const fn required_terrain(self) -> Option<(TerrainKind, f32)> {
        match self {
            Self::LegsOnBox => Some((TerrainKind::Platform, 0.5)),
            Self::DrapedOverStair => Some((TerrainKind::StairsDown, 0.6)),
            Self::PushTowardStairs => Some((TerrainKind::StairsDown, 0.6)),
            Self::PushOffPlatform => Some((TerrainKind::Platform, 0.6)),
            _ => None,
        }
    }

    /// The terrain an episode of this scenario runs on when `asked` is requested. A scenario
    /// with its own terrain ([`Self::required_terrain`]) keeps its kind; it takes `asked`'s
    /// difficulty when `asked` is of that kind (a training curriculum easing it) and its own
    /// otherwise. Every other scenario runs on `asked`.
    #[must_use]
    pub fn terrain_for(self, asked: (TerrainKind, f32)) -> (TerrainKind, f32) {
        match self.required_terrain() {
            Some((kind, _)) if asked.0 == kind => asked,
            Some(own) => own,
            None => asked,
        }
    }
}

impl std::fmt::Display for Scenario {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Configs and reports write a scenario by its [`Scenario::name`].
impl serde::Serialize for Scenario {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// An unknown name is an error that lists the allowed ones.
impl<'de> serde::Deserialize<'de> for Scenario {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Self::from_name(&name).map_err(serde::de::Error::custom)
    }
}

/// The pushes of fall starts, N (evaluation and VIGOR's protocol): 250-450 N for 0.2 s on the
/// torso topples the G1. Training may draw from another range ([`crate::env::EnvConfig`]).
pub const PROTOCOL_PUSH_N: [f32; 2] = [250.0, 450.0];

/// Where VIGOR's protocol puts the plain lying starts (supine, prone, side, sitting): this far
/// from the tile centre along the tile's axes, m ([`lying_offset`]). Every terrain kind but
/// rough ground keeps a level 1.5 m spawn square at the centre (`terrain::tiles::SPAWN_HALF_M`),
/// so a 1.3 m robot lying there lies on level ground whatever the tile's kind. From 1 m out the
/// pelvis is on the terrain itself (the slope, the steps, the stones, across a trench or a
/// platform's edge), and at 1.6 m a body of any yaw still ends inside the 5 m tile.
pub const PROTOCOL_LYING_OFFSET_M: [f32; 2] = [1.0, 1.6];

/// The horizontal offset from the tile centre of `scenario`'s start for episode seed `seed`, m,
/// for the plain lying starts ([`Scenario::lies_free`]): a distance from the centre along the
/// axes (`max(|x|, |y|)`, the measure the terrain's pyramids, stairs and trenches are built on)
/// drawn uniformly from `range_m`, then a place drawn uniformly along that square ring, from a
/// stream of the seed of its own. `[0, 0]` for the other starts and for a range of `[0, 0]`.
/// The range is in metres and meant for the 5 m tile (`terrain.tile_size_m`): at 1.6 m a body
/// of any yaw still ends inside it.
#[must_use]
pub fn lying_offset(scenario: Scenario, seed: u64, range_m: [f32; 2]) -> [f32; 2] {
    if !scenario.lies_free() || range_m[1] <= 0.0 {
        return [0.0, 0.0];
    }
    let mut rng = SplitMix64::new(derive(seed, "lying-offset", 0));
    let ring = if range_m[1] > range_m[0] {
        rng.uniform(range_m[0], range_m[1])
    } else {
        range_m[0]
    };
    let along = rng.uniform(-1.0, 1.0) * ring;
    match rng.next_u64() % 4 {
        0 => [ring, along],
        1 => [-ring, along],
        2 => [along, ring],
        _ => [along, -ring],
    }
}

/// A push: constant world-frame force on a link.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PushPlan {
    /// When it starts, s after the episode starts.
    pub at_s: f32,
    /// Link index.
    pub link: usize,
    /// Force, world frame, N.
    pub force_n: [f32; 3],
    /// Duration, s.
    pub duration_s: f32,
}

/// How an episode starts.
#[derive(Debug, Clone, PartialEq)]
pub struct StartPlan {
    /// The scenario.
    pub scenario: Scenario,
    /// Root pose before dropping; its height is relative to the terrain under `root_xy` (the
    /// environment lifts the robot so its lowest point is `drop_m` above the ground).
    pub root: Isometry3<f64>,
    /// Joint positions by joint index, rad.
    pub q: Vec<f64>,
    /// Gap between the lowest point and the ground when dropped, m.
    pub drop_m: f64,
    /// Settling time under damping before the episode starts, s (0 for fall starts).
    pub settle_s: f32,
    /// The push of a fall start.
    pub push: Option<PushPlan>,
}

fn rot(roll: f64, pitch: f64, yaw: f64) -> UnitQuaternion<f64> {
    UnitQuaternion::from_euler_angles(roll, pitch, yaw)
}

/// Joint positions near `centre` with uniform noise of `spread` rad, inside the limits.
fn jitter(robot: &Robot, centre: &[f64], spread: f64, rng: &mut SplitMix64) -> Vec<f64> {
    robot
        .joints
        .iter()
        .zip(centre)
        .map(|(j, &c)| {
            let x = c + spread * f64::from(rng.uniform(-1.0, 1.0));
            x.clamp(j.lower + 0.02, j.upper - 0.02)
        })
        .collect()
}

/// Sets the joints whose name contains `part` to `value`.
fn set(robot: &Robot, q: &mut [f64], part: &str, value: f64) {
    for (x, j) in q.iter_mut().zip(&robot.joints) {
        if j.name.contains(part) {
            *x = value;
        }
    }
}

/// The start of `scenario` for seed stream `rng`, a fall start's push drawn uniformly from
/// `push_n` (N; [`PROTOCOL_PUSH_N`] in evaluation). The root's x, y are relative to the tile
/// centre; its z is replaced by the environment when dropping.
#[must_use]
pub fn plan(
    scenario: Scenario,
    robot: &Robot,
    rng: &mut SplitMix64,
    push_n: [f32; 2],
) -> StartPlan {
    let pi = std::f64::consts::PI;
    let yaw = f64::from(rng.uniform(-1.0, 1.0)) * pi;
    let default = robot.default_pose();
    let mut q = jitter(robot, &default, 0.3, rng);
    let (orientation, xy) = match scenario {
        // Lying on the back: forward (x) points up, head toward -x before yaw.
        Scenario::Supine => (
            rot(
                0.0,
                -pi / 2.0 + 0.15 * f64::from(rng.uniform(-1.0, 1.0)),
                yaw,
            ),
            [0.0, 0.0],
        ),
        Scenario::Prone => (
            rot(
                0.0,
                pi / 2.0 + 0.15 * f64::from(rng.uniform(-1.0, 1.0)),
                yaw,
            ),
            [0.0, 0.0],
        ),
        Scenario::Side => {
            let side = if rng.next_u64() & 1 == 0 { 1.0 } else { -1.0 };
            (rot(side * pi / 2.0, 0.0, yaw), [0.0, 0.0])
        }
        Scenario::Sitting => {
            set(robot, &mut q, "hip_pitch", -1.4);
            set(robot, &mut q, "knee", 0.2);
            (rot(0.0, -0.3, yaw), [0.0, 0.0])
        }
        Scenario::LegsOnBox => {
            // Platform (2 m square at the tile centre): pelvis 0.5 m outside its +x edge, on the
            // back with the head away from the platform, hips flexed so the legs rest on it.
            set(robot, &mut q, "hip_pitch", -1.2);
            set(robot, &mut q, "knee", 0.3);
            (rot(0.0, -pi / 2.0, pi), [1.5, 0.0])
        }
        Scenario::DrapedOverStair => {
            // Stairs down from the flat top (1.5 m square): prone, head toward the top, pelvis
            // over the first edge so the legs hang onto the lower step.
            (rot(0.0, pi / 2.0, pi), [0.8, 0.0])
        }
        Scenario::Push | Scenario::PushTowardStairs | Scenario::PushOffPlatform => {
            q = default.clone();
            let xy = match scenario {
                Scenario::PushTowardStairs => [0.45, 0.0],
                Scenario::PushOffPlatform => [0.6, 0.0],
                _ => [0.0, 0.0],
            };
            let yaw = if scenario == Scenario::Push { yaw } else { 0.0 };
            (rot(0.0, 0.0, yaw), xy)
        }
    };
    let push = scenario.is_fall().then(|| {
        // Toward +x (the stairs or the platform edge) for the terrain scenarios, any direction
        // otherwise; push_n for 0.2 s on the torso (Push: random timing).
        let dir = match scenario {
            Scenario::Push => f64::from(rng.uniform(-1.0, 1.0)) * pi,
            _ => 0.15 * f64::from(rng.uniform(-1.0, 1.0)),
        };
        let magnitude = rng.uniform(push_n[0], push_n[1]);
        PushPlan {
            at_s: rng.uniform(0.2, 0.8),
            link: robot.link_index("torso_link").unwrap_or(0),
            force_n: [
                magnitude * dir.cos() as f32,
                magnitude * dir.sin() as f32,
                0.0,
            ],
            duration_s: 0.2,
        }
    });
    StartPlan {
        scenario,
        root: Isometry3::from_parts(
            Translation3::from(Vector3::new(xy[0], xy[1], 0.0)),
            orientation,
        ),
        q,
        drop_m: if scenario.is_fall() { 0.001 } else { 0.05 },
        settle_s: if scenario.is_fall() { 0.0 } else { 2.0 },
        push,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lying_offsets_fall_on_the_square_ring_for_free_lying_starts_only() {
        let range = PROTOCOL_LYING_OFFSET_M;
        let mut sides = [0usize; 4];
        for seed in 0..400 {
            for scenario in Scenario::ALL {
                let [x, y] = lying_offset(scenario, seed, range);
                if !scenario.lies_free() {
                    assert_eq!([x, y], [0.0, 0.0], "{scenario} keeps its own place");
                    continue;
                }
                let ring = x.abs().max(y.abs());
                assert!(
                    (range[0]..=range[1]).contains(&ring),
                    "{scenario}, seed {seed}: ring {ring}"
                );
                assert_eq!([x, y], lying_offset(scenario, seed, range), "deterministic");
                if scenario == Scenario::Supine {
                    let side = if x.abs() >= y.abs() {
                        usize::from(x < 0.0)
                    } else {
                        2 + usize::from(y < 0.0)
                    };
                    sides[side] += 1;
                }
            }
            assert_eq!(
                lying_offset(Scenario::Prone, seed, [0.0, 0.0]),
                [0.0, 0.0],
                "a range of 0 is the centre"
            );
        }
        // Every side of the ring is used, none more than twice as often as another.
        let (lo, hi) = (sides.iter().min().unwrap(), sides.iter().max().unwrap());
        assert!(*lo > 60 && *hi < 2 * *lo, "{sides:?}");
        assert_eq!(
            [
                Scenario::Supine,
                Scenario::Prone,
                Scenario::Side,
                Scenario::Sitting
            ]
            .map(Scenario::lies_free),
            [true; 4]
        );
    }

    #[test]
    fn a_scenario_keeps_its_own_terrain_kind_and_takes_an_asked_difficulty_of_that_kind() {
        let draped = Scenario::DrapedOverStair;
        let own = draped.required_terrain().unwrap();
        assert_eq!(draped.terrain_for((TerrainKind::Flat, 0.0)), own);
        assert_eq!(draped.terrain_for((TerrainKind::Rough, 0.9)), own);
        assert_eq!(
            draped.terrain_for((TerrainKind::StairsDown, 0.2)),
            (TerrainKind::StairsDown, 0.2)
        );
        for s in Scenario::ALL {
            if s.required_terrain().is_none() {
                assert_eq!(
                    s.terrain_for((TerrainKind::Gaps, 0.4)),
                    (TerrainKind::Gaps, 0.4)
                );
            }
        }
    }

    #[test]
    fn names_round_trip_and_unknown_lists_choices() {
        for s in Scenario::ALL {
            assert_eq!(Scenario::from_name(s.name()), Ok(s));
        }
        let err = Scenario::from_name("upside_down").unwrap_err();
        assert!(
            err.contains("supine") && err.contains("push_off_platform"),
            "{err}"
        );
    }

    #[test]
    fn plans_are_seeded_and_within_limits() {
        let robot = Robot::embedded("g1_29dof").unwrap();
        for s in Scenario::ALL {
            let a = plan(s, &robot, &mut SplitMix64::new(7), PROTOCOL_PUSH_N);
            let b = plan(s, &robot, &mut SplitMix64::new(7), PROTOCOL_PUSH_N);
            let c = plan(s, &robot, &mut SplitMix64::new(8), PROTOCOL_PUSH_N);
            assert_eq!(a, b, "{s}");
            assert_ne!(a, c, "{s}");
            for (q, j) in a.q.iter().zip(&robot.joints) {
                assert!(*q >= j.lower && *q <= j.upper, "{s}: {} = {q}", j.name);
            }
            assert_eq!(a.push.is_some(), s.is_fall());
        }
    }

    #[test]
    fn pushes_are_drawn_from_the_given_range() {
        let robot = Robot::embedded("g1_29dof").unwrap();
        let magnitude = |range: [f32; 2], seed: u64| {
            let p = plan(Scenario::Push, &robot, &mut SplitMix64::new(seed), range)
                .push
                .unwrap();
            p.force_n[0].hypot(p.force_n[1])
        };
        for seed in 0..50 {
            let m = magnitude(PROTOCOL_PUSH_N, seed);
            assert!((249.9..=450.1).contains(&m), "{m}");
            let gentle = magnitude([60.0, 80.0], seed);
            assert!((59.9..=80.1).contains(&gentle), "{gentle}");
        }
    }
}
