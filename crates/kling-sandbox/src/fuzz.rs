//! Fuzz targets: whatever a request carries, the sandbox answers with a typed refusal,
//! never a panic or a 5xx. Each target is a test named `fuzz_*` (`cargo test -- fuzz_`;
//! `cargo xtask fuzz` runs them with 100000 cases in release).
//!
//! Most targets call the parsing functions of `requests.rs`, `cdn.rs` and `faults.rs`
//! directly, so that many cases stay fast; `fuzz_http_requests` sends a bounded number
//! of whole requests through the router in-process.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Map, Value};
use tower::ServiceExt as _;

use crate::cdn::{Ranged, Unsatisfiable, parse_range};
use crate::config::SandboxConfig;
use crate::error::Error;
use crate::faults::{Fault, FaultRule};
use crate::requests::{self, ApiError};
use crate::state::State;

const KLING: &str = "model_kling-v1-6-pro";

/// How many cases a target runs: `KLING_FUZZ_CASES`, or 2000; failures are not saved.
fn fuzz_config() -> Config {
    let cases = std::env::var("KLING_FUZZ_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(2000);
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

/// Runs `test` on `config.cases` values of `strategy`; a panic fails the case.
fn fuzz<S: Strategy>(
    config: Config,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) {
    let mut runner = TestRunner::new(config);
    if let Err(failure) = runner.run(&strategy, test) {
        panic!("{failure}");
    }
}

/// Field names the endpoints read, and others.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(vec![
            "prompt", "negativePrompt", "duration", "aspectRatio", "cfgScale", "startImage",
            "endImage", "referenceImages", "name", "image", "fileName", "contentType",
            "fileSize", "kind", "parts", "targetFormat", "action", "method", "pathPrefix",
            "path", "skip", "times", "probability", "fault", "status", "retryAfterSecs",
            "millis", "bytesPerSec", "afterBytes", "error", "hint",
        ])
        .prop_map(str::to_owned),
        1 => "\\PC{0,12}",
    ]
}

/// Values the endpoints look for, and others.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(vec![
            "", "x", "cancel", "complete", "image", "video", "audio", "16:9", "9:16", "1:1",
            "mp4", "gif", "image/png", "asset_x", "GET", "POST", "/v1/", "/v1/jobs",
            "status", "reset-after-handling", "job-failure", "empty-page", "expired-url",
            "unknown-status", "data:image/png;base64,iVBORw0KGgo=", "data:image/png;base64,!",
            "data:application/pdf;base64,JVBERg==", "data:;base64,", "true", "api",
        ])
        .prop_map(str::to_owned),
        2 => "\\PC{0,40}",
    ]
}

/// Any JSON, shallow enough to stay fast, leaning towards what the endpoints read.
fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        prop_oneof![Just(0i64), Just(5), Just(10), Just(-1), any::<i64>()].prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("JSON has no NaN or infinity", |number| number.is_finite())
            .prop_map(Value::from),
        text().prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::btree_map(key(), inner, 0..8)
                .prop_map(|fields| Value::Object(fields.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A request body: JSON, JSON cut short, or any bytes.
fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => json().prop_map(|value| value.to_string().into_bytes()),
        1 => (json(), any::<prop::sample::Index>()).prop_map(|(value, cut)| {
            let text = value.to_string().into_bytes();
            let at = cut.index(text.len() + 1);
            text[..at].to_vec()
        }),
        1 => prop::collection::vec(any::<u8>(), 0..48),
    ]
}

/// A query string: known keys with likely and unlikely values, or anything.
fn query() -> impl Strategy<Value = Option<String>> {
    let pair = (
        prop::sample::select(vec![
            "pageSize",
            "paginationToken",
            "status",
            "type",
            "types",
            "createdAfter",
            "updatedAfter",
            "authorId",
            "dryRun",
            "projectId",
            "x",
        ]),
        prop_oneof![
            prop::sample::select(vec![
                "",
                "0",
                "1",
                "50",
                "100",
                "101",
                "-1",
                "true",
                "api",
                "page-0",
                "page-99",
                "page-18446744073709551616",
                "success",
                "custom,upscale",
                "2026-01-01T00:00:00.000Z",
                "99999999999999999-01-01T00:00:00Z",
                "2026-02-30T25:61:61.9999Z",
                "%FF",
                "%",
                "a%20b",
            ])
            .prop_map(str::to_owned),
            "\\PC{0,20}",
        ],
    )
        .prop_map(|(key, value)| format!("{key}={value}"));
    prop_oneof![
        1 => Just(None),
        4 => prop::collection::vec(pair, 0..5).prop_map(|pairs| Some(pairs.join("&"))),
        1 => "\\PC{0,40}".prop_map(Some),
    ]
}

/// An API refusal: a 4xx with a reason in the API's error body.
fn assert_refusal(what: &str, error: &ApiError) -> Result<(), TestCaseError> {
    prop_assert!(
        error.status.is_client_error(),
        "{what}: {} {}",
        error.status,
        error.reason
    );
    prop_assert!(!error.reason.is_empty(), "{what}: an empty reason");
    prop_assert!(
        error.body()["reason"].is_string(),
        "{what}: {}",
        error.body()
    );
    Ok(())
}

fn state() -> State {
    State::new(SandboxConfig::default(), "http://127.0.0.1:1".to_owned())
}

#[test]
fn fuzz_range_header() {
    let spec = (
        proptest::option::of(prop::sample::select(vec![
            "",
            " ",
            "0",
            "1",
            "999",
            "18446744073709551615",
            "184467440737095516160",
        ])),
        proptest::option::of(prop::sample::select(vec![
            "",
            " ",
            "0",
            "1",
            "999",
            "5000",
            "18446744073709551615",
        ])),
    )
        .prop_map(|(first, last)| {
            format!("{}-{}", first.unwrap_or_default(), last.unwrap_or_default())
        });
    let header = prop_oneof![
        4 => (
            prop::sample::select(vec!["bytes=", "BYTES=", "bytes= ", "items=", "bytes", "=", ""]),
            prop::collection::vec(spec, 0..4),
        )
            .prop_map(|(unit, specs)| format!("{unit}{}", specs.join(",")).into_bytes()),
        1 => "\\PC{0,30}".prop_map(String::into_bytes),
        1 => prop::collection::vec(any::<u8>(), 0..30),
    ];
    let length = prop_oneof![Just(0u64), Just(1), Just(1000), any::<u64>()];
    fuzz(fuzz_config(), (header, length), |(header, length)| {
        let parsed = parse_range(&header, length);
        match parsed {
            Ok(Ranged::Part { start, end }) => {
                prop_assert!(start < end && end <= length, "{start}..{end} of {length}");
            }
            Ok(Ranged::Whole) | Err(Unsatisfiable) => {}
        }
        // RFC 9110 §14.2: a server MUST ignore a range unit it does not understand.
        let in_bytes = header
            .get(..6)
            .is_some_and(|unit| unit.eq_ignore_ascii_case(b"bytes="));
        if !in_bytes {
            prop_assert_eq!(parsed, Ok(Ranged::Whole));
        }
        Ok(())
    });
}

#[test]
fn fuzz_fault_header() {
    let kind = prop::sample::select(vec![
        "status",
        "reset-before-handling",
        "reset-after-handling",
        "stall-headers",
        "slow-body",
        "truncate-body",
        "job-failure",
        "job-canceled",
        "unknown-status",
        "expired-url",
        "empty-page",
        "meteor",
    ]);
    let value = prop_oneof![
        prop::sample::select(vec![
            "",
            "0",
            "1",
            "429",
            "503",
            "200",
            "70000",
            "-1",
            "1.5",
            "18446744073709551616"
        ])
        .prop_map(str::to_owned),
        "\\PC{0,12}",
    ];
    let argument = (
        prop::sample::select(vec!["retry-after", "hint", "x", ""]),
        value.clone(),
    )
        .prop_map(|(key, value)| format!("{key}={value}"));
    let spec = prop_oneof![
        4 => (kind, proptest::option::of(value), prop::collection::vec(argument, 0..3))
            .prop_map(|(kind, value, arguments)| {
                let head = value.map_or_else(|| kind.to_owned(), |value| format!("{kind}={value}"));
                [head].into_iter().chain(arguments).collect::<Vec<_>>().join(";")
            }),
        1 => "\\PC{0,40}",
    ];
    fuzz(fuzz_config(), spec, |spec| {
        match Fault::parse(&spec) {
            Ok(fault) => {
                prop_assert!(
                    spec.trim_start().starts_with(fault.name()),
                    "{spec} parsed as {fault:?}"
                );
                prop_assert!(FaultRule::new(fault).check().is_ok(), "{spec}");
            }
            Err(Error::InvalidFault { reason, .. }) => prop_assert!(!reason.is_empty()),
            Err(other) => prop_assert!(false, "{spec}: {other:?}"),
        }
        Ok(())
    });
}

#[test]
fn fuzz_request_bodies() {
    let state = state();
    let model = prop_oneof![4 => Just(KLING.to_owned()), 1 => "\\PC{0,20}"];
    fuzz(
        fuzz_config(),
        (body(), model, query()),
        |(body, model, query)| {
            match requests::generate(&state, &model, query.as_deref(), &body) {
                Ok(generate) => {
                    prop_assert!(generate.input.is_object());
                    prop_assert!(generate.cost.is_finite() && generate.cost >= 0.0);
                }
                Err(error) => assert_refusal("generate", &error)?,
            }
            if let Err(error) = requests::job_action(&body) {
                assert_refusal("job action", &error)?;
            }
            if let Err(error) = requests::upload_action(&body) {
                assert_refusal("upload action", &error)?;
            }
            if let Err(error) = requests::new_image(&body) {
                assert_refusal("asset upload", &error)?;
            }
            match requests::new_upload(&body) {
                Ok(upload) => prop_assert!((1..=10_000).contains(&upload.part_count)),
                Err(error) => assert_refusal("multipart upload", &error)?,
            }
            if let Err(error) = requests::download_request(&body) {
                assert_refusal("download link", &error)?;
            }
            match requests::fault_rules(&body) {
                Ok(rules) => prop_assert!(rules.iter().all(|rule| rule.check().is_ok())),
                Err(error) => assert_refusal("fault rules", &error)?,
            }
            Ok(())
        },
    );
}

#[test]
fn fuzz_job_list_queries() {
    fuzz(fuzz_config(), query(), |query| {
        match requests::job_query(query.as_deref()) {
            Ok(parsed) => prop_assert!((1..=100).contains(&parsed.page_size)),
            Err(error) => assert_refusal("job list", &error)?,
        }
        Ok(())
    });
}

/// The paths of every route (and of none), with ids that exist, do not, or cannot.
fn http_path() -> impl Strategy<Value = String> {
    let id = prop::sample::select(vec![
        "job_sbx000001",
        "asset_sbx000002",
        "upload_x",
        "%FF",
        "x",
        "",
    ]);
    let template = prop::sample::select(vec![
        "/v1/generate/custom/{}",
        "/v1/generate/custom/model_kling-v1-6-pro",
        "/v1/jobs",
        "/v1/jobs/{}",
        "/v1/jobs/{}/action",
        "/v1/assets",
        "/v1/assets/{}",
        "/v1/assets/{}/download",
        "/v1/uploads",
        "/v1/uploads/{}",
        "/v1/uploads/{}/action",
        "/v1/models",
        "/v1/models/{}",
        "/v1/nowhere",
        "/cdn/assets/{}/a.mp4",
        "/upload-parts/{}/1",
        "/upload-parts/{}/{}",
        "/_sandbox/faults",
        "/_sandbox/log",
    ]);
    (template, id, query()).prop_map(|(template, id, query)| {
        let path = template.replace("{}", id);
        match query {
            Some(query) => format!("{path}?{query}"),
            None => path,
        }
    })
}

/// An `x-sandbox-fault` header, or none: garbage that never parses as a fault, and the
/// faults that answer at once with no 5xx.
fn fault_header() -> impl Strategy<Value = Option<String>> {
    proptest::option::of(prop_oneof![
        "x[a-z=;0-9 ]{0,16}",
        prop::sample::select(vec![
            "status=429",
            "status=404;retry-after=3",
            "reset-before-handling",
            "reset-after-handling",
            "job-failure=x;hint=y",
            "job-canceled",
            "unknown-status=odd",
            "expired-url",
            "empty-page",
        ])
        .prop_map(str::to_owned),
    ])
}

/// One whole request of the HTTP fuzz target, in parts.
#[derive(Debug)]
struct HttpCase {
    method: Method,
    path: String,
    body: Vec<u8>,
    fault: Option<String>,
    auth: Option<&'static str>,
    range: Option<String>,
}

/// Any method, path, body, fault, credentials and `Range` header.
fn http_case() -> impl Strategy<Value = HttpCase> {
    let method = prop::sample::select(vec![
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::PATCH,
    ]);
    let auth = prop::sample::select(vec![
        Some("Basic c2FuZGJveC1rZXk6c2FuZGJveC1zZWNyZXQ="),
        Some("Basic !!!"),
        Some("Bearer x"),
        None,
    ]);
    let range = proptest::option::of("\\PC{0,20}");
    (method, http_path(), body(), fault_header(), auth, range).prop_map(
        |(method, path, body, fault, auth, range)| HttpCase {
            method,
            path,
            body,
            fault,
            auth,
            range,
        },
    )
}

impl HttpCase {
    /// The request, or `None` when no client could send it (a path that is no URI, a
    /// header value that is not one).
    fn request(self) -> Option<Request<Body>> {
        let uri = self.path.parse::<axum::http::Uri>().ok()?;
        let mut request = Request::builder().method(self.method).uri(uri);
        for (name, value) in [
            ("authorization", self.auth.map(str::to_owned)),
            ("x-sandbox-fault", self.fault),
            ("range", self.range),
        ] {
            if let Some(value) = value {
                request = request.header(name, value);
            }
        }
        request.body(Body::from(self.body)).ok()
    }
}

/// Whole requests through the router, in-process: bounded to a few hundred cases, as
/// each one renders a video when it generates.
#[test]
fn fuzz_http_requests() {
    let config = fuzz_config();
    let config = Config {
        cases: config.cases.min(300),
        ..config
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let state = Arc::new(state());
    let router = crate::routes::router(Arc::clone(&state));
    fuzz(config, http_case(), |case| {
        let path = case.path.clone();
        let Some(request) = case.request() else {
            return Ok(()); // Not a request anyone can send.
        };
        let response = runtime.block_on(router.clone().oneshot(request)).unwrap();
        // A rule this request added must not make the next one stall.
        state.lock().faults.clear();
        let status = response.status();
        prop_assert!(!status.is_server_error(), "{path}: {status}");
        if path.starts_with("/v1/") && status.is_client_error() {
            let bytes = runtime
                .block_on(axum::body::to_bytes(response.into_body(), 1 << 20))
                .unwrap();
            let body: Value = serde_json::from_slice(&bytes).map_err(|error| {
                TestCaseError::fail(format!("{path}: {status} not JSON ({error})"))
            })?;
            prop_assert!(body["reason"].is_string(), "{path}: {body}");
        }
        Ok(())
    });
}
