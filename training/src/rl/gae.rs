//! Generalised advantage estimation (Schulman et al. 2016) over a `[T][N]` rollout.

/// Advantages and the value targets (returns) they imply, `[T][N]` flattened step-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Advantages {
    /// `A_t`.
    pub advantages: Vec<f32>,
    /// `A_t + V(s_t)`, the critic's targets.
    pub returns: Vec<f32>,
}

/// GAE for `steps` x `envs` transitions stored step-major (`index = t * envs + i`).
///
/// `dones[t, i]` is 1 when the episode ended at step `t` (no bootstrapping past it); a time-out
/// should already have `gamma * V(s_{t+1})` added to its reward (rsl_rl's convention) and a done
/// of 1. `last_values[i]` is `V(s_T)` after the last step.
///
/// `delta_t = r_t + gamma (1 - d_t) V_{t+1} - V_t`, `A_t = delta_t + gamma lambda (1 - d_t) A_{t+1}`.
///
/// # Panics
/// If the slices do not hold `steps * envs` values (`envs` for `last_values`).
#[must_use]
pub fn gae(
    rewards: &[f32],
    values: &[f32],
    dones: &[f32],
    last_values: &[f32],
    envs: usize,
    gamma: f32,
    lambda: f32,
) -> Advantages {
    let total = rewards.len();
    assert!(
        envs > 0 && total.is_multiple_of(envs),
        "rollout is not whole steps"
    );
    assert_eq!(values.len(), total, "one value per transition");
    assert_eq!(dones.len(), total, "one done per transition");
    assert_eq!(
        last_values.len(),
        envs,
        "one bootstrap value per environment"
    );
    let steps = total / envs;
    let mut advantages = vec![0.0f32; total];
    let mut next_adv = vec![0.0f32; envs];
    let mut next_value = last_values.to_vec();
    for t in (0..steps).rev() {
        for i in 0..envs {
            let k = t * envs + i;
            let live = 1.0 - dones[k];
            let delta = rewards[k] + gamma * live * next_value[i] - values[k];
            let a = delta + gamma * lambda * live * next_adv[i];
            advantages[k] = a;
            next_adv[i] = a;
            next_value[i] = values[k];
        }
    }
    let returns = advantages.iter().zip(values).map(|(a, v)| a + v).collect();
    Advantages {
        advantages,
        returns,
    }
}

/// HoST's multi-critic advantages: GAE per value head over `[T][N][G]` rewards and values
/// (step-major, heads innermost; `dones` and `last_values` as for [`gae`], `last_values` with `G`
/// per environment), each head's advantages normalised to mean 0 and standard deviation 1 over the
/// rollout, then summed. The advantages are `[T][N]`; the returns stay per head, `[T][N][G]`.
///
/// With one head this is [`gae`] (not normalised: PPO normalises the sum anyway).
///
/// # Panics
/// As [`gae`], per head, or if `heads` is 0 or does not divide the slices.
#[must_use]
pub fn grouped_gae(
    rewards: &[f32],
    values: &[f32],
    dones: &[f32],
    last_values: &[f32],
    (envs, heads): (usize, usize),
    gamma: f32,
    lambda: f32,
) -> Advantages {
    if heads == 1 {
        return gae(rewards, values, dones, last_values, envs, gamma, lambda);
    }
    assert!(
        heads > 0 && rewards.len().is_multiple_of(heads),
        "rewards are not whole heads"
    );
    let total = rewards.len() / heads;
    let column = |v: &[f32], g: usize| v.iter().skip(g).step_by(heads).copied().collect::<Vec<_>>();
    let mut advantages = vec![0.0f32; total];
    let mut returns = vec![0.0f32; total * heads];
    for g in 0..heads {
        let one = gae(
            &column(rewards, g),
            &column(values, g),
            dones,
            &column(last_values, g),
            envs,
            gamma,
            lambda,
        );
        let n = one.advantages.len() as f64;
        let mean = one.advantages.iter().map(|&a| f64::from(a)).sum::<f64>() / n;
        let var = one
            .advantages
            .iter()
            .map(|&a| (f64::from(a) - mean).powi(2))
            .sum::<f64>()
            / (n - 1.0).max(1.0);
        let scale = 1.0 / (var.sqrt() + 1e-8);
        for (sum, &a) in advantages.iter_mut().zip(&one.advantages) {
            *sum += ((f64::from(a) - mean) * scale) as f32;
        }
        for (k, r) in one.returns.into_iter().enumerate() {
            returns[k * heads + g] = r;
        }
    }
    Advantages {
        advantages,
        returns,
    }
}
