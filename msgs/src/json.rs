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
#[derive(Serialize)]
#[serde(untagged)]
enum JsonFloat {
    Number(f64),
    Text(String),
}

/// Read by hand rather than derived with `#[serde(untagged)]`: untagged buffers whatever value it
/// is given (an array or object of any size, over 20 bytes per byte of text) before finding that
/// no variant matches; this visitor rejects anything but a number or a string at its first token.
impl<'de> Deserialize<'de> for JsonFloat {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(JsonFloatVisitor)
    }
}

struct JsonFloatVisitor;

impl Visitor<'_> for JsonFloatVisitor {
    type Value = JsonFloat;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(r#"a number, "NaN", "inf" or "-inf""#)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<JsonFloat, E> {
        Ok(JsonFloat::Number(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<JsonFloat, E> {
        Ok(JsonFloat::Number(v as f64))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<JsonFloat, E> {
        Ok(JsonFloat::Number(v as f64))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<JsonFloat, E> {
        Ok(JsonFloat::Text(v.to_owned()))
    }
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

    /// Fills the array item by item: collecting the items first allocated over 20 bytes per byte
    /// of text for an over-long list. Items past the N-th are skipped unparsed (serde's
    /// `IgnoredAny` allocates nothing) and only counted, for the error message.
    struct ExactVisitor<const N: usize>;

    impl<'de, const N: usize> Visitor<'de> for ExactVisitor<N> {
        type Value = [::core::primitive::f32; N];

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            write!(f, "{N} numbers")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut out = [0.0; N];
            for (i, o) in out.iter_mut().enumerate() {
                match seq.next_element::<JsonFloat>()? {
                    Some(item) => *o = from_json(item)?,
                    None => return Err(de::Error::invalid_length(i, &self)),
                }
            }
            let mut len = N;
            while seq.next_element::<de::IgnoredAny>()?.is_some() {
                len += 1;
            }
            if len != N {
                return Err(de::Error::invalid_length(len, &self));
            }
            Ok(out)
        }
    }

    /// Deserialises exactly N floats.
    ///
    /// # Errors
    /// Wrong count or a non-number.
    pub fn deserialize<'de, D: Deserializer<'de>, const N: usize>(
        d: D,
    ) -> Result<[::core::primitive::f32; N], D::Error> {
        d.deserialize_seq(ExactVisitor::<N>)
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
