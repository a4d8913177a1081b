//! The teacher's networks: the goal-in-context encoder z = g(next keyframe, height scan), the actor
//! pi(z, proprioception history) with a learned log standard deviation, and a separate critic over
//! everything. Inputs are normalised rows in the task's critic layout.

use serde::{Deserialize, Serialize};
use tch::nn::{self, Module};
use tch::{Device, Tensor};
use vigor_common::seed::derive;
use vigor_policy::{Activation, Mlp, MlpSpec};

use super::task::ObsDims;
use crate::rl::GaussianPolicy;

/// Shapes of the three networks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TeacherSpec {
    /// Reference values at the start of a row.
    pub reference: usize,
    /// Height-scan values after them.
    pub scan: usize,
    /// Proprioception history values after those.
    pub proprio: usize,
    /// Critic-only values at the end.
    pub extra: usize,
    /// g: goal -> z.
    pub encoder: MlpSpec,
    /// pi: (z, proprioception) -> action mean.
    pub actor: MlpSpec,
    /// V: everything -> one value per reward group (`model.critic_groups`), or one.
    pub critic: MlpSpec,
}

impl TeacherSpec {
    /// Shapes for observation sizes `dims`, `actions` outputs and the config's layers.
    #[must_use]
    pub fn new(dims: ObsDims, actions: usize, m: &super::config::ModelSection) -> Self {
        let mlp = |input, hidden: &[usize], output| MlpSpec {
            input,
            hidden: hidden.to_vec(),
            output,
            activation: Activation::Elu,
        };
        Self {
            reference: dims.reference,
            scan: dims.scan,
            proprio: dims.proprio * dims.history,
            extra: dims.extra,
            encoder: mlp(dims.goal(), &m.encoder_hidden, m.latent),
            actor: mlp(
                m.latent + dims.proprio * dims.history,
                &m.actor_hidden,
                actions,
            ),
            critic: mlp(
                dims.critic(),
                &m.critic_hidden,
                m.critic_groups.len().max(1),
            ),
        }
    }

    /// Values in a full (critic) row.
    #[must_use]
    pub fn row(&self) -> usize {
        self.reference + self.scan + self.proprio + self.extra
    }
}

/// The teacher's networks in one variable store (`encoder.*`, `actor.*`, `critic.*`, `log_std`).
#[derive(Debug)]
pub struct TeacherNet {
    /// Shapes.
    pub spec: TeacherSpec,
    /// All variables.
    pub vs: nn::VarStore,
    encoder: Mlp,
    actor: Mlp,
    critic: Mlp,
    log_std: Tensor,
}

impl TeacherNet {
    /// Fresh networks on the CPU from `seed` (the same seed gives the same weights); the actor's
    /// last layer is scaled by 0.01 so initial actions sit near zero.
    #[must_use]
    pub fn new(spec: TeacherSpec, init_std: f32, seed: u64) -> Self {
        Self::on(spec, init_std, seed, Device::Cpu)
    }

    /// [`TeacherNet::new`] on `device` (the same weights as on the CPU).
    #[must_use]
    pub fn on(spec: TeacherSpec, init_std: f32, seed: u64, device: Device) -> Self {
        let vs = nn::VarStore::new(device);
        let root = vs.root();
        let mut encoder = Mlp::new(&(&root / "encoder"), &spec.encoder);
        let mut actor = Mlp::new(&(&root / "actor"), &spec.actor);
        let mut critic = Mlp::new(&(&root / "critic"), &spec.critic);
        encoder.init_seeded(derive(seed, "encoder", 0));
        actor.init_seeded(derive(seed, "actor", 0));
        critic.init_seeded(derive(seed, "critic", 0));
        let log_std = root.var(
            "log_std",
            &[spec.actor.output as i64],
            nn::Init::Const(f64::from(init_std.ln())),
        );
        let last = format!("actor.l{}.weight", spec.actor.hidden.len());
        tch::no_grad(|| {
            if let Some(w) = vs.variables().get_mut(&last) {
                let _ = w.g_mul_scalar_(0.01);
            }
        });
        Self {
            spec,
            vs,
            encoder,
            actor,
            critic,
            log_std,
        }
    }

    fn goal(&self, obs: &Tensor) -> Tensor {
        obs.narrow(1, 0, (self.spec.reference + self.spec.scan) as i64)
    }

    /// The latent z for normalised rows `[B, row]`.
    pub fn latent(&self, obs: &Tensor) -> Tensor {
        self.encoder.forward(&self.goal(obs))
    }

    /// Named trainable tensors in a fixed (sorted) order.
    #[must_use]
    pub fn named_parameters(&self) -> Vec<(String, Tensor)> {
        let mut v: Vec<(String, Tensor)> = self.vs.variables().into_iter().collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    /// Action means and values for a batch of raw-normalised rows given as a flat slice (values
    /// row-major, one per value head).
    #[must_use]
    pub fn act_batch(&self, rows: &[f32]) -> (Vec<f32>, Vec<f32>) {
        let n = self.spec.row();
        let b = (rows.len() / n) as i64;
        tch::no_grad(|| {
            let x = Tensor::from_slice(rows)
                .view([b, n as i64])
                .to(self.vs.device());
            let mean = self.mean(&x).to(Device::Cpu);
            let value = self.value(&x).to(Device::Cpu);
            (
                Vec::<f32>::try_from(&mean.contiguous().view([-1])).unwrap_or_default(),
                Vec::<f32>::try_from(&value.contiguous().view([-1])).unwrap_or_default(),
            )
        })
    }

    /// Latents z and action means for a batch of normalised rows given as a flat slice (the
    /// student's distillation targets).
    #[must_use]
    pub fn latent_and_mean(&self, rows: &[f32]) -> (Vec<f32>, Vec<f32>) {
        let n = self.spec.row();
        let b = (rows.len() / n) as i64;
        tch::no_grad(|| {
            let x = Tensor::from_slice(rows)
                .view([b, n as i64])
                .to(self.vs.device());
            let flat = |t: Tensor| {
                Vec::<f32>::try_from(&t.to(Device::Cpu).contiguous().view([-1])).unwrap_or_default()
            };
            (flat(self.latent(&x)), flat(self.mean(&x)))
        })
    }

    /// Current log standard deviations.
    #[must_use]
    pub fn log_std_values(&self) -> Vec<f32> {
        Vec::<f32>::try_from(&self.log_std.detach().to(Device::Cpu)).unwrap_or_default()
    }
}

impl GaussianPolicy for TeacherNet {
    fn mean(&self, obs: &Tensor) -> Tensor {
        let z = self.latent(obs);
        let start = (self.spec.reference + self.spec.scan) as i64;
        let proprio = obs.narrow(1, start, self.spec.proprio as i64);
        self.actor.forward(&Tensor::cat(&[z, proprio], 1))
    }

    fn log_std(&self) -> Tensor {
        self.log_std.shallow_clone()
    }

    fn value(&self, obs: &Tensor) -> Tensor {
        let v = self.critic.forward(obs);
        if self.spec.critic.output == 1 {
            v.squeeze_dim(-1)
        } else {
            v
        }
    }

    fn parameters(&self) -> Vec<Tensor> {
        self.named_parameters()
            .into_iter()
            .map(|(_, t)| t)
            .collect()
    }
}
