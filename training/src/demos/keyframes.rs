//! Sparse keyframes: the targets VIGOR's goal-in-context latent looks at.
//!
//! VIGOR does not track a dense reference: it samples a few keyframes uniformly along a clip and
//! gives the policy the *next* one. [`Keyframes::uniform`] places `n = ceil(duration / spacing)`
//! keyframes at `t_k = k · duration / n`, `k = 1..=n` (time 0 is where the robot starts, not a
//! target; the last keyframe is the clip's final pose). [`Keyframes::next_at`] answers the query
//! "which pose should the robot reach next at time t": the first keyframe strictly after `t`, or
//! the last one once the clip is over.

use super::clip::{Clip, Frame};

/// Keyframes of one clip.
#[derive(Debug, Clone, PartialEq)]
pub struct Keyframes {
    /// Keyframe times, s, increasing; the last is the clip's duration.
    pub times_s: Vec<f64>,
    /// The pose at each keyframe.
    pub frames: Vec<Frame>,
    /// The clip's duration, s.
    pub duration_s: f64,
}

/// The answer to a next-target query.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Target<'a> {
    /// Keyframe index.
    pub index: usize,
    /// Its time, s.
    pub time_s: f64,
    /// Time left until it, s (0 once the clip is over).
    pub time_to_go_s: f64,
    /// The pose.
    pub frame: &'a Frame,
}

impl Keyframes {
    /// Keyframes about `spacing_s` apart along `clip` (see the module docs). A clip of zero
    /// duration gets one keyframe, its only pose.
    ///
    /// # Panics
    /// On a clip without frames, or a spacing that is not positive and finite.
    #[must_use]
    pub fn uniform(clip: &Clip, spacing_s: f64) -> Self {
        assert!(
            spacing_s.is_finite() && spacing_s > 0.0,
            "keyframe spacing {spacing_s} s"
        );
        let duration = clip.duration_s();
        let n = ((duration / spacing_s) - 1e-9).ceil().max(1.0) as usize;
        let times_s: Vec<f64> = (1..=n).map(|k| duration * k as f64 / n as f64).collect();
        Self {
            frames: times_s.iter().map(|&t| clip.sample(t)).collect(),
            times_s,
            duration_s: duration,
        }
    }

    /// Number of keyframes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.times_s.len()
    }

    /// Whether there are none (never, for keyframes built by [`Keyframes::uniform`]).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.times_s.is_empty()
    }

    /// The next target at clip time `t_s`: the first keyframe strictly after `t_s`, or the last.
    ///
    /// # Panics
    /// On empty keyframes.
    #[must_use]
    pub fn next_at(&self, t_s: f64) -> Target<'_> {
        let index = self
            .times_s
            .partition_point(|&k| k <= t_s)
            .min(self.times_s.len() - 1);
        Target {
            index,
            time_s: self.times_s[index],
            time_to_go_s: (self.times_s[index] - t_s).max(0.0),
            frame: &self.frames[index],
        }
    }

    /// The next target at `phase` (0 = clip start, 1 = clip end) of the clip.
    #[must_use]
    pub fn next_at_phase(&self, phase: f64) -> Target<'_> {
        self.next_at(phase.clamp(0.0, 1.0) * self.duration_s)
    }
}
