//! [`Terrain`]: the tile grid as one height field, with per-tile metadata and surface queries.
//!
//! # Layout
//! Rows run along x, columns along y. Tile `(row, col)` covers
//! `x in [grid_min_x + row·L, grid_min_x + (row+1)·L)`, `y in [grid_min_y + col·L, ...)`, with the
//! grid (border excluded) centred on the world origin: `grid_min = -(rows·L/2, cols·L/2)`. The
//! height field adds a flat border of `border_m` (height [`BORDER_HEIGHT_M`]) on every side, so
//! its sample `(0, 0)` is at `grid_min - border_m`. A tile owns the `n × n` samples
//! (`n = L / cell_m`) from its min corner inclusive to its max edge exclusive; the sample on its
//! max edge belongs to the next tile or to the border.

use vigor_common::seed::derive;

use super::{HeightField, TerrainError, TerrainKind, TerrainParams, TileShape, level_of};

/// Height of the border and of everything beyond the field, m.
pub const BORDER_HEIGHT_M: f32 = 0.0;
/// Border around a [`Terrain::single`] tile, m (rounded up to whole cells).
pub const SINGLE_BORDER_M: f32 = 1.0;

/// The seed of tile `(row, col)` under terrain seed `seed`.
#[must_use]
pub fn tile_seed(seed: u64, row: usize, col: usize) -> u64 {
    derive(seed, "terrain_tile", ((row as u64) << 32) | col as u64)
}

/// An axis-aligned rectangle in the xy plane, m: `min_xy` inclusive, `max_xy` exclusive.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    /// Lower corner.
    pub min_xy: [f32; 2],
    /// Upper corner.
    pub max_xy: [f32; 2],
}

impl Rect {
    /// Whether `(x, y)` lies inside (lower edges included, upper excluded).
    #[must_use]
    pub fn contains(&self, x: f32, y: f32) -> bool {
        (self.min_xy[0]..self.max_xy[0]).contains(&x)
            && (self.min_xy[1]..self.max_xy[1]).contains(&y)
    }
}

/// What one tile holds and where.
#[derive(Debug, Clone, PartialEq)]
pub struct TileInfo {
    /// Row (difficulty index, along x).
    pub row: usize,
    /// Column (kind index, along y).
    pub col: usize,
    /// Kind.
    pub kind: TerrainKind,
    /// Nearest curriculum level of `difficulty` ([`level_of`]).
    pub level: usize,
    /// Difficulty the tile was generated with, `0..=1`.
    pub difficulty: f32,
    /// Seed of the tile's random layout ([`tile_seed`]).
    pub seed: u64,
    /// Tile centre, the spawn spot, m.
    pub centre_xy: [f32; 2],
    /// Tile footprint, m.
    pub bounds: Rect,
}

impl TileInfo {
    /// The physical figures of this tile.
    #[must_use]
    pub fn shape(&self) -> TileShape {
        TileShape::of(self.kind, self.difficulty)
    }
}

/// A generated terrain: the height field and its tiles. Cheap to query from many threads.
#[derive(Debug, Clone, PartialEq)]
pub struct Terrain {
    field: HeightField,
    tiles: Vec<TileInfo>,
    rows: usize,
    cols: usize,
    tile_size_m: f32,
    grid_min_xy: [f32; 2],
    seed: u64,
}

impl Terrain {
    /// Generates the grid described by `params`.
    ///
    /// # Errors
    /// [`TerrainError::InvalidParameter`] if `params` fails [`TerrainParams::check`].
    pub fn generate(params: &TerrainParams) -> Result<Self, TerrainError> {
        params.check()?;
        let (n, b) = (params.cells_per_tile(), params.border_cells());
        let c = params.cell_m;
        let (nx, ny) = params.field_samples();
        let tile_m = n as f32 * c;
        let grid_min_xy = [
            -0.5 * params.rows as f32 * tile_m,
            -0.5 * params.cols as f32 * tile_m,
        ];
        let origin_xy = [grid_min_xy[0] - b as f32 * c, grid_min_xy[1] - b as f32 * c];
        let mut heights = vec![BORDER_HEIGHT_M; nx * ny];
        let mut tiles = Vec::with_capacity(params.rows * params.cols);
        let half = 0.5 * tile_m;
        for row in 0..params.rows {
            for col in 0..params.cols {
                let kind = params.kind(col);
                let difficulty = params.difficulty(row);
                let seed = tile_seed(params.seed, row, col);
                let shape = TileShape::of(kind, difficulty);
                let (ix0, iy0) = (b + row * n, b + col * n);
                for i in 0..n {
                    // Offsets from the tile centre in whole cells, then metres: exact and symmetric.
                    let u = (i as f32 - 0.5 * n as f32) * c;
                    let start = (ix0 + i) * ny + iy0;
                    for (j, h) in heights[start..start + n].iter_mut().enumerate() {
                        let v = (j as f32 - 0.5 * n as f32) * c;
                        *h = shape.height(seed, half, u, v);
                    }
                }
                let min_xy = [
                    grid_min_xy[0] + row as f32 * tile_m,
                    grid_min_xy[1] + col as f32 * tile_m,
                ];
                tiles.push(TileInfo {
                    row,
                    col,
                    kind,
                    level: level_of(difficulty),
                    difficulty,
                    seed,
                    centre_xy: [min_xy[0] + half, min_xy[1] + half],
                    bounds: Rect {
                        min_xy,
                        max_xy: [min_xy[0] + tile_m, min_xy[1] + tile_m],
                    },
                });
            }
        }
        Ok(Self {
            field: HeightField::new(nx, ny, c, origin_xy, heights)?,
            tiles,
            rows: params.rows,
            cols: params.cols,
            tile_size_m: tile_m,
            grid_min_xy,
            seed: params.seed,
        })
    }

    /// A one-tile world centred on the origin (spawn at `(0, 0)`) inside a [`SINGLE_BORDER_M`]
    /// flat border, as scenarios use. Its random layout is tile `(0, 0)` of seed `seed`.
    ///
    /// # Errors
    /// [`TerrainError::InvalidParameter`] for a difficulty outside `0..=1`, a tile size or cell
    /// size out of range, or a tile size that is not a whole number of cells.
    pub fn single(
        kind: TerrainKind,
        difficulty: f32,
        seed: u64,
        tile_size_m: f32,
        cell_m: f32,
    ) -> Result<Self, TerrainError> {
        let border_cells = if cell_m > 0.0 {
            (SINGLE_BORDER_M / cell_m).ceil()
        } else {
            1.0
        };
        Self::generate(&TerrainParams {
            seed,
            tile_size_m,
            cell_m,
            rows: 1,
            cols: 1,
            kinds: vec![kind],
            border_m: border_cells * cell_m,
            difficulty_min: difficulty,
            difficulty_max: difficulty,
        })
    }

    /// The terrain seed this grid was generated from: the same parameters with it give the same
    /// grid (an episode's tile keeps its pool entry's seed, not one from the episode's own).
    #[must_use]
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The height field.
    #[must_use]
    pub fn field(&self) -> &HeightField {
        &self.field
    }
    /// Every tile, row-major: tile `(row, col)` at `row * cols + col`.
    #[must_use]
    pub fn tiles(&self) -> &[TileInfo] {
        &self.tiles
    }
    /// Tile rows (along x).
    #[must_use]
    pub fn rows(&self) -> usize {
        self.rows
    }
    /// Tile columns (along y).
    #[must_use]
    pub fn cols(&self) -> usize {
        self.cols
    }
    /// Tile side, m.
    #[must_use]
    pub fn tile_size_m(&self) -> f32 {
        self.tile_size_m
    }
    /// Footprint of the tile grid, border excluded, m.
    #[must_use]
    pub fn grid_bounds(&self) -> Rect {
        Rect {
            min_xy: self.grid_min_xy,
            max_xy: [
                self.grid_min_xy[0] + self.rows as f32 * self.tile_size_m,
                self.grid_min_xy[1] + self.cols as f32 * self.tile_size_m,
            ],
        }
    }
    /// Tile `(row, col)`, if it exists.
    #[must_use]
    pub fn tile(&self, row: usize, col: usize) -> Option<&TileInfo> {
        (row < self.rows && col < self.cols).then(|| &self.tiles[row * self.cols + col])
    }
    /// The tile under `(x, y)`; `None` over the border or beyond.
    #[must_use]
    pub fn tile_at(&self, x: f32, y: f32) -> Option<&TileInfo> {
        let r = ((x - self.grid_min_xy[0]) / self.tile_size_m).floor();
        let c = ((y - self.grid_min_xy[1]) / self.tile_size_m).floor();
        if r < 0.0 || c < 0.0 {
            return None;
        }
        self.tile(r as usize, c as usize)
    }

    /// Ground height at `(x, y)`, m. Beyond the field it is [`BORDER_HEIGHT_M`] (the field's edge
    /// samples lie in the flat border, so clamping onto the edge gives exactly that).
    #[must_use]
    pub fn height(&self, x: f32, y: f32) -> f32 {
        self.field.height(x, y)
    }

    /// Unit upward ground normal at `(x, y)` (z > 0); `(0, 0, 1)` beyond the field.
    #[must_use]
    pub fn normal(&self, x: f32, y: f32) -> [f32; 3] {
        if self.field.contains_xy(x, y) {
            self.field.normal(x, y)
        } else {
            [0.0, 0.0, 1.0]
        }
    }

    /// Distance along `dir` to the first hit of the ground within `max_dist`, m: the field's
    /// triangulated surface ([`HeightField::raycast`]), and beyond its footprint the border plane
    /// `z = BORDER_HEIGHT_M`, consistent with [`Self::height`].
    #[must_use]
    pub fn raycast(&self, origin: [f32; 3], dir: [f32; 3], max_dist: f32) -> Option<f32> {
        if let Some(t) = self.field.raycast(origin, dir, max_dist) {
            return Some(t);
        }
        let len = (dir[0] * dir[0] + dir[1] * dir[1] + dir[2] * dir[2]).sqrt();
        if !(len > 0.0 && dir[2] != 0.0) {
            return None;
        }
        let t = (BORDER_HEIGHT_M - origin[2]) * len / dir[2];
        let (x, y) = (origin[0] + t * dir[0] / len, origin[1] + t * dir[1] / len);
        (t >= 0.0 && t <= max_dist && !self.field.contains_xy(x, y)).then_some(t)
    }

    /// The field's triangle mesh ([`HeightField::mesh`]), for visualisation.
    #[must_use]
    pub fn mesh(&self) -> (Vec<[f32; 3]>, Vec<[u32; 3]>) {
        self.field.mesh()
    }
}

#[cfg(test)]
mod tests {
    use super::super::TerrainConfig;
    use super::*;

    fn small(seed: u64) -> TerrainParams {
        TerrainParams {
            seed,
            tile_size_m: 4.0,
            cell_m: 0.1,
            rows: 3,
            cols: 12,
            kinds: TerrainKind::ALL.to_vec(),
            border_m: 1.0,
            difficulty_min: 0.0,
            difficulty_max: 1.0,
        }
    }

    #[test]
    fn tile_centres_map_back_to_their_tile_and_the_border_to_none() {
        let t = Terrain::generate(&small(0)).unwrap();
        assert_eq!(t.tiles().len(), 36);
        for tile in t.tiles() {
            let [x, y] = tile.centre_xy;
            assert_eq!(t.tile_at(x, y), Some(tile));
            assert!(tile.bounds.contains(x, y));
            assert_eq!(tile.kind, TerrainKind::ALL[tile.col]);
            assert_eq!(t.tile(tile.row, tile.col), Some(tile));
        }
        assert_eq!(
            t.tile(2, 11).map(|t| (t.level, t.difficulty)),
            Some((14, 1.0))
        );
        assert_eq!(t.tile(1, 0).map(|t| t.level), Some(7));
        // The grid is centred on the origin; the border is 1 m wide.
        assert_eq!(t.tile_at(0.0, 0.0).map(|t| (t.row, t.col)), Some((1, 6)));
        assert_eq!(t.tile_at(-6.5, 0.0), None);
        assert_eq!(t.tile_at(0.0, 24.5), None);
        assert_eq!(t.field().origin_xy(), [-7.0, -25.0]);
        assert_eq!((t.field().nx(), t.field().ny()), (141, 501));
    }

    #[test]
    fn same_seed_is_bit_identical_and_other_seeds_change_random_kinds_only() {
        let a = Terrain::generate(&small(7)).unwrap();
        let b = Terrain::generate(&small(7)).unwrap();
        assert!(
            a.field()
                .heights()
                .iter()
                .zip(b.field().heights())
                .all(|(x, y)| x.to_bits() == y.to_bits())
        );
        let c = Terrain::generate(&small(8)).unwrap();
        for tile in a.tiles() {
            let differs = sample_tile(&a, tile) != sample_tile(&c, tile);
            let random = matches!(
                tile.kind,
                TerrainKind::Rough | TerrainKind::SteppingStones | TerrainKind::Boxes
            );
            assert_eq!(differs, random, "{} at level {}", tile.kind, tile.level);
        }
    }

    fn sample_tile(t: &Terrain, tile: &TileInfo) -> Vec<u32> {
        // Points strictly inside the tile's own cells (its last cells reach the next tile's samples).
        let mut out = Vec::new();
        for i in 0..39 {
            for j in 0..39 {
                let x = tile.bounds.min_xy[0] + 0.1 * i as f32 + 0.03;
                let y = tile.bounds.min_xy[1] + 0.1 * j as f32 + 0.03;
                out.push(t.height(x, y).to_bits());
            }
        }
        out
    }

    #[test]
    fn tile_content_does_not_depend_on_its_neighbours() {
        // Tile (1, 2) of a 3-column grid equals tile (1, 2) of a 12-column grid: same seed stream.
        let mut p = small(3);
        p.kinds = vec![TerrainKind::Boxes];
        p.cols = 3;
        let narrow = Terrain::generate(&p).unwrap();
        p.cols = 12;
        let wide = Terrain::generate(&p).unwrap();
        let (a, b) = (narrow.tile(1, 2).unwrap(), wide.tile(1, 2).unwrap());
        assert_eq!(a.seed, b.seed);
        // Both grids put tile (1, 2) at the same sample indices (10 border cells, 40 per tile).
        let mut boxes = 0;
        for ix in 50..90 {
            for iy in 90..130 {
                let (h1, h2) = (narrow.field().at(ix, iy), wide.field().at(ix, iy));
                assert_eq!(h1.to_bits(), h2.to_bits(), "({ix}, {iy})");
                boxes += usize::from(h1 > 0.0);
            }
        }
        assert!(boxes > 100, "the tile holds boxes: {boxes} samples raised");
    }

    #[test]
    fn raycast_beyond_the_field_hits_the_border_plane_and_agrees_with_height() {
        let t = Terrain::single(TerrainKind::Flat, 0.0, 0, 4.0, 0.1).unwrap();
        let d = [1.0, 0.0, -0.1];
        let hit = t.raycast([0.0, 0.0, 1.0], d, 100.0).unwrap();
        assert!((hit - 1.0 * (1.0_f32 + 100.0).sqrt()).abs() < 1e-3, "{hit}");
        assert_eq!(t.height(50.0, -80.0), BORDER_HEIGHT_M);
        assert_eq!(t.normal(50.0, -80.0), [0.0, 0.0, 1.0]);
        assert_eq!(t.raycast([0.0, 0.0, 1.0], [1.0, 0.0, 0.1], 100.0), None);
    }

    #[test]
    fn shipped_grid_generates_with_every_kind_in_range() {
        let t = Terrain::generate(&TerrainConfig::embedded().unwrap()).unwrap();
        let (lo, hi) = t.field().height_range();
        assert!(lo >= -1.5 && hi <= 1.5, "{lo}..{hi}");
        for tile in t.tiles() {
            let [x, y] = tile.centre_xy;
            let n = t.normal(x, y);
            // Every spawn spot but rough ground is level.
            if tile.kind != TerrainKind::Rough {
                assert!(n[2] > 0.9999, "{} level {}: {n:?}", tile.kind, tile.level);
            }
        }
    }
}
