//! [`RealSenseSource`]: a live Intel RealSense (the G1's D435i) through librealsense2, behind
//! the cargo feature `realsense`.
//!
//! The driver only starts a pipeline with one Z16 depth stream and copies each frame's pixels
//! out; the conversion to a metric [`DepthFrame`] is [`crate::convert::z16_frame`] (tested
//! without a camera), with the sensor's depth unit and the stream's intrinsics
//! ([`crate::convert::intrinsics_from_librealsense`]).
//!
//! Invariants: frames are numbered from 0 in arrival order; `stamp_ns` is the device's frame
//! timestamp (librealsense reports milliseconds in the domain the device chooses, usually the
//! camera's hardware clock), not the host's wall clock; an image of another size or pixel format
//! than requested is an error, never a silently resized frame.

use std::time::Duration;

use realsense_rust::config::Config;
use realsense_rust::context::Context;
use realsense_rust::frame::{DepthFrame as RsDepthFrame, FrameEx, PixelKind};
use realsense_rust::kind::{Rs2Format, Rs2StreamKind};
use realsense_rust::pipeline::{ActivePipeline, InactivePipeline};
use vigor_msgs::project::{DepthFrame, Intrinsics};

use super::DepthSource;
use crate::convert::{intrinsics_from_librealsense, z16_frame};
use crate::error::{PerceptionError, check_range};

/// How long [`DepthSource::next_frame`] waits for the device: several frame periods even at
/// 6 fps, short enough that a disconnected camera is reported promptly.
pub const FRAME_TIMEOUT: Duration = Duration::from_secs(1);

fn device(what: &str, e: impl std::fmt::Display) -> PerceptionError {
    PerceptionError::Device(format!("{what}: {e}"))
}

/// A running RealSense depth stream.
pub struct RealSenseSource {
    // Declared before the context so the pipeline stops before the context goes.
    pipeline: ActivePipeline,
    _context: Context,
    width: u16,
    height: u16,
    fps: u16,
    seq: u64,
    /// Raw Z16 counts of the current frame (reused buffer).
    raw: Vec<u16>,
    /// Depth unit and intrinsics, read from the first frame (fixed while streaming).
    calibration: Option<(f32, Intrinsics)>,
}

impl RealSenseSource {
    /// Opens the first RealSense device and starts a `width x height` Z16 depth stream at `fps`
    /// (a mode the device supports, e.g. 848 x 480 at 30 or 90 for the D435i).
    ///
    /// # Errors
    /// [`PerceptionError::OutOfRange`] for a zero size or rate; [`PerceptionError::Device`] when
    /// librealsense cannot create a context or pipeline, or no device supports the mode.
    pub fn open(width: u16, height: u16, fps: u16) -> Result<Self, PerceptionError> {
        check_range("width", width, 1, 1280)?;
        check_range("height", height, 1, 720)?;
        check_range("fps", fps, 1, 300)?;
        let context = Context::new().map_err(|e| device("cannot create a context", e))?;
        let pipeline = InactivePipeline::try_from(&context)
            .map_err(|e| device("cannot create a pipeline", e))?;
        let mut config = Config::new();
        config
            .enable_stream(
                Rs2StreamKind::Depth,
                None,
                usize::from(width),
                usize::from(height),
                Rs2Format::Z16,
                usize::from(fps),
            )
            .map_err(|e| device("cannot configure the depth stream", e))?;
        let pipeline = pipeline.start(Some(config)).map_err(|e| {
            device(
                &format!("cannot start {width}x{height} Z16 depth at {fps} fps"),
                e,
            )
        })?;
        Ok(Self {
            pipeline,
            _context: context,
            width,
            height,
            fps,
            seq: 0,
            raw: vec![0; usize::from(width) * usize::from(height)],
            calibration: None,
        })
    }

    /// Copies `frame`'s Z16 pixels into `self.raw` (row-major; librealsense handles the row
    /// stride) and reads the calibration on the first frame.
    fn take(&mut self, frame: &RsDepthFrame) -> Result<(f32, Intrinsics), PerceptionError> {
        if (frame.width(), frame.height()) != (usize::from(self.width), usize::from(self.height)) {
            return Err(PerceptionError::Device(format!(
                "depth frame is {}x{}, the stream was opened at {}x{}",
                frame.width(),
                frame.height(),
                self.width,
                self.height
            )));
        }
        for (out, pixel) in self.raw.iter_mut().zip(frame.iter()) {
            match pixel {
                PixelKind::Z16 { depth } => *out = *depth,
                other => {
                    return Err(PerceptionError::Device(format!(
                        "depth pixel is {other:?}, expected Z16"
                    )));
                }
            }
        }
        if let Some(c) = self.calibration {
            return Ok(c);
        }
        let units = frame
            .depth_units()
            .map_err(|e| device("cannot read the depth unit", e))?;
        let k = frame
            .stream_profile()
            .intrinsics()
            .map_err(|e| device("cannot read the depth intrinsics", e))?;
        let c = (
            units,
            intrinsics_from_librealsense(k.fx(), k.fy(), k.ppx(), k.ppy()),
        );
        self.calibration = Some(c);
        Ok(c)
    }
}

impl DepthSource for RealSenseSource {
    fn next_frame(&mut self) -> Result<Option<DepthFrame>, PerceptionError> {
        let frames = self
            .pipeline
            .wait(Some(FRAME_TIMEOUT))
            .map_err(|e| device("waiting for frames", e))?;
        let Some(frame) = frames.frames_of_type::<RsDepthFrame>().pop() else {
            return Err(PerceptionError::Device(
                "frame set without a depth frame".into(),
            ));
        };
        let (units, intrinsics) = self.take(&frame)?;
        // Milliseconds to ns; a negative or non-finite stamp (never seen) reads 0.
        let stamp_ns = (frame.timestamp() * 1e6).max(0.0) as u64;
        let out = z16_frame(
            self.seq,
            stamp_ns,
            self.width,
            self.height,
            intrinsics,
            units,
            &self.raw,
        )?;
        self.seq += 1;
        Ok(Some(out))
    }

    fn describe(&self) -> String {
        format!(
            "realsense: {}x{} Z16 at {} fps",
            self.width, self.height, self.fps
        )
    }
}
