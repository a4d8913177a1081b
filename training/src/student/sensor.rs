//! What one simulated robot shows its student: the head camera rendered at the camera's rate
//! (terrain and self-occlusion), depth domain randomisation, and the proprioceptive frame the
//! teacher's environment already builds, all fed into [`StudentInputs`], the robot's own code.
//! In training the camera's timing is randomised too ([`CameraClock`]).

use std::collections::VecDeque;
use std::sync::Arc;

use vigor_common::seed::{SplitMix64, derive};

use vigor_perception::{DepthAugmentConfig, DepthAugmenter, PoseJitter};
use vigor_policy::{Manifest, StudentInputs, StudentNetwork};
use vigor_sim::sensors::{
    DepthCamera, DepthCameraConfig, LinkPose, RobotGeometry, camera_pose, link_pose_from_rapier,
};

use super::config::CameraTiming;
use crate::teacher::TaskEnv;

/// When the simulated head camera takes an image and when the student sees it.
///
/// Frame `k` of an episode is taken `k / rate - phase` after engagement (frame 0 at engagement)
/// and seen at the first policy tick at least `latency` after it was taken. The episode's first
/// image is seen at once: the robot's camera was running before the fall engaged the policy.
/// Phase and latency are drawn per episode from [`CameraTiming`]; without it both are 0, and each
/// image is seen on the tick it is taken.
#[derive(Debug, Clone)]
pub struct CameraClock {
    rate_hz: f32,
    timing: Option<CameraTiming>,
    phase_s: f32,
    latency_s: f32,
    last_tick: Option<u64>,
    in_flight: VecDeque<(f32, Vec<f32>)>,
}

impl CameraClock {
    /// A clock for a camera at `rate_hz`, its timing drawn from `timing` at each reset.
    #[must_use]
    pub fn new(rate_hz: f32, timing: Option<CameraTiming>) -> Self {
        Self {
            rate_hz,
            timing,
            phase_s: 0.0,
            latency_s: 0.0,
            last_tick: None,
            in_flight: VecDeque::new(),
        }
    }

    /// A new episode: no image taken or in flight; phase and latency drawn from `seed`.
    pub fn reset(&mut self, seed: u64) {
        self.last_tick = None;
        self.in_flight.clear();
        (self.phase_s, self.latency_s) = (0.0, 0.0);
        if let Some(t) = &self.timing {
            let mut rng = SplitMix64::new(derive(seed, "camera-timing", 0));
            if t.random_phase {
                self.phase_s = rng.uniform(0.0, 1.0 / self.rate_hz);
            }
            self.latency_s = rng.uniform(t.latency_s[0], t.latency_s[1]);
        }
    }

    /// This episode's frame phase, s (frame `k` is taken at `k / rate - phase`).
    #[must_use]
    pub fn phase_s(&self) -> f32 {
        self.phase_s
    }

    /// This episode's latency, s.
    #[must_use]
    pub fn latency_s(&self) -> f32 {
        self.latency_s
    }

    /// True when an image is to be taken at `now` (s after engagement): at the episode's first
    /// call, and whenever the frame clock has ticked since the last one.
    pub fn capture_due(&mut self, now: f32) -> bool {
        let tick = ((now + self.phase_s) * self.rate_hz + 1e-4).floor() as u64;
        let due = self.last_tick != Some(tick);
        self.last_tick = Some(tick);
        due
    }

    /// An image taken at `now`.
    pub fn taken(&mut self, now: f32, image: Vec<f32>, first: bool) {
        let seen = if first { now } else { now + self.latency_s };
        self.in_flight.push_back((seen, image));
    }

    /// The images the student sees by `now`, oldest first.
    pub fn arrived(&mut self, now: f32) -> Vec<Vec<f32>> {
        let mut out = Vec::new();
        while self
            .in_flight
            .front()
            .is_some_and(|(seen, _)| *seen <= now + 1e-5)
        {
            out.extend(self.in_flight.pop_front().map(|(_, image)| image));
        }
        out
    }
}

/// One environment's student-side sensors and inputs.
#[derive(Debug)]
pub struct StudentSensor {
    /// The inputs the student networks read.
    pub inputs: StudentInputs,
    camera: Option<DepthCamera>,
    geometry: Arc<RobotGeometry>,
    augment: Option<(DepthAugmentConfig, DepthAugmenter)>,
    raw: Vec<f32>,
    clock: CameraClock,
    /// No image taken yet this episode.
    first: bool,
    jitter: Option<PoseJitter>,
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
    /// randomises depth and `timing` the camera's timing (training only). `keep_pushed` keeps each
    /// pushed image for probes.
    ///
    /// # Errors
    /// A camera or preprocessing configuration that does not validate.
    pub fn new(
        manifest: &Manifest,
        camera: DepthCameraConfig,
        geometry: Arc<RobotGeometry>,
        rate_hz: f32,
        augment: Option<DepthAugmentConfig>,
        timing: Option<CameraTiming>,
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
            clock: CameraClock::new(rate_hz, timing),
            first: true,
            jitter: None,
            pushed: None,
            keep_pushed,
        })
    }

    /// A new episode; randomisation reseeded from `seed` (the camera mount jitter and timing are
    /// drawn here).
    pub fn reset(&mut self, seed: u64) {
        self.inputs.reset();
        self.last_action.iter_mut().for_each(|a| *a = 0.0);
        self.clock.reset(seed);
        self.first = true;
        self.jitter = None;
        if let Some((cfg, aug)) = self.augment.as_mut()
            && let Ok(fresh) = DepthAugmenter::new(cfg.clone(), seed)
        {
            *aug = fresh;
            self.jitter = Some(aug.pose_jitter());
        }
    }

    /// Reads `env` at the start of a policy tick: a new depth image when the camera's clock has
    /// ticked since the last one, the images whose latency has passed, then the newest
    /// proprioceptive frame.
    pub fn sense(&mut self, env: &TaskEnv, manifest: &StudentNetwork) {
        self.pushed = None;
        if let Some(camera) = self.camera.as_ref() {
            let now = env.since_engaged_s();
            if self.clock.capture_due(now) {
                let first = std::mem::take(&mut self.first);
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
                    if keep {
                        self.clock.taken(now, self.raw.clone(), first);
                    }
                }
            }
            let (w, h) = (camera.width(), camera.height());
            for image in self.clock.arrived(now) {
                // The camera's own image size: the push cannot fail.
                if self.inputs.push_depth_m(w, h, &image).is_ok() && self.keep_pushed {
                    self.pushed = Some(image);
                }
            }
        }
        self.frame.copy_from_slice(env.newest_proprio());
        if let Some(at) = self.last_action_at {
            self.frame[at..at + self.last_action.len()].copy_from_slice(&self.last_action);
        }
        self.inputs
            .observe(manifest, &self.frame, env.since_engaged_s());
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

    /// The camera's timing this episode.
    #[must_use]
    pub fn clock(&self) -> &CameraClock {
        &self.clock
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Polls `clock` at 50 Hz for `ticks` policy ticks; an image is its capture time. Returns
    /// (capture time, time seen) of every image.
    fn run(clock: &mut CameraClock, ticks: usize) -> Vec<(f32, f32)> {
        let mut seen = Vec::new();
        let mut first = true;
        for k in 0..ticks {
            let now = k as f32 * 0.02;
            if clock.capture_due(now) {
                clock.taken(now, vec![now], std::mem::take(&mut first));
            }
            seen.extend(clock.arrived(now).into_iter().map(|i| (i[0], now)));
        }
        seen
    }

    #[test]
    fn without_timing_each_image_is_seen_when_taken_on_the_frame_clock() {
        let mut clock = CameraClock::new(30.0, None);
        clock.reset(7);
        let seen = run(&mut clock, 50);
        // 30 Hz frames polled at 50 Hz: taken at the first tick of each frame period.
        for &(taken, at) in &seen {
            assert_eq!(taken, at);
        }
        let taken: Vec<f32> = seen.iter().map(|s| s.0).collect();
        let expected: Vec<f32> = (0..50)
            .map(|k| k as f32 * 0.02)
            .filter(|t| {
                let f = |t: f32| (t * 30.0 + 1e-4).floor();
                *t == 0.0 || f(*t) != f(t - 0.02)
            })
            .collect();
        assert_eq!(taken, expected);
        assert_eq!((clock.phase_s(), clock.latency_s()), (0.0, 0.0));
    }

    #[test]
    fn latency_delays_every_image_but_the_first_and_phase_shifts_the_frames() {
        let timing = CameraTiming {
            random_phase: true,
            latency_s: [0.03, 0.09],
        };
        let mut clock = CameraClock::new(30.0, Some(timing));
        let mut draws = Vec::new();
        for seed in 0..20 {
            clock.reset(seed);
            let (phase, latency) = (clock.phase_s(), clock.latency_s());
            assert!((0.0..1.0 / 30.0).contains(&phase), "phase {phase}");
            assert!((0.03..=0.09).contains(&latency), "latency {latency}");
            draws.push((phase, latency));
            let seen = run(&mut clock, 100);
            assert_eq!(seen[0], (0.0, 0.0), "the first image is seen at once");
            for &(taken, at) in &seen[1..] {
                // Seen at the first 50 Hz tick at least `latency` after it was taken.
                assert!(at + 1e-5 >= taken + latency, "{taken} seen at {at}");
                assert!(at < taken + latency + 0.02 + 1e-5, "{taken} seen at {at}");
                // Taken at the first tick after a frame-clock tick: k / 30 - phase.
                let k = ((taken + phase) * 30.0 + 1e-4).floor();
                assert!(taken + 1e-5 >= k / 30.0 - phase && taken < k / 30.0 - phase + 0.02);
            }
            // 60 images taken in 2 s, the last few still in flight; seen in order.
            assert!((56..=60).contains(&seen.len()), "{}", seen.len());
            assert!(seen.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1));
            // The same seed draws the same timing.
            clock.reset(seed);
            assert_eq!((clock.phase_s(), clock.latency_s()), (phase, latency));
        }
        draws.sort_by(|a, b| a.partial_cmp(b).unwrap());
        draws.dedup();
        assert_eq!(draws.len(), 20, "each seed draws its own timing");
    }
}
