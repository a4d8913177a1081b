//! Settled lying starts, computed once and reused: the 2 s settle under damping that every lying
//! start needs (1 000 physics steps at 500 Hz, a fifth of a 7.5 s episode's physics) is paid once
//! per pool entry instead of at every reset.
//!
//! An entry is a function of the robot, the engine, the physics step, the scenario and the entry's
//! index only, settled on flat ground with nominal physics. An episode that draws it puts the
//! settled pose at its own start position, turned about the vertical by its own random yaw:
//! exact on flat ground, where neither a shift nor a turn changes the physics. Randomised masses
//! or friction then act from the first step of the episode, not during the settle. Entries are
//! computed by whichever worker needs one first, outside the lock; two computing the same entry
//! get the same result, so runs stay deterministic on any thread count.

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

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    robot: String,
    engine: EngineKind,
    dt_bits: u32,
    friction_bits: u32,
    scenario: Scenario,
    index: u64,
}

type Pool = Mutex<HashMap<Key, Arc<Settled>>>;

/// Entry `index` of `scenario`'s pool for `robot` under `config`'s engine and physics.
///
/// # Errors
/// The engine could not be built.
pub fn settled(
    robot: &Robot,
    config: &EnvConfig,
    scenario: Scenario,
    index: u64,
) -> Result<Arc<Settled>, EnvError> {
    static POOL: OnceLock<Pool> = OnceLock::new();
    let key = Key {
        robot: robot.name.clone(),
        engine: config.engine,
        dt_bits: config.physics.dt_s.to_bits(),
        friction_bits: config.physics.friction.to_bits(),
        scenario,
        index,
    };
    let pool = POOL.get_or_init(|| Mutex::new(HashMap::new()));
    let lock = || {
        pool.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    };
    if let Some(s) = lock().get(&key) {
        return Ok(Arc::clone(s));
    }
    let fresh = Arc::new(settle(robot, config, scenario, index)?);
    Ok(Arc::clone(lock().entry(key).or_insert(fresh)))
}

/// Settles entry `index` in an environment of its own: flat ground, nominal physics.
fn settle(
    robot: &Robot,
    config: &EnvConfig,
    scenario: Scenario,
    index: u64,
) -> Result<Settled, EnvError> {
    let own = EnvConfig {
        randomisation: Randomisation::none(),
        noise: SensorNoise::none(),
        start_pool: 0,
        // Entries are settled at the centre, keyed without the placement, and moved by the
        // episode that draws one.
        lying_offset_m: [0.0, 0.0],
        ..config.clone()
    };
    let spec = EpisodeSpec {
        scenario,
        terrain: (TerrainKind::Flat, 0.0),
        seed: derive(index, "start-pool", 0),
    };
    let env = Env::new(robot, &own, spec)?;
    let s = env.state();
    let [w, x, y, z] = s.base_quat.map(f64::from);
    let rotation = UnitQuaternion::from_quaternion(rapier3d::na::Quaternion::new(w, x, y, z));
    let root = Isometry3::from_parts(
        Translation3::new(0.0, 0.0, f64::from(s.base_pos[2])),
        rotation,
    );
    Ok(Settled {
        root,
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
