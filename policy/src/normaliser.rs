//! Observation normalisation, the one type every policy kind and training use: running mean and
//! variance (Chan et al.'s parallel merge), applied as `clamp((x - mean) / sqrt(var + epsilon),
//! -clip, clip)`.
//!
//! Statistics are kept in f64 so that training's running merge and its resume are exact. A policy
//! applies them in the precision it was trained with: the teacher in f64
//! ([`Normaliser::apply`]), the students and the proprioceptive MLP in f32
//! ([`Normaliser::apply_f32`]).

use serde::{Deserialize, Serialize};

/// Running statistics of a vector-valued observation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Normaliser {
    /// Mean per value.
    pub mean: Vec<f64>,
    /// Population variance per value.
    pub var: Vec<f64>,
    /// Samples merged so far (0 for fixed statistics).
    #[serde(default)]
    pub count: f64,
    /// Added to the variance before the square root.
    pub epsilon: f64,
    /// Symmetric clip of the normalised value.
    pub clip: f64,
}

impl Normaliser {
    /// Statistics of nothing yet (mean 0, variance 1) for `n` values, as training starts them.
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

    /// The identity (mean 0, variance 1, a negligible epsilon) for `n` values.
    #[must_use]
    pub fn identity(n: usize) -> Self {
        Self {
            epsilon: 1e-8,
            ..Self::new(n)
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

    /// `Err` naming what is wrong: mismatched lengths, a non-finite statistic, a variance that
    /// is negative or a clip that is not positive.
    ///
    /// # Errors
    /// See the message.
    pub fn check(&self, expected_len: usize) -> Result<(), String> {
        if self.mean.len() != expected_len || self.var.len() != expected_len {
            return Err(format!(
                "normaliser has {} means and {} variances for {expected_len} values",
                self.mean.len(),
                self.var.len()
            ));
        }
        if let Some(i) = self.mean.iter().position(|m| !m.is_finite()) {
            return Err(format!("normaliser.mean[{i}] is {}", self.mean[i]));
        }
        if let Some(i) = self
            .var
            .iter()
            .position(|v| !v.is_finite() || *v < 0.0 || v + self.epsilon <= 0.0)
        {
            return Err(format!(
                "normaliser.var[{i}] is {}: allowed finite, >= 0, with var + epsilon > 0",
                self.var[i]
            ));
        }
        if !(self.epsilon.is_finite() && self.epsilon >= 0.0) {
            return Err(format!(
                "normaliser.epsilon is {}: allowed finite, >= 0",
                self.epsilon
            ));
        }
        if !(self.clip.is_finite() && self.clip > 0.0) {
            return Err(format!(
                "normaliser.clip is {}: allowed finite, > 0",
                self.clip
            ));
        }
        if !(self.count.is_finite() && self.count >= 0.0) {
            return Err(format!(
                "normaliser.count is {}: allowed finite, >= 0",
                self.count
            ));
        }
        Ok(())
    }

    /// Merges a batch of observations (`rows` of [`Normaliser::len`] values, back to back).
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

    /// Normalises `row` in place, in f64 (the teacher's precision).
    pub fn apply(&self, row: &mut [f32]) {
        for ((x, m), v) in row.iter_mut().zip(&self.mean).zip(&self.var) {
            let z = (f64::from(*x) - m) / (v + self.epsilon).sqrt();
            *x = z.clamp(-self.clip, self.clip) as f32;
        }
    }

    /// Normalises every row of a batch in place, in f64.
    pub fn apply_rows(&self, rows: &mut [f32]) {
        let n = self.len().max(1);
        for row in rows.chunks_exact_mut(n) {
            self.apply(row);
        }
    }

    /// The statistics in f32 for [`Normaliser::apply_f32`]-style use: `(mean, 1 / sqrt(var +
    /// epsilon), clip)`, each computed in f32 from the f32-rounded statistics.
    #[must_use]
    pub fn f32_parts(&self) -> (Vec<f32>, Vec<f32>, f32) {
        let eps = self.epsilon as f32;
        let mean = self.mean.iter().map(|&m| m as f32).collect();
        let inv_std = self
            .var
            .iter()
            .map(|&v| 1.0 / (v as f32 + eps).sqrt())
            .collect();
        (mean, inv_std, self.clip as f32)
    }

    /// Normalises `row` in place, in f32 (the students' and the proprioceptive MLP's precision):
    /// `clamp((x - mean) / sqrt(var + epsilon), -clip, clip)` with every statistic rounded to f32.
    pub fn apply_f32(&self, row: &mut [f32]) {
        let (eps, clip) = (self.epsilon as f32, self.clip as f32);
        for ((x, &m), &v) in row.iter_mut().zip(&self.mean).zip(&self.var) {
            *x = ((*x - m as f32) / (v as f32 + eps).sqrt()).clamp(-clip, clip);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merging_batches_equals_one_pass_statistics() {
        let rows: Vec<f32> = (0..60).map(|i| ((i * 7) % 11) as f32 * 0.3 - 1.0).collect();
        let mut once = Normaliser::new(3);
        once.update(&rows);
        let mut twice = Normaliser::new(3);
        twice.update(&rows[..27]);
        twice.update(&rows[27..]);
        for (a, b) in once.mean.iter().zip(&twice.mean) {
            assert!((a - b).abs() < 1e-12);
        }
        for (a, b) in once.var.iter().zip(&twice.var) {
            assert!((a - b).abs() < 1e-12);
        }
        assert_eq!(once.count, 20.0);
    }

    #[test]
    fn f32_and_f64_application_agree_to_rounding_and_clip() {
        let mut n = Normaliser::new(2);
        n.update(&[0.0, 10.0, 2.0, 30.0]);
        let (mut a, mut b) = ([1.5f32, 1000.0], [1.5f32, 1000.0]);
        n.apply(&mut a);
        n.apply_f32(&mut b);
        assert!((a[0] - b[0]).abs() < 1e-6);
        assert_eq!((a[1], b[1]), (5.0, 5.0));
    }

    #[test]
    fn bad_statistics_are_named() {
        let mut n = Normaliser::identity(3);
        assert!(n.check(3).is_ok());
        assert!(n.check(4).unwrap_err().contains("for 4 values"));
        n.var[1] = f64::NAN;
        assert!(n.check(3).unwrap_err().contains("normaliser.var[1]"));
        n.var[1] = 1.0;
        n.clip = 0.0;
        assert!(n.check(3).unwrap_err().contains("normaliser.clip"));
    }
}
