//! Checks of the depth augmentation: identity when off, determinism, hand-worked terms and
//! statistics over many pixels.

use super::*;

/// Every term off but the switch on: a base to turn single terms on from.
fn quiet() -> DepthAugmentConfig {
    DepthAugmentConfig {
        enabled: true,
        far_min_m: 20.0,
        far_max_m: 20.0,
        remap_strength: 0.0,
        noise_std: 0.0,
        pixel_dropout_prob: 0.0,
        frame_drop_prob: 0.0,
        occlusion_prob: 0.0,
        occlusion_max_frac: 0.3,
        occlusion_no_return_prob: 0.5,
        occlusion_min_m: 0.15,
        occlusion_max_m: 0.5,
        pose_pos_m: 0.0,
        pose_rot_rad: 0.0,
    }
}

/// A 32 x 18 image of depths between 0.2 and 3.4 m with a few no-returns.
fn image() -> Vec<f32> {
    (0..32 * 18)
        .map(|i| {
            if i % 17 == 0 {
                0.0
            } else {
                0.2 + (i % 33) as f32 * 0.1
            }
        })
        .collect()
}

#[test]
fn disabled_is_the_identity() {
    let mut a = DepthAugmenter::new(DepthAugmentConfig::disabled(), 3).unwrap();
    for _ in 0..20 {
        let mut d = image();
        assert!(a.apply(32, 18, &mut d).unwrap());
        assert_eq!(d, image());
        assert_eq!(a.pose_jitter(), PoseJitter::default());
    }
}

#[test]
fn same_seed_same_output_other_seed_differs() {
    let run = |seed| {
        let mut a = DepthAugmenter::new(DepthAugmentConfig::default(), seed).unwrap();
        let mut out = Vec::new();
        for _ in 0..30 {
            let mut d = image();
            let kept = a.apply(32, 18, &mut d).unwrap();
            out.push((
                kept,
                d.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                a.pose_jitter(),
            ));
        }
        out
    };
    assert!(run(7) == run(7), "same seed gave different augmentations");
    assert!(
        run(7) != run(8),
        "different seeds gave the same augmentations"
    );
}

#[test]
fn noise_is_multiplicative_with_the_configured_std() {
    let mut a = DepthAugmenter::new(
        DepthAugmentConfig {
            noise_std: 0.05,
            ..quiet()
        },
        1,
    )
    .unwrap();
    let mut d = vec![2.0_f32; 100_000];
    assert!(a.apply(400, 250, &mut d).unwrap());
    let ratios: Vec<f64> = d.iter().map(|&v| f64::from(v) / 2.0).collect();
    let mean = ratios.iter().sum::<f64>() / ratios.len() as f64;
    let std = (ratios.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / ratios.len() as f64).sqrt();
    // Standard error of the mean: 0.05 / sqrt(1e5) = 1.6e-4.
    assert!((mean - 1.0).abs() < 1e-3, "mean ratio {mean}");
    assert!((std - 0.05).abs() < 2.5e-3, "ratio std {std}");
}

#[test]
fn far_clip_and_remap_match_hand_values() {
    // Clip only: far 1.5 m, so 2.0 reads no return; 0 stays 0.
    let cfg = DepthAugmentConfig {
        far_min_m: 1.5,
        far_max_m: 1.5,
        ..quiet()
    };
    let mut a = DepthAugmenter::new(cfg, 2).unwrap();
    let mut d = vec![1.0, 2.0, 0.0, 1.5];
    assert!(a.apply(4, 1, &mut d).unwrap());
    assert_eq!(d, [1.0, 0.0, 0.0, 1.5]);
    // Remap only, reference and far clip 3 m: d' = d (1 + k (d / 3)^2), so 1.5 m -> 1.5 (1 + k / 4)
    // and 2.4 m -> 2.4 (1 + 0.64 k); 6 m is beyond the far clip.
    let cfg = DepthAugmentConfig {
        remap_strength: 0.2,
        far_min_m: 3.0,
        far_max_m: 3.0,
        ..quiet()
    };
    let mut ks = Vec::new();
    for seed in 0..8 {
        let mut a = DepthAugmenter::new(cfg.clone(), seed).unwrap();
        let mut d = vec![1.5, 2.4, 6.0];
        assert!(a.apply(3, 1, &mut d).unwrap());
        let k = (d[0] / 1.5 - 1.0) * 4.0;
        assert!(k.abs() <= 0.2 + 1e-5, "seed {seed}: k = {k}");
        assert!(
            (d[1] - 2.4 * (1.0 + 0.64 * k)).abs() < 1e-5,
            "seed {seed}: {d:?}, k = {k}"
        );
        assert_eq!(d[2], 0.0, "seed {seed}: 6 m is beyond the far clip");
        ks.push(k);
    }
    assert!(
        ks.iter().any(|&k| k > 0.01) && ks.iter().any(|&k| k < -0.01),
        "k never varies: {ks:?}"
    );
}

#[test]
fn occlusion_draws_one_rectangle() {
    for (no_return, value) in [(0.0, 0.3), (1.0, 0.0)] {
        let cfg = DepthAugmentConfig {
            occlusion_prob: 1.0,
            occlusion_no_return_prob: no_return,
            occlusion_min_m: 0.3,
            occlusion_max_m: 0.3,
            occlusion_max_frac: 0.5,
            ..quiet()
        };
        let mut a = DepthAugmenter::new(cfg, 11).unwrap();
        for _ in 0..10 {
            let mut d = vec![2.0_f32; 40 * 20];
            assert!(a.apply(40, 20, &mut d).unwrap());
            let hits: Vec<(usize, usize)> = (0..d.len())
                .filter(|&i| d[i] == value)
                .map(|i| (i / 40, i % 40))
                .collect();
            assert!(!hits.is_empty(), "no occluded pixel");
            let (r0, r1) = (
                hits.iter().map(|h| h.0).min().unwrap(),
                hits.iter().map(|h| h.0).max().unwrap(),
            );
            let (c0, c1) = (
                hits.iter().map(|h| h.1).min().unwrap(),
                hits.iter().map(|h| h.1).max().unwrap(),
            );
            let (h, w) = (r1 - r0 + 1, c1 - c0 + 1);
            assert_eq!(hits.len(), h * w, "occluded pixels do not form a rectangle");
            assert!(
                w <= 20 && h <= 10,
                "rectangle {w} x {h} exceeds half the image side"
            );
            assert!(d.iter().all(|&v| v == value || v == 2.0));
        }
    }
}

#[test]
fn dropout_rates_match_their_probabilities() {
    let cfg = DepthAugmentConfig {
        pixel_dropout_prob: 0.1,
        ..quiet()
    };
    let mut a = DepthAugmenter::new(cfg, 5).unwrap();
    let mut d = vec![1.0_f32; 100_000];
    a.apply(1000, 100, &mut d).unwrap();
    let rate = d.iter().filter(|&&v| v == 0.0).count() as f64 / 1e5;
    // Binomial std: sqrt(0.09 / 1e5) = 9.5e-4.
    assert!((rate - 0.1).abs() < 5e-3, "pixel dropout rate {rate}");

    let cfg = DepthAugmentConfig {
        frame_drop_prob: 0.5,
        noise_std: 0.1,
        ..quiet()
    };
    let mut a = DepthAugmenter::new(cfg, 6).unwrap();
    let mut dropped = 0;
    for _ in 0..1000 {
        let mut d = image();
        if !a.apply(32, 18, &mut d).unwrap() {
            dropped += 1;
            assert_eq!(d, image(), "a dropped frame must be left untouched");
        }
    }
    // Binomial std: sqrt(1000 / 4) = 15.8.
    assert!(
        (430..=570).contains(&dropped),
        "{dropped} of 1000 frames dropped"
    );
}

#[test]
fn values_stay_finite_and_non_negative() {
    let cfg = DepthAugmentConfig {
        noise_std: 0.2,
        remap_strength: 0.3,
        ..DepthAugmentConfig::default()
    };
    let mut a = DepthAugmenter::new(cfg, 9).unwrap();
    let mut kept = 0;
    for _ in 0..200 {
        let mut d = image();
        d[1] = f32::NAN;
        d[2] = -1.0;
        d[3] = f32::INFINITY;
        if !a.apply(32, 18, &mut d).unwrap() {
            // Dropped: untouched, the caller repeats its previous frame.
            continue;
        }
        kept += 1;
        assert!(d.iter().all(|v| v.is_finite() && *v >= 0.0), "{d:?}");
        assert!(
            d.iter().all(|&v| v <= 3.0),
            "beyond the largest far clip: {d:?}"
        );
    }
    assert!(
        kept > 150,
        "only {kept} of 200 frames kept at a 2 % drop rate"
    );
}

#[test]
fn pose_jitter_stays_within_bounds() {
    let cfg = DepthAugmentConfig {
        pose_pos_m: 0.02,
        pose_rot_rad: 0.1,
        ..quiet()
    };
    let mut a = DepthAugmenter::new(cfg, 4).unwrap();
    let mut max = [0.0_f32; 2];
    for _ in 0..500 {
        let j = a.pose_jitter();
        max[0] = j.offset_m.iter().fold(max[0], |m, v| m.max(v.abs()));
        max[1] = j.rpy_rad.iter().fold(max[1], |m, v| m.max(v.abs()));
    }
    assert!(
        max[0] <= 0.02 && max[0] > 0.018,
        "largest offset {}",
        max[0]
    );
    assert!(max[1] <= 0.1 && max[1] > 0.09, "largest angle {}", max[1]);
    // Small angles: the quaternion is about (1, roll/2, pitch/2, yaw/2).
    let q = PoseJitter {
        offset_m: [0.0; 3],
        rpy_rad: [0.02, -0.04, 0.06],
    }
    .quat_wxyz();
    let want = [1.0, 0.01, -0.02, 0.03];
    assert!(
        q.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-3),
        "{q:?}"
    );
    let norm: f32 = q.iter().map(|v| v * v).sum();
    assert!((norm - 1.0).abs() < 1e-6, "|q|^2 = {norm}");
}

#[cfg(feature = "sim")]
#[test]
fn pose_jitter_rotates_as_documented() {
    let close = |a: [f32; 3], b: [f32; 3]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-6);
    let half_pi = std::f32::consts::FRAC_PI_2;
    // Yaw +90°: forward (x) turns left (y). Roll +90°: left (y) turns up (z).
    let yaw = PoseJitter {
        offset_m: [0.0; 3],
        rpy_rad: [0.0, 0.0, half_pi],
    }
    .as_pose();
    assert!(
        close(yaw.rotate([1.0, 0.0, 0.0]), [0.0, 1.0, 0.0]),
        "{yaw:?}"
    );
    let roll = PoseJitter {
        offset_m: [0.0; 3],
        rpy_rad: [half_pi, 0.0, 0.0],
    }
    .as_pose();
    assert!(
        close(roll.rotate([0.0, 1.0, 0.0]), [0.0, 0.0, 1.0]),
        "{roll:?}"
    );
    // Pitch +90° about y (left): forward turns down.
    let pitch = PoseJitter {
        offset_m: [0.0; 3],
        rpy_rad: [0.0, half_pi, 0.0],
    }
    .as_pose();
    assert!(
        close(pitch.rotate([1.0, 0.0, 0.0]), [0.0, 0.0, -1.0]),
        "{pitch:?}"
    );
    // Applied in the camera's frame: a camera yawed 90° in the world, offset 1 m forward, ends
    // 1 m along world y.
    let camera = PoseJitter {
        offset_m: [0.0; 3],
        rpy_rad: [0.0, 0.0, half_pi],
    }
    .as_pose();
    let moved = PoseJitter {
        offset_m: [1.0, 0.0, 0.0],
        rpy_rad: [0.0; 3],
    }
    .apply(&camera);
    assert!(close(moved.pos, [0.0, 1.0, 0.0]), "{moved:?}");
}

#[test]
fn validate_names_the_field_and_range() {
    let bad = |cfg: DepthAugmentConfig| DepthAugmenter::new(cfg, 0).unwrap_err().to_string();
    let e = bad(DepthAugmentConfig {
        far_min_m: 2.5,
        far_max_m: 2.0,
        ..quiet()
    });
    assert!(
        e.contains("`far_max_m`") && e.contains("at least far_min_m = 2.5"),
        "{e}"
    );
    let e = bad(DepthAugmentConfig {
        noise_std: 0.5,
        ..quiet()
    });
    assert!(e.contains("`noise_std`") && e.contains("0 ..= 0.2"), "{e}");
    let e = bad(DepthAugmentConfig {
        frame_drop_prob: f32::NAN,
        ..quiet()
    });
    assert!(e.contains("`frame_drop_prob`"), "{e}");
    assert!(DepthAugmentConfig::default().validate().is_ok());
    let err = DepthAugmenter::new(quiet(), 0)
        .unwrap()
        .apply(3, 3, &mut [0.0; 8])
        .unwrap_err();
    assert!(
        matches!(
            err,
            PerceptionError::ImageSize {
                expected: 9,
                got: 8,
                ..
            }
        ),
        "{err}"
    );
}
