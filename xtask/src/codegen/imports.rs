//! Names as a person writes them: generated code says `fmt::Formatter`, `AssetId` and
//! `BTreeMap`, and each file opens with the `use` items for exactly the names it uses
//! (found by walking the code, so none is ever unused). Typify's fully qualified paths
//! are shortened on its syntax tree ([`ShortPaths`]), never in its text.

use std::collections::{BTreeMap, BTreeSet};

use proc_macro2::TokenStream;
use quote::quote;
use serde_json::Value;
use syn::visit_mut::VisitMut;

use super::rust::Runtime;
use kling_dialect::upper_camel;

/// Names generated code uses unqualified, and where each comes from (`None`: the
/// runtime crate; `Some(path)`: a path of std).
const NAMES: &[(&str, Option<&str>)] = &[
    ("fmt", Some("std::fmt")),
    ("FromStr", Some("std::str::FromStr")),
    ("BTreeMap", Some("std::collections::BTreeMap")),
    ("AssetId", None),
    ("Bounds", None),
    ("Choice", None),
    ("ChoiceValue", None),
    ("FileKind", None),
    ("FileLimits", None),
    ("IgnoredWhen", None),
    ("JobId", None),
    ("Length", None),
    ("Literal", None),
    ("ModelId", None),
    ("ModelRequest", None),
    ("Param", None),
    ("ParamKind", None),
    ("ParseEnumError", None),
    ("RequiredWhen", None),
    ("Validation", None),
    ("ValueCondition", None),
];

/// Modules of the runtime's `__private` that generated code names (`checks::number`).
const PRIVATE_MODULES: &[&str] = &["checks", "de"];

/// The `use` items for the names `items` use, std first, then the runtime crate.
pub(crate) fn uses(items: &[syn::Item], runtime: Runtime<'_>) -> Vec<syn::Item> {
    // `visit-mut` is the one visitor syn is built with here; the walk changes nothing.
    let mut used = UsedNames::default();
    for item in items {
        used.visit_item_mut(&mut item.clone());
    }
    let rt = runtime.path();
    let mut tokens = TokenStream::new();
    for (name, path) in NAMES {
        if let (Some(path), true) = (path, used.0.contains(*name)) {
            let path: syn::Path = syn::parse_str(path).unwrap_or_else(|_| syn::parse_quote!(std));
            tokens.extend(quote!(use #path;));
        }
    }
    let private: Vec<syn::Ident> = PRIVATE_MODULES
        .iter()
        .filter(|module| used.0.contains(**module))
        .map(|module| quote::format_ident!("{module}"))
        .collect();
    if !private.is_empty() {
        tokens.extend(quote!(use #rt::__private::{ #( #private ),* };));
    }
    let own: Vec<syn::Ident> = NAMES
        .iter()
        .filter(|(name, path)| path.is_none() && used.0.contains(*name))
        .map(|(name, _)| quote::format_ident!("{name}"))
        .collect();
    if !own.is_empty() {
        tokens.extend(quote!(use #rt::{ #( #own ),* };));
    }
    let file: syn::File = syn::parse2(tokens).unwrap_or_else(|_| syn::File {
        shebang: None,
        attrs: Vec::new(),
        items: Vec::new(),
    });
    file.items
}

/// The first segment of every relative path in the code.
#[derive(Default)]
struct UsedNames(BTreeSet<String>);

impl VisitMut for UsedNames {
    fn visit_path_mut(&mut self, path: &mut syn::Path) {
        if path.leading_colon.is_none()
            && let Some(first) = path.segments.first()
        {
            self.0.insert(first.ident.to_string());
        }
        syn::visit_mut::visit_path_mut(self, path);
    }
}

/// Shortens typify's paths on its syntax tree: `::std::option::Option` → `Option` (and
/// `String`, `Vec`: the prelude), `::std::collections::BTreeMap` → `BTreeMap` (imported),
/// `::serde::…` → `serde::…`; in serde's `skip_serializing_if` paths too.
#[derive(Default)]
pub(crate) struct ShortPaths;

/// Typify's absolute paths and the names a person writes for them.
const SHORTER: &[(&str, &str)] = &[
    ("::std::option::Option", "Option"),
    ("::std::string::String", "String"),
    ("::std::vec::Vec", "Vec"),
    ("::std::collections::BTreeMap", "BTreeMap"),
];

impl ShortPaths {
    /// `path` as a person writes it, or `None` when it already reads well.
    fn shorter(path: &syn::Path) -> Option<syn::Path> {
        path.leading_colon?;
        let segments: Vec<String> = path
            .segments
            .iter()
            .map(|segment| segment.ident.to_string())
            .collect();
        let written = format!("::{}", segments.join("::"));
        let (keep, replacement) = SHORTER
            .iter()
            .find_map(|(long, short)| {
                written
                    .strip_prefix(long)
                    .map(|_| (long.matches("::").count(), *short))
            })
            .or_else(|| {
                ["serde", "serde_json"]
                    .contains(&segments.first()?.as_str())
                    .then_some((0, ""))
            })?;
        let mut shorter = path.clone();
        shorter.leading_colon = None;
        if keep > 0 {
            // Drop the segments the short name stands for, keep the rest (generic arguments
            // and trailing segments like `::is_empty` included).
            let rest: Vec<syn::PathSegment> =
                path.segments.iter().skip(keep - 1).cloned().collect();
            shorter.segments = rest.into_iter().collect();
            if let Some(first) = shorter.segments.first_mut() {
                first.ident = syn::Ident::new(replacement, first.ident.span());
            }
        }
        Some(shorter)
    }
}

impl VisitMut for ShortPaths {
    fn visit_path_mut(&mut self, path: &mut syn::Path) {
        syn::visit_mut::visit_path_mut(self, path);
        if let Some(shorter) = Self::shorter(path) {
            *path = shorter;
        }
    }

    fn visit_attribute_mut(&mut self, attr: &mut syn::Attribute) {
        syn::visit_mut::visit_attribute_mut(self, attr);
        if attr.path().is_ident("derive") {
            let syn::Meta::List(list) = &mut attr.meta else {
                return;
            };
            if let Ok(mut paths) = list.parse_args_with(
                syn::punctuated::Punctuated::<syn::Path, syn::Token![,]>::parse_terminated,
            ) {
                for path in &mut paths {
                    self.visit_path_mut(path);
                }
                list.tokens = quote!(#paths);
            }
            return;
        }
        if !attr.path().is_ident("serde") {
            return;
        }
        let syn::Meta::List(list) = &mut attr.meta else {
            return;
        };
        let Ok(mut metas) = list.parse_args_with(
            syn::punctuated::Punctuated::<syn::Meta, syn::Token![,]>::parse_terminated,
        ) else {
            return;
        };
        for meta in &mut metas {
            let syn::Meta::NameValue(name_value) = meta else {
                continue;
            };
            if !name_value.path.is_ident("skip_serializing_if") {
                continue;
            }
            let syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(text),
                ..
            }) = &mut name_value.value
            else {
                continue;
            };
            if let Some(shorter) = text
                .parse::<syn::Path>()
                .ok()
                .as_ref()
                .and_then(Self::shorter)
            {
                let shorter = quote!(#shorter).to_string().replace(' ', "");
                *text = syn::LitStr::new(&shorter, text.span());
            }
        }
        list.tokens = quote!(#metas);
    }
}

/// The JSON names of the properties of every object type of an api schema, in the
/// schema's order, under each name typify may give the type: the definition's name, an
/// inline object's `title`, or its parent's name and the property's (`JobMetadata`).
pub(crate) fn field_orders(definitions: &Value) -> BTreeMap<String, Vec<String>> {
    let mut orders = BTreeMap::new();
    if let Some(definitions) = definitions.as_object() {
        for (name, definition) in definitions {
            collect_orders(name, definition, &mut orders);
        }
    }
    orders
}

fn collect_orders(name: &str, node: &Value, orders: &mut BTreeMap<String, Vec<String>>) {
    let Some(properties) = node.get("properties").and_then(Value::as_object) else {
        if let Some(items) = node.get("items") {
            collect_orders(&format!("{name}Item"), items, orders);
        }
        return;
    };
    let order: Vec<String> = properties.keys().cloned().collect();
    if let Some(title) = node.get("title").and_then(Value::as_str) {
        orders.insert(upper_camel(title), order.clone());
    }
    orders.insert(name.to_owned(), order);
    for (property, schema) in properties {
        collect_orders(&format!("{name}{}", upper_camel(property)), schema, orders);
    }
}
