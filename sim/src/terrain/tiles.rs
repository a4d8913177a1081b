//! Per-kind tile generators: difficulty -> physical figures ([`TileShape::of`]) -> height at a point
//! ([`TileShape::height`]).
//!
//! Figures follow the ranges of legged_gym's terrain curriculum (its `terrain.py`: slope gradient
//! `0.4·d`, step height `0.05 + 0.18·d` on ~0.31 m treads, discrete obstacles `0.05 + 0.2·d`,
//! stepping stones, gaps with ~1 m pits), scaled for a humanoid's feet where noted. The code is
//! written from those published figures, not from legged_gym's code.
//!
//! A tile is described in local coordinates `(u, v)` in metres from its centre (x and y axes),
//! `-half <= u, v < half`. Every generator is a pure function of `(seed, u, v)`: random layouts are
//! drawn by hashing the tile seed with a lattice index ([`vigor_common::seed::derive`]), so a sample's
//! height never depends on the order in which samples or tiles are generated.

use vigor_common::seed::{SplitMix64, derive};

use super::TerrainKind;

/// Half-width of the square spawn spot at each tile centre, m (a 1.5 m square: room for a standing
/// G1 with arms out). Kinds that allow it keep it flat.
pub const SPAWN_HALF_M: f32 = 0.75;
/// Depth of the pits between stepping stones and of gaps, m (legged_gym uses ~1 m: deep enough that
/// a foot finds no support).
pub const PIT_DEPTH_M: f32 = 1.0;
/// Slope angle at difficulty 1, rad (legged_gym's gradient 0.4 read as an angle: 22.9°).
pub const MAX_SLOPE_RAD: f32 = 0.4;
/// Stair tread (step width), m; legged_gym uses 0.31 m.
pub const STEP_WIDTH_M: f32 = 0.30;
/// Nominal wavelength of [`TerrainKind::Waves`], m; rounded so a whole number of waves fits a tile.
pub const WAVE_LENGTH_M: f32 = 2.0;
/// Lattice spacing of the [`TerrainKind::Rough`] noise, m (legged_gym samples its random terrain on
/// a 0.2 m grid and interpolates).
pub const ROUGH_LATTICE_M: f32 = 0.2;
/// Lattice spacing of [`TerrainKind::Boxes`]: at most one box per square of this side, m.
pub const BOX_PITCH_M: f32 = 1.0;
/// Width of the level rings between the trenches of [`TerrainKind::Gaps`], m.
pub const GAP_LAND_M: f32 = 1.0;
/// Half-width of the raised square of [`TerrainKind::Platform`], m (a 2 m square).
pub const PLATFORM_HALF_M: f32 = 1.0;

/// Distance over which waves fade in around the spawn square, m.
pub(super) const WAVE_FADE_M: f32 = 0.5;
/// Distance over which rough ground fades out towards the tile edge, m.
pub(super) const ROUGH_EDGE_FADE_M: f32 = 0.4;
/// Probability that a box lattice square holds a box.
const BOX_FILL: f32 = 0.8;
/// Box side range, m (independently along x and y).
const BOX_SIDE_M: (f32, f32) = (0.4, 0.9);
/// Boxes keep this clearance from the spawn square, m.
const BOX_CLEARANCE_M: f32 = 0.1;
/// Tolerance for ring boundaries that fall exactly on a sample, m.
const EDGE_EPS_M: f32 = 1e-4;

/// The physical figures of one tile, derived from its kind and difficulty `d` in `0..=1`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TileShape {
    /// Height 0 everywhere.
    Flat,
    /// Bilinear noise on a [`ROUGH_LATTICE_M`] lattice, uniform in `±amplitude_m`, fading to 0 over
    /// the outer 0.4 m of the tile (the spawn spot stays rough).
    Rough {
        /// Peak deviation, m: `0.01 + 0.07·d` (legged_gym's random terrain spans ~±0.05 m).
        amplitude_m: f32,
    },
    /// `amplitude·sin(kx)·sin(ky)` with a whole number of waves per tile, faded in around the spawn.
    Waves {
        /// Peak height, m: `0.02 + 0.18·d`.
        amplitude_m: f32,
    },
    /// A square pyramid (`up = false`: spawn on top) or inverted pyramid (`up = true`: spawn in the
    /// bowl) whose faces rise or fall at `gradient` from the spawn square to the tile edge.
    Pyramid {
        /// Rise over run: `tan(0.4·d)`, i.e. 0 ..= 0.42.
        gradient: f32,
        /// Whether walking outwards from the spawn goes up.
        up: bool,
    },
    /// Square V-shaped moat around the spawn square (see [`TerrainKind::InvertedSlope`]).
    Valley {
        /// Rise over run of the valley sides: `tan(0.4·d)`.
        gradient: f32,
    },
    /// Square rings of steps around the spawn square.
    Stairs {
        /// Riser, m: `0.05 + 0.18·d` (legged_gym's figures; 0.23 m is a steep human stair).
        step_height_m: f32,
        /// Tread, m: [`STEP_WIDTH_M`].
        step_width_m: f32,
        /// Whether walking outwards from the spawn climbs.
        up: bool,
    },
    /// Square stones on a lattice (each row shifted at random) over [`PIT_DEPTH_M`] pits.
    Stones {
        /// Stone side, m: `1.0 - 0.7·d` (legged_gym shrinks 1.5 m stones to nothing for a
        /// quadruped; a humanoid foot needs ≥ 0.3 m).
        stone_m: f32,
        /// Pit width between stones, m: `0.05 + 0.30·d`.
        gap_m: f32,
        /// Stone top height jitter, m: uniform in `±0.03·d`.
        jitter_m: f32,
    },
    /// Boxes on level ground, at most one per [`BOX_PITCH_M`] square, none on the spawn square.
    Boxes {
        /// Lowest box, m: 0.05.
        min_height_m: f32,
        /// Highest box, m: `0.05 + 0.20·d` (legged_gym's discrete obstacles).
        max_height_m: f32,
    },
    /// A raised square under the spawn spot.
    Platform {
        /// Platform height, m: `0.1 + 0.4·d`.
        height_m: f32,
        /// Half-width, m: [`PLATFORM_HALF_M`].
        half_m: f32,
    },
    /// Square trenches [`PIT_DEPTH_M`] deep around the spawn square, separated by level rings.
    Gaps {
        /// Trench width, m: `0.1 + 0.5·d` (legged_gym: `1.0·d`, halved for a biped's stride).
        gap_m: f32,
        /// Level ring width, m: [`GAP_LAND_M`].
        land_m: f32,
    },
}

impl TileShape {
    /// The figures of `kind` at difficulty `difficulty` (clamped to `0..=1`).
    #[must_use]
    pub fn of(kind: TerrainKind, difficulty: f32) -> Self {
        let d = if difficulty.is_nan() {
            0.0
        } else {
            difficulty.clamp(0.0, 1.0)
        };
        let gradient = (MAX_SLOPE_RAD * d).tan();
        let stairs = |up| Self::Stairs {
            step_height_m: 0.05 + 0.18 * d,
            step_width_m: STEP_WIDTH_M,
            up,
        };
        match kind {
            TerrainKind::Flat => Self::Flat,
            TerrainKind::Rough => Self::Rough {
                amplitude_m: 0.01 + 0.07 * d,
            },
            TerrainKind::Waves => Self::Waves {
                amplitude_m: 0.02 + 0.18 * d,
            },
            TerrainKind::SlopeUp => Self::Pyramid { gradient, up: true },
            TerrainKind::SlopeDown => Self::Pyramid {
                gradient,
                up: false,
            },
            TerrainKind::InvertedSlope => Self::Valley { gradient },
            TerrainKind::StairsUp => stairs(true),
            TerrainKind::StairsDown => stairs(false),
            TerrainKind::SteppingStones => Self::Stones {
                stone_m: 1.0 - 0.7 * d,
                gap_m: 0.05 + 0.30 * d,
                jitter_m: 0.03 * d,
            },
            TerrainKind::Boxes => Self::Boxes {
                min_height_m: 0.05,
                max_height_m: 0.05 + 0.20 * d,
            },
            TerrainKind::Platform => Self::Platform {
                height_m: 0.1 + 0.4 * d,
                half_m: PLATFORM_HALF_M,
            },
            TerrainKind::Gaps => Self::Gaps {
                gap_m: 0.1 + 0.5 * d,
                land_m: GAP_LAND_M,
            },
        }
    }

    /// Height in metres at local `(u, v)` of a tile of half-width `half_m` whose seed is `seed`.
    #[must_use]
    pub fn height(&self, seed: u64, half_m: f32, u: f32, v: f32) -> f32 {
        // Chebyshev distance from the centre: square rings, like the spawn square.
        let ring = u.abs().max(v.abs());
        let run = (half_m - SPAWN_HALF_M).max(0.0);
        match *self {
            Self::Flat => 0.0,
            Self::Rough { amplitude_m } => {
                // Fades to 0 over the outer ROUGH_EDGE_FADE_M so neighbouring tiles meet level.
                let edge = smoothstep((half_m - ring) / ROUGH_EDGE_FADE_M);
                edge * rough(seed, amplitude_m, u + half_m, v + half_m)
            }
            Self::Waves { amplitude_m } => {
                let waves = (2.0 * half_m / WAVE_LENGTH_M).round().max(1.0);
                let k = std::f32::consts::PI * waves / half_m;
                let fade = smoothstep((ring - SPAWN_HALF_M) / WAVE_FADE_M);
                amplitude_m * ((u + half_m) * k).sin() * ((v + half_m) * k).sin() * fade
            }
            Self::Pyramid { gradient, up } => {
                let below_top = gradient * (ring - SPAWN_HALF_M).clamp(0.0, run);
                let summit = gradient * run;
                if up {
                    below_top - summit
                } else {
                    summit - below_top
                }
            }
            Self::Valley { gradient } => {
                let t = (ring - SPAWN_HALF_M).clamp(0.0, run);
                let mid = 0.5 * run;
                -gradient * (mid - (t - mid).abs())
            }
            Self::Stairs {
                step_height_m,
                step_width_m,
                up,
            } => {
                let steps = stair_count(half_m, step_width_m);
                let t = ring - SPAWN_HALF_M;
                // Ring k (1-based) covers t in (EPS + (k-1)·w, EPS + k·w]; the spawn square is k = 0.
                let k = if t <= EDGE_EPS_M {
                    0
                } else {
                    (((t - EDGE_EPS_M) / step_width_m).ceil() as u32).min(steps)
                };
                let h = step_height_m * (steps - k) as f32;
                if up { -h } else { h }
            }
            Self::Stones {
                stone_m,
                gap_m,
                jitter_m,
            } => {
                if ring <= SPAWN_HALF_M {
                    return 0.0;
                }
                let pitch = stone_m + gap_m;
                let a = u + half_m;
                let j = (a / pitch).floor();
                let shift = unit(seed, "terrain_stone_row", j as i64, 0) * pitch;
                let b = v + half_m + shift;
                let k = (b / pitch).floor();
                if a - j * pitch < stone_m && b - k * pitch < stone_m {
                    (2.0 * unit(seed, "terrain_stone", j as i64, k as i64) - 1.0) * jitter_m
                } else {
                    -PIT_DEPTH_M
                }
            }
            Self::Boxes {
                min_height_m,
                max_height_m,
            } => boxes(seed, min_height_m, max_height_m, half_m, u, v),
            Self::Platform { height_m, half_m } => {
                if ring <= half_m + EDGE_EPS_M {
                    height_m
                } else {
                    0.0
                }
            }
            Self::Gaps { gap_m, land_m } => {
                let t = ring - SPAWN_HALF_M;
                if t <= EDGE_EPS_M {
                    return 0.0;
                }
                if (t - EDGE_EPS_M).rem_euclid(gap_m + land_m) < gap_m {
                    -PIT_DEPTH_M
                } else {
                    0.0
                }
            }
        }
    }
}

/// Whole steps between the spawn square and the edge of a tile of half-width `half_m`.
#[must_use]
pub fn stair_count(half_m: f32, step_width_m: f32) -> u32 {
    ((half_m - SPAWN_HALF_M).max(0.0) / step_width_m + EDGE_EPS_M).floor() as u32
}

/// Uniform in `[0, 1)` from the tile seed, a stream label and a 2-D lattice index.
fn unit(seed: u64, label: &str, i: i64, j: i64) -> f32 {
    // Pack the two 32-bit lattice indices into one stream index (wrapping is intended).
    let index = (u64::from(i as u32) << 32) | u64::from(j as u32);
    SplitMix64::new(derive(seed, label, index)).next_f32()
}

/// Cubic ease from 0 (x <= 0) to 1 (x >= 1).
fn smoothstep(x: f32) -> f32 {
    let x = x.clamp(0.0, 1.0);
    x * x * (3.0 - 2.0 * x)
}

/// Bilinear lattice noise at tile-corner coordinates `(a, b)`.
fn rough(seed: u64, amplitude_m: f32, a: f32, b: f32) -> f32 {
    let (fa, fb) = (a / ROUGH_LATTICE_M, b / ROUGH_LATTICE_M);
    let (i, j) = (fa.floor(), fb.floor());
    let (s, t) = (fa - i, fb - j);
    let (i, j) = (i as i64, j as i64);
    let z = |di: i64, dj: i64| 2.0 * unit(seed, "terrain_rough", i + di, j + dj) - 1.0;
    let lower = z(0, 0) * (1.0 - s) + z(1, 0) * s;
    let upper = z(0, 1) * (1.0 - s) + z(1, 1) * s;
    amplitude_m * (lower * (1.0 - t) + upper * t)
}

/// The box (if any) over local `(u, v)`: one random rectangle per [`BOX_PITCH_M`] lattice square.
fn boxes(seed: u64, min_h: f32, max_h: f32, half_m: f32, u: f32, v: f32) -> f32 {
    let (a, b) = (u + half_m, v + half_m);
    let (j, k) = ((a / BOX_PITCH_M).floor(), (b / BOX_PITCH_M).floor());
    let index = (u64::from(j as i64 as u32) << 32) | u64::from(k as i64 as u32);
    let mut rng = SplitMix64::new(derive(seed, "terrain_box", index));
    if rng.next_f32() >= BOX_FILL {
        return 0.0;
    }
    let (sx, sy) = (
        rng.uniform(BOX_SIDE_M.0, BOX_SIDE_M.1),
        rng.uniform(BOX_SIDE_M.0, BOX_SIDE_M.1),
    );
    let x0 = j * BOX_PITCH_M + rng.uniform(0.0, BOX_PITCH_M - sx) - half_m;
    let y0 = k * BOX_PITCH_M + rng.uniform(0.0, BOX_PITCH_M - sy) - half_m;
    let h = rng.uniform(min_h, max_h.max(min_h));
    let keep_out = SPAWN_HALF_M + BOX_CLEARANCE_M;
    let overlaps_spawn =
        x0 < keep_out && x0 + sx > -keep_out && y0 < keep_out && y0 + sy > -keep_out;
    let inside = (x0..x0 + sx).contains(&u) && (y0..y0 + sy).contains(&v);
    if inside && !overlaps_spawn { h } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_span_the_documented_ranges() {
        let at = |kind, d| TileShape::of(kind, d);
        assert_eq!(
            at(TerrainKind::StairsUp, 1.0),
            TileShape::Stairs {
                step_height_m: 0.23,
                step_width_m: 0.30,
                up: true
            }
        );
        let TileShape::Pyramid { gradient, .. } = at(TerrainKind::SlopeDown, 1.0) else {
            panic!("slope_down is a pyramid")
        };
        assert!((gradient - 0.4_f32.tan()).abs() < 1e-6, "{gradient}");
        assert_eq!(at(TerrainKind::Flat, 1.0), TileShape::Flat);
        let TileShape::Gaps { gap_m, .. } = at(TerrainKind::Gaps, 1.0) else {
            panic!("gaps")
        };
        assert!((gap_m - 0.6).abs() < 1e-6);
        let TileShape::Platform { height_m, .. } = at(TerrainKind::Platform, 0.0) else {
            panic!("platform")
        };
        assert!((height_m - 0.1).abs() < 1e-6);
    }
}
