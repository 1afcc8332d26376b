//! What `validate()` reports: every problem that would make the API reject a request,
//! and every parameter the API would silently ignore.

use std::fmt;

/// One finding about one parameter of a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// The parameter's JSON name as the API spells it, with an index for array items
    /// (`referenceImages[2]`).
    pub field: String,
    /// What is wrong and how to fix it, as one lowercase sentence.
    pub message: String,
}

impl Finding {
    /// Creates a finding about `field`.
    ///
    /// ```
    /// let finding = kling_types::Finding::new("cfgScale", "must be at most 1");
    /// assert_eq!(finding.to_string(), "`cfgScale`: must be at most 1");
    /// ```
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`: {}", self.field, self.message)
    }
}

/// The result of validating a request: problems (the API would reject the request)
/// and warnings (the API would accept it but ignore a parameter the caller set).
///
/// ```
/// use kling_types::{AssetId, ModelRequest};
/// use kling_types::kling_v1_6_pro::{AspectRatio, Kling16ProRequest};
///
/// let request = Kling16ProRequest::new("a red fox running through snow")
///     .with_start_image(AssetId::new("asset_fox"))
///     .with_aspect_ratio(AspectRatio::Portrait9x16)
///     .with_cfg_scale(1.5);
/// let validation = request.validate();
/// assert_eq!(validation.problems()[0].field, "cfgScale");
/// assert_eq!(validation.warnings()[0].field, "aspectRatio");
/// assert!(validation.into_result().is_err());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Validation {
    problems: Vec<Finding>,
    warnings: Vec<Finding>,
}

impl Validation {
    /// An empty report: no problems, no warnings.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a problem: the API would reject the request.
    pub fn problem(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Finding::new(field, message));
    }

    /// Records a warning: the API would ignore a parameter the caller set.
    pub fn warning(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.warnings.push(Finding::new(field, message));
    }

    /// Whether the request may be sent (warnings do not count).
    pub fn is_valid(&self) -> bool {
        self.problems.is_empty()
    }

    /// Every problem, in the order of the schema's parameters.
    pub fn problems(&self) -> &[Finding] {
        &self.problems
    }

    /// Every parameter the API would ignore, and why.
    pub fn warnings(&self) -> &[Finding] {
        &self.warnings
    }

    /// The warnings when the request is valid, otherwise every problem as one error
    /// (which still carries the warnings).
    pub fn into_result(self) -> Result<Vec<Finding>, ValidationError> {
        if self.problems.is_empty() {
            Ok(self.warnings)
        } else {
            Err(ValidationError(self))
        }
    }
}

/// A request the API would reject, with every reason at once.
///
/// Its `Display` lists each problem on its own line:
///
/// ```
/// use kling_types::ModelRequest;
/// use kling_types::kling_v1_6_pro::Kling16ProRequest;
///
/// let error = Kling16ProRequest::new("").with_cfg_scale(-1.0).validate().into_result().unwrap_err();
/// assert_eq!(error.problems().len(), 2);
/// assert!(error.to_string().starts_with("the request has 2 problems:"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidationError(Validation);

impl ValidationError {
    /// Every problem, in the order of the schema's parameters.
    pub fn problems(&self) -> &[Finding] {
        self.0.problems()
    }

    /// The warnings found alongside the problems.
    pub fn warnings(&self) -> &[Finding] {
        self.0.warnings()
    }

    /// The whole report.
    pub fn validation(&self) -> &Validation {
        &self.0
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.problems() {
            [only] => write!(f, "the request has a problem: {only}"),
            problems => {
                write!(f, "the request has {} problems:", problems.len())?;
                problems
                    .iter()
                    .try_for_each(|problem| write!(f, "\n  {problem}"))
            }
        }
    }
}

impl std::error::Error for ValidationError {}
