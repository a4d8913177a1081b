//! `configs/controller.toml`: loop rates, passive damping, soft start, engagement and watchdogs.

use serde::Deserialize;
use vigor_common::config::{self, ConfigError, Validate};

/// The shipped configuration, embedded so the daemon runs without files.
pub const DEFAULT_TOML: &str = include_str!("../../configs/controller.toml");

/// What `configs/controller.toml` says.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControllerConfig {
    /// Control loop.
    #[serde(rename = "loop")]
    pub control: LoopConfig,
    /// Passive and Damping states.
    pub passive: PassiveConfig,
    /// Soft start from the measured pose to the stand pose.
    pub ramp: RampConfig,
    /// When the policy takes over and hands back.
    pub engage: EngageConfig,
    /// Watchdogs.
    pub watchdog: WatchdogConfig,
    /// Motor protection limits.
    pub limits: LimitsConfig,
    /// Real-time scheduling of the control and policy threads.
    pub realtime: RealtimeConfig,
}

/// `[loop]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoopConfig {
    /// LowCmd stream rate, Hz. Range 100..=1000; shipped 500 (the robot's LowState rate).
    pub control_rate_hz: u32,
    /// Policy rate, Hz. Range 10..=100, must divide `control_rate_hz`; shipped 50.
    pub policy_rate_hz: u32,
    /// Robot variant expected in LowState and echoed in LowCmd: 4 (G1 23-DoF) or 5 (G1 29-DoF);
    /// shipped 5.
    pub mode_machine: u8,
    /// Status publication rate, Hz. Range 10..=100; shipped 10.
    pub status_rate_hz: u32,
}

/// `[passive]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PassiveConfig {
    /// Damping gain in Passive and Damping, N·m·s/rad (kp is 0). Range 0..=20; shipped 8
    /// (unitree_rl_gym's deploy code; unitree_rl_lab's passive state uses 3).
    pub damping_kd: f32,
}

/// `[ramp]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RampConfig {
    /// Duration of the linear ramp to the stand pose, s. Range 1..=5; shipped 2.5 (Unitree: 2-3 s).
    pub duration_s: f32,
    /// Position gain of the leg and waist motors (slots 0-14) while ramping and holding the stand
    /// without a policy, N·m/rad. Range 50..=800; shipped 500. The description's gains are the
    /// policy's; with them, and with 300, a PD-only stand topples in the simulator, with 500 it
    /// holds. The arms keep the description's gains.
    pub stand_kp: f32,
    /// Velocity gain of those motors, N·m·s/rad. Range 1..=40; shipped 20.
    pub stand_kd: f32,
}

/// `[engage]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngageConfig {
    /// Base tilt at which the policy engages, degrees. Range 5..=60; shipped 20 (VIGOR).
    pub tilt_deg: f32,
    /// Tilt below which the robot counts as upright again, degrees. Range 1..=`tilt_deg`;
    /// shipped 10.
    pub recovered_tilt_deg: f32,
    /// How long it must stay upright and still before hand-back to Armed, s. Range 0.2..=10;
    /// shipped 1.0.
    pub recovered_hold_s: f32,
}

/// `[watchdog]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WatchdogConfig {
    /// LowState periods (at `control_rate_hz`) without a valid frame before Damping. Range 2..=500;
    /// shipped 10 (20 ms at 500 Hz; Unitree's own 1 s is far too slow for fall safety).
    pub lowstate_stale_periods: u32,
    /// Age of the newest depth frame before the depth fallback, ms. Range 34..=2000; shipped 200
    /// (six frames at 30 Hz).
    pub depth_stale_ms: u32,
    /// What to do when depth is stale: `"blind"` (switch to the blind policy) or `"damping"`.
    pub depth_stale_action: DepthStaleAction,
    /// Policy periods without a new action while Active before Damping (latched). Range 2..=20;
    /// shipped 3 (60 ms at 50 Hz): a stalled or dead policy thread never leaves stale targets
    /// on the motors.
    pub policy_stale_periods: u32,
    /// Operator heartbeat (deadman), ms: with a value, Arm needs a fresh `heartbeat` command and
    /// Ramp, Armed and Active go to Damping (latched) when none arrives for this long. 0 turns it
    /// off; else range 50..=5000. Shipped 0 (a test stand has no operator console).
    pub operator_heartbeat_ms: u32,
}

/// `[limits]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    /// Winding temperature that forces Damping, °C. Range 60..=150; shipped 120 (Unitree).
    pub max_winding_c: i16,
    /// Casing temperature that forces Damping, °C. Range 50..=100; shipped 85 (Unitree).
    pub max_casing_c: i16,
}

/// `[realtime]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RealtimeConfig {
    /// SCHED_FIFO priority of the control thread. Range 0..=99 (0: normal scheduling); shipped
    /// 80. Needs CAP_SYS_NICE or an `rtprio` limit; without it the daemon warns and runs at
    /// normal priority.
    pub control_priority: u8,
    /// SCHED_FIFO priority of the policy thread, below the control thread's. Range 0..=98;
    /// shipped 70.
    pub policy_priority: u8,
    /// CPU core the control thread is pinned to. Range -1..=255 (-1: not pinned); shipped -1.
    /// On a machine with cores to spare, pin it to one that nothing else is pinned to.
    pub control_cpu: i32,
    /// Lock the process's memory (`mlockall`) so that no page fault stalls a tick. Needs
    /// CAP_IPC_LOCK or a `memlock` limit; without it the daemon warns. Shipped true.
    pub lock_memory: bool,
    /// Damping frames sent for this long when the daemon stops (a signal, `--duration-s`, a
    /// dead thread) before the process exits, ms. Range 10..=1000; shipped 100.
    pub exit_damping_ms: u32,
}

/// What to do when depth frames stop (`"blind"` or `"damping"` in the file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DepthStaleAction {
    /// Run the blind (proprioception-only) policy.
    Blind,
    /// Go to Damping.
    Damping,
}

/// Checked controller parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct ControllerParams {
    /// Control period, s.
    pub control_dt_s: f64,
    /// Control ticks per policy step.
    pub policy_decimation: u32,
    /// Control ticks per status message.
    pub status_decimation: u32,
    /// Expected and echoed `mode_machine`.
    pub mode_machine: u8,
    /// Damping gain, N·m·s/rad.
    pub damping_kd: f32,
    /// Ramp duration, s.
    pub ramp_duration_s: f32,
    /// Leg and waist position gain for Ramp and Armed, N·m/rad.
    pub stand_kp: f32,
    /// Leg and waist velocity gain for Ramp and Armed, N·m·s/rad.
    pub stand_kd: f32,
    /// Engage threshold, rad.
    pub engage_tilt_rad: f32,
    /// Upright threshold, rad.
    pub recovered_tilt_rad: f32,
    /// Upright hold time, s.
    pub recovered_hold_s: f32,
    /// LowState watchdog, s.
    pub lowstate_timeout_s: f64,
    /// Depth watchdog, s.
    pub depth_timeout_s: f64,
    /// Depth fallback.
    pub depth_stale_action: DepthStaleAction,
    /// Winding temperature limit, °C.
    pub max_winding_c: i16,
    /// Casing temperature limit, °C.
    pub max_casing_c: i16,
    /// Policy watchdog while Active, s.
    pub policy_timeout_s: f64,
    /// Operator heartbeat timeout, s, if configured.
    pub operator_timeout_s: Option<f64>,
    /// Control thread SCHED_FIFO priority (0: normal).
    pub control_priority: u8,
    /// Policy thread SCHED_FIFO priority (0: normal).
    pub policy_priority: u8,
    /// Core the control thread is pinned to.
    pub control_cpu: Option<usize>,
    /// Lock memory at start.
    pub lock_memory: bool,
    /// Damping before exit, s.
    pub exit_damping_s: f64,
}

impl Validate for ControllerConfig {
    type Checked = ControllerParams;

    fn validate(&self, file: &str) -> Result<ControllerParams, ConfigError> {
        use config::check_range;
        let l = &self.control;
        check_range(file, "loop.control_rate_hz", l.control_rate_hz, 100, 1000)?;
        check_range(file, "loop.policy_rate_hz", l.policy_rate_hz, 10, 100)?;
        check_range(file, "loop.status_rate_hz", l.status_rate_hz, 10, 100)?;
        for (key, rate) in [
            ("loop.policy_rate_hz", l.policy_rate_hz),
            ("loop.status_rate_hz", l.status_rate_hz),
        ] {
            if !l.control_rate_hz.is_multiple_of(rate) {
                return Err(config::inconsistent(
                    file,
                    key,
                    format!(
                        "{rate} Hz does not divide loop.control_rate_hz = {} Hz",
                        l.control_rate_hz
                    ),
                ));
            }
        }
        config::check_one_of(file, "loop.mode_machine", &l.mode_machine, &[4, 5])?;
        check_range(
            file,
            "passive.damping_kd",
            self.passive.damping_kd,
            0.0,
            20.0,
        )?;
        check_range(file, "ramp.duration_s", self.ramp.duration_s, 1.0, 5.0)?;
        check_range(file, "ramp.stand_kp", self.ramp.stand_kp, 50.0, 800.0)?;
        check_range(file, "ramp.stand_kd", self.ramp.stand_kd, 1.0, 40.0)?;
        let e = &self.engage;
        check_range(file, "engage.tilt_deg", e.tilt_deg, 5.0, 60.0)?;
        check_range(
            file,
            "engage.recovered_tilt_deg",
            e.recovered_tilt_deg,
            1.0,
            e.tilt_deg,
        )?;
        check_range(
            file,
            "engage.recovered_hold_s",
            e.recovered_hold_s,
            0.2,
            10.0,
        )?;
        let w = &self.watchdog;
        check_range(
            file,
            "watchdog.lowstate_stale_periods",
            w.lowstate_stale_periods,
            2,
            500,
        )?;
        check_range(file, "watchdog.depth_stale_ms", w.depth_stale_ms, 34, 2000)?;
        check_range(
            file,
            "watchdog.policy_stale_periods",
            w.policy_stale_periods,
            2,
            20,
        )?;
        if w.operator_heartbeat_ms != 0 {
            check_range(
                file,
                "watchdog.operator_heartbeat_ms",
                w.operator_heartbeat_ms,
                50,
                5000,
            )?;
        }
        let r = &self.realtime;
        check_range(file, "realtime.control_priority", r.control_priority, 0, 99)?;
        check_range(file, "realtime.policy_priority", r.policy_priority, 0, 98)?;
        if r.control_priority > 0 && r.policy_priority >= r.control_priority {
            return Err(config::inconsistent(
                file,
                "realtime.policy_priority",
                format!(
                    "{} must be below realtime.control_priority = {}",
                    r.policy_priority, r.control_priority
                ),
            ));
        }
        check_range(file, "realtime.control_cpu", r.control_cpu, -1, 255)?;
        check_range(
            file,
            "realtime.exit_damping_ms",
            r.exit_damping_ms,
            10,
            1000,
        )?;
        check_range(
            file,
            "limits.max_winding_c",
            self.limits.max_winding_c,
            60,
            150,
        )?;
        check_range(
            file,
            "limits.max_casing_c",
            self.limits.max_casing_c,
            50,
            100,
        )?;
        let control_dt_s = 1.0 / f64::from(l.control_rate_hz);
        Ok(ControllerParams {
            control_dt_s,
            policy_decimation: l.control_rate_hz / l.policy_rate_hz,
            status_decimation: l.control_rate_hz / l.status_rate_hz,
            mode_machine: l.mode_machine,
            damping_kd: self.passive.damping_kd,
            ramp_duration_s: self.ramp.duration_s,
            stand_kp: self.ramp.stand_kp,
            stand_kd: self.ramp.stand_kd,
            engage_tilt_rad: e.tilt_deg.to_radians(),
            recovered_tilt_rad: e.recovered_tilt_deg.to_radians(),
            recovered_hold_s: e.recovered_hold_s,
            lowstate_timeout_s: f64::from(w.lowstate_stale_periods) * control_dt_s,
            depth_timeout_s: f64::from(w.depth_stale_ms) * 1e-3,
            depth_stale_action: w.depth_stale_action,
            max_winding_c: self.limits.max_winding_c,
            max_casing_c: self.limits.max_casing_c,
            policy_timeout_s: f64::from(w.policy_stale_periods) / f64::from(l.policy_rate_hz),
            operator_timeout_s: (w.operator_heartbeat_ms > 0)
                .then(|| f64::from(w.operator_heartbeat_ms) * 1e-3),
            control_priority: r.control_priority,
            policy_priority: r.policy_priority,
            control_cpu: usize::try_from(r.control_cpu).ok(),
            lock_memory: r.lock_memory,
            exit_damping_s: f64::from(r.exit_damping_ms) * 1e-3,
        })
    }
}

impl ControllerConfig {
    /// The embedded shipped configuration, checked.
    ///
    /// # Errors
    /// Only if the shipped file is broken (a test guards it).
    pub fn embedded() -> Result<ControllerParams, ConfigError> {
        let file = "<embedded configs/controller.toml>";
        config::parse::<Self>(DEFAULT_TOML, file)?.validate(file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str) -> Result<ControllerParams, ConfigError> {
        config::parse::<ControllerConfig>(text, "controller.toml")?.validate("controller.toml")
    }

    #[test]
    fn shipped_config_derives_periods() {
        let p = ControllerConfig::embedded().unwrap();
        assert_eq!(p.policy_decimation, 10);
        assert_eq!(p.status_decimation, 50);
        assert!((p.lowstate_timeout_s - 0.020).abs() < 1e-12);
        assert!((p.engage_tilt_rad - 20f32.to_radians()).abs() < 1e-7);
        assert_eq!(p.depth_stale_action, DepthStaleAction::Blind);
        assert!((p.policy_timeout_s - 0.060).abs() < 1e-12);
        assert_eq!(p.operator_timeout_s, None);
        assert_eq!(p.control_cpu, None);
        assert!((p.exit_damping_s - 0.1).abs() < 1e-12);
    }

    #[test]
    fn heartbeat_and_realtime_settings_are_checked() {
        let p = check(
            &DEFAULT_TOML.replace("operator_heartbeat_ms = 0", "operator_heartbeat_ms = 300"),
        )
        .unwrap();
        assert_eq!(p.operator_timeout_s, Some(0.3));
        let err =
            check(&DEFAULT_TOML.replace("operator_heartbeat_ms = 0", "operator_heartbeat_ms = 20"))
                .unwrap_err();
        assert_eq!(
            err.to_string(),
            "controller.toml: `watchdog.operator_heartbeat_ms` = 20 is out of range: allowed 50 ..= 5000"
        );
        let err = check(&DEFAULT_TOML.replace("policy_priority = 70", "policy_priority = 90"))
            .unwrap_err();
        assert!(
            err.to_string().contains("realtime.policy_priority"),
            "{err}"
        );
        let p = check(&DEFAULT_TOML.replace("control_cpu = -1", "control_cpu = 1")).unwrap();
        assert_eq!(p.control_cpu, Some(1));
    }

    #[test]
    fn errors_name_file_key_and_range() {
        let err =
            check(&DEFAULT_TOML.replace("damping_kd = 8.0", "damping_kd = 80.0")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "controller.toml: `passive.damping_kd` = 80 is out of range: allowed 0 ..= 20"
        );
        let err = check(&DEFAULT_TOML.replace(
            "depth_stale_action = \"blind\"",
            "depth_stale_action = \"ignore\"",
        ))
        .unwrap_err();
        let err = err.to_string();
        assert!(
            err.starts_with("controller.toml: `watchdog.depth_stale_action`: ")
                && err.contains("unknown variant `ignore`, expected `blind` or `damping`"),
            "{err}"
        );
        let err =
            check(&DEFAULT_TOML.replace("recovered_tilt_deg = 10.0", "recovered_tilt_deg = 30.0"))
                .unwrap_err();
        assert!(err.to_string().contains("allowed 1 ..= 20"), "{err}");
    }

    #[test]
    fn unknown_key_is_rejected() {
        let err =
            check(&DEFAULT_TOML.replace("[ramp]\n", "[ramp]\nduraton_s = 1.0\n")).unwrap_err();
        assert!(err.to_string().contains("duraton_s"), "{err}");
    }
}
