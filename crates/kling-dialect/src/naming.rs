//! How the dialect names things in Rust and on the command line: the request struct of a
//! model, an enum's type and variants, a module, a flag. The generator, `schema-diff` and the
//! importer all name through these functions, so a name is decided once.

/// The request struct's name for a model's `title` (or its id, without one):
/// `Kling 1.6 Pro` → `Kling16ProRequest`.
pub fn request_type_name(title: &str) -> String {
    format!("{}Request", upper_camel(title.trim_start_matches("model_")))
}

/// Names of std types that users import, which a generated type must not take: a
/// `duration` parameter's enum would otherwise shadow `std::time::Duration`.
const STD_NAMES: &[&str] = &[
    "Arc",
    "Box",
    "Cell",
    "Cow",
    "Duration",
    "Error",
    "File",
    "Instant",
    "Option",
    "Ordering",
    "Path",
    "PathBuf",
    "Range",
    "Rc",
    "RefCell",
    "Result",
    "String",
    "SystemTime",
    "Vec",
];

/// The type a model parameter's own type (its enum) is named: `aspectRatio` →
/// `AspectRatio`, `duration` → `DurationValue` (not std's `Duration`).
pub fn property_type_name(name: &str) -> String {
    let type_name = upper_camel(name);
    if STD_NAMES.contains(&type_name.as_str()) {
        format!("{type_name}Value")
    } else {
        type_name
    }
}

/// `aspectRatio` → `AspectRatio`, `Kling 1.6 Pro` → `Kling16Pro`, `in-progress` → `InProgress`.
pub fn upper_camel(text: &str) -> String {
    let mut out = String::new();
    let mut capitalize = true;
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            if capitalize {
                out.push(c.to_ascii_uppercase());
            } else {
                out.push(c);
            }
            capitalize = false;
        } else {
            capitalize = true;
        }
    }
    out
}

/// A variant name for an enum value when the schema gives none: `in-progress` →
/// `InProgress`, `16:9` → `V16_9`, `5` → `V5` (a name cannot start with a digit, and
/// digits on both sides of a separator keep an underscore so `1:10` and `11:0` differ).
pub fn variant_name(value: &str) -> String {
    let mut out = String::new();
    let mut capitalize = true;
    let mut pending_separator = false;
    for c in value.chars() {
        if !c.is_ascii_alphanumeric() {
            pending_separator = true;
            capitalize = true;
            continue;
        }
        if pending_separator
            && c.is_ascii_digit()
            && out.ends_with(|last: char| last.is_ascii_digit())
        {
            out.push('_');
        }
        pending_separator = false;
        out.push(if capitalize {
            c.to_ascii_uppercase()
        } else {
            c
        });
        capitalize = false;
    }
    // `-1` (Scenario's "auto" sentinel) must not read as `1`.
    if value.starts_with('-') && value[1..].starts_with(|first: char| first.is_ascii_digit()) {
        out.insert_str(0, "Minus");
    }
    if out.is_empty() || out.starts_with(|first: char| first.is_ascii_digit()) {
        out.insert(0, 'V');
    }
    out
}

pub(crate) fn is_upper_camel_ident(name: &str) -> bool {
    name.starts_with(|first: char| first.is_ascii_uppercase())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name != "Self"
}

/// A parameter's flag when the schema names none: `cfgScale` → `cfg-scale`,
/// `seed_value` → `seed-value`.
pub fn kebab(name: &str) -> String {
    let mut flag = String::new();
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            flag.push('-');
            flag.push(c.to_ascii_lowercase());
        } else if c == '_' {
            flag.push('-');
        } else {
            flag.push(c);
        }
    }
    flag.trim_start_matches('-').to_owned()
}

/// `model_kling-v1-6-pro` → `kling_v1_6_pro`.
pub fn module_name(model_id: &str) -> String {
    let name: String = model_id
        .trim_start_matches("model_")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if name.starts_with(|first: char| first.is_ascii_digit()) || name.is_empty() {
        format!("model_{name}")
    } else {
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_read_well() {
        assert_eq!(upper_camel("aspectRatio"), "AspectRatio");
        assert_eq!(upper_camel("Kling 1.6 Pro"), "Kling16Pro");
        assert_eq!(variant_name("in-progress"), "InProgress");
        assert_eq!(variant_name("16:9"), "V16_9");
        assert_eq!(variant_name("10"), "V10");
        assert_eq!(variant_name("txt2video"), "Txt2video");
        assert_eq!(module_name("model_kling-v1-6-pro"), "kling_v1_6_pro");
        assert_eq!(property_type_name("aspectRatio"), "AspectRatio");
        assert_eq!(property_type_name("duration"), "DurationValue");
        assert_eq!(kebab("cfgScale"), "cfg-scale");
        assert_eq!(kebab("negativePrompt"), "negative-prompt");
    }
}
