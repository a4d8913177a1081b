//! Rerun recordings (`.rrd`) of vigor episodes, so falls can be watched and replayed.
//!
//! Entity layout (z up, metres, timeline `sim_time` in seconds):
//! - `world/terrain`: the terrain mesh, coloured by height (static).
//! - `world/robot/<link>`: each link's pose over time; its collision primitives are logged once
//!   under `world/robot/<link>/geometry` in the link frame.
//! - `world/robot/<camera link>/head_camera`: the depth camera's mount (static) with a pinhole
//!   and the depth stream at `.../head_camera/depth`.
//! - `world/contacts`: ground contact points and force arrows (1 m per 500 N).
//! - `plots/base_height_m`, `plots/tilt_deg`: scalars.
//! - `episode`: a text log line naming the scenario, terrain and seed.
//! - Anything else through [`EpisodeRecorder::log_skeleton`], [`EpisodeRecorder::log_scalar`] and
//!   [`EpisodeRecorder::log_text`] (demonstration playback: `world/keyframes/...`, `events`).
//!
//! Invariant: recording never changes what is recorded; it only reads state.

use std::path::Path;

use rapier3d::na;
use rr::{RecordingStream, RecordingStreamBuilder};
use vigor_sim::rapier::Contact;
use vigor_sim::robot::{Robot, Shape};
use vigor_sim::terrain::Terrain;

mod rr;

/// The rotation that takes +z onto `dir` (a capsule's axis): identity for a zero axis, a half turn
/// about x for -z.
fn capsule_rotation(dir: na::Vector3<f32>) -> na::UnitQuaternion<f32> {
    let n = dir.norm();
    if n < 1e-9 {
        return na::UnitQuaternion::identity();
    }
    na::UnitQuaternion::rotation_between(&na::Vector3::z(), &(dir / n)).unwrap_or_else(|| {
        na::UnitQuaternion::from_axis_angle(&na::Vector3::x_axis(), std::f32::consts::PI)
    })
}

/// Newtons per metre of drawn force arrow.
pub const FORCE_SCALE_N_PER_M: f32 = 500.0;

/// Why a recording could not be written.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The recording could not be created or flushed.
    #[error("{path}: {message}")]
    Stream {
        /// The file.
        path: String,
        /// rerun's description.
        message: String,
    },
}

/// A pose as position and w x y z quaternion.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pose {
    /// Position, m.
    pub pos: [f32; 3],
    /// Orientation, w x y z.
    pub quat_wxyz: [f32; 4],
}

/// A depth frame to log.
#[derive(Debug, Clone, Copy)]
pub struct DepthView<'a> {
    /// Metres, row-major, `width * height` (0 = no return).
    pub metres: &'a [f32],
    /// Width, px.
    pub width: u32,
    /// Height, px.
    pub height: u32,
    /// Focal length along x, px.
    pub fx_px: f32,
    /// Focal length along y, px.
    pub fy_px: f32,
}

/// Writes one episode to an `.rrd` file.
pub struct EpisodeRecorder {
    rec: RecordingStream,
    path: String,
    links: Vec<String>,
    camera: String,
}

fn quat(q: [f32; 4]) -> rr::Quaternion {
    rr::Quaternion::from_wxyz(q)
}

fn rr_err(path: &str, e: impl std::fmt::Display) -> RecordError {
    RecordError::Stream {
        path: path.to_owned(),
        message: e.to_string(),
    }
}

impl EpisodeRecorder {
    /// Creates `path` and logs the static scene: robot geometry, terrain and the episode line.
    ///
    /// # Errors
    /// The file cannot be created.
    pub fn create(
        path: &Path,
        robot: &Robot,
        terrain: Option<&Terrain>,
        episode: &str,
    ) -> Result<Self, RecordError> {
        let shown = path.display().to_string();
        let rec = RecordingStreamBuilder::new("vigor")
            .save(path)
            .map_err(|e| rr_err(&shown, e))?;
        let links: Vec<String> = robot
            .links
            .iter()
            .map(|l| format!("world/robot/{}", l.name))
            .collect();
        let camera = format!("{}/head_camera", links[robot.camera.link]);
        let this = Self {
            rec,
            path: shown,
            links,
            camera,
        };
        this.log_static(robot, terrain, episode)?;
        Ok(this)
    }

    fn log_static(
        &self,
        robot: &Robot,
        terrain: Option<&Terrain>,
        episode: &str,
    ) -> Result<(), RecordError> {
        let e = |r: Result<(), rr::RecordingStreamError>| r.map_err(|e| rr_err(&self.path, e));
        e(self
            .rec
            .log_static("world", &rr::ViewCoordinates::RIGHT_HAND_Z_UP()))?;
        e(self
            .rec
            .log_static("episode", &rr::TextLog::new(episode.to_owned())))?;
        for (link, entity) in robot.links.iter().zip(&self.links) {
            let mut caps = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            let mut balls = (Vec::new(), Vec::new());
            let mut boxes = (Vec::new(), Vec::new());
            for c in &link.colliders {
                match &c.shape {
                    Shape::Capsule { a, b, radius } => {
                        let d = b - a;
                        let len = d.norm();
                        let rot =
                            capsule_rotation(na::Vector3::new(d.x as f32, d.y as f32, d.z as f32));
                        caps.0.push(len as f32);
                        caps.1.push(*radius as f32);
                        caps.2.push([a.x as f32, a.y as f32, a.z as f32]);
                        caps.3
                            .push(rr::Quaternion::from_xyzw([rot.i, rot.j, rot.k, rot.w]));
                    }
                    Shape::Sphere { centre, radius } => {
                        balls
                            .0
                            .push([centre.x as f32, centre.y as f32, centre.z as f32]);
                        balls.1.push(*radius as f32);
                    }
                    Shape::Cuboid {
                        centre,
                        half_extents: h,
                    } => {
                        boxes
                            .0
                            .push([centre.x as f32, centre.y as f32, centre.z as f32]);
                        boxes.1.push([h.x as f32, h.y as f32, h.z as f32]);
                    }
                }
            }
            if !caps.0.is_empty() {
                e(self.rec.log_static(
                    format!("{entity}/geometry/capsules"),
                    &rr::Capsules3D::from_lengths_and_radii(caps.0, caps.1)
                        .with_translations(caps.2)
                        .with_quaternions(caps.3),
                ))?;
            }
            if !balls.0.is_empty() {
                e(self.rec.log_static(
                    format!("{entity}/geometry/spheres"),
                    &rr::Ellipsoids3D::from_centers_and_radii(balls.0, balls.1),
                ))?;
            }
            if !boxes.0.is_empty() {
                e(self.rec.log_static(
                    format!("{entity}/geometry/boxes"),
                    &rr::Boxes3D::from_centers_and_half_sizes(boxes.0, boxes.1),
                ))?;
            }
        }
        let cam = robot.camera.offset;
        let t = cam.translation.vector;
        let r = cam.rotation;
        e(self.rec.log_static(
            self.camera.as_str(),
            &rr::Transform3D::from_translation_rotation(
                [t.x as f32, t.y as f32, t.z as f32],
                quat([r.w as f32, r.i as f32, r.j as f32, r.k as f32]),
            ),
        ))?;
        if let Some(terrain) = terrain {
            let (vertices, triangles) = terrain.mesh();
            let (lo, hi) = vertices
                .iter()
                .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), v| {
                    (lo.min(v[2]), hi.max(v[2]))
                });
            let colours: Vec<rr::Color> = vertices
                .iter()
                .map(|v| {
                    let t = if hi > lo {
                        (v[2] - lo) / (hi - lo)
                    } else {
                        0.5
                    };
                    rr::Color::from_rgb(
                        (90.0 + 140.0 * t) as u8,
                        (110.0 + 100.0 * t) as u8,
                        (140.0 - 40.0 * t) as u8,
                    )
                })
                .collect();
            e(self.rec.log_static(
                "world/terrain",
                &rr::Mesh3D::new(vertices)
                    .with_triangle_indices(triangles.into_iter().map(rr::TriangleIndices::from))
                    .with_vertex_colors(colours),
            ))?;
        }
        Ok(())
    }

    /// Logs one instant: link poses, contacts, base height and tilt.
    ///
    /// # Errors
    /// The stream failed.
    pub fn log_step(
        &self,
        time_s: f64,
        link_poses: &[Pose],
        contacts: &[Contact],
        base_height_m: f32,
        tilt_deg: f32,
    ) -> Result<(), RecordError> {
        let e = |r: Result<(), rr::RecordingStreamError>| r.map_err(|e| rr_err(&self.path, e));
        self.rec.set_duration_secs("sim_time", time_s);
        for (entity, p) in self.links.iter().zip(link_poses) {
            e(self.rec.log(
                entity.as_str(),
                &rr::Transform3D::from_translation_rotation(p.pos, quat(p.quat_wxyz)),
            ))?;
        }
        let points: Vec<[f32; 3]> = contacts.iter().map(|c| c.point).collect();
        let arrows: Vec<[f32; 3]> = contacts
            .iter()
            .map(|c| c.force.map(|f| f / FORCE_SCALE_N_PER_M))
            .collect();
        e(self.rec.log(
            "world/contacts",
            &rr::Points3D::new(points.clone()).with_radii([0.01]),
        ))?;
        e(self.rec.log(
            "world/contacts/forces",
            &rr::Arrows3D::from_vectors(arrows).with_origins(points),
        ))?;
        e(self.rec.log(
            "plots/base_height_m",
            &rr::Scalars::single(f64::from(base_height_m)),
        ))?;
        e(self
            .rec
            .log("plots/tilt_deg", &rr::Scalars::single(f64::from(tilt_deg))))?;
        Ok(())
    }

    /// Logs a depth frame from the head camera at `time_s`.
    ///
    /// # Errors
    /// The stream failed.
    pub fn log_depth(&self, time_s: f64, depth: DepthView<'_>) -> Result<(), RecordError> {
        let e = |r: Result<(), rr::RecordingStreamError>| r.map_err(|e| rr_err(&self.path, e));
        self.rec.set_duration_secs("sim_time", time_s);
        e(self.rec.log(
            self.camera.as_str(),
            &rr::Pinhole::from_focal_length_and_resolution(
                [depth.fx_px, depth.fy_px],
                [depth.width as f32, depth.height as f32],
            )
            .with_camera_xyz(rr::components::ViewCoordinates::FLU),
        ))?;
        let bytes: Vec<u8> = depth.metres.iter().flat_map(|d| d.to_le_bytes()).collect();
        e(self.rec.log(
            format!("{}/depth", self.camera),
            &rr::DepthImage::from_data_type_and_bytes(
                bytes,
                [depth.width, depth.height],
                rr::ChannelDatatype::F32,
            )
            .with_meter(1.0),
        ))?;
        Ok(())
    }

    /// Logs a stick figure: `points` joined by `edges` (index pairs), in colour `rgb`; static when
    /// `time_s` is `None`.
    ///
    /// # Errors
    /// The stream failed.
    pub fn log_skeleton(
        &self,
        time_s: Option<f64>,
        entity: &str,
        points: &[[f32; 3]],
        edges: &[[usize; 2]],
        rgb: [u8; 3],
    ) -> Result<(), RecordError> {
        let strips: Vec<Vec<[f32; 3]>> = edges
            .iter()
            .filter(|[a, b]| *a < points.len() && *b < points.len())
            .map(|[a, b]| vec![points[*a], points[*b]])
            .collect();
        let colour = rr::Color::from_rgb(rgb[0], rgb[1], rgb[2]);
        let lines = rr::LineStrips3D::new(strips)
            .with_colors([colour])
            .with_radii([0.008]);
        let dots = rr::Points3D::new(points.to_vec())
            .with_colors([colour])
            .with_radii([0.015]);
        let r = match time_s {
            Some(t) => {
                self.rec.set_duration_secs("sim_time", t);
                self.rec
                    .log(entity, &lines)
                    .and_then(|()| self.rec.log(format!("{entity}/points"), &dots))
            }
            None => self
                .rec
                .log_static(entity, &lines)
                .and_then(|()| self.rec.log_static(format!("{entity}/points"), &dots)),
        };
        r.map_err(|e| rr_err(&self.path, e))
    }

    /// Logs a scalar time series value under `entity` (e.g. `plots/phase`).
    ///
    /// # Errors
    /// The stream failed.
    pub fn log_scalar(&self, time_s: f64, entity: &str, value: f64) -> Result<(), RecordError> {
        self.rec.set_duration_secs("sim_time", time_s);
        self.rec
            .log(entity, &rr::Scalars::single(value))
            .map_err(|e| rr_err(&self.path, e))
    }

    /// Logs a text line under `entity` at `time_s`.
    ///
    /// # Errors
    /// The stream failed.
    pub fn log_text(&self, time_s: f64, entity: &str, text: &str) -> Result<(), RecordError> {
        self.rec.set_duration_secs("sim_time", time_s);
        self.rec
            .log(entity, &rr::TextLog::new(text.to_owned()))
            .map_err(|e| rr_err(&self.path, e))
    }

    /// Flushes everything to disk.
    ///
    /// # Errors
    /// The file could not be written.
    pub fn finish(self) -> Result<(), RecordError> {
        self.rec.flush_blocking().map_err(|e| rr_err(&self.path, e))
    }
}

/// Writes scalar time series to a new `.rrd` file at `path`: for each `(t, values)` row, every
/// `(name, value)` is logged under `metrics/<name>` at sequence `t` of `timeline`.
///
/// # Errors
/// The file cannot be created or written.
pub fn write_series(
    path: &Path,
    timeline: &'static str,
    rows: &[(i64, Vec<(String, f64)>)],
) -> Result<(), RecordError> {
    let shown = path.display().to_string();
    let tmp = path.with_extension("rrd.tmp");
    let rec = RecordingStreamBuilder::new("vigor")
        .save(&tmp)
        .map_err(|e| rr_err(&shown, e))?;
    for (t, values) in rows {
        rec.set_time_sequence(timeline, *t);
        for (name, v) in values {
            rec.log(format!("metrics/{name}"), &rr::Scalars::single(*v))
                .map_err(|e| rr_err(&shown, e))?;
        }
    }
    rec.flush_blocking().map_err(|e| rr_err(&shown, e))?;
    drop(rec);
    std::fs::rename(&tmp, path).map_err(|e| rr_err(&shown, e))
}
