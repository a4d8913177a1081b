//! Hand-worked checks of the preprocessing pipeline.

use vigor_msgs::project::{DepthData, DepthFrame, Intrinsics};

use super::*;

fn config(
    near_m: f32,
    far_m: f32,
    width_px: u16,
    height_px: u16,
    frames: usize,
) -> DepthPreprocessConfig {
    DepthPreprocessConfig {
        near_m,
        far_m,
        width_px,
        height_px,
        frames,
        hole_fill: true,
    }
}

fn assert_close(got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len(), "length: got {got:?}, want {want:?}");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() < 1e-6,
            "value {i}: got {g}, want {w} (all: {got:?})"
        );
    }
}

#[test]
fn box_filter_averages_valid_pixels_4x2_to_2x1() {
    // Left box {1, 2, 1.5, 2.5} -> 1.75; right box {3, 4, hole, 4} -> 11/3 (the hole is skipped).
    let mut p = DepthPreprocessor::new(config(0.5, 4.5, 2, 1, 1)).unwrap();
    p.push(4, 2, &[1.0, 2.0, 3.0, 4.0, 1.5, 2.5, 0.0, 4.0])
        .unwrap();
    // (1.75 - 0.5) / 4 - 0.5 = -0.1875; (11/3 - 0.5) / 4 - 0.5 = 0.291 666...
    assert_close(p.stacked(), &[-0.1875, (11.0 / 3.0 - 0.5) / 4.0 - 0.5]);
}

#[test]
fn clipping_and_hole_fill_take_the_farther_neighbour() {
    // near 0.5, far 2.5: 3.0 (beyond far), 0.2 (inside near), NaN and 0 are holes.
    let mut p = DepthPreprocessor::new(config(0.5, 2.5, 6, 1, 1)).unwrap();
    p.push(6, 1, &[1.0, 0.0, 2.0, 3.0, 0.2, f32::NAN]).unwrap();
    // Filled metric row: [1, max(1, 2) = 2, 2, 2, 2, 2]; normalised (d - 0.5) / 2 - 0.5.
    assert_close(p.latest(), &[-0.25, 0.25, 0.25, 0.25, 0.25, 0.25]);
    // A run at the row start takes its right neighbour; a row of holes takes far (+0.5).
    p.push(6, 1, &[0.0, 0.0, 1.5, 0.0, 1.0, 1.0]).unwrap();
    assert_close(p.latest(), &[0.0, 0.0, 0.0, 0.0, -0.25, -0.25]);
    p.push(6, 1, &[0.0; 6]).unwrap();
    assert_close(p.latest(), &[0.5; 6]);
}

#[test]
fn fill_is_per_row() {
    // Row 0 has a valid pixel, row 1 none: row 1 becomes far, not row 0's value.
    let mut p = DepthPreprocessor::new(config(0.5, 2.5, 2, 2, 1)).unwrap();
    p.push(2, 2, &[1.5, 0.0, 0.0, 0.0]).unwrap();
    assert_close(p.latest(), &[0.0, 0.0, 0.5, 0.5]);
}

#[test]
fn normalisation_endpoints_and_unfilled_holes() {
    let mut cfg = config(0.5, 2.5, 5, 1, 1);
    cfg.hole_fill = false;
    let mut p = DepthPreprocessor::new(cfg).unwrap();
    p.push(5, 1, &[0.5, 2.5, 1.5, 0.0, 2.6]).unwrap();
    // near -> -0.5, far -> +0.5, middle -> 0, holes (0 and beyond far) -> +0.5.
    assert_close(p.latest(), &[-0.5, 0.5, 0.0, 0.5, 0.5]);
}

#[test]
fn stack_is_newest_first_and_repeats_the_oldest_until_full() {
    let mut p = DepthPreprocessor::new(config(0.5, 2.5, 1, 1, 3)).unwrap();
    assert_close(p.stacked(), &[0.5, 0.5, 0.5]);
    // 1.0 -> -0.25, 1.5 -> 0, 2.0 -> 0.25, 2.5 -> 0.5.
    p.push(1, 1, &[1.0]).unwrap();
    assert_close(p.stacked(), &[-0.25, -0.25, -0.25]);
    p.push(1, 1, &[1.5]).unwrap();
    assert_close(p.stacked(), &[0.0, -0.25, -0.25]);
    p.push(1, 1, &[2.0]).unwrap();
    assert_close(p.stacked(), &[0.25, 0.0, -0.25]);
    p.push(1, 1, &[2.5]).unwrap();
    assert_close(p.stacked(), &[0.5, 0.25, 0.0]);
    assert_eq!(p.pushes(), 4);
    p.reset();
    assert_close(p.stacked(), &[0.5, 0.5, 0.5]);
    p.push(1, 1, &[1.5]).unwrap();
    assert_close(p.stacked(), &[0.0, 0.0, 0.0]);
}

#[test]
fn upsampling_takes_the_pixel_under_each_centre() {
    let mut p = DepthPreprocessor::new(config(0.5, 2.5, 4, 1, 1)).unwrap();
    p.push(2, 1, &[1.0, 2.0]).unwrap();
    assert_close(p.latest(), &[-0.25, -0.25, 0.25, 0.25]);
}

#[test]
fn realsense_resolution_uses_every_source_pixel_once() {
    for (target, source) in [(64, 848), (36, 480), (64, 64), (3, 7)] {
        let mut next = 0;
        for t in 0..target {
            let (lo, hi) = source_span(t, target, source);
            assert_eq!(
                lo, next,
                "{source} -> {target}: cell {t} starts at {lo}, not {next}"
            );
            assert!(hi > lo, "{source} -> {target}: cell {t} is empty");
            next = hi;
        }
        assert_eq!(next, source, "{source} -> {target}: spans end at {next}");
    }
    // A flat wall at 1.5 m seen at 848 x 480 becomes 64 x 36 zeros.
    let mut p = DepthPreprocessor::new(DepthPreprocessConfig {
        near_m: 0.5,
        far_m: 2.5,
        ..DepthPreprocessConfig::default()
    })
    .unwrap();
    p.push(848, 480, &vec![1.5; 848 * 480]).unwrap();
    assert!(p.stacked().iter().all(|&v| v.abs() < 1e-6));
    assert_eq!(p.stacked().len(), 2 * 64 * 36);
}

#[test]
fn millimetres_give_the_same_result_as_metres() {
    let frame = |depth| DepthFrame {
        seq: 0,
        stamp_ns: 0,
        width: 3,
        height: 2,
        intrinsics: Intrinsics::default(),
        depth,
    };
    let mm = frame(DepthData::Millimetres(vec![1234, 0, 2500, 800, 3100, 1000]));
    let m = frame(DepthData::Metres(vec![1.234, 0.0, 2.5, 0.8, 3.1, 1.0]));
    let cfg = DepthPreprocessConfig {
        width_px: 2,
        height_px: 1,
        ..DepthPreprocessConfig::default()
    };
    let mut a = DepthPreprocessor::new(cfg.clone()).unwrap();
    let mut b = DepthPreprocessor::new(cfg).unwrap();
    a.push_frame(&mm).unwrap();
    b.push_frame(&m).unwrap();
    assert_eq!(a.stacked(), b.stacked());
}

#[test]
fn wrong_sizes_are_rejected_and_leave_the_stack_alone() {
    let mut p = DepthPreprocessor::new(config(0.5, 2.5, 1, 1, 2)).unwrap();
    let err = p.push(2, 2, &[1.0; 3]).unwrap_err();
    assert!(
        matches!(
            err,
            PerceptionError::ImageSize {
                expected: 4,
                got: 3,
                ..
            }
        ),
        "{err}"
    );
    assert!(p.push(0, 0, &[]).is_err());
    assert_eq!(p.pushes(), 0);
    assert_close(p.stacked(), &[0.5, 0.5]);
}

#[test]
fn validate_names_the_field_and_range() {
    let bad = |cfg: DepthPreprocessConfig| cfg.validate().unwrap_err().to_string();
    let d = DepthPreprocessConfig::default();
    let e = bad(DepthPreprocessConfig {
        far_m: 0.05,
        ..d.clone()
    });
    assert!(e.contains("`far_m`") && e.contains("0.1 ..= 20"), "{e}");
    let e = bad(DepthPreprocessConfig {
        near_m: 2.0,
        far_m: 1.0,
        ..d.clone()
    });
    assert!(
        e.contains("`far_m`") && e.contains("above near_m = 2"),
        "{e}"
    );
    let e = bad(DepthPreprocessConfig {
        frames: 0,
        ..d.clone()
    });
    assert!(e.contains("`frames`") && e.contains("1 ..= 16"), "{e}");
    let e = bad(DepthPreprocessConfig {
        width_px: 0,
        ..d.clone()
    });
    assert!(e.contains("`width_px`") && e.contains("1 ..= 1280"), "{e}");
    let e = bad(DepthPreprocessConfig {
        near_m: f32::NAN,
        ..d
    });
    assert!(e.contains("`near_m`"), "{e}");
}

#[cfg(feature = "sim")]
#[test]
fn default_matches_the_simulated_camera() {
    let cam = vigor_sim::sensors::DepthCameraConfig::default();
    let d = DepthPreprocessConfig::default();
    assert!(d.validate().is_ok());
    assert_eq!(
        (d.width_px, d.height_px, d.near_m, d.far_m),
        (cam.width_px, cam.height_px, cam.near_m, cam.far_m)
    );
    assert_eq!(crate::NO_RETURN, vigor_sim::sensors::NO_RETURN);
}
