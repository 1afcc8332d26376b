//! `kling upload`, `kling models` (and `models schema`), `kling config`, `kling completions`.

use std::path::Path;

use anyhow::Context as _;
use serde_json::{Value, json};

use super::Ctx;
use crate::output::Output;
use crate::settings::{Settings, mask};

pub(crate) async fn upload(ctx: &Ctx, file: &Path) -> anyhow::Result<()> {
    if !file.is_file() {
        let what = if file.exists() {
            "it is a folder"
        } else {
            "no such file"
        };
        return Err(crate::exit::usage(format!(
            "cannot upload {}: {what}: give the path of an image file",
            file.display()
        )));
    }
    ctx.out.note(&format!("uploading {}", file.display()));
    let asset_id = ctx.client.upload_image(file).await?;
    if ctx.out.json {
        ctx.out.json(&json!({"assetId": asset_id}))?
    } else {
        ctx.out.result(asset_id.as_str())?
    }
    Ok(())
}

/// The models this `kling` knows (from `schema/`, built in), or one's parameters.
pub(crate) fn models(out: &Output, id: Option<&str>) -> anyhow::Result<()> {
    let Some(id) = id else {
        if out.json {
            let models: Vec<Value> = kling_types::MODELS.iter().map(|model| json!({"id": model.id, "title": model.title, "description": model.description})).collect();
            out.json(&Value::Array(models))?;
        } else {
            for model in kling_types::MODELS {
                out.result(&format!(
                    "{}  {}  {}",
                    model.id, model.title, model.description
                ))?;
            }
        }
        return Ok(());
    };
    let model = kling_types::find_model(id).ok_or_else(|| {
        crate::exit::usage(format!("unknown model `{id}`: `kling models` lists them"))
    })?;
    let schema: Value = serde_json::from_str(model.schema)?;
    if out.json {
        return Ok(out.json(&schema)?);
    }
    out.result(&format!(
        "{} ({})\n{}\n\nParameters (flags of `kling generate --model {}`):",
        model.title, model.id, model.description, model.id
    ))?;
    let params = crate::params::params();
    for param in params
        .iter()
        .filter(|param| param.models.contains_key(model.id))
    {
        let required = if param.models.get(model.id).copied().unwrap_or(false) {
            " (required)"
        } else {
            ""
        };
        let property = &schema["properties"][&param.json_name];
        let kind = describe_kind(property);
        let default = property
            .get("default")
            .map(|default| format!(", default {default}"))
            .unwrap_or_default();
        let description = property["description"].as_str().unwrap_or_default();
        out.result(&format!(
            "  --{:<18} {}{required}: {kind}{default}\n  {:<20} {description}",
            param.flag, param.json_name, ""
        ))?;
    }
    Ok(())
}

/// `kling models schema ID`: the API's description of a model, as it answered (pretty).
pub(crate) async fn model_schema(ctx: &Ctx, id: &str) -> anyhow::Result<()> {
    let description = ctx
        .client
        .model_description(&kling_types::ModelId::new(id))
        .await
        .with_context(|| format!("cannot fetch the description of {id}"))?;
    Ok(ctx.out.json(&description)?)
}

/// What a parameter takes, in words: `number from 0 to 1`, `one of 5, 10`, …
fn describe_kind(property: &Value) -> String {
    let one = |value: &Value| {
        value
            .as_str()
            .map_or_else(|| value.to_string(), str::to_owned)
    };
    let single = |node: &Value| -> String {
        if let Some(values) = node["enum"].as_array() {
            return format!(
                "one of {}",
                values.iter().map(one).collect::<Vec<_>>().join(", ")
            );
        }
        if node["format"] == "asset-id" {
            return "an image file or asset id".to_owned();
        }
        let kind = node["type"].as_str().unwrap_or("any").to_owned();
        match (
            node.get("minimum"),
            node.get("maximum"),
            node.get("maxLength"),
        ) {
            (Some(min), Some(max), _) => format!("{kind} from {min} to {max}"),
            (Some(min), None, _) => format!("{kind}, at least {min}"),
            (None, Some(max), _) => format!("{kind}, at most {max}"),
            (None, None, Some(max)) => format!("{kind}, at most {max} characters"),
            (None, None, None) => kind,
        }
    };
    if property["type"] == "array" {
        let limit = property["maxItems"]
            .as_u64()
            .map(|max| format!(", up to {max}"))
            .unwrap_or_default();
        format!("{} (repeat the flag{limit})", single(&property["items"]))
    } else {
        single(property)
    }
}

/// The settings and where each comes from; secrets masked.
pub(crate) fn config(out: &Output, settings: &Settings) -> anyhow::Result<()> {
    let show = |value: &Option<crate::settings::Sourced>, secret: bool| match value {
        Some(sourced) => (
            if secret {
                mask(&sourced.value)
            } else {
                sourced.value.clone()
            },
            sourced.source.to_string(),
        ),
        None => ("(not set)".to_owned(), String::new()),
    };
    let (key, key_source) = show(&settings.api_key, true);
    let (secret, secret_source) = show(&settings.api_secret, true);
    let (ca_cert, ca_cert_source) = show(&settings.ca_cert, false);
    let (file, exists) = settings.config_file.clone().map_or(
        (String::from("(no config folder on this platform)"), false),
        |(path, exists)| (path.display().to_string(), exists),
    );
    let history = crate::history::History::in_dir(&settings.data_dir);
    if out.json {
        out.json(&json!({
            "apiKey": {"value": key, "source": key_source},
            "apiSecret": {"value": secret, "source": secret_source},
            "baseUrl": {"value": settings.base_url.value, "source": settings.base_url.source.to_string()},
            "caCert": {"value": ca_cert, "source": ca_cert_source},
            "configFile": {"path": file, "exists": exists},
            "history": history.path().display().to_string(),
        }))?;
        return Ok(());
    }
    let lines = [
        format!(
            "api key     {key}{}",
            if key_source.is_empty() {
                String::new()
            } else {
                format!("  [{key_source}]")
            }
        ),
        format!(
            "api secret  {secret}{}",
            if secret_source.is_empty() {
                String::new()
            } else {
                format!("  [{secret_source}]")
            }
        ),
        format!(
            "base URL    {}  [{}]",
            settings.base_url.value, settings.base_url.source
        ),
        format!(
            "ca cert     {ca_cert}{}",
            if ca_cert_source.is_empty() {
                "  (the system's authorities only)".to_owned()
            } else {
                format!("  [{ca_cert_source}]")
            }
        ),
        format!(
            "config file {file}{}",
            if exists {
                ""
            } else {
                " (absent; it may hold api_key, api_secret, base_url)"
            }
        ),
        format!("history     {}", history.path().display()),
        "precedence  flags > environment > config file".to_owned(),
    ];
    for line in lines {
        out.result(&line)?;
    }
    Ok(())
}

pub(crate) fn completions(shell: clap_complete::Shell) -> anyhow::Result<()> {
    let mut command = crate::cli::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "kling", &mut script);
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(&script)?;
    Ok(stdout.flush()?)
}
