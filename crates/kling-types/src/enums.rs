//! What parsing a generated enum from text can fail with.

use std::fmt;

/// A value that is not one of an enum's allowed values.
///
/// ```
/// use kling_types::kling_v1_6_pro::AspectRatio;
///
/// let error = "4:3".parse::<AspectRatio>().unwrap_err();
/// assert_eq!(error.to_string(), "`4:3` is not an allowed value of `aspectRatio`: use one of 16:9, 9:16, 1:1");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseEnumError {
    field: &'static str,
    value: String,
    allowed: &'static [&'static str],
}

impl ParseEnumError {
    /// An error for `value`, which is none of `allowed` (the values of `field`).
    pub fn new(
        field: &'static str,
        value: impl Into<String>,
        allowed: &'static [&'static str],
    ) -> Self {
        Self {
            field,
            value: value.into(),
            allowed,
        }
    }

    /// The values that would have been accepted.
    pub fn allowed(&self) -> &'static [&'static str] {
        self.allowed
    }
}

impl fmt::Display for ParseEnumError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` is not an allowed value of `{}`: use one of {}",
            self.value,
            self.field,
            self.allowed.join(", ")
        )
    }
}

impl std::error::Error for ParseEnumError {}
