//! The simulated Unitree G1 on which vigor trains, evaluates and tests its controller.
//!
//! The robot in rapier3d or MuJoCo behind one interface, procedural terrain, the head depth camera
//! and privileged sensors, fall and lying-down scenarios, and the vectorised environment, all
//! configured from `configs/sim.toml` ([`config`]).
//!
//! - [`bench`](mod@bench): the simulator benchmark behind `vigor bench sim`.
//! - [`env`](mod@env): one episode: terrain tile, scenario start, randomisation, noisy sensors, tilt trigger.
//! - [`engine`]: either physics engine behind one interface ([`engine::Engine`]).
//! - [`mujoco`](mod@mujoco): the G1 in MuJoCo, same motor law, state and contacts as rapier.
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
pub mod engine;
pub mod env;
pub mod mujoco;
pub mod par;
pub mod rapier;
pub mod robot;
pub mod scenario;
pub mod sensors;
pub mod start_pool;
pub mod terrain;
pub mod vec_env;

pub use config::{SimConfig, SimParams};
