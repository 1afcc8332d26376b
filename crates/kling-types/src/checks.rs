//! The checks that generated `validate()` functions call, one per kind of JSON Schema
//! constraint, so that every model words its problems the same way.
//!
//! Under `__private`: code generated outside this crate (the generator's test
//! fixtures) calls them too; users never need them directly.

use crate::__private::wording::plural;
use crate::Validation;
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

/// Checks that a number is a whole multiple of `step` (`multipleOf`), reading both as the
/// decimals they print as, so that `0.3` is a multiple of `0.1` (as the `jsonschema`
/// crate and the JSON Schema specification say), where `0.3 / 0.1` in binary is not whole.
///
/// ```
/// let mut validation = kling_types::Validation::new();
/// kling_types::__private::checks::multiple_of(&mut validation, "strength", 0.3, 0.1);
/// assert!(validation.is_valid());
/// kling_types::__private::checks::multiple_of(&mut validation, "strength", 0.35, 0.1);
/// assert_eq!(validation.problems()[0].message, "is 0.35 but must be a multiple of 0.1");
/// ```
pub fn multiple_of(validation: &mut Validation, field: &str, value: f64, step: f64) {
    if !is_multiple_of(value, step) {
        validation.problem(
            field,
            format!("is {value} but must be a multiple of {step}"),
        );
    }
}

/// Whether `value` is a whole multiple of `step` (positive), in decimal.
///
/// ```
/// use kling_types::__private::checks::is_multiple_of;
/// assert!(is_multiple_of(1.5, 0.5));
/// assert!(is_multiple_of(0.0, 0.25));
/// assert!(is_multiple_of(0.3, 0.1));
/// assert!(!is_multiple_of(0.05, 0.1));
/// ```
pub fn is_multiple_of(value: f64, step: f64) -> bool {
    crate::decimal::is_multiple_of(value, step)
}

/// Records that `field` is required because `other` is left out (set one of the two).
pub fn required_unless(validation: &mut Validation, field: &str, other: &str) {
    validation.push_problem(Finding::required_unless(field, other));
}

/// Records that `field` is required because `other` is set to one of `values` (JSON
/// texts, as the schema's `if` lists them).
pub fn required_when(validation: &mut Validation, field: &str, other: &str, values: &[&str]) {
    let condition = match values {
        [one] => format!("is {one}"),
        _ => format!("is one of {}", values.join(", ")),
    };
    validation.push_problem(Finding::required_when(field, other, &condition));
}

/// Whether the JSON form of `value` is one of `values` (JSON texts); numbers compare by
/// value, so `5` and `5.0` are the same, as in JSON Schema.
///
/// ```
/// use kling_types::__private::checks::is_one_of;
/// assert!(is_one_of(&5_i64, &["4", "5.0"]));
/// assert!(is_one_of(&"img2img", &["\"img2img\""]));
/// assert!(!is_one_of(&true, &["false"]));
/// ```
pub fn is_one_of<T: serde::Serialize + ?Sized>(value: &T, values: &[&str]) -> bool {
    let Ok(value) = serde_json::to_value(value) else {
        return false;
    };
    values.iter().any(|text| {
        serde_json::from_str::<serde_json::Value>(text)
            .is_ok_and(|allowed| same_json(&value, &allowed))
    })
}

fn same_json(left: &serde_json::Value, right: &serde_json::Value) -> bool {
    match (left, right) {
        (serde_json::Value::Number(left), serde_json::Value::Number(right)) => {
            left.as_f64() == right.as_f64()
        }
        _ => left == right,
    }
}

/// Checks that no item of a list appears twice (`uniqueItems`).
///
/// ```
/// let mut validation = kling_types::Validation::new();
/// kling_types::__private::checks::unique_items(&mut validation, "tags", &["a", "b", "a"]);
/// assert_eq!(validation.problems()[0].message, "has item 2 twice (also at 0): each item may appear once");
/// ```
pub fn unique_items<T: PartialEq>(validation: &mut Validation, field: &str, items: &[T]) {
    for (index, item) in items.iter().enumerate() {
        if let Some(first) = items[..index].iter().position(|earlier| earlier == item) {
            validation.problem(
                field,
                format!("has item {index} twice (also at {first}): each item may appear once"),
            );
            return;
        }
    }
}

/// Checks that a text matches `pattern` (JSON Schema's `pattern`: found anywhere in the
/// text, so anchor it with `^…$` to match the whole). The generator has checked that the
/// pattern compiles; one that does not is reported as a problem rather than ignored.
///
/// ```
/// let mut validation = kling_types::Validation::new();
/// kling_types::__private::checks::pattern(&mut validation, "color", "#ff00aa", "^#[0-9a-f]{6}$");
/// assert!(validation.is_valid());
/// kling_types::__private::checks::pattern(&mut validation, "color", "red", "^#[0-9a-f]{6}$");
/// assert_eq!(validation.problems()[0].message, "is \"red\" but must match `^#[0-9a-f]{6}$`");
/// ```
pub fn pattern(validation: &mut Validation, field: &str, value: &str, pattern: &str) {
    match regex_lite::Regex::new(pattern) {
        Ok(regex) if regex.is_match(value) => {}
        Ok(_) => validation.problem(field, format!("is {value:?} but must match `{pattern}`")),
        Err(error) => validation.problem(
            field,
            format!("cannot be checked against `{pattern}`: {error}"),
        ),
    }
}
