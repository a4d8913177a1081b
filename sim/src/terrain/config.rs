//! `configs/terrain.toml`: the tile grid (size, resolution, kinds, difficulty range, seed).
//!
//! Two stages: [`TerrainConfig`] is what the file says; [`TerrainConfig::validate`] checks it into
//! [`TerrainParams`], which [`super::Terrain::generate`] checks again (callers may build params by
//! hand) with the same ranges, defined once below.

use std::ops::RangeInclusive;

use serde::Deserialize;
use vigor_common::config::{self, ConfigError, Validate};

use super::{MAX_SAMPLES, TerrainError, TerrainKind};

/// The shipped configuration, embedded so every binary runs without files.
pub const DEFAULT_TOML: &str = include_str!("../../../configs/terrain.toml");

/// Allowed tile side, m: a 1.5 m spawn square plus at least 0.75 m of terrain on each side.
pub const TILE_SIZE_M: RangeInclusive<f32> = 3.0..=20.0;
/// Allowed sample spacing, m: finer than 2 cm is wasted on a humanoid, coarser than 20 cm smears
/// 30 cm stair treads.
pub const CELL_M: RangeInclusive<f32> = 0.02..=0.2;
/// Allowed number of tile rows (difficulty steps along x).
pub const ROWS: RangeInclusive<usize> = 1..=30;
/// Allowed number of tile columns (kinds along y).
pub const COLS: RangeInclusive<usize> = 1..=64;
/// Allowed width of the flat border around the grid, m.
pub const BORDER_M: RangeInclusive<f32> = 0.5..=20.0;
/// Allowed difficulty.
pub const DIFFICULTY: RangeInclusive<f32> = 0.0..=1.0;

/// What `configs/terrain.toml` says.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TerrainConfig {
    /// Terrain seed; tile `(row, col)` uses `derive(seed, "terrain_tile", row << 32 | col)`. Any
    /// u64; shipped 0.
    pub seed: u64,
    /// Side of one square tile, m. Range 3..=20, a whole number of cells; shipped 5.
    pub tile_size_m: f32,
    /// Height-field sample spacing, m. Range 0.02..=0.2; shipped 0.05.
    pub cell_m: f32,
    /// Tile rows along x, one difficulty each. Range 1..=30; shipped 3 (easy, medium, hard).
    pub rows: u32,
    /// Tile columns along y; column `c` holds `kinds[c % kinds.len()]`. Range 1..=64; shipped 12.
    pub cols: u32,
    /// Kinds by snake_case name (see [`TerrainKind::name`]), at least one; shipped all twelve.
    pub kinds: Vec<TerrainKind>,
    /// Width of the flat border (height 0) around the grid, m. Range 0.5..=20, a whole number of
    /// cells; shipped 1.
    pub border_m: f32,
    /// Difficulty of row 0. Range 0..=1; shipped 0.
    pub difficulty_min: f32,
    /// Difficulty of the last row (rows are evenly spaced in between). Range
    /// `difficulty_min..=1`; shipped 1.
    pub difficulty_max: f32,
}

/// Checked terrain parameters (see [`TerrainConfig`] for meanings and ranges).
#[derive(Debug, Clone, PartialEq)]
pub struct TerrainParams {
    /// Terrain seed.
    pub seed: u64,
    /// Tile side, m.
    pub tile_size_m: f32,
    /// Sample spacing, m.
    pub cell_m: f32,
    /// Tile rows (along x).
    pub rows: usize,
    /// Tile columns (along y).
    pub cols: usize,
    /// Kinds cycled through the columns.
    pub kinds: Vec<TerrainKind>,
    /// Border width, m.
    pub border_m: f32,
    /// Difficulty of row 0.
    pub difficulty_min: f32,
    /// Difficulty of the last row.
    pub difficulty_max: f32,
}

impl TerrainParams {
    /// Cells along one tile side.
    #[must_use]
    pub fn cells_per_tile(&self) -> usize {
        whole_cells(self.tile_size_m, self.cell_m)
    }

    /// Cells across the border.
    #[must_use]
    pub fn border_cells(&self) -> usize {
        whole_cells(self.border_m, self.cell_m)
    }

    /// Samples `(nx, ny)` of the whole field, border included.
    #[must_use]
    pub fn field_samples(&self) -> (usize, usize) {
        let (n, b) = (self.cells_per_tile(), self.border_cells());
        (self.rows * n + 2 * b + 1, self.cols * n + 2 * b + 1)
    }

    /// Difficulty of tile row `row`: evenly spaced from `difficulty_min` to `difficulty_max`.
    #[must_use]
    pub fn difficulty(&self, row: usize) -> f32 {
        if self.rows < 2 {
            return self.difficulty_min;
        }
        let f = row as f32 / (self.rows - 1) as f32;
        self.difficulty_min + (self.difficulty_max - self.difficulty_min) * f
    }

    /// Kind of tile column `col`: the configured kinds, cycled.
    #[must_use]
    pub fn kind(&self, col: usize) -> TerrainKind {
        self.kinds
            .get(col % self.kinds.len().max(1))
            .copied()
            .unwrap_or(TerrainKind::Flat)
    }

    /// Checks every parameter against its range and the field against [`MAX_SAMPLES`].
    ///
    /// # Errors
    /// [`TerrainError::InvalidParameter`] naming the first parameter out of range.
    pub fn check(&self) -> Result<(), TerrainError> {
        in_range("tile_size_m", self.tile_size_m, &TILE_SIZE_M)?;
        in_range("cell_m", self.cell_m, &CELL_M)?;
        in_range("rows", self.rows, &ROWS)?;
        in_range("cols", self.cols, &COLS)?;
        in_range("border_m", self.border_m, &BORDER_M)?;
        in_range("difficulty_min", self.difficulty_min, &DIFFICULTY)?;
        in_range(
            "difficulty_max",
            self.difficulty_max,
            &(self.difficulty_min..=*DIFFICULTY.end()),
        )?;
        for (name, len) in [
            ("tile_size_m", self.tile_size_m),
            ("border_m", self.border_m),
        ] {
            let cells = len / self.cell_m;
            if (cells - cells.round()).abs() > 1e-3 {
                return Err(TerrainError::InvalidParameter {
                    name,
                    value: len.to_string(),
                    allowed: format!("a whole number of cell_m = {} m cells", self.cell_m),
                });
            }
        }
        if self.kinds.is_empty() {
            return Err(TerrainError::InvalidParameter {
                name: "kinds",
                value: "[]".to_owned(),
                allowed: format!("one or more of {}", TerrainKind::names().join(", ")),
            });
        }
        let (nx, ny) = self.field_samples();
        if nx.saturating_mul(ny) > MAX_SAMPLES {
            return Err(TerrainError::InvalidParameter {
                name: "cell_m",
                value: format!("{} ({nx} × {ny} samples)", self.cell_m),
                allowed: format!("coarse enough for at most {MAX_SAMPLES} samples"),
            });
        }
        Ok(())
    }
}

impl Validate for TerrainConfig {
    type Checked = TerrainParams;

    fn validate(&self, file: &str) -> Result<TerrainParams, ConfigError> {
        let kinds = self.kinds.clone();
        let params = TerrainParams {
            seed: self.seed,
            tile_size_m: self.tile_size_m,
            cell_m: self.cell_m,
            rows: self.rows as usize,
            cols: self.cols as usize,
            kinds,
            border_m: self.border_m,
            difficulty_min: self.difficulty_min,
            difficulty_max: self.difficulty_max,
        };
        params.check().map_err(|e| match e {
            TerrainError::InvalidParameter {
                name,
                value,
                allowed,
            } => ConfigError::OutOfRange {
                file: file.to_owned(),
                key: name.to_owned(),
                value,
                allowed,
            },
            other => config::inconsistent(file, "kinds", other.to_string()),
        })?;
        Ok(params)
    }
}

impl TerrainConfig {
    /// The embedded shipped configuration, checked.
    ///
    /// # Errors
    /// Only if the shipped file is broken (a test guards it).
    pub fn embedded() -> Result<TerrainParams, ConfigError> {
        let file = "<embedded configs/terrain.toml>";
        config::parse::<Self>(DEFAULT_TOML, file)?.validate(file)
    }
}

/// `len / cell` rounded to whole cells (both are checked positive before use).
fn whole_cells(len: f32, cell: f32) -> usize {
    (len / cell).round().max(0.0) as usize
}

fn in_range<V: PartialOrd + std::fmt::Display>(
    name: &'static str,
    value: V,
    range: &RangeInclusive<V>,
) -> Result<(), TerrainError> {
    if range.contains(&value) {
        Ok(())
    } else {
        Err(TerrainError::InvalidParameter {
            name,
            value: value.to_string(),
            allowed: format!("{} ..= {}", range.start(), range.end()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str) -> Result<TerrainParams, ConfigError> {
        config::parse::<TerrainConfig>(text, "terrain.toml")?.validate("terrain.toml")
    }

    #[test]
    fn shipped_config_validates_to_a_moderate_field_of_every_kind() {
        let p = TerrainConfig::embedded().unwrap();
        assert_eq!(p.kinds, TerrainKind::ALL);
        assert_eq!((p.rows, p.cols, p.cells_per_tile()), (3, 12, 100));
        let (nx, ny) = p.field_samples();
        assert!(nx * ny < 500_000, "{nx} × {ny}");
        assert_eq!(
            [p.difficulty(0), p.difficulty(1), p.difficulty(2)],
            [0.0, 0.5, 1.0]
        );
    }

    #[test]
    fn out_of_range_values_name_key_and_range() {
        let cases = [
            (
                "cell_m = 0.05",
                "cell_m = 0.5",
                "`cell_m` = 0.5 is out of range: allowed 0.02 ..= 0.2",
            ),
            (
                "rows = 3",
                "rows = 0",
                "`rows` = 0 is out of range: allowed 1 ..= 30",
            ),
            (
                "tile_size_m = 5.0",
                "tile_size_m = 50.0",
                "`tile_size_m` = 50 is out of range: allowed 3 ..= 20",
            ),
            (
                "difficulty_max = 1.0",
                "difficulty_max = 1.5",
                "`difficulty_max` = 1.5 is out of range: allowed 0 ..= 1",
            ),
            (
                "border_m = 1.0",
                "border_m = 0.0",
                "`border_m` = 0 is out of range: allowed 0.5 ..= 20",
            ),
        ];
        for (from, to, expected) in cases {
            assert!(DEFAULT_TOML.contains(from), "{from}");
            let err = check(&DEFAULT_TOML.replace(from, to))
                .unwrap_err()
                .to_string();
            assert_eq!(err, format!("terrain.toml: {expected}"));
        }
    }

    #[test]
    fn unknown_kind_lists_allowed_names_and_unknown_key_is_rejected() {
        let err = check(&DEFAULT_TOML.replace("\"gaps\"", "\"gap\""))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("terrain.toml: `kinds`: ")
                && err.contains("unknown terrain kind `gap`: allowed flat, rough,"),
            "{err}"
        );
        let err = check(&format!("{DEFAULT_TOML}\nrow = 3\n"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("row"), "{err}");
        let err = check(&DEFAULT_TOML.replace("tile_size_m = 5.0", "tile_size_m = 5.01"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`tile_size_m` = 5.01") && err.contains("whole number"),
            "{err}"
        );
    }

    #[test]
    fn oversized_fields_are_refused_before_allocation() {
        let text = DEFAULT_TOML
            .replace("cell_m = 0.05", "cell_m = 0.02")
            .replace("tile_size_m = 5.0", "tile_size_m = 20.0")
            .replace("rows = 3", "rows = 30");
        let err = check(&text).unwrap_err().to_string();
        assert!(err.contains("`cell_m`") && err.contains("samples"), "{err}");
    }
}
