//! How a parameter's limits are said in words, once for every place that says them: the
//! help of `kling generate` and `kling models ID` (through [`crate::Bounds`],
//! [`crate::Length`] and the CLI's file limits) and the docs of the generated code.
//!
//! The generator cannot depend on the crate it writes (a broken generated file would stop
//! it from building, and so from writing a fixed one), so `xtask` compiles this very file
//! as a module of its own (`#[path]`). It therefore uses nothing but `std`.

/// `1 character`, `2 characters`.
pub fn plural(count: u64, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

/// A number's range: `between 0 and 1`, `greater than 0 and less than 1`, `at least 0`;
/// `None` when nothing bounds it.
pub fn range(
    minimum: Option<f64>,
    maximum: Option<f64>,
    exclusive_minimum: Option<f64>,
    exclusive_maximum: Option<f64>,
) -> Option<String> {
    let lower = match (minimum, exclusive_minimum) {
        (_, Some(min)) => Some(format!("greater than {min}")),
        (Some(min), None) => Some(format!("at least {min}")),
        (None, None) => None,
    };
    let upper = match (maximum, exclusive_maximum) {
        (_, Some(max)) => Some(format!("less than {max}")),
        (Some(max), None) => Some(format!("at most {max}")),
        (None, None) => None,
    };
    match (minimum, maximum, lower, upper) {
        (Some(min), Some(max), _, _)
            if exclusive_minimum.is_none() && exclusive_maximum.is_none() =>
        {
            Some(format!("between {min} and {max}"))
        }
        (_, _, Some(lower), Some(upper)) => Some(format!("{lower} and {upper}")),
        (_, _, Some(bound), None) | (_, _, None, Some(bound)) => Some(bound),
        (_, _, None, None) => None,
    }
}

/// A number's grid: `in steps of 0.05`.
pub fn steps(step: f64) -> String {
    format!("in steps of {step}")
}

/// A count's limits, counting `noun`s: `1 to 2500 characters`, `at most 4 items`,
/// `2 items`; `None` when unlimited.
pub fn count(min: Option<u64>, max: Option<u64>, noun: &str) -> Option<String> {
    match (min, max) {
        (Some(min), Some(max)) if min == max => Some(plural(min, noun)),
        (Some(min), Some(max)) => Some(format!("{min} to {}", plural(max, noun))),
        (Some(min), None) => Some(format!("at least {}", plural(min, noun))),
        (None, Some(max)) => Some(format!("at most {}", plural(max, noun))),
        (None, None) => None,
    }
}

/// A file's limits: `at most 10485760 bytes, 1 to 30.5 s long`; `None` when unlimited.
pub fn file(
    max_size: Option<u64>,
    min_duration: Option<f64>,
    max_duration: Option<f64>,
) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(max) = max_size {
        parts.push(format!("at most {}", plural(max, "byte")));
    }
    match (min_duration, max_duration) {
        (Some(min), Some(max)) => parts.push(format!("{min} to {max} s long")),
        (Some(min), None) => parts.push(format!("at least {min} s long")),
        (None, Some(max)) => parts.push(format!("at most {max} s long")),
        (None, None) => {}
    }
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// Parts joined into one sentence: `Between 0 and 1, in steps of 0.05.`; `None` for no
/// parts.
pub fn sentence(parts: impl IntoIterator<Item = String>) -> Option<String> {
    let text = parts.into_iter().collect::<Vec<_>>().join(", ");
    let mut chars = text.chars();
    let first = chars.next()?;
    Some(format!("{}{}.", first.to_uppercase(), chars.as_str()))
}

#[cfg(test)]
mod tests {
    // Here rather than in doc examples: xtask compiles this file too, and its doctests
    // cannot name kling-types.
    use super::*;

    #[test]
    fn counts_are_singular_or_plural() {
        assert_eq!(plural(1, "item"), "1 item");
        assert_eq!(plural(4, "item"), "4 items");
        assert_eq!(
            count(Some(1), Some(2500), "character").as_deref(),
            Some("1 to 2500 characters")
        );
        assert_eq!(
            count(None, Some(4), "item").as_deref(),
            Some("at most 4 items")
        );
        assert_eq!(
            count(Some(2), None, "item").as_deref(),
            Some("at least 2 items")
        );
        assert_eq!(count(Some(2), Some(2), "item").as_deref(), Some("2 items"));
        assert_eq!(count(None, None, "item"), None);
    }

    #[test]
    fn ranges_name_each_bound_once() {
        assert_eq!(
            range(Some(0.0), Some(1.0), None, None).as_deref(),
            Some("between 0 and 1")
        );
        assert_eq!(
            range(None, Some(1.0), Some(0.0), None).as_deref(),
            Some("greater than 0 and at most 1")
        );
        assert_eq!(
            range(Some(-1.5), None, None, None).as_deref(),
            Some("at least -1.5")
        );
        assert_eq!(
            range(None, None, None, Some(2.0)).as_deref(),
            Some("less than 2")
        );
        assert_eq!(range(None, None, None, None), None);
        assert_eq!(steps(0.05), "in steps of 0.05");
    }

    #[test]
    fn file_limits_and_sentences() {
        assert_eq!(
            file(Some(1024), Some(1.0), Some(30.5)).as_deref(),
            Some("at most 1024 bytes, 1 to 30.5 s long")
        );
        assert_eq!(
            file(None, None, Some(10.0)).as_deref(),
            Some("at most 10 s long")
        );
        assert_eq!(file(None, None, None), None);
        let parts = ["between 0 and 1".to_owned(), steps(0.05)];
        assert_eq!(
            sentence(parts).as_deref(),
            Some("Between 0 and 1, in steps of 0.05.")
        );
        assert_eq!(sentence(Vec::new()), None);
    }
}
