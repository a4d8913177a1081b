//! The one error type of this crate.

use vigor_msgs::DecodeError;
#[cfg(feature = "sim")]
use vigor_sim::env::EnvError;
#[cfg(feature = "sim")]
use vigor_sim::sensors::SensorError;

/// Why a depth source, preprocessor or augmenter could not do its work. Each variant names what
/// to fix: the configuration key, the file and frame, or the device.
#[derive(Debug, thiserror::Error)]
pub enum PerceptionError {
    /// A configuration value lies outside its allowed range; change `key`.
    #[error("`{key}` = {value} is out of range: allowed {allowed}")]
    OutOfRange {
        /// The configuration field, e.g. `far_m`.
        key: &'static str,
        /// The value found.
        value: String,
        /// The allowed range or condition, e.g. `0.1 ..= 20` or `above near_m = 0.1`.
        allowed: String,
    },
    /// A depth image's data does not match its declared size.
    #[error(
        "depth image of {width} x {height} px (sides at least 1) needs {expected} values, got {got}"
    )]
    ImageSize {
        /// Declared width, px.
        width: usize,
        /// Declared height, px.
        height: usize,
        /// Values expected (`width * height`).
        expected: usize,
        /// Values given.
        got: usize,
    },
    /// A recording could not be opened, read or written.
    #[error("{file}: {source}")]
    Io {
        /// The recording's path.
        file: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A file is not a depth recording: its first 8 bytes are not `VIGORDF1`.
    #[error("{file}: not a vigor depth recording (magic {found:02x?}, expected \"VIGORDF1\")")]
    BadMagic {
        /// The file.
        file: String,
        /// The bytes found where the magic belongs (fewer than 8 if the file is shorter).
        found: Vec<u8>,
    },
    /// A frame of a recording is truncated or does not decode.
    #[error("{file}: frame {frame}: {reason}")]
    CorruptFrame {
        /// The file.
        file: String,
        /// Index of the frame in the file, from 0.
        frame: u64,
        /// What is wrong (truncated length or body, oversized length, decode error).
        reason: String,
    },
    /// A frame could not be encoded for recording (its size or data length is invalid).
    #[error("{file}: cannot record frame {frame}: {source}")]
    Encode {
        /// The file being written.
        file: String,
        /// Index the frame would have had in the file.
        frame: u64,
        /// What the encoder rejected.
        #[source]
        source: DecodeError,
    },
    /// The simulation behind a simulated source could not be built.
    #[cfg(feature = "sim")]
    #[error(transparent)]
    Env(#[from] EnvError),
    /// The simulated depth camera's configuration is invalid.
    #[cfg(feature = "sim")]
    #[error(transparent)]
    Sensor(#[from] SensorError),
    /// The simulated robot has no pose for the link that carries the camera.
    #[error("no pose for camera link {link}: the simulation reports {links} links")]
    CameraLink {
        /// The robot description's camera link index.
        link: usize,
        /// Link poses the simulation reported.
        links: usize,
    },
    /// Joint commands for a simulated source do not have one entry per joint.
    #[error("{got} joint commands for a robot with {expected} joints")]
    CommandCount {
        /// The robot's joints.
        expected: usize,
        /// Commands given.
        got: usize,
    },
    /// The RealSense driver failed (no device, unsupported mode, timeout, wrong pixel format).
    #[error("realsense: {0}")]
    Device(String),
}

/// `Ok` when `lo <= value <= hi` (NaN fails), else [`PerceptionError::OutOfRange`] naming `key`.
pub(crate) fn check_range<V: PartialOrd + std::fmt::Display>(
    key: &'static str,
    value: V,
    lo: V,
    hi: V,
) -> Result<(), PerceptionError> {
    if value >= lo && value <= hi {
        Ok(())
    } else {
        Err(PerceptionError::OutOfRange {
            key,
            value: value.to_string(),
            allowed: format!("{lo} ..= {hi}"),
        })
    }
}

/// `Ok` when `width * height == got` and both sides are at least 1, else
/// [`PerceptionError::ImageSize`].
pub(crate) fn check_image(width: usize, height: usize, got: usize) -> Result<(), PerceptionError> {
    let expected = width * height;
    if expected > 0 && got == expected {
        Ok(())
    } else {
        Err(PerceptionError::ImageSize {
            width,
            height,
            expected,
            got,
        })
    }
}
