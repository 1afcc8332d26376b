//! Turns a checked schema into one Rust file: typify writes the structs from the
//! lowered schema, then this module tidies what typify wrote and adds what it cannot:
//! readable enums, builder-lite constructors, `validate()`, the `ModelRequest` impl.

use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};
use syn::visit_mut::VisitMut;

use serde_json::Value;

use kling_dialect::{
    AssetFacts, Checked, EnumDef, Kind, ObjectDef, Property, Rule, SchemaError, Shape, VariantValue,
};

use super::request::Level;
use super::wording;

/// What the generated code calls the crate holding `Validation`, `AssetId`, …
#[derive(Clone, Copy, Debug)]
pub(crate) struct Runtime<'a>(pub(crate) &'a str);

impl Runtime<'_> {
    pub(crate) fn path(&self) -> TokenStream {
        let ident = format_ident!("{}", self.0);
        quote!(#ident)
    }
}

/// Generates the items of one schema's module (without header or module docs).
pub(crate) fn items(
    checked: &Checked,
    file: &str,
    schema_text: &str,
    runtime: Runtime<'_>,
) -> Result<Vec<syn::Item>, SchemaError> {
    match checked.kind {
        Kind::Model => Ok(model_file(checked, schema_text, runtime)),
        Kind::Api => api_file(checked, file, runtime),
    }
}

/// A model's module: the request struct, its enums, constructors and `validate()`, the
/// schema and the parameter table, all written from the checked schema.
fn model_file(checked: &Checked, schema_text: &str, runtime: Runtime<'_>) -> Vec<syn::Item> {
    let Some(model) = &checked.model else {
        return Vec::new();
    };
    let mut items = parse_items(super::request::request_struct(checked, runtime));
    for object in &checked.objects {
        items.extend(parse_items(super::request::item_struct(
            checked, object, runtime,
        )));
        items.extend(parse_items(item_impl(checked, object)));
    }
    for definition in &checked.enums {
        items.extend(parse_items(enum_items(definition)));
    }
    let name = format_ident!("{}", model.rust_name);
    let fields: Vec<(String, syn::Ident)> = checked
        .properties
        .iter()
        .map(|property| {
            (
                property.json_name.clone(),
                super::request::field_ident(&property.json_name),
            )
        })
        .collect();
    items.extend(parse_items(model_items(checked, &name, &fields)));
    let schema = raw_string(schema_text);
    items.extend(parse_items(quote! {
        /// The JSON Schema this module was generated from, verbatim.
        pub const SCHEMA: &str = #schema;
    }));
    items.extend(parse_items(super::table::params(checked)));
    let mut file_items = super::imports::uses(&items, runtime);
    file_items.extend(items);
    file_items
}

/// An api schema's module: typify writes the structs, [`Tidy`] puts their fields in the
/// schema's order and makes decoding lenient, and the enums are ours (open).
fn api_file(
    checked: &Checked,
    file: &str,
    runtime: Runtime<'_>,
) -> Result<Vec<syn::Item>, SchemaError> {
    let typify_error = |error: &dyn std::fmt::Display| {
        SchemaError {
        file: file.to_owned(),
        pointer: String::new(),
        message: format!("typify could not convert the lowered schema: {error}"),
        help: "this is a bug in crates/kling-dialect/src/check.rs: it let through something typify cannot read".to_owned(),
    }
    };
    let mut settings = typify::TypeSpaceSettings::default();
    settings
        .with_struct_builder(false)
        .with_derive("PartialEq".to_owned())
        // Sorted maps serialize the same way every time.
        .with_map_type("::std::collections::BTreeMap");
    for (name, rust) in &checked.replacements {
        settings.with_replacement(name, rust, std::iter::empty());
    }
    let mut space = typify::TypeSpace::new(&settings);
    let definitions: std::collections::BTreeMap<String, schemars::schema::Schema> =
        serde_json::from_value(checked.lowered["definitions"].clone())
            .map_err(|error| typify_error(&error))?;
    space
        .add_ref_types(definitions)
        .map_err(|error| typify_error(&error))?;
    let file_ast: syn::File =
        syn::parse2(space.to_stream()).map_err(|error| typify_error(&error))?;

    let mut items: Vec<syn::Item> = file_ast.items;
    // Typify's `error` module serves its own conversions, which we replace.
    items.retain(|item| !matches!(item, syn::Item::Mod(module) if module.ident == "error" || module.ident == "defaults"));
    let mut tidy = Tidy {
        runtime,
        orders: super::imports::field_orders(&checked.lowered["definitions"]),
    };
    for item in &mut items {
        tidy.visit_item_mut(item);
    }
    for item in &mut items {
        super::imports::ShortPaths.visit_item_mut(item);
    }
    for definition in &checked.enums {
        items.extend(parse_items(enum_items(definition)));
    }
    let mut file_items = super::imports::uses(&items, runtime);
    file_items.extend(items);
    Ok(file_items)
}

fn parse_items(tokens: TokenStream) -> Vec<syn::Item> {
    // The tokens come from `quote!` in this file; failing to parse them is a bug here.
    #[expect(clippy::expect_used, reason = "generator bug, not user input")]
    let file: syn::File = syn::parse2(tokens).expect("xtask generated Rust that does not parse");
    file.items
}

/// A raw string literal that holds `text`, with enough `#`s.
fn raw_string(text: &str) -> Literal {
    let hashes = "#".repeat(
        (1..)
            .find(|&n| !text.contains(&format!("\"{}", "#".repeat(n))))
            .unwrap_or(1),
    );
    #[expect(
        clippy::expect_used,
        reason = "a raw string with enough hashes always lexes"
    )]
    format!("r{hashes}\"{text}\"{hashes}")
        .parse()
        .expect("raw string literal")
}

fn serde_rename(field: &syn::Field) -> Option<String> {
    let mut rename = None;
    for attr in field
        .attrs
        .iter()
        .filter(|attr| attr.path().is_ident("serde"))
    {
        let _ = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename") {
                rename = Some(meta.value()?.parse::<syn::LitStr>()?.value());
            } else if meta.input.peek(syn::Token![=]) {
                meta.value()?.parse::<syn::Expr>()?;
            }
            Ok(())
        });
    }
    rename
}

/// Tidies typify's items: doc comments with a space after `///`, `#[non_exhaustive]`
/// structs (a field the API gains is then a minor release), fields in the schema's order
/// (typify sorts them by name), and decoding that tolerates `null` for a list or map.
struct Tidy<'a> {
    runtime: Runtime<'a>,
    /// The JSON names of each object type's properties, in the schema's order, by the
    /// names typify may give the type.
    orders: std::collections::BTreeMap<String, Vec<String>>,
}

impl VisitMut for Tidy<'_> {
    fn visit_attribute_mut(&mut self, attr: &mut syn::Attribute) {
        if let syn::Meta::NameValue(syn::MetaNameValue {
            path,
            value:
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(text),
                    ..
                }),
            ..
        }) = &mut attr.meta
        {
            let doc = text.value();
            if path.is_ident("doc") && !doc.starts_with(' ') && !doc.is_empty() {
                *text = syn::LitStr::new(&format!(" {doc}"), text.span());
            }
        }
    }

    fn visit_item_struct_mut(&mut self, item: &mut syn::ItemStruct) {
        syn::visit_mut::visit_item_struct_mut(self, item);
        item.attrs.push(syn::parse_quote!(#[non_exhaustive]));
        let json_name = |field: &syn::Field| {
            serde_rename(field)
                .or_else(|| field.ident.as_ref().map(ToString::to_string))
                .unwrap_or_default()
        };
        for field in &mut item.fields {
            if !field.attrs.iter().any(|attr| attr.path().is_ident("doc")) {
                let doc = format!(" The `{}` field.", json_name(field));
                field.attrs.insert(0, syn::parse_quote!(#[doc = #doc]));
            }
        }
        if let (Some(order), syn::Fields::Named(fields)) =
            (self.orders.get(&item.ident.to_string()), &mut item.fields)
        {
            let mut sorted: Vec<syn::Field> = fields.named.iter().cloned().collect();
            sorted.sort_by_key(|field| order.iter().position(|name| *name == json_name(field)));
            fields.named = sorted.into_iter().collect();
        }
        let runtime = self.runtime.0;
        for field in &mut item.fields {
            let defaulted = field.attrs.iter().any(|attr| {
                attr.path().is_ident("serde")
                    && attr.meta.to_token_stream_string().contains("default")
            });
            let collection = matches!(&field.ty, syn::Type::Path(path)
                if path.path.segments.last().is_some_and(|last| ["Vec", "Map", "BTreeMap"].iter().any(|name| last.ident == name)));
            if defaulted && collection {
                let path = format!("{runtime}::__private::de::null_as_default");
                // One `#[serde(…)]` per field: the helper joins typify's.
                match field
                    .attrs
                    .iter_mut()
                    .find(|attr| attr.path().is_ident("serde"))
                {
                    Some(syn::Attribute {
                        meta: syn::Meta::List(list),
                        ..
                    }) => {
                        let tokens = &list.tokens;
                        list.tokens = quote!(#tokens, deserialize_with = #path);
                    }
                    _ => field
                        .attrs
                        .push(syn::parse_quote!(#[serde(deserialize_with = #path)])),
                }
            }
        }
    }
}

trait ToTokenString {
    fn to_token_stream_string(&self) -> String;
}

impl ToTokenString for syn::Meta {
    fn to_token_stream_string(&self) -> String {
        quote!(#self).to_string()
    }
}

/// The constraints of a parameter (or of a field of an item object: `level`) in words,
/// for its rustdoc.
pub(crate) fn summary(checked: &Checked, property: &Property, level: Level) -> Vec<String> {
    let root = level == Level::Root;
    let mut lines = Vec::new();
    if let Some(line) = shape_summary(checked, &property.shape) {
        lines.push(line);
    }
    if let Some(default) = &property.default {
        lines.push(format!(
            "Left out, the API uses {}.",
            rust_value(checked, &property.shape, default)
        ));
    }
    for (field, needs) in checked.dependencies.iter().filter(|_| root) {
        if *field == property.json_name {
            let needs: Vec<String> = needs.iter().map(|need| format!("`{need}`")).collect();
            lines.push(format!("Requires {}.", needs.join(" and ")));
        }
    }
    for (other, why) in &property.ignored_when_present {
        lines.push(format!("Ignored when `{other}` is set: {why}."));
    }
    for condition in checked
        .conditions
        .iter()
        .filter(|condition| root && condition.field == property.json_name)
    {
        lines.push(condition_summary(&condition.rule));
    }
    if let Some(asset) = property.asset.as_ref().filter(|asset| {
        asset.kind != "image"
            || asset.max_size.is_some()
            || asset.min_duration.is_some()
            || asset.max_duration.is_some()
    }) {
        lines.push(asset_summary(asset));
    }
    if property.unique_items {
        lines.push("No item may appear twice.".to_owned());
    }
    if let Some(pattern) = &property.pattern {
        lines.push(format!("Matches `{pattern}`."));
    }
    if !property.model_types.is_empty() {
        let types: Vec<String> = property
            .model_types
            .iter()
            .map(|kind| format!("`{kind}`"))
            .collect();
        lines.push(format!("Takes models of type {}.", types.join(", ")));
    }
    lines
}

/// "Required when …", for the docs.
pub(crate) fn condition_summary(rule: &Rule) -> String {
    match rule {
        Rule::Absent(other) => format!("Required when `{other}` is left out."),
        Rule::Values(conditions) => {
            let parts: Vec<String> = conditions
                .iter()
                .map(|(other, values)| {
                    let values: Vec<String> =
                        values.iter().map(|value| format!("`{value}`")).collect();
                    match values.as_slice() {
                        [one] => format!("`{other}` is {one}"),
                        _ => format!("`{other}` is one of {}", values.join(", ")),
                    }
                })
                .collect();
            format!("Required when {}.", parts.join(" and "))
        }
    }
}

/// The kind and limits of an asset, for the docs: "An asset of kind `video`: at most
/// 10485760 bytes, 2 to 10 s long."
fn asset_summary(asset: &AssetFacts) -> String {
    let kind = format!("An asset of kind `{}`", asset.kind);
    match wording::file(asset.max_size, asset.min_duration, asset.max_duration) {
        Some(limits) => format!("{kind}: {limits}."),
        None => format!("{kind}."),
    }
}

/// A default as a Rust value in docs: [`AspectRatio::Landscape16x9`], `0.5`, `""`.
fn rust_value(checked: &Checked, shape: &Shape, default: &serde_json::Value) -> String {
    match (shape, default) {
        (Shape::Enum(index), _) => {
            let definition = &checked.enums[*index];
            match definition
                .default
                .and_then(|at| definition.variants.get(at))
            {
                Some(variant) => format!("[`{}::{}`]", definition.rust_name, variant.rust_name),
                None => format!("`{default}`"),
            }
        }
        (Shape::Number(_), serde_json::Value::Number(number)) => match number.as_f64() {
            Some(value) if value.fract() == 0.0 && value.abs() < 1e15 => format!("`{value:.1}`"),
            _ => format!("`{number}`"),
        },
        (Shape::Array { .. }, serde_json::Value::Array(items)) if items.is_empty() => {
            "an empty list".to_owned()
        }
        _ => format!("`{default}`"),
    }
}

/// A property's limits as one sentence of its docs, worded as `kling generate --help`
/// words them (`wording`, kling-types' own file): "Between 0 and 1, in steps of 0.05.",
/// "1 to 2500 characters.", "One of `16:9`, `9:16`.", "At most 4 items. Each: …".
fn shape_summary(checked: &Checked, shape: &Shape) -> Option<String> {
    match shape {
        Shape::String {
            min_length,
            max_length,
        } => wording::sentence(wording::count(*min_length, *max_length, "character")),
        Shape::Integer(bounds) | Shape::Number(bounds) => wording::sentence(
            wording::range(
                bounds.minimum,
                bounds.maximum,
                bounds.exclusive_minimum,
                bounds.exclusive_maximum,
            )
            .into_iter()
            .chain(bounds.multiple_of.map(wording::steps)),
        ),
        Shape::Enum(index) => {
            let values: Vec<String> = checked.enums[*index]
                .variants
                .iter()
                .map(|variant| format!("`{}`", variant.value.text()))
                .collect();
            Some(format!("One of {}.", values.join(", ")))
        }
        Shape::Array {
            items,
            min_items,
            max_items,
        } => {
            let count = wording::sentence(wording::count(*min_items, *max_items, "item"));
            let each = shape_summary(checked, items)
                .map(|line| format!("Each: {}{}", line[..1].to_lowercase(), &line[1..]));
            match (count, each) {
                (Some(count), Some(each)) => Some(format!("{count} {each}")),
                (count, each) => count.or(each),
            }
        }
        Shape::Id(_) | Shape::Boolean | Shape::Object(_) | Shape::Typify => None,
    }
}

/// What every generated enum is made of.
struct EnumParts {
    name: syn::Ident,
    field: String,
    doc: String,
    variants: Vec<syn::Ident>,
    texts: Vec<String>,
    variant_attrs: Vec<TokenStream>,
    default_derive: Option<TokenStream>,
}

/// One enum of the schema: open (api: unknown values kept in `Other`), or closed with
/// integer or string values (models).
fn enum_items(definition: &EnumDef) -> TokenStream {
    let name = format_ident!("{}", definition.rust_name);
    let field = &definition.field;
    let doc = definition
        .description
        .clone()
        .unwrap_or_else(|| format!("The values of `{field}`."));
    let doc = format!(" {doc}");
    let variants: Vec<syn::Ident> = definition
        .variants
        .iter()
        .map(|variant| format_ident!("{}", variant.rust_name))
        .collect();
    let texts: Vec<String> = definition
        .variants
        .iter()
        .map(|variant| variant.value.text())
        .collect();
    // The API's default is the enum's `Default`: `#[default]` on its variant.
    let variant_attrs: Vec<TokenStream> = texts
        .iter()
        .enumerate()
        .map(|(index, text)| {
            if definition.default == Some(index) {
                let doc =
                    format!(" `{text}`, the value the API uses when the parameter is left out.");
                quote!(#[doc = #doc] #[default])
            } else {
                let doc = format!(" `{text}`");
                quote!(#[doc = #doc])
            }
        })
        .collect();
    let default_derive = definition.default.map(|_| quote!(Default,));

    let parts = EnumParts {
        name,
        field: field.clone(),
        doc,
        variants,
        texts,
        variant_attrs,
        default_derive,
    };
    if definition.open {
        return open_enum(parts);
    }
    match definition.variants.first().map(|variant| &variant.value) {
        Some(VariantValue::Integer(_)) => integer_enum(definition, parts),
        Some(VariantValue::Number(_)) => number_enum(definition, parts),
        _ => string_enum(parts),
    }
}

/// An api enum: a value this version does not know decodes as `Other`.
fn open_enum(parts: EnumParts) -> TokenStream {
    let EnumParts {
        name,
        doc,
        variants,
        texts,
        variant_attrs,
        default_derive,
        ..
    } = parts;
    quote! {
        #[doc = #doc]
        ///
        /// Open: a value this version does not know decodes as [`Self::Other`], so a
        /// newer server never breaks decoding.
        #[derive(Clone, Debug, #default_derive PartialEq, Eq, Hash)]
        pub enum #name {
            #( #variant_attrs #variants, )*
            /// A value this version does not know.
            Other(String),
        }
        impl #name {
            /// The value as the API spells it.
            pub fn as_str(&self) -> &str {
                match self {
                    #( Self::#variants => #texts, )*
                    Self::Other(value) => value,
                }
            }
        }
        impl From<&str> for #name {
            fn from(value: &str) -> Self {
                match value {
                    #( #texts => Self::#variants, )*
                    other => Self::Other(other.to_owned()),
                }
            }
        }
        impl From<String> for #name {
            fn from(value: String) -> Self {
                match value.as_str() {
                    #( #texts => Self::#variants, )*
                    _ => Self::Other(value),
                }
            }
        }
        impl FromStr for #name {
            type Err = std::convert::Infallible;
            fn from_str(value: &str) -> Result<Self, Self::Err> {
                Ok(Self::from(value))
            }
        }
        impl fmt::Display for #name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl serde::Serialize for #name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }
        impl<'de> serde::Deserialize<'de> for #name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                String::deserialize(deserializer).map(Self::from)
            }
        }
    }
}

/// What both kinds of closed enum have: `FromStr` from the value as the API spells it,
/// and `ALL`, `VALUES`.
fn closed_parts(parts: &EnumParts) -> (TokenStream, TokenStream) {
    let EnumParts {
        name,
        field,
        variants,
        texts,
        ..
    } = parts;
    // Closed enums parse from the value as the API spells it (`"16:9"`, `"10"`).
    let from_str = quote! {
        impl FromStr for #name {
            type Err = ParseEnumError;
            fn from_str(value: &str) -> Result<Self, Self::Err> {
                match value {
                    #( #texts => Ok(Self::#variants), )*
                    _ => Err(ParseEnumError::new(#field, value, Self::VALUES)),
                }
            }
        }
    };
    let consts = quote! {
        /// Every value, in the schema's order.
        pub const ALL: &[Self] = &[#( Self::#variants ),*];
        /// The allowed values as the API spells them.
        pub const VALUES: &[&str] = &[#( #texts ),*];
    };
    (from_str, consts)
}

/// A model enum of integers (`duration`: 5, 10).
fn integer_enum(definition: &EnumDef, parts: EnumParts) -> TokenStream {
    let (from_str, consts) = closed_parts(&parts);
    let EnumParts {
        name,
        field,
        doc,
        variants,
        variant_attrs,
        default_derive,
        ..
    } = parts;
    let numbers: Vec<Literal> = definition
        .variants
        .iter()
        .map(|variant| match variant.value {
            VariantValue::Integer(number) => Literal::i64_unsuffixed(number),
            VariantValue::String(_) | VariantValue::Number(_) => Literal::i64_unsuffixed(0),
        })
        .collect();
    quote! {
    #[doc = #doc]
    #[derive(Clone, Copy, Debug, #default_derive PartialEq, Eq, Hash)]
    #[non_exhaustive]
    pub enum #name {
        #( #variant_attrs #variants, )*
    }
    impl #name {
        #consts
        /// The value as the API sends it.
        pub fn value(self) -> i64 {
            match self {
                #( Self::#variants => #numbers, )*
            }
        }
    }
    impl TryFrom<i64> for #name {
        type Error = ParseEnumError;
        fn try_from(value: i64) -> Result<Self, Self::Error> {
            match value {
                #( #numbers => Ok(Self::#variants), )*
                _ => Err(ParseEnumError::new(#field, value.to_string(), Self::VALUES)),
            }
        }
    }
    #from_str
    impl fmt::Display for #name {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "{}", self.value())
        }
    }
    impl serde::Serialize for #name {
        fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            serializer.serialize_i64(self.value())
        }
    }
    impl<'de> serde::Deserialize<'de> for #name {
        fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            let value = de::integer(deserializer)?;
            Self::try_from(value).map_err(serde::de::Error::custom)
        }
    }
    }
}

/// A model enum of numbers with fractions (`guidance`: 0.5, 1, 1.5): sent as a JSON
/// number, read from any number equal to a member (`1` and `1.0` alike).
fn number_enum(definition: &EnumDef, parts: EnumParts) -> TokenStream {
    let (from_str, consts) = closed_parts(&parts);
    let EnumParts {
        name,
        field,
        doc,
        variants,
        texts,
        variant_attrs,
        default_derive,
    } = parts;
    let numbers: Vec<Literal> = definition
        .variants
        .iter()
        .map(|variant| match variant.value {
            VariantValue::Number(number) => Literal::f64_unsuffixed(number),
            VariantValue::Integer(number) => Literal::f64_unsuffixed(number as f64),
            VariantValue::String(_) => Literal::f64_unsuffixed(0.0),
        })
        .collect();
    quote! {
    #[doc = #doc]
    #[derive(Clone, Copy, Debug, #default_derive PartialEq, Eq, Hash)]
    #[non_exhaustive]
    pub enum #name {
        #( #variant_attrs #variants, )*
    }
    impl #name {
        #consts
        /// The value as the API sends it.
        pub fn value(self) -> f64 {
            match self {
                #( Self::#variants => #numbers, )*
            }
        }
        /// The member equal to `value`, if any.
        pub fn from_value(value: f64) -> Option<Self> {
            Self::ALL.iter().copied().find(|member| member.value() == value)
        }
    }
    #from_str
    impl fmt::Display for #name {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(match self {
                #( Self::#variants => #texts, )*
            })
        }
    }
    impl serde::Serialize for #name {
        fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            serializer.serialize_f64(self.value())
        }
    }
    impl<'de> serde::Deserialize<'de> for #name {
        fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            let value = f64::deserialize(deserializer)?;
            Self::from_value(value).ok_or_else(|| {
                serde::de::Error::custom(ParseEnumError::new(#field, value.to_string(), Self::VALUES))
            })
        }
    }
    }
}

/// A model enum of strings (`aspectRatio`: `16:9`, …).
fn string_enum(parts: EnumParts) -> TokenStream {
    let (from_str, consts) = closed_parts(&parts);
    let EnumParts {
        name,
        doc,
        variants,
        texts,
        variant_attrs,
        default_derive,
        ..
    } = parts;
    quote! {
        #[doc = #doc]
        #[derive(Clone, Copy, Debug, #default_derive PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[non_exhaustive]
        pub enum #name {
            #( #variant_attrs #[serde(rename = #texts)] #variants, )*
        }
        impl #name {
            #consts
            /// The value as the API spells it.
            pub fn as_str(self) -> &'static str {
                match self {
                    #( Self::#variants => #texts, )*
                }
            }
        }
        #from_str
        impl fmt::Display for #name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    }
}

pub(crate) fn rust_type(checked: &Checked, shape: &Shape) -> TokenStream {
    match shape {
        Shape::String { .. } => quote!(String),
        Shape::Id(id) => {
            let id = format_ident!("{}", id.type_name());
            quote!(#id)
        }
        Shape::Enum(index) => {
            let name = format_ident!("{}", checked.enums[*index].rust_name);
            quote!(#name)
        }
        Shape::Integer(_) => quote!(i64),
        Shape::Number(_) => quote!(f64),
        Shape::Boolean => quote!(bool),
        Shape::Array { items, .. } => {
            let items = rust_type(checked, items);
            quote!(Vec<#items>)
        }
        Shape::Object(index) => {
            let name = format_ident!("{}", checked.objects[*index].rust_name);
            quote!(#name)
        }
        Shape::Typify => quote!(serde_json::Value),
    }
}

/// A parameter's type in a constructor or setter, and how to turn the argument into the field.
fn argument(checked: &Checked, shape: &Shape, name: &syn::Ident) -> (TokenStream, TokenStream) {
    let ty = rust_type(checked, shape);
    match shape {
        Shape::String { .. } | Shape::Id(_) => (quote!(impl Into<#ty>), quote!(#name.into())),
        Shape::Array { items, .. } => {
            let items = rust_type(checked, items);
            (
                quote!(impl IntoIterator<Item = #items>),
                quote!(#name.into_iter().collect()),
            )
        }
        _ => (ty, quote!(#name)),
    }
}

fn model_items(
    checked: &Checked,
    name: &syn::Ident,
    fields: &[(String, syn::Ident)],
) -> TokenStream {
    let Some(model) = &checked.model else {
        return TokenStream::new();
    };
    let model_id = &model.id;
    let (new_fn, setters) = builder(checked, &checked.properties, "A request");
    let checks = validation_checks(checked, fields);
    let validate_body = if checks.is_empty() {
        quote!(Validation::new())
    } else {
        quote! {
            let mut validation = Validation::new();
            #( #checks )*
            validation
        }
    };

    quote! {
        impl #name {
            #new_fn
            #setters
        }
        impl ModelRequest for #name {
            const MODEL_ID: &'static str = #model_id;
            fn validate(&self) -> Validation {
                #validate_body
            }
        }
    }
}

/// `new` (its arguments the required members) and one `with_*` setter per optional
/// member, of a request (`what`: "A request") or an item object ("An item").
fn builder(checked: &Checked, members: &[Property], what: &str) -> (TokenStream, TokenStream) {
    let mut new_params = Vec::new();
    let mut new_fields = Vec::new();
    let mut setters = Vec::new();
    for property in members {
        let field = super::request::field_ident(&property.json_name);
        let (ty, convert) = argument(checked, &property.shape, &field);
        if property.required {
            new_params.push(quote!(#field: #ty));
            // `Self { fps }`, not `Self { fps: fps }`.
            let passed_as_is = field == convert.to_string();
            new_fields.push(if passed_as_is {
                quote!(#field)
            } else {
                quote!(#field: #convert)
            });
        } else {
            new_fields.push(quote!(#field: None));
            let setter = format_ident!("with_{}", field.to_string().trim_end_matches('_'));
            // What the member means and allows is said once, on its field.
            let doc = format!(" Sets [`{field}`](Self::{field}).");
            setters.push(quote! {
                #[doc = #doc]
                #[must_use]
                pub fn #setter(mut self, #field: #ty) -> Self {
                    self.#field = Some(#convert);
                    self
                }
            });
        }
    }
    let required: Vec<String> = members
        .iter()
        .filter(|property| property.required)
        .map(|property| format!("`{}`", property.json_name))
        .collect();
    let (rest, defaults) = if what == "A request" {
        ("parameter", " (the API applies its defaults)")
    } else {
        ("field", "")
    };
    let new_doc = if required.is_empty() {
        format!(" {what} with every {rest} left out{defaults}.")
    } else {
        format!(
            " {what} with its required {}; every other {rest} left out{defaults}.",
            required.join(" and ")
        )
    };
    let new_fn = quote! {
        #[doc = #new_doc]
        pub fn new(#( #new_params ),*) -> Self {
            Self { #( #new_fields ),* }
        }
    };
    (new_fn, quote!(#( #setters )*))
}

/// `new` and the setters of an item object (its checks are the request's `validate()`).
fn item_impl(checked: &Checked, object: &ObjectDef) -> TokenStream {
    let name = format_ident!("{}", object.rust_name);
    let (new_fn, setters) = builder(checked, &object.fields, "An item");
    quote! {
        impl #name {
            #new_fn
            #setters
        }
    }
}

/// The checks of each parameter's value (when it is set).
fn parameter_checks(
    checked: &Checked,
    field_of: &dyn Fn(&str) -> Option<syn::Ident>,
) -> Vec<TokenStream> {
    let mut checks = Vec::new();
    for property in &checked.properties {
        let Some(field) = field_of(&property.json_name) else {
            continue;
        };
        let value_checks = value_checks(
            checked,
            property,
            &quote!(value),
            Name::Literal(&property.json_name),
        );
        if value_checks.is_empty() {
            continue;
        }
        checks.push(if property.required {
            quote! { let value = &self.#field; #value_checks }
        } else {
            quote! { if let Some(value) = &self.#field { #value_checks } }
        });
    }
    checks
}

fn validation_checks(checked: &Checked, fields: &[(String, syn::Ident)]) -> Vec<TokenStream> {
    let field_of = |json_name: &str| {
        fields
            .iter()
            .find(|(json, _)| json == json_name)
            .map(|(_, ident)| ident.clone())
    };
    let property_of = |json_name: &str| {
        checked
            .properties
            .iter()
            .find(|property| property.json_name == json_name)
    };
    // `None` when the field is required, i.e. always present.
    let presence = |json_name: &str, present: bool| -> Option<TokenStream> {
        let property = property_of(json_name)?;
        let field = field_of(json_name)?;
        let test = if present {
            quote!(is_some)
        } else {
            quote!(is_none)
        };
        (!property.required).then(|| quote!(self.#field.#test()))
    };

    let mut checks = parameter_checks(checked, &field_of);
    for (field, needs) in &checked.dependencies {
        for need in needs {
            let Some(need_absent) = presence(need, false) else {
                continue;
            };
            let condition = match presence(field, true) {
                Some(field_present) => quote!(#field_present && #need_absent),
                None => need_absent,
            };
            checks.push(quote! {
                if #condition {
                    checks::requires(&mut validation, #field, #need);
                }
            });
        }
    }
    for condition in &checked.conditions {
        let field = &condition.field;
        let Some(absent) = presence(field, false) else {
            continue;
        };
        match &condition.rule {
            Rule::Absent(other) => {
                let Some(other_absent) = presence(other, false) else {
                    continue;
                };
                checks.push(quote! {
                    if #absent && #other_absent {
                        checks::required_unless(&mut validation, #field, #other);
                    }
                });
            }
            Rule::Values(conditions) => {
                let tests = conditions.iter().filter_map(|(other, values)| {
                    let ident = field_of(other)?;
                    let texts: Vec<String> = values.iter().map(Value::to_string).collect();
                    Some(if property_of(other)?.required {
                        quote!(checks::is_one_of(&self.#ident, &[#( #texts ),*]))
                    } else {
                        quote!(self.#ident.as_ref().is_some_and(|value| checks::is_one_of(value, &[#( #texts ),*])))
                    })
                });
                let Some((first, values)) = conditions.first() else {
                    continue;
                };
                let texts: Vec<String> = values.iter().map(Value::to_string).collect();
                checks.push(quote! {
                    if #absent #( && #tests )* {
                        checks::required_when(&mut validation, #field, #first, &[#( #texts ),*]);
                    }
                });
            }
        }
    }
    for property in &checked.properties {
        for (other, why) in &property.ignored_when_present {
            let json_name = &property.json_name;
            let conditions: Vec<TokenStream> = [presence(json_name, true), presence(other, true)]
                .into_iter()
                .flatten()
                .collect();
            let warn = quote!(checks::ignored(&mut validation, #json_name, #other, #why););
            checks.push(if conditions.is_empty() {
                warn
            } else {
                quote! { if #( #conditions )&&* { #warn } }
            });
        }
    }
    checks
}

/// How the checks of a value name it in findings: a parameter by its JSON name, or by
/// the text the variable `field` holds (an item, `shots[1]`, or an item's field,
/// `shots[1].seconds`).
#[derive(Clone, Copy, Debug)]
enum Name<'a> {
    Literal(&'a str),
    Variable,
}

impl Name<'_> {
    /// The expression naming the value (`"cfgScale"`, `&field`).
    fn expr(self) -> TokenStream {
        match self {
            Self::Literal(json_name) => quote!(#json_name),
            Self::Variable => quote!(&field),
        }
    }

    /// The `format!` string naming a part of the value (`suffix`: `[{index}]`, `.seconds`).
    fn format(self, suffix: &str) -> String {
        match self {
            Self::Literal(json_name) => {
                format!(
                    "{}{suffix}",
                    json_name.replace('{', "{{").replace('}', "}}")
                )
            }
            Self::Variable => format!("{{field}}{suffix}"),
        }
    }
}

/// Every check of a parameter's or an item field's value (`value` is a reference to it):
/// its shape's, `uniqueItems` and `pattern`.
fn value_checks(
    checked: &Checked,
    property: &Property,
    value: &TokenStream,
    name: Name<'_>,
) -> TokenStream {
    let mut checks = shape_checks(checked, &property.shape, value, name);
    let field = name.expr();
    if property.unique_items {
        checks.extend(quote!(checks::unique_items(&mut validation, #field, #value);));
    }
    if let Some(pattern) = &property.pattern {
        checks.extend(quote!(checks::pattern(&mut validation, #field, #value, #pattern);));
    }
    checks
}

/// Checks of one value (`value` is a reference to it, `name` how findings name it);
/// empty when the shape has no constraints.
fn shape_checks(
    checked: &Checked,
    shape: &Shape,
    value: &TokenStream,
    name: Name<'_>,
) -> TokenStream {
    let field = name.expr();
    let count = |limit: &Option<u64>| match limit {
        Some(limit) => {
            let limit = Literal::u64_unsuffixed(*limit);
            quote!(Some(#limit))
        }
        None => quote!(None),
    };
    let bound = |limit: Option<f64>| match limit {
        Some(limit) => {
            let limit = Literal::f64_unsuffixed(limit);
            quote!(Some(#limit))
        }
        None => quote!(None),
    };
    match shape {
        Shape::String {
            min_length,
            max_length,
        } if min_length.is_some() || max_length.is_some() => {
            let (min, max) = (count(min_length), count(max_length));
            quote!(checks::string_length(&mut validation, #field, #value, #min, #max);)
        }
        Shape::Integer(bounds) | Shape::Number(bounds) if !bounds.is_empty() => {
            let as_f64 = if matches!(shape, Shape::Integer(_)) {
                quote!(*#value as f64)
            } else {
                quote!(*#value)
            };
            let (minimum, maximum) = (bound(bounds.minimum), bound(bounds.maximum));
            let (exclusive_minimum, exclusive_maximum) = (
                bound(bounds.exclusive_minimum),
                bound(bounds.exclusive_maximum),
            );
            let range = bounds.has_range().then(|| {
                quote! {
                    checks::number(&mut validation, #field, #as_f64, &Bounds {
                        minimum: #minimum,
                        maximum: #maximum,
                        exclusive_minimum: #exclusive_minimum,
                        exclusive_maximum: #exclusive_maximum,
                    });
                }
            });
            let step = bounds.multiple_of.map(|step| {
                let step = Literal::f64_unsuffixed(step);
                quote!(checks::multiple_of(&mut validation, #field, #as_f64, #step);)
            });
            quote!(#range #step)
        }
        Shape::Array {
            items,
            min_items,
            max_items,
        } => {
            let count_check = (min_items.is_some() || max_items.is_some()).then(|| {
                let (min, max) = (count(min_items), count(max_items));
                quote!(checks::item_count(&mut validation, #field, #value.len(), #min, #max);)
            });
            let item_checks = shape_checks(checked, items, &quote!(item), Name::Variable);
            let item_field = name.format("[{index}]");
            let item_loop = (!item_checks.is_empty()).then(|| {
                quote! {
                    for (index, item) in #value.iter().enumerate() {
                        let field = format!(#item_field);
                        #item_checks
                    }
                }
            });
            quote!(#count_check #item_loop)
        }
        Shape::Object(index) => object_checks(checked, &checked.objects[*index], value, name),
        _ => TokenStream::new(),
    }
}

/// Checks of each field of an item object (`value` is a reference to the item, `name` how
/// findings name it): `shots[1].seconds`.
fn object_checks(
    checked: &Checked,
    object: &ObjectDef,
    value: &TokenStream,
    name: Name<'_>,
) -> TokenStream {
    object
        .fields
        .iter()
        .map(|member| {
            let checks = value_checks(checked, member, &quote!(value), Name::Variable);
            if checks.is_empty() {
                return TokenStream::new();
            }
            let ident = super::request::field_ident(&member.json_name);
            let member_field = name.format(&format!(
                ".{}",
                member.json_name.replace('{', "{{").replace('}', "}}")
            ));
            if member.required {
                quote! {
                    {
                        let value = &#value.#ident;
                        let field = format!(#member_field);
                        #checks
                    }
                }
            } else {
                quote! {
                    if let Some(value) = &#value.#ident {
                        let field = format!(#member_field);
                        #checks
                    }
                }
            }
        })
        .collect()
}
