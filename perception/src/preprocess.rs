//! The one depth preprocessing pipeline, used identically in training (on simulated frames) and on
//! the robot (on RealSense frames): the student's depth input is whatever this module makes of a
//! raw metric image, nothing else.
//!
//! For each raw frame (metres, row-major, 0 = no return, any resolution):
//!
//! 1. Range clip: a value below `near_m`, above `far_m`, 0 or not finite is a hole.
//! 2. Resize to `width_px x height_px` with a box (area) filter: target pixel `(r, c)` covers the
//!    source box `[c W/w, (c+1) W/w) x [r H/h, (r+1) H/h)` and takes the mean of the valid source
//!    pixels whose centres lie in it; with none it is a hole. When upsampling, a box can hold no
//!    source centre; it then takes the source pixel under its own centre.
//! 3. Hole fill (if `hole_fill`): each run of holes along a row takes the farther (larger) of the
//!    nearest valid pixels to its left and right (the background, since stereo holes open at the
//!    near side of depth edges); a run touching the row's end takes its one neighbour; a row
//!    without any valid pixel takes `far_m`.
//! 4. Normalise: `(clamp(d, near, far) - near) / (far - near) - 0.5`, in `[-0.5, 0.5]`; a hole
//!    still left (hole filling off) reads `+0.5`, as far.
//!
//! [`DepthPreprocessor`] keeps the last `frames` results stacked newest first.
//!
//! Invariants: output values lie in `[-0.5, 0.5]`; the stack always holds
//! `frames * width_px * height_px` values; pushing allocates nothing.

use std::ops::RangeInclusive;

use serde::{Deserialize, Serialize};
use vigor_msgs::project::{DepthData, DepthFrame};

use crate::error::{PerceptionError, check_image, check_range};

/// Allowed `near_m`, m.
pub const NEAR_M: RangeInclusive<f32> = 0.0..=2.0;
/// Allowed `far_m`, m (above `near_m`).
pub const FAR_M: RangeInclusive<f32> = 0.1..=20.0;
/// Allowed `width_px`, px.
pub const WIDTH_PX: RangeInclusive<u16> = 1..=1280;
/// Allowed `height_px`, px.
pub const HEIGHT_PX: RangeInclusive<u16> = 1..=720;
/// Allowed `frames`.
pub const FRAMES: RangeInclusive<usize> = 1..=16;

/// Marks a hole in the metric working image (valid depths are positive).
const HOLE: f32 = 0.0;

/// Depth preprocessing settings; they travel inside the policy artifact so training and the robot
/// use the same ones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DepthPreprocessConfig {
    /// Nearest depth kept, m; nearer values are holes and the normalised scale starts here
    /// (-0.5). Range 0..=2, below `far_m`; default 0.1 (the simulated camera's and the D435i's
    /// minimum depth).
    pub near_m: f32,
    /// Farthest depth kept, m; farther values are holes and the normalised scale ends here
    /// (+0.5). Range 0.1..=20; default 3.0 (the simulated camera's far clip).
    pub far_m: f32,
    /// Output width, px. Range 1..=1280; default 64 (the simulated camera's width, so simulated
    /// frames are not resized; the RealSense's 848 px are averaged down 13.25 times).
    pub width_px: u16,
    /// Output height, px. Range 1..=720; default 36 (the simulated camera's height; 480 / 36 for
    /// the RealSense).
    pub height_px: u16,
    /// Frames stacked, newest first. Range 1..=16; default 2 (motion from two frames).
    pub frames: usize,
    /// Whether holes are filled along rows (step 3 of the module docs). Default true.
    pub hole_fill: bool,
}

impl Default for DepthPreprocessConfig {
    fn default() -> Self {
        Self {
            near_m: 0.1,
            far_m: 3.0,
            width_px: 64,
            height_px: 36,
            frames: 2,
            hole_fill: true,
        }
    }
}

impl DepthPreprocessConfig {
    /// Checks every field against its range.
    ///
    /// # Errors
    /// [`PerceptionError::OutOfRange`] naming the first bad field and its allowed range.
    pub fn validate(&self) -> Result<(), PerceptionError> {
        check_range("near_m", self.near_m, *NEAR_M.start(), *NEAR_M.end())?;
        check_range("far_m", self.far_m, *FAR_M.start(), *FAR_M.end())?;
        if self.far_m <= self.near_m {
            return Err(PerceptionError::OutOfRange {
                key: "far_m",
                value: self.far_m.to_string(),
                allowed: format!("above near_m = {}", self.near_m),
            });
        }
        check_range(
            "width_px",
            self.width_px,
            *WIDTH_PX.start(),
            *WIDTH_PX.end(),
        )?;
        check_range(
            "height_px",
            self.height_px,
            *HEIGHT_PX.start(),
            *HEIGHT_PX.end(),
        )?;
        check_range("frames", self.frames, *FRAMES.start(), *FRAMES.end())
    }

    /// Values in one preprocessed frame (`width_px * height_px`).
    #[must_use]
    pub fn frame_len(&self) -> usize {
        usize::from(self.width_px) * usize::from(self.height_px)
    }

    /// Values in the stack (`frames * width_px * height_px`): the student's depth input.
    #[must_use]
    pub fn stacked_len(&self) -> usize {
        self.frames * self.frame_len()
    }

    /// Step 4: a metric depth (or [`HOLE`], 0) to the normalised `[-0.5, 0.5]` scale.
    fn normalise(&self, d: f32) -> f32 {
        if d == HOLE {
            0.5
        } else {
            let (near, far) = (self.near_m, self.far_m);
            (d.clamp(near, far) - near) / (far - near) - 0.5
        }
    }
}

/// The preprocessing pipeline with its stack of recent frames.
#[derive(Debug, Clone)]
pub struct DepthPreprocessor {
    config: DepthPreprocessConfig,
    /// Resized metric image of the frame being pushed, [`HOLE`] where invalid.
    scratch: Vec<f32>,
    /// `frames` normalised images, newest first.
    stacked: Vec<f32>,
    /// Frames pushed since construction or [`Self::reset`].
    pushes: u64,
    /// Source column span of each target column, for source images `spans_width` wide.
    spans: Vec<(usize, usize)>,
    spans_width: usize,
}

impl DepthPreprocessor {
    /// Checks `config` and allocates the buffers (the only allocations this type makes, besides
    /// one when the source width first changes).
    ///
    /// # Errors
    /// [`PerceptionError::OutOfRange`] from [`DepthPreprocessConfig::validate`].
    pub fn new(config: DepthPreprocessConfig) -> Result<Self, PerceptionError> {
        config.validate()?;
        Ok(Self {
            scratch: vec![HOLE; config.frame_len()],
            stacked: vec![0.5; config.stacked_len()],
            spans: Vec::with_capacity(usize::from(config.width_px)),
            spans_width: 0,
            config,
            pushes: 0,
        })
    }

    /// The settings.
    #[must_use]
    pub fn config(&self) -> &DepthPreprocessConfig {
        &self.config
    }

    /// Frames pushed since construction or the last [`Self::reset`].
    #[must_use]
    pub fn pushes(&self) -> u64 {
        self.pushes
    }

    /// Preprocesses one metric image (`width x height`, row-major, metres, 0 = no return) and
    /// puts it at the front of the stack.
    ///
    /// # Errors
    /// [`PerceptionError::ImageSize`] when `depth_m` does not hold `width * height` values or a
    /// side is 0; the stack is then unchanged.
    pub fn push(
        &mut self,
        width: usize,
        height: usize,
        depth_m: &[f32],
    ) -> Result<(), PerceptionError> {
        check_image(width, height, depth_m.len())?;
        self.push_with(width, height, depth_m, |d| d);
        Ok(())
    }

    /// [`Self::push`] for a [`DepthFrame`] in metres or millimetres.
    ///
    /// # Errors
    /// [`PerceptionError::ImageSize`] when the data length is not `width * height`.
    pub fn push_frame(&mut self, frame: &DepthFrame) -> Result<(), PerceptionError> {
        let (width, height) = (usize::from(frame.width), usize::from(frame.height));
        match &frame.depth {
            DepthData::Metres(v) => self.push(width, height, v),
            DepthData::Millimetres(v) => {
                check_image(width, height, v.len())?;
                self.push_with(width, height, v, |mm| f32::from(mm) / 1000.0);
                Ok(())
            }
        }
    }

    /// The stack: `frames` preprocessed images, newest first, each `width_px * height_px` values
    /// row-major. Before `frames` pushes the oldest pushed image fills the remaining slots;
    /// before any push every value is `+0.5`.
    #[must_use]
    pub fn stacked(&self) -> &[f32] {
        &self.stacked
    }

    /// The newest preprocessed image (the first `width_px * height_px` values of the stack).
    #[must_use]
    pub fn latest(&self) -> &[f32] {
        &self.stacked[..self.config.frame_len()]
    }

    /// Forgets every pushed frame (the stack reads `+0.5` again), e.g. at an episode start.
    pub fn reset(&mut self) {
        self.stacked.fill(0.5);
        self.pushes = 0;
    }

    /// Steps 1 to 4 over a source image of `width x height` values, converted to metres by
    /// `metres`; the caller has checked the size.
    fn push_with<T: Copy>(
        &mut self,
        width: usize,
        height: usize,
        data: &[T],
        metres: impl Fn(T) -> f32,
    ) {
        let cfg = &self.config;
        let (near, far) = (cfg.near_m, cfg.far_m);
        let (tw, th) = (usize::from(cfg.width_px), usize::from(cfg.height_px));
        // Steps 1 and 2: clip and box-filter, one source row slice at a time. NaN fails every
        // comparison and infinity fails `<= far`, so the test also drops non-finite values.
        if self.spans_width != width {
            self.spans.clear();
            self.spans
                .extend((0..tw).map(|tc| source_span(tc, tw, width)));
            self.spans_width = width;
        }
        for tr in 0..th {
            let rows = source_span(tr, th, height);
            for (tc, &(c0, c1)) in self.spans.iter().enumerate() {
                let (mut sum, mut count) = (0.0_f32, 0_u32);
                for r in rows.0..rows.1 {
                    for &raw in &data[r * width + c0..r * width + c1] {
                        let d = metres(raw);
                        if d > 0.0 && d >= near && d <= far {
                            sum += d;
                            count += 1;
                        }
                    }
                }
                self.scratch[tr * tw + tc] = if count > 0 { sum / count as f32 } else { HOLE };
            }
        }
        // Step 3.
        if cfg.hole_fill {
            for row in self.scratch.chunks_exact_mut(tw) {
                fill_row(row, far);
            }
        }
        // Step 4, into the front of the stack after moving the older frames back one slot.
        let n = cfg.frame_len();
        let len = self.stacked.len();
        self.stacked.copy_within(0..len - n, n);
        for (out, &d) in self.stacked[..n].iter_mut().zip(&self.scratch) {
            *out = cfg.normalise(d);
        }
        if self.pushes == 0 {
            for k in 1..cfg.frames {
                self.stacked.copy_within(0..n, k * n);
            }
        }
        self.pushes += 1;
    }
}

/// Source indices `lo..hi` whose pixel centres `i + 0.5` lie in target cell `t`'s box
/// `[t S / T, (t + 1) S / T)` along one axis (`T` target cells, `S` source pixels); when none do
/// (upsampling), the one source pixel under the cell's centre.
fn source_span(t: usize, target: usize, source: usize) -> (usize, usize) {
    // i + 0.5 >= t S / T  <=>  i >= (2 t S - T) / 2 T.
    let first = |t: usize| (2 * t * source).saturating_sub(target).div_ceil(2 * target);
    let (lo, hi) = (first(t), first(t + 1).min(source));
    if lo < hi {
        (lo, hi)
    } else {
        let i = ((2 * t + 1) * source / (2 * target)).min(source - 1);
        (i, i + 1)
    }
}

/// Step 3 on one row: every run of holes takes the farther of its valid neighbours in the row,
/// or `far` when the row has none.
fn fill_row(row: &mut [f32], far: f32) {
    let mut left = None;
    let mut i = 0;
    while i < row.len() {
        if row[i] != HOLE {
            left = Some(row[i]);
            i += 1;
            continue;
        }
        let start = i;
        while i < row.len() && row[i] == HOLE {
            i += 1;
        }
        let fill = match (left, row.get(i).copied()) {
            (Some(a), Some(b)) => a.max(b),
            (Some(a), None) | (None, Some(a)) => a,
            (None, None) => far,
        };
        row[start..i].fill(fill);
    }
}

#[cfg(test)]
#[path = "preprocess_tests.rs"]
mod tests;
