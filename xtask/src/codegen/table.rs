//! The parameter table of a model (`PARAMS`, a `&[Param]` of kling-types): the checked
//! schema as data, for tools that serve every model the same way (the `kling` command's
//! flags and `kling models ID`), so that none of them reads the schema again.

use proc_macro2::{Literal, TokenStream};
use quote::quote;
use serde_json::Value;

use kling_dialect::{Bounds, Checked, IdKind, Property, Rule, Shape, VariantValue};

use super::request::Level;

/// `pub static PARAMS: &[Param] = &[…];` for a checked model schema.
pub(crate) fn params(checked: &Checked) -> TokenStream {
    let request = checked
        .model
        .as_ref()
        .map(|model| model.rust_name.as_str())
        .unwrap_or_default();
    let doc = format!(" The parameters of [`{request}`], in the schema's order.");
    let params = checked
        .properties
        .iter()
        .map(|property| param(checked, property, Level::Root));
    quote! {
        #[doc = #doc]
        pub static PARAMS: &[Param] = &[#( #params ),*];
    }
}

/// The `Param` of a parameter, or of a field of an item object (`level`: the root's
/// rules name parameters only).
fn param(checked: &Checked, property: &Property, level: Level) -> TokenStream {
    let root = level == Level::Root;
    let json_name = &property.json_name;
    let flag = &property.flag;
    let kind = kind(checked, property, &property.shape);
    let mut tokens = quote!(Param::new(#json_name, #flag, #kind));
    if property.required {
        tokens = quote!(#tokens.required());
    }
    if let Some(default) = property
        .default
        .as_ref()
        .and_then(|default| literal(checked, &property.shape, default))
    {
        tokens = quote!(#tokens.with_default(#default));
    }
    if let Some(description) = &property.description {
        tokens = quote!(#tokens.with_description(#description));
    }
    let needs: Vec<&String> = checked
        .dependencies
        .iter()
        .filter(|(field, _)| root && *field == property.json_name)
        .flat_map(|(_, needs)| needs)
        .collect();
    if !needs.is_empty() {
        tokens = quote!(#tokens.with_needs(&[#( #needs ),*]));
    }
    if !property.ignored_when_present.is_empty() {
        let rules = property
            .ignored_when_present
            .iter()
            .map(|(other, reason)| quote!(IgnoredWhen { other: #other, reason: #reason }));
        tokens = quote!(#tokens.with_ignored_when(&[#( #rules ),*]));
    }
    let value_shape = match &property.shape {
        Shape::Array { items, .. } => items,
        shape => shape,
    };
    if let Shape::Integer(bounds) | Shape::Number(bounds) = value_shape
        && let Some(step) = bounds.multiple_of
    {
        let step = Literal::f64_unsuffixed(step);
        tokens = quote!(#tokens.with_multiple_of(#step));
    }
    let rules: Vec<TokenStream> = checked
        .conditions
        .iter()
        .filter(|condition| root && condition.field == property.json_name)
        .map(|condition| match &condition.rule {
            Rule::Absent(other) => quote!(RequiredWhen::Absent { other: #other }),
            Rule::Values(conditions) => {
                let conditions = conditions.iter().map(|(field, values)| {
                    let texts = values.iter().map(Value::to_string);
                    quote!(ValueCondition { field: #field, values: &[#( #texts ),*] })
                });
                quote!(RequiredWhen::Values(&[#( #conditions ),*]))
            }
        })
        .collect();
    if !rules.is_empty() {
        tokens = quote!(#tokens.with_required_when(&[#( #rules ),*]));
    }
    if let Some(asset) = &property.asset
        && (asset.max_size.is_some()
            || asset.min_duration.is_some()
            || asset.max_duration.is_some())
    {
        let max_size = option(asset.max_size.map(Literal::u64_unsuffixed));
        let min_duration = option(asset.min_duration.map(Literal::f64_unsuffixed));
        let max_duration = option(asset.max_duration.map(Literal::f64_unsuffixed));
        tokens = quote!(#tokens.with_file_limits(FileLimits {
            max_size: #max_size,
            min_duration: #min_duration,
            max_duration: #max_duration,
        }));
    }
    if !property.model_types.is_empty() {
        let types = &property.model_types;
        tokens = quote!(#tokens.with_model_types(&[#( #types ),*]));
    }
    if let Some(pattern) = &property.pattern {
        tokens = quote!(#tokens.with_pattern(#pattern));
    }
    if let Some(ui) = &property.ui {
        let text = ui.to_string();
        tokens = quote!(#tokens.with_ui(#text));
    }
    tokens
}

/// The `FileKind` variant of an `x-asset-kind`.
fn file_kind(kind: &str) -> TokenStream {
    match kind {
        "image-hdr" => quote!(FileKind::ImageHdr),
        "video" => quote!(FileKind::Video),
        "audio" => quote!(FileKind::Audio),
        "3d" => quote!(FileKind::ThreeD),
        "document" => quote!(FileKind::Document),
        "json" => quote!(FileKind::Json),
        "text" => quote!(FileKind::Text),
        _ => quote!(FileKind::Image),
    }
}

fn kind(checked: &Checked, property: &Property, shape: &Shape) -> TokenStream {
    match shape {
        Shape::String {
            min_length,
            max_length,
        } => {
            let length = length(*min_length, *max_length);
            quote!(ParamKind::Text(#length))
        }
        Shape::Id(IdKind::Asset) => {
            let file = file_kind(
                property
                    .asset
                    .as_ref()
                    .map_or("image", |asset| asset.kind.as_str()),
            );
            quote!(ParamKind::Asset(#file))
        }
        Shape::Id(IdKind::Job) => quote!(ParamKind::JobId),
        Shape::Id(IdKind::Model) => quote!(ParamKind::ModelId),
        Shape::Enum(index) => {
            let choices = checked.enums[*index].variants.iter().map(|variant| {
                let rust_name = &variant.rust_name;
                let value = match &variant.value {
                    VariantValue::String(text) => quote!(ChoiceValue::Text(#text)),
                    VariantValue::Integer(number) => {
                        let number = Literal::i64_unsuffixed(*number);
                        quote!(ChoiceValue::Integer(#number))
                    }
                    VariantValue::Number(number) => {
                        let number = Literal::f64_unsuffixed(*number);
                        quote!(ChoiceValue::Number(#number))
                    }
                };
                quote!(Choice { value: #value, rust_name: #rust_name })
            });
            quote!(ParamKind::Choice(&[#( #choices ),*]))
        }
        Shape::Integer(bounds) => {
            let bounds = bounds_tokens(bounds);
            quote!(ParamKind::Integer(#bounds))
        }
        Shape::Number(bounds) => {
            let bounds = bounds_tokens(bounds);
            quote!(ParamKind::Number(#bounds))
        }
        Shape::Boolean => quote!(ParamKind::Boolean),
        Shape::Array {
            items,
            min_items,
            max_items,
        } => {
            let items = kind(checked, property, items);
            let count = length(*min_items, *max_items);
            quote!(ParamKind::List { items: &#items, count: #count })
        }
        Shape::Object(index) => {
            let fields = checked.objects[*index]
                .fields
                .iter()
                .map(|field| param(checked, field, Level::Item));
            quote!(ParamKind::Object(&[#( #fields ),*]))
        }
        // Models have no such values (the checker refuses them).
        Shape::Typify => quote!(ParamKind::Text(Length {
            min: None,
            max: None
        })),
    }
}

/// A default as the table holds it; `None` for a value the checker let through that
/// the shape cannot hold (it refuses those: see `check_default`).
fn literal(checked: &Checked, shape: &Shape, default: &Value) -> Option<TokenStream> {
    Some(match shape {
        Shape::String { .. } | Shape::Id(_) => {
            let text = default.as_str()?;
            quote!(Literal::Text(#text))
        }
        Shape::Enum(index) => {
            let index = Literal::usize_unsuffixed(checked.enums[*index].default?);
            quote!(Literal::Choice(#index))
        }
        Shape::Integer(_) => {
            let number = Literal::i64_unsuffixed(default.as_i64()?);
            quote!(Literal::Integer(#number))
        }
        Shape::Number(_) => {
            let number = Literal::f64_unsuffixed(default.as_f64()?);
            quote!(Literal::Number(#number))
        }
        Shape::Boolean => {
            let value = default.as_bool()?;
            quote!(Literal::Boolean(#value))
        }
        Shape::Array { .. } => {
            let text = default.to_string();
            quote!(Literal::List(#text))
        }
        // An object is only ever the items of a list, whose default is the list's.
        Shape::Object(_) | Shape::Typify => return None,
    })
}

fn length(min: Option<u64>, max: Option<u64>) -> TokenStream {
    let (min, max) = (
        option(min.map(Literal::u64_unsuffixed)),
        option(max.map(Literal::u64_unsuffixed)),
    );
    quote!(Length { min: #min, max: #max })
}

fn bounds_tokens(bounds: &Bounds) -> TokenStream {
    let bound = |value: Option<f64>| option(value.map(Literal::f64_unsuffixed));
    let (minimum, maximum) = (bound(bounds.minimum), bound(bounds.maximum));
    let (exclusive_minimum, exclusive_maximum) = (
        bound(bounds.exclusive_minimum),
        bound(bounds.exclusive_maximum),
    );
    quote! {
        Bounds {
            minimum: #minimum,
            maximum: #maximum,
            exclusive_minimum: #exclusive_minimum,
            exclusive_maximum: #exclusive_maximum,
        }
    }
}

fn option(value: Option<Literal>) -> TokenStream {
    match value {
        Some(value) => quote!(Some(#value)),
        None => quote!(None),
    }
}
