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
    if out.json {
        // The schema is JSON already, verbatim as it is in `schema/models/`.
        return Ok(out.result(model.schema.trim_end())?);
    }
    out.result(&format!(
        "{} ({})\n{}\n\nParameters (flags of `kling generate --model {}`):",
        model.title, model.id, model.description, model.id
    ))?;
    for param in model.params {
        let required = if param.required { " (required)" } else { "" };
        let default = crate::params::default_text(param)
            .map(|default| format!(", default {default}"))
            .unwrap_or_default();
        out.result(&format!(
            "  --{:<18} {}{required}: {}{default}\n  {:<20} {}",
            param.flag,
            param.json_name,
            crate::params::describe_kind(param),
            "",
            param.description
        ))?;
        for rule in rules(model, param) {
            out.result(&format!("  {:<20} {rule}", ""))?;
        }
        for field in param.fields() {
            out.result(&format!(
                "  {:<20} Each item's {}",
                "",
                crate::params::describe_field(field)
            ))?;
            if !field.description.is_empty() {
                out.result(&format!("  {:<22} {}", "", field.description))?;
            }
        }
    }
    Ok(())
}

/// What the table says of a parameter beyond its kind: its file's limits, the models it
/// takes, when it becomes required, and whether it changes the price (Scenario's
/// `costImpact`, kept in `x-ui`).
fn rules(model: &kling_types::ModelInfo, param: &kling_types::Param) -> Vec<String> {
    let mut rules = Vec::new();
    if let Some(limits) = crate::params::file_limits(param) {
        rules.push(format!("File: {limits}."));
    }
    if !param.model_types.is_empty() {
        rules.push(format!("Models of type {}.", param.model_types.join(", ")));
    }
    if let Some(pattern) = param.pattern {
        rules.push(format!("Matches {pattern}."));
    }
    for rule in param.required_when {
        rules.push(format!("{}.", crate::params::required_when(model, rule)));
    }
    let ui: serde_json::Value = serde_json::from_str(param.ui).unwrap_or_default();
    if ui["costImpact"] == serde_json::Value::Bool(true) {
        rules.push("Changes the price.".to_owned());
    }
    rules
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
            "spending": {
                "noSpend": settings.spending.no_spend.as_ref().map(|source| json!({"source": source.to_string()})),
                "maxCu": settings.spending.max_cu.as_ref().map(|(cu, source)| json!({"value": cu, "source": source.to_string()})),
                "confirmAboveCu": settings.spending.confirm_above_cu,
            },
            "driftCheck": {"check": settings.drift.check, "strict": settings.drift.strict},
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
                String::new()
            } else {
                format!(" (absent; {})", crate::settings::CONFIG_KEYS)
            }
        ),
        format!("history     {}", history.path().display()),
        spending_line(&settings.spending),
        format!(
            "drift check {}  (--no-drift-check, --strict-schema on a paid command)",
            match (settings.drift.check, settings.drift.strict) {
                (false, _) => "off",
                (true, false) => "on, warns",
                (true, true) => "on, strict: refuses a breaking drift",
            }
        ),
        "precedence  flags > environment > config file".to_owned(),
    ];
    for line in lines {
        out.result(&line)?;
    }
    Ok(())
}

/// `kling config`'s line of the spending controls.
fn spending_line(spending: &crate::settings::Spending) -> String {
    let no_spend = match &spending.no_spend {
        Some(source) => format!("no paid submit [{source}]"),
        None => "paid submits allowed".to_owned(),
    };
    let ceiling = match &spending.max_cu {
        Some((cu, source)) => format!("at most {cu} CU a command [{source}]"),
        None => "no ceiling (--max-cu)".to_owned(),
    };
    format!(
        "spending    {no_spend}; {ceiling}; batch asks above {} CU",
        spending.confirm_above_cu
    )
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
