//! Settled lying starts, computed once and reused: the 2 s settle under damping that every lying
//! start needs (1 000 physics steps at 500 Hz, a fifth of a 7.5 s episode's physics) is paid once
//! per pool entry instead of at every reset.
//!
//! On flat ground an entry is a function of the robot, the engine, the physics step, the scenario
//! and the entry's index only, settled with nominal physics. An episode that draws it puts the
//! settled pose at its own start position, turned about the vertical by its own random yaw:
//! exact on flat ground, where neither a shift nor a turn changes the physics.
//!
//! On any other terrain a shift or a turn would change what the body lies on, so the pool keeps
//! tiles instead: entry `index` of a terrain kind at a difficulty is one tile of that kind, with
//! the start at one place on it ([`tile_seed`] stands for the episode's seed in choosing both),
//! settled there once. An episode that draws it plays on that tile, from that pose. A pool of `n`
//! therefore trains the settled starts on `n` tiles per kind and difficulty rather than on a fresh
//! tile each time; the starts that do not settle (pushes, starts part-way along a demonstration)
//! keep tiles of their own.
//!
//! Either way randomised masses or friction act from the first step of the episode, not during
//! the settle. Entries are computed by whichever worker needs one first, outside the lock; two
//! computing the same entry get the same result, so runs stay deterministic on any thread count.
//! The pool is emptied when it reaches [`MAX_ENTRIES`] and fills again: the same results, only
//! slower for a while. Difficulties drawn over a continuous range (the curriculum's full-range
//! draws) never repeat, so their lying starts gain nothing from the pool and only fill it. The
//! tiles do not depend on the run's seed: runs with the same pool size share them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use rapier3d::na::{Isometry3, Translation3, UnitQuaternion, Vector3};
use vigor_common::seed::derive;

use crate::engine::EngineKind;
use crate::env::{Env, EnvConfig, EnvError, EpisodeSpec, Randomisation, SensorNoise};
use crate::robot::Robot;
use crate::scenario::Scenario;
use crate::terrain::TerrainKind;

/// A lying start after its settle: root pose and joint positions (by joint index).
#[derive(Debug, Clone, PartialEq)]
pub struct Settled {
    /// The root's pose, its xy at the origin.
    pub root: Isometry3<f64>,
    /// Joint positions, rad.
    pub q: Vec<f64>,
}

impl Settled {
    /// The pose moved to `xy` and turned by `yaw` about the vertical through the root.
    #[must_use]
    pub fn placed(&self, xy: [f64; 2], yaw: f64) -> Isometry3<f64> {
        let turn = UnitQuaternion::from_axis_angle(&Vector3::z_axis(), yaw);
        Isometry3::from_parts(
            Translation3::new(xy[0], xy[1], self.root.translation.z),
            turn * self.root.rotation,
        )
    }
}

/// Entries kept at most, over every pool of the process (an entry is a few hundred bytes); the
/// pool starts afresh when it is full.
pub const MAX_ENTRIES: usize = 1 << 16;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    robot: String,
    engine: EngineKind,
    dt_bits: u32,
    friction_bits: u32,
    scenario: Scenario,
    index: u64,
    /// `None` on flat ground; else what makes the tile and the place on it.
    tile: Option<TileKey>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct TileKey {
    kind: TerrainKind,
    difficulty_bits: u32,
    tile_size_bits: u32,
    cell_bits: u32,
    lying_offset_bits: [u32; 2],
}

type Pool = Mutex<HashMap<Key, Arc<Settled>>>;

/// The pool entry an episode of seed `episode_seed` draws from a pool of `pool` (> 0) entries.
#[must_use]
pub fn index(episode_seed: u64, pool: usize) -> u64 {
    derive(episode_seed, "start-pool-index", 0) % pool.max(1) as u64
}

/// The seed that chooses entry `index`'s tile of `terrain` (kind and difficulty, after
/// [`Scenario::terrain_for`]) and the place on it, in place of the episode's own seed.
#[must_use]
pub fn tile_seed(terrain: (TerrainKind, f32), index: u64) -> u64 {
    let kind = derive(index, "start-pool-tile", terrain.0 as u64);
    derive(
        kind,
        "start-pool-difficulty",
        u64::from(terrain.1.to_bits()),
    )
}

/// Entry `index` of `scenario`'s pool on flat ground for `robot` under `config`'s engine and
/// physics, its root over the origin.
///
/// # Errors
/// The engine could not be built.
pub fn settled(
    robot: &Robot,
    config: &EnvConfig,
    scenario: Scenario,
    index: u64,
) -> Result<Arc<Settled>, EnvError> {
    entry(key(robot, config, scenario, index, None), || {
        settle(robot, config, scenario, index)
    })
}

/// Entry `index` of `scenario`'s pool on `terrain` (kind and difficulty, after
/// [`Scenario::terrain_for`]; not flat) for `robot` under `config`: the start settled on the tile
/// of [`tile_seed`], its root where it came to rest on that tile.
///
/// # Errors
/// The engine could not be built, or the terrain parameters are invalid.
pub fn settled_on_tile(
    robot: &Robot,
    config: &EnvConfig,
    scenario: Scenario,
    terrain: (TerrainKind, f32),
    index: u64,
) -> Result<Arc<Settled>, EnvError> {
    let tile = TileKey {
        kind: terrain.0,
        difficulty_bits: terrain.1.to_bits(),
        tile_size_bits: config.tile_size_m.to_bits(),
        cell_bits: config.cell_m.to_bits(),
        lying_offset_bits: config.lying_offset_m.map(f32::to_bits),
    };
    entry(key(robot, config, scenario, index, Some(tile)), || {
        settle_on_tile(robot, config, scenario, terrain, index)
    })
}

fn key(
    robot: &Robot,
    config: &EnvConfig,
    scenario: Scenario,
    index: u64,
    tile: Option<TileKey>,
) -> Key {
    Key {
        robot: robot.name.clone(),
        engine: config.engine,
        dt_bits: config.physics.dt_s.to_bits(),
        friction_bits: config.physics.friction.to_bits(),
        scenario,
        index,
        tile,
    }
}

fn entry(
    key: Key,
    make: impl FnOnce() -> Result<Settled, EnvError>,
) -> Result<Arc<Settled>, EnvError> {
    static POOL: OnceLock<Pool> = OnceLock::new();
    let pool = POOL.get_or_init(|| Mutex::new(HashMap::new()));
    let lock = || {
        pool.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    };
    if let Some(s) = lock().get(&key) {
        return Ok(Arc::clone(s));
    }
    let fresh = Arc::new(make()?);
    let mut map = lock();
    if map.len() >= MAX_ENTRIES && !map.contains_key(&key) {
        map.clear();
    }
    Ok(Arc::clone(map.entry(key).or_insert(fresh)))
}

/// Settles entry `index` in an environment of its own: flat ground, nominal physics.
fn settle(
    robot: &Robot,
    config: &EnvConfig,
    scenario: Scenario,
    index: u64,
) -> Result<Settled, EnvError> {
    let spec = EpisodeSpec {
        scenario,
        terrain: (TerrainKind::Flat, 0.0),
        seed: derive(index, "start-pool", 0),
    };
    // Entries are settled at the centre, keyed without the placement, and moved by the episode
    // that draws one.
    settle_in(robot, config, spec, [0.0, 0.0], true)
}

/// Settles entry `index` on its tile of `terrain` in an environment of its own: nominal physics,
/// the episode seed [`tile_seed`], so the tile and the place on it are the ones an episode that
/// draws the entry plays on.
fn settle_on_tile(
    robot: &Robot,
    config: &EnvConfig,
    scenario: Scenario,
    terrain: (TerrainKind, f32),
    index: u64,
) -> Result<Settled, EnvError> {
    let spec = EpisodeSpec {
        scenario,
        terrain,
        seed: tile_seed(terrain, index),
    };
    settle_in(robot, config, spec, config.lying_offset_m, false)
}

/// The start of `spec` after its settle, with nominal physics and no pool, lying
/// `lying_offset_m` out; `over_origin` moves the root's xy to the origin.
fn settle_in(
    robot: &Robot,
    config: &EnvConfig,
    spec: EpisodeSpec,
    lying_offset_m: [f32; 2],
    over_origin: bool,
) -> Result<Settled, EnvError> {
    let own = EnvConfig {
        randomisation: Randomisation::none(),
        noise: SensorNoise::none(),
        start_pool: 0,
        lying_offset_m,
        ..config.clone()
    };
    let s = Env::new(robot, &own, spec)?.state();
    let [w, x, y, z] = s.base_quat.map(f64::from);
    let rotation = UnitQuaternion::from_quaternion(rapier3d::na::Quaternion::new(w, x, y, z));
    let [px, py, pz] = s.base_pos.map(f64::from);
    let (px, py) = if over_origin { (0.0, 0.0) } else { (px, py) };
    Ok(Settled {
        root: Isometry3::from_parts(Translation3::new(px, py, pz), rotation),
        q: s.q.iter().map(|&v| f64::from(v)).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_settles_at_the_centre_whatever_placement_its_first_caller_trains_with() {
        let robot = Robot::embedded("g1_29dof").unwrap();
        let at = |range: [f32; 2]| EnvConfig {
            engine: EngineKind::Mujoco,
            lying_offset_m: range,
            ..EnvConfig::default()
        };
        let centre = settle(&robot, &at([0.0, 0.0]), Scenario::Prone, 3).unwrap();
        let moved = settle(&robot, &at([1.0, 1.6]), Scenario::Prone, 3).unwrap();
        assert_eq!(centre.root, moved.root);
        assert_eq!(centre.q, moved.q);
    }
}
