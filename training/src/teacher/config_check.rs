//! The checks of `configs/teacher.toml` ([`TeacherConfig`]'s [`Validate`]): every range, the
//! names of scenarios, demonstrations and reward terms, and the consistency between sections;
//! errors name the file, the dotted key and what is allowed.

use vigor_common::config::{self, ConfigError, Validate, check_range};

use super::config::{REWARD_COUNT, TeacherConfig, TeacherParams};
use crate::demos::authored::shipped_names;

/// Checks `model.critic_groups`: empty, or 2..=8 groups that split the reward terms that are on
/// (a term whose weight is 0 may be left out; the first group takes it).
fn check_critic_groups(
    file: &str,
    groups: &[Vec<String>],
    rewards: &super::config::RewardWeights,
) -> Result<(), ConfigError> {
    if groups.is_empty() {
        return Ok(());
    }
    let key = "model.critic_groups";
    let terms = super::task::REWARD_TERMS;
    if !(2..=8).contains(&groups.len()) {
        return Err(config::inconsistent(
            file,
            key,
            format!("{} groups: allowed 2..=8 (or none)", groups.len()),
        ));
    }
    let mut seen = [false; REWARD_COUNT];
    for (g, group) in groups.iter().enumerate() {
        if group.is_empty() {
            return Err(config::inconsistent(
                file,
                key,
                format!("group {g} is empty"),
            ));
        }
        for name in group {
            let Some(k) = terms.iter().position(|t| t == name) else {
                return Err(config::inconsistent(
                    file,
                    key,
                    format!("unknown reward term `{name}`: allowed {}", terms.join(", ")),
                ));
            };
            if std::mem::replace(&mut seen[k], true) {
                return Err(config::inconsistent(
                    file,
                    key,
                    format!("`{name}` is in more than one group"),
                ));
            }
        }
    }
    // A term that is off may be left out (the first group takes it): `pit` came after the
    // multi-critic configurations.
    let missing: Vec<&str> = terms
        .iter()
        .zip(seen)
        .zip(rewards.weights())
        .filter(|((_, s), (_, w))| !s && *w != 0.0)
        .map(|((t, _), _)| *t)
        .collect();
    if !missing.is_empty() {
        return Err(config::inconsistent(
            file,
            key,
            format!(
                "every reward term needs a group; missing {}",
                missing.join(", ")
            ),
        ));
    }
    Ok(())
}

fn check_layers(file: &str, key: &str, layers: &[usize]) -> Result<(), ConfigError> {
    check_range(file, &format!("{key} (layers)"), layers.len(), 1, 8)?;
    for (i, &n) in layers.iter().enumerate() {
        check_range(file, &format!("{key}[{i}]"), n, 1, 4096)?;
    }
    Ok(())
}

impl Validate for TeacherConfig {
    type Checked = TeacherParams;

    fn validate(&self, file: &str) -> Result<TeacherParams, ConfigError> {
        check_range(file, "envs", self.envs, 1, 4096)?;
        check_range(file, "threads", self.threads, 0, 1024)?;
        check_range(file, "iterations", self.iterations, 1, 1_000_000)?;
        check_range(file, "checkpoint_every", self.checkpoint_every, 1, 10_000)?;
        check_range(file, "torch_threads", self.torch_threads, 1, 64)?;
        check_critic_groups(file, &self.model.critic_groups, &self.rewards)?;
        check_range(file, "sim.start_pool", self.sim.start_pool, 0, 4096)?;
        if let Some(hz) = self.sim.physics_rate_hz {
            let r = vigor_sim::config::PHYSICS_RATE_HZ;
            check_range(file, "sim.physics_rate_hz", hz, *r.start(), *r.end())?;
            if !hz.is_multiple_of(50) {
                return Err(config::inconsistent(
                    file,
                    "sim.physics_rate_hz",
                    format!("{hz} Hz is not a multiple of the 50 Hz policy rate"),
                ));
            }
            // Stiff PD topples the robot below 500 Hz (docs/simulator-performance.md, "Physics
            // rate"); the description's own gains were measured to hold at 250 Hz.
            if hz < 500 && self.task.kp_scale > 1.0 {
                return Err(config::inconsistent(
                    file,
                    "sim.physics_rate_hz",
                    format!(
                        "{hz} Hz with task.kp_scale = {}: below 500 Hz the gains must stay at \
                         the description's (kp_scale <= 1); stiffer PD topples the robot there",
                        self.task.kp_scale
                    ),
                ));
            }
        }
        let t = &self.task;
        if t.scenarios.is_empty() {
            return Err(config::inconsistent(
                file,
                "task.scenarios",
                "list at least one scenario",
            ));
        }
        let known = shipped_names();
        if t.demos.is_empty() {
            return Err(config::inconsistent(
                file,
                "task.demos",
                "list at least one demonstration",
            ));
        }
        for (i, d) in t.demos.iter().enumerate() {
            if !known.contains(d) {
                return Err(ConfigError::OutOfRange {
                    file: file.to_owned(),
                    key: format!("task.demos[{i}]"),
                    value: d.clone(),
                    allowed: format!("one of {}", known.join(", ")),
                });
            }
            if t.demos[..i].contains(d) {
                return Err(config::inconsistent(
                    file,
                    &format!("task.demos[{i}]"),
                    format!("`{d}` is listed twice"),
                ));
            }
        }
        check_range(file, "task.episode_s", t.episode_s, 1.0, 30.0)?;
        check_range(
            file,
            "task.reference_duration_s",
            t.reference_duration_s,
            0.5,
            30.0,
        )?;
        check_range(
            file,
            "task.keyframe_spacing_s",
            t.keyframe_spacing_s,
            0.05,
            5.0,
        )?;
        check_range(
            file,
            "task.reference_start_share",
            t.reference_start_share,
            0.0,
            1.0,
        )?;
        check_range(
            file,
            "task.fall_reference_start_share",
            t.fall_reference_start_share,
            0.0,
            1.0,
        )?;
        check_range(
            file,
            "task.fall_reference_phase_max",
            t.fall_reference_phase_max,
            0.05,
            1.0,
        )?;
        let [lo, hi] = t.push_force_n;
        check_range(file, "task.push_force_n[0]", lo, 50.0, 2000.0)?;
        check_range(file, "task.push_force_n[1]", hi, lo, 2000.0)?;
        let [lo, hi] = t.lying_offset_m;
        check_range(file, "task.lying_offset_m[0]", lo, 0.0, 1.8)?;
        check_range(file, "task.lying_offset_m[1]", hi, lo, 1.8)?;
        if let Some(r) = &t.reanchor {
            check_range(file, "task.reanchor.after_s", r.after_s, 0.0, 5.0)?;
            check_range(
                file,
                "task.reanchor.lying_tilt_rad",
                r.lying_tilt_rad,
                0.5,
                1.5,
            )?;
            check_range(
                file,
                "task.reanchor.settled_rad_s",
                r.settled_rad_s,
                0.1,
                20.0,
            )?;
            if let Some(sitting) = r.sitting_tilt_rad {
                check_range(
                    file,
                    "task.reanchor.sitting_tilt_rad",
                    sitting,
                    0.2,
                    r.lying_tilt_rad,
                )?;
            }
        }
        check_range(file, "task.history", t.history, 1, 50)?;
        check_range(file, "task.action_scale", t.action_scale, 0.01, 2.0)?;
        check_range(file, "task.kp_scale", t.kp_scale, 0.1, 5.0)?;
        check_range(file, "task.scan_x_m", t.scan_x_m, 0.0, 4.0)?;
        check_range(file, "task.scan_y_m", t.scan_y_m, 0.0, 4.0)?;
        check_range(file, "task.scan_spacing_m", t.scan_spacing_m, 0.02, 1.0)?;
        let m = &self.model;
        check_range(file, "model.latent", m.latent, 1, 256)?;
        check_layers(file, "model.encoder_hidden", &m.encoder_hidden)?;
        check_layers(file, "model.actor_hidden", &m.actor_hidden)?;
        check_layers(file, "model.critic_hidden", &m.critic_hidden)?;
        check_range(file, "model.init_std", m.init_std, 0.01, 3.0)?;
        let p = &self.ppo;
        check_range(file, "ppo.epochs", p.epochs, 1, 100)?;
        check_range(file, "ppo.minibatches", p.minibatches, 1, 1024)?;
        check_range(file, "ppo.clip", p.clip, 0.01, 1.0)?;
        check_range(file, "ppo.gamma", p.gamma, 0.0, 1.0)?;
        check_range(file, "ppo.lambda", p.lambda, 0.0, 1.0)?;
        check_range(file, "ppo.value_coef", p.value_coef, 0.0, 100.0)?;
        check_range(file, "ppo.entropy_coef", p.entropy_coef, 0.0, 1.0)?;
        check_range(file, "ppo.learning_rate", p.learning_rate, 1e-6, 1e-1)?;
        check_range(file, "ppo.desired_kl", p.desired_kl, 0.0, 1.0)?;
        check_range(file, "ppo.max_grad_norm", p.max_grad_norm, 0.0, 1e3)?;
        if let Some(cap) = p.max_action_std {
            check_range(file, "ppo.max_action_std", cap, 0.01, 3.0)?;
        }
        check_range(
            file,
            "ppo.critic_warmup_iterations",
            p.critic_warmup_iterations,
            0,
            10_000,
        )?;
        let r = &self.rewards;
        check_range(
            file,
            "rewards.body_pos_sigma_m",
            r.body_pos_sigma_m,
            0.01,
            5.0,
        )?;
        check_range(
            file,
            "rewards.joint_pos_sigma_rad",
            r.joint_pos_sigma_rad,
            0.01,
            5.0,
        )?;
        check_range(file, "rewards.impact_force_n", r.impact_force_n, 1.0, 1e5)?;
        for (key, w) in r.weights() {
            if !w.is_finite() {
                return Err(config::inconsistent(
                    file,
                    &format!("rewards.{key}"),
                    "must be finite",
                ));
            }
        }
        let c = &self.curriculum;
        check_range(file, "curriculum.levels", c.levels, 1, 50)?;
        check_range(
            file,
            "curriculum.stage2_success",
            c.stage2_success,
            0.0,
            2.0,
        )?;
        check_range(file, "curriculum.assist_start", c.assist_start, 0.0, 1.0)?;
        check_range(file, "curriculum.assist_decay", c.assist_decay, 0.0, 1.0)?;
        check_range(
            file,
            "curriculum.assist_success",
            c.assist_success,
            0.0,
            1.0,
        )?;
        check_range(
            file,
            "curriculum.assist_raise_below",
            c.assist_raise_below,
            0.0,
            1.0,
        )?;
        if c.assist_raise_below > 0.0 && c.assist_raise_below >= c.assist_success {
            return Err(config::inconsistent(
                file,
                "curriculum.assist_raise_below",
                format!(
                    "must be below assist_success ({}) or the assist would rise and fall at once",
                    c.assist_success
                ),
            ));
        }
        check_range(
            file,
            "curriculum.full_range_share",
            c.full_range_share,
            0.0,
            1.0,
        )?;
        if let Some(kind) = c.full_range_kinds.iter().find(|k| !c.terrains.contains(k)) {
            return Err(config::inconsistent(
                file,
                "curriculum.full_range_kinds",
                format!(
                    "names `{}`, which is not in curriculum.terrains, so no slot would play it",
                    kind.name()
                ),
            ));
        }
        check_range(
            file,
            "curriculum.adaptive_floor",
            c.adaptive_floor,
            0.0,
            1.0,
        )?;
        check_range(
            file,
            "curriculum.adaptive_rate",
            c.adaptive_rate,
            0.001,
            1.0,
        )?;
        if c.adaptive_phase_bins != 0 {
            check_range(
                file,
                "curriculum.adaptive_phase_bins",
                c.adaptive_phase_bins,
                2,
                50,
            )?;
            if self.task.reference_start_share <= 0.0 && self.task.fall_reference_start_share <= 0.0
            {
                return Err(config::inconsistent(
                    file,
                    "curriculum.adaptive_phase_bins",
                    "needs reference-state starts (task.reference_start_share or \
                     task.fall_reference_start_share above 0): only they begin part-way along a \
                     clip",
                ));
            }
            if self.task.fall_reference_phase_max < 1.0 {
                return Err(config::inconsistent(
                    file,
                    "curriculum.adaptive_phase_bins",
                    "cuts the whole clip into bins, so it needs task.fall_reference_phase_max = 1 \
                     (posed fall starts drawn over the whole clip)",
                ));
            }
        }
        Ok(TeacherParams { raw: self.clone() })
    }
}
