//! The parts of rerun's SDK that vigor logs with, under one name: the stream from `re_sdk`, the
//! archetypes and the few components and datatypes they take from `re_sdk_types` (the `rerun`
//! umbrella crate re-exports the same items).

pub use re_sdk::{RecordingStream, RecordingStreamBuilder, RecordingStreamError};
pub use re_sdk_types::archetypes::{
    Arrows3D, Boxes3D, Capsules3D, DepthImage, Ellipsoids3D, LineStrips3D, Mesh3D, Pinhole,
    Points3D, Scalars, TextLog, Transform3D, ViewCoordinates,
};
pub use re_sdk_types::components;
pub use re_sdk_types::components::{Color, TriangleIndices};
pub use re_sdk_types::datatypes::{ChannelDatatype, Quaternion};
