//! Behaviour of every kind's generated tiles, checked on real one-tile terrains: levels, gradients,
//! step rises, pits, ranges and continuity.

use super::tiles::*;
use super::{Terrain, TerrainKind};

/// A one-tile terrain: a 5 m tile at 0.05 m cells, centred on the origin.
fn single(kind: TerrainKind, d: f32, seed: u64) -> Terrain {
    Terrain::single(kind, d, seed, 5.0, 0.05).unwrap()
}

#[test]
fn flat_tile_is_zero_everywhere() {
    let t = single(TerrainKind::Flat, 1.0, 4);
    assert!(t.field().heights().iter().all(|&h| h == 0.0));
    assert_eq!(t.normal(0.3, -1.2), [0.0, 0.0, 1.0]);
}

#[test]
fn smooth_kinds_are_continuous_across_cells() {
    // Largest change between neighbouring samples (0.05 m apart) stays below the kind's
    // steepest gradient times the spacing: no jumps.
    for (kind, max_gradient) in [
        (
            TerrainKind::Rough,
            2.0 * 0.08 / ROUGH_LATTICE_M + 1.5 * 0.08 / ROUGH_EDGE_FADE_M,
        ),
        // Three waves per 5 m tile: k = 3π / 2.5 rad/m; the spawn fade adds 1.5·A / 0.5 m.
        (
            TerrainKind::Waves,
            0.2 * std::f32::consts::PI * 3.0 / 2.5 + 0.2 * 1.5 / WAVE_FADE_M,
        ),
        (TerrainKind::SlopeUp, 0.43),
        (TerrainKind::SlopeDown, 0.43),
        (TerrainKind::InvertedSlope, 0.43),
    ] {
        let t = single(kind, 1.0, 1);
        let f = t.field();
        let limit = max_gradient * f.cell_m() + 1e-5;
        for ix in 0..f.nx() - 1 {
            for iy in 0..f.ny() - 1 {
                let h = f.at(ix, iy);
                let jump = (f.at(ix + 1, iy) - h)
                    .abs()
                    .max((f.at(ix, iy + 1) - h).abs());
                assert!(
                    jump <= limit,
                    "{kind}: jump {jump} at ({ix}, {iy}) > {limit}"
                );
            }
        }
    }
}

#[test]
fn slopes_have_the_difficultys_gradient() {
    let g = (MAX_SLOPE_RAD * 0.5).tan();
    for (kind, sign) in [(TerrainKind::SlopeUp, 1.0), (TerrainKind::SlopeDown, -1.0)] {
        let t = single(kind, 0.5, 0);
        // Along +x and along -y from the spawn edge (0.75 m) to the tile edge (2.5 m).
        for (x0, y0, dx, dy) in [(1.0, 0.1, 0.5, 0.0), (-0.2, -1.0, 0.0, -0.5)] {
            let dh = t.height(x0 + dx, y0 + dy) - t.height(x0, y0);
            assert!((dh / 0.5 - sign * g).abs() < 1e-4, "{kind}: {}", dh / 0.5);
        }
        let edge = t.height(2.45, 0.0);
        assert!(edge.abs() < g * 0.05 + 1e-5, "{kind}: tile edge at {edge}");
    }
    // Inverted slope: ridge at the spawn, down at g into the valley, up at g, 0 at the edge.
    let t = single(TerrainKind::InvertedSlope, 0.5, 0);
    // The valley floor is at |x| = 0.75 + 0.875 m, between samples; check the samples beside it.
    let near_bottom = -g * 0.85;
    assert!((t.height(1.6, 0.3) - near_bottom).abs() < 1e-4);
    assert!(
        (t.height(-0.2, -1.65) - near_bottom).abs() < 1e-4,
        "same in every direction"
    );
    assert_eq!(t.height(0.5, 0.6), 0.0, "spawn on the ridge top");
    assert!(
        (t.height(2.45, 1.0) + g * 0.05).abs() < 1e-4,
        "back up near the tile edge"
    );
}

#[test]
fn stair_steps_are_the_difficultys_rise() {
    for (kind, d) in [(TerrainKind::StairsUp, 1.0), (TerrainKind::StairsDown, 0.3)] {
        let t = single(kind, d, 0);
        let rise = 0.05 + 0.18 * d;
        let steps = stair_count(2.5, STEP_WIDTH_M);
        assert_eq!(steps, 5);
        // Middle of each tread along +x: spawn, then treads 1..=5.
        let treads: Vec<f32> = (0..=steps)
            .map(|k| {
                t.height(
                    if k == 0 {
                        0.0
                    } else {
                        0.75 + (k as f32 - 0.5) * 0.3
                    },
                    0.0,
                )
            })
            .collect();
        for pair in treads.windows(2) {
            let step = pair[1] - pair[0];
            let expected = if kind == TerrainKind::StairsUp {
                rise
            } else {
                -rise
            };
            assert!((step - expected).abs() < 1e-5, "{kind}: {treads:?}");
        }
        assert!(
            treads[steps as usize].abs() < 1e-6,
            "outer tread at 0: {treads:?}"
        );
    }
}

#[test]
fn stones_and_gaps_have_pits_and_level_spawns() {
    for kind in [TerrainKind::SteppingStones, TerrainKind::Gaps] {
        let t = single(kind, 1.0, 2);
        let hs = t.field().heights();
        let pits = hs.iter().filter(|&&h| h == -PIT_DEPTH_M).count();
        let tops = hs.iter().filter(|&&h| h.abs() <= 0.03).count();
        assert!(
            pits > 500 && tops > 500,
            "{kind}: {pits} pit and {tops} top samples"
        );
        assert_eq!(t.height(0.0, 0.0), 0.0);
        assert_eq!(t.height(0.7, -0.7), 0.0, "spawn square is level");
    }
    // Gaps at difficulty 1 are 0.6 m wide, starting at the spawn edge.
    let t = single(TerrainKind::Gaps, 1.0, 0);
    assert_eq!(t.height(0.8, 0.0), -PIT_DEPTH_M);
    assert_eq!(t.height(1.3, 0.0), -PIT_DEPTH_M);
    assert_eq!(t.height(1.4, 0.0), 0.0);
}

#[test]
fn boxes_platform_and_rough_stay_in_their_ranges() {
    let t = single(TerrainKind::Boxes, 1.0, 5);
    let raised: Vec<f32> = t
        .field()
        .heights()
        .iter()
        .copied()
        .filter(|&h| h != 0.0)
        .collect();
    assert!(raised.len() > 1000);
    assert!(
        raised.iter().all(|h| (0.05..=0.25).contains(h)),
        "box heights in 0.05..=0.25"
    );
    assert!(
        raised.iter().any(|&h| h > 0.15),
        "some tall boxes at difficulty 1"
    );
    for (x, y) in [(0.0, 0.0), (0.8, 0.8), (-0.8, 0.2)] {
        assert_eq!(t.height(x, y), 0.0, "spawn square clear at ({x}, {y})");
    }
    let t = single(TerrainKind::Platform, 0.5, 0);
    assert!((t.height(0.9, 0.0) - 0.3).abs() < 1e-6 && t.height(1.2, 0.0) == 0.0);
    let t = single(TerrainKind::Rough, 0.0, 3);
    let max = t
        .field()
        .heights()
        .iter()
        .fold(0.0_f32, |m, h| m.max(h.abs()));
    assert!(
        max > 0.005 && max <= 0.01 + 1e-6,
        "rough amplitude at level 0: {max}"
    );
}
