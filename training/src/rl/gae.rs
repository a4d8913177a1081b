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
