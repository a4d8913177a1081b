//! Terrain kinds and the difficulty curriculum: 15 levels over difficulty `0..=1`.

use super::TerrainError;

/// Number of curriculum levels. Level `l` has difficulty `l / (LEVELS - 1)`.
pub const LEVELS: usize = 15;

/// The curriculum level nearest to `difficulty`: `round(d * 14)`, with `d` clamped to `0..=1`
/// (NaN counts as 0).
#[must_use]
pub fn level_of(difficulty: f32) -> usize {
    let d = if difficulty.is_nan() {
        0.0
    } else {
        difficulty.clamp(0.0, 1.0)
    };
    // In 0..=14 after the clamp, so the cast is exact.
    (d * (LEVELS - 1) as f32).round() as usize
}

/// The difficulty of curriculum level `level`: `level / 14`, with `level` clamped to `0..=14`.
#[must_use]
pub fn difficulty_of(level: usize) -> f32 {
    level.min(LEVELS - 1) as f32 / (LEVELS - 1) as f32
}

/// What a tile holds. Every kind puts the robot's spawn spot at the tile centre; how each kind maps
/// difficulty to its physical figures is in [`super::TileShape::of`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TerrainKind {
    /// Level ground at height 0.
    Flat,
    /// Smooth random bumps everywhere (spawn included), amplitude growing with difficulty, fading
    /// to level at the tile edges.
    Rough,
    /// Crossed sine waves around a flat spawn square; zero at the tile edges.
    Waves,
    /// Inverted pyramid: the spawn square is the floor of a bowl; walking outwards goes up a
    /// slope to the tile edge at height 0.
    SlopeUp,
    /// Pyramid: the spawn square is the summit; walking outwards goes down a slope to the tile
    /// edge at height 0.
    SlopeDown,
    /// A square V-shaped moat: the robot starts on the flat top (height 0) of a square ridge;
    /// walking outwards in any direction it goes down a slope into the V's bottom, halfway to the
    /// tile edge, and up the far side to the edge at height 0.
    InvertedSlope,
    /// Inverted stair pyramid: the spawn square is the bottom of a pit; walking outwards climbs
    /// square rings of steps to the tile edge at height 0.
    StairsUp,
    /// Stair pyramid: the spawn square is the top; walking outwards descends square rings of steps
    /// to the tile edge at height 0.
    StairsDown,
    /// Square stones at height ~0 separated by pits, around a flat spawn square.
    SteppingStones,
    /// Randomly placed boxes of random height on level ground, around a clear spawn square.
    Boxes,
    /// A raised square platform under the spawn spot, with an edge to fall off.
    Platform,
    /// Concentric square trenches (pits) around the spawn square, separated by level rings.
    Gaps,
}

impl TerrainKind {
    /// Every kind, in declaration order.
    pub const ALL: [Self; 12] = [
        Self::Flat,
        Self::Rough,
        Self::Waves,
        Self::SlopeUp,
        Self::SlopeDown,
        Self::InvertedSlope,
        Self::StairsUp,
        Self::StairsDown,
        Self::SteppingStones,
        Self::Boxes,
        Self::Platform,
        Self::Gaps,
    ];

    /// The snake_case name used in configs and on the command line.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Flat => "flat",
            Self::Rough => "rough",
            Self::Waves => "waves",
            Self::SlopeUp => "slope_up",
            Self::SlopeDown => "slope_down",
            Self::InvertedSlope => "inverted_slope",
            Self::StairsUp => "stairs_up",
            Self::StairsDown => "stairs_down",
            Self::SteppingStones => "stepping_stones",
            Self::Boxes => "boxes",
            Self::Platform => "platform",
            Self::Gaps => "gaps",
        }
    }

    /// The kind named `name` (see [`Self::name`]).
    ///
    /// # Errors
    /// [`TerrainError::UnknownKind`] listing the allowed names.
    pub fn from_name(name: &str) -> Result<Self, TerrainError> {
        Self::ALL
            .into_iter()
            .find(|k| k.name() == name)
            .ok_or_else(|| TerrainError::UnknownKind {
                name: name.to_owned(),
                allowed: Self::names().join(", "),
            })
    }

    /// Every name, in the order of [`Self::ALL`].
    #[must_use]
    pub fn names() -> Vec<&'static str> {
        Self::ALL.iter().map(|k| k.name()).collect()
    }
}

impl std::fmt::Display for TerrainKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Configs and reports write a kind by its [`TerrainKind::name`].
impl serde::Serialize for TerrainKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// An unknown name is an error that lists the allowed ones.
impl<'de> serde::Deserialize<'de> for TerrainKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Self::from_name(&name).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_lists_choices() {
        for k in TerrainKind::ALL {
            assert_eq!(TerrainKind::from_name(k.name()).unwrap(), k);
        }
        assert_eq!(TerrainKind::StairsUp.name(), "stairs_up");
        let err = TerrainKind::from_name("stairs").unwrap_err().to_string();
        assert!(
            err.contains("`stairs`") && err.contains("stairs_up") && err.contains("gaps"),
            "{err}"
        );
    }

    #[test]
    fn difficulty_and_level_map_both_ways() {
        assert_eq!(level_of(0.0), 0);
        assert_eq!(level_of(1.0), 14);
        assert_eq!(level_of(0.5), 7);
        assert_eq!(level_of(0.25), 4, "3.5 rounds away from zero");
        assert_eq!(level_of(-3.0), 0);
        assert_eq!(level_of(7.0), 14);
        assert_eq!(level_of(f32::NAN), 0);
        for l in 0..LEVELS {
            assert_eq!(level_of(difficulty_of(l)), l);
        }
        assert_eq!(difficulty_of(14), 1.0);
        assert_eq!(difficulty_of(99), 1.0);
        assert!((difficulty_of(7) - 0.5).abs() < 1e-7);
    }
}
