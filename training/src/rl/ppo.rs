//! Proximal policy optimisation (Schulman et al. 2017) as rsl_rl runs it: clipped surrogate,
//! clipped value loss, entropy bonus, whole-batch advantage normalisation, minibatches over
//! several epochs, and a learning rate adapted to the measured KL divergence.

use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};
use vigor_common::seed::SplitMix64;

use super::adam::Adam;

/// `ln(2 pi) / 2`.
const HALF_LN_2PI: f64 = 0.918_938_533_204_672_7;

/// PPO's hyperparameters (rsl_rl's defaults for legged robots in brackets).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PpoConfig {
    /// Passes over each rollout [5].
    pub epochs: usize,
    /// Minibatches per pass [4].
    pub minibatches: usize,
    /// Ratio clip epsilon, also the value clip [0.2].
    pub clip: f64,
    /// Discount [0.99].
    pub gamma: f64,
    /// GAE lambda [0.95].
    pub lambda: f64,
    /// Value loss coefficient [1.0].
    pub value_coef: f64,
    /// Entropy bonus coefficient [0.01; 0.005 for locomotion].
    pub entropy_coef: f64,
    /// Initial learning rate [1e-3].
    pub learning_rate: f64,
    /// KL the adaptive schedule aims at [0.01].
    pub desired_kl: f64,
    /// Global gradient-norm clip [1.0].
    pub max_grad_norm: f64,
    /// The first this many iterations of a run update only the critic ([`Part::CriticOnly`]):
    /// for a run that starts from a trained actor (`--init-from`) whose critic has not seen
    /// this run's rewards [0; absent in older configurations].
    #[serde(default)]
    pub critic_warmup_iterations: usize,
    /// Left-right symmetry augmentation: every update also trains on the mirror image of each
    /// sample ([`PpoBatch::with_mirror_image`]) [false; absent in older configurations].
    #[serde(default)]
    pub symmetry: bool,
    /// Ceiling on the action noise's standard deviation, per action: after every optimiser step
    /// a log-std above `ln(max_action_std)` is set back to it. The learned noise otherwise only
    /// grows under the entropy bonus (the unified teacher's went from 0.29 to 0.34 over 3 000
    /// iterations). Evaluation and the robot act on the mean, so this changes only what
    /// training explores [none; absent in older configurations].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_action_std: Option<f64>,
}

impl Default for PpoConfig {
    fn default() -> Self {
        Self {
            epochs: 5,
            minibatches: 4,
            clip: 0.2,
            gamma: 0.99,
            lambda: 0.95,
            value_coef: 1.0,
            entropy_coef: 0.005,
            learning_rate: 1e-3,
            desired_kl: 0.01,
            max_grad_norm: 1.0,
            critic_warmup_iterations: 0,
            symmetry: false,
            max_action_std: None,
        }
    }
}

/// A diagonal-Gaussian actor with a critic, over normalised observation rows.
pub trait GaussianPolicy {
    /// Action means, `[B, A]`, for observations `[B, D]`.
    fn mean(&self, obs: &Tensor) -> Tensor;
    /// Log standard deviation per action, `[A]`.
    fn log_std(&self) -> Tensor;
    /// State values, `[B]`, or `[B, G]` with `G` value heads (one per reward group).
    fn value(&self, obs: &Tensor) -> Tensor;
    /// Trainable tensors, in a fixed order (the optimiser's).
    fn parameters(&self) -> Vec<Tensor>;
}

/// One rollout, flattened, for the update. Rows are normalised observations.
#[derive(Debug, Clone, PartialEq)]
pub struct PpoBatch {
    /// Observation size.
    pub obs_dim: usize,
    /// Action size.
    pub act_dim: usize,
    /// `[S * obs_dim]`.
    pub obs: Vec<f32>,
    /// Sampled actions, `[S * act_dim]`.
    pub actions: Vec<f32>,
    /// Means the actions were sampled around, `[S * act_dim]`.
    pub old_mean: Vec<f32>,
    /// Log standard deviation at sampling time, `[act_dim]`.
    pub old_log_std: Vec<f32>,
    /// Log-probabilities of the actions at sampling time, `[S]`.
    pub old_log_prob: Vec<f32>,
    /// Values at sampling time, `[S]`, or `[S * G]` with `G` value heads (row-major).
    pub old_values: Vec<f32>,
    /// GAE advantages, `[S]` (with several heads, the sum of their normalised advantages:
    /// [`super::grouped_gae`]).
    pub advantages: Vec<f32>,
    /// Value targets, as `old_values`.
    pub returns: Vec<f32>,
    /// Rows `0..sampled` were sampled by the policy; the rows after them are mirror images
    /// ([`PpoBatch::with_mirror_image`]). Images train like the rest, but the KL that adapts the
    /// learning rate (and is reported) is measured on the sampled rows alone, as rsl_rl measures
    /// it on the original minibatch: an image's old mean is the mirror of what the policy did,
    /// which an asymmetric policy is far from, and counted it pins the rate at its floor.
    pub sampled: usize,
}

impl PpoBatch {
    /// The batch followed by its mirror image (symmetry augmentation, Mittal et al. 2024): rows
    /// `mirrored_obs` (normalised as the rollout's were), actions and means mirrored, and the
    /// log-probabilities, values, advantages and returns of the originals, as rsl_rl's
    /// augmentation keeps them. The update then trains on `2 S` samples in the same number of
    /// minibatches; `sampled` stays `S`, so the KL is the originals' alone.
    ///
    /// # Panics
    /// If a mirrored vector's length differs from the original's.
    #[must_use]
    pub fn with_mirror_image(
        mut self,
        mirrored_obs: &[f32],
        mirrored_actions: &[f32],
        mirrored_means: &[f32],
    ) -> Self {
        assert_eq!(mirrored_obs.len(), self.obs.len(), "mirrored observations");
        assert_eq!(
            mirrored_actions.len(),
            self.actions.len(),
            "mirrored actions"
        );
        assert_eq!(mirrored_means.len(), self.old_mean.len(), "mirrored means");
        self.obs.extend_from_slice(mirrored_obs);
        self.actions.extend_from_slice(mirrored_actions);
        self.old_mean.extend_from_slice(mirrored_means);
        for v in [
            &mut self.old_log_prob,
            &mut self.old_values,
            &mut self.advantages,
            &mut self.returns,
        ] {
            v.extend_from_within(..);
        }
        self
    }
}

/// What one update did (means over minibatches).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PpoStats {
    /// Clipped surrogate loss.
    pub policy_loss: f64,
    /// Clipped value loss.
    pub value_loss: f64,
    /// Entropy per sample.
    pub entropy: f64,
    /// KL(old || new) per sampled row (mirror images left out: [`PpoBatch::sampled`]).
    pub kl: f64,
    /// Share of samples whose ratio was clipped.
    pub clip_fraction: f64,
    /// Learning rate after the update.
    pub learning_rate: f64,
    /// Gradient norm before clipping.
    pub grad_norm: f64,
}

/// Log-density of `actions` `[B, A]` under a diagonal Gaussian (`mean` `[B, A]`, `log_std`
/// `[A]`), summed over actions: `[B]`.
pub fn gaussian_log_prob(actions: &Tensor, mean: &Tensor, log_std: &Tensor) -> Tensor {
    let z = (actions - mean) / log_std.exp();
    (z.square() * -0.5 - log_std - HALF_LN_2PI).sum_dim_intlist(-1, false, Kind::Float)
}

/// `KL(old || new)` per row for diagonal Gaussians, summed over actions: `[B]`.
pub fn gaussian_kl(
    old_mean: &Tensor,
    old_log_std: &Tensor,
    new_mean: &Tensor,
    new_log_std: &Tensor,
) -> Tensor {
    let old_var = (old_log_std * 2.0).exp();
    let new_var = (new_log_std * 2.0).exp();
    let kl = new_log_std - old_log_std
        + (old_var + (old_mean - new_mean).square()) / (new_var * 2.0)
        - 0.5;
    kl.sum_dim_intlist(-1, false, Kind::Float)
}

/// PPO's clipped surrogate loss (to minimise): `-mean(min(r A, clip(r, 1-e, 1+e) A))`.
pub fn clipped_surrogate(ratio: &Tensor, advantages: &Tensor, clip: f64) -> Tensor {
    let unclipped = ratio * advantages;
    let clipped = ratio.clamp(1.0 - clip, 1.0 + clip) * advantages;
    -unclipped.minimum(&clipped).mean(Kind::Float)
}

/// The clipped value loss: `mean(max((v - R)^2, (v_old + clip(v - v_old, -e, e) - R)^2))`.
pub fn clipped_value_loss(
    values: &Tensor,
    old_values: &Tensor,
    returns: &Tensor,
    clip: f64,
) -> Tensor {
    let clipped = old_values + (values - old_values).clamp(-clip, clip);
    let a = (values - returns).square();
    let b = (clipped - returns).square();
    a.maximum(&b).mean(Kind::Float)
}

/// rsl_rl's adaptive schedule: divide by 1.5 when `kl > 2 desired` (floor 1e-5), multiply by
/// 1.5 when `kl < desired / 2` (ceiling 1e-2), else keep.
#[must_use]
pub fn adapt_learning_rate(lr: f64, kl: f64, desired: f64) -> f64 {
    if kl > 2.0 * desired {
        (lr / 1.5).max(1e-5)
    } else if kl < desired / 2.0 && kl >= 0.0 {
        (lr * 1.5).min(1e-2)
    } else {
        lr
    }
}

/// Sets every entry of `log_std` (a parameter, changed in place) above `ln(cap)` back to it.
pub fn cap_log_std(log_std: &Tensor, cap: f64) {
    tch::no_grad(|| {
        let _ = log_std.shallow_clone().clamp_max_(cap.ln());
    });
}

fn tensor2(values: &[f32], rows: usize, cols: usize, device: Device) -> Tensor {
    Tensor::from_slice(values)
        .view([rows as i64, cols as i64])
        .to(device)
}

/// What an update trains.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// Actor and critic: PPO.
    Both,
    /// Only the critic, on the value loss, at a fixed learning rate: the warm-up of a run that
    /// starts from a trained actor whose critic has not seen this run's rewards. The actor and
    /// its action noise stay as they are (the stats still report the surrogate and KL, which
    /// stay at their no-change values).
    CriticOnly,
}

/// One PPO update of `part` of `model` from `batch`: advantages normalised over the batch,
/// `epochs` passes of `minibatches` shuffled minibatches (order from `seed`), learning rate `lr`
/// adapted after every minibatch when `desired_kl > 0` (and the actor trains), from the KL of the
/// minibatch's sampled rows (not mirror images: [`PpoBatch::sampled`]). `params` must be
/// `model.parameters()` in `adam`'s order.
///
/// # Panics
/// If the batch is empty or its vectors disagree in length.
pub fn ppo_update<P: GaussianPolicy>(
    model: &P,
    adam: &mut Adam,
    cfg: &PpoConfig,
    batch: &PpoBatch,
    lr: &mut f64,
    (seed, part): (u64, Part),
) -> PpoStats {
    let s = batch.old_log_prob.len();
    assert!(s > 0, "empty rollout");
    assert_eq!(batch.obs.len(), s * batch.obs_dim, "observation rows");
    assert_eq!(batch.actions.len(), s * batch.act_dim, "action rows");
    // Everything on the model's device (the CPU unless it was built on CUDA).
    let device = model.log_std().device();
    let obs = tensor2(&batch.obs, s, batch.obs_dim, device);
    let actions = tensor2(&batch.actions, s, batch.act_dim, device);
    let old_mean = tensor2(&batch.old_mean, s, batch.act_dim, device);
    let vector = |v: &[f32]| Tensor::from_slice(v).to(device);
    let old_log_std = vector(&batch.old_log_std);
    let old_log_prob = vector(&batch.old_log_prob);
    // One value head: `[S]`, as the model's `[B]` values; several: `[S, G]`.
    let heads = batch.old_values.len() / s;
    assert!(
        heads > 0 && batch.old_values.len() == s * heads && batch.returns.len() == s * heads,
        "values and returns are not whole heads"
    );
    let per_head = |v: &[f32]| {
        if heads == 1 {
            vector(v)
        } else {
            tensor2(v, s, heads, device)
        }
    };
    let old_values = per_head(&batch.old_values);
    let returns = per_head(&batch.returns);
    let adv = vector(&batch.advantages);
    let adv = (&adv - adv.mean(Kind::Float)) / (adv.std(true) + 1e-8);

    let mut params = model.parameters();
    let mut rng = SplitMix64::new(seed);
    let mut stats = PpoStats::default();
    let mut count = 0.0;
    let mut kl_count = 0.0;
    let sampled = batch.sampled.min(s) as i64;
    let mb_size = s.div_ceil(cfg.minibatches.max(1));
    for _ in 0..cfg.epochs {
        // Fisher-Yates from the seeded stream.
        let mut order: Vec<i64> = (0..s as i64).collect();
        for i in (1..s).rev() {
            let j = (rng.next_u64() % (i as u64 + 1)) as usize;
            order.swap(i, j);
        }
        for chunk in order.chunks(mb_size) {
            let idx = Tensor::from_slice(chunk).to(device);
            let mean = model.mean(&obs.index_select(0, &idx));
            let log_std = model.log_std();
            // The KL of the sampled rows; none in this minibatch (only images): no adaptation.
            let own: Vec<i64> = (0..chunk.len() as i64)
                .filter(|&k| chunk[k as usize] < sampled)
                .collect();
            let kl = (!own.is_empty()).then(|| {
                tch::no_grad(|| {
                    let own = Tensor::from_slice(&own).to(device);
                    gaussian_kl(
                        &old_mean.index_select(0, &idx).index_select(0, &own),
                        &old_log_std,
                        &mean.index_select(0, &own),
                        &log_std,
                    )
                    .mean(Kind::Float)
                    .double_value(&[])
                })
            });
            if let Some(kl) = kl {
                if cfg.desired_kl > 0.0 && part == Part::Both {
                    *lr = adapt_learning_rate(*lr, kl, cfg.desired_kl);
                }
                stats.kl += kl;
                kl_count += 1.0;
            }
            let log_prob = gaussian_log_prob(&actions.index_select(0, &idx), &mean, &log_std);
            let ratio = (log_prob - old_log_prob.index_select(0, &idx)).exp();
            let mb_adv = adv.index_select(0, &idx);
            let policy_loss = clipped_surrogate(&ratio, &mb_adv, cfg.clip);
            let values = model.value(&obs.index_select(0, &idx));
            let value_loss = clipped_value_loss(
                &values,
                &old_values.index_select(0, &idx),
                &returns.index_select(0, &idx),
                cfg.clip,
            );
            let entropy = (&log_std + 0.5 + HALF_LN_2PI).sum(Kind::Float);
            let loss = match part {
                Part::Both => {
                    &policy_loss + &value_loss * cfg.value_coef - &entropy * cfg.entropy_coef
                }
                // Only the critic's parameters get a gradient; Adam leaves the others alone.
                Part::CriticOnly => &value_loss * cfg.value_coef,
            };
            loss.backward();
            stats.grad_norm += Adam::clip_grad_norm(&params, cfg.max_grad_norm);
            adam.step(&mut params, *lr);
            if let (Some(cap), Part::Both) = (cfg.max_action_std, part) {
                cap_log_std(&model.log_std(), cap);
            }
            stats.policy_loss += policy_loss.double_value(&[]);
            stats.value_loss += value_loss.double_value(&[]);
            stats.entropy += entropy.double_value(&[]);
            stats.clip_fraction += tch::no_grad(|| {
                (ratio - 1.0)
                    .abs()
                    .gt(cfg.clip)
                    .to_kind(Kind::Float)
                    .mean(Kind::Float)
                    .double_value(&[])
            });
            count += 1.0;
        }
    }
    stats.kl /= f64::max(kl_count, 1.0);
    for x in [
        &mut stats.policy_loss,
        &mut stats.value_loss,
        &mut stats.entropy,
        &mut stats.clip_fraction,
        &mut stats.grad_norm,
    ] {
        *x /= count;
    }
    stats.learning_rate = *lr;
    stats
}
