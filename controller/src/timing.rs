//! Timing of the control loop: sleeping to a deadline, the phase lock's constants, and
//! histograms filled without allocating.

use std::time::{Duration, Instant};

/// Where the phase lock puts a control tick after the newest LowState, s.
pub const PHASE_LEAD_S: f64 = 300e-6;
/// Fraction of the phase error corrected per tick.
pub const PHASE_GAIN: f64 = 0.2;
/// Largest correction per tick, s.
pub const PHASE_MAX_STEP_S: f64 = 50e-6;
/// The last stretch before a deadline is spun rather than slept (the kernel's sleep overshoots).
pub const SPIN_S: f64 = 150e-6;

/// Sleeps, then spins, until `deadline`.
pub fn sleep_until(deadline: Instant) {
    let spin = Duration::from_secs_f64(SPIN_S);
    if let Some(left) = deadline.checked_duration_since(Instant::now())
        && left > spin
    {
        std::thread::sleep(left - spin);
    }
    while Instant::now() < deadline {
        std::hint::spin_loop();
    }
}

/// Timing of the control loop, gathered without allocating.
#[derive(Debug, Clone)]
pub struct LoopStats {
    /// Histogram of |tick interval - period| in microseconds (last bin: overflow).
    pub period_error_us: Vec<u64>,
    /// Histogram of LowState-arrival-to-LowCmd-published latency, microseconds.
    pub reaction_us: Vec<u64>,
    /// Largest period error, µs.
    pub max_period_error_us: u64,
    /// Largest reaction latency, µs.
    pub max_reaction_us: u64,
    /// Ticks run.
    pub ticks: u64,
    /// Policy steps run, and their total inference time, µs.
    pub policy_steps: u64,
    /// Histogram of policy inference time, µs.
    pub policy_us: Vec<u64>,
    /// Longest policy inference, µs.
    pub max_policy_us: u64,
}

/// Histogram bins (1 µs each).
pub const HISTOGRAM_BINS: usize = 20_000;

impl Default for LoopStats {
    fn default() -> Self {
        Self::new()
    }
}

impl LoopStats {
    /// Empty histograms.
    #[must_use]
    pub fn new() -> Self {
        Self {
            period_error_us: vec![0; HISTOGRAM_BINS],
            reaction_us: vec![0; HISTOGRAM_BINS],
            max_period_error_us: 0,
            max_reaction_us: 0,
            ticks: 0,
            policy_steps: 0,
            policy_us: vec![0; HISTOGRAM_BINS],
            max_policy_us: 0,
        }
    }

    /// The `p` quantile (0..=1) of a histogram, µs.
    #[must_use]
    pub fn quantile(histogram: &[u64], p: f64) -> u64 {
        let total: u64 = histogram.iter().sum();
        if total == 0 {
            return 0;
        }
        let rank = ((total as f64) * p).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (us, n) in histogram.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return us as u64;
            }
        }
        histogram.len() as u64
    }
}

pub(crate) fn bin(h: &mut [u64], us: u64) {
    let i = (us as usize).min(h.len() - 1);
    h[i] += 1;
}
