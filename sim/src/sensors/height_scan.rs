//! The height scan: ground heights sampled on a grid around the base, turning with the base's yaw
//! but not its roll or pitch, as legged_gym's `measured_heights` (the teacher's terrain input).
//!
//! Grid: `nx = floor(x_extent / spacing) + 1` points along the base's heading and
//! `ny = floor(y_extent / spacing) + 1` across it, `spacing` apart and centred on the base:
//! `x_i = (i - (nx - 1) / 2) spacing`, `y_j = (j - (ny - 1) / 2) spacing`. Order x-major: point
//! `(i, j)` at index `i * ny + j`, i.e. from the rearmost row (most negative x) to the front, each
//! row from right (most negative y) to left, legged_gym's `meshgrid(x, y, indexing="ij")` order.
//!
//! Value: `base_z - ground_height(point)`, m: positive when the ground lies below the base (the base
//! height above flat ground), larger over a hole, smaller over a step up. legged_gym's observation
//! `clip(base_z - 0.5 - heights, -1, 1)` is this minus an offset, clipped by the policy's input
//! layer.

use serde::Deserialize;

use crate::terrain::Terrain;

use super::{SensorError, check, ground_height};

/// Allowed extent of the grid along either axis, m.
pub const EXTENT_M: std::ops::RangeInclusive<f32> = 0.0..=10.0;
/// Allowed point spacing, m.
pub const SPACING_M: std::ops::RangeInclusive<f32> = 0.01..=1.0;
/// Tolerance when dividing an extent by the spacing, so `1.6 / 0.1` counts 17 points, not 16.
const COUNT_EPS: f32 = 1e-3;

/// The height-scan grid.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeightScanConfig {
    /// Grid length along the base's heading, m. Range 0..=10; default 1.6 (legged_gym's
    /// `measured_points_x`, -0.8 ..= 0.8 m).
    pub x_extent_m: f32,
    /// Grid width across the heading, m. Range 0..=10; default 1.0 (legged_gym's
    /// `measured_points_y`, -0.5 ..= 0.5 m).
    pub y_extent_m: f32,
    /// Distance between neighbouring points, m. Range 0.01..=1; default 0.1 (legged_gym's), giving
    /// 17 × 11 = 187 points.
    pub spacing_m: f32,
}

impl Default for HeightScanConfig {
    fn default() -> Self {
        Self {
            x_extent_m: 1.6,
            y_extent_m: 1.0,
            spacing_m: 0.1,
        }
    }
}

/// A height scan of fixed layout with its points precomputed.
#[derive(Debug, Clone, PartialEq)]
pub struct HeightScan {
    nx: usize,
    ny: usize,
    /// Point offsets in the yaw-aligned base frame, in output order, m.
    points: Vec<[f32; 2]>,
}

impl HeightScan {
    /// Checks `config` and lays out the grid.
    ///
    /// # Errors
    /// [`SensorError::InvalidParameter`] for a field outside its range (see [`HeightScanConfig`]).
    pub fn new(config: HeightScanConfig) -> Result<Self, SensorError> {
        check(
            "x_extent_m",
            config.x_extent_m,
            *EXTENT_M.start(),
            *EXTENT_M.end(),
        )?;
        check(
            "y_extent_m",
            config.y_extent_m,
            *EXTENT_M.start(),
            *EXTENT_M.end(),
        )?;
        check(
            "spacing_m",
            config.spacing_m,
            *SPACING_M.start(),
            *SPACING_M.end(),
        )?;
        let s = config.spacing_m;
        // At most 10 / 0.01 + 1 points per axis after the checks, so the casts are exact.
        let count = |extent: f32| (extent / s + COUNT_EPS).floor() as usize + 1;
        let (nx, ny) = (count(config.x_extent_m), count(config.y_extent_m));
        let coord = |k: usize, n: usize| (k as f32 - 0.5 * (n - 1) as f32) * s;
        let points = (0..nx)
            .flat_map(|i| (0..ny).map(move |j| [coord(i, nx), coord(j, ny)]))
            .collect();
        Ok(Self { nx, ny, points })
    }

    /// Number of points: the length of [`Self::sample`]'s buffer.
    #[must_use]
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// Always false: a grid has at least one point.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// Points `(nx, ny)` along and across the heading.
    #[must_use]
    pub fn shape(&self) -> (usize, usize) {
        (self.nx, self.ny)
    }

    /// Point offsets `(x forward, y left)` in the yaw-aligned base frame, in output order, m.
    #[must_use]
    pub fn points(&self) -> &[[f32; 2]] {
        &self.points
    }

    /// Writes `base_z - ground_height` at every point into `out`, for a base at `base_pos` (world,
    /// m) heading `base_yaw_rad` (about world z, 0 = +x). The ground is `terrain`, or the plane
    /// z = 0 when `None`. No allocation.
    ///
    /// # Panics
    /// If `out.len() != self.len()`.
    pub fn sample(
        &self,
        base_pos: [f32; 3],
        base_yaw_rad: f32,
        terrain: Option<&Terrain>,
        out: &mut [f32],
    ) {
        assert_eq!(out.len(), self.points.len(), "height scan buffer length");
        let (sin, cos) = base_yaw_rad.sin_cos();
        for (value, &[x, y]) in out.iter_mut().zip(&self.points) {
            let wx = base_pos[0] + cos * x - sin * y;
            let wy = base_pos[1] + sin * x + cos * y;
            *value = base_pos[2] - ground_height(terrain, wx, wy);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::terrain::TerrainKind;

    use super::*;

    #[test]
    fn default_grid_is_legged_gyms_17_by_11_in_x_major_order() {
        let scan = HeightScan::new(HeightScanConfig::default()).unwrap();
        assert_eq!(scan.shape(), (17, 11));
        assert_eq!(scan.len(), 187);
        let p = scan.points();
        assert!(
            (p[0][0] + 0.8).abs() < 1e-6 && (p[0][1] + 0.5).abs() < 1e-6,
            "{:?}",
            p[0]
        );
        assert!(
            (p[1][1] + 0.4).abs() < 1e-6 && p[1][0] == p[0][0],
            "y varies fastest: {:?}",
            p[1]
        );
        assert!((p[11][0] + 0.7).abs() < 1e-6, "next row: {:?}", p[11]);
        assert!((p[186][0] - 0.8).abs() < 1e-6 && (p[186][1] - 0.5).abs() < 1e-6);
        assert!(p[93] == [0.0, 0.0], "centre point {:?}", p[93]);
    }

    #[test]
    fn flat_ground_reads_the_base_height_everywhere() {
        let scan = HeightScan::new(HeightScanConfig::default()).unwrap();
        let flat = Terrain::single(TerrainKind::Flat, 0.0, 0, 5.0, 0.05).unwrap();
        let mut out = vec![f32::NAN; scan.len()];
        for terrain in [None, Some(&flat)] {
            scan.sample([0.3, -0.2, 0.78], 1.1, terrain, &mut out);
            for (i, v) in out.iter().enumerate() {
                assert!((v - 0.78).abs() < 1e-6, "point {i}: {v}");
            }
        }
    }

    #[test]
    fn slope_reads_linearly_along_x_and_turns_with_yaw() {
        // SlopeUp at difficulty 1: faces rise at tan(0.4) outward from the 0.75 m spawn square, so
        // at y = 0 between x = 0.75 and the tile edge at 2.5 the ground rises at tan(0.4); a scan
        // centred at x = 1.6 spans 0.8 ..= 2.4.
        let terrain = Terrain::single(TerrainKind::SlopeUp, 1.0, 0, 5.0, 0.05).unwrap();
        let gradient = 0.4_f32.tan();
        let scan = HeightScan::new(HeightScanConfig::default()).unwrap();
        let mut out = vec![0.0; scan.len()];
        let base = [1.6, 0.0, 0.5];
        scan.sample(base, 0.0, Some(&terrain), &mut out);
        let centre_row = |out: &[f32], i: usize| out[i * 11 + 5];
        for i in 1..17 {
            let step = centre_row(&out, i - 1) - centre_row(&out, i);
            assert!(
                (step - 0.1 * gradient).abs() < 1e-4,
                "row {i}: base clearance drops by {step} per 0.1 m, want {}",
                0.1 * gradient
            );
        }
        let at_base = centre_row(&out, 8);
        let want = 0.5 - terrain.height(1.6, 0.0);
        assert!((at_base - want).abs() < 1e-6, "{at_base} vs {want}");
        // Facing -x (yaw pi) the scan's forward points go down the slope instead.
        scan.sample(base, std::f32::consts::PI, Some(&terrain), &mut out);
        let step = centre_row(&out, 9) - centre_row(&out, 8);
        assert!((step - 0.1 * gradient).abs() < 1e-4, "yaw pi: step {step}");
    }

    #[test]
    fn rejects_a_zero_spacing() {
        let err = HeightScan::new(HeightScanConfig {
            spacing_m: 0.0,
            ..HeightScanConfig::default()
        });
        assert!(matches!(
            err,
            Err(SensorError::InvalidParameter {
                name: "spacing_m",
                ..
            })
        ));
    }
}
