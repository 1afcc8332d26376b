//! Serde helpers the generated types use, so that decoding agrees with JSON Schema.
//!
//! Two places where serde's defaults and JSON Schema disagree:
//! - `null` for an optional request parameter: serde reads `None`, the schema (which
//!   says `"type": "string"`) rejects it. Requests use [`present`] to reject it too.
//! - `5.0` for an integer: JSON Schema (draft 6 and later) calls it an integer, serde
//!   refuses it. [`integer`] accepts any number with no fractional part.
//!
//! Responses are read leniently instead: [`null_as_default`] lets a server send
//! `null` for a list.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, Visitor};

/// Reads an optional field that, when present, must hold a value (not `null`).
pub fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

/// Reads an integer the way JSON Schema counts integers: `5` and `5.0` both are.
pub fn integer<'de, D>(deserializer: D) -> Result<i64, D::Error>
where
    D: Deserializer<'de>,
{
    deserializer.deserialize_any(IntegerVisitor)
}

/// [`integer`] for an optional field that, when present, must hold a value.
pub fn present_integer<'de, D>(deserializer: D) -> Result<Option<i64>, D::Error>
where
    D: Deserializer<'de>,
{
    integer(deserializer).map(Some)
}

/// Reads a list of integers the way JSON Schema counts integers: `[5, 6.0]` is `[5, 6]`.
pub fn integers<'de, D>(deserializer: D) -> Result<Vec<i64>, D::Error>
where
    D: Deserializer<'de>,
{
    Vec::<Whole>::deserialize(deserializer)
        .map(|items| items.into_iter().map(|Whole(n)| n).collect())
}

/// [`integers`] for an optional field that, when present, must hold a value.
pub fn present_integers<'de, D>(deserializer: D) -> Result<Option<Vec<i64>>, D::Error>
where
    D: Deserializer<'de>,
{
    integers(deserializer).map(Some)
}

/// One item of [`integers`].
struct Whole(i64);

impl<'de> Deserialize<'de> for Whole {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        integer(deserializer).map(Whole)
    }
}

/// Reads `null` as the type's default (an empty list), anything else as usual.
pub fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Option::<T>::deserialize(deserializer).map(Option::unwrap_or_default)
}

struct IntegerVisitor;

impl Visitor<'_> for IntegerVisitor {
    type Value = i64;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("an integer")
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<i64, E> {
        Ok(value)
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<i64, E> {
        i64::try_from(value).map_err(|_| E::invalid_value(de::Unexpected::Unsigned(value), &self))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<i64, E> {
        // The range check keeps the cast exact: every integral f64 in it is an i64.
        if value.fract() == 0.0 && (-9.2e18..9.2e18).contains(&value) {
            Ok(value as i64)
        } else {
            Err(E::invalid_value(de::Unexpected::Float(value), &self))
        }
    }
}
