//! Two-stage typed configuration: file -> plain struct -> `validate()` -> checked parameters.
//!
//! ```
//! use serde::Deserialize;
//! use vigor_common::config::{self, ConfigError, Validate};
//!
//! /// What the file says.
//! #[derive(Debug, Deserialize)]
//! #[serde(deny_unknown_fields)]
//! struct Loop {
//!     /// Control rate in Hz; 1..=1000.
//!     rate_hz: f64,
//! }
//!
//! /// What the program uses.
//! struct LoopParams {
//!     dt_s: f64,
//! }
//!
//! impl Validate for Loop {
//!     type Checked = LoopParams;
//!     fn validate(&self, file: &str) -> Result<LoopParams, ConfigError> {
//!         config::check_range(file, "rate_hz", self.rate_hz, 1.0, 1000.0)?;
//!         Ok(LoopParams { dt_s: 1.0 / self.rate_hz })
//!     }
//! }
//!
//! let raw: Loop = config::parse("rate_hz = 500.0", "loop.toml").unwrap();
//! assert_eq!(raw.validate("loop.toml").unwrap().dt_s, 0.002);
//! let err = config::parse::<Loop>("rate_hz = 0.0", "loop.toml")
//!     .and_then(|raw| raw.validate("loop.toml").map(|_| ()))
//!     .unwrap_err();
//! assert_eq!(err.to_string(), "loop.toml: `rate_hz` = 0 is out of range: allowed 1 ..= 1000");
//! ```

use std::fmt::Display;
use std::path::Path;

use serde::de::DeserializeOwned;

/// A configuration that can be checked into runtime parameters.
pub trait Validate {
    /// The checked parameters, with derived values (periods, decimations, ...).
    type Checked;

    /// Checks every field; `file` is the name used in errors (path or `<embedded ...>`).
    ///
    /// # Errors
    /// The first field that is out of range or inconsistent, naming `file` and the key.
    fn validate(&self, file: &str) -> Result<Self::Checked, ConfigError>;
}

/// Why a configuration could not be used. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{file}: cannot read: {source}")]
    Io {
        /// The file.
        file: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML or does not match the schema (unknown key, wrong type, missing
    /// key); the message carries toml's line, column and key.
    #[error("{file}: {message}")]
    Parse {
        /// The file.
        file: String,
        /// toml's description, with location and key.
        message: String,
    },
    /// A value lies outside its allowed range.
    #[error("{file}: `{key}` = {value} is out of range: allowed {allowed}")]
    OutOfRange {
        /// The file.
        file: String,
        /// Dotted key, e.g. `watchdog.lowstate_stale_periods`.
        key: String,
        /// The value found, as written.
        value: String,
        /// The allowed range or set, e.g. `1 ..= 1000`.
        allowed: String,
    },
    /// Values that are each valid but do not fit together.
    #[error("{file}: `{key}`: {message}")]
    Inconsistent {
        /// The file.
        file: String,
        /// The key to change.
        key: String,
        /// What does not fit, and how to fix it.
        message: String,
    },
}

impl ConfigError {
    /// The file this error is about.
    #[must_use]
    pub fn file(&self) -> &str {
        match self {
            Self::Io { file, .. }
            | Self::Parse { file, .. }
            | Self::OutOfRange { file, .. }
            | Self::Inconsistent { file, .. } => file,
        }
    }
}

/// Parses TOML text into `T`; `file` names the source in errors.
///
/// # Errors
/// [`ConfigError::Parse`] with toml's location and key.
pub fn parse<T: DeserializeOwned>(text: &str, file: &str) -> Result<T, ConfigError> {
    toml::from_str(text).map_err(|e| {
        let message = e.to_string().trim_end().replace('\n', "\n  ");
        // toml locates the value but does not name its table: prefix the dotted key.
        let key = e.span().and_then(|s| key_at(text, s.start));
        ConfigError::Parse {
            file: file.to_owned(),
            message: match key {
                Some(k) => format!("`{k}`: {message}"),
                None => message,
            },
        }
    })
}

/// The dotted key whose value holds byte `at` of `text`: the nearest `key =` line at or above it
/// within the nearest `[table]` header above it. For files written one key per line, as every
/// shipped config is; `None` where no key is found.
fn key_at(text: &str, at: usize) -> Option<String> {
    let bare = |k: &str| {
        !k.is_empty()
            && k.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    };
    let end = text.get(at..)?.find('\n').map_or(text.len(), |n| at + n);
    let mut key: Option<&str> = None;
    for line in text[..end].lines().rev() {
        let l = line.trim();
        if let Some(table) = l
            .strip_prefix('[')
            .and_then(|t| t.strip_suffix(']'))
            .map(|t| t.trim_matches(|c| c == '[' || c == ']').trim())
            .filter(|t| bare(t))
        {
            return Some(key.map_or_else(|| table.to_owned(), |k| format!("{table}.{k}")));
        }
        if key.is_none()
            && !l.starts_with('#')
            && let Some((k, _)) = l.split_once('=')
            && bare(k.trim())
        {
            key = Some(k.trim());
        }
    }
    key.map(str::to_owned)
}

/// Reads and parses a TOML file into `T`.
///
/// # Errors
/// [`ConfigError::Io`] or [`ConfigError::Parse`], naming the path.
pub fn load<T: DeserializeOwned>(path: &Path) -> Result<T, ConfigError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
        file: file.clone(),
        source,
    })?;
    parse(&text, &file)
}

/// Reads, parses and validates a file in one call.
///
/// # Errors
/// Any [`ConfigError`], naming the path.
pub fn load_checked<T: DeserializeOwned + Validate>(
    path: &Path,
) -> Result<T::Checked, ConfigError> {
    let raw: T = load(path)?;
    raw.validate(&path.display().to_string())
}

/// Checks `min <= value <= max` (NaN fails).
///
/// # Errors
/// [`ConfigError::OutOfRange`] naming `file`, `key` and the range.
pub fn check_range<V: PartialOrd + Display>(
    file: &str,
    key: &str,
    value: V,
    min: V,
    max: V,
) -> Result<(), ConfigError> {
    if value >= min && value <= max {
        Ok(())
    } else {
        Err(ConfigError::OutOfRange {
            file: file.to_owned(),
            key: key.to_owned(),
            value: value.to_string(),
            allowed: format!("{min} ..= {max}"),
        })
    }
}

/// Checks that `value` is one of `allowed`.
///
/// # Errors
/// [`ConfigError::OutOfRange`] listing the allowed values.
pub fn check_one_of<V: PartialEq + Display>(
    file: &str,
    key: &str,
    value: &V,
    allowed: &[V],
) -> Result<(), ConfigError> {
    if allowed.contains(value) {
        Ok(())
    } else {
        let list: Vec<String> = allowed.iter().map(ToString::to_string).collect();
        Err(ConfigError::OutOfRange {
            file: file.to_owned(),
            key: key.to_owned(),
            value: value.to_string(),
            allowed: format!("one of {}", list.join(", ")),
        })
    }
}

/// Builds a [`ConfigError::Inconsistent`].
#[must_use]
pub fn inconsistent(file: &str, key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::Inconsistent {
        file: file.to_owned(),
        key: key.to_owned(),
        message: message.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Sample {
        rate_hz: f64,
        #[serde(default)]
        name: String,
    }

    #[test]
    fn unknown_key_is_rejected_with_file_and_key() {
        let err = parse::<Sample>("rate_hz = 1.0\nrte_hz = 2.0\n", "x.toml").unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("x.toml: "), "{text}");
        assert!(text.contains("rte_hz"), "{text}");
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Nested {
        seed: u64,
        sim: Engine,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Engine {
        engine: Kind,
        #[serde(default)]
        kinds: Vec<Kind>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "lowercase")]
    enum Kind {
        Rapier,
        Mujoco,
    }

    #[test]
    fn an_unknown_name_in_a_table_is_named_by_its_dotted_key_and_the_allowed_names() {
        let ok =
            "seed = 1\n\n[sim]\n# comment = x\nengine = \"mujoco\"\nkinds = [\n  \"rapier\",\n]\n";
        let n: Nested = parse(ok, "x.toml").unwrap();
        assert!(matches!(n.sim.engine, Kind::Mujoco) && n.seed == 1);
        assert!(matches!(n.sim.kinds[..], [Kind::Rapier]));
        let err = parse::<Nested>(&ok.replace("\"mujoco\"", "\"bullet\""), "x.toml")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("x.toml: `sim.engine`: "), "{err}");
        assert!(err.contains("bullet") && err.contains("mujoco"), "{err}");
        // A value on a continuation line of an array belongs to the key above it.
        let err = parse::<Nested>(&ok.replace("\"rapier\",\n", "\"ode\",\n"), "x.toml")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("x.toml: `sim.kinds`: "), "{err}");
        let err = parse::<Nested>("seed = \"one\"\n[sim]\nengine = \"rapier\"\n", "x.toml")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("x.toml: `seed`: "), "{err}");
    }

    #[test]
    fn wrong_type_names_the_key() {
        let err = parse::<Sample>("rate_hz = \"fast\"\n", "x.toml").unwrap_err();
        assert!(err.to_string().contains("rate_hz"), "{err}");
    }

    #[test]
    fn nan_is_out_of_range() {
        let err = check_range("f.toml", "a.b", f64::NAN, 0.0, 1.0).unwrap_err();
        assert_eq!(
            err.to_string(),
            "f.toml: `a.b` = NaN is out of range: allowed 0 ..= 1"
        );
    }

    #[test]
    fn one_of_lists_choices() {
        let err = check_one_of("f.toml", "mode", &"fast", &["slow", "steady"]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "f.toml: `mode` = fast is out of range: allowed one of slow, steady"
        );
    }

    #[test]
    fn load_names_missing_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing.toml");
        let err = load::<Sample>(&path).unwrap_err();
        assert_eq!(err.file(), path.display().to_string());
        let ok_path = dir.path().join("ok.toml");
        std::fs::write(&ok_path, "rate_hz = 3.0\nname = \"a\"\n").unwrap();
        let sample: Sample = load(&ok_path).unwrap();
        assert_eq!((sample.rate_hz, sample.name.as_str()), (3.0, "a"));
    }
}
