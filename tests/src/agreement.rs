//! The generated types plus `validate()` accept exactly the JSON that an independent
//! validator (the `jsonschema` crate, draft-07) accepts for the same schema. A
//! disagreement is a bug in the generator, not in this test.
//!
//! Instances are built from each schema's own properties, with values chosen around
//! every constraint (bounds, lengths, enum members, item counts) mixed with JSON of
//! the wrong type, `null`, integral floats and unknown fields, so that both sides see
//! many valid and many invalid requests.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Map, Value, json};

use kling_types::ModelRequest;
use kling_types::kling_v1_6_pro::Kling16ProRequest;

use crate::fixtures::generated::{
    corpus_lora_image, corpus_reserved_names, corpus_storyboard, corpus_video_edit,
    fixture_keywords, fixture_motion, fixture_plain,
};

/// Decodes into the generated type and validates: what our side accepts.
fn ours<R: ModelRequest + serde::de::DeserializeOwned>(instance: &Value) -> bool {
    serde_json::from_value::<R>(instance.clone()).is_ok_and(|request| request.validate().is_valid())
}

#[track_caller]
fn check(schema_text: &str, ours: fn(&Value) -> bool) {
    let schema: Value = serde_json::from_str(schema_text).unwrap();
    let validator = jsonschema::draft7::new(&schema).unwrap();
    let properties: Vec<(String, Candidates)> = schema["properties"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, property)| (name.clone(), candidates(property)))
        .collect();
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|names| names.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();

    assert_agree_on_instances(
        &properties,
        &required,
        2000,
        100,
        "ours and jsonschema",
        |instance| validator.is_valid(instance),
        ours,
    );
}

/// Builds `cases` instances from the candidates of each property (required ones nearly
/// always present, others three times in eight, and now and then an unknown field), and
/// asserts that `reference` and `other` give each the same verdict, and that both
/// verdicts came up at least `min_each` times (or the comparison proves little).
#[track_caller]
pub(crate) fn assert_agree_on_instances(
    properties: &[(String, Candidates)],
    required: &[&str],
    cases: u32,
    min_each: u32,
    who: &str,
    reference: impl Fn(&Value) -> bool,
    other: impl Fn(&Value) -> bool,
) {
    let picks = (
        prop::collection::vec(
            (0..8u8, 0..10u8, any::<prop::sample::Index>()),
            properties.len(),
        ),
        prop::bool::weighted(0.05),
    );
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let (valid, invalid) = (std::cell::Cell::new(0), std::cell::Cell::new(0));
    runner
        .run(&picks, |(picks, unknown_field)| {
            let mut instance = Map::new();
            for ((name, values), (presence, tier, index)) in properties.iter().zip(&picks) {
                let present = if required.contains(&name.as_str()) {
                    *presence != 0
                } else {
                    *presence >= 5
                };
                if present {
                    instance.insert(name.clone(), values.pick(*tier, *index));
                }
            }
            if unknown_field {
                instance.insert("notAParameter".to_owned(), json!(1));
            }
            let instance = Value::Object(instance);
            let verdict = reference(&instance);
            let counter = if verdict { &valid } else { &invalid };
            counter.set(counter.get() + 1);
            prop_assert_eq!(
                other(&instance),
                verdict,
                "{} disagree on {}",
                who,
                instance
            );
            Ok(())
        })
        .unwrap_or_else(|failure| panic!("{failure}"));
    let (valid, invalid) = (valid.get(), invalid.get());
    assert!(
        valid >= min_each && invalid >= min_each,
        "only {valid} valid and {invalid} invalid instances"
    );
}

/// Candidate values of one property, in three tiers: most instances draw values that
/// fit (so that whole requests are often valid), some draw values at or just beyond a
/// constraint, a few draw JSON of another type.
#[derive(Default)]
pub(crate) struct Candidates {
    pub(crate) fitting: Vec<Value>,
    pub(crate) edge: Vec<Value>,
    pub(crate) junk: Vec<Value>,
}

impl Candidates {
    pub(crate) fn pick(&self, tier: u8, index: prop::sample::Index) -> Value {
        let tiers = [&self.fitting, &self.edge, &self.junk];
        // 0..8 fitting, 8 edge, 9 junk; an empty tier falls back to the next one.
        let first = match tier {
            0..8 => 0,
            8 => 1,
            _ => 2,
        };
        let list = tiers
            .iter()
            .cycle()
            .skip(first)
            .take(3)
            .find(|list| !list.is_empty())
            .unwrap();
        index.get(list).clone()
    }

    fn all(&self) -> impl Iterator<Item = &Value> {
        self.fitting.iter().chain(&self.edge).chain(&self.junk)
    }
}

pub(crate) fn candidates(property: &Value) -> Candidates {
    let mut values = Candidates {
        junk: vec![
            Value::Null,
            json!(true),
            json!(0),
            json!(-7),
            json!(2.5),
            json!("text"),
            json!([]),
            json!({}),
            json!(u64::MAX),
            json!(1e300),
        ],
        ..Candidates::default()
    };
    let single = property.get("const").map(|value| vec![value.clone()]);
    if let Some(members) = single.as_ref().or(property["enum"].as_array()) {
        values.fitting.extend(members.iter().cloned());
        // 24.0 is the integer 24 to JSON Schema.
        values.edge.extend(
            members
                .iter()
                .filter_map(Value::as_i64)
                .map(|number| json!(number as f64)),
        );
        values.edge.extend([json!("not-a-member"), json!(7)]);
        return values;
    }
    match property["type"].as_str() {
        Some("string") if property.get("pattern").is_some() => {
            // Texts that match are the schema's own examples; any other text mostly does not.
            values.fitting.extend(
                property["examples"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .cloned(),
            );
            values.edge.extend([
                json!(""),
                json!("#FF00AA"),
                json!("#ff00aa "),
                json!("ab-12"),
                json!("AB-"),
                json!("é#ff00aa"),
            ]);
        }
        Some("string") => {
            let min = property["minLength"].as_u64().unwrap_or(0) as usize;
            let max = property["maxLength"].as_u64().map(|max| max as usize);
            for length in [
                Some(min),
                Some(min.max(12)).filter(|&mid| max.is_none_or(|max| mid <= max)),
                max,
            ]
            .into_iter()
            .flatten()
            {
                values.fitting.push(json!("x".repeat(length)));
                // Characters, not bytes, are what JSON Schema counts.
                values.fitting.push(json!("é".repeat(length)));
            }
            for length in [min.checked_sub(1), max.map(|max| max + 1)]
                .into_iter()
                .flatten()
            {
                values
                    .edge
                    .extend([json!("x".repeat(length)), json!("é".repeat(length))]);
            }
        }
        Some(kind @ ("integer" | "number")) => {
            let low = property["minimum"]
                .as_f64()
                .or(property["exclusiveMinimum"].as_f64().map(|min| min + 0.5))
                .unwrap_or(-10.0);
            let high = property["maximum"]
                .as_f64()
                .or(property["exclusiveMaximum"].as_f64().map(|max| max - 0.5))
                .unwrap_or(10.0);
            let middle = ((low + high) / 2.0).floor();
            for value in [low, high, middle] {
                if kind == "integer" && value.fract() == 0.0 {
                    values.fitting.push(json!(value as i64));
                }
                values.fitting.push(json!(value));
            }
            if kind == "number" {
                values.fitting.push(json!(low + (high - low) / 3.0));
            }
            if let Some(step) = property["multipleOf"].as_f64() {
                // Values on the step's grid fit; binary sums that miss it (0.1 + 0.2 is
                // 0.30000000000000004) and half steps do not.
                let first = (low / step).ceil();
                let grid: Vec<f64> = [first, first + 1.0, first + 3.0, (high / step).floor()]
                    .into_iter()
                    .map(|k| k * step)
                    .filter(|value| *value <= high)
                    .collect();
                values.fitting.retain(|value| {
                    value.as_f64().is_some_and(|value| {
                        grid.iter().any(|on| on == &value) || (value / step).fract() == 0.0
                    })
                });
                for value in &grid {
                    // The decimal the grid point prints as, as a person writes it.
                    let decimal: f64 = format!("{value:.6}").parse().unwrap();
                    values.fitting.push(json!(decimal));
                    if kind == "integer" && decimal.fract() == 0.0 {
                        values.fitting.push(json!(decimal as i64));
                    }
                    values
                        .edge
                        .extend([json!(value + step / 2.0), json!(decimal + step / 3.0)]);
                }
                values.edge.extend([
                    json!(0.1 + 0.2),
                    json!(step * 3.0),
                    json!(step * 7.0 + 0.01),
                    json!(0),
                ]);
            }
            for key in ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"] {
                if let Some(bound) = property[key].as_f64() {
                    values.edge.extend([
                        json!(bound),
                        json!(bound - 1.0),
                        json!(bound + 1.0),
                        json!(bound - 0.5),
                        json!(bound + 0.5),
                    ]);
                    if bound.fract() == 0.0 && bound.abs() < 1e15 {
                        values.edge.extend([
                            json!(bound as i64),
                            json!(bound as i64 - 1),
                            json!(bound as i64 + 1),
                        ]);
                    }
                }
            }
        }
        Some("boolean") => values.fitting.extend([json!(true), json!(false)]),
        Some("object") => object_candidates(property, &mut values),
        Some("array") => array_candidates(property, &mut values),
        _ => {}
    }
    values
}

/// Lists of items around the item count (each count with fitting items, and mixed
/// with items at an edge or of the wrong type), and one item twice.
fn array_candidates(property: &Value, values: &mut Candidates) {
    let items = candidates(&property["items"]);
    let all_items: Vec<&Value> = items.all().collect();
    let min = property["minItems"].as_u64().unwrap_or(0) as usize;
    let max = property["maxItems"].as_u64().unwrap_or(3) as usize;
    if let Some(first) = items.fitting.first() {
        // Twice the same item: refused where `uniqueItems` is set.
        values.edge.push(json!([first, first]));
        values.fitting.push(json!([first]));
    }
    for length in 0..=max + 1 {
        let fits = length >= min && length <= max;
        for offset in 0..items.fitting.len().max(1) {
            let fitting: Vec<Value> = (0..length)
                .filter_map(|i| {
                    items
                        .fitting
                        .get((offset + i) % items.fitting.len().max(1))
                        .cloned()
                })
                .collect();
            if fitting.len() == length {
                (if fits {
                    &mut values.fitting
                } else {
                    &mut values.edge
                })
                .push(Value::Array(fitting));
            }
        }
        for offset in 0..all_items.len() {
            values.edge.push(Value::Array(
                (0..length)
                    .map(|i| all_items[(offset + i * 7) % all_items.len()].clone())
                    .collect(),
            ));
        }
    }
}

/// The items of an array of objects: objects whose fields draw their own fitting values
/// (the optional ones now and then), and objects with one field at its edge or of the
/// wrong type, a required field missing, or a field the items do not list.
fn object_candidates(property: &Value, values: &mut Candidates) {
    let fields: Vec<(&String, Candidates)> = property["properties"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(name, field)| (name, candidates(field)))
        .collect();
    let required: Vec<&str> = property["required"]
        .as_array()
        .map(|names| names.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let fitting = |round: usize| -> Map<String, Value> {
        fields
            .iter()
            .enumerate()
            .filter(|(index, (name, _))| {
                required.contains(&name.as_str()) || (index + round).is_multiple_of(2)
            })
            .filter_map(|(index, (name, field))| {
                let value = field
                    .fitting
                    .get((index + round) % field.fitting.len().max(1))?;
                Some(((*name).clone(), value.clone()))
            })
            .collect()
    };
    for round in 0..4 {
        values.fitting.push(Value::Object(fitting(round)));
    }
    for (index, (name, field)) in fields.iter().enumerate() {
        for bad in field.edge.iter().chain(field.junk.iter().take(4)) {
            let mut object = fitting(index);
            object.insert((*name).clone(), bad.clone());
            values.edge.push(Value::Object(object));
        }
        if required.contains(&name.as_str()) {
            let mut object = fitting(index);
            object.remove(*name);
            values.edge.push(Value::Object(object));
        }
    }
    let mut unknown = fitting(1);
    unknown.insert("notAField".to_owned(), json!(1));
    values.edge.push(Value::Object(unknown));
}

#[test]
fn kling_agrees_with_jsonschema() {
    check(
        kling_types::kling_v1_6_pro::SCHEMA,
        ours::<Kling16ProRequest>,
    );
}

#[test]
fn fixture_motion_agrees_with_jsonschema() {
    check(
        fixture_motion::SCHEMA,
        ours::<fixture_motion::FixtureMotionRequest>,
    );
}

#[test]
fn fixture_plain_agrees_with_jsonschema() {
    check(
        fixture_plain::SCHEMA,
        ours::<fixture_plain::FixturePlainRequest>,
    );
}

/// The corpus models (Scenario-shaped descriptions imported by `cargo xtask import-model`):
/// asset kinds and limits, model ids, integer and fractional arrays, `multipleOf`,
/// sentinel enums and the root's `allOf` of `if`/`then` conditions.
#[test]
fn corpus_video_edit_agrees_with_jsonschema() {
    check(
        corpus_video_edit::SCHEMA,
        ours::<corpus_video_edit::CorpusVideoEditRequest>,
    );
}

#[test]
fn corpus_lora_image_agrees_with_jsonschema() {
    check(
        corpus_lora_image::SCHEMA,
        ours::<corpus_lora_image::CorpusLoRAImageRequest>,
    );
}

/// Arrays of objects (Scenario's `inputs_array`): each item's fields, required and
/// optional, of every kind, checked by `validate()` and decoding as `jsonschema` checks them.
#[test]
fn corpus_storyboard_agrees_with_jsonschema() {
    check(
        corpus_storyboard::SCHEMA,
        ours::<corpus_storyboard::CorpusStoryboardRequest>,
    );
}

#[test]
fn corpus_reserved_names_agrees_with_jsonschema() {
    check(
        corpus_reserved_names::SCHEMA,
        ours::<corpus_reserved_names::CorpusReservedNamesRequest>,
    );
}

/// Hand-written draft-07 keywords: `const`, `uniqueItems`, `multipleOf` on integer items,
/// and `allOf` conditions written by hand.
#[test]
fn fixture_keywords_agrees_with_jsonschema() {
    check(
        fixture_keywords::SCHEMA,
        ours::<fixture_keywords::FixtureKeywordsRequest>,
    );
}
