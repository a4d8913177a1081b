//! Conversions from a depth camera's native data to [`DepthFrame`]s, kept apart from the
//! RealSense driver so they are always built and tested (the driver only copies pixels out).
//!
//! Invariants: a raw value of 0 (no return) stays 0; every other value becomes
//! `raw * depth_units_m` metres; the frame's data length is always `width * height`.

use vigor_msgs::project::{DepthData, DepthFrame, Intrinsics, MAX_DEPTH_SIDE_PX};

use crate::error::{PerceptionError, check_image, check_range};

/// Allowed depth unit, m per raw count. librealsense accepts 1 µm to 10 mm; the D435i defaults to
/// 1 mm.
pub const DEPTH_UNITS_M: std::ops::RangeInclusive<f32> = 1e-6..=0.01;

/// A metric depth frame from a Z16 image (`raw`, row-major, `width * height` counts of
/// `depth_units_m` metres each; 0 = no return).
///
/// # Errors
/// [`PerceptionError::OutOfRange`] for a side outside `1..=2048` (`width`, `height`) or
/// `depth_units_m` outside [`DEPTH_UNITS_M`]; [`PerceptionError::ImageSize`] when `raw` does not
/// hold `width * height` values.
pub fn z16_frame(
    seq: u64,
    stamp_ns: u64,
    width: u16,
    height: u16,
    intrinsics: Intrinsics,
    depth_units_m: f32,
    raw: &[u16],
) -> Result<DepthFrame, PerceptionError> {
    check_range("width", width, 1, MAX_DEPTH_SIDE_PX)?;
    check_range("height", height, 1, MAX_DEPTH_SIDE_PX)?;
    check_range(
        "depth_units_m",
        depth_units_m,
        *DEPTH_UNITS_M.start(),
        *DEPTH_UNITS_M.end(),
    )?;
    check_image(usize::from(width), usize::from(height), raw.len())?;
    let depth = raw.iter().map(|&r| f32::from(r) * depth_units_m).collect();
    Ok(DepthFrame {
        seq,
        stamp_ns,
        width,
        height,
        intrinsics,
        depth: DepthData::Metres(depth),
    })
}

/// vigor's [`Intrinsics`] from librealsense's `rs2_intrinsics` (`fx`, `fy`, `ppx`, `ppy`, px).
///
/// librealsense puts pixel centres at integer coordinates (its align block spans pixel `x` from
/// `x - 0.5` to `x + 0.5`); vigor puts them at integer + 0.5 (see [`crate::camera`]), so the
/// principal point moves by half a pixel.
#[must_use]
pub fn intrinsics_from_librealsense(fx: f32, fy: f32, ppx: f32, ppy: f32) -> Intrinsics {
    Intrinsics {
        fx_px: fx,
        fy_px: fy,
        cx_px: ppx + 0.5,
        cy_px: ppy + 0.5,
    }
}

/// Depth of value `i` of `data` in metres (millimetres divided by 1000; 0 stays 0), or `None`
/// past the end.
#[must_use]
pub fn metres_at(data: &DepthData, i: usize) -> Option<f32> {
    match data {
        DepthData::Metres(v) => v.get(i).copied(),
        DepthData::Millimetres(v) => v.get(i).map(|&mm| f32::from(mm) / 1000.0),
    }
}

/// Values in `data`.
#[must_use]
pub fn data_len(data: &DepthData) -> usize {
    match data {
        DepthData::Metres(v) => v.len(),
        DepthData::Millimetres(v) => v.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k() -> Intrinsics {
        intrinsics_from_librealsense(420.0, 421.0, 423.5, 239.5)
    }

    #[test]
    fn z16_scales_by_depth_units_and_keeps_no_return() {
        let raw = [0, 1000, 2500, 65535, 1, 0];
        let f = z16_frame(7, 99, 3, 2, k(), 0.001, &raw).unwrap();
        assert_eq!((f.seq, f.stamp_ns, f.width, f.height), (7, 99, 3, 2));
        let DepthData::Metres(d) = &f.depth else {
            panic!("expected metres, got {:?}", f.depth)
        };
        let want = [0.0, 1.0, 2.5, 65.535, 0.001, 0.0];
        for (i, (a, b)) in d.iter().zip(want).enumerate() {
            assert!((a - b).abs() < 1e-5, "pixel {i}: {a} != {b}");
        }
        assert_eq!(d[0], 0.0, "no return must stay exactly 0");
        // 100 µm units (the D435i's high-accuracy setting): 2500 counts = 0.25 m.
        let f = z16_frame(0, 0, 1, 1, k(), 1e-4, &[2500]).unwrap();
        assert_eq!(
            metres_at(&f.depth, 0).map(|m| (m * 1e4).round()),
            Some(2500.0)
        );
    }

    #[test]
    fn z16_rejects_bad_sizes_and_units() {
        let err = z16_frame(0, 0, 3, 2, k(), 0.001, &[0; 5]).unwrap_err();
        assert!(
            matches!(
                err,
                PerceptionError::ImageSize {
                    expected: 6,
                    got: 5,
                    ..
                }
            ),
            "{err}"
        );
        let err = z16_frame(0, 0, 0, 2, k(), 0.001, &[])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`width`") && err.contains("1 ..= 2048"),
            "{err}"
        );
        let err = z16_frame(0, 0, 1, 1, k(), 0.0, &[1])
            .unwrap_err()
            .to_string();
        assert!(err.contains("`depth_units_m`"), "{err}");
    }

    #[test]
    fn librealsense_principal_point_moves_half_a_pixel() {
        // An ideal 848 x 480 camera: librealsense's centre (423.5, 239.5) is vigor's (424, 240).
        let k = k();
        assert_eq!(
            (k.fx_px, k.fy_px, k.cx_px, k.cy_px),
            (420.0, 421.0, 424.0, 240.0)
        );
    }

    #[test]
    fn millimetres_read_as_metres() {
        let mm = DepthData::Millimetres(vec![0, 1234, 3000]);
        assert_eq!(metres_at(&mm, 1), Some(1.234));
        assert_eq!(metres_at(&mm, 0), Some(0.0));
        assert_eq!(metres_at(&mm, 3), None);
        assert_eq!(data_len(&mm), 3);
    }
}
