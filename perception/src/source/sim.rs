//! [`SimDepthSource`]: the head depth camera of a simulated episode, frame by frame.
//!
//! Each [`DepthSource::next_frame`] advances the episode to the next frame time (frame `n`, from
//! 0, at `(n + 1) / rate_hz` seconds after the episode start, rounded to whole physics steps so
//! any camera rate works at any physics rate), renders the camera on the robot's camera link
//! against the terrain and the robot's own colliders, and returns the z-depth image in metres
//! (0 = no return).
//!
//! The robot holds its default joint pose with the description's PD gains until the caller sets
//! other commands ([`SimDepthSource::set_commands`]). The source steps physics one step at a
//! time: the environment is built with `decimation = 1`, which changes nothing else (command and
//! sensor latencies count physics steps).
//!
//! Invariants: time is simulated, never the wall clock (`stamp_ns` = physics steps × the physics
//! step rounded to whole ns); the same robot, configs, spec and commands give bit-identical
//! frames.

use std::ops::RangeInclusive;

use vigor_msgs::project::{DepthData, DepthFrame, Intrinsics};
use vigor_sim::env::{Env, EnvConfig, EpisodeSpec};
use vigor_sim::rapier::JointCommand;
use vigor_sim::robot::Robot;
use vigor_sim::sensors::{
    DepthCamera, DepthCameraConfig, LinkPose, RobotGeometry, camera_pose, link_pose_from_rapier,
};

use super::DepthSource;
use crate::camera::pinhole_from_fov;
use crate::error::{PerceptionError, check_range};

/// Allowed camera rate, Hz (at most the physics rate as well).
pub const RATE_HZ: RangeInclusive<f64> = 1.0..=1000.0;

/// Depth frames rendered from a simulated episode.
pub struct SimDepthSource {
    env: Env,
    camera: DepthCamera,
    geometry: RobotGeometry,
    intrinsics: Intrinsics,
    commands: Vec<JointCommand>,
    rate_hz: f64,
    /// Physics steps per frame, `1 / (rate_hz dt)`, possibly fractional.
    steps_per_frame: f64,
    /// Physics step rounded to whole ns.
    dt_ns: u64,
    /// Physics steps taken since the episode start.
    steps: u64,
    /// Sequence number of the next frame.
    seq: u64,
    /// Link poses of the current step (reused buffer).
    poses: Vec<LinkPose>,
}

impl SimDepthSource {
    /// Builds the episode `spec` for `robot` under `env_config` (its `decimation` is replaced by
    /// 1, see the module docs) and a camera `camera` delivering `rate_hz` frames per simulated
    /// second.
    ///
    /// # Errors
    /// [`PerceptionError::OutOfRange`] for `rate_hz` outside [`RATE_HZ`] or above the physics
    /// rate; [`PerceptionError::Sensor`] for an invalid camera; [`PerceptionError::Env`] when the
    /// episode cannot be built.
    pub fn new(
        robot: &Robot,
        env_config: &EnvConfig,
        spec: EpisodeSpec,
        camera: DepthCameraConfig,
        rate_hz: f64,
    ) -> Result<Self, PerceptionError> {
        check_range("rate_hz", rate_hz, *RATE_HZ.start(), *RATE_HZ.end())?;
        let camera = DepthCamera::new(camera)?;
        let config = EnvConfig {
            decimation: 1,
            ..env_config.clone()
        };
        let env = Env::new(robot, &config, spec)?;
        let dt_s = f64::from(env.sim().dt_s());
        // A tolerance for the f32 physics step (0.002 is 2.000 000 09e-3 in f32).
        if rate_hz * dt_s > 1.0 + 1e-6 {
            return Err(PerceptionError::OutOfRange {
                key: "rate_hz",
                value: rate_hz.to_string(),
                allowed: format!("at most the physics rate, {:.0} Hz", 1.0 / dt_s),
            });
        }
        let c = camera.config();
        Ok(Self {
            intrinsics: pinhole_from_fov(c.width_px, c.height_px, c.hfov_deg, c.vfov_deg),
            geometry: RobotGeometry::new(robot),
            commands: Self::hold_commands(robot),
            steps_per_frame: 1.0 / (rate_hz * dt_s),
            dt_ns: (dt_s * 1e9).round() as u64,
            rate_hz,
            steps: 0,
            seq: 0,
            poses: Vec::with_capacity(robot.links.len()),
            camera,
            env,
        })
    }

    /// Commands holding `robot`'s default joint pose with its description's PD gains.
    #[must_use]
    pub fn hold_commands(robot: &Robot) -> Vec<JointCommand> {
        vigor_sim::bench::own_gain_commands(robot)
    }

    /// Sets the joint commands (one per joint, in joint order) held from the next frame on.
    ///
    /// # Errors
    /// [`PerceptionError::CommandCount`] when `commands` does not have one entry per joint; the
    /// previous commands stay.
    pub fn set_commands(&mut self, commands: &[JointCommand]) -> Result<(), PerceptionError> {
        if commands.len() != self.commands.len() {
            return Err(PerceptionError::CommandCount {
                expected: self.commands.len(),
                got: commands.len(),
            });
        }
        self.commands.copy_from_slice(commands);
        Ok(())
    }

    /// The simulated episode (robot state, terrain, time).
    #[must_use]
    pub fn env(&self) -> &Env {
        &self.env
    }

    /// Frames per simulated second, Hz.
    #[must_use]
    pub fn rate_hz(&self) -> f64 {
        self.rate_hz
    }

    /// The camera's pinhole intrinsics (those of every frame).
    #[must_use]
    pub fn intrinsics(&self) -> Intrinsics {
        self.intrinsics
    }
}

impl DepthSource for SimDepthSource {
    fn next_frame(&mut self) -> Result<Option<DepthFrame>, PerceptionError> {
        let target = ((self.seq + 1) as f64 * self.steps_per_frame).round() as u64;
        while self.steps < target {
            self.env.step(&self.commands);
            self.steps += 1;
        }
        self.poses.clear();
        self.poses.extend(
            self.env
                .sim()
                .link_poses()
                .iter()
                .map(link_pose_from_rapier),
        );
        let robot = self.env.robot();
        let eye = camera_pose(robot, &self.poses).ok_or(PerceptionError::CameraLink {
            link: robot.camera.link,
            links: self.poses.len(),
        })?;
        let mut depth = vec![0.0; self.camera.len()];
        self.camera.render(
            eye,
            Some(self.env.terrain()),
            Some((&self.geometry, &self.poses)),
            &mut depth,
        );
        let c = self.camera.config();
        let frame = DepthFrame {
            seq: self.seq,
            stamp_ns: self.steps * self.dt_ns,
            width: c.width_px,
            height: c.height_px,
            intrinsics: self.intrinsics,
            depth: DepthData::Metres(depth),
        };
        self.seq += 1;
        Ok(Some(frame))
    }

    fn describe(&self) -> String {
        let spec = self.env.spec();
        let c = self.camera.config();
        format!(
            "sim: {} {} on {} (difficulty {}), seed {}, {}x{} px at {} Hz",
            self.env.robot().name,
            spec.scenario,
            spec.terrain.0,
            spec.terrain.1,
            spec.seed,
            c.width_px,
            c.height_px,
            self.rate_hz
        )
    }
}

#[cfg(test)]
mod tests {
    use vigor_sim::SimConfig;
    use vigor_sim::scenario::Scenario;
    use vigor_sim::terrain::TerrainKind;

    use super::*;

    fn source(seed: u64) -> SimDepthSource {
        let params = SimConfig::embedded().unwrap();
        let robot = Robot::embedded("g1_29dof").unwrap();
        let spec = EpisodeSpec {
            scenario: Scenario::Push,
            terrain: (TerrainKind::Rough, 0.5),
            seed,
        };
        SimDepthSource::new(&robot, &params.env, spec, params.depth, 30.0).unwrap()
    }

    #[test]
    fn frames_are_deterministic_numbered_and_stamped_in_sim_time() {
        let (mut a, mut b) = (source(3), source(3));
        // 30 Hz at 500 Hz physics: frame n ends at round((n + 1) * 50 / 3) steps of 2 ms.
        for (n, steps) in [17_u64, 33, 50].into_iter().enumerate() {
            let fa = a.next_frame().unwrap().unwrap();
            let fb = b.next_frame().unwrap().unwrap();
            assert!(
                fa == fb,
                "frame {n} differs between two sources with the same spec"
            );
            assert_eq!(fa.seq, n as u64);
            assert_eq!(fa.stamp_ns, steps * 2_000_000, "frame {n}");
            assert_eq!((fa.width, fa.height), (64, 36));
            let DepthData::Metres(d) = &fa.depth else {
                panic!("frame {n} is not in metres")
            };
            // The camera looks 47.6° down at the ground from about 1.2 m: most pixels see it.
            let valid = d.iter().filter(|&&v| (0.1..=3.0).contains(&v)).count();
            assert!(
                d.iter().all(|&v| v == 0.0 || (0.1..=3.0).contains(&v)),
                "{d:?}"
            );
            assert!(
                valid > d.len() / 2,
                "frame {n}: only {valid} of {} pixels valid",
                d.len()
            );
        }
        assert!(a.describe().contains("seed 3"), "{}", a.describe());
    }

    #[test]
    fn commands_must_match_the_joints_and_rate_the_physics() {
        let mut s = source(1);
        let n = s.env().robot().joints.len();
        let err = s.set_commands(&[JointCommand::default(); 3]).unwrap_err();
        assert!(matches!(err, PerceptionError::CommandCount { got: 3, expected } if expected == n));
        s.set_commands(&vec![JointCommand::default(); n]).unwrap();

        let params = SimConfig::embedded().unwrap();
        let robot = Robot::embedded("g1_29dof").unwrap();
        let spec = s.env().spec();
        let err = SimDepthSource::new(&robot, &params.env, spec, params.depth, 501.0)
            .err()
            .map(|e| e.to_string());
        assert!(
            err.as_deref()
                .is_some_and(|e| e.contains("`rate_hz`") && e.contains("500 Hz")),
            "{err:?}"
        );
    }
}
