//! The regular height field every terrain is stored as, its triangulation, and point queries.
//!
//! # Indexing
//! Sample `(ix, iy)`, `0 <= ix < nx`, `0 <= iy < ny`, lies at world
//! `(origin_x + ix·cell_m, origin_y + iy·cell_m)` and its height is `heights[ix * ny + iy]`
//! (x-major: samples of one x are contiguous). Cell `(ix, iy)` is the square between samples
//! `(ix, iy)` and `(ix + 1, iy + 1)`; there are `(nx - 1)·(ny - 1)` cells.
//!
//! # Triangulation
//! Each cell is two triangles split along one diagonal, chosen by [`Diagonal`] (one value per
//! field; [`Diagonal::Main`], from sample `(ix, iy)` to `(ix + 1, iy + 1)`, unless changed with
//! [`HeightField::with_diagonal`]). Height, normal, raycast and mesh all go through
//! [`Diagonal::triangles`], [`Diagonal::second_contains`] and [`Diagonal::line`], so switching the diagonal to match a physics engine's own
//! heightfield triangulation is a one-value change that keeps every query consistent.

use super::TerrainError;
use super::raycast::Blocks;

/// Most samples a field may hold (16.8 M, 64 MiB of heights): above this something is misconfigured.
pub const MAX_SAMPLES: usize = 1 << 24;

/// Which diagonal splits every cell into two triangles. Corners of a cell are named by their
/// offsets `(dx, dy)` from sample `(ix, iy)`; `(fx, fy)` in `[0, 1]²` is a point's position in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Diagonal {
    /// From corner `(0, 0)` to `(1, 1)`: triangles `(0,0) (1,0) (1,1)` where `fx >= fy`, and
    /// `(0,0) (1,1) (0,1)` where `fx < fy`. The default.
    #[default]
    Main,
    /// From corner `(1, 0)` to `(0, 1)`: triangles `(0,0) (1,0) (0,1)` where `fx + fy <= 1`, and
    /// `(1,0) (1,1) (0,1)` where `fx + fy > 1`.
    Anti,
}

impl Diagonal {
    /// The cell's two triangles as corner offsets, each counter-clockwise seen from above (so the
    /// mesh's normals point up). Index 0 is the first triangle, 1 the second.
    #[must_use]
    pub const fn triangles(self) -> [[[usize; 2]; 3]; 2] {
        match self {
            Self::Main => [[[0, 0], [1, 0], [1, 1]], [[0, 0], [1, 1], [0, 1]]],
            Self::Anti => [[[0, 0], [1, 0], [0, 1]], [[1, 0], [1, 1], [0, 1]]],
        }
    }

    /// The diagonal as the line `a·fx + b·fy = c` in cell coordinates: `([a, b], c)`.
    #[must_use]
    pub const fn line(self) -> ([f32; 2], f32) {
        match self {
            Self::Main => ([1.0, -1.0], 0.0),
            Self::Anti => ([1.0, 1.0], 1.0),
        }
    }

    /// Whether in-cell position `(fx, fy)` lies in the second triangle (points on the diagonal
    /// belong to the first; both give the same height there).
    #[must_use]
    pub fn second_contains(self, fx: f32, fy: f32) -> bool {
        match self {
            Self::Main => fx < fy,
            Self::Anti => fx + fy > 1.0,
        }
    }
}

/// A regular grid of heights, z up, metres. See the module docs for indexing and triangulation.
#[derive(Debug, Clone, PartialEq)]
pub struct HeightField {
    nx: usize,
    ny: usize,
    cell_m: f32,
    origin_xy: [f32; 2],
    heights: Vec<f32>,
    diagonal: Diagonal,
    min_h: f32,
    max_h: f32,
    blocks: Blocks,
}

impl HeightField {
    /// A field of `nx × ny` samples `cell_m` apart, sample `(0, 0)` at `origin_xy`, with `heights`
    /// indexed `ix * ny + iy`, triangulated along [`Diagonal::Main`].
    ///
    /// # Errors
    /// [`TerrainError::InvalidParameter`] if `nx` or `ny` is below 2, the field has more than
    /// [`MAX_SAMPLES`], `cell_m` is not positive and finite, or a height is not finite;
    /// [`TerrainError::HeightsLength`] if `heights.len() != nx * ny`.
    pub fn new(
        nx: usize,
        ny: usize,
        cell_m: f32,
        origin_xy: [f32; 2],
        heights: Vec<f32>,
    ) -> Result<Self, TerrainError> {
        if nx < 2 || ny < 2 || nx.saturating_mul(ny) > MAX_SAMPLES {
            return Err(TerrainError::InvalidParameter {
                name: "nx × ny",
                value: format!("{nx} × {ny}"),
                allowed: format!("each >= 2, product <= {MAX_SAMPLES}"),
            });
        }
        if !(cell_m.is_finite() && cell_m > 0.0) {
            return Err(TerrainError::InvalidParameter {
                name: "cell_m",
                value: cell_m.to_string(),
                allowed: "> 0".to_owned(),
            });
        }
        if heights.len() != nx * ny {
            return Err(TerrainError::HeightsLength {
                expected: nx * ny,
                got: heights.len(),
            });
        }
        if let Some(i) = heights.iter().position(|h| !h.is_finite()) {
            return Err(TerrainError::InvalidParameter {
                name: "heights",
                value: format!("heights[{i}] = {}", heights[i]),
                allowed: "finite values".to_owned(),
            });
        }
        let min_h = heights.iter().copied().fold(f32::INFINITY, f32::min);
        let max_h = heights.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        Ok(Self {
            blocks: Blocks::new(nx, ny, &heights),
            nx,
            ny,
            cell_m,
            origin_xy,
            heights,
            diagonal: Diagonal::Main,
            min_h,
            max_h,
        })
    }

    /// The same field triangulated along `diagonal`.
    #[must_use]
    pub fn with_diagonal(mut self, diagonal: Diagonal) -> Self {
        self.diagonal = diagonal;
        self
    }

    /// Samples along x.
    #[must_use]
    pub fn nx(&self) -> usize {
        self.nx
    }
    /// Samples along y.
    #[must_use]
    pub fn ny(&self) -> usize {
        self.ny
    }
    /// Sample spacing, m.
    #[must_use]
    pub fn cell_m(&self) -> f32 {
        self.cell_m
    }
    /// World position of sample `(0, 0)`, m.
    #[must_use]
    pub fn origin_xy(&self) -> [f32; 2] {
        self.origin_xy
    }
    /// World position of sample `(nx - 1, ny - 1)`, m.
    #[must_use]
    pub fn max_xy(&self) -> [f32; 2] {
        [
            self.origin_xy[0] + (self.nx - 1) as f32 * self.cell_m,
            self.origin_xy[1] + (self.ny - 1) as f32 * self.cell_m,
        ]
    }
    /// All heights, indexed `ix * ny + iy`, m.
    #[must_use]
    pub fn heights(&self) -> &[f32] {
        &self.heights
    }
    /// The triangulation.
    #[must_use]
    pub fn diagonal(&self) -> Diagonal {
        self.diagonal
    }
    /// Lowest and highest sample, m.
    #[must_use]
    pub fn height_range(&self) -> (f32, f32) {
        (self.min_h, self.max_h)
    }
    /// Per-block height ranges for [`Self::raycast`].
    pub(super) fn blocks(&self) -> &Blocks {
        &self.blocks
    }
    /// Index of sample `(ix, iy)` in [`Self::heights`]: `ix * ny + iy`.
    #[must_use]
    pub fn index(&self, ix: usize, iy: usize) -> usize {
        ix * self.ny + iy
    }
    /// Height of sample `(ix, iy)`, m. Panics if out of range (a caller bug).
    #[must_use]
    pub fn at(&self, ix: usize, iy: usize) -> f32 {
        self.heights[self.index(ix, iy)]
    }
    /// World position of sample `(ix, iy)` with its height.
    #[must_use]
    pub fn point(&self, ix: usize, iy: usize) -> [f32; 3] {
        [
            self.origin_xy[0] + ix as f32 * self.cell_m,
            self.origin_xy[1] + iy as f32 * self.cell_m,
            self.at(ix, iy),
        ]
    }
    /// Whether `(x, y)` lies on the field's footprint (edges included).
    #[must_use]
    pub fn contains_xy(&self, x: f32, y: f32) -> bool {
        let [x1, y1] = self.max_xy();
        (self.origin_xy[0]..=x1).contains(&x) && (self.origin_xy[1]..=y1).contains(&y)
    }

    /// The cell holding `(x, y)` and the position in it, `(ix, iy, fx, fy)`. Points off the
    /// footprint are clamped onto its edge.
    #[must_use]
    pub fn locate(&self, x: f32, y: f32) -> (usize, usize, f32, f32) {
        let (ix, fx) = axis(x - self.origin_xy[0], self.cell_m, self.nx);
        let (iy, fy) = axis(y - self.origin_xy[1], self.cell_m, self.ny);
        (ix, iy, fx, fy)
    }

    /// Height and gradient `(h, dh/dx, dh/dy)` of the triangle holding in-cell `(fx, fy)` of cell
    /// `(ix, iy)`. The one place where the triangulation turns into numbers.
    #[must_use]
    pub fn plane(&self, ix: usize, iy: usize, fx: f32, fy: f32) -> (f32, f32, f32) {
        let i = self.index(ix, iy);
        let (h00, h01) = (self.heights[i], self.heights[i + 1]);
        let (h10, h11) = (self.heights[i + self.ny], self.heights[i + self.ny + 1]);
        let second = self.diagonal.second_contains(fx, fy);
        // Per-cell slopes of the containing triangle (rise per cell along x and y).
        let (sx, sy, h) = match (self.diagonal, second) {
            // (0,0) (1,0) (1,1)
            (Diagonal::Main, false) => (h10 - h00, h11 - h10, h00),
            // (0,0) (1,1) (0,1)
            (Diagonal::Main, true) => (h11 - h01, h01 - h00, h00),
            // (0,0) (1,0) (0,1)
            (Diagonal::Anti, false) => (h10 - h00, h01 - h00, h00),
            // (1,0) (1,1) (0,1), anchored at (1,1) - (1,1) offset
            (Diagonal::Anti, true) => (h11 - h01, h11 - h10, h11 - (h11 - h01) - (h11 - h10)),
        };
        (h + sx * fx + sy * fy, sx / self.cell_m, sy / self.cell_m)
    }

    /// Height at world `(x, y)` on the triangulated surface, m; off the footprint, the height of
    /// the nearest edge point.
    #[must_use]
    pub fn height(&self, x: f32, y: f32) -> f32 {
        let (ix, iy, fx, fy) = self.locate(x, y);
        self.plane(ix, iy, fx, fy).0
    }

    /// Unit upward normal (z > 0) of the triangle under `(x, y)`.
    #[must_use]
    pub fn normal(&self, x: f32, y: f32) -> [f32; 3] {
        let (ix, iy, fx, fy) = self.locate(x, y);
        let (_, gx, gy) = self.plane(ix, iy, fx, fy);
        let inv = 1.0 / (gx * gx + gy * gy + 1.0).sqrt();
        [-gx * inv, -gy * inv, inv]
    }

    /// Triangle mesh of the surface with the same triangulation: vertex `ix * ny + iy` is sample
    /// `(ix, iy)` in world coordinates; `2·(nx-1)·(ny-1)` triangles, counter-clockwise from above,
    /// cell `(ix, iy)`'s two at `2·(ix·(ny-1) + iy)` and the next index.
    #[must_use]
    pub fn mesh(&self) -> (Vec<[f32; 3]>, Vec<[u32; 3]>) {
        let mut vertices = Vec::with_capacity(self.nx * self.ny);
        for ix in 0..self.nx {
            for iy in 0..self.ny {
                vertices.push(self.point(ix, iy));
            }
        }
        let tris = self.diagonal.triangles();
        let mut triangles = Vec::with_capacity(2 * (self.nx - 1) * (self.ny - 1));
        for ix in 0..self.nx - 1 {
            for iy in 0..self.ny - 1 {
                for tri in &tris {
                    // Indices are below MAX_SAMPLES < 2^32.
                    triangles.push(tri.map(|[dx, dy]| self.index(ix + dx, iy + dy) as u32));
                }
            }
        }
        (vertices, triangles)
    }
}

/// Cell index in `0..=n-2` and the position in it in `[0, 1]` along one axis, for offset `d` from
/// the field origin (clamped onto the field).
fn axis(d: f32, cell_m: f32, n: usize) -> (usize, f32) {
    let f = (d / cell_m).clamp(0.0, (n - 1) as f32);
    // f is finite and non-negative here (NaN clamps to NaN, which casts to 0 below).
    let i = (f as usize).min(n - 2);
    (i, (f - i as f32).clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigor_common::seed::SplitMix64;

    fn random_field(diagonal: Diagonal) -> HeightField {
        let mut rng = SplitMix64::new(3);
        let heights = (0..7 * 5).map(|_| rng.uniform(-0.5, 0.5)).collect();
        HeightField::new(7, 5, 0.1, [-0.3, 0.2], heights)
            .unwrap()
            .with_diagonal(diagonal)
    }

    #[test]
    fn samples_sit_at_documented_indices_and_positions() {
        let f = random_field(Diagonal::Main);
        assert_eq!(f.index(2, 3), 2 * 5 + 3);
        let [x, y, z] = f.point(2, 3);
        assert!((x - (-0.3 + 0.2)).abs() < 1e-6 && (y - (0.2 + 0.3)).abs() < 1e-6);
        assert_eq!(z, f.heights()[13]);
        assert!(
            (f.height(x, y) - z).abs() < 1e-6,
            "surface passes through samples"
        );
    }

    #[test]
    fn mesh_matches_height_for_both_diagonals() {
        for diagonal in [Diagonal::Main, Diagonal::Anti] {
            let f = random_field(diagonal);
            let (v, t) = f.mesh();
            assert_eq!(v.len(), 35);
            assert_eq!(t.len(), 2 * 6 * 4);
            for (i, p) in v.iter().enumerate() {
                assert_eq!(p[2], f.heights()[i]);
            }
            let mut rng = SplitMix64::new(9);
            for _ in 0..500 {
                let (x, y) = (rng.uniform(-0.3, 0.3), rng.uniform(0.2, 0.6));
                let hits: Vec<f32> = t
                    .iter()
                    .filter_map(|tri| bary_height(&v, tri, x, y))
                    .collect();
                assert!(!hits.is_empty(), "({x}, {y}) in no triangle");
                for h in hits {
                    assert!(
                        (h - f.height(x, y)).abs() < 1e-5,
                        "{diagonal:?} at ({x}, {y})"
                    );
                }
            }
            for tri in &t {
                let [a, b, c] = tri.map(|i| v[i as usize]);
                let cross = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]);
                assert!(
                    cross > 0.0,
                    "{diagonal:?}: triangle {tri:?} is not counter-clockwise"
                );
            }
        }
    }

    /// Height of the mesh triangle at `(x, y)` if the point lies in it.
    fn bary_height(v: &[[f32; 3]], tri: &[u32; 3], x: f32, y: f32) -> Option<f32> {
        let [a, b, c] = tri.map(|i| v[i as usize]);
        let det = (b[1] - c[1]) * (a[0] - c[0]) + (c[0] - b[0]) * (a[1] - c[1]);
        let l1 = ((b[1] - c[1]) * (x - c[0]) + (c[0] - b[0]) * (y - c[1])) / det;
        let l2 = ((c[1] - a[1]) * (x - c[0]) + (a[0] - c[0]) * (y - c[1])) / det;
        let l3 = 1.0 - l1 - l2;
        let eps = -1e-5;
        (l1 >= eps && l2 >= eps && l3 >= eps).then(|| l1 * a[2] + l2 * b[2] + l3 * c[2])
    }

    #[test]
    fn normals_are_unit_up_and_match_the_gradient() {
        for diagonal in [Diagonal::Main, Diagonal::Anti] {
            let f = random_field(diagonal);
            let mut rng = SplitMix64::new(4);
            for _ in 0..200 {
                let (x, y) = (rng.uniform(-0.29, 0.29), rng.uniform(0.21, 0.59));
                let n = f.normal(x, y);
                let len = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
                assert!((len - 1.0).abs() < 1e-5 && n[2] > 0.0, "{n:?}");
                // A small step inside the same triangle changes height by -n.xy/n.z · step.
                let (ix, iy, fx, fy) = f.locate(x, y);
                let (h, gx, gy) = f.plane(ix, iy, fx, fy);
                assert!((gx + n[0] / n[2]).abs() < 1e-4 && (gy + n[1] / n[2]).abs() < 1e-4);
                assert!((h - f.height(x, y)).abs() < 1e-7);
            }
        }
    }

    #[test]
    fn off_footprint_heights_clamp_to_the_edge_and_bad_input_is_rejected() {
        let f = random_field(Diagonal::Main);
        assert_eq!(f.height(-10.0, 0.2), f.at(0, 0));
        assert_eq!(f.height(10.0, 10.0), f.at(6, 4));
        assert!(matches!(
            HeightField::new(2, 2, 0.1, [0.0; 2], vec![0.0; 3]),
            Err(TerrainError::HeightsLength {
                expected: 4,
                got: 3
            })
        ));
        let err = HeightField::new(1, 2, 0.1, [0.0; 2], vec![0.0; 2]).unwrap_err();
        assert!(err.to_string().contains("nx × ny"), "{err}");
        let err = HeightField::new(2, 2, 0.1, [0.0; 2], vec![0.0, f32::NAN, 0.0, 0.0]);
        assert!(err.unwrap_err().to_string().contains("heights[1]"));
    }
}
