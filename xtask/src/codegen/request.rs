//! A model's request struct, written from the checked schema with `quote` (typify adds
//! nothing here that the generator would not replace): one field per parameter in the
//! schema's order, `Option` for the optional ones, serde attributes that make decoding
//! agree with JSON Schema, and docs from the schema's descriptions and constraints.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::rust::{Runtime, rust_type, summary};
use kling_dialect::{Checked, ObjectDef, Property, Shape};

/// The struct of a model's request.
pub(crate) fn request_struct(checked: &Checked, runtime: Runtime<'_>) -> TokenStream {
    let Some(model) = &checked.model else {
        return TokenStream::new();
    };
    let name = format_ident!("{}", model.rust_name);
    let doc = if model.description.is_empty() {
        format!(" A request for `{}`.", model.id)
    } else {
        format!(" {}", model.description)
    };
    let deny_unknown = (!checked.open_request).then(|| quote!(#[serde(deny_unknown_fields)]));
    let fields = checked
        .properties
        .iter()
        .map(|property| field(checked, property, runtime, Level::Root));
    quote! {
        #[doc = #doc]
        #[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
        #deny_unknown
        #[non_exhaustive]
        pub struct #name {
            #( #fields ),*
        }
    }
}

/// The struct of the items of an array of objects (`ShotsItem`: the parameter's type
/// name and `Item`, as typify names an array's items), one field per field of the items.
pub(crate) fn item_struct(
    checked: &Checked,
    object: &ObjectDef,
    runtime: Runtime<'_>,
) -> TokenStream {
    let name = format_ident!("{}", object.rust_name);
    let doc = match &object.description {
        Some(description) => format!(" {description}"),
        None => format!(" One item of `{}`.", object.field),
    };
    let deny_unknown = (!object.open).then(|| quote!(#[serde(deny_unknown_fields)]));
    let fields = object
        .fields
        .iter()
        .map(|property| field(checked, property, runtime, Level::Item));
    quote! {
        #[doc = #doc]
        #[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
        #deny_unknown
        #[non_exhaustive]
        pub struct #name {
            #( #fields ),*
        }
    }
}

/// Whether a field is a parameter of the request or a field of an item object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Level {
    /// A parameter: the root's rules (`dependencies`, conditions) name it.
    Root,
    /// A field of the items of an array of objects.
    Item,
}

fn field(
    checked: &Checked,
    property: &Property,
    runtime: Runtime<'_>,
    level: Level,
) -> TokenStream {
    let ident = field_ident(&property.json_name);
    let noun = match level {
        Level::Root => "parameter",
        Level::Item => "field",
    };
    let mut docs = vec![match &property.description {
        Some(description) => format!(" {description}"),
        None => format!(" The `{}` {noun}.", property.json_name),
    }];
    for line in summary(checked, property, level) {
        docs.push(String::new());
        docs.push(format!(" {line}"));
    }
    let json_name = &property.json_name;
    let rename = (ident != json_name.as_str()).then(|| quote!(rename = #json_name,));
    let ty = rust_type(checked, &property.shape);
    let integer = matches!(property.shape, Shape::Integer(_));
    // A list of plain integers reads `5.0` as `5` too (an integer enum reads its own).
    let integers = matches!(&property.shape, Shape::Array { items, .. } if matches!(**items, Shape::Integer(_)));
    let rt = runtime.0;
    let (serde, ty) = if property.required {
        let with = match (integer, integers) {
            (true, _) => Some("integer"),
            (_, true) => Some("integers"),
            _ => None,
        }
        .map(|helper| {
            let path = format!("{rt}::__private::de::{helper}");
            quote!(deserialize_with = #path)
        });
        let serde = (rename.is_some() || with.is_some()).then(|| quote!(#[serde(#rename #with)]));
        (serde, ty)
    } else {
        let helper = match (integer, integers) {
            (true, _) => "present_integer",
            (_, true) => "present_integers",
            _ => "present",
        };
        let path = format!("{rt}::__private::de::{helper}");
        (
            Some(quote! {
                #[serde(#rename default, skip_serializing_if = "Option::is_none", deserialize_with = #path)]
            }),
            quote!(Option<#ty>),
        )
    };
    quote! {
        #( #[doc = #docs] )*
        #serde
        pub #ident: #ty
    }
}

/// The Rust field of a parameter: snake_case of its JSON name (`cfgScale` → `cfg_scale`,
/// `HTTPProxy` → `http_proxy`), with `_` after a keyword (`loop` → `loop_`).
pub(crate) fn field_ident(json_name: &str) -> syn::Ident {
    let chars: Vec<char> = json_name.chars().collect();
    let mut name = String::new();
    for (index, &c) in chars.iter().enumerate() {
        if !c.is_ascii_alphanumeric() {
            if !name.is_empty() && !name.ends_with('_') {
                name.push('_');
            }
            continue;
        }
        if c.is_ascii_uppercase() && index > 0 {
            let previous = chars[index - 1];
            let next_is_lower = chars.get(index + 1).is_some_and(char::is_ascii_lowercase);
            let boundary = previous.is_ascii_lowercase()
                || previous.is_ascii_digit()
                || (previous.is_ascii_uppercase() && next_is_lower);
            if boundary && !name.is_empty() && !name.ends_with('_') {
                name.push('_');
            }
        }
        name.push(c.to_ascii_lowercase());
    }
    let name = name.trim_end_matches('_').to_owned();
    let name = if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        format!("_{name}")
    } else {
        name
    };
    if syn::parse_str::<syn::Ident>(&name).is_ok() && name != "self" && name != "Self" {
        format_ident!("{name}")
    } else {
        format_ident!("{name}_")
    }
}

#[cfg(test)]
mod tests {
    use super::field_ident;

    #[test]
    fn fields_are_snake_case_and_never_keywords() {
        let name = |json: &str| field_ident(json).to_string();
        assert_eq!(name("cfgScale"), "cfg_scale");
        assert_eq!(name("referenceImages"), "reference_images");
        assert_eq!(name("HTTPProxy"), "http_proxy");
        assert_eq!(name("seed_value"), "seed_value");
        assert_eq!(name("loop"), "loop_");
        assert_eq!(name("type"), "type_");
        assert_eq!(name("self"), "self_");
        assert_eq!(name("image2"), "image2");
        assert_eq!(name("3d"), "_3d");
    }
}
