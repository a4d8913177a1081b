//! Ray casting against a [`HeightField`]'s triangulated surface.
//!
//! The ray is clipped to the field's bounding box (footprint in x, y; lowest to highest sample in
//! z), then walks in xy with a two-level 2-D DDA (Amanatides & Woo): first over blocks of
//! [`BLOCK_CELLS`]² cells, skipping every block whose height range the ray's z does not reach
//! while over it, then over the cells of the blocks it may hit. Within a cell the gap
//! `g(t) = z_ray(t) - surface(t)` is linear on each of the two triangles, so its first sign change
//! is found exactly from its values at the cell entry, the diagonal crossing and the exit. No
//! allocation; vertical rays visit one block and one cell.

use super::HeightField;

/// Slack added above and below height ranges when clipping a ray, m.
const Z_PAD_M: f32 = 1e-3;
/// Side of a raycast block, cells.
pub const BLOCK_CELLS: usize = 8;

/// Lowest and highest sample of each block of [`BLOCK_CELLS`]² cells (corner samples included),
/// block `(bx, by)` at `bx * n[1] + by`.
#[derive(Debug, Clone, PartialEq, Default)]
pub(super) struct Blocks {
    n: [usize; 2],
    min: Vec<f32>,
    max: Vec<f32>,
}

impl Blocks {
    /// Block ranges of an `nx × ny` field (both >= 2) with heights indexed `ix * ny + iy`.
    pub(super) fn new(nx: usize, ny: usize, heights: &[f32]) -> Self {
        let n = [
            (nx - 1).div_ceil(BLOCK_CELLS),
            (ny - 1).div_ceil(BLOCK_CELLS),
        ];
        let mut min = vec![f32::INFINITY; n[0] * n[1]];
        let mut max = vec![f32::NEG_INFINITY; n[0] * n[1]];
        // Sample i is a corner of the cells of blocks (i - 1) / B ..= i / B.
        let blocks =
            |i: usize, n: usize| i.saturating_sub(1) / BLOCK_CELLS..=(i / BLOCK_CELLS).min(n - 1);
        for ix in 0..nx {
            for iy in 0..ny {
                let h = heights[ix * ny + iy];
                for bx in blocks(ix, n[0]) {
                    for by in blocks(iy, n[1]) {
                        let k = bx * n[1] + by;
                        min[k] = min[k].min(h);
                        max[k] = max[k].max(h);
                    }
                }
            }
        }
        Self { n, min, max }
    }
}

impl HeightField {
    /// Distance along `dir` (any non-zero length; distances are along the unit direction) from
    /// `origin` to the first crossing of the surface, if within `max_dist` metres.
    ///
    /// The surface exists only over the footprint (no side walls, nothing beyond); a ray starting
    /// on the surface hits at 0, and one starting below it reports where it comes out. `None`
    /// for a zero or non-finite direction or a negative `max_dist`.
    #[must_use]
    pub fn raycast(&self, origin: [f32; 3], dir: [f32; 3], max_dist: f32) -> Option<f32> {
        let len = (dir[0] * dir[0] + dir[1] * dir[1] + dir[2] * dir[2]).sqrt();
        if !(len.is_finite() && len > 0.0 && max_dist >= 0.0)
            || origin.iter().any(|o| !o.is_finite())
        {
            return None;
        }
        let d = dir.map(|c| c / len);
        let [x0, y0] = self.origin_xy();
        let [x1, y1] = self.max_xy();
        let (lo_z, hi_z) = self.height_range();
        let (mut t0, mut t1) = (0.0_f32, max_dist);
        for (o, dd, lo, hi) in [
            (origin[0], d[0], x0, x1),
            (origin[1], d[1], y0, y1),
            // Padded so rounding cannot clip a crossing on the lowest or highest sample.
            (origin[2], d[2], lo_z - Z_PAD_M, hi_z + Z_PAD_M),
        ] {
            if dd == 0.0 {
                if o < lo || o > hi {
                    return None;
                }
            } else {
                let (ta, tb) = ((lo - o) / dd, (hi - o) / dd);
                t0 = t0.max(ta.min(tb));
                t1 = t1.min(ta.max(tb));
            }
        }
        if t0 > t1 {
            return None;
        }
        let c = self.cell_m();
        // The ray in xy relative to the field origin, in cells: p(t) = q + t·e.
        let q = [(origin[0] - x0) / c, (origin[1] - y0) / c];
        let e = [d[0] / c, d[1] / c];
        let blocks = self.blocks();
        let b = BLOCK_CELLS as f32;
        walk(
            [q[0] / b, q[1] / b],
            [e[0] / b, e[1] / b],
            blocks.n,
            t0,
            t1,
            |bx, by, ta, tb| {
                let k = bx * blocks.n[1] + by;
                let (za, zb) = (origin[2] + ta * d[2], origin[2] + tb * d[2]);
                if za.max(zb) < blocks.min[k] - Z_PAD_M || za.min(zb) > blocks.max[k] + Z_PAD_M {
                    return None;
                }
                self.walk_cells(origin[2], d[2], q, e, ta, tb)
            },
        )
    }

    /// The first crossing for `t` in `[t0, t1]`, walking single cells (`z(t) = oz + t·dz`).
    fn walk_cells(
        &self,
        oz: f32,
        dz: f32,
        q: [f32; 2],
        e: [f32; 2],
        t0: f32,
        t1: f32,
    ) -> Option<f32> {
        let gap = |ix: usize, iy: usize, t: f32| {
            let fx = (q[0] + t * e[0] - ix as f32).clamp(0.0, 1.0);
            let fy = (q[1] + t * e[1] - iy as f32).clamp(0.0, 1.0);
            oz + t * dz - self.plane(ix, iy, fx, fy).0
        };
        let ([a, b], rhs) = self.diagonal().line();
        let diag_rate = a * e[0] + b * e[1];
        let diag_at = a * q[0] + b * q[1];
        // g at the end of the previous cell, which is where the next one starts (continuous).
        let mut carry: Option<(f32, f32)> = None;
        let cells = [self.nx() - 1, self.ny() - 1];
        walk(q, e, cells, t0, t1, |ix, iy, mut ta, tb| {
            let mut ga = match carry {
                Some((t, g)) if t == ta => g,
                _ => gap(ix, iy, ta),
            };
            // Where the ray crosses this cell's diagonal, if strictly inside (ta, tb).
            if diag_rate != 0.0 {
                let td = (rhs + a * ix as f32 + b * iy as f32 - diag_at) / diag_rate;
                if td > ta && td < tb {
                    let gd = gap(ix, iy, td);
                    if let Some(t) = root(ta, ga, td, gd) {
                        return Some(t);
                    }
                    (ta, ga) = (td, gd);
                }
            }
            let gb = gap(ix, iy, tb);
            carry = Some((tb, gb));
            root(ta, ga, tb, gb)
        })
    }
}

/// Walks, in order, the cells of an `n[0] × n[1]` grid that the 2-D ray `p(t) = q + t·e` (in cell
/// units) crosses for `t` in `[t0, t1]`, calling `visit(i, j, ta, tb)` with each cell's span;
/// returns the first `Some` of `visit`.
fn walk(
    q: [f32; 2],
    e: [f32; 2],
    n: [usize; 2],
    t0: f32,
    t1: f32,
    mut visit: impl FnMut(usize, usize, f32, f32) -> Option<f32>,
) -> Option<f32> {
    let start = |k: usize| (q[k] + t0 * e[k]).floor().clamp(0.0, (n[k] - 1) as f32) as usize;
    let mut i = [start(0), start(1)];
    let inv = [1.0 / e[0], 1.0 / e[1]];
    // Parameter of the next boundary along axis k from cell i[k] (infinite when not moving).
    let next = |k: usize, i: usize| {
        if e[k] > 0.0 {
            (i as f32 + 1.0 - q[k]) * inv[k]
        } else if e[k] < 0.0 {
            (i as f32 - q[k]) * inv[k]
        } else {
            f32::INFINITY
        }
    };
    let mut ta = t0;
    loop {
        let (tx, ty) = (next(0, i[0]), next(1, i[1]));
        let tb = tx.min(ty).min(t1).max(ta);
        if let Some(t) = visit(i[0], i[1], ta, tb) {
            return Some(t);
        }
        if tb >= t1 {
            return None;
        }
        ta = tb;
        let k = usize::from(tx > ty);
        i[k] = if e[k] > 0.0 {
            (i[k] + 1 < n[k]).then_some(i[k] + 1)?
        } else {
            i[k].checked_sub(1)?
        };
    }
}

/// The first zero of the linear `g` on `[ta, tb]`, given its end values.
fn root(ta: f32, ga: f32, tb: f32, gb: f32) -> Option<f32> {
    if ga == 0.0 {
        Some(ta)
    } else if (ga > 0.0) != (gb > 0.0) {
        Some(ta + (tb - ta) * (ga / (ga - gb)))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::super::Diagonal;
    use super::*;
    use vigor_common::seed::SplitMix64;

    /// A field sampling `h(x, y)`, 41 × 31 samples 0.05 m apart: x in -1..=1, y in -0.5..=1.
    fn field(mut h: impl FnMut(f32, f32) -> f32) -> HeightField {
        let (nx, ny, c) = (41, 31, 0.05);
        let mut heights = Vec::new();
        for ix in 0..nx {
            for iy in 0..ny {
                heights.push(h(-1.0 + ix as f32 * c, -0.5 + iy as f32 * c));
            }
        }
        HeightField::new(nx, ny, c, [-1.0, -0.5], heights).unwrap()
    }

    fn random_ray(rng: &mut SplitMix64) -> ([f32; 3], [f32; 3]) {
        let o = [
            rng.uniform(-1.5, 1.5),
            rng.uniform(-1.0, 1.5),
            rng.uniform(0.5, 2.0),
        ];
        let d = [
            rng.uniform(-1.0, 1.0),
            rng.uniform(-1.0, 1.0),
            rng.uniform(-1.0, -0.05),
        ];
        (o, d)
    }

    fn unit(d: [f32; 3]) -> [f32; 3] {
        let n = (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt();
        d.map(|c| c / n)
    }

    #[test]
    fn flat_and_slope_match_the_analytic_plane() {
        // h = a·x + b·y + c is exactly representable, whatever the triangulation.
        for (a, b, c0) in [(0.0, 0.0, 0.3), (0.4, -0.2, 0.1)] {
            let f = field(|x, y| a * x + b * y + c0);
            let mut rng = SplitMix64::new(1);
            let mut hits = 0;
            for _ in 0..2000 {
                let (o, d) = random_ray(&mut rng);
                let u = unit(d);
                let t = (a * o[0] + b * o[1] + c0 - o[2]) / (u[2] - a * u[0] - b * u[1]);
                let p = [o[0] + t * u[0], o[1] + t * u[1]];
                // Distance of the analytic crossing from the footprint's edge (> 0: inside).
                let inside = (1.0 - p[0].abs()).min(p[1] + 0.5).min(1.0 - p[1]);
                let got = f.raycast(o, d, 10.0);
                if t > 0.0 && inside > 1e-3 {
                    let got = got.unwrap_or_else(|| panic!("missed: {o:?} {d:?}, expected {t}"));
                    assert!((got - t).abs() < 1e-4, "{o:?} {d:?}: {got} vs {t}");
                    hits += 1;
                } else if t < 0.0 || inside < -1e-3 {
                    // The only crossing of the plane is behind the ray or off the field.
                    assert_eq!(got, None, "{o:?} {d:?}");
                }
            }
            assert!(hits > 300, "too few rays hit: {hits}");
        }
    }

    #[test]
    fn vertical_rays_give_the_height_and_misses_give_none() {
        let f = field(|x, y| 0.2 * (3.0 * x).sin() * (5.0 * y).cos());
        let mut rng = SplitMix64::new(2);
        for _ in 0..500 {
            let (x, y) = (rng.uniform(-1.0, 1.0), rng.uniform(-0.5, 1.0));
            let t = f.raycast([x, y, 3.0], [0.0, 0.0, -2.0], 10.0).unwrap();
            assert!((3.0 - t - f.height(x, y)).abs() < 1e-5, "({x}, {y})");
            // Straight up from below the surface comes out through it.
            let below = f.height(x, y) - 0.5;
            let up = f.raycast([x, y, below], [0.0, 0.0, 1.0], 10.0).unwrap();
            assert!((up - 0.5).abs() < 1e-5);
        }
        assert_eq!(
            f.raycast([0.0, 0.0, 1.0], [0.0, 0.0, 1.0], 10.0),
            None,
            "points away"
        );
        assert_eq!(
            f.raycast([0.0, 0.0, 1.0], [0.0, 0.0, -1.0], 0.5),
            None,
            "too short"
        );
        assert_eq!(
            f.raycast([5.0, 0.0, 1.0], [0.0, 0.0, -1.0], 10.0),
            None,
            "off the field"
        );
        assert_eq!(
            f.raycast([0.0, 0.0, 1.0], [1.0, 0.0, 0.0], 10.0),
            None,
            "level, above"
        );
        assert_eq!(
            f.raycast([0.0, 0.0, 1.0], [0.0; 3], 10.0),
            None,
            "no direction"
        );
    }

    #[test]
    fn first_hit_equals_brute_force_over_every_triangle() {
        for diagonal in [Diagonal::Main, Diagonal::Anti] {
            let mut noise = SplitMix64::new(8);
            let base = field(|_, _| noise.uniform(-0.3, 0.3)).with_diagonal(diagonal);
            let (v, tris) = base.mesh();
            let mut rng = SplitMix64::new(5);
            for _ in 0..300 {
                let (o, d) = random_ray(&mut rng);
                let u = unit(d);
                let brute = tris
                    .iter()
                    .filter_map(|t| moller_trumbore(o, u, t.map(|i| v[i as usize])))
                    .fold(f32::INFINITY, f32::min);
                match base.raycast(o, d, 10.0) {
                    Some(t) => assert!(
                        (t - brute).abs() < 1e-4,
                        "{diagonal:?} {o:?} {d:?}: {t} vs {brute}"
                    ),
                    None => assert!(
                        brute.is_infinite(),
                        "{diagonal:?} {o:?} {d:?}: missed {brute}"
                    ),
                }
            }
        }
    }

    fn moller_trumbore(o: [f32; 3], d: [f32; 3], [a, b, c]: [[f32; 3]; 3]) -> Option<f32> {
        let sub = |p: [f32; 3], q: [f32; 3]| [p[0] - q[0], p[1] - q[1], p[2] - q[2]];
        let cross = |p: [f32; 3], q: [f32; 3]| {
            [
                p[1] * q[2] - p[2] * q[1],
                p[2] * q[0] - p[0] * q[2],
                p[0] * q[1] - p[1] * q[0],
            ]
        };
        let dot = |p: [f32; 3], q: [f32; 3]| p[0] * q[0] + p[1] * q[1] + p[2] * q[2];
        let (e1, e2) = (sub(b, a), sub(c, a));
        let p = cross(d, e2);
        let det = dot(e1, p);
        if det.abs() < 1e-12 {
            return None;
        }
        let s = sub(o, a);
        let u = dot(s, p) / det;
        let qv = cross(s, e1);
        let v = dot(d, qv) / det;
        let t = dot(e2, qv) / det;
        (u >= -1e-6 && v >= -1e-6 && u + v <= 1.0 + 1e-6 && t >= 0.0).then_some(t)
    }
}
