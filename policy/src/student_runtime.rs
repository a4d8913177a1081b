//! Running a student: the inputs it sees, built one way for training and for the robot.
//!
//! [`StudentInputs`] keeps one robot's input state: the preprocessed depth stack (through
//! `vigor_perception`'s single pipeline), the proprioception history (newest first) and the
//! reference track picked at engagement. Training keeps one per simulated environment and batches
//! the networks over them; [`StudentRuntime`] wraps one with the policy for the controller.
//!
//! Per policy tick: [`StudentInputs::observe`] the newest proprioceptive frame (the first call
//! engages: it picks the track by gravity and fills the history), push depth frames as they come
//! ([`StudentInputs::push_depth_m`]), then [`StudentInputs::write`] the normalised inputs.

use vigor_msgs::project::DepthFrame;
use vigor_perception::{DepthPreprocessor, PerceptionError};

use crate::artifact::ArtifactError;
use crate::normaliser::Normaliser;
use crate::student::{StudentNetwork, StudentPolicy, pick_track};

/// One robot's student inputs.
#[derive(Debug, Clone)]
pub struct StudentInputs {
    depth: Option<DepthPreprocessor>,
    history: Vec<f32>,
    mean: Vec<f32>,
    inv_std: Vec<f32>,
    clip: f32,
    frame: usize,
    gravity_at: usize,
    gyro_at: usize,
    track: Option<usize>,
    /// When the track began, s after engagement (0, or a hand-over's time).
    anchor_s: f32,
    /// How long the body has turned slower than the hand-over rule's `settled_rad_s`, s, and
    /// the time of the frame that said so last (s after engagement).
    still_s: f32,
    last_s: f32,
    phase_period_s: f32,
}

impl StudentInputs {
    /// Empty inputs for the student network `manifest` with the history `normaliser` (the
    /// artifact's; applied in f32, as the student trained).
    ///
    /// # Errors
    /// A depth preprocessing configuration that does not validate, or a frame layout without
    /// `projected_gravity`.
    pub fn new(manifest: &StudentNetwork, normaliser: &Normaliser) -> Result<Self, ArtifactError> {
        let depth = manifest
            .depth
            .clone()
            .map(DepthPreprocessor::new)
            .transpose()
            .map_err(|e| ArtifactError::Inconsistent(e.to_string()))?;
        let (mean, inv_std, clip) = normaliser.f32_parts();
        Ok(Self {
            depth,
            history: vec![0.0; manifest.spec.history * manifest.spec.frame],
            mean,
            inv_std,
            clip,
            frame: manifest.spec.frame,
            gravity_at: manifest
                .observation
                .offset("projected_gravity")
                .ok_or_else(|| {
                    ArtifactError::Inconsistent("frame layout lacks `projected_gravity`".into())
                })?,
            gyro_at: manifest.observation.offset("base_ang_vel").ok_or_else(|| {
                ArtifactError::Inconsistent("frame layout lacks `base_ang_vel`".into())
            })?,
            track: None,
            anchor_s: 0.0,
            still_s: 0.0,
            last_s: 0.0,
            phase_period_s: manifest.phase_period_s,
        })
    }

    /// Forgets everything (a new episode).
    pub fn reset(&mut self) {
        if let Some(d) = self.depth.as_mut() {
            d.reset();
        }
        self.history.iter_mut().for_each(|x| *x = 0.0);
        self.track = None;
        self.anchor_s = 0.0;
        self.still_s = 0.0;
        self.last_s = 0.0;
    }

    /// Starts a new engagement but keeps the depth stack: on the robot the camera streams all
    /// the time, and its newest frames show the scene the robot is in.
    pub fn restart(&mut self) {
        self.history.iter_mut().for_each(|x| *x = 0.0);
        self.track = None;
        self.anchor_s = 0.0;
        self.still_s = 0.0;
        self.last_s = 0.0;
    }

    /// Takes the newest proprioceptive frame, `engaged_s` after engagement. The first frame after
    /// a reset engages: the track is picked from its gravity among `manifest`'s references and
    /// fills the whole history. Later frames may hand a fall track over to a lying one
    /// (`manifest.reanchor`), as the teacher's episodes did in training.
    ///
    /// # Panics
    /// If `frame` is not one frame long.
    pub fn observe(&mut self, manifest: &StudentNetwork, frame: &[f32], engaged_s: f32) {
        assert_eq!(frame.len(), self.frame, "proprioceptive frame length");
        // A handed-over track is a lying one, which hands over again only under `rule.again`.
        if let (Some(rule), Some(track)) = (manifest.reanchor, self.track) {
            let signatures: Vec<[f32; 3]> = manifest.references.iter().map(|r| r.gravity).collect();
            let (g, w) = (self.gravity_at, self.gyro_at);
            let gyro = [frame[w], frame[w + 1], frame[w + 2]];
            self.still_s = rule.still_s(self.still_s, engaged_s - self.last_s, gyro);
            self.last_s = engaged_s;
            let clip_done = manifest
                .references
                .get(track)
                .is_some_and(|r| self.track_time_s(engaged_s) >= r.played_s());
            if let Some(next) = rule.hand_over(
                &signatures,
                track,
                engaged_s,
                clip_done,
                [frame[g], frame[g + 1], frame[g + 2]],
                gyro,
                self.still_s,
            ) {
                self.track = Some(next);
                self.anchor_s = engaged_s;
            }
        }
        if self.track.is_none() {
            let g = [
                frame[self.gravity_at],
                frame[self.gravity_at + 1],
                frame[self.gravity_at + 2],
            ];
            self.track = Some(pick_track(&manifest.references, g));
            for chunk in self.history.chunks_exact_mut(self.frame) {
                chunk.copy_from_slice(frame);
            }
            return;
        }
        let len = self.history.len();
        self.history.copy_within(..len - self.frame, self.frame);
        self.history[..self.frame].copy_from_slice(frame);
    }

    /// Takes a depth image in metres (0 = no return), any resolution; ignored by a blind student.
    ///
    /// # Errors
    /// An image whose size does not match its data (the stack is then unchanged).
    pub fn push_depth_m(
        &mut self,
        width: usize,
        height: usize,
        depth_m: &[f32],
    ) -> Result<(), PerceptionError> {
        match self.depth.as_mut() {
            Some(d) => d.push(width, height, depth_m),
            None => Ok(()),
        }
    }

    /// Takes a depth frame from the bus (metres or millimetres).
    ///
    /// # Errors
    /// A frame whose size does not match its data (the stack is then unchanged).
    pub fn push_depth(&mut self, frame: &DepthFrame) -> Result<(), PerceptionError> {
        match self.depth.as_mut() {
            Some(d) => d.push_frame(frame),
            None => Ok(()),
        }
    }

    /// The reference track picked at engagement (or handed over to since).
    #[must_use]
    pub fn track(&self) -> Option<usize> {
        self.track
    }

    /// Time along the track `engaged_s` after engagement, s: since engagement, or since the
    /// hand-over.
    #[must_use]
    pub fn track_time_s(&self, engaged_s: f32) -> f32 {
        engaged_s - self.anchor_s
    }

    /// Values of the depth stack (0 for a blind student).
    #[must_use]
    pub fn depth_len(&self) -> usize {
        self.depth.as_ref().map_or(0, |d| d.config().stacked_len())
    }

    /// Writes the normalised inputs: the depth stack into `depth` ([`Self::depth_len`] values),
    /// the normalised history into `history`, and returns the phase for `engaged_s` seconds
    /// since engagement.
    pub fn write(&self, engaged_s: f32, depth: &mut [f32], history: &mut [f32]) -> f32 {
        if let Some(d) = self.depth.as_ref() {
            depth.copy_from_slice(d.stacked());
        }
        self.normalise_history(&self.history, history);
        (self.track_time_s(engaged_s).max(0.0) / self.phase_period_s).min(1.5)
    }

    /// The proprioceptive history as taken, before normalisation (newest frame first).
    #[must_use]
    pub fn raw_history(&self) -> &[f32] {
        &self.history
    }

    /// Normalises a raw history (of [`Self::raw_history`]'s length) into `out` as
    /// [`Self::write`] does.
    pub fn normalise_history(&self, raw: &[f32], out: &mut [f32]) {
        for (((o, x), m), s) in out.iter_mut().zip(raw).zip(&self.mean).zip(&self.inv_std) {
            *o = ((x - m) * s).clamp(-self.clip, self.clip);
        }
    }
}

/// The student for one robot: inputs, networks and the action law.
#[derive(Debug)]
pub struct StudentRuntime {
    policy: StudentPolicy,
    inputs: StudentInputs,
    depth: Vec<f32>,
    history: Vec<f32>,
}

/// One tick's outputs.
#[derive(Debug, Clone, PartialEq)]
pub struct StudentOutput {
    /// The raw action (feed it back as the frame's `last_action`).
    pub action: Vec<f32>,
    /// Joint position targets, rad: `q_ref(t) + scale * clip(action)` (before joint limits).
    pub targets: Vec<f32>,
    /// The inferred goal-in-context latent z_hat.
    pub latent: Vec<f32>,
}

impl StudentRuntime {
    /// Wraps a loaded policy.
    ///
    /// # Errors
    /// See [`StudentInputs::new`].
    pub fn new(policy: StudentPolicy) -> Result<Self, ArtifactError> {
        let inputs = StudentInputs::new(policy.student(), &policy.manifest().normaliser)?;
        let depth = vec![0.0; inputs.depth_len()];
        let history = vec![0.0; inputs.history.len()];
        Ok(Self {
            policy,
            inputs,
            depth,
            history,
        })
    }

    /// The policy.
    #[must_use]
    pub fn policy(&self) -> &StudentPolicy {
        &self.policy
    }

    /// Starts over (the next [`Self::step`] engages again). The depth stack is emptied too: push
    /// the newest camera frame before that step, as training always has one at engagement.
    pub fn reset(&mut self) {
        self.inputs.reset();
    }

    /// Starts a new engagement, keeping the depth stack ([`StudentInputs::restart`]).
    pub fn restart(&mut self) {
        self.inputs.restart();
    }

    /// The reference track picked at engagement.
    #[must_use]
    pub fn track(&self) -> Option<usize> {
        self.inputs.track()
    }

    /// Takes the newest proprioceptive frame, `engaged_s` after engagement, without running the
    /// networks (a fallback keeps its history and track current this way).
    ///
    /// # Errors
    /// A frame of the wrong length.
    pub fn observe(&mut self, frame: &[f32], engaged_s: f32) -> Result<(), ArtifactError> {
        let m = self.policy.student();
        if frame.len() != m.spec.frame {
            return Err(ArtifactError::ObservationSize {
                expected: m.spec.frame,
                got: frame.len(),
            });
        }
        self.inputs.observe(m, frame, engaged_s);
        Ok(())
    }

    /// Takes a depth frame as it arrives.
    ///
    /// # Errors
    /// A frame whose size does not match its data (it is then ignored).
    pub fn push_depth(&mut self, frame: &DepthFrame) -> Result<(), PerceptionError> {
        self.inputs.push_depth(frame)
    }

    /// Takes a depth image in metres as it arrives.
    ///
    /// # Errors
    /// An image whose size does not match its data (it is then ignored).
    pub fn push_depth_m(
        &mut self,
        width: usize,
        height: usize,
        depth_m: &[f32],
    ) -> Result<(), PerceptionError> {
        self.inputs.push_depth_m(width, height, depth_m)
    }

    /// One policy tick with the newest proprioceptive `frame`, `engaged_s` after engagement.
    ///
    /// # Errors
    /// A frame of the wrong length.
    pub fn step(&mut self, frame: &[f32], engaged_s: f32) -> Result<StudentOutput, ArtifactError> {
        let m = self.policy.student();
        if frame.len() != m.spec.frame {
            return Err(ArtifactError::ObservationSize {
                expected: m.spec.frame,
                got: frame.len(),
            });
        }
        self.inputs.observe(m, frame, engaged_s);
        let phase = self
            .inputs
            .write(engaged_s, &mut self.depth, &mut self.history);
        let (latent, action) = self
            .policy
            .act_batch(1, &self.depth, &self.history, &[phase]);
        let track = &m.references[self.inputs.track().unwrap_or(0)];
        let targets = track
            .at(self.inputs.track_time_s(engaged_s))
            .iter()
            .zip(&action)
            .map(|(q, a)| q + m.action_scale * a.clamp(-m.action_clip, m.action_clip))
            .collect();
        Ok(StudentOutput {
            action,
            targets,
            latent,
        })
    }
}
