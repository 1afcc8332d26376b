// @generated from schema/api/jobs.json by `cargo xtask codegen`. Do not edit by hand.
//! Wire types of the Scenario API from `schema/api/jobs.json`.

use std::fmt;
use std::str::FromStr;
use std::collections::BTreeMap;

/// What a job cost, in creative units.
#[derive(serde::Deserialize, serde::Serialize, Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct Billing {
    /// Creative units charged.
    #[serde(rename = "cuCost", skip_serializing_if = "Option::is_none")]
    pub cu_cost: Option<f64>,
    /// Creative units discounted.
    #[serde(rename = "cuDiscount", skip_serializing_if = "Option::is_none")]
    pub cu_discount: Option<f64>,
    /// The cost broken down by item.
    #[serde(
        rename = "cuCostDetails",
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "crate::__private::de::null_as_default"
    )]
    pub cu_cost_details: BTreeMap<String, f64>,
    /// Whether a failure of this job is not refunded.
    #[serde(rename = "disableRefund", skip_serializing_if = "Option::is_none")]
    pub disable_refund: Option<bool>,
}

/// The body of a dry run (`?dryRun=true`, HTTP 269): what the request would cost, with no job started.
#[derive(serde::Deserialize, serde::Serialize, Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct EstimateResponse {
    /// Creative units the job would cost.
    #[serde(rename = "creativeUnitsCost", skip_serializing_if = "Option::is_none")]
    pub creative_units_cost: Option<f64>,
    /// Creative units that would be discounted.
    #[serde(rename = "creativeUnitsDiscount", skip_serializing_if = "Option::is_none")]
    pub creative_units_discount: Option<f64>,
    /// The cost broken down by item (`custom-generation`, …).
    #[serde(
        rename = "costDetails",
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "crate::__private::de::null_as_default"
    )]
    pub cost_details: BTreeMap<String, f64>,
}

/// The body of `POST /v1/generate/custom/{modelId}`: the job that was started, and what it costs.
#[derive(serde::Deserialize, serde::Serialize, Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct GenerateResponse {
    /// The job that was started: keep its id.
    pub job: Job,
    /// Creative units the job costs.
    #[serde(rename = "creativeUnitsCost", skip_serializing_if = "Option::is_none")]
    pub creative_units_cost: Option<f64>,
    /// Creative units discounted.
    #[serde(rename = "creativeUnitsDiscount", skip_serializing_if = "Option::is_none")]
    pub creative_units_discount: Option<f64>,
    /// The cost broken down by item (`custom-generation`, …).
    #[serde(
        rename = "costDetails",
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "crate::__private::de::null_as_default"
    )]
    pub cost_details: BTreeMap<String, f64>,
}

/// One job: a generation and its progress, outcome and cost.
#[derive(serde::Deserialize, serde::Serialize, Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Job {
    /// The job's id (`job_…`).
    #[serde(rename = "jobId")]
    pub job_id: crate::JobId,
    /// What kind of job it is; generations are `custom`.
    #[serde(rename = "jobType", skip_serializing_if = "Option::is_none")]
    pub job_type: Option<String>,
    /// Where the job is; poll until it is final.
    pub status: JobStatus,
    /// From 0 to 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progress: Option<f64>,
    /// What the job was asked and what it produced.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<JobMetadata>,
    /// Every status the job went through, oldest first.
    #[serde(
        rename = "statusHistory",
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "crate::__private::de::null_as_default"
    )]
    pub status_history: Vec<StatusChange>,
    /// When the job was created (ISO 8601).
    #[serde(rename = "createdAt", skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// When the job last changed (ISO 8601).
    #[serde(rename = "updatedAt", skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    /// Who submitted the job.
    #[serde(rename = "authorId", skip_serializing_if = "Option::is_none")]
    pub author_id: Option<String>,
    /// The project or team that owns the job.
    #[serde(rename = "ownerId", skip_serializing_if = "Option::is_none")]
    pub owner_id: Option<String>,
    /// What the job cost.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub billing: Option<Billing>,
}

/// One page of `GET /v1/jobs`. A page may be short or empty while more follow: keep paging until `nextPaginationToken` is absent.
#[derive(serde::Deserialize, serde::Serialize, Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct JobList {
    /// The jobs of this page, newest first.
    pub jobs: Vec<Job>,
    /// Pass as `paginationToken` for the next page; absent on the last page.
    #[serde(rename = "nextPaginationToken", skip_serializing_if = "Option::is_none")]
    pub next_pagination_token: Option<String>,
}

/// What a job was asked and what it produced.
#[derive(serde::Deserialize, serde::Serialize, Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct JobMetadata {
    /// The assets the job produced, once it succeeded.
    #[serde(
        rename = "assetIds",
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "crate::__private::de::null_as_default"
    )]
    pub asset_ids: Vec<crate::AssetId>,
    /// Why the job failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What the user can do about the failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// The request's parameters, as the API received them.
    #[serde(
        default,
        skip_serializing_if = "serde_json::Map::is_empty",
        deserialize_with = "crate::__private::de::null_as_default"
    )]
    pub input: serde_json::Map<String, serde_json::Value>,
    /// The model the job ran.
    #[serde(rename = "modelId", skip_serializing_if = "Option::is_none")]
    pub model_id: Option<crate::ModelId>,
    /// The model's raw output.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<serde_json::Value>,
    /// The workflow that ran the job, if any.
    #[serde(rename = "workflowId", skip_serializing_if = "Option::is_none")]
    pub workflow_id: Option<String>,
}

/// The body of `GET /v1/jobs/{jobId}` and of the cancel action.
#[derive(serde::Deserialize, serde::Serialize, Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct JobResponse {
    /// The job.
    pub job: Job,
}

/// One entry of a job's status history.
#[derive(serde::Deserialize, serde::Serialize, Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct StatusChange {
    /// The status the job entered.
    pub status: JobStatus,
    /// When the job entered this status (ISO 8601).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
}

/// Where a job is in its life. `success`, `failure` and `canceled` are final.
///
/// Open: a value this version does not know decodes as [`Self::Other`], so a
/// newer server never breaks decoding.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum JobStatus {
    /// `pending`
    Pending,
    /// `queued`
    Queued,
    /// `warming-up`
    WarmingUp,
    /// `in-progress`
    InProgress,
    /// `finalizing`
    Finalizing,
    /// `success`
    Success,
    /// `failure`
    Failure,
    /// `canceled`
    Canceled,
    /// A value this version does not know.
    Other(String),
}

impl JobStatus {
    /// The value as the API spells it.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Pending => "pending",
            Self::Queued => "queued",
            Self::WarmingUp => "warming-up",
            Self::InProgress => "in-progress",
            Self::Finalizing => "finalizing",
            Self::Success => "success",
            Self::Failure => "failure",
            Self::Canceled => "canceled",
            Self::Other(value) => value,
        }
    }
}

impl From<&str> for JobStatus {
    fn from(value: &str) -> Self {
        match value {
            "pending" => Self::Pending,
            "queued" => Self::Queued,
            "warming-up" => Self::WarmingUp,
            "in-progress" => Self::InProgress,
            "finalizing" => Self::Finalizing,
            "success" => Self::Success,
            "failure" => Self::Failure,
            "canceled" => Self::Canceled,
            other => Self::Other(other.to_owned()),
        }
    }
}

impl From<String> for JobStatus {
    fn from(value: String) -> Self {
        match value.as_str() {
            "pending" => Self::Pending,
            "queued" => Self::Queued,
            "warming-up" => Self::WarmingUp,
            "in-progress" => Self::InProgress,
            "finalizing" => Self::Finalizing,
            "success" => Self::Success,
            "failure" => Self::Failure,
            "canceled" => Self::Canceled,
            _ => Self::Other(value),
        }
    }
}

impl FromStr for JobStatus {
    type Err = std::convert::Infallible;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Ok(Self::from(value))
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for JobStatus {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for JobStatus {
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::from)
    }
}
