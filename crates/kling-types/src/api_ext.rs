//! Hand-written conveniences on the generated wire types.

use crate::api::JobStatus;

impl JobStatus {
    /// Whether the job will not change any more (`success`, `failure` or `canceled`).
    /// An unknown status is not final: a client keeps polling.
    ///
    /// ```
    /// use kling_types::api::JobStatus;
    /// assert!(JobStatus::Success.is_terminal());
    /// assert!(!JobStatus::InProgress.is_terminal());
    /// assert!(!JobStatus::Other("paused".into()).is_terminal());
    /// ```
    pub fn is_terminal(&self) -> bool {
        matches!(self, Self::Success | Self::Failure | Self::Canceled)
    }
}
