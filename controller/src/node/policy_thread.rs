//! The policy thread: the newest state and depth frame in, joint targets out at the policy rate.
//! A step that starts more than a period late is counted as an overrun and the schedule restarts
//! from now: the thread never runs several steps back to back to catch up after a stall.
//!
//! Depth frames are decoded here (the bus callback only keeps the newest bytes) and handed to the
//! policy's own preprocessing. While the newest frame that decoded is older than the depth limit,
//! a depth student's blind fallback acts (`vigor_policy::Deployment`), from the first tick past
//! the limit; the policy disengages whenever the controller is not Active and engages again on
//! the first Active tick.

use std::sync::Mutex;
use std::sync::atomic::Ordering;
use std::sync::mpsc::SyncSender;
use std::time::{Duration, Instant};

use vigor_msgs::project::{ActingPolicy, DepthFrame, PolicyTrace};
use vigor_msgs::unitree_hg::LowState;
use vigor_policy::{Acting, Deployment, RobotState};

use super::control_thread::{GrantMsg, IoEvent};
use super::{FaultInjection, Shared};
use crate::core::JointSpec;
use crate::realtime::promote_current;
use crate::timing::{LoopStats, bin};

/// The policy thread's settings.
pub(super) struct PolicyThread {
    pub(super) policy: Deployment,
    pub(super) joints: Vec<JointSpec>,
    pub(super) depth_timeout: Duration,
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

/// How often a policy thread that is not engaged looks for an engagement while it waits, ms.
const ENGAGE_POLL: Duration = Duration::from_millis(1);

/// Sleeps until `due`; a thread whose last tick was not engaged wakes early, within
/// [`ENGAGE_POLL`], when the loop goes Active, so the first targets follow the engagement as the
/// first action follows it in training (not up to a period later, with the stand pose held
/// meanwhile). Returns when to tick: `due`, or now on an early wake.
fn wait_for_tick(due: Instant, was_engaged: bool, sh: &Shared) -> Instant {
    loop {
        let now = Instant::now();
        let Some(left) = due.checked_duration_since(now) else {
            return due;
        };
        if !was_engaged && sh.engaged.load(Ordering::SeqCst) {
            return now;
        }
        if sh.stop.load(Ordering::SeqCst) {
            return now;
        }
        std::thread::sleep(if was_engaged {
            left
        } else {
            left.min(ENGAGE_POLL)
        });
    }
}

impl PolicyThread {
    /// Takes the newest depth frame off the bus slot, if there is one, into the policy.
    fn take_depth(&mut self, sh: &Shared) {
        let Some((bytes, at)) = sh.depth_frame.lock().ok().and_then(|mut s| s.take()) else {
            return;
        };
        match DepthFrame::decode(&bytes)
            .ok()
            .and_then(|f| self.policy.push_depth(&f).ok())
        {
            Some(()) => sh.depth_ns.store(at, Ordering::Relaxed),
            None => {
                sh.bad_frames.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Runs until the daemon stops.
    pub(super) fn run(
        mut self,
        sh: &Shared,
        result: &Mutex<Option<LoopStats>>,
        grants: &SyncSender<GrantMsg>,
        io: &SyncSender<IoEvent>,
    ) {
        let _ = grants.try_send(GrantMsg::Policy((
            self.priority,
            promote_current(self.priority),
        )));
        vigor_policy::run_single_threaded();
        let n = self.joints.len();
        let (mut q, mut dq) = (vec![0.0f32; n], vec![0.0f32; n]);
        let mut targets = vec![0.0f32; n];
        let mut state = LowState::default();
        let mut stats = LoopStats::new();
        let mut seq = 0u64;
        let mut engaged_at: Option<Instant> = None;
        let mut due = Instant::now() + self.period;
        let after = |s: f64| sh.epoch + Duration::from_secs_f64(s);
        let timeout_ns = self.depth_timeout.as_nanos() as u64;
        let names = (
            self.policy.primary().manifest().name.clone(),
            self.policy
                .fallback()
                .map(|f| f.manifest().name.clone())
                .unwrap_or_default(),
        );
        let mut acting = Acting::Primary;
        while !sh.stop.load(Ordering::SeqCst) && !sh.thread_died.load(Ordering::SeqCst) {
            due = wait_for_tick(due, engaged_at.is_some(), sh);
            match sh.policy_in.lock() {
                Ok(s) => state.clone_from(&s),
                Err(_) => return,
            }
            // The flag the early wake saw (the slot above may lag it by a tick).
            let active = sh.engaged.load(Ordering::SeqCst);
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
            let t0 = Instant::now();
            self.take_depth(sh);
            for (i, j) in self.joints.iter().enumerate() {
                if let Some(m) = state.motor_state.get(j.slot) {
                    q[i] = m.q;
                    dq[i] = m.dq;
                }
            }
            // Not Active: the policy runs (its output is not used) and engages afresh on the
            // first Active tick.
            if !active {
                self.policy.disengage();
                engaged_at = None;
            }
            let engaged_s = match (active, engaged_at) {
                (true, Some(at)) => now.duration_since(at).as_secs_f32(),
                (true, None) => {
                    engaged_at = Some(now);
                    0.0
                }
                (false, _) => 0.0,
            };
            let depth_ns = sh.depth_ns.load(Ordering::Relaxed);
            let depth_fresh = depth_ns > 0 && sh.now_ns().saturating_sub(depth_ns) <= timeout_ns;
            let robot = RobotState {
                gyro: state.imu_state.gyroscope,
                quat_wxyz: state.imu_state.quaternion,
                q: &q,
                dq: &dq,
            };
            let (mut latent, mut track) = (Vec::new(), None);
            match self.policy.tick(&robot, engaged_s, depth_fresh) {
                Ok(out) if out.targets.len() == n => {
                    targets.copy_from_slice(&out.targets);
                    latent.clone_from(&out.latent);
                    track = out.track.and_then(|t| u8::try_from(t).ok());
                }
                // A policy that fails to run is treated like one that outputs NaN.
                _ => targets.fill(f32::NAN),
            }
            let us = t0.elapsed().as_micros() as u64;
            if self.policy.acting() != acting {
                acting = self.policy.acting();
                // The operator's log; this thread is not the control loop.
                match acting {
                    Acting::Fallback => {
                        eprintln!("policy: depth stale: the blind fallback `{}` acts", names.1)
                    }
                    Acting::Primary => {
                        eprintln!("policy: depth frames again: `{}` acts", names.0);
                    }
                }
            }
            bin(&mut stats.policy_us, us);
            stats.max_policy_us = stats.max_policy_us.max(us);
            stats.policy_steps += 1;
            if let Ok(mut a) = sh.policy_out.lock() {
                a.0.copy_from_slice(&targets);
                seq += 1;
                a.1 = seq;
            }
            // For recordings and the operator; a full channel drops it.
            let _ = io.try_send(IoEvent::Trace(PolicyTrace {
                seq,
                stamp_ns: sh.now_ns(),
                engaged: active,
                engaged_s,
                acting: match acting {
                    Acting::Primary => ActingPolicy::Primary,
                    Acting::Fallback => ActingPolicy::Fallback,
                },
                track,
                depth_age_ms: (depth_ns > 0)
                    .then(|| sh.now_ns().saturating_sub(depth_ns) as f32 * 1e-6),
                latent,
            }));
            if !active {
                self.policy.disengage();
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
