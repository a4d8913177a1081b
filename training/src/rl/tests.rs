//! The formulas against values worked by hand, and PPO learning a one-step task.

use tch::{Kind, Tensor};
use vigor_common::seed::SplitMix64;

use super::*;

pub(super) fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

fn t(values: &[f32]) -> Tensor {
    Tensor::from_slice(values)
}

#[test]
fn gae_matches_hand_worked_values() {
    // gamma 0.9, lambda 0.5; the episode ends at step 2, so V_3 = 10 is never used.
    // t=2: delta = 2 - 0 = 2, A = 2.
    // t=1: delta = 0 + 0.9 * 0 - 1 = -1, A = -1 + 0.45 * 2 = -0.1.
    // t=0: delta = 1 + 0.9 * 1 - 0.5 = 1.4, A = 1.4 + 0.45 * -0.1 = 1.355.
    let a = gae(
        &[1.0, 0.0, 2.0],
        &[0.5, 1.0, 0.0],
        &[0.0, 0.0, 1.0],
        &[10.0],
        1,
        0.9,
        0.5,
    );
    let expect = [1.355, -0.1, 2.0];
    for (got, want) in a.advantages.iter().zip(expect) {
        assert!(close(f64::from(*got), want, 1e-6), "{:?}", a.advantages);
    }
    let returns = [1.855, 0.9, 2.0];
    for (got, want) in a.returns.iter().zip(returns) {
        assert!(close(f64::from(*got), want, 1e-6), "{:?}", a.returns);
    }
}

#[test]
fn gae_bootstraps_unfinished_episodes_and_keeps_envs_apart() {
    // Two envs, one step, step-major: env 0 unfinished (bootstrap 2), env 1 done.
    // env 0: delta = 1 + 0.5 * 2 - 0 = 2; env 1: delta = 1 - 0.25 = 0.75.
    let a = gae(
        &[1.0, 1.0],
        &[0.0, 0.25],
        &[0.0, 1.0],
        &[2.0, 100.0],
        2,
        0.5,
        0.9,
    );
    assert_eq!(a.advantages, vec![2.0, 0.75]);
    assert_eq!(a.returns, vec![2.0, 1.0]);
}

#[test]
fn clipped_surrogate_matches_hand_worked_values() {
    // min(0.5, 0.8) = 0.5; min(1.5, 1.2) = 1.2; min(-2, -2) = -2; mean -0.1, loss 0.1.
    let loss = clipped_surrogate(&t(&[0.5, 1.5, 1.0]), &t(&[1.0, 1.0, -2.0]), 0.2);
    assert!(close(loss.double_value(&[]), 0.1, 1e-6));
    // A negative advantage with a small ratio takes the clipped (worse) value: -0.8.
    let loss = clipped_surrogate(&t(&[0.5]), &t(&[-1.0]), 0.2);
    assert!(close(loss.double_value(&[]), 0.8, 1e-6));
}

#[test]
fn clipped_value_loss_takes_the_larger_error() {
    // v 1.0 from 0.0 toward 0.5: unclipped 0.25, clipped (0.2 - 0.5)^2 = 0.09 -> 0.25.
    let l = clipped_value_loss(&t(&[1.0]), &t(&[0.0]), &t(&[0.5]), 0.2);
    assert!(close(l.double_value(&[]), 0.25, 1e-6));
    // v 0.3 toward 1.0: unclipped 0.49, clipped (0.2 - 1)^2 = 0.64 -> 0.64.
    let l = clipped_value_loss(&t(&[0.3]), &t(&[0.0]), &t(&[1.0]), 0.2);
    assert!(close(l.double_value(&[]), 0.64, 1e-6));
}

#[test]
fn gaussian_density_and_kl_match_closed_forms() {
    // N(0, 1) at 1: -1/2 - ln(2 pi)/2 = -1.418 938 5.
    let lp = gaussian_log_prob(&t(&[1.0]).view([1, 1]), &t(&[0.0]).view([1, 1]), &t(&[0.0]));
    assert!(close(lp.double_value(&[0]), -1.418_938_5, 1e-6));
    // KL(N(0,1) || N(1,4)) = ln 2 + (1 + 1) / 8 - 1/2 = 0.443 147 2.
    let kl = gaussian_kl(
        &t(&[0.0]).view([1, 1]),
        &t(&[0.0]),
        &t(&[1.0]).view([1, 1]),
        &t(&[std::f32::consts::LN_2]),
    );
    assert!(close(kl.double_value(&[0]), 0.443_147_2, 1e-6));
    // Identical distributions: zero.
    let kl = gaussian_kl(
        &t(&[0.3, -1.0]).view([1, 2]),
        &t(&[0.1, 0.2]),
        &t(&[0.3, -1.0]).view([1, 2]),
        &t(&[0.1, 0.2]),
    );
    assert!(kl.double_value(&[0]).abs() < 1e-7);
}

#[test]
fn learning_rate_adapts_to_kl() {
    assert!(close(
        adapt_learning_rate(1e-3, 0.03, 0.01),
        1e-3 / 1.5,
        1e-12
    ));
    assert!(close(adapt_learning_rate(1e-3, 0.004, 0.01), 1.5e-3, 1e-12));
    assert_eq!(adapt_learning_rate(1e-3, 0.01, 0.01), 1e-3);
    assert_eq!(adapt_learning_rate(1.2e-5, 1.0, 0.01), 1e-5);
    assert_eq!(adapt_learning_rate(9e-3, 0.0, 0.01), 1e-2);
}

#[test]
fn adam_first_step_moves_each_parameter_by_lr_against_its_gradient() {
    // After one step m_hat = g and v_hat = g^2, so the update is lr * g / (|g| + eps).
    let p = t(&[1.0, -2.0]).set_requires_grad(true);
    let mut adam = Adam::new(&[("p".to_owned(), p.shallow_clone())]);
    (&p * t(&[3.0, -0.5])).sum(Kind::Float).backward();
    let mut params = vec![p.shallow_clone()];
    let norm = Adam::clip_grad_norm(&params, 0.0);
    assert!(close(norm, (9.0f64 + 0.25).sqrt(), 1e-6));
    adam.step(&mut params, 0.1);
    let after = Vec::<f32>::try_from(&p.detach()).unwrap();
    assert!(
        close(f64::from(after[0]), 0.9, 1e-6) && close(f64::from(after[1]), -1.9, 1e-6),
        "{after:?}"
    );
    assert_eq!(adam.t, 1);
}

#[test]
fn running_norm_merges_batches_like_one_batch() {
    let a = [1.0f32, 10.0, 2.0, 20.0, 3.0, 30.0];
    let b = [4.0f32, 40.0, 5.0, 50.0];
    let mut split = RunningNorm::new(2);
    split.update(&a);
    split.update(&b);
    // Column 0 is 1..=5: mean 3, population variance 2; column 1 is ten times that.
    assert!(close(split.mean[0], 3.0, 1e-12) && close(split.var[0], 2.0, 1e-12));
    assert!(close(split.mean[1], 30.0, 1e-9) && close(split.var[1], 200.0, 1e-9));
    assert_eq!(split.count, 5.0);
    let mut row = [5.0f32, 1000.0];
    split.apply(&mut row);
    assert!(close(
        f64::from(row[0]),
        2.0 / (2.0f64 + split.epsilon).sqrt(),
        1e-6
    ));
    assert_eq!(row[1], 5.0, "clipped at 5");
}

/// A policy that ignores its observation: one mean, one log-std, one value per head.
pub(super) struct Bandit {
    mu: Tensor,
    log_std: Tensor,
    v: Tensor,
}

impl GaussianPolicy for Bandit {
    fn mean(&self, obs: &Tensor) -> Tensor {
        obs.zeros_like() + &self.mu
    }
    fn log_std(&self) -> Tensor {
        self.log_std.shallow_clone()
    }
    fn value(&self, obs: &Tensor) -> Tensor {
        let heads = self.v.size()[0];
        if heads == 1 {
            obs.zeros_like().squeeze_dim(-1) + &self.v
        } else {
            obs.zeros_like() + self.v.view([1, heads])
        }
    }
    fn parameters(&self) -> Vec<Tensor> {
        vec![
            self.mu.shallow_clone(),
            self.log_std.shallow_clone(),
            self.v.shallow_clone(),
        ]
    }
}

/// `iterations` critic-only updates of `model` on `batch`; returns the learning rate after them.
fn critic_only(
    model: &Bandit,
    adam: &mut Adam,
    cfg: &PpoConfig,
    batch: &PpoBatch,
    iterations: u64,
) -> f64 {
    let mut lr = cfg.learning_rate;
    for it in 0..iterations {
        ppo_update(model, adam, cfg, batch, &mut lr, (it, Part::CriticOnly));
    }
    lr
}

/// A bandit at mean 0, log-std 0 and value 0, with its optimiser.
pub(super) fn bandit() -> (Bandit, Adam) {
    bandit_with_heads(1)
}

/// [`bandit`] with `heads` values.
fn bandit_with_heads(heads: i64) -> (Bandit, Adam) {
    let zeros = |n| Tensor::zeros([n], (Kind::Float, tch::Device::Cpu)).set_requires_grad(true);
    let model = Bandit {
        mu: zeros(1),
        log_std: zeros(1),
        v: zeros(heads),
    };
    let named: Vec<(String, Tensor)> = ["mu", "log_std", "v"]
        .iter()
        .zip(model.parameters())
        .map(|(n, p)| ((*n).to_owned(), p))
        .collect();
    let adam = Adam::new(&named);
    (model, adam)
}

/// `n` one-step episodes at observation `obs`, actions sampled (seeded by `rng`) from a Gaussian
/// at `mu` with log-std `ls`, valued `v` and rewarded by `reward`, as a PPO batch.
pub(super) fn one_step_batch(
    (mu, ls, v): (f32, f32, f32),
    (n, obs): (usize, f32),
    rng: &mut SplitMix64,
    reward: impl Fn(f32) -> f32,
) -> PpoBatch {
    let actions: Vec<f32> = (0..n)
        .map(|_| {
            let u1 = 1.0 - rng.next_f32();
            let u2 = rng.next_f32();
            mu + ls.exp() * (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
        })
        .collect();
    let rewards: Vec<f32> = actions.iter().map(|&a| reward(a)).collect();
    let old_log_prob = Vec::<f32>::try_from(&gaussian_log_prob(
        &t(&actions).view([n as i64, 1]),
        &Tensor::full(
            [n as i64, 1],
            f64::from(mu),
            (Kind::Float, tch::Device::Cpu),
        ),
        &t(&[ls]),
    ))
    .unwrap();
    let values = vec![v; n];
    let adv = gae(
        &rewards,
        &values,
        &vec![1.0; n],
        &vec![0.0; n],
        n,
        0.99,
        0.95,
    );
    PpoBatch {
        obs_dim: 1,
        act_dim: 1,
        obs: vec![obs; n],
        actions,
        old_mean: vec![mu; n],
        old_log_std: vec![ls],
        old_log_prob,
        old_values: values,
        advantages: adv.advantages,
        returns: adv.returns,
        sampled: n,
    }
}

/// 256 one-step episodes of the bandit `model` ([`one_step_batch`]).
pub(super) fn bandit_batch(
    model: &Bandit,
    rng: &mut SplitMix64,
    reward: impl Fn(f32) -> f32,
) -> PpoBatch {
    let value = |t: &Tensor| t.double_value(&[0]) as f32;
    let state = (value(&model.mu), value(&model.log_std), value(&model.v));
    one_step_batch(state, (256, 0.0), rng, reward)
}

#[test]
fn ppo_moves_the_mean_to_the_rewarded_action() {
    // One-step episodes with reward -(a - 0.5)^2: the mean should go from 0 to about 0.5.
    let (model, mut adam) = bandit();
    let cfg = PpoConfig {
        learning_rate: 3e-2,
        desired_kl: 0.0,
        entropy_coef: 0.0,
        ..PpoConfig::default()
    };
    let mut lr = cfg.learning_rate;
    let mut rng = SplitMix64::new(5);
    for it in 0..60 {
        let batch = bandit_batch(&model, &mut rng, |a| -(a - 0.5) * (a - 0.5));
        let stats = ppo_update(&model, &mut adam, &cfg, &batch, &mut lr, (it, Part::Both));
        assert!(stats.kl.is_finite() && stats.policy_loss.is_finite());
    }
    let mu = model.mu.double_value(&[0]);
    assert!((mu - 0.5).abs() < 0.1, "mean {mu}");
    assert!(
        model.log_std.double_value(&[0]) < 0.0,
        "exploration narrows"
    );
}

#[test]
fn the_action_noise_stays_under_its_ceiling() {
    // A reward that rises with the action, and a large entropy bonus that widens the noise
    // every step; the ceiling holds the noise, and leaves the mean and the critic training.
    let run = |max_action_std: Option<f64>| {
        let (model, mut adam) = bandit();
        let cfg = PpoConfig {
            learning_rate: 3e-2,
            desired_kl: 0.0,
            entropy_coef: 0.5,
            max_action_std,
            ..PpoConfig::default()
        };
        let mut lr = cfg.learning_rate;
        let mut rng = SplitMix64::new(9);
        for it in 0..20 {
            let batch = bandit_batch(&model, &mut rng, |a| 1.0 + a);
            ppo_update(&model, &mut adam, &cfg, &batch, &mut lr, (it, Part::Both));
        }
        (
            model.log_std.double_value(&[0]).exp(),
            model.mu.double_value(&[0]),
            model.v.double_value(&[0]),
        )
    };
    let (free, _, _) = run(None);
    assert!(
        free > 1.5,
        "without a ceiling the bonus widens the noise: {free}"
    );
    let (capped, mu, v) = run(Some(0.5));
    assert!((capped - 0.5).abs() < 1e-5, "held at the ceiling: {capped}");
    assert!(mu > 0.1, "the mean still moves to the reward: {mu}");
    assert!(v > 0.1, "the critic still learns: {v}");
    // The critic's warm-up leaves the actor as it is, noise above the ceiling included.
    let (model, mut adam) = bandit();
    let cfg = PpoConfig {
        max_action_std: Some(0.5),
        ..PpoConfig::default()
    };
    let batch = bandit_batch(&model, &mut SplitMix64::new(9), |_| 1.0);
    critic_only(&model, &mut adam, &cfg, &batch, 3);
    assert_eq!(model.log_std.double_value(&[0]), 0.0, "critic-only");
}

#[test]
fn a_critic_only_update_moves_the_value_and_leaves_the_actor_and_learning_rate() {
    let (model, mut adam) = bandit();
    let cfg = PpoConfig {
        learning_rate: 1e-2,
        ..PpoConfig::default()
    };
    let n = 64;
    // Returns of 2 everywhere, actions spread around a mean of 0 with mixed advantages: a full
    // update would move the mean and the noise; the critic-only one must move only the value.
    let actions: Vec<f32> = (0..n).map(|i| (i as f32 / n as f32) - 0.5).collect();
    let old_log_prob = Vec::<f32>::try_from(&gaussian_log_prob(
        &t(&actions).view([n as i64, 1]),
        &Tensor::zeros([n as i64, 1], (Kind::Float, tch::Device::Cpu)),
        &t(&[0.0]),
    ))
    .unwrap();
    let batch = PpoBatch {
        obs_dim: 1,
        act_dim: 1,
        obs: vec![0.0; n],
        actions: actions.clone(),
        old_mean: vec![0.0; n],
        old_log_std: vec![0.0],
        old_log_prob,
        old_values: vec![0.0; n],
        advantages: actions.iter().map(|a| a * 3.0).collect(),
        returns: vec![2.0; n],
        sampled: n,
    };
    let mut lr = critic_only(&model, &mut adam, &cfg, &batch, 20);
    assert_eq!(model.mu.double_value(&[0]), 0.0);
    assert_eq!(model.log_std.double_value(&[0]), 0.0);
    assert_eq!(
        lr, cfg.learning_rate,
        "no KL adaptation without an actor step"
    );
    assert!(
        model.v.double_value(&[0]) > 0.1,
        "the value moves toward the returns"
    );
    ppo_update(&model, &mut adam, &cfg, &batch, &mut lr, (99, Part::Both));
    assert!(
        model.mu.double_value(&[0]) > 0.0,
        "a full update moves the mean after it"
    );
}

#[test]
fn grouped_gae_normalises_each_head_then_sums_them() {
    // Head 0 is the hand-worked episode above; head 1 the same ten times larger. Normalised, a
    // head ten times larger counts the same: the sum is twice head 0's normalised advantages.
    let (r0, v0) = ([1.0, 0.0, 2.0], [0.5, 1.0, 0.0]);
    let interleave = |a: [f32; 3]| -> Vec<f32> { a.iter().flat_map(|x| [*x, 10.0 * x]).collect() };
    let dones = [0.0, 0.0, 1.0];
    let a = grouped_gae(
        &interleave(r0),
        &interleave(v0),
        &dones,
        &[10.0, 100.0],
        (1, 2),
        0.9,
        0.5,
    );
    let one = [1.355f64, -0.1, 2.0];
    let mean = one.iter().sum::<f64>() / 3.0;
    let std = (one.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 2.0).sqrt();
    for (got, x) in a.advantages.iter().zip(one) {
        assert!(
            close(f64::from(*got), 2.0 * (x - mean) / std, 1e-5),
            "{:?}",
            a.advantages
        );
    }
    let returns = [1.855f64, 18.55, 0.9, 9.0, 2.0, 20.0];
    for (got, want) in a.returns.iter().zip(returns) {
        assert!(close(f64::from(*got), want, 1e-4), "{:?}", a.returns);
    }
    // One head is plain GAE.
    let plain = gae(&r0, &v0, &dones, &[10.0], 1, 0.9, 0.5);
    assert_eq!(
        grouped_gae(&r0, &v0, &dones, &[10.0], (1, 1), 0.9, 0.5),
        plain
    );
}

#[test]
fn each_value_head_learns_its_own_returns() {
    let (model, mut adam) = bandit_with_heads(2);
    let cfg = PpoConfig {
        learning_rate: 5e-2,
        ..PpoConfig::default()
    };
    let n = 32;
    let batch = PpoBatch {
        obs_dim: 1,
        act_dim: 1,
        obs: vec![0.0; n],
        actions: vec![0.0; n],
        old_mean: vec![0.0; n],
        old_log_std: vec![0.0],
        // The density of action 0 at mean 0 and log-std 0: ln(1 / sqrt(2 pi)).
        old_log_prob: vec![-0.918_938_5; n],
        old_values: vec![0.0; 2 * n],
        advantages: vec![0.0; n],
        // Head 0's returns are 1, head 1's are -1.
        returns: (0..n).flat_map(|_| [1.0, -1.0]).collect(),
        sampled: n,
    };
    critic_only(&model, &mut adam, &cfg, &batch, 30);
    // Each head moves toward its own returns, as far as the value clip (0.2 from the old values)
    // lets a critic step.
    let v = Vec::<f32>::try_from(&model.v.detach()).unwrap();
    assert!(v[0] > 0.1 && v[1] < -0.1, "heads {v:?}");
}
