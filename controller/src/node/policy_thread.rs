//! The policy thread: observation, inference at the policy rate, action posted back. A step that
//! starts more than a period late is counted as an overrun and the schedule restarts from now: the
//! thread never runs several steps back to back to catch up after a stall.

use std::sync::Mutex;
use std::sync::atomic::Ordering;
use std::sync::mpsc::SyncSender;
use std::time::{Duration, Instant};

use vigor_msgs::unitree_hg::LowState;
use vigor_policy::{ObservationLayout, Policy, Proprioception};

use super::control_thread::GrantMsg;
use super::{FaultInjection, Shared};
use crate::core::JointSpec;
use crate::realtime::promote_current;
use crate::timing::{LoopStats, bin};

/// The policy thread's settings.
pub(super) struct PolicyThread {
    pub(super) policy: Policy,
    pub(super) layout: ObservationLayout,
    pub(super) joints: Vec<JointSpec>,
    pub(super) period: Duration,
    pub(super) priority: u8,
    pub(super) inject: Option<FaultInjection>,
}

/// The next wake-up after a step that was due at `due` and ended at `now`, and whether the step
/// overran (the next one would already be late).
pub(super) fn next_wake(due: Instant, period: Duration, now: Instant) -> (Instant, bool) {
    let next = due + period;
    if next < now {
        (now + period, true)
    } else {
        (next, false)
    }
}

impl PolicyThread {
    /// Runs until the daemon stops.
    pub(super) fn run(
        self,
        sh: &Shared,
        result: &Mutex<Option<LoopStats>>,
        grants: &SyncSender<GrantMsg>,
    ) {
        let _ = grants.try_send(GrantMsg::Policy((
            self.priority,
            promote_current(self.priority),
        )));
        vigor_policy::run_single_threaded();
        let n = self.joints.len();
        let default_q: Vec<f32> = self.joints.iter().map(|j| j.default).collect();
        let mut obs = vec![0.0f32; self.layout.len()];
        let mut last_action = vec![0.0f32; n];
        let (mut q, mut dq) = (vec![0.0f32; n], vec![0.0f32; n]);
        let mut state = LowState::default();
        let mut stats = LoopStats::new();
        let mut seq = 0u64;
        let mut due = Instant::now() + self.period;
        let after = |s: f64| sh.epoch + Duration::from_secs_f64(s);
        while !sh.stop.load(Ordering::SeqCst) && !sh.thread_died.load(Ordering::SeqCst) {
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            let active = match sh.policy_in.lock() {
                Ok(s) => {
                    state.clone_from(&s.0);
                    s.1
                }
                Err(_) => return,
            };
            let now = Instant::now();
            match self.inject {
                Some(FaultInjection::PolicyPanic { after_s })
                    if active && now >= after(after_s) =>
                {
                    super::inject::policy_panic();
                }
                Some(FaultInjection::PolicyStall { after_s })
                    if active && now >= after(after_s) =>
                {
                    // Alive but silent: no more actions until the daemon stops.
                    while !sh.stop.load(Ordering::SeqCst) {
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    break;
                }
                _ => {}
            }
            for (i, j) in self.joints.iter().enumerate() {
                if let Some(m) = state.motor_state.get(j.slot) {
                    q[i] = m.q;
                    dq[i] = m.dq;
                }
            }
            if !active {
                last_action.fill(0.0);
            }
            self.layout.write_proprioception(
                &Proprioception {
                    gyro: state.imu_state.gyroscope,
                    quat_wxyz: state.imu_state.quaternion,
                    q: &q,
                    dq: &dq,
                    default_q: &default_q,
                    last_action: &last_action,
                },
                &mut obs,
            );
            let t0 = Instant::now();
            let out = self.policy.act(&obs);
            let us = t0.elapsed().as_micros() as u64;
            bin(&mut stats.policy_us, us);
            stats.max_policy_us = stats.max_policy_us.max(us);
            stats.policy_steps += 1;
            match out {
                Ok(a) if a.len() == n => last_action.copy_from_slice(&a),
                // A policy that fails to run is treated like one that outputs NaN.
                _ => last_action.fill(f32::NAN),
            }
            if let Ok(mut a) = sh.policy_out.lock() {
                a.0.copy_from_slice(&last_action);
                seq += 1;
                a.1 = seq;
            }
            let (next, overran) = next_wake(due, self.period, Instant::now());
            if overran {
                sh.policy_overruns.fetch_add(1, Ordering::Relaxed);
            }
            due = next;
        }
        if let Ok(mut r) = result.lock() {
            *r = Some(stats);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_late_step_restarts_the_schedule_instead_of_bursting() {
        let t0 = Instant::now();
        let period = Duration::from_millis(20);
        // On time: the next is one period on.
        assert_eq!(
            next_wake(t0, period, t0 + Duration::from_millis(3)),
            (t0 + period, false)
        );
        // A 100 ms stall: one overrun, and the next step a full period from now.
        let now = t0 + Duration::from_millis(100);
        assert_eq!(next_wake(t0, period, now), (now + period, true));
    }
}
