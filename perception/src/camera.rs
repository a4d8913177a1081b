//! Head depth camera geometry (Intel RealSense D435i on the G1's torso).

use vigor_msgs::project::Intrinsics;

/// Horizontal depth field of view of the D435i, degrees (Intel's datasheet: 87 ± 3).
pub const D435I_HFOV_DEG: f32 = 87.0;
/// Vertical depth field of view of the D435i, degrees (Intel's datasheet: 58 ± 1).
pub const D435I_VFOV_DEG: f32 = 58.0;
/// Camera position in the `torso_link` frame, m (../shared/reference/unitree_hg.md).
pub const G1_CAMERA_OFFSET_M: [f32; 3] = [0.0576, 0.0175, 0.4299];
/// Downward pitch of the camera about the torso's y axis, rad (47.6°).
pub const G1_CAMERA_PITCH_RAD: f32 = 0.8308;

/// Pinhole intrinsics of a `width` x `height` image spanning `hfov_deg` x `vfov_deg`, with the
/// principal point at the image centre (pixel centres at integer + 0.5).
#[must_use]
pub fn pinhole_from_fov(width: u16, height: u16, hfov_deg: f32, vfov_deg: f32) -> Intrinsics {
    let (w, h) = (f32::from(width), f32::from(height));
    Intrinsics {
        fx_px: 0.5 * w / (0.5 * hfov_deg.to_radians()).tan(),
        fy_px: 0.5 * h / (0.5 * vfov_deg.to_radians()).tan(),
        cx_px: 0.5 * w,
        cy_px: 0.5 * h,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edge_pixels_see_half_the_field_of_view() {
        let k = pinhole_from_fov(848, 480, D435I_HFOV_DEG, D435I_VFOV_DEG);
        let half_h = ((848.0 - k.cx_px) / k.fx_px).atan().to_degrees();
        let half_v = ((480.0 - k.cy_px) / k.fy_px).atan().to_degrees();
        assert!((half_h - 43.5).abs() < 1e-3, "{half_h}");
        assert!((half_v - 29.0).abs() < 1e-3, "{half_v}");
        // Intel quotes fx of about 420-430 px for 848x480 depth: the FOV model lands there.
        assert!((400.0..450.0).contains(&k.fx_px), "{}", k.fx_px);
    }
}
