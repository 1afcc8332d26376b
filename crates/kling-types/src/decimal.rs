//! `multipleOf` in decimal, as JSON Schema means it and the `jsonschema` crate checks it.
//! One file, included by `kling-dialect` too (`#[path]`), so the generator's check of a default
//! and the generated `validate()` can never disagree.

/// Whether `value` is a whole multiple of `step` (positive), in decimal.
pub(crate) fn is_multiple_of(value: f64, step: f64) -> bool {
    if value == 0.0 {
        return true;
    }
    // Smaller than one step (and not zero): no whole multiple, as the validator says.
    if value.abs() < step {
        return false;
    }
    match (decimal(value), decimal(step)) {
        (Some((value_mantissa, value_places)), Some((step_mantissa, step_places)))
            if step_mantissa != 0 =>
        {
            let shared = value_places.min(step_places);
            let scale = |mantissa: i128, places: i32| {
                let places = u32::try_from(places - shared).ok()?;
                mantissa.checked_mul(10_i128.checked_pow(places)?)
            };
            match (
                scale(value_mantissa, step_places),
                scale(step_mantissa, value_places),
            ) {
                (Some(value), Some(step)) => value % step == 0,
                _ => (value / step).fract() == 0.0,
            }
        }
        _ => (value / step).fract() == 0.0,
    }
}

/// `value` as `mantissa × 10^-places`, from its shortest decimal text (`0.35` → `(35, 2)`).
fn decimal(value: f64) -> Option<(i128, i32)> {
    if !value.is_finite() {
        return None;
    }
    let text = format!("{value:e}");
    let (digits, exponent) = text.split_once('e')?;
    let exponent: i32 = exponent.parse().ok()?;
    let negative = digits.starts_with('-');
    let digits = digits.trim_start_matches('-');
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let mut mantissa: i128 = 0;
    for digit in whole.bytes().chain(fraction.bytes()) {
        mantissa = mantissa
            .checked_mul(10)?
            .checked_add(i128::from(digit.checked_sub(b'0')?))?;
    }
    let places = i32::try_from(fraction.len()).ok()? - exponent;
    Some((if negative { -mantissa } else { mantissa }, places))
}
