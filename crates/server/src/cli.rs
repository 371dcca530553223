//! `wayfarer journeys validate|diff|apply FILE` and `wayfarer backtest FILE`: journeys as
//! code, talking to a running server's admin API.

use std::path::Path;

use anyhow::{Context as _, bail};
use serde_json::{Value, json};

/// Where the server is and how to authenticate.
pub struct Remote {
    pub base: String,
    pub token: String,
    http: reqwest::Client,
}

impl Remote {
    pub fn new(base: &str, token: &str) -> Remote {
        Remote { base: base.trim_end_matches('/').to_owned(), token: token.to_owned(), http: reqwest::Client::new() }
    }

    async fn call(&self, method: &str, path: &str, body: Option<&Value>) -> anyhow::Result<(u16, Value)> {
        let method = reqwest::Method::from_bytes(method.as_bytes())?;
        let mut req = self.http.request(method, format!("{}/api{path}", self.base)).bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(serde_json::to_vec(b)?);
        }
        let resp = req.send().await.with_context(|| format!("cannot reach the server at {}", self.base))?;
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await?;
        let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if status == 401 {
            bail!("the admin token was refused (give --token or set WAYFARER_ADMIN_TOKEN)");
        }
        Ok((status, value))
    }
}

/// Reads a journey document from JSON or YAML (by extension).
pub fn read_document(path: &Path) -> anyhow::Result<Value> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let yaml = matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"));
    if yaml {
        serde_yaml::from_str(&text).with_context(|| format!("{} is not valid YAML", path.display()))
    } else {
        serde_json::from_str(&text).with_context(|| format!("{} is not valid JSON", path.display()))
    }
}

fn diagnostics_text(diags: &Value) -> Vec<String> {
    diags
        .as_array()
        .map(|list| {
            list.iter()
                .map(|d| {
                    let node = d["node"].as_str().map_or(String::new(), |n| format!(" [{n}]"));
                    format!(
                        "  {} {}{node} {}: {}",
                        d["severity"].as_str().unwrap_or("error"),
                        d["path"].as_str().unwrap_or(""),
                        d["code"].as_str().unwrap_or(""),
                        d["message"].as_str().unwrap_or("")
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Every difference between two JSON values, as `~ path: old -> new`, `+ path: new`, `- path: old`.
pub fn diff(old: &Value, new: &Value) -> Vec<String> {
    fn walk(path: &str, a: Option<&Value>, b: Option<&Value>, out: &mut Vec<String>) {
        match (a, b) {
            (Some(Value::Object(x)), Some(Value::Object(y))) => {
                let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
                for k in keys {
                    walk(&format!("{path}/{k}"), x.get(k), y.get(k), out);
                }
            }
            (Some(Value::Array(x)), Some(Value::Array(y))) => {
                for i in 0..x.len().max(y.len()) {
                    walk(&format!("{path}/{i}"), x.get(i), y.get(i), out);
                }
            }
            (Some(x), Some(y)) if x == y => {}
            (Some(x), Some(y)) => out.push(format!("~ {path}: {x} -> {y}")),
            (None, Some(y)) => out.push(format!("+ {path}: {y}")),
            (Some(x), None) => out.push(format!("- {path}: {x}")),
            (None, None) => {}
        }
    }
    let mut out = Vec::new();
    walk("", Some(old), Some(new), &mut out);
    out
}

/// Prints the diagnostics; returns whether the document is valid.
pub async fn validate(remote: &Remote, path: &Path) -> anyhow::Result<bool> {
    let doc = read_document(path)?;
    let (status, out) = remote.call("POST", "/journeys/validate", Some(&doc)).await?;
    if status != 200 {
        bail!("validation failed: {status} {out}");
    }
    let lines = diagnostics_text(&out["diagnostics"]);
    // Warnings (names no data has had yet) are shown; only errors make the document invalid.
    let valid = out["valid"].as_bool().unwrap_or(lines.is_empty());
    match (valid, lines.len()) {
        (true, 0) => println!("{}: valid", path.display()),
        (true, n) => println!("{}: valid, {n} warning(s)", path.display()),
        (false, n) => println!("{}: {n} problem(s)", path.display()),
    }
    for l in lines {
        println!("{l}");
    }
    Ok(valid)
}

fn journey_id(doc: &Value) -> anyhow::Result<String> {
    doc.get("id").and_then(Value::as_str).map(str::to_owned).context("the document has no \"id\"")
}

async fn published(remote: &Remote, id: &str) -> anyhow::Result<Option<Value>> {
    let (status, out) = remote.call("GET", &format!("/journeys/{id}"), None).await?;
    match status {
        404 => Ok(None),
        200 => Ok(out.get("published").and_then(|p| p.get("document")).cloned().filter(|d| !d.is_null())),
        _ => bail!("reading journey {id}: {status} {out}"),
    }
}

/// Prints the differences from the published version; returns whether there are none.
pub async fn diff_file(remote: &Remote, path: &Path) -> anyhow::Result<bool> {
    let doc = read_document(path)?;
    let id = journey_id(&doc)?;
    let Some(live) = published(remote, &id).await? else {
        println!("journey {id} is not published: everything is new");
        return Ok(false);
    };
    let lines = diff(&live, &doc);
    if lines.is_empty() {
        println!("journey {id}: no differences from the published version");
    } else {
        for l in &lines {
            println!("{l}");
        }
    }
    Ok(lines.is_empty())
}

/// Creates or updates the draft and publishes it (unless it equals the published version).
pub async fn apply(remote: &Remote, path: &Path) -> anyhow::Result<()> {
    let doc = read_document(path)?;
    let id = journey_id(&doc)?;
    if published(remote, &id).await?.is_some_and(|live| live == doc) {
        println!("journey {id}: unchanged, nothing published");
        return Ok(());
    }
    let (status, out) = remote.call("PUT", &format!("/journeys/{id}"), Some(&doc)).await?;
    if status != 200 {
        bail!("saving journey {id}: {status} {}", out["message"].as_str().unwrap_or(""));
    }
    let (status, out) = remote.call("POST", &format!("/journeys/{id}/publish"), Some(&json!({}))).await?;
    if status != 200 {
        let lines = diagnostics_text(&out["details"]["diagnostics"]);
        bail!("journey {id} was saved as a draft but not published: {}\n{}", out["message"].as_str().unwrap_or(""), lines.join("\n"));
    }
    println!("journey {id}: published version {}", out["version"]);
    for l in diagnostics_text(&out["diagnostics"]) {
        println!("{l}");
    }
    Ok(())
}

/// Replays stored events through the file's journey and prints the report.
pub async fn backtest(remote: &Remote, path: &Path, from: &str, to: &str) -> anyhow::Result<()> {
    let doc = read_document(path)?;
    let body = json!({"document": doc, "from": from, "to": to});
    eprintln!("replaying events up to {to} (this can take a while on a large log)...");
    let (status, out) = remote.call("POST", "/journeys/backtest", Some(&body)).await?;
    if status != 200 {
        let lines = diagnostics_text(&out["details"]["diagnostics"]);
        bail!("backtest refused: {}\n{}", out["message"].as_str().unwrap_or(""), lines.join("\n"));
    }
    let text = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_owned);
    println!(
        "backtest of {} from {} to {}: {} events replayed",
        journey_id(&doc)?,
        text(&out["from"]),
        text(&out["to"]),
        out["events_replayed"]
    );
    println!("runs: {}  (control group: {}, conversions: {})", out["runs"], out["control_group"], out["conversions"]);
    for (title, key) in [("step visits", "visits"), ("messages", "sends"), ("still waiting", "waiting"), ("exits", "exits")] {
        if let Some(map) = out[key].as_object().filter(|m| !m.is_empty()) {
            println!("{title}:");
            for (k, v) in map {
                println!("  {:>8}  {k}", v.to_string());
            }
        }
    }
    if let Some(samples) = out["samples"].as_array().filter(|s| !s.is_empty()) {
        println!("sample paths:");
        for s in samples {
            println!("  {}", s["person"].as_str().unwrap_or(""));
            for step in s["path"].as_array().into_iter().flatten() {
                println!("    {}", step.as_str().unwrap_or(""));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_names_every_change_by_path() {
        let old = json!({"id": "j", "steps": [{"id": "a", "timeout": "3d"}, {"id": "b"}], "exit": []});
        let new = json!({"id": "j", "steps": [{"id": "a", "timeout": "5d"}], "goal": {"event": "X"}, "exit": []});
        assert_eq!(diff(&old, &new), ["+ /goal: {\"event\":\"X\"}", "~ /steps/0/timeout: \"3d\" -> \"5d\"", "- /steps/1: {\"id\":\"b\"}",]);
        assert!(diff(&old, &old).is_empty());
    }
}
