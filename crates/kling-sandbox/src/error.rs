//! What the sandbox refuses to be told: a fault it cannot understand, or a rule that
//! cannot apply as written, a model description that is not one.

/// The sandbox's error.
///
/// ```
/// use kling_sandbox::{Error, Fault};
///
/// let error = Fault::parse("meteor-strike").unwrap_err();
/// assert!(matches!(error, Error::InvalidFault { .. }));
/// assert!(error.to_string().starts_with("bad fault `meteor-strike`"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A fault in the `x-sandbox-fault` syntax that does not parse.
    #[error("bad fault `{spec}`: {reason}")]
    InvalidFault {
        /// The fault as given.
        spec: String,
        /// What is wrong, and how to write it.
        reason: String,
    },
    /// A fault rule that cannot apply as written (a probability outside 0..=1, a status
    /// that is not an error, a path that does not start with `/`).
    #[error("bad fault rule: {reason}")]
    InvalidRule {
        /// What is wrong, and how to write it.
        reason: String,
    },
    /// A model description to serve that is not one
    /// ([`SandboxConfig::with_model_description`](crate::SandboxConfig::with_model_description)).
    #[error("bad model description: {reason}")]
    InvalidModelDescription {
        /// What is wrong, and how to write it.
        reason: String,
    },
}
