//! Micro-benchmarks of the work kling-types does per request and per poll, each side by
//! side with what an untyped client does instead (`cargo bench -p kling-types`;
//! `cargo xtask bench` runs them too and puts the medians in BENCHMARKS.md).
//!
//! - `request_check`: a request's JSON (as `kling batch` reads it) checked against the
//!   model: decoded into the generated type and validated, against the `jsonschema`
//!   crate validating the same JSON with the model's schema.
//! - `request_encode`: a typed request validated and encoded into the body that is
//!   sent, against encoding the same `serde_json::Value`.
//! - `job_decode`: a job response (what every poll receives) decoded into the generated
//!   wire type, against decoding it into a `serde_json::Value`.

#![expect(
    clippy::unwrap_used,
    reason = "a benchmark's fixed inputs are known to be valid"
)]

use std::hint::black_box;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use kling_types::ModelRequest as _;
use kling_types::api::JobResponse;
use kling_types::kling_v1_6_pro::{AspectRatio, DurationValue, Kling16ProRequest, SCHEMA};
use serde_json::{Value, json};

fn request_json() -> Value {
    json!({
        "prompt": "a red fox running through fresh snow at dawn, cinematic, shallow depth of field",
        "negativePrompt": "blurry, low quality",
        "aspectRatio": "16:9",
        "duration": 10,
        "cfgScale": 0.7,
    })
}

fn request_check(c: &mut Criterion) {
    let value = request_json();
    let validator =
        jsonschema::draft7::new(&serde_json::from_str::<Value>(SCHEMA).unwrap()).unwrap();
    assert!(validator.is_valid(&value));
    assert!(
        kling_types::__private::validate_json::<Kling16ProRequest>(value.clone())
            .unwrap()
            .is_valid()
    );
    let mut group = c.benchmark_group("request_check");
    group.bench_function("kling_types", |b| {
        b.iter_batched(
            || value.clone(),
            |value| kling_types::__private::validate_json::<Kling16ProRequest>(black_box(value)),
            BatchSize::SmallInput,
        );
    });
    group.bench_function("jsonschema", |b| {
        b.iter_batched(
            || value.clone(),
            |value| validator.is_valid(black_box(&value)),
            BatchSize::SmallInput,
        );
    });
    group.finish();
}

fn request_encode(c: &mut Criterion) {
    let request = Kling16ProRequest::new(
        "a red fox running through fresh snow at dawn, cinematic, shallow depth of field",
    )
    .with_negative_prompt("blurry, low quality")
    .with_aspect_ratio(AspectRatio::Landscape16x9)
    .with_duration(DurationValue::Seconds10)
    .with_cfg_scale(0.7);
    let value = serde_json::to_value(&request).unwrap();
    assert_eq!(value, request_json());
    let mut group = c.benchmark_group("request_encode");
    group.bench_function("kling_types", |b| {
        b.iter(|| {
            let request = black_box(&request);
            assert!(request.validate().is_valid());
            serde_json::to_vec(request).unwrap()
        });
    });
    group.bench_function("serde_json_value", |b| {
        b.iter(|| serde_json::to_vec(black_box(&value)).unwrap());
    });
    group.finish();
}

fn job_decode(c: &mut Criterion) {
    let body = serde_json::to_vec(&json!({"job": {
        "jobId": "job_7d1f0c2a9b",
        "jobType": "custom",
        "status": "in-progress",
        "progress": 0.42,
        "authorId": "user_5e2b",
        "ownerId": "team_81aa",
        "metadata": {
            "assetIds": [],
            "modelId": "model_kling-v1-6-pro",
            "input": request_json(),
        },
        "statusHistory": [
            {"status": "queued", "date": "2026-11-25T10:00:00.000Z"},
            {"status": "in-progress", "date": "2026-11-25T10:00:04.120Z"},
        ],
        "createdAt": "2026-11-25T10:00:00.000Z",
        "updatedAt": "2026-11-25T10:00:41.870Z",
        "billing": {"cuCost": 40, "cuDiscount": 0},
    }}))
    .unwrap();
    assert!(serde_json::from_slice::<JobResponse>(&body).is_ok());
    let mut group = c.benchmark_group("job_decode");
    group.bench_function("kling_types", |b| {
        b.iter(|| serde_json::from_slice::<JobResponse>(black_box(&body)).unwrap());
    });
    group.bench_function("serde_json_value", |b| {
        b.iter(|| serde_json::from_slice::<Value>(black_box(&body)).unwrap());
    });
    group.finish();
}

criterion_group!(benches, request_check, request_encode, job_decode);
criterion_main!(benches);
