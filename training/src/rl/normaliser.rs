//! Running mean and variance of observations (Chan et al.'s parallel merge), applied as
//! `clamp((x - mean) / sqrt(var + eps), -clip, clip)`.

use serde::{Deserialize, Serialize};

/// Running statistics of a vector-valued observation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunningNorm {
    /// Mean per value.
    pub mean: Vec<f64>,
    /// Population variance per value.
    pub var: Vec<f64>,
    /// Samples merged so far.
    pub count: f64,
    /// Added to the variance before the square root.
    pub epsilon: f64,
    /// Symmetric clip of the normalised value.
    pub clip: f64,
}

impl RunningNorm {
    /// Statistics of nothing yet (mean 0, variance 1) for `n` values.
    #[must_use]
    pub fn new(n: usize) -> Self {
        Self {
            mean: vec![0.0; n],
            var: vec![1.0; n],
            count: 0.0,
            // A variance floor: a value that was constant so far (a contact that never happened,
            // a terrain level of 0) reads at most 10 standard units when it first changes by 1.
            epsilon: 1e-2,
            clip: 5.0,
        }
    }

    /// Number of values per observation.
    #[must_use]
    pub fn len(&self) -> usize {
        self.mean.len()
    }

    /// True for zero-length observations.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.mean.is_empty()
    }

    /// Merges a batch of observations (`rows` of [`RunningNorm::len`] values, back to back).
    ///
    /// # Panics
    /// If `rows.len()` is not a multiple of the observation size.
    pub fn update(&mut self, rows: &[f32]) {
        let n = self.len();
        if n == 0 || rows.is_empty() {
            return;
        }
        assert_eq!(rows.len() % n, 0, "batch is not whole observations");
        let b = (rows.len() / n) as f64;
        let mut mean = vec![0.0f64; n];
        for row in rows.chunks_exact(n) {
            for (m, &x) in mean.iter_mut().zip(row) {
                *m += f64::from(x);
            }
        }
        mean.iter_mut().for_each(|m| *m /= b);
        let mut var = vec![0.0f64; n];
        for row in rows.chunks_exact(n) {
            for ((v, &x), m) in var.iter_mut().zip(row).zip(&mean) {
                let d = f64::from(x) - m;
                *v += d * d;
            }
        }
        var.iter_mut().for_each(|v| *v /= b);
        let total = self.count + b;
        for i in 0..n {
            let delta = mean[i] - self.mean[i];
            let m2 = self.var[i] * self.count + var[i] * b + delta * delta * self.count * b / total;
            self.mean[i] += delta * b / total;
            self.var[i] = m2 / total;
        }
        self.count = total;
    }

    /// Normalises `row` in place.
    pub fn apply(&self, row: &mut [f32]) {
        for ((x, m), v) in row.iter_mut().zip(&self.mean).zip(&self.var) {
            let z = (f64::from(*x) - m) / (v + self.epsilon).sqrt();
            *x = z.clamp(-self.clip, self.clip) as f32;
        }
    }

    /// Normalises every row of a batch in place.
    pub fn apply_rows(&self, rows: &mut [f32]) {
        let n = self.len().max(1);
        for row in rows.chunks_exact_mut(n) {
            self.apply(row);
        }
    }
}
