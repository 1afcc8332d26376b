//! The error messages users read, as the CLI prints them (`{:#}` of an `anyhow::Error`:
//! the error, then each cause): one table of server answers, one snapshot. Each cause
//! appears once, a non-JSON answer says what it was, and no secret shows.

use std::time::Duration;

use kling_client::{Client, Credentials, Error, RetryPolicy, Timeouts};
use kling_types::JobId;
use serde_json::json;

use crate::stand_in::{raw, serve_raw};

const KEY: &str = "key_live_1234";
const SECRET: &str = "s3cr3t-value";

/// What the client does against the server of a case.
#[derive(Clone, Copy)]
enum Ask {
    /// `GET /jobs/job_1`.
    Job,
    /// A generate (with reconciliation through the job list).
    Submit,
}

fn client(base_url: &str) -> Client {
    Client::new(Credentials::new(KEY, SECRET))
        .with_base_url(base_url)
        .with_retry_policy(RetryPolicy::none().with_reconcile_grace(Duration::from_millis(1)))
        .with_timeouts(Timeouts::default().with_request(Duration::from_millis(300)))
}

async fn ask(client: &Client, ask: Ask) -> Error {
    match ask {
        Ask::Job => client.job(&JobId::new("job_1")).await.unwrap_err(),
        Ask::Submit => client
            .submit_json("model_kling-v1-6-pro", json!({"prompt": "x"}))
            .await
            .unwrap_err(),
    }
}

/// The error as the CLI prints it, and a check that each cause shows once.
#[track_caller]
fn shown(error: Error) -> String {
    let causes: Vec<String> = {
        let mut causes = Vec::new();
        let mut source = std::error::Error::source(&error);
        while let Some(cause) = source {
            causes.push(cause.to_string());
            source = cause.source();
        }
        causes
    };
    let text = format!("{:#}", anyhow::Error::from(error));
    // As often as the chain has it (reqwest nests two body errors of the same words),
    // so never also embedded in the message above it.
    for cause in &causes {
        let times = causes
            .iter()
            .filter(|other| other.contains(cause.as_str()))
            .count();
        assert_eq!(
            text.matches(cause.as_str()).count(),
            times,
            "`{cause}` shows more than once in: {text}"
        );
    }
    for private in [KEY, SECRET, "Signature=abc", "c2VjcmV0LXRva2Vu"] {
        assert!(!text.contains(private), "`{private}` shows in: {text}");
    }
    text
}

#[tokio::test]
async fn what_users_read() {
    let html = b"<html>\n  <head><title>502 Bad Gateway</title></head>\n  <body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body>\n</html>\n";
    let echo = format!(
        "denied for {KEY}:{SECRET} fetching https://cdn.example/v.mp4?Policy=p&Signature=abc with Authorization: Bearer c2VjcmV0LXRva2Vu"
    );
    let team_limit = json!({"reason": "You have reached the limit of parallel jobs", "details": {"actionName": "generate", "actionLimit": 5}}).to_string();
    let json_type = ("content-type", "application/json");
    let request_id = ("x-request-id", "req_42");
    let cases: Vec<(&str, Ask, Vec<u8>)> = vec![
        (
            "an HTML gateway page",
            Ask::Job,
            raw(
                "502 Bad Gateway",
                &[("content-type", "text/html")],
                html,
                None,
            ),
        ),
        (
            "HTML instead of a job",
            Ask::Job,
            raw(
                "200 OK",
                &[("content-type", "text/html; charset=utf-8")],
                html,
                None,
            ),
        ),
        (
            "JSON cut short",
            Ask::Job,
            raw(
                "200 OK",
                &[json_type, request_id],
                br#"{"job": {"jobId": "job_1", "sta"#,
                None,
            ),
        ),
        (
            "JSON of another shape",
            Ask::Job,
            raw(
                "200 OK",
                &[json_type],
                br#"{"job": {"status": "queued"}}"#,
                None,
            ),
        ),
        (
            "an empty body",
            Ask::Job,
            raw("200 OK", &[json_type], b"", None),
        ),
        (
            "binary data",
            Ask::Job,
            raw(
                "200 OK",
                &[("content-type", "application/octet-stream")],
                b"\x00\x01\xff\xfeRIFF",
                None,
            ),
        ),
        (
            "no content type",
            Ask::Job,
            raw("200 OK", &[], b"plain words", None),
        ),
        (
            "the API's 404",
            Ask::Job,
            raw(
                "404 Not Found",
                &[json_type, request_id],
                br#"{"reason": "Job job_1 not found"}"#,
                None,
            ),
        ),
        (
            "refused credentials",
            Ask::Job,
            raw(
                "401 Unauthorized",
                &[json_type],
                br#"{"reason": "Unauthorized: invalid API key or secret"}"#,
                None,
            ),
        ),
        (
            "a team limit",
            Ask::Submit,
            raw(
                "429 Too Many Requests",
                &[json_type, ("retry-after", "30")],
                team_limit.as_bytes(),
                None,
            ),
        ),
        (
            "a plain-text 429",
            Ask::Job,
            raw(
                "429 Too Many Requests",
                &[("content-type", "text/plain"), ("retry-after", "1e20")],
                b"slow down",
                None,
            ),
        ),
        (
            "an empty 500",
            Ask::Job,
            raw("500 Internal Server Error", &[], b"", None),
        ),
        (
            "JSON without a reason",
            Ask::Job,
            raw(
                "400 Bad Request",
                &[json_type],
                br#"{"message": "prompt too long"}"#,
                None,
            ),
        ),
        (
            "secrets echoed back",
            Ask::Job,
            raw(
                "403 Forbidden",
                &[("content-type", "text/plain")],
                echo.as_bytes(),
                None,
            ),
        ),
        (
            "an answer cut off",
            Ask::Job,
            raw("200 OK", &[json_type], br#"{"job""#, Some(100)),
        ),
        (
            "a yes that cannot be read",
            Ask::Submit,
            raw(
                "200 OK",
                &[("content-type", "text/html")],
                b"<p>Accepted</p>",
                None,
            ),
        ),
    ];
    let mut report = String::new();
    for (name, what, answer) in cases {
        let base_url = serve_raw(answer, Duration::ZERO).await;
        let error = ask(&client(&base_url), what).await;
        report.push_str(&format!("{name}:\n    {}\n", shown(error)));
    }

    // No server at all: a port that was just free.
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let error = ask(&client(&format!("http://{free}/v1")), Ask::Job).await;
    let text = shown(error).replace(&free.port().to_string(), "PORT");
    report.push_str(&format!("no server:\n    {text}\n"));

    let base_url = serve_raw(Vec::new(), Duration::from_secs(5)).await;
    let error = ask(&client(&base_url), Ask::Job).await;
    report.push_str(&format!("no answer in time:\n    {}\n", shown(error)));

    let error = client("http://127.0.0.1:9/v1")
        .upload_image(std::path::Path::new("no-such-folder/cat.png"))
        .await
        .unwrap_err();
    report.push_str(&format!("a missing file:\n    {}\n", shown(error)));

    insta::assert_snapshot!(report);
}
