//! What one simulated robot shows its student: the head camera rendered at the camera's rate
//! (terrain and self-occlusion), depth domain randomisation, and the proprioceptive frame the
//! teacher's environment already builds, all fed into [`StudentInputs`], the robot's own code.

use std::sync::Arc;

use vigor_perception::{DepthAugmentConfig, DepthAugmenter, PoseJitter};
use vigor_policy::{Manifest, StudentInputs, StudentNetwork};
use vigor_sim::sensors::{
    DepthCamera, DepthCameraConfig, LinkPose, RobotGeometry, camera_pose, link_pose_from_rapier,
};

use crate::teacher::TaskEnv;

/// One environment's student-side sensors and inputs.
#[derive(Debug)]
pub struct StudentSensor {
    /// The inputs the student networks read.
    pub inputs: StudentInputs,
    camera: Option<DepthCamera>,
    geometry: Arc<RobotGeometry>,
    augment: Option<(DepthAugmentConfig, DepthAugmenter)>,
    raw: Vec<f32>,
    last_tick: Option<u64>,
    jitter: Option<PoseJitter>,
    rate_hz: f32,
    /// The last depth image pushed (metres, after randomisation), when it was pushed this tick.
    pub pushed: Option<Vec<f32>>,
    keep_pushed: bool,
    /// The proprioceptive frame the student saw at the newest tick.
    frame: Vec<f32>,
    /// Where the frame's `last_action` block starts.
    last_action_at: Option<usize>,
    /// The student's own last action: what the robot's runtime feeds back (see
    /// [`StudentSensor::set_last_action`]).
    last_action: Vec<f32>,
}

impl StudentSensor {
    /// Sensors for a student with `manifest`, rendering with `camera` at `rate_hz`; `augment`
    /// randomises depth (training only). `keep_pushed` keeps each pushed image for probes.
    ///
    /// # Errors
    /// A camera or preprocessing configuration that does not validate.
    pub fn new(
        manifest: &Manifest,
        camera: DepthCameraConfig,
        geometry: Arc<RobotGeometry>,
        rate_hz: f32,
        augment: Option<DepthAugmentConfig>,
        keep_pushed: bool,
    ) -> Result<Self, String> {
        let network = manifest
            .student()
            .ok_or_else(|| format!("`{}` is a {}, not a student", manifest.name, manifest.kind))?;
        let inputs =
            StudentInputs::new(network, &manifest.normaliser).map_err(|e| e.to_string())?;
        let camera = if network.depth.is_some() {
            Some(DepthCamera::new(camera).map_err(|e| e.to_string())?)
        } else {
            None
        };
        let raw = vec![0.0; camera.as_ref().map_or(0, DepthCamera::len)];
        let last_action_at = network.observation.offset("last_action");
        Ok(Self {
            frame: vec![0.0; network.spec.frame],
            last_action_at,
            last_action: vec![0.0; network.spec.actions],
            inputs,
            camera,
            geometry,
            augment: match augment.filter(|a| a.enabled) {
                Some(a) => Some((
                    a.clone(),
                    DepthAugmenter::new(a, 0).map_err(|e| e.to_string())?,
                )),
                None => None,
            },
            raw,
            last_tick: None,
            jitter: None,
            rate_hz,
            pushed: None,
            keep_pushed,
        })
    }

    /// A new episode; randomisation reseeded from `seed` (the camera mount jitter is drawn here).
    pub fn reset(&mut self, seed: u64) {
        self.inputs.reset();
        self.last_action.iter_mut().for_each(|a| *a = 0.0);
        self.last_tick = None;
        self.jitter = None;
        if let Some((cfg, aug)) = self.augment.as_mut()
            && let Ok(fresh) = DepthAugmenter::new(cfg.clone(), seed)
        {
            *aug = fresh;
            self.jitter = Some(aug.pose_jitter());
        }
    }

    /// Reads `env` at the start of a policy tick: a new depth image when the camera has ticked
    /// since the last one, then the newest proprioceptive frame.
    pub fn sense(&mut self, env: &TaskEnv, manifest: &StudentNetwork) {
        self.pushed = None;
        if let Some(camera) = self.camera.as_ref() {
            let tick = (env.since_engaged_s() * self.rate_hz + 1e-4).floor() as u64;
            if self.last_tick != Some(tick) {
                self.last_tick = Some(tick);
                let e = env.env();
                let poses: Vec<LinkPose> = e
                    .sim()
                    .link_poses()
                    .iter()
                    .map(link_pose_from_rapier)
                    .collect();
                if let Some(cam) = camera_pose(e.robot(), &poses) {
                    camera.render(
                        self.jitter.as_ref().map_or(cam, |j| j.apply(&cam)),
                        Some(e.terrain()),
                        Some((&self.geometry, &poses)),
                        &mut self.raw,
                    );
                    let (w, h) = (camera.width(), camera.height());
                    let keep = match self.augment.as_mut() {
                        Some((_, aug)) => aug.apply(w, h, &mut self.raw).unwrap_or(true),
                        None => true,
                    };
                    // The camera's own image size: the push cannot fail.
                    if keep && self.inputs.push_depth_m(w, h, &self.raw).is_ok() && self.keep_pushed
                    {
                        self.pushed = Some(self.raw.clone());
                    }
                }
            }
        }
        self.frame.copy_from_slice(env.newest_proprio());
        if let Some(at) = self.last_action_at {
            self.frame[at..at + self.last_action.len()].copy_from_slice(&self.last_action);
        }
        self.inputs.observe(manifest, &self.frame);
    }

    /// The action executed at this tick, in the student's own terms: the residual on the track
    /// the student picked (its own output when it acted, the teacher's label when the teacher
    /// did). The next frame carries it as `last_action`, as the robot's runtime feeds back the
    /// student's own output; the environment's frame carries the action on the true track, which
    /// the robot cannot know.
    ///
    /// # Panics
    /// If `action` is not one value per joint.
    pub fn set_last_action(&mut self, action: &[f32]) {
        self.last_action.copy_from_slice(action);
    }

    /// The proprioceptive frame the student saw at the newest tick.
    #[must_use]
    pub fn frame(&self) -> &[f32] {
        &self.frame
    }
}
