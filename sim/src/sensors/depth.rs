//! The head depth camera: a pinhole camera ray-cast against the terrain and the robot's own
//! colliders, reporting what a RealSense D435i reports, at a policy-sized resolution.
//!
//! Image conventions: row-major, row 0 at the top of the image and column 0 at its left (as the
//! camera sees it; camera frame x forward along the optical axis, y left, z up). Pixel `(row, col)`
//! looks through its centre `(col + 0.5, row + 0.5)`; the principal point is the image centre;
//! `fx = (W / 2) / tan(HFOV / 2)` and `fy = (H / 2) / tan(VFOV / 2)`, the model of
//! `vigor_perception::camera::pinhole_from_fov`.
//!
//! Values are z-depth in metres (distance along the optical axis, what a RealSense reports, not the
//! length of the ray). Like the RealSense, a pixel without a valid measurement reads
//! [`NO_RETURN`] (0): no surface within `far_m`, or the nearest surface closer than `near_m` (too
//! close for the stereo matcher; it also hides what lies behind it).
//!
//! Rendering: each pixel's ray is cast against the terrain; then each robot collider is moved into
//! the camera frame once, its bounding ball is projected to a pixel rectangle, and only the pixels
//! of that rectangle are cast against it (a splat, so 27 colliders cost a few hundred ray tests).

use std::f32::consts::FRAC_PI_2;

use serde::{Deserialize, Serialize};

use crate::robot::Robot;
use crate::terrain::Terrain;

use super::geometry::{RobotCollider, RobotGeometry};
use super::pose::{LinkPose, add, normalize, scale};
use super::{SensorError, check, ground_raycast};

/// Depth of a pixel without a valid measurement, as the RealSense reports it, m.
pub const NO_RETURN: f32 = 0.0;

/// Allowed image width, px (up to the D435i's 1280 × 720 depth stream).
pub const WIDTH_PX: std::ops::RangeInclusive<u16> = 1..=1280;
/// Allowed image height, px.
pub const HEIGHT_PX: std::ops::RangeInclusive<u16> = 1..=720;
/// Allowed field of view (either axis), degrees: a pinhole camera covers less than 180°.
pub const FOV_DEG: std::ops::RangeInclusive<f32> = 1.0..=170.0;
/// Allowed near clip, m.
pub const NEAR_M: std::ops::RangeInclusive<f32> = 0.0..=2.0;
/// Allowed far clip, m (the D435i's useful range ends near 10 m).
pub const FAR_M: std::ops::RangeInclusive<f32> = 0.1..=20.0;

/// What the depth camera renders.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DepthCameraConfig {
    /// Image width, px. Range 1..=1280; default 64. With the default 36 rows this is the D435i's
    /// 16:9 848 × 480 depth stream shrunk about 13 times: with 87° × 58° the pixels stay within
    /// 4 % of square (fx 33.7 px, fy 32.5 px), and 2304 pixels is the size of image a depth
    /// student's encoder takes (Extreme Parkour feeds its student 58 × 87 px).
    pub width_px: u16,
    /// Image height, px. Range 1..=720; default 36.
    pub height_px: u16,
    /// Horizontal field of view, degrees. Range 1..=170; default 87 (Intel's D435i datasheet:
    /// depth FOV 87° ± 3° × 58° ± 1°).
    pub hfov_deg: f32,
    /// Vertical field of view, degrees. Range 1..=170; default 58 (same datasheet).
    pub vfov_deg: f32,
    /// Nearest valid depth, m; nearer surfaces read [`NO_RETURN`]. Range 0..=2, below `far_m`;
    /// default 0.1 (the D435i's minimum depth, min-Z, is about 0.1 to 0.3 m depending on
    /// resolution, per Intel's datasheet).
    pub near_m: f32,
    /// Farthest rendered depth, m; farther surfaces read [`NO_RETURN`]. Range 0.1..=20; default
    /// 3.0: the ground within a few strides, all a fall-safety policy acts on, while the D435i's
    /// depth error (growing with the square of depth) is still a few centimetres.
    pub far_m: f32,
}

impl Default for DepthCameraConfig {
    fn default() -> Self {
        Self {
            width_px: 64,
            height_px: 36,
            hfov_deg: 87.0,
            vfov_deg: 58.0,
            near_m: 0.1,
            far_m: 3.0,
        }
    }
}

/// A depth camera of fixed intrinsics with its pixel rays precomputed.
#[derive(Debug, Clone, PartialEq)]
pub struct DepthCamera {
    config: DepthCameraConfig,
    width: usize,
    height: usize,
    /// Focal lengths `(fx, fy)`, px.
    focal: [f32; 2],
    /// Principal point `(cx, cy)`, px.
    centre: [f32; 2],
    /// Unit ray of each pixel in the camera frame, row-major; component 0 is the optical axis.
    rays: Vec<[f32; 3]>,
}

impl DepthCamera {
    /// Checks `config` and precomputes the pixel rays.
    ///
    /// # Errors
    /// [`SensorError::InvalidParameter`] for a field outside its range (see [`DepthCameraConfig`]),
    /// or `near_m >= far_m`.
    pub fn new(config: DepthCameraConfig) -> Result<Self, SensorError> {
        check(
            "width_px",
            config.width_px,
            *WIDTH_PX.start(),
            *WIDTH_PX.end(),
        )?;
        check(
            "height_px",
            config.height_px,
            *HEIGHT_PX.start(),
            *HEIGHT_PX.end(),
        )?;
        check(
            "hfov_deg",
            config.hfov_deg,
            *FOV_DEG.start(),
            *FOV_DEG.end(),
        )?;
        check(
            "vfov_deg",
            config.vfov_deg,
            *FOV_DEG.start(),
            *FOV_DEG.end(),
        )?;
        check("near_m", config.near_m, *NEAR_M.start(), *NEAR_M.end())?;
        check("far_m", config.far_m, *FAR_M.start(), *FAR_M.end())?;
        if config.near_m >= config.far_m {
            return Err(SensorError::InvalidParameter {
                name: "near_m",
                value: config.near_m.to_string(),
                allowed: format!("below far_m = {}", config.far_m),
            });
        }
        let (width, height) = (usize::from(config.width_px), usize::from(config.height_px));
        let (w, h) = (f32::from(config.width_px), f32::from(config.height_px));
        let focal = [
            0.5 * w / (0.5 * config.hfov_deg.to_radians()).tan(),
            0.5 * h / (0.5 * config.vfov_deg.to_radians()).tan(),
        ];
        let centre = [0.5 * w, 0.5 * h];
        let mut rays = Vec::with_capacity(width * height);
        for row in 0..height {
            for col in 0..width {
                let left = (centre[0] - (col as f32 + 0.5)) / focal[0];
                let up = (centre[1] - (row as f32 + 0.5)) / focal[1];
                rays.push(normalize([1.0, left, up]));
            }
        }
        Ok(Self {
            config,
            width,
            height,
            focal,
            centre,
            rays,
        })
    }

    /// The configuration it was built from.
    #[must_use]
    pub fn config(&self) -> &DepthCameraConfig {
        &self.config
    }

    /// Image width, px.
    #[must_use]
    pub fn width(&self) -> usize {
        self.width
    }

    /// Image height, px.
    #[must_use]
    pub fn height(&self) -> usize {
        self.height
    }

    /// Pixels per image (`width * height`): the length of [`Self::render`]'s buffer.
    #[must_use]
    pub fn len(&self) -> usize {
        self.rays.len()
    }

    /// Always false: a validated camera has at least one pixel.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.rays.is_empty()
    }

    /// Unit ray of pixel `(row, col)` in the camera frame, if the pixel exists.
    #[must_use]
    pub fn ray(&self, row: usize, col: usize) -> Option<[f32; 3]> {
        (row < self.height && col < self.width).then(|| self.rays[row * self.width + col])
    }

    /// Renders one depth image seen from `camera` (the camera frame in the world) into `out`
    /// (row-major, [`Self::len`] values, z-depth in metres or [`NO_RETURN`]). The ground is
    /// `terrain` (the plane z = 0 when `None`); `robot` adds the robot's colliders posed by its link
    /// poses. No allocation.
    ///
    /// # Panics
    /// If `out.len() != self.len()`.
    pub fn render(
        &self,
        camera: LinkPose,
        terrain: Option<&Terrain>,
        robot: Option<(&RobotGeometry, &[LinkPose])>,
        out: &mut [f32],
    ) {
        assert_eq!(out.len(), self.rays.len(), "depth buffer length");
        let far = self.config.far_m;
        // Pass 1: ray length to the ground, up to the far plane (z-depth far), else infinity.
        for (len, ray) in out.iter_mut().zip(&self.rays) {
            *len = ground_raycast(terrain, camera.pos, camera.rotate(*ray), far / ray[0])
                .unwrap_or(f32::INFINITY);
        }
        // Pass 2: nearer robot surfaces.
        if let Some((geometry, link_poses)) = robot {
            let world_to_camera = camera.inverse();
            for collider in geometry.colliders() {
                if let Some(pose) = link_poses.get(collider.link) {
                    self.splat(collider, &world_to_camera.compose(pose), out);
                }
            }
        }
        // Pass 3: ray length -> z-depth, invalid outside [near, far].
        let near = self.config.near_m;
        for (len, ray) in out.iter_mut().zip(&self.rays) {
            let z = *len * ray[0];
            *len = if (near..=far).contains(&z) {
                z
            } else {
                NO_RETURN
            };
        }
    }

    /// Lowers `ray_len` where `collider`, whose link is at `link_in_camera` (its pose in the camera
    /// frame), is hit first, testing only the pixels its bounding ball covers.
    fn splat(&self, collider: &RobotCollider, link_in_camera: &LinkPose, ray_len: &mut [f32]) {
        let [x, y, z] = link_in_camera.transform_point(collider.bound_centre);
        let r = collider.bound_radius;
        if x - r > self.config.far_m {
            return;
        }
        let Some((col0, col1)) = pixel_span(x, y, r, self.focal[0], self.centre[0], self.width)
        else {
            return;
        };
        let Some((row0, row1)) = pixel_span(x, z, r, self.focal[1], self.centre[1], self.height)
        else {
            return;
        };
        // The camera centre and the camera axes, in the link frame.
        let origin = link_in_camera.inverse_transform_point([0.0; 3]);
        let axes = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
            .map(|e| link_in_camera.inverse_rotate(e));
        for row in row0..=row1 {
            let span = row * self.width + col0..=row * self.width + col1;
            for (len, d) in ray_len[span.clone()].iter_mut().zip(&self.rays[span]) {
                let local = add(
                    add(scale(axes[0], d[0]), scale(axes[1], d[1])),
                    scale(axes[2], d[2]),
                );
                if let Some(t) = collider.primitive.raycast(origin, local)
                    && t < *len
                {
                    *len = t;
                }
            }
        }
    }
}

/// The pixels `k` in `0..n` along one image axis whose ray may meet a ball, whose centre is
/// `forward` along the optical axis and `side` along this image axis (left for columns, up for
/// rows), radius `r`. Pixel `k` looks along slope `side / forward = (c - k - 0.5) / f`. The ball's
/// slopes are bounded by its silhouette's tangents from the camera centre in the (forward, side)
/// plane; a ball around the camera centre covers every pixel. Widened by one pixel against
/// rounding; `None` when no pixel can see it.
fn pixel_span(forward: f32, side: f32, r: f32, f: f32, c: f32, n: usize) -> Option<(usize, usize)> {
    let dist = forward.hypot(side);
    let (lo, hi) = if dist <= r {
        (f32::NEG_INFINITY, f32::INFINITY)
    } else {
        let theta = side.atan2(forward);
        let beta = (r / dist).asin();
        let (a, b) = (theta - beta, theta + beta);
        if a >= FRAC_PI_2 || b <= -FRAC_PI_2 {
            return None;
        }
        (
            if a <= -FRAC_PI_2 {
                f32::NEG_INFINITY
            } else {
                a.tan()
            },
            if b >= FRAC_PI_2 {
                f32::INFINITY
            } else {
                b.tan()
            },
        )
    };
    // The slope falls as k grows: slope <= hi for k >= c - 0.5 - f hi, slope >= lo for
    // k <= c - 0.5 - f lo.
    let first = (c - 0.5 - f * hi).floor() - 1.0;
    let last = (c - 0.5 - f * lo).ceil() + 1.0;
    let last_px = n.checked_sub(1)? as f32;
    if first > last_px || last < 0.0 {
        return None;
    }
    // Both in 0..=last_px after the clamps, so the casts are exact.
    Some((first.max(0.0) as usize, last.min(last_px) as usize))
}

/// World pose of the head camera (optical axis = x) for the link poses of `robot`, or `None` when
/// `link_poses` lacks the camera's link.
#[must_use]
pub fn camera_pose(robot: &Robot, link_poses: &[LinkPose]) -> Option<LinkPose> {
    let mount = LinkPose::from_isometry(&robot.camera.offset);
    link_poses
        .get(robot.camera.link)
        .map(|link| link.compose(&mount))
}
