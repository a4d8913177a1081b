//! The simulated Unitree G1 on which vigor trains, evaluates and tests its controller.
//!
//! Today this crate holds the simulator's typed configuration ([`config`]): physics and policy
//! rates, run seed and the size of the vectorised environment, with the decimation derived and
//! checked. The rapier3d robot, procedural terrain, depth camera, fall scenarios and the vectorised
//! environment are built on it next (see the simulator issue), then MuJoCo behind the same interface.
//!
//! - [`bench`](mod@bench): the simulator benchmark behind `vigor bench sim`.
//! - [`env`](mod@env): one episode: terrain tile, scenario start, randomisation, noisy sensors, tilt trigger.
//! - [`rapier`]: the G1 as a rapier3d multibody with the robot's motor law, contacts and sensors.
//! - [`scenario`]: seeded episode starts: lying-down (stand-up) scenarios and pushes that topple.
//! - [`robot`]: the project's own G1 description (`configs/robots/`), validated, with forward
//!   kinematics and MJCF export.
//! - [`vec_env`]: N environments on worker threads, bit-identical for any thread count.
//! - [`sensors`]: depth camera, height scan and privileged observations from link poses.
//! - [`terrain`]: procedural terrain tiles (legged_gym-style curriculum) as one height field.
//!
//! Invariants: every random stream derives from the configured seed
//! ([`vigor_common::seed::derive`]); time advances only through `step`.

pub mod bench;
pub mod config;
pub mod env;
pub mod rapier;
pub mod robot;
pub mod scenario;
pub mod sensors;
pub mod terrain;
pub mod vec_env;

pub use config::{SimConfig, SimParams};
