//! What `validate()` reports: every problem that would make the API reject a request,
//! and every parameter the API would silently ignore.

use std::fmt;

/// One finding about one parameter of a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// The parameter's JSON name as the API spells it, with an index for array items
    /// (`referenceImages[2]`).
    pub field: String,
    /// What is wrong and how to fix it, as one lowercase sentence; parameters it names
    /// are in backticks (`` needs `startImage` ``).
    pub message: String,
    /// The other parameter the finding is about, by JSON name: the one `field` needs, or
    /// the one that makes the API ignore `field`.
    pub other: Option<String>,
    wording: Wording,
}

/// How a finding's message is worded, so that it can be worded again naming parameters
/// another way (the `kling` command names them by flag).
#[derive(Clone, Debug, PartialEq, Eq)]
enum Wording {
    /// The message names no other parameter.
    Plain,
    /// `field` needs `other`.
    Requires,
    /// The API ignores `field` because `other` is set.
    Ignored { reason: String },
    /// `field` is required because `other` is left out.
    RequiredUnless,
    /// `field` is required because `other` has one of the values the schema names
    /// (`condition`: the rule in words, with `{other}` where the other is named).
    RequiredWhen { condition: String },
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
            other: None,
            wording: Wording::Plain,
        }
    }

    /// `field` is set while `required`, which it needs, is not.
    pub(crate) fn requires(field: &str, required: &str) -> Self {
        Self::worded(field, required, Wording::Requires)
    }

    /// The API ignores `field` because `because` is set, for `reason`.
    pub(crate) fn ignored(field: &str, because: &str, reason: &str) -> Self {
        Self::worded(
            field,
            because,
            Wording::Ignored {
                reason: reason.to_owned(),
            },
        )
    }

    /// `field` is required because `other` is not set.
    pub(crate) fn required_unless(field: &str, other: &str) -> Self {
        Self::worded(field, other, Wording::RequiredUnless)
    }

    /// `field` is required because `other` is set to one of the values in `condition`
    /// (words such as `is "img2img"`).
    pub(crate) fn required_when(field: &str, other: &str, condition: &str) -> Self {
        Self::worded(
            field,
            other,
            Wording::RequiredWhen {
                condition: condition.to_owned(),
            },
        )
    }

    fn worded(field: &str, other: &str, wording: Wording) -> Self {
        let mut finding = Self {
            field: field.to_owned(),
            message: String::new(),
            other: Some(other.to_owned()),
            wording,
        };
        finding.message = finding.message_naming(|name| format!("`{name}`"));
        finding
    }

    /// The parameter the finding is about, without the index of an item
    /// (`referenceImages` for `referenceImages[2]`).
    ///
    /// ```
    /// let finding = kling_types::Finding::new("referenceImages[2]", "is empty");
    /// assert_eq!(finding.parameter(), "referenceImages");
    /// ```
    pub fn parameter(&self) -> &str {
        self.field
            .split_once('[')
            .map_or(self.field.as_str(), |(name, _)| name)
    }

    /// The message with each parameter it names (by JSON name) written by `name`: the
    /// `kling` command names them by flag.
    ///
    /// ```
    /// use kling_types::{AssetId, ModelRequest};
    /// use kling_types::kling_v1_6_pro::Kling16ProRequest;
    ///
    /// let request = Kling16ProRequest::new("a cat").with_end_image(AssetId::new("asset_1"));
    /// let validation = request.validate();
    /// let problem = &validation.problems()[0];
    /// assert_eq!(problem.message, "needs `startImage`: set `startImage` too, or leave `endImage` out");
    /// assert_eq!(
    ///     problem.message_naming(|name| format!("<{name}>")),
    ///     "needs <startImage>: set <startImage> too, or leave <endImage> out"
    /// );
    /// ```
    pub fn message_naming(&self, name: impl Fn(&str) -> String) -> String {
        let other = self.other.as_deref().unwrap_or_default();
        match &self.wording {
            Wording::Plain => self.message.clone(),
            Wording::Requires => {
                let (required, field) = (name(other), name(self.parameter()));
                format!("needs {required}: set {required} too, or leave {field} out")
            }
            Wording::Ignored { reason } => {
                format!("is ignored because {} is set: {reason}", name(other))
            }
            Wording::RequiredUnless => {
                let (other, field) = (name(other), name(self.parameter()));
                format!("is required when {other} is left out: set {field} or {other}")
            }
            Wording::RequiredWhen { condition } => {
                format!("is required when {} {condition}", name(other))
            }
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

    pub(crate) fn push_problem(&mut self, finding: Finding) {
        self.problems.push(finding);
    }

    pub(crate) fn push_warning(&mut self, finding: Finding) {
        self.warnings.push(finding);
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
