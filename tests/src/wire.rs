//! What users see of kling-types: the JSON a request puts on the wire, every
//! validation message, and decoding of responses from a newer server.

use kling_types::api::{
    AssetKind, AssetResponse, ErrorBody, EstimateResponse, GenerateResponse, JobList, JobResponse,
    JobStatus,
};
use kling_types::kling_v1_6_pro::{AspectRatio, DurationValue, Kling16ProRequest};
use kling_types::{AssetId, ModelRequest};
use serde_json::json;

use crate::fixtures::generated::{fixture_motion, fixture_plain};

#[track_caller]
fn check_body(request: &Kling16ProRequest, expected: serde_json::Value) {
    assert!(request.validate().is_valid(), "{:?}", request.validate());
    let body = serde_json::to_value(request).unwrap();
    assert_eq!(body, expected);
    let back: Kling16ProRequest = serde_json::from_value(body).unwrap();
    assert_eq!(&back, request, "a request survives the round trip");
}

#[test]
fn minimal_request_sends_only_the_prompt() {
    check_body(
        &Kling16ProRequest::new("A fantasy landscape"),
        json!({"prompt": "A fantasy landscape"}),
    );
}

#[test]
fn full_text_to_video_request() {
    let request = Kling16ProRequest::new("A fantasy landscape")
        .with_negative_prompt("blurry")
        .with_aspect_ratio(AspectRatio::Landscape16x9)
        .with_cfg_scale(0.5)
        .with_duration(DurationValue::Seconds5);
    // The reference page's own example body.
    check_body(
        &request,
        json!({"prompt": "A fantasy landscape", "negativePrompt": "blurry", "aspectRatio": "16:9", "cfgScale": 0.5, "duration": 5}),
    );
    insta::assert_snapshot!(serde_json::to_string_pretty(&request).unwrap());
}

#[test]
fn image_to_video_request() {
    let request = Kling16ProRequest::new("the cat wakes up and stretches")
        .with_start_image(AssetId::new("asset_cat_asleep"))
        .with_end_image("asset_cat_awake")
        .with_duration(DurationValue::Seconds10);
    check_body(
        &request,
        json!({"prompt": "the cat wakes up and stretches", "startImage": "asset_cat_asleep", "endImage": "asset_cat_awake", "duration": 10}),
    );
    insta::assert_snapshot!(serde_json::to_string_pretty(&request).unwrap());
}

#[test]
fn reference_images_request() {
    let request = Kling16ProRequest::new("a knight and a dragon share tea")
        .with_reference_images(["asset_knight", "asset_dragon", "asset_teapot"].map(AssetId::new))
        .with_aspect_ratio(AspectRatio::Square1x1);
    check_body(
        &request,
        json!({"prompt": "a knight and a dragon share tea", "referenceImages": ["asset_knight", "asset_dragon", "asset_teapot"], "aspectRatio": "1:1"}),
    );
    insta::assert_snapshot!(serde_json::to_string_pretty(&request).unwrap());
}

/// Every message `validate()` and decoding can show a user, in one snapshot to review.
#[test]
fn validation_messages() {
    let kling = |name: &str, request: Kling16ProRequest| (name.to_owned(), request.validate());
    let motion = fixture_motion::FixtureMotionRequest::new("go", fixture_motion::Fps::V24)
        .with_seed(-1)
        .with_strength(1.0)
        .with_motion(-2.0)
        .with_tags([
            "ok".to_owned(),
            String::new(),
            "much-too-long-tag".to_owned(),
        ])
        .with_weights([0.5, 2.5])
        .with_cameras([])
        .with_mask("asset_mask")
        .with_style(fixture_motion::Style::Anime);
    let cases = [
        kling("empty prompt", Kling16ProRequest::new("")),
        kling(
            "prompt over the limit",
            Kling16ProRequest::new("x".repeat(2731)),
        ),
        kling(
            "negative prompt over the limit",
            Kling16ProRequest::new("ok").with_negative_prompt("é".repeat(2501)),
        ),
        kling(
            "cfg scale above 1",
            Kling16ProRequest::new("ok").with_cfg_scale(1.5),
        ),
        kling(
            "cfg scale below 0",
            Kling16ProRequest::new("ok").with_cfg_scale(-0.1),
        ),
        kling(
            "no reference images",
            Kling16ProRequest::new("ok").with_reference_images([]),
        ),
        kling(
            "five reference images",
            Kling16ProRequest::new("ok")
                .with_reference_images((1..=5).map(|n| AssetId::new(format!("asset_{n}")))),
        ),
        kling(
            "end image without start image",
            Kling16ProRequest::new("ok").with_end_image("asset_end"),
        ),
        kling(
            "aspect ratio with a first frame",
            Kling16ProRequest::new("ok")
                .with_start_image("asset_start")
                .with_aspect_ratio(AspectRatio::Portrait9x16),
        ),
        kling(
            "start and end images with references",
            Kling16ProRequest::new("ok")
                .with_start_image("asset_start")
                .with_end_image("asset_end")
                .with_reference_images([AssetId::new("asset_ref")]),
        ),
        kling(
            "everything wrong at once",
            Kling16ProRequest::new("")
                .with_cfg_scale(2.0)
                .with_end_image("asset_end")
                .with_aspect_ratio(AspectRatio::Square1x1),
        ),
        (
            "fixture: ranges, items, dependencies".to_owned(),
            motion.validate(),
        ),
        (
            "fixture: requires".to_owned(),
            fixture_plain::FixturePlainRequest::new("ok")
                .with_ratio(fixture_plain::Ratio::V16_9)
                .with_count(9)
                .validate(),
        ),
    ];
    let mut report = String::new();
    for (name, validation) in cases {
        report.push_str(&format!("## {name}\n"));
        match validation.into_result() {
            Ok(warnings) => {
                report.push_str("accepted\n");
                for warning in warnings {
                    report.push_str(&format!("warning: {warning}\n"));
                }
            }
            Err(error) => {
                report.push_str(&format!("{error}\n"));
                for warning in error.warnings() {
                    report.push_str(&format!("warning: {warning}\n"));
                }
            }
        }
        report.push('\n');
    }

    report.push_str("## decoding JSON through the registry\n");
    let model = kling_types::find_model("model_kling-v1-6-pro").unwrap();
    for body in [
        json!({"prompt": "ok", "duration": 7}),
        json!({"prompt": "ok", "aspectRatio": "4:3"}),
        json!({"prompt": "ok", "seed": 1}),
        json!({"duration": 5}),
        json!({"prompt": "ok", "startImage": null}),
        json!({"prompt": "ok", "cfgScale": "high"}),
    ] {
        let outcome = (model.validate_json)(body.clone()).map_or_else(
            |error| format!("error: {error}"),
            |validation| format!("{validation:?}"),
        );
        report.push_str(&format!("{body} => {outcome}\n"));
    }
    report.push_str("\n## parsing enum values from text\n");
    report.push_str(&format!("{}\n", "4:3".parse::<AspectRatio>().unwrap_err()));
    report.push_str(&format!("{}\n", "7".parse::<DurationValue>().unwrap_err()));
    insta::assert_snapshot!(report);
}

#[test]
fn duration_accepts_integral_numbers_only() {
    assert_eq!(
        serde_json::from_value::<DurationValue>(json!(10)).unwrap(),
        DurationValue::Seconds10
    );
    assert_eq!(
        serde_json::from_value::<DurationValue>(json!(5.0)).unwrap(),
        DurationValue::Seconds5
    );
    assert!(serde_json::from_value::<DurationValue>(json!(5.5)).is_err());
    assert!(serde_json::from_value::<DurationValue>(json!("5")).is_err());
    let values: Vec<i64> = DurationValue::ALL
        .iter()
        .map(|duration| duration.value())
        .collect();
    assert_eq!(values, [5, 10]);
    assert_eq!(
        "10".parse::<DurationValue>().unwrap(),
        DurationValue::Seconds10
    );
}

#[test]
fn registry_lists_every_model() {
    let ids: Vec<&str> = kling_types::MODELS.iter().map(|model| model.id).collect();
    assert_eq!(ids, ["model_kling-v1-6-pro"]);
    let kling = kling_types::find_model("model_kling-v1-6-pro").unwrap();
    assert_eq!(kling.title, "Kling 1.6 Pro");
    assert_eq!(kling.schema, kling_types::kling_v1_6_pro::SCHEMA);
    let schema: serde_json::Value = serde_json::from_str(kling.schema).unwrap();
    assert_eq!(schema["x-model-id"], "model_kling-v1-6-pro");
    assert_eq!(Kling16ProRequest::MODEL_ID, kling.id);
    assert!(kling_types::find_model("model_unknown").is_none());
}

#[test]
fn job_from_a_newer_server_decodes() {
    let body = json!({"job": {
        "jobId": "job_abc123",
        "jobType": "custom",
        "status": "success",
        "progress": 1,
        "metadata": {"assetIds": ["asset_abc123"], "input": {"prompt": "A fantasy landscape"}, "brandNew": true},
        "statusHistory": [{"status": "queued", "date": "2026-11-25T10:00:00.000Z"}, {"status": "teleporting", "date": "2026-11-25T10:00:05.000Z"}],
        "createdAt": "2026-11-25T10:00:00.000Z",
        "updatedAt": "2026-11-25T10:01:00.000Z",
        "billing": {"cuCost": 40, "cuDiscount": 0},
        "someFutureField": {"nested": [1, 2, 3]}
    }});
    let job = serde_json::from_value::<JobResponse>(body).unwrap().job;
    assert_eq!(job.job_id.as_str(), "job_abc123");
    assert_eq!(job.status, JobStatus::Success);
    assert!(job.status.is_terminal());
    let metadata = job.metadata.unwrap();
    assert_eq!(metadata.asset_ids, [AssetId::new("asset_abc123")]);
    assert_eq!(metadata.input["prompt"], "A fantasy landscape");
    assert_eq!(
        job.status_history[1].status,
        JobStatus::Other("teleporting".to_owned())
    );
    assert_eq!(job.status_history[1].status.to_string(), "teleporting");
}

#[test]
fn reference_page_example_response_decodes() {
    let body = r#"{ "job": { "jobId": "job_abc123", "status": "success", "metadata": { "assetIds": [ "asset_abc123" ] } } }"#;
    let job = serde_json::from_str::<JobResponse>(body).unwrap().job;
    assert_eq!(
        job.metadata.unwrap().asset_ids,
        [AssetId::new("asset_abc123")]
    );
}

#[test]
fn nulls_and_missing_lists_decode_as_empty() {
    let job = serde_json::from_value::<JobResponse>(json!({"job": {"jobId": "job_1", "status": "queued", "statusHistory": null, "metadata": {"assetIds": null}}}))
        .unwrap()
        .job;
    assert!(job.status_history.is_empty());
    assert!(job.metadata.unwrap().asset_ids.is_empty());
    let page = serde_json::from_value::<JobList>(json!({"jobs": [], "nextPaginationToken": "t2"}))
        .unwrap();
    assert!(page.jobs.is_empty());
    assert_eq!(page.next_pagination_token.as_deref(), Some("t2"));
}

#[test]
fn generate_and_dry_run_responses_decode() {
    let generated = serde_json::from_value::<GenerateResponse>(json!({
        "job": {"jobId": "job_9", "status": "queued", "progress": 0},
        "creativeUnitsCost": 40,
        "costDetails": {"custom-generation": 40}
    }))
    .unwrap();
    assert_eq!(generated.job.status, JobStatus::Queued);
    assert_eq!(generated.cost_details["custom-generation"], 40.0);
    let estimate = serde_json::from_value::<EstimateResponse>(json!({
        "creativeUnitsCost": 40, "creativeUnitsDiscount": 0, "costDetails": {"custom-generation": 40}, "job": {}
    }))
    .unwrap();
    assert_eq!(estimate.creative_units_cost, Some(40.0));
}

#[test]
fn asset_and_error_bodies_decode() {
    let asset = serde_json::from_value::<AssetResponse>(json!({"asset": {
        "id": "asset_v1", "kind": "video", "mimeType": "video/mp4", "status": "success",
        "url": "https://cdn.cloud.scenario.com/assets/v1.mp4?Policy=p&Key-Pair-Id=k&Signature=s",
        "properties": {"size": 1048576, "width": 1280, "height": 720, "duration": 5, "frameRate": 24},
        "metadata": {"kind": "video", "type": "txt2video", "modelId": "model_kling-v1-6-pro", "parentJobId": "job_9"},
        "collectionIds": [], "tags": [], "editCapabilities": [], "privacy": "private", "source": "custom",
        "firstFrame": {"assetId": "asset_f1", "url": "https://cdn.example/f1.png"}
    }}))
    .unwrap()
    .asset;
    assert_eq!(asset.kind, Some(AssetKind::Video));
    assert_eq!(asset.properties.unwrap().size, Some(1_048_576));
    assert_eq!(
        asset.metadata.unwrap().parent_job_id.unwrap().as_str(),
        "job_9"
    );
    let kind = serde_json::from_value::<AssetKind>(json!("hologram")).unwrap();
    assert_eq!(kind, AssetKind::Other("hologram".to_owned()));

    let error = serde_json::from_value::<ErrorBody>(
        json!({"reason": "Cannot cancel this type of job. Action not permitted."}),
    )
    .unwrap();
    assert_eq!(
        error.reason.as_deref(),
        Some("Cannot cancel this type of job. Action not permitted.")
    );
    let limited = serde_json::from_value::<ErrorBody>(
        json!({"reason": "Too many jobs", "details": {"actionName": "generate", "actionLimit": 5}}),
    )
    .unwrap();
    assert_eq!(limited.details.unwrap()["actionLimit"], 5);
}

/// Dates as the API writes them (`kling_types::__private::time`): every moment it can write is
/// read back exactly; a date that does not exist, a field out of range or anything
/// after the `Z` is refused, whatever the rest.
mod dates {
    use std::time::{Duration, UNIX_EPOCH};

    use kling_types::__private::time::{format_iso8601, parse_iso8601};
    use proptest::prelude::*;

    /// 10000-01-01T00:00:00Z: the API's format has four-digit years.
    const END_OF_9999_MS: u64 = 253_402_300_800_000;

    /// Days of a month, from the calendar's rules (not from the code under test).
    fn days_in(year: u32, month: u32) -> u32 {
        let leap =
            year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400));
        [
            31,
            if leap { 29 } else { 28 },
            31,
            30,
            31,
            30,
            31,
            31,
            30,
            31,
            30,
            31,
        ][month as usize - 1]
    }

    fn stamp(fields: (u32, u32, u32, u32, u32, u32)) -> String {
        let (year, month, day, hour, minute, second) = fields;
        format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}")
    }

    proptest! {
        #![proptest_config(crate::support::fuzz_config())]

        #[test]
        fn fuzz_parse_iso8601_valid_dates_round_trip(millis in 0..END_OF_9999_MS) {
            let moment = UNIX_EPOCH + Duration::from_millis(millis);
            let text = format_iso8601(moment);
            prop_assert_eq!(parse_iso8601(&text), Some(moment), "{}", text);
            // Without milliseconds, and with more digits than the API writes.
            let whole = &text[..19];
            prop_assert_eq!(parse_iso8601(&format!("{whole}Z")), Some(UNIX_EPOCH + Duration::from_secs(millis / 1000)));
            let finer = format!("{}456789Z", text.trim_end_matches('Z'));
            prop_assert_eq!(parse_iso8601(&finer), Some(moment), "{}", finer);
        }

        #[test]
        fn fuzz_parse_iso8601_refuses_days_a_month_does_not_have(
            year in 1970u32..=9999,
            month in 1u32..=12,
            past in 1u32..=60,
            time in (0u32..24, 0u32..60, 0u32..60),
        ) {
            let day = (days_in(year, month) + past).min(99);
            let text = format!("{}Z", stamp((year, month, day, time.0, time.1, time.2)));
            prop_assert_eq!(parse_iso8601(&text), None, "{}", text);
        }

        #[test]
        fn fuzz_parse_iso8601_refuses_fields_out_of_range(
            fields in (1970u32..=9999, 0u32..=99, 0u32..=99, 0u32..=99, 0u32..=99, 0u32..=99),
        ) {
            let (year, month, day, hour, minute, second) = fields;
            let text = format!("{}.000Z", stamp(fields));
            let leap_second = (hour, minute, second) == (23, 59, 60);
            let valid = (1..=12).contains(&month)
                && (1..=days_in(year, month)).contains(&day)
                && hour < 24
                && minute < 60
                && (second < 60 || leap_second);
            prop_assert_eq!(parse_iso8601(&text).is_some(), valid, "{}", text);
        }

        #[test]
        fn fuzz_parse_iso8601_refuses_trailing_junk(
            millis in 0..END_OF_9999_MS,
            junk in any::<String>().prop_filter("something after the date", |junk| !junk.is_empty()),
        ) {
            let text = format_iso8601(UNIX_EPOCH + Duration::from_millis(millis));
            prop_assert_eq!(parse_iso8601(&format!("{text}{junk}")), None, "{}{}", text, junk);
        }

        #[test]
        fn fuzz_parse_iso8601_survives_any_text(text in any::<String>()) {
            // Whatever it accepts names the same second when written back (a leap
            // second is the next one).
            if let Some(moment) = parse_iso8601(&text) {
                let back = format_iso8601(moment);
                prop_assert!(moment < UNIX_EPOCH + Duration::from_millis(END_OF_9999_MS) + Duration::from_secs(1));
                prop_assert!(back[..19] == text[..19] || &text[17..19] == "60", "{} read as {}", text, back);
                prop_assert_eq!(parse_iso8601(&back), Some(moment));
            }
        }

        #[test]
        fn fuzz_parse_iso8601_survives_near_misses(
            text in "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{0,12})?[Zz+-]?[0-9:]{0,6}"
        ) {
            let ends_right = text.ends_with('Z') && text.matches('Z').count() == 1;
            if parse_iso8601(&text).is_some() {
                prop_assert!(ends_right, "{}", text);
            }
        }
    }
}
