//! serde helpers for the JSON form of messages (the `vigor msgs` and `vigor topic` tools).
//!
//! - Floats: finite values are JSON numbers (shortest form that reads back to the same `f32`);
//!   non-finite values, which JSON cannot carry, are the strings `"NaN"`, `"inf"` and `"-inf"`, so
//!   a captured frame with a NaN still round-trips through JSON (NaN payload bits become the
//!   canonical quiet NaN).
//! - Fixed arrays longer than serde's built-in 32: written in full; read from a list of at most N
//!   entries, the rest left at their default, so hand-written input can name only the motors it
//!   uses.

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::ser::{SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};

/// A float as JSON sees it.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum JsonFloat {
    Number(f64),
    Text(String),
}

fn to_json(v: f32) -> JsonFloat {
    if v.is_nan() {
        JsonFloat::Text("NaN".into())
    } else if v.is_infinite() {
        JsonFloat::Text(if v > 0.0 { "inf" } else { "-inf" }.into())
    } else {
        JsonFloat::Number(f64::from(v))
    }
}

fn from_json<E: de::Error>(v: JsonFloat) -> Result<f32, E> {
    match v {
        // f32 -> f64 -> decimal -> f64 -> f32 is exact: f64 carries more than 2 * 24 + 2 bits.
        JsonFloat::Number(x) => {
            let y = x as f32;
            if y.is_finite() || !x.is_finite() {
                Ok(y)
            } else {
                Err(E::custom(format!("{x} does not fit in an f32")))
            }
        }
        JsonFloat::Text(s) => match s.as_str() {
            "NaN" | "nan" => Ok(f32::NAN),
            "inf" | "+inf" | "Infinity" => Ok(f32::INFINITY),
            "-inf" | "-Infinity" => Ok(f32::NEG_INFINITY),
            _ => Err(E::custom(format!(
                "expected a number, \"NaN\", \"inf\" or \"-inf\", got \"{s}\""
            ))),
        },
    }
}

/// `#[serde(with = "json::f32")]` for a single float.
pub mod f32 {
    use super::*;

    /// Serialises a float (non-finite as a string).
    ///
    /// # Errors
    /// The serializer's own errors.
    pub fn serialize<S: Serializer>(v: &::core::primitive::f32, s: S) -> Result<S::Ok, S::Error> {
        to_json(*v).serialize(s)
    }

    /// Deserialises a float written by [`serialize`] or as any JSON number.
    ///
    /// # Errors
    /// Not a number or one of the non-finite strings.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<::core::primitive::f32, D::Error> {
        from_json(JsonFloat::deserialize(d)?)
    }
}

/// `#[serde(with = "json::f32_array")]` for `[f32; N]` (exactly N entries).
pub mod f32_array {
    use super::*;

    /// Serialises each float (non-finite as strings).
    ///
    /// # Errors
    /// The serializer's own errors.
    pub fn serialize<S: Serializer, const N: usize>(
        v: &[::core::primitive::f32; N],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(N))?;
        for x in v {
            seq.serialize_element(&to_json(*x))?;
        }
        seq.end()
    }

    /// Deserialises exactly N floats.
    ///
    /// # Errors
    /// Wrong count or a non-number.
    pub fn deserialize<'de, D: Deserializer<'de>, const N: usize>(
        d: D,
    ) -> Result<[::core::primitive::f32; N], D::Error> {
        let items = Vec::<JsonFloat>::deserialize(d)?;
        if items.len() != N {
            return Err(de::Error::invalid_length(
                items.len(),
                &format!("{N} numbers").as_str(),
            ));
        }
        let mut out = [0.0; N];
        for (o, item) in out.iter_mut().zip(items) {
            *o = from_json(item)?;
        }
        Ok(out)
    }
}

/// `#[serde(with = "json::padded_array")]` for `[T; N]` with N > 32: at most N entries are read,
/// missing trailing entries are `T::default()`.
pub mod padded_array {
    use super::*;
    use std::marker::PhantomData;

    /// Serialises all N entries.
    ///
    /// # Errors
    /// The serializer's own errors.
    pub fn serialize<S: Serializer, T: Serialize, const N: usize>(
        v: &[T; N],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(N))?;
        for x in v {
            seq.serialize_element(x)?;
        }
        seq.end()
    }

    struct PaddedVisitor<T, const N: usize>(PhantomData<T>);

    impl<'de, T: Deserialize<'de> + Default, const N: usize> Visitor<'de> for PaddedVisitor<T, N> {
        type Value = [T; N];

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            write!(f, "a list of at most {N} entries")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<[T; N], A::Error> {
            let mut out: [T; N] = std::array::from_fn(|_| T::default());
            let mut i = 0;
            while let Some(item) = seq.next_element::<T>()? {
                match out.get_mut(i) {
                    Some(slot) => *slot = item,
                    None => {
                        return Err(de::Error::invalid_length(i + 1, &self));
                    }
                }
                i += 1;
            }
            Ok(out)
        }
    }

    /// Deserialises at most N entries, padding with defaults.
    ///
    /// # Errors
    /// More than N entries, or an entry that does not parse.
    pub fn deserialize<'de, D: Deserializer<'de>, T: Deserialize<'de> + Default, const N: usize>(
        d: D,
    ) -> Result<[T; N], D::Error> {
        d.deserialize_seq(PaddedVisitor::<T, N>(PhantomData))
    }
}
