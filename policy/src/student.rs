//! The deployable depth student: its networks, its manifest and its artifact directory
//! (a policy artifact of kind `depth_student` or `blind_student`).
//!
//! Networks (VIGOR's student, shapes in [`StudentSpec`]):
//! - depth encoder: three strided 2-D convolutions over the last `frames` preprocessed depth
//!   images (`[B, frames, height, width]`), then a linear layer to `features` values;
//! - proprioception encoder: a temporal convolution over the normalised proprioception history
//!   (`[B, history, frame]`, newest first), then a linear layer;
//! - latent head: z_hat = h(depth features, history features, phase), the goal-in-context latent
//!   the teacher computes from privileged inputs;
//! - actor: pi(z_hat, the newest `actor_history` frames, depth features), shaped like the teacher's
//!   actor plus the depth features, so it starts as the teacher's actor (depth columns at zero).
//!
//! A blind student has no depth encoder. Invariants: every input the networks see is built by
//! [`crate::student_runtime::StudentInputs`], the same code in training and on the robot; a
//! loaded artifact reproduces the outputs it was saved with.

use std::path::Path;

use serde::{Deserialize, Serialize};
use tch::nn::{self, Module};
use tch::{Device, Kind, Tensor};
use vigor_common::seed::{SplitMix64, derive};
use vigor_perception::DepthPreprocessConfig;

use crate::artifact::{self, ArtifactError, MANIFEST_FILE, Manifest, Network, PolicyKind};
use crate::net::{Mlp, MlpSpec};
use crate::obs::ObservationLayout;
pub use crate::track::{
    Reanchor, ReferenceTrack, closest_gravity, lean_back_or_side_rad, pick_track, tilt_rad,
};

/// The depth encoder's shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DepthEncoderSpec {
    /// Stacked frames (input channels).
    pub frames: usize,
    /// Image width, px.
    pub width: usize,
    /// Image height, px.
    pub height: usize,
    /// Output channels of the three convolutions (5x5 stride 2, 3x3 stride 2, 3x3 stride 2).
    pub channels: [usize; 3],
    /// Features out of the encoder.
    pub features: usize,
}

/// (kernel, stride, padding) of the depth convolutions.
const DEPTH_CONV: [(i64, i64, i64); 3] = [(5, 2, 2), (3, 2, 1), (3, 2, 1)];
/// (kernel, stride) of the temporal convolutions (no padding).
const TCN_CONV: [(i64, i64); 2] = [(4, 2), (3, 1)];

fn conv_out(n: i64, k: i64, s: i64, p: i64) -> i64 {
    (n + 2 * p - k) / s + 1
}

impl DepthEncoderSpec {
    /// Values after the last convolution.
    #[must_use]
    pub fn flat(&self) -> usize {
        let (mut h, mut w) = (self.height as i64, self.width as i64);
        for (k, s, p) in DEPTH_CONV {
            h = conv_out(h, k, s, p);
            w = conv_out(w, k, s, p);
        }
        (h.max(0) * w.max(0)) as usize * self.channels[2]
    }

    /// Values per sample of the depth input.
    #[must_use]
    pub fn input(&self) -> usize {
        self.frames * self.width * self.height
    }
}

/// Shapes of the student's networks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudentSpec {
    /// Values in one proprioceptive frame.
    pub frame: usize,
    /// Frames of proprioception history the temporal convolution sees (at least 8).
    pub history: usize,
    /// Newest frames the actor sees (the teacher's history length).
    pub actor_history: usize,
    /// Depth encoder; `None` for a blind student.
    pub depth: Option<DepthEncoderSpec>,
    /// Channels of the temporal convolutions.
    pub tcn_channels: usize,
    /// Features out of the proprioception encoder.
    pub tcn_features: usize,
    /// Size of z.
    pub latent: usize,
    /// Hidden layers of the latent head.
    pub latent_hidden: Vec<usize>,
    /// Actor hidden layers.
    pub actor_hidden: Vec<usize>,
    /// Actions.
    pub actions: usize,
}

impl StudentSpec {
    fn tcn_flat(&self) -> usize {
        let mut n = self.history as i64;
        for (k, s) in TCN_CONV {
            n = conv_out(n, k, s, 0);
        }
        n.max(0) as usize * self.tcn_channels
    }

    fn depth_features(&self) -> usize {
        self.depth.as_ref().map_or(0, |d| d.features)
    }

    /// The latent head's shape.
    #[must_use]
    pub fn latent_mlp(&self) -> MlpSpec {
        MlpSpec {
            input: self.depth_features() + self.tcn_features + 1,
            hidden: self.latent_hidden.clone(),
            output: self.latent,
            activation: crate::net::Activation::Elu,
        }
    }

    /// The actor's shape: z_hat, the newest frames, the depth features.
    #[must_use]
    pub fn actor_mlp(&self) -> MlpSpec {
        MlpSpec {
            input: self.latent + self.actor_history * self.frame + self.depth_features(),
            hidden: self.actor_hidden.clone(),
            output: self.actions,
            activation: crate::net::Activation::Elu,
        }
    }

    /// `Err` with a sentence when the shapes cannot work.
    ///
    /// # Errors
    /// A history too short for the temporal convolution, an actor history longer than the
    /// history, or a depth image too small for the convolutions.
    pub fn check(&self) -> Result<(), String> {
        if self.tcn_flat() == 0 {
            return Err(format!(
                "history of {} frames is too short (at least 8)",
                self.history
            ));
        }
        if self.actor_history == 0 || self.actor_history > self.history {
            return Err(format!(
                "actor history {} must be 1..={}",
                self.actor_history, self.history
            ));
        }
        if let Some(d) = &self.depth
            && (d.flat() == 0 || d.frames == 0)
        {
            return Err(format!(
                "depth input {} x {} x {} is too small",
                d.frames, d.width, d.height
            ));
        }
        Ok(())
    }
}

/// The student's networks (`depth.*`, `tcn.*`, `latent.*`, `actor.*` in one variable store).
#[derive(Debug)]
pub struct StudentNet {
    /// Shapes.
    pub spec: StudentSpec,
    depth: Option<(Vec<nn::Conv2D>, nn::Linear)>,
    tcn: (Vec<nn::Conv1D>, nn::Linear),
    latent: Mlp,
    actor: Mlp,
}

impl StudentNet {
    /// Creates the layers under `root` (values from libtorch's generator: see [`init_seeded`]).
    #[must_use]
    pub fn new(root: &nn::Path<'_>, spec: &StudentSpec) -> Self {
        let depth = spec.depth.as_ref().map(|d| {
            let p = root / "depth";
            let mut inputs = d.frames as i64;
            let convs = DEPTH_CONV
                .iter()
                .zip(d.channels)
                .enumerate()
                .map(|(i, (&(k, s, pad), out))| {
                    let c = nn::conv2d(
                        &p / format!("c{i}"),
                        inputs,
                        out as i64,
                        k,
                        nn::ConvConfig {
                            stride: s,
                            padding: pad,
                            ..Default::default()
                        },
                    );
                    inputs = out as i64;
                    c
                })
                .collect();
            let fc = nn::linear(
                &p / "fc",
                d.flat() as i64,
                d.features as i64,
                Default::default(),
            );
            (convs, fc)
        });
        let p = root / "tcn";
        let mut inputs = spec.frame as i64;
        let convs = TCN_CONV
            .iter()
            .enumerate()
            .map(|(i, &(k, s))| {
                let c = nn::conv1d(
                    &p / format!("c{i}"),
                    inputs,
                    spec.tcn_channels as i64,
                    k,
                    nn::ConvConfig {
                        stride: s,
                        ..Default::default()
                    },
                );
                inputs = spec.tcn_channels as i64;
                c
            })
            .collect();
        let fc = nn::linear(
            &p / "fc",
            spec.tcn_flat() as i64,
            spec.tcn_features as i64,
            Default::default(),
        );
        Self {
            spec: spec.clone(),
            depth,
            tcn: (convs, fc),
            latent: Mlp::new(&(root / "latent"), &spec.latent_mlp()),
            actor: Mlp::new(&(root / "actor"), &spec.actor_mlp()),
        }
    }

    fn depth_features(&self, depth: Option<&Tensor>) -> Option<Tensor> {
        let ((convs, fc), d, x) = (self.depth.as_ref()?, self.spec.depth.as_ref()?, depth?);
        let mut x = x.view([-1, d.frames as i64, d.height as i64, d.width as i64]);
        for c in convs {
            x = c.forward(&x).elu();
        }
        Some(fc.forward(&x.flatten(1, -1)).elu())
    }

    /// `(z_hat [B, latent], action [B, actions])` for depth stacks `[B, frames * h * w]` (ignored
    /// by a blind student), normalised histories `[B, history * frame]` (newest first) and phases
    /// `[B, 1]`.
    pub fn forward(
        &self,
        depth: Option<&Tensor>,
        history: &Tensor,
        phase: &Tensor,
    ) -> (Tensor, Tensor) {
        let s = &self.spec;
        let feats = self.depth_features(depth);
        // [B, H * F] newest first -> [B, F, H] for the convolution over time.
        let mut x = history
            .view([-1, s.history as i64, s.frame as i64])
            .transpose(1, 2);
        for c in &self.tcn.0 {
            x = c.forward(&x).elu();
        }
        let tcn = self.tcn.1.forward(&x.flatten(1, -1)).elu();
        let mut head: Vec<Tensor> = feats.iter().map(Tensor::shallow_clone).collect();
        head.push(tcn);
        head.push(phase.view([-1, 1]));
        let z = self.latent.forward(&Tensor::cat(&head, 1));
        let recent = history.narrow(1, 0, (s.actor_history * s.frame) as i64);
        let mut actor_in = vec![z.shallow_clone(), recent];
        if let Some(f) = feats {
            actor_in.push(f);
        }
        let a = self.actor.forward(&Tensor::cat(&actor_in, 1));
        (z, a)
    }
}

/// Re-initialises every variable of `vs` from `seed` alone (PyTorch's default bounds for linear
/// and convolution layers, +-1/sqrt(fan_in), from private generators keyed by variable name).
pub fn init_seeded(vs: &nn::VarStore, seed: u64) {
    let mut vars: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    let fan_in = |name: &str| -> i64 {
        let w = name.replace(".bias", ".weight");
        vars.iter()
            .find(|(n, _)| *n == w)
            .map_or(1, |(_, t)| t.size().iter().skip(1).product::<i64>().max(1))
    };
    tch::no_grad(|| {
        for (k, (name, t)) in vars.iter().enumerate() {
            let bound = 1.0 / (fan_in(name) as f32).sqrt();
            let mut rng = SplitMix64::new(derive(seed, name, k as u64));
            let values: Vec<f32> = (0..t.numel()).map(|_| rng.uniform(-bound, bound)).collect();
            let mut t = t.shallow_clone();
            t.copy_(&Tensor::from_slice(&values).view(t.size().as_slice()));
        }
    });
}

/// A student's network and inputs: everything the controller needs besides the weights and the
/// manifest's common fields (the normaliser there covers the proprioception history,
/// `history * frame` values, newest first).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudentNetwork {
    /// Layout of one proprioceptive frame.
    pub observation: ObservationLayout,
    /// Depth preprocessing (`None` for a blind student); the same settings train and deploy.
    pub depth: Option<DepthPreprocessConfig>,
    /// Rate of the depth camera the student was trained with, Hz (frames are held between).
    pub depth_rate_hz: f32,
    /// The phase input is `min(seconds since engagement / phase_period_s, 1.5)`.
    pub phase_period_s: f32,
    /// Actions are clipped to +-this before scaling.
    pub action_clip: f32,
    /// Action scale, rad: `q* = q_ref(t) + scale * clip(a)`.
    pub action_scale: f32,
    /// Reference tracks, one per start posture.
    pub references: Vec<ReferenceTrack>,
    /// Network shapes.
    pub spec: StudentSpec,
    /// Teacher it was distilled from (its name).
    pub teacher: String,
    /// For a depth student: the blind student the controller switches to when depth frames
    /// stop, as a path relative to this artifact's directory (e.g. `../student-blind`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<String>,
    /// The hand-over from a fall track to the lying track the body ends in, as the teacher
    /// trained with (`task.reanchor`); absent when it had none (every student before it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reanchor: Option<Reanchor>,
}

impl StudentNetwork {
    /// `Err` naming the first inconsistency between the fields.
    ///
    /// # Errors
    /// See the message.
    pub fn check(&self) -> Result<(), String> {
        self.spec.check()?;
        if let Some(r) = &self.reanchor {
            r.check().map_err(|e| format!("reanchor.{e}"))?;
        }
        if self.observation.len() != self.spec.frame {
            return Err(format!(
                "spec.frame of {} values, observation layout of {}",
                self.spec.frame,
                self.observation.len()
            ));
        }
        match (&self.depth, &self.spec.depth) {
            (None, None) => {}
            (Some(p), Some(d)) => {
                if (usize::from(p.width_px), usize::from(p.height_px), p.frames)
                    != (d.width, d.height, d.frames)
                {
                    return Err("depth preprocessing and spec.depth disagree".into());
                }
            }
            _ => return Err("depth preprocessing without spec.depth, or the reverse".into()),
        }
        if self.references.is_empty()
            || self
                .references
                .iter()
                .any(|r| r.q.is_empty() || r.q.iter().any(|q| q.len() != self.spec.actions))
        {
            return Err(format!(
                "references: every track needs frames of {} joint angles",
                self.spec.actions
            ));
        }
        if let Some(i) = self.references.iter().position(|r| {
            !(r.rate_hz.is_finite() && r.rate_hz > 0.0 && r.speed.is_finite() && r.speed > 0.0)
                || r.q.iter().flatten().any(|q| !q.is_finite())
                || r.gravity.iter().any(|g| !g.is_finite())
        }) {
            return Err(format!(
                "references[{i}]: rate and speed must be finite and > 0, angles and gravity finite"
            ));
        }
        let positive = |x: f32| x.is_finite() && x > 0.0;
        if !(positive(self.action_scale)
            && positive(self.action_clip)
            && positive(self.phase_period_s)
            && positive(self.depth_rate_hz))
        {
            return Err(
                "action_scale, action_clip, phase_period_s and depth_rate_hz must be finite and > 0"
                    .into(),
            );
        }
        if self.fallback.is_some() && self.depth.is_none() {
            return Err("fallback: only a depth student falls back (to a blind one)".into());
        }
        Ok(())
    }
}

/// A student ready to run: manifest plus networks.
#[derive(Debug)]
pub struct StudentPolicy {
    manifest: Manifest,
    student: StudentNetwork,
    vs: nn::VarStore,
    net: StudentNet,
}

fn student_of(manifest: &Manifest, path: &Path) -> Result<StudentNetwork, ArtifactError> {
    match (&manifest.network, manifest.kind) {
        (Network::Student(s), PolicyKind::DepthStudent | PolicyKind::BlindStudent) => Ok(s.clone()),
        _ => Err(ArtifactError::WrongKind {
            path: path.to_path_buf(),
            kind: manifest.kind,
            message: "expected a student (`depth_student` or `blind_student`)".into(),
        }),
    }
}

impl StudentPolicy {
    /// Fresh networks for `manifest` on `device`, seeded.
    ///
    /// # Errors
    /// A manifest that is not a consistent student's.
    pub fn init(manifest: Manifest, device: Device) -> Result<Self, ArtifactError> {
        let path = Path::new("<new student>");
        manifest.check(path)?;
        let student = student_of(&manifest, path)?;
        let vs = nn::VarStore::new(device);
        let net = StudentNet::new(&vs.root(), &student.spec);
        init_seeded(&vs, derive(manifest.seed, "student", 0));
        Ok(Self {
            manifest,
            student,
            vs,
            net,
        })
    }

    /// The manifest.
    #[must_use]
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The student part of the manifest.
    #[must_use]
    pub fn student(&self) -> &StudentNetwork {
        &self.student
    }

    /// The variables (for training and for copying the teacher's actor in).
    #[must_use]
    pub fn var_store(&self) -> &nn::VarStore {
        &self.vs
    }

    /// The networks.
    #[must_use]
    pub fn net(&self) -> &StudentNet {
        &self.net
    }

    /// `(z_hat, actions)` for a batch of `b` samples given as flat slices: depth stacks (ignored by
    /// a blind student), normalised histories and phases.
    #[must_use]
    pub fn act_batch(
        &self,
        b: usize,
        depth: &[f32],
        history: &[f32],
        phase: &[f32],
    ) -> (Vec<f32>, Vec<f32>) {
        let dev = self.vs.device();
        let b = b as i64;
        tch::no_grad(|| {
            let d = self
                .student
                .spec
                .depth
                .as_ref()
                .map(|_| Tensor::from_slice(depth).view([b, -1]).to(dev));
            let h = Tensor::from_slice(history).view([b, -1]).to(dev);
            let p = Tensor::from_slice(phase).view([b, 1]).to(dev);
            let (z, a) = self.net.forward(d.as_ref(), &h, &p);
            let flat = |t: Tensor| {
                Vec::<f32>::try_from(
                    &t.to(Device::Cpu)
                        .to_kind(Kind::Float)
                        .contiguous()
                        .view([-1]),
                )
                .unwrap_or_default()
            };
            (flat(z), flat(a))
        })
    }

    /// Writes the artifact into `dir` (weights, then the manifest with their digest), each file
    /// atomically.
    ///
    /// # Errors
    /// I/O or libtorch errors, naming the file.
    pub fn save(&mut self, dir: &Path) -> Result<(), ArtifactError> {
        artifact::save(dir, &self.vs, &mut self.manifest)
    }

    /// Loads the student artifact in `dir` onto `device`, checking schema, kind, digest and
    /// shapes.
    ///
    /// # Errors
    /// Any [`ArtifactError`], naming the file.
    pub fn load(dir: &Path, device: Device) -> Result<Self, ArtifactError> {
        let manifest = artifact::read_manifest(dir)?;
        let student = student_of(&manifest, &dir.join(MANIFEST_FILE))?;
        let mut vs = nn::VarStore::new(device);
        let net = StudentNet::new(&vs.root(), &student.spec);
        artifact::load_weights(dir, &manifest, &mut vs)?;
        Ok(Self {
            manifest,
            student,
            vs,
            net,
        })
    }
}

#[cfg(test)]
#[path = "student_tests.rs"]
pub(crate) mod tests;
