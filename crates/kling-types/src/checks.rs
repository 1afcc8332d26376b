//! The checks that generated `validate()` functions call, one per kind of JSON Schema
//! constraint, so that every model words its problems the same way.
//!
//! Under `__private`: code generated outside this crate (the generator's test
//! fixtures) calls them too; users never need them directly.

use crate::Validation;
use crate::params::plural;
pub use crate::params::{Bounds, Length};
use crate::validation::Finding;

/// Checks a number against its bounds.
///
/// ```
/// use kling_types::Bounds;
/// use kling_types::__private::checks::number;
/// let mut validation = kling_types::Validation::new();
/// number(&mut validation, "cfgScale", 1.5, &Bounds { minimum: Some(0.0), maximum: Some(1.0), ..Bounds::default() });
/// assert_eq!(validation.problems()[0].message, "is 1.5 but must be between 0 and 1");
/// ```
pub fn number(validation: &mut Validation, field: &str, value: f64, bounds: &Bounds) {
    if !bounds.admits(value) {
        validation.problem(field, format!("is {value} but must be {}", bounds));
    }
}

/// Checks the length of a string, in characters (Unicode scalar values, as JSON Schema counts).
///
/// ```
/// let mut validation = kling_types::Validation::new();
/// kling_types::__private::checks::string_length(&mut validation, "prompt", "", Some(1), Some(2500));
/// assert_eq!(validation.problems()[0].message, "is empty but needs at least 1 character");
/// ```
pub fn string_length(
    validation: &mut Validation,
    field: &str,
    value: &str,
    min: Option<u64>,
    max: Option<u64>,
) {
    let length = value.chars().count() as u64;
    if let Some(min) = min.filter(|&min| length < min) {
        let message = match length {
            0 => format!("is empty but needs at least {}", plural(min, "character")),
            _ => format!(
                "has {} but needs at least {min}",
                plural(length, "character")
            ),
        };
        validation.problem(field, message);
    }
    if let Some(max) = max.filter(|&max| length > max) {
        validation.problem(
            field,
            format!(
                "has {} but may have at most {max}: shorten it by {}",
                plural(length, "character"),
                length - max
            ),
        );
    }
}

/// Checks the number of items of an array.
///
/// ```
/// let mut validation = kling_types::Validation::new();
/// kling_types::__private::checks::item_count(&mut validation, "referenceImages", 5, Some(1), Some(4));
/// assert_eq!(validation.problems()[0].message, "has 5 items but may have at most 4: remove 1");
/// ```
pub fn item_count(
    validation: &mut Validation,
    field: &str,
    count: usize,
    min: Option<u64>,
    max: Option<u64>,
) {
    let count = count as u64;
    if let Some(min) = min.filter(|&min| count < min) {
        let message = match count {
            0 => format!(
                "is empty but needs at least {}: add some or leave the field out",
                plural(min, "item")
            ),
            _ => format!(
                "has {} but needs at least {min}: add {}",
                plural(count, "item"),
                min - count
            ),
        };
        validation.problem(field, message);
    }
    if let Some(max) = max.filter(|&max| count > max) {
        validation.problem(
            field,
            format!(
                "has {} but may have at most {max}: remove {}",
                plural(count, "item"),
                count - max
            ),
        );
    }
}

/// Records that `field` is set while `required`, which it needs, is not.
pub fn requires(validation: &mut Validation, field: &str, required: &str) {
    validation.push_problem(Finding::requires(field, required));
}

/// Records that the API ignores `field` because `because` is set, and why.
pub fn ignored(validation: &mut Validation, field: &str, because: &str, reason: &str) {
    validation.push_warning(Finding::ignored(field, because, reason));
}
