//! Procedural terrain for training and testing fall safety, in the style of legged_gym's terrain
//! curriculum: a grid of square tiles, difficulty rising along x (rows), kinds along y (columns),
//! inside a flat border, all stored as one regular height field.
//!
//! Engine-agnostic: plain `f32` maths, z up, metres, no physics types. The physics, depth camera and
//! height scans read the same surface through [`Terrain::height`], [`Terrain::normal`],
//! [`Terrain::raycast`] and [`Terrain::mesh`], which share one triangulation ([`Diagonal`]).
//!
//! - [`kind`]: the twelve [`TerrainKind`]s and the 15-level difficulty curriculum.
//! - [`tiles`]: per-kind figures ([`TileShape::of`], with their sources) and tile generators.
//! - [`field`]: [`HeightField`], its indexing and triangulation, height and normal queries, mesh.
//! - [`raycast`]: fast ray casting against the field.
//! - [`grid`]: [`Terrain`], the tile grid with per-tile metadata.
//! - [`config`]: `configs/terrain.toml` -> [`TerrainParams`].
//! - [`preview`]: a hill-shaded PNG of the grid for people.
//!
//! Invariants: a tile's heights are a pure function of `(seed, row, col, kind, difficulty)` (its
//! random layout comes from [`tile_seed`]), so the same parameters give bit-identical fields
//! whatever the generation order; the border and every tile edge-ring of kinds that allow it sit at
//! height 0; each tile's spawn spot is its centre.

pub mod config;
pub mod field;
pub mod grid;
pub mod kind;
pub mod preview;
pub mod raycast;
#[cfg(test)]
mod tile_tests;
pub mod tiles;

use std::path::PathBuf;

pub use config::{TerrainConfig, TerrainParams};
pub use field::{Diagonal, HeightField, MAX_SAMPLES};
pub use grid::{BORDER_HEIGHT_M, Rect, Terrain, TileInfo, tile_seed};
pub use kind::{LEVELS, TerrainKind, difficulty_of, level_of};
pub use tiles::TileShape;

/// Why terrain could not be generated, queried or previewed.
#[derive(Debug, thiserror::Error)]
pub enum TerrainError {
    /// A parameter lies outside its allowed range or does not fit the others; change `name`.
    #[error("terrain parameter `{name}` = {value} is out of range: allowed {allowed}")]
    InvalidParameter {
        /// The parameter, as named in `configs/terrain.toml` where it is a key there.
        name: &'static str,
        /// The value found.
        value: String,
        /// The allowed range or condition.
        allowed: String,
    },
    /// A kind name that is not one of [`TerrainKind::names`].
    #[error("unknown terrain kind `{name}`: allowed {allowed}")]
    UnknownKind {
        /// The name given.
        name: String,
        /// The allowed names, comma-separated.
        allowed: String,
    },
    /// [`HeightField::new`] got a height vector of the wrong length.
    #[error("height field needs nx·ny = {expected} heights, got {got}")]
    HeightsLength {
        /// `nx * ny`.
        expected: usize,
        /// The length given.
        got: usize,
    },
    /// The preview could not be encoded as PNG.
    #[error("cannot encode the terrain preview as PNG: {0}")]
    Png(#[from] png::EncodingError),
    /// The preview could not be written.
    #[error("{path}: cannot write the terrain preview: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}
