//! The admin API under `/api/` (bearer token): sources, templates, journeys, profiles,
//! messages, and the manual clock.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use domain::ids::{DeadLetterId, Identity, JourneyId, OutboxId, ProfileId, RunId, SourceId, TemplateId};
use domain::journey::{Channel, Diagnostic, Journey, Severity, is_slug};
use domain::time::{Duration, Timestamp};
use serde_json::{Value, json};
use store::{JourneyState, NameKind, OutboxEntry, OutboxStatus, Source, StoredEvent, Template, Tx};

use crate::app::{App, new_token};
use crate::audit;
use crate::auth::Actor;
use crate::error::{ApiError, Code};
use crate::wire::{self, ErrorBody};

type Answer<T> = Result<Json<T>, ApiError>;

fn ts(t: Timestamp) -> String {
    t.to_string()
}

fn bad_request(message: impl Into<String>) -> ApiError {
    ApiError::new(Code::InvalidRequest, message)
}

// ---- sources ----

fn source_view(s: &Source) -> wire::SourceView {
    wire::SourceView { id: s.id.0.clone(), write_key: s.write_key.clone(), created_at: ts(s.created_at) }
}

/// Creates a source: a write key for the Segment tracking API (`/v1/*`).
#[utoipa::path(post, path = "/sources", tag = "sources", request_body = wire::NewSource,
    responses((status = 201, body = wire::SourceView), (status = 409, body = ErrorBody, description = "the id is taken")))]
pub async fn create_source(
    State(app): State<Arc<App>>,
    Extension(actor): Extension<Actor>,
    body: Json<wire::NewSource>,
) -> Result<(StatusCode, Json<wire::SourceView>), ApiError> {
    if !is_slug(&body.id) {
        return Err(bad_request("a source id is 1-100 characters of a-z, 0-9, - and _"));
    }
    if engine::is_reserved_source(&SourceId(body.id.clone())) {
        return Err(bad_request(format!("the source id {:?} is reserved for events Wayfarer makes itself", body.id)));
    }
    let source =
        Source { id: SourceId(body.id.clone()), write_key: new_token().replacen("wf_", "wk_", 1), created_at: app.engine.clock().now() };
    let s = source.clone();
    app.write(move |tx| {
        tx.create_source(&s)?;
        audit::record(tx, &actor, s.created_at, "source.create", &format!("source:{}", s.id), None, Some(&json!({"id": s.id.0})))
    })
    .await?;
    Ok((StatusCode::CREATED, Json(source_view(&source))))
}

/// Sources, with their write keys, by id, a page at a time.
#[utoipa::path(get, path = "/sources", tag = "sources", params(wire::SlugPageQuery), responses((status = 200, body = wire::SourceList)))]
pub async fn list_sources(State(app): State<Arc<App>>, Query(q): Query<wire::SlugPageQuery>) -> Answer<wire::SourceList> {
    let size = page_size(q.limit)?;
    let after = slug_cursor(q.cursor.as_deref())?.map(SourceId);
    let sources = app.read(move |tx| Ok(tx.sources_after(after.as_ref(), size + 1)?)).await?;
    let (sources, next_cursor) = paged(sources, size, |s| s.id.0.clone());
    Ok(Json(wire::SourceList { sources: sources.iter().map(source_view).collect(), next_cursor }))
}

// ---- templates ----

fn template_view(t: &Template) -> wire::TemplateView {
    wire::TemplateView {
        id: t.id.0.clone(),
        subject: t.subject.clone(),
        html: t.html.clone(),
        text: t.text.clone(),
        category: t.category.into(),
        sms: t.sms.clone(),
        push: t.push.clone().into(),
        in_app: t.in_app.clone().into(),
        locales: t.locales.iter().map(|(l, tr)| (l.clone(), tr.clone().into())).collect(),
        updated_at: ts(t.updated_at),
    }
}

/// A template's parts (the body's or a translation's) with the variables each may read.
fn parts_of<'a>(
    subject: &'a String,
    html: &'a String,
    text: &'a String,
    sms: &'a String,
    push: &'a wire::PushContent,
    in_app: &'a wire::InAppContent,
) -> [(&'static str, &'a String, &'static [&'static str]); 13] {
    let (email, any) = (&deliver::EMAIL_VARIABLES[..], &deliver::VARIABLES[..]);
    [
        ("subject", subject, email),
        ("html", html, email),
        ("text", text, email),
        ("sms", sms, any),
        ("push.title", &push.title, any),
        ("push.body", &push.body, any),
        ("push.link", &push.link, any),
        ("push.image", &push.image, any),
        ("in_app.title", &in_app.title, any),
        ("in_app.body", &in_app.body, any),
        ("in_app.button", &in_app.button, any),
        ("in_app.link", &in_app.link, any),
        ("in_app.image", &in_app.image, any),
    ]
}

/// A locale as templates keep it: a language of 2-3 letters, then subtags of 2-8 letters or
/// digits (`fr`, `pt-br`, `zh-hant-tw`), in lower case.
fn is_locale(l: &str) -> bool {
    let mut tags = l.split('-');
    let language = tags.next().unwrap_or_default();
    (2..=3).contains(&language.len())
        && language.bytes().all(|b| b.is_ascii_lowercase())
        && tags.all(|t| (2..=8).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
}

/// Creates or replaces a template. Checks each part before it is stored: it parses as
/// Liquid, and reads only variables that templates have (`deliver::VARIABLES`) or that it
/// defines itself (`assign`, `capture`, loops).
#[utoipa::path(put, path = "/templates/{id}", tag = "templates", request_body = wire::TemplateBody,
    params(("id" = String, Path, description = "1-100 characters of a-z, 0-9, - and _")),
    responses((status = 200, body = wire::TemplateView), (status = 422, body = ErrorBody, description = "`template_invalid`, with each problem")))]
pub async fn put_template(
    State(app): State<Arc<App>>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
    body: Json<wire::TemplateBody>,
) -> Answer<wire::TemplateView> {
    if !is_slug(&id) {
        return Err(bad_request("a template id is 1-100 characters of a-z, 0-9, - and _"));
    }
    let mut locales = std::collections::BTreeMap::new();
    for (locale, translation) in &body.locales {
        let key = store::normalize_locale(locale);
        if !is_locale(&key) {
            let message = format!("{locale:?} is not a locale: a language (\"fr\") and maybe a region or script (\"pt-BR\", \"zh-Hant\")");
            let problem = wire::TemplateProblem { part: format!("locales.{locale}"), message: message.clone() };
            let details = wire::TemplateProblems { problems: vec![problem] };
            return Err(ApiError::new(Code::TemplateInvalid, message).with_details(serde_json::to_value(details).unwrap_or_default()));
        }
        if locales.insert(key, store::Translation::from(translation.clone())).is_some() {
            return Err(ApiError::new(Code::TemplateInvalid, format!("the locale {locale:?} is given twice")));
        }
    }
    // Each part of the template and of each translation, as the problems name them
    // (`push.title`, `locales.fr.subject`).
    let own = parts_of(&body.subject, &body.html, &body.text, &body.sms, &body.push, &body.in_app);
    let translations = body.locales.iter().map(|(l, t)| {
        (format!("locales.{}.", store::normalize_locale(l)), parts_of(&t.subject, &t.html, &t.text, &t.sms, &t.push, &t.in_app))
    });
    let parts = std::iter::once((String::new(), own)).chain(translations);
    let problems: Vec<(String, String)> = parts
        .flat_map(|(prefix, parts)| parts.into_iter().map(move |(part, src, known)| (format!("{prefix}{part}"), src, known)))
        .filter_map(|(part, src, known)| match app.renderer.check(src) {
            Err(e) => Some((part, format!("does not parse as Liquid: {}", e.trim_end()))),
            Ok(()) => unknown_variables_message(&[src], known).map(|m| (part, m)),
        })
        .collect();
    if !problems.is_empty() {
        let said: Vec<String> = problems.iter().map(|(part, message)| format!("{part} {message}")).collect();
        let problems = problems.iter().map(|(part, message)| wire::TemplateProblem { part: part.clone(), message: message.clone() });
        let details = wire::TemplateProblems { problems: problems.collect() };
        return Err(ApiError::new(Code::TemplateInvalid, format!("the template is not valid: {}", said.join("; ")))
            .with_details(serde_json::to_value(details).unwrap_or_default()));
    }
    let push: store::PushContent = body.push.clone().into();
    let in_app: store::InAppContent = body.in_app.clone().into();
    if body.html.trim().is_empty() && body.text.trim().is_empty() && body.sms.trim().is_empty() && !push.is_set() && !in_app.is_set() {
        return Err(ApiError::new(
            Code::TemplateInvalid,
            "a template needs email content (\"html\", \"text\" or both), SMS text (\"sms\"), a push notification (\"push\" with a \"title\" or \"body\"), an in-app message (\"in_app\" with a \"title\" or \"body\"), or several",
        ));
    }
    let t = Template {
        id: TemplateId(id),
        subject: body.subject.clone(),
        html: body.html.clone(),
        text: body.text.clone(),
        category: body.category.into(),
        sms: body.sms.clone(),
        push,
        in_app,
        locales,
        updated_at: app.engine.clock().now(),
    };
    let out = template_view(&t);
    app.write(move |tx| {
        let shown =
            |t: &Template| json!({"subject": t.subject, "html": t.html, "text": t.text, "category": t.category.as_str(), "sms": t.sms, "push": t.push, "in_app": t.in_app, "locales": t.locales});
        let before = tx.template(&t.id)?.map(|old| shown(&old));
        tx.put_template(&t)?;
        audit::record(tx, &actor, t.updated_at, "template.put", &format!("template:{}", t.id), before.as_ref(), Some(&shown(&t)))
    })
    .await?;
    app.engine.templates_changed();
    Ok(Json(out))
}

#[utoipa::path(get, path = "/templates/{id}", tag = "templates", params(("id" = String, Path)),
    responses((status = 200, body = wire::TemplateView), (status = 404, body = ErrorBody)))]
pub async fn get_template(State(app): State<Arc<App>>, Path(id): Path<String>) -> Answer<wire::TemplateView> {
    let t =
        app.read(move |tx| tx.template(&TemplateId(id.clone()))?.ok_or_else(|| ApiError::not_found(format!("template {id:?}")))).await?;
    Ok(Json(template_view(&t)))
}

/// Templates, by id, a page at a time.
#[utoipa::path(get, path = "/templates", tag = "templates", params(wire::SlugPageQuery), responses((status = 200, body = wire::TemplateList)))]
pub async fn list_templates(State(app): State<Arc<App>>, Query(q): Query<wire::SlugPageQuery>) -> Answer<wire::TemplateList> {
    let size = page_size(q.limit)?;
    let after = slug_cursor(q.cursor.as_deref())?.map(TemplateId);
    let page = app.read(move |tx| Ok(tx.templates_after(after.as_ref(), size + 1)?)).await?;
    let (page, next_cursor) = paged(page, size, |t| t.id.0.clone());
    Ok(Json(wire::TemplateList { templates: page.iter().map(template_view).collect(), next_cursor }))
}

/// Renders a template for one person the way a send would (the HTML escaped as sent), each
/// part on its own: a part that does not render says why. Nothing is saved or sent.
#[utoipa::path(post, path = "/template-preview", tag = "templates", request_body = wire::PreviewRequest,
    responses((status = 200, body = wire::Preview), (status = 404, body = ErrorBody, description = "no such person")))]
pub async fn preview_template(State(app): State<Arc<App>>, Json(body): Json<wire::PreviewRequest>) -> Answer<wire::Preview> {
    let wire::PreviewRequest { template, profile_id, event, event_name, run, locale } = body;
    let (profile, traits, latest) = app
        .read(move |tx| {
            let Some(id) = profile_id else { return Ok((ProfileId(0), domain::Map::new(), None)) };
            let canonical = tx.canonical(ProfileId(id))?.ok_or_else(|| ApiError::not_found(format!("profile {id}")))?;
            let profile = tx.profile(canonical)?.ok_or_else(|| ApiError::not_found(format!("profile {id}")))?;
            let latest = tx.timeline(canonical, 50)?.into_iter().find(|e| e.event.kind == domain::event::Kind::Track);
            Ok((canonical, profile.traits, latest))
        })
        .await?;
    let (event, event_name) = match (event, latest) {
        (Some(props), _) => (props, event_name.unwrap_or_default()),
        (None, Some(e)) => (e.event.properties.clone(), event_name.unwrap_or_else(|| e.event.match_name().to_owned())),
        (None, None) => (domain::Map::new(), event_name.unwrap_or_default()),
    };
    // The translation a send would use: the one asked for, else the person's.
    let locale = locale.or_else(|| traits.get(engine::LOCALE).and_then(Value::as_str).map(str::to_owned));
    let whole = Template {
        id: TemplateId("preview".into()),
        subject: template.subject,
        html: template.html,
        text: template.text,
        category: template.category.into(),
        sms: template.sms,
        push: template.push.into(),
        in_app: template.in_app.into(),
        locales: template.locales.into_iter().map(|(l, t)| (store::normalize_locale(&l), t.into())).collect(),
        updated_at: Timestamp(0),
    };
    let (template, locale) = whole.localized(locale.as_deref());
    let context = store::TemplateContext { traits, event, event_name, journey: JourneyId("preview".into()), profile_id: profile, run };
    let mut ctx = serde_json::to_value(&context).map_err(|e| ApiError::new(Code::Internal, format!("preview context: {e}")))?;
    // The shape of a real link (message 0, which no link names), or empty without tracking.
    let unsubscribe = app.tracking.as_ref().map(|t| t.unsubscribe_url(0)).unwrap_or_default();
    if let Some(vars) = ctx.as_object_mut() {
        vars.insert("unsubscribe_url".into(), unsubscribe.into());
    }
    let part = |src: &str, html: bool| {
        let out = if html { app.renderer.render_html(src, &ctx) } else { app.renderer.render(src, &ctx) };
        match out {
            Ok(text) => wire::PreviewPart { rendered: Some(text), error: None },
            Err(e) => wire::PreviewPart { rendered: None, error: Some(e.to_string()) },
        }
    };
    let sms = part(&template.sms, false);
    let push = wire::PushPreview {
        title: part(&template.push.title, false),
        body: part(&template.push.body, false),
        link: part(&template.push.link, false),
        image: part(&template.push.image, false),
    };
    let in_app = wire::InAppPreview {
        title: part(&template.in_app.title, false),
        body: part(&template.in_app.body, false),
        button: part(&template.in_app.button, false),
        link: part(&template.in_app.link, false),
        image: part(&template.in_app.image, false),
    };
    let sms_segments = sms.rendered.as_deref().map_or(0, |s| deliver::segments(s.trim()));
    Ok(Json(wire::Preview {
        subject: part(&template.subject, false),
        html: part(&template.html, true),
        text: part(&template.text, false),
        sms,
        sms_segments,
        push,
        in_app,
        locale,
        context: match ctx {
            Value::Object(m) => m,
            _ => domain::Map::new(),
        },
    }))
}

/// The event and trait names and the property paths of each event the data has had, for
/// conditions, and the variables templates have.
#[utoipa::path(get, path = "/names", tag = "journeys", responses((status = 200, body = wire::Names)))]
pub async fn names(State(app): State<Arc<App>>) -> Answer<wire::Names> {
    let (events, traits, paths) =
        app.read(|tx| Ok((tx.seen_names(NameKind::Event)?, tx.seen_names(NameKind::Trait)?, tx.property_paths()?))).await?;
    // Sorted by event then path: each event's list comes out sorted.
    let mut properties: std::collections::BTreeMap<String, Vec<String>> = std::collections::BTreeMap::new();
    for store::PropertyPath { event, path } in paths {
        properties.entry(event).or_default().push(path);
    }
    let template_variables = deliver::EMAIL_VARIABLES.iter().map(|v| (*v).to_owned()).collect();
    Ok(Json(wire::Names { events, traits, properties, template_variables }))
}

// ---- journeys ----

/// "uses x, which templates do not have (they have traits, ...)" when `sources` read variables
/// templates do not have.
/// `known`: `deliver::VARIABLES`, or for an email template `deliver::EMAIL_VARIABLES`.
fn unknown_variables_message(sources: &[&str], known: &[&str]) -> Option<String> {
    let mut unknown: Vec<String> = sources.iter().flat_map(|s| deliver::variables(s)).filter(|v| !known.contains(&v.as_str())).collect();
    unknown.sort();
    unknown.dedup();
    (!unknown.is_empty()).then(|| format!("uses {}, which templates do not have (they have {})", unknown.join(", "), known.join(", ")))
}

/// What is wrong with Liquid in a journey (a webhook body's strings, a task's title): one
/// that does not parse (`invalid_template`), else variables templates do not have.
fn unknown_variables(node: &str, path: String, what: &str, sources: &[&str]) -> Option<Diagnostic> {
    static LIQUID: std::sync::OnceLock<deliver::Renderer> = std::sync::OnceLock::new();
    let liquid = LIQUID.get_or_init(deliver::Renderer::default);
    let (code, message) = match sources.iter().find_map(|s| liquid.check(s).err()) {
        Some(e) => ("invalid_template", format!("{what} does not parse as Liquid: {}", e.trim_end())),
        None => ("unknown_template_variable", format!("{what} {}", unknown_variables_message(sources, &deliver::VARIABLES)?)),
    };
    Some(Diagnostic { node: Some(node.to_owned()), path, code: code.into(), severity: Severity::Error, message })
}

/// The events Wayfarer records on people itself besides messages' outcomes
/// (`engine::OUTCOME_EVENTS`): what comes back from messages, and tasks done.
const BUILT_IN_EVENTS: [&str; 21] = [
    domain::segment::ENTERED,
    domain::segment::EXITED,
    domain::lifecycle::STAGE_CHANGED,
    "Email Delivered",
    "Email Opened",
    "Email Clicked",
    "Email Unsubscribed",
    "Email Resubscribed",
    "Email Bounced",
    "Email Marked as Spam",
    "SMS Delivered",
    "SMS Received",
    "SMS Unsubscribed",
    "SMS Resubscribed",
    "Push Token Unregistered",
    "In-App Message Viewed",
    "In-App Message Clicked",
    "In-App Message Dismissed",
    "Task Completed",
    "Task Declined",
    "Traits Updated",
];

/// Every diagnostic of a document: its own, plus templates that do not exist and template
/// variables that templates do not have.
fn diagnose(tx: &mut dyn Tx, doc: &Value) -> Result<Vec<Diagnostic>, ApiError> {
    let j = match Journey::parse(doc) {
        Err(diags) => return Ok(diags),
        Ok(j) => j,
    };
    let mut out = Vec::new();
    // What each template says for a channel, looked up and checked once however many steps
    // send it (a large journey is validated on every edit in the editor): nothing wrong, or a
    // problem's code and message.
    type Verdict = Option<(&'static str, String)>;
    let mut checked: std::collections::HashMap<(TemplateId, Channel), Verdict> = std::collections::HashMap::new();
    for (i, step) in j.steps.iter().enumerate() {
        match &step.kind {
            domain::journey::StepKind::Send { content, channel, .. } => {
                let places: Vec<(String, &TemplateId)> = match content {
                    domain::journey::SendContent::Template(t) => vec![(format!("/steps/{i}/template"), t)],
                    domain::journey::SendContent::Variants(vs) => {
                        vs.iter().enumerate().map(|(v, variant)| (format!("/steps/{i}/variants/{v}/template"), &variant.template)).collect()
                    }
                };
                for (path, template) in places {
                    let key = (template.clone(), *channel);
                    let verdict = match checked.get(&key) {
                        Some(v) => v.clone(),
                        None => {
                            let v = template_verdict(&template.0, *channel, tx.template(template)?.as_ref());
                            checked.insert(key, v.clone());
                            v
                        }
                    };
                    if let Some((code, message)) = verdict {
                        out.push(Diagnostic { node: Some(step.id.0.clone()), path, code: code.into(), severity: Severity::Error, message });
                    }
                }
            }
            domain::journey::StepKind::Task { task, .. } => {
                out.extend(unknown_variables(&step.id.0, format!("/steps/{i}/title"), "the task title", &[&task.title]));
                out.extend(unknown_variables(&step.id.0, format!("/steps/{i}/body"), "the task body", &[&task.body]));
            }
            domain::journey::StepKind::Webhook { body: Some(body), .. } => {
                let mut strings = Vec::new();
                collect_strings(body, &mut strings);
                let refs: Vec<&str> = strings.iter().map(String::as_str).collect();
                out.extend(unknown_variables(&step.id.0, format!("/steps/{i}/body"), "the webhook body", &refs));
            }
            _ => {}
        }
    }
    // Names no data has had yet are most likely typos: warnings, not errors.
    let mut events: std::collections::BTreeSet<String> = tx.seen_names(NameKind::Event)?.into_iter().collect();
    // What Wayfarer itself records on people is known before it first happens.
    events.extend(BUILT_IN_EVENTS.iter().map(|e| (*e).to_owned()));
    events.extend(engine::OUTCOME_EVENTS.iter().flat_map(|(_, sent, failed)| [(*sent).to_owned(), (*failed).to_owned()]));
    let traits = tx.seen_names(NameKind::Trait)?.into_iter().collect();
    out.extend(j.unseen(&events, &traits));
    let segments: std::collections::BTreeSet<domain::ids::SegmentId> = tx.segments()?.into_iter().map(|s| s.id).collect();
    for (id, path, node) in j.segments().into_iter().filter(|(id, _, _)| !segments.contains(id)) {
        let message = format!("segment {:?} does not exist; create it with PUT /api/segments/{}", id.0, id.0);
        out.push(Diagnostic { node, path, code: "unknown_segment".into(), severity: Severity::Error, message });
    }
    Ok(out)
}

/// What is wrong with sending `template` (as stored, if it exists) on `channel`, if anything.
fn template_verdict(id: &str, channel: Channel, stored: Option<&Template>) -> Option<(&'static str, String)> {
    let Some(t) = stored else {
        return Some(("unknown_template", format!("template {id:?} does not exist; create it with PUT /api/templates/{id}")));
    };
    let (has, sources, known, what) = match channel {
        Channel::Email => (
            !t.html.trim().is_empty() || !t.text.trim().is_empty(),
            vec![&*t.subject, &*t.html, &*t.text],
            &deliver::EMAIL_VARIABLES[..],
            "email content (HTML or text)",
        ),
        Channel::Sms => (!t.sms.trim().is_empty(), vec![&*t.sms], &deliver::VARIABLES[..], "SMS text"),
        Channel::Push => (
            t.push.is_set(),
            vec![&*t.push.title, &*t.push.body, &*t.push.link, &*t.push.image],
            &deliver::VARIABLES[..],
            "push notification (title or body)",
        ),
        Channel::InApp => (
            t.in_app.is_set(),
            vec![&*t.in_app.title, &*t.in_app.body, &*t.in_app.button, &*t.in_app.link, &*t.in_app.image],
            &deliver::VARIABLES[..],
            "in-app message (title or body)",
        ),
    };
    if !has {
        return Some((
            "template_missing_channel",
            format!("template {id:?} has no {what}, which this {} step sends; add it to the template", channel.as_str()),
        ));
    }
    unknown_variables_message(&sources, known).map(|m| ("unknown_template_variable", format!("template {id:?} {m}")))
}

/// Whether diagnostics allow publishing: warnings do.
fn no_errors(diags: &[Diagnostic]) -> bool {
    diags.iter().all(|d| d.severity == Severity::Warning)
}

fn collect_strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|i| collect_strings(i, out)),
        Value::Object(map) => map.values().for_each(|i| collect_strings(i, out)),
        _ => {}
    }
}

/// Words that name routes under `/api/journeys/`, so no journey can have them as its id (its
/// page, `GET /api/journeys/validate`, would be the route's).
pub const RESERVED_JOURNEY_IDS: [&str; 2] = ["validate", "backtest"];

fn doc_id(doc: &Value) -> Result<String, ApiError> {
    let refused = |code: &str, message: String| {
        ApiError::new(Code::JourneyInvalid, message.clone()).with_details(diagnostics_details(vec![Diagnostic {
            node: None,
            path: "/id".into(),
            code: code.into(),
            severity: Severity::Error,
            message,
        }]))
    };
    match doc.get("id").and_then(Value::as_str) {
        Some(id) if RESERVED_JOURNEY_IDS.contains(&id) => {
            Err(refused("reserved_id", format!("{id:?} names an API route, so it cannot be a journey's \"id\"; pick another")))
        }
        Some(id) if is_slug(id) => Ok(id.to_owned()),
        _ => Err(refused("invalid_id", "a journey document needs an \"id\" of 1-100 characters of a-z, 0-9, - and _".into())),
    }
}

/// Checks a journey document without saving it: every problem at once.
#[utoipa::path(post, path = "/journeys/validate", tag = "journeys", request_body = wire::JourneyDocument,
    responses((status = 200, body = wire::Validation)))]
pub async fn validate_journey(State(app): State<Arc<App>>, Json(doc): Json<wire::JourneyDocument>) -> Answer<wire::Validation> {
    let doc = doc.0;
    let diags = app.read(move |tx| diagnose(tx, &doc)).await?;
    Ok(Json(wire::Validation { valid: no_errors(&diags), diagnostics: wire::diagnostics(diags) }))
}

fn draft_saved(diags: Vec<Diagnostic>) -> wire::DraftSaved {
    wire::DraftSaved { status: wire::JourneyStatus::Draft, valid: no_errors(&diags), diagnostics: wire::diagnostics(diags) }
}

/// Creates a journey from a document, as a draft (even with problems: they are answered).
#[utoipa::path(post, path = "/journeys", tag = "journeys", request_body = wire::JourneyDocument,
    responses((status = 201, body = wire::DraftSaved), (status = 409, body = ErrorBody, description = "the id is taken"),
        (status = 422, body = ErrorBody, description = "the document has no valid id")))]
pub async fn create_journey(
    State(app): State<Arc<App>>,
    Extension(actor): Extension<Actor>,
    Json(doc): Json<wire::JourneyDocument>,
) -> Result<(StatusCode, Json<wire::DraftSaved>), ApiError> {
    let doc = doc.0;
    let id = JourneyId(doc_id(&doc)?);
    let now = app.engine.clock().now();
    let diags = app
        .write(move |tx| {
            if tx.journey(&id)?.is_some() {
                return Err(ApiError::new(
                    Code::Conflict,
                    format!("journey {:?} already exists; PUT /api/journeys/{} to edit its draft", id.0, id.0),
                ));
            }
            tx.save_draft(&id, &doc, now)?;
            audit::record(tx, &actor, now, "journey.create", &format!("journey:{id}"), None, Some(&doc))?;
            diagnose(tx, &doc)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(draft_saved(diags))))
}

/// Saves a journey's draft (creating the journey if new); the published version is untouched.
#[utoipa::path(put, path = "/journeys/{id}", tag = "journeys", request_body = wire::JourneyDocument, params(("id" = String, Path)),
    responses((status = 200, body = wire::DraftSaved), (status = 422, body = ErrorBody, description = "the document has no valid id")))]
pub async fn put_journey(
    State(app): State<Arc<App>>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
    Json(doc): Json<wire::JourneyDocument>,
) -> Answer<wire::DraftSaved> {
    let doc = doc.0;
    if doc_id(&doc)? != id {
        return Err(bad_request(format!("the document's \"id\" must be {id:?}, as in the URL")));
    }
    let now = app.engine.clock().now();
    let diags = app
        .write(move |tx| {
            let jid = JourneyId(id);
            let before = tx.journey(&jid)?.map(|r| r.draft);
            tx.save_draft(&jid, &doc, now)?;
            audit::record(tx, &actor, now, "journey.save_draft", &format!("journey:{jid}"), before.as_ref(), Some(&doc))?;
            diagnose(tx, &doc)
        })
        .await?;
    Ok(Json(draft_saved(diags)))
}

/// A journey: its draft, its published version and state.
#[utoipa::path(get, path = "/journeys/{id}", tag = "journeys", params(("id" = String, Path)),
    responses((status = 200, body = wire::JourneyView), (status = 404, body = ErrorBody)))]
pub async fn get_journey(State(app): State<Arc<App>>, Path(id): Path<String>) -> Answer<wire::JourneyView> {
    let (record, published) = app
        .read(move |tx| {
            let jid = JourneyId(id.clone());
            let record = tx.journey(&jid)?.ok_or_else(|| ApiError::not_found(format!("journey {id:?}")))?;
            let published = match record.published_version {
                Some(v) => tx.journey_version(&jid, v)?,
                None => None,
            };
            Ok((record, published))
        })
        .await?;
    Ok(Json(wire::JourneyView {
        id: record.id.0,
        status: record.status.into(),
        state: record.state.into(),
        published_version: record.published_version,
        draft: wire::JourneyDocument(record.draft),
        published: published.map(version_view),
        updated_at: ts(record.updated_at),
    }))
}

/// The default period of counts: the 7 days up to now (168 whole hours, the current one
/// included).
fn last_week(now: Timestamp) -> (Timestamp, Timestamp) {
    let to = store::NodeDeltas::hour(now).plus(Duration::hours(1));
    (to.minus(Duration::days(7)), to)
}

fn version_view(v: store::JourneyVersion) -> wire::PublishedVersion {
    wire::PublishedVersion { version: v.version, document: wire::JourneyDocument(v.document), published_at: ts(v.published_at) }
}

/// A journey's published versions, newest first, each with its document.
#[utoipa::path(get, path = "/journeys/{id}/versions", tag = "journeys", params(("id" = String, Path)),
    responses((status = 200, body = wire::VersionList), (status = 404, body = ErrorBody)))]
pub async fn journey_versions(State(app): State<Arc<App>>, Path(id): Path<String>) -> Answer<wire::VersionList> {
    let versions = app
        .read(move |tx| {
            let jid = JourneyId(id);
            tx.journey(&jid)?.ok_or_else(|| ApiError::not_found(format!("journey {:?}", jid.0)))?;
            Ok(tx.journey_versions(&jid)?)
        })
        .await?;
    Ok(Json(wire::VersionList { versions: versions.into_iter().map(version_view).collect() }))
}

/// Journeys, by id, a page at a time, each with its runs waiting now and its entries and
/// conversions in the last 7 days.
#[utoipa::path(get, path = "/journeys", tag = "journeys", params(wire::SlugPageQuery), responses((status = 200, body = wire::JourneyList)))]
pub async fn list_journeys(State(app): State<Arc<App>>, Query(q): Query<wire::SlugPageQuery>) -> Answer<wire::JourneyList> {
    let size = page_size(q.limit)?;
    let after = slug_cursor(q.cursor.as_deref())?.map(JourneyId);
    let (from, to) = last_week(app.engine.clock().now());
    let (journeys, next_cursor) = app
        .read(move |tx| {
            let mut out = Vec::new();
            let (page, next_cursor) = paged(tx.journeys_after(after.as_ref(), size + 1)?, size, |j| j.id.0.clone());
            for j in page {
                let counts = tx.node_counts(&j.id, from, to)?;
                let entered = |node: &str| counts.get(node).map_or(0, |c| c.entered);
                out.push(wire::JourneySummary {
                    name: j.draft.get("name").and_then(Value::as_str).unwrap_or(&j.id.0).to_owned(),
                    status: j.status.into(),
                    state: j.state.into(),
                    published_version: j.published_version,
                    updated_at: ts(j.updated_at),
                    waiting: counts.values().map(|c| c.waiting).sum(),
                    entered_7d: entered(store::ENTRY_NODE) + entered(store::CONTROL_NODE),
                    converted_7d: counts.values().map(|c| c.converted).sum(),
                    id: j.id.0,
                });
            }
            Ok((out, next_cursor))
        })
        .await?;
    Ok(Json(wire::JourneyList { journeys, next_cursor }))
}

/// A journey's counts per node (entered, passed, exited, converted over the period; waiting
/// now), kept by the engine in the same transactions as the runs' moves. Poll it for live
/// counts.
#[utoipa::path(get, path = "/journeys/{id}/counts", tag = "journeys", params(("id" = String, Path), wire::CountsQuery),
    responses((status = 200, body = wire::JourneyCounts), (status = 404, body = ErrorBody)))]
pub async fn journey_counts(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    Query(q): Query<wire::CountsQuery>,
) -> Answer<wire::JourneyCounts> {
    let (from, to) = wire::range(q.from.as_deref(), q.to.as_deref(), last_week(app.engine.clock().now()))?;
    let jid = JourneyId(id);
    let journey = jid.0.clone();
    let counts = app
        .read(move |tx| {
            tx.journey(&jid)?.ok_or_else(|| ApiError::not_found(format!("journey {:?}", jid.0)))?;
            Ok(tx.node_counts(&jid, from, to)?)
        })
        .await?;
    let nodes = counts
        .into_iter()
        .map(|(node, c)| {
            (node, wire::NodeCount { entered: c.entered, passed: c.passed, exited: c.exited, converted: c.converted, waiting: c.waiting })
        })
        .collect();
    Ok(Json(wire::JourneyCounts { journey, from: ts(from), to: ts(to), nodes }))
}

/// Publishes the draft as a new immutable version. With `{"in_flight": "move"}` waiting runs
/// move to it, and a step they wait at that the new version lacks is a diagnostic. The body
/// may be empty.
#[utoipa::path(post, path = "/journeys/{id}/publish", tag = "journeys", params(("id" = String, Path)),
    request_body(content = Option<wire::PublishRequest>),
    responses((status = 200, body = wire::Published), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "`journey_invalid`: every error, in `details.diagnostics`")))]
pub async fn publish_journey(
    State(app): State<Arc<App>>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Answer<wire::Published> {
    let empty = body.iter().all(u8::is_ascii_whitespace) || body.trim_ascii() == b"null";
    let body: wire::PublishRequest = if empty {
        wire::PublishRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| bad_request(format!("publish takes {{\"in_flight\": \"stay\" | \"move\"}}: {e}")))?
    };
    let move_runs = body.in_flight == Some(wire::InFlight::Move);
    let now = app.engine.clock().now();
    let journey = JourneyId(id.clone());
    let (version, warnings) = app
        .write(move |tx| {
            let jid = JourneyId(id);
            let before = published_audit(tx, &jid)?;
            let published = publish_draft(tx, &jid, move_runs, now)?;
            let after = published_audit(tx, &jid)?;
            audit::record(tx, &actor, now, "journey.publish", &format!("journey:{jid}"), before.as_ref(), after.as_ref())?;
            Ok(published)
        })
        .await?;
    app.engine.reload_journeys().await?;
    let moved = if move_runs { app.engine.runs(journey, engine::RunsAction::MoveTo(version)).await? } else { 0 };
    Ok(Json(wire::Published {
        status: wire::JourneyStatus::Published,
        version,
        moved_runs: moved,
        diagnostics: wire::diagnostics(warnings),
    }))
}

/// What the audit log shows of a journey's published version: its number, state and document.
fn published_audit(tx: &mut dyn Tx, jid: &JourneyId) -> Result<Option<Value>, ApiError> {
    let Some(record) = tx.journey(jid)? else { return Ok(None) };
    let Some(version) = record.published_version else { return Ok(None) };
    Ok(tx.journey_version(jid, version)?.map(|v| json!({"version": v.version, "state": record.state.as_str(), "document": v.document})))
}

/// Publishes the stored draft of `jid` in `tx`, or refuses with every error (then the caller's
/// transaction is not committed). Returns the version and the warnings.
fn publish_draft(tx: &mut dyn Tx, jid: &JourneyId, move_runs: bool, now: Timestamp) -> Result<(i64, Vec<Diagnostic>), ApiError> {
    let id = &jid.0;
    let record = tx.journey(jid)?.ok_or_else(|| ApiError::not_found(format!("journey {id:?}")))?;
    let mut diags = diagnose(tx, &record.draft)?;
    if move_runs && no_errors(&diags) {
        let steps: Vec<&str> = record.draft["steps"].as_array().into_iter().flatten().filter_map(|s| s["id"].as_str()).collect();
        let mut stranded: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
        for r in tx.journey_runs(jid)?.into_iter().filter(|r| r.run.status == domain::journey::RunStatus::Waiting) {
            if let Some(node) = r.run.node.filter(|n| !steps.contains(&n.as_str())) {
                *stranded.entry(node.0).or_default() += 1;
            }
        }
        for (node, runs) in stranded {
            diags.push(Diagnostic {
                node: Some(node.clone()),
                path: "/steps".into(),
                code: "step_missing_for_runs".into(),
                severity: Severity::Error,
                message: format!("{runs} waiting run(s) are at step {node:?}, which the new version does not have; keep it, or publish with in_flight \"stay\""),
            });
        }
    }
    if !no_errors(&diags) {
        diags.retain(|d| d.severity == Severity::Error);
        return Err(ApiError::new(Code::JourneyInvalid, format!("journey {id:?} has {} problem(s); nothing was published", diags.len()))
            .with_details(diagnostics_details(diags)));
    }
    Ok((tx.publish(jid, now)?, diags))
}

fn diagnostics_details(diags: Vec<Diagnostic>) -> Value {
    serde_json::to_value(wire::DiagnosticsDetails { diagnostics: wire::diagnostics(diags) }).unwrap_or_default()
}

/// Journeys as code: validates a document and, when it has no errors, saves it as the draft
/// and publishes it, in one transaction. A document with errors changes nothing (the draft
/// stays as it was) and gets 422 with every error; so does a publish that would strand
/// in-flight runs. A document equal to the published version publishes nothing.
#[utoipa::path(post, path = "/journeys/{id}/apply", tag = "journeys", params(("id" = String, Path)), request_body = wire::ApplyRequest,
    responses((status = 200, body = wire::ApplyResponse),
        (status = 422, body = ErrorBody, description = "`journey_invalid`: every error, in `details.diagnostics`; nothing changed")))]
pub async fn apply_journey(
    State(app): State<Arc<App>>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
    Json(body): Json<wire::ApplyRequest>,
) -> Answer<wire::ApplyResponse> {
    if doc_id(&body.document.0)? != id {
        return Err(bad_request(format!("the document's \"id\" must be {id:?}, as in the URL")));
    }
    let move_runs = body.in_flight == Some(wire::InFlight::Move);
    let now = app.engine.clock().now();
    let jid = JourneyId(id);
    let doc = body.document.0;
    let journey = jid.clone();
    let applied = app
        .write(move |tx| {
            let mut diags = diagnose(tx, &doc)?;
            if !no_errors(&diags) {
                diags.retain(|d| d.severity == Severity::Error);
                let message = format!("journey {:?} has {} problem(s); nothing was saved or published", jid.0, diags.len());
                return Err(ApiError::new(Code::JourneyInvalid, message).with_details(diagnostics_details(diags)));
            }
            let live = match tx.journey(&jid)?.and_then(|r| r.published_version) {
                Some(v) => tx.journey_version(&jid, v)?,
                None => None,
            };
            if let Some(live) = live.filter(|l| l.document == doc) {
                return Ok((wire::ApplyStatus::Unchanged, live.version, diags));
            }
            let before = published_audit(tx, &jid)?;
            tx.save_draft(&jid, &doc, now)?;
            let (version, warnings) = publish_draft(tx, &jid, move_runs, now)?;
            let after = published_audit(tx, &jid)?;
            audit::record(tx, &actor, now, "journey.apply", &format!("journey:{jid}"), before.as_ref(), after.as_ref())?;
            Ok((wire::ApplyStatus::Published, version, warnings))
        })
        .await?;
    let (status, version, diagnostics) = applied;
    let mut moved_runs = 0;
    if status == wire::ApplyStatus::Published {
        app.engine.reload_journeys().await?;
        if move_runs {
            moved_runs = app.engine.runs(journey, engine::RunsAction::MoveTo(version)).await?;
        }
    }
    Ok(Json(wire::ApplyResponse { status, version, moved_runs, diagnostics: wire::diagnostics(diagnostics) }))
}

async fn set_state(app: &Arc<App>, actor: Actor, id: String, state: JourneyState, action: &'static str) -> Result<(), ApiError> {
    let now = app.engine.clock().now();
    app.write(move |tx| {
        let jid = JourneyId(id.clone());
        let record = tx.journey(&jid)?.ok_or_else(|| ApiError::not_found(format!("journey {id:?}")))?;
        if record.published_version.is_none() {
            return Err(ApiError::new(Code::Conflict, format!("journey {id:?} is a draft; publish it first")));
        }
        tx.set_journey_state(&jid, state, now)?;
        let (before, after) = (json!({"state": record.state.as_str()}), json!({"state": state.as_str()}));
        audit::record(tx, &actor, now, action, &format!("journey:{jid}"), Some(&before), Some(&after))
    })
    .await?;
    app.engine.reload_journeys().await?;
    Ok(())
}

/// Pause: no new entries; runs in flight go on.
#[utoipa::path(post, path = "/journeys/{id}/pause", tag = "journeys", params(("id" = String, Path)),
    responses((status = 200, body = wire::StateChanged), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "a draft: publish it first")))]
pub async fn pause_journey(
    State(app): State<Arc<App>>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
) -> Answer<wire::StateChanged> {
    set_state(&app, actor, id, JourneyState::Paused, "journey.pause").await?;
    Ok(Json(wire::StateChanged { state: wire::JourneyState::Paused }))
}

/// Resume: the journey takes entries again.
#[utoipa::path(post, path = "/journeys/{id}/resume", tag = "journeys", params(("id" = String, Path)),
    responses((status = 200, body = wire::StateChanged), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "a draft: publish it first")))]
pub async fn resume_journey(
    State(app): State<Arc<App>>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
) -> Answer<wire::StateChanged> {
    set_state(&app, actor, id, JourneyState::Active, "journey.resume").await?;
    Ok(Json(wire::StateChanged { state: wire::JourneyState::Active }))
}

/// Stop: no new entries, and every waiting run exits with the reason. Publishing again
/// makes the journey active. The body may be empty.
#[utoipa::path(post, path = "/journeys/{id}/stop", tag = "journeys", params(("id" = String, Path)),
    request_body(content = Option<wire::StopRequest>),
    responses((status = 200, body = wire::Stopped), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "a draft: publish it first")))]
pub async fn stop_journey(
    State(app): State<Arc<App>>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Answer<wire::Stopped> {
    let body: wire::StopRequest = serde_json::from_slice(&body).unwrap_or_default();
    let jid = JourneyId(id.clone());
    let state = app
        .read(move |tx| match tx.journey(&jid)? {
            None => Err(ApiError::not_found(format!("journey {:?}", jid.0))),
            Some(r) if r.published_version.is_none() => {
                Err(ApiError::new(Code::Conflict, format!("journey {:?} is a draft; publish it first", jid.0)))
            }
            Some(r) => Ok(r.state),
        })
        .await?;
    let reason = format!("journey stopped{}", body.reason.map_or(String::new(), |r| format!(": {r}")));
    let stopped = app.engine.runs(JourneyId(id.clone()), engine::RunsAction::Stop(reason.clone())).await?;
    let before = json!({"state": state.as_str()});
    let after = json!({"state": JourneyState::Stopped.as_str(), "stopped_runs": stopped, "reason": reason});
    app.audit_after(&actor, "journey.stop", format!("journey:{id}"), Some(before), Some(after)).await;
    Ok(Json(wire::Stopped { state: wire::JourneyState::Stopped, stopped_runs: stopped }))
}

/// How many items a page has: `limit` (1 to 1000), 100 by default.
pub(crate) fn page_size(limit: Option<u32>) -> Result<usize, ApiError> {
    match limit {
        None => Ok(100),
        Some(l @ 1..=1000) => Ok(l as usize),
        Some(l) => Err(bad_request(format!("limit is 1 to 1000, not {l}"))),
    }
}

/// A cursor is the last (or first) id of the page before, as a string; clients treat it as
/// opaque.
pub(crate) fn cursor(c: Option<&str>) -> Result<Option<i64>, ApiError> {
    c.filter(|c| !c.is_empty())
        .map(|c| c.parse::<i64>().map_err(|_| bad_request(format!("cursor {c:?} is not one this API gave"))))
        .transpose()
}

/// A page read with one row more than `size` (the store asked for `size + 1`): its first
/// `size` rows, and its `next_cursor` — the key of its last row — only when there was more,
/// so the last page, full or not, has none.
pub(crate) fn paged<T, K: ToString>(mut rows: Vec<T>, size: usize, key: impl Fn(&T) -> K) -> (Vec<T>, Option<String>) {
    let more = rows.len() > size;
    rows.truncate(size);
    let next = rows.last().filter(|_| more).map(|r| key(r).to_string());
    (rows, next)
}

/// The cursor of a list of things named by slugs: the last id of the page before (a slug);
/// clients treat it as opaque.
pub(crate) fn slug_cursor(c: Option<&str>) -> Result<Option<String>, ApiError> {
    match c.filter(|c| !c.is_empty()) {
        None => Ok(None),
        Some(c) if is_slug(c) => Ok(Some(c.to_owned())),
        Some(c) => Err(bad_request(format!("cursor {c:?} is not one this API gave"))),
    }
}

/// A journey's runs (position, status, times), oldest first, a page at a time.
#[utoipa::path(get, path = "/journeys/{id}/runs", tag = "journeys", params(("id" = String, Path), wire::PageQuery),
    responses((status = 200, body = wire::RunsPage), (status = 404, body = ErrorBody)))]
pub async fn journey_runs(State(app): State<Arc<App>>, Path(id): Path<String>, Query(q): Query<wire::PageQuery>) -> Answer<wire::RunsPage> {
    let size = page_size(q.limit)?;
    let after = RunId(cursor(q.cursor.as_deref())?.unwrap_or(0));
    let runs = app
        .read(move |tx| {
            let jid = JourneyId(id);
            tx.journey(&jid)?.ok_or_else(|| ApiError::not_found(format!("journey {:?}", jid.0)))?;
            Ok(tx.journey_runs_page(&jid, after, size + 1)?)
        })
        .await?;
    let (runs, next_cursor) = paged(runs, size, |r| r.id.0);
    let runs = runs
        .iter()
        .map(|r| wire::RunSummary {
            run_id: r.id.0,
            profile_id: r.profile.0,
            version: r.run.version,
            status: r.run.status.into(),
            node: r.run.node.as_ref().map(|n| n.0.clone()),
            wake_at: r.run.wake_at.map(ts),
            exit_reason: r.run.exit_reason.clone(),
            control_group: r.run.control,
            converted_at: r.run.converted_at.map(ts),
            revenue: r.run.revenue,
            assignments: r.run.assignments.clone(),
            entered_at: ts(r.run.entered_at),
            updated_at: ts(r.run.updated_at),
        })
        .collect();
    Ok(Json(wire::RunsPage { runs, next_cursor }))
}

/// Enters a person (by `user_id` or `anonymous_id`; created if new) into a journey whose
/// entry is `{"api": true}`; `payload` is what templates see as `event`.
#[utoipa::path(post, path = "/journeys/{id}/enter", tag = "journeys", params(("id" = String, Path)), request_body = wire::EnterRequest,
    responses((status = 200, body = wire::Entered), (status = 404, body = ErrorBody, description = "no published journey"),
        (status = 409, body = ErrorBody, description = "the journey is not entered by API")))]
pub async fn enter_journey(
    State(app): State<Arc<App>>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
    Json(body): Json<wire::EnterRequest>,
) -> Answer<wire::Entered> {
    let identity = match (body.user_id, body.anonymous_id) {
        (Some(u), _) => Identity::UserId(u),
        (None, Some(a)) => Identity::AnonymousId(a),
        (None, None) => return Err(bad_request("give \"user_id\" or \"anonymous_id\"")),
    };
    let jid = JourneyId(id.clone());
    let published = app
        .read(move |tx| {
            let live = tx.published()?.into_iter().find(|v| v.id == jid);
            live.ok_or_else(|| ApiError::not_found(format!("a published journey {:?}", jid.0)))
        })
        .await?;
    let api_entry = published.document.get("entry").and_then(|e| e.get("api")).and_then(Value::as_bool) == Some(true);
    if !api_entry {
        return Err(ApiError::new(Code::Conflict, format!("journey {id:?} is not entered by API: its entry needs \"api\": true")));
    }
    let person = identity.to_string();
    let payload = Value::Object(body.payload.clone());
    let entered = app.engine.enter(JourneyId(id.clone()), identity, body.payload).await?;
    let after = json!({"person": person, "payload": payload, "entered": entered});
    app.audit_after(&actor, "journey.enter", format!("journey:{id}"), None, Some(after)).await;
    let note =
        (!entered).then(|| "not entered: the person is in this journey already, or its re-entry rule or entry limit says no".to_owned());
    Ok(Json(wire::Entered { entered, note }))
}

/// Replays the stored events up to `to` through a journey document (a draft need not be
/// saved), published at `from`, with a simulated clock, and reports for the period the events,
/// per-step visits, sends and the messages that would fail (rendered, not sent), exits, goals,
/// what the entry events did and sample paths. Nothing is sent and nothing live changes.
#[utoipa::path(post, path = "/journeys/backtest", tag = "journeys", request_body = wire::BacktestRequest,
    responses((status = 200, body = wire::BacktestResponse),
        (status = 422, body = ErrorBody, description = "`journey_invalid`: fix the document first")))]
pub async fn backtest(State(app): State<Arc<App>>, Json(body): Json<wire::BacktestRequest>) -> Answer<wire::BacktestResponse> {
    // Both are required: the default is never taken.
    let (from, to) = wire::range(Some(&body.from), Some(&body.to), (Timestamp(0), Timestamp(0)))?;
    let document = body.document.0;
    let doc = document.clone();
    let mut diags = app.read(move |tx| diagnose(tx, &doc)).await?;
    if !no_errors(&diags) {
        diags.retain(|d| d.severity == Severity::Error);
        return Err(ApiError::new(Code::JourneyInvalid, "fix the journey before backtesting it").with_details(diagnostics_details(diags)));
    }
    let scratch = std::env::temp_dir().join(format!("wayfarer-backtest-{}", new_token()));
    std::fs::create_dir_all(&scratch).map_err(|e| ApiError::new(Code::Internal, format!("scratch directory: {e}")))?;
    let progress = |done: usize, total: usize| {
        if total >= 10 && done.is_multiple_of((total / 10).max(1)) {
            tracing::info!(done, total, "backtest progress");
        }
    };
    let result = engine::backtest::run(app.store.clone(), &document, from, to, &scratch, &progress).await;
    let _ = std::fs::remove_dir_all(&scratch);
    let event_entry = matches!(Journey::parse(&document).map(|j| j.entry.trigger), Ok(domain::journey::Trigger::Event(_)));
    Ok(Json(backtest_response(result?, from, to, event_entry)))
}

fn backtest_response(r: engine::backtest::Report, from: Timestamp, to: Timestamp, event_entry: bool) -> wire::BacktestResponse {
    {
        let e = r.entries;
        let entries = event_entry.then(|| wire::BacktestEntries {
            events: e.events,
            entered: e.entered,
            filtered: e.filtered,
            filter_reasons: e.filter_reasons.into_iter().map(|(comparison, count)| wire::FilterReason { comparison, count }).collect(),
            waiting: e.waiting,
            reentry: e.reentry,
            limit: e.limit,
            unexplained: e.unexplained,
        });
        wire::BacktestResponse {
            from: ts(from),
            to: ts(to),
            events: r.events,
            warmup_events: r.warmup_events,
            runs: r.runs,
            control_group: r.control,
            conversions: r.conversions,
            visits: r.visits,
            waiting: r.waiting,
            sends: r.sends,
            failed: r.failed,
            exits: r.exits,
            entries,
            samples: r.samples.into_iter().map(|(person, path)| wire::BacktestSample { person, path }).collect(),
        }
    }
}

// ---- profiles ----

fn event_view(e: &StoredEvent) -> wire::EventView {
    let ev = &e.event;
    wire::EventView {
        seq: e.seq.0,
        source: e.source.0.clone(),
        kind: ev.kind.as_str().to_owned(),
        name: ev.match_name().to_owned(),
        message_id: ev.message_id.0.clone(),
        timestamp: ts(ev.timestamp),
        received_at: ts(ev.received_at),
        user_id: ev.user_id.clone(),
        anonymous_id: ev.anonymous_id.clone(),
        properties: ev.properties.clone(),
        traits: ev.traits.clone(),
    }
}

pub fn message_view(m: &OutboxEntry) -> wire::MessageView {
    let (template, url) = match &m.payload.effect {
        domain::journey::Effect::Send { template, .. } => (Some(template.as_str()), None),
        domain::journey::Effect::Webhook { url, .. } => (None, Some(url.as_str())),
        domain::journey::Effect::Update { .. } | domain::journey::Effect::Task { .. } => (None, None),
    };
    let note = match m.status {
        OutboxStatus::Captured => Some("captured: no channel is configured, so this message was rendered and kept, NOT delivered"),
        OutboxStatus::Pending if m.attempts > 0 => Some("waiting for a retry"),
        OutboxStatus::Suppressed => Some("suppressed: not sent, because a control said no (the error says which)"),
        _ => None,
    };
    wire::MessageView {
        id: m.id.0,
        idempotency_key: m.key.clone(),
        profile_id: m.profile.0,
        run_id: m.run.map(|r| r.0),
        channel: m.channel.clone(),
        status: m.status.into(),
        delivered: m.status == OutboxStatus::Sent,
        note: note.map(str::to_owned),
        // The address an email went to (a webhook's payload keeps the person's email too).
        to: m.payload.to.clone().filter(|_| m.channel != deliver::WEBHOOK),
        template: template.map(str::to_owned),
        url: url.map(str::to_owned),
        node: m.payload.effect.node().0.clone(),
        attempts: m.attempts,
        next_attempt_at: (m.status == OutboxStatus::Pending).then(|| ts(m.next_attempt_at)),
        last_error: m.last_error.clone(),
        message: m.result.clone(),
        created_at: ts(m.created_at),
        updated_at: ts(m.updated_at),
    }
}

/// A run with its position and its full trace.
fn run_view(tx: &mut dyn Tx, r: &store::RunRecord) -> Result<wire::RunView, ApiError> {
    let trace = tx
        .traces(r.id)?
        .into_iter()
        .map(|t| wire::TraceEntry {
            seq: t.seq,
            at: ts(t.at),
            lines: t.lines.iter().map(|l| l.text.clone()).collect(),
            steps: t.lines.into_iter().map(wire::TraceStep::from).collect(),
        })
        .collect();
    let run = &r.run;
    Ok(wire::RunView {
        run_id: r.id.0,
        journey: run.journey.0.clone(),
        version: run.version,
        status: run.status.into(),
        node: run.node.as_ref().map(|n| n.0.clone()),
        wake_at: run.wake_at.map(ts),
        exit_reason: run.exit_reason.clone(),
        entered_at: ts(run.entered_at),
        updated_at: ts(run.updated_at),
        trace,
        control_group: run.control,
        converted_at: run.converted_at.map(ts),
        revenue: run.revenue,
        assignments: run.assignments.clone(),
        key: run.key.clone(),
        variables: run.vars.clone(),
    })
}

fn recent_entry(e: &engine::explain::RecentEntry) -> wire::RecentEntry {
    use engine::explain::EntryVerdict as V;
    use wire::EntryVerdict as W;
    let (verdict, run_id, comparisons) = match &e.verdict {
        V::Entered { run } => (W::Entered, Some(run.0), Vec::new()),
        V::Filtered { comparisons, .. } => (W::Filtered, None, comparisons.clone()),
        V::NoKey { .. } => (W::NoKey, None, Vec::new()),
        V::Waiting { run, .. } => (W::Waiting, Some(run.0), Vec::new()),
        V::Reentry { run, .. } => (W::Reentry, Some(run.0), Vec::new()),
        V::Limit(_) => (W::Limit, None, Vec::new()),
        V::NotLive { .. } => (W::NotLive, None, Vec::new()),
        V::Unexplained => (W::Unexplained, None, Vec::new()),
    };
    wire::RecentEntry {
        at: ts(e.at),
        received_at: ts(e.received_at),
        message_id: e.message_id.0.clone(),
        verdict,
        detail: e.detail(),
        run_id,
        comparisons,
    }
}

/// Each published journey for one person: their runs with position and trace, and, when
/// they are not in it, why not (with the values seen); for journeys entered by an event, what
/// each of their latest entry events did (`recent_entries`, newest first).
#[utoipa::path(get, path = "/profiles/{id}/journeys", tag = "profiles", params(("id" = i64, Path)),
    responses((status = 200, body = wire::ProfileJourneys), (status = 404, body = ErrorBody)))]
pub async fn profile_journeys(State(app): State<Arc<App>>, Path(id): Path<i64>) -> Answer<wire::ProfileJourneys> {
    let now = app.engine.clock().now();
    let out = app
        .read(move |tx| {
            let profile = tx.canonical(ProfileId(id))?.ok_or_else(|| ApiError::not_found(format!("profile {id}")))?;
            let runs = tx.runs_of(profile)?;
            let mut journeys = Vec::new();
            for record in tx.journeys()? {
                let Some(version) = record.published_version else { continue };
                let Some(live) = tx.journey_version(&record.id, version)? else { continue };
                let mine: Vec<&store::RunRecord> = runs.iter().filter(|r| r.run.journey == record.id).collect();
                let waiting = mine.iter().any(|r| r.run.status == domain::journey::RunStatus::Waiting);
                let parsed = Journey::parse(&live.document);
                let why_not = match (waiting, &parsed) {
                    (true, _) => None,
                    (false, Ok(j)) => {
                        Some(engine::explain::why_not_entered(tx, j, version, record.state.as_str(), live.published_at, profile, now)?)
                    }
                    (false, Err(_)) => Some("the published version does not parse".to_owned()),
                };
                let recent_entries = match &parsed {
                    Ok(j) => engine::explain::recent_entries(tx, j, version, profile, engine::explain::RECENT_ENTRIES)?
                        .map(|entries| entries.iter().map(recent_entry).collect()),
                    Err(_) => None,
                };
                let runs = mine.iter().map(|r| run_view(tx, r)).collect::<Result<Vec<_>, ApiError>>()?;
                journeys.push(wire::ProfileJourney {
                    journey: record.id.0,
                    version,
                    state: record.state.into(),
                    in_journey: waiting,
                    why_not,
                    recent_entries,
                    runs,
                });
            }
            Ok(wire::ProfileJourneys { profile_id: profile.0, journeys })
        })
        .await?;
    Ok(Json(out))
}

fn profile_view(tx: &mut dyn Tx, id: ProfileId) -> Result<wire::ProfileView, ApiError> {
    let canonical = tx.canonical(id)?.ok_or_else(|| ApiError::not_found(format!("profile {id}")))?;
    let profile = tx.profile(canonical)?.ok_or_else(|| ApiError::not_found(format!("profile {id}")))?;
    let identities = tx.identities(canonical)?.iter().map(wire::IdentityView::from).collect();
    let events = tx.timeline(canonical, 200)?.iter().map(event_view).collect();
    let journeys = tx.runs_of(canonical)?.iter().map(|r| run_view(tx, r)).collect::<Result<Vec<_>, ApiError>>()?;
    let messages = tx.messages(None, Some(canonical), None, 200)?.iter().map(message_view).collect();
    // Merges the identity rule refused, seen from this person's side.
    let refused_merges = tx
        .refused_merges(canonical)?
        .iter()
        .map(|r| wire::RefusedMergeView {
            other_profile_id: if r.profile == canonical { r.other.0 } else { r.profile.0 },
            identity: wire::IdentityView::from(&r.identity),
            identity_now_with: r.profile.0,
            reason: r.reason.clone(),
            message_id: r.message_id.0.clone(),
            at: ts(r.at),
        })
        .collect();
    // Traits Wayfarer reads but cannot use; the traces say where each mattered.
    let warnings = domain::zone::trait_zone_problem(&profile.traits).into_iter().collect();
    let mut segments = Vec::new();
    for id in tx.memberships(canonical)? {
        let name = tx.segment(&id)?.map_or_else(|| id.0.clone(), |s| s.name);
        segments.push(wire::SegmentRef { id: id.0, name });
    }
    Ok(wire::ProfileView {
        id: canonical.0,
        merged_from: (canonical != id).then_some(id.0),
        traits: profile.traits,
        identities,
        refused_merges,
        events,
        journeys,
        messages,
        warnings,
        segments,
        computed_traits: tx.computed_traits()?.into_iter().map(|c| c.id).collect(),
        stage_history: tx
            .stage_history(canonical)?
            .into_iter()
            .map(|m| wire::StageMoveView { at: ts(m.at), from: m.from, to: m.to })
            .collect(),
    })
}

/// The person with a user id or an anonymous id.
#[utoipa::path(get, path = "/profiles/lookup", tag = "profiles", params(wire::LookupQuery),
    responses((status = 200, body = wire::ProfileView), (status = 404, body = ErrorBody)))]
pub async fn lookup_profile(State(app): State<Arc<App>>, Query(q): Query<wire::LookupQuery>) -> Answer<wire::ProfileView> {
    let identity = match (q.user_id, q.anonymous_id) {
        (Some(u), _) => Identity::UserId(u),
        (None, Some(a)) => Identity::AnonymousId(a),
        (None, None) => return Err(bad_request("give ?user_id=... or ?anonymous_id=...")),
    };
    let view = app
        .read(move |tx| {
            let id = tx.profile_by_identity(&identity)?.ok_or_else(|| ApiError::not_found(format!("a person with {identity}")))?;
            profile_view(tx, id)
        })
        .await?;
    Ok(Json(view))
}

/// A person by id (a merged-away id answers the person it joined, with `merged_from`).
#[utoipa::path(get, path = "/profiles/{id}", tag = "profiles", params(("id" = i64, Path)),
    responses((status = 200, body = wire::ProfileView), (status = 404, body = ErrorBody)))]
pub async fn get_profile(State(app): State<Arc<App>>, Path(id): Path<i64>) -> Answer<wire::ProfileView> {
    Ok(Json(app.read(move |tx| profile_view(tx, ProfileId(id))).await?))
}

/// People, by id, a page at a time; with `q`, those with an identity that starts with it.
#[utoipa::path(get, path = "/profiles", tag = "profiles", params(wire::ProfilesQuery),
    responses((status = 200, body = wire::ProfilesPage)))]
pub async fn list_profiles(State(app): State<Arc<App>>, Query(q): Query<wire::ProfilesQuery>) -> Answer<wire::ProfilesPage> {
    let size = page_size(q.limit)?;
    let after = ProfileId(cursor(q.cursor.as_deref())?.unwrap_or(0));
    let search = q.q.filter(|s| !s.is_empty());
    let page = app
        .read(move |tx| {
            let people: Vec<(ProfileId, domain::Map)> = match &search {
                Some(prefix) => {
                    let ids = tx.find_profiles(prefix, after, size + 1)?;
                    let mut out = Vec::with_capacity(ids.len());
                    for id in ids {
                        out.push((id, tx.profile(id)?.map(|p| p.traits).unwrap_or_default()));
                    }
                    out
                }
                None => tx.profiles_after(after, size + 1)?.into_iter().map(|p| (p.id, p.traits)).collect(),
            };
            let (people, next_cursor) = paged(people, size, |(id, _)| id.0);
            let mut profiles = Vec::with_capacity(people.len());
            for (id, traits) in people {
                let identities = tx.identities(id)?.iter().map(wire::IdentityView::from).collect();
                profiles.push(wire::ProfileSummary { id: id.0, identities, traits });
            }
            Ok(wire::ProfilesPage { profiles, next_cursor })
        })
        .await?;
    Ok(Json(page))
}

// ---- dead letters ----

/// Inputs the engine failed to step (a bug), newest first, with the error.
#[utoipa::path(get, path = "/dead-letters", tag = "operations", params(wire::PageQuery),
    responses((status = 200, body = wire::DeadLettersPage)))]
pub async fn list_dead_letters(State(app): State<Arc<App>>, Query(q): Query<wire::PageQuery>) -> Answer<wire::DeadLettersPage> {
    let size = page_size(q.limit)?;
    let before = cursor(q.cursor.as_deref())?.map(DeadLetterId);
    let letters = app.read(move |tx| Ok(tx.dead_letters(before, size + 1)?)).await?;
    let (letters, next_cursor) = paged(letters, size, |d| d.id.0);
    let dead_letters = letters
        .iter()
        .map(|d| wire::DeadLetterView {
            id: d.id.0,
            profile_id: d.profile.0,
            inputs: d.inputs.iter().map(|i| serde_json::to_value(i).unwrap_or_default()).collect(),
            error: d.error.clone(),
            at: ts(d.at),
            replayed_at: d.replayed_at.map(ts),
        })
        .collect();
    Ok(Json(wire::DeadLettersPage { dead_letters, next_cursor }))
}

/// Steps a dead letter's inputs again; 400 (and nothing changes) if they fail again.
#[utoipa::path(post, path = "/dead-letters/{id}/replay", tag = "operations", params(("id" = i64, Path)),
    responses((status = 200, body = wire::Replayed), (status = 404, body = ErrorBody)))]
pub async fn replay_dead_letter(
    State(app): State<Arc<App>>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<i64>,
) -> Answer<wire::Replayed> {
    app.engine.replay(DeadLetterId(id)).await?;
    app.audit_after(&actor, "dead_letter.replay", format!("dead_letter:{id}"), None, Some(json!({"replayed": true}))).await;
    Ok(Json(wire::Replayed { replayed: id }))
}

// ---- messages ----

/// Messages, newest first, a page at a time; optionally of one status or one person.
#[utoipa::path(get, path = "/messages", tag = "messages", params(wire::MessagesQuery),
    responses((status = 200, body = wire::MessagesPage)))]
pub async fn list_messages(State(app): State<Arc<App>>, Query(q): Query<wire::MessagesQuery>) -> Answer<wire::MessagesPage> {
    let size = page_size(q.limit)?;
    let before = cursor(q.cursor.as_deref())?.map(OutboxId);
    let status = q.status.map(OutboxStatus::from);
    let all = app.read(move |tx| Ok(tx.messages(status, q.profile_id.map(ProfileId), before, size + 1)?)).await?;
    let (all, next_cursor) = paged(all, size, |m| m.id.0);
    Ok(Json(wire::MessagesPage { messages: all.iter().map(message_view).collect(), next_cursor }))
}

/// The channels: where each sends, its dispatch queue's limits, and how many messages wait in it.
#[utoipa::path(get, path = "/channels", tag = "messages", responses((status = 200, body = wire::ChannelList)))]
pub async fn list_channels(State(app): State<Arc<App>>) -> Answer<wire::ChannelList> {
    let pending = app.read(|tx| Ok(tx.outbox_pending()?)).await?;
    let channels = app
        .engine
        .channels()
        .into_iter()
        .map(|c| wire::ChannelView {
            name: c.name.to_owned(),
            detail: c.detail,
            concurrency: u32::try_from(c.limits.concurrency).unwrap_or(u32::MAX),
            rate_per_sec: c.limits.rate_per_sec,
            pending: pending.iter().find(|(name, _)| name == c.name).map_or(0, |(_, n)| *n),
            frequency_cap: {
                let caps: Vec<String> = app
                    .engine
                    .caps()
                    .iter()
                    .filter(|cap| cap.channel.as_deref().is_none_or(|ch| ch == c.name))
                    .map(|cap| match cap.channel {
                        Some(_) => format!("at most {} marketing messages to a person in {}", cap.max, cap.within),
                        None => format!("at most {} marketing messages on every channel to a person in {}", cap.max, cap.within),
                    })
                    .collect();
                (!caps.is_empty()).then(|| caps.join("; "))
            },
        })
        .collect();
    Ok(Json(wire::ChannelList { channels }))
}

/// Sends a failed message again (once, with the same idempotency key); 409 if it is not failed.
#[utoipa::path(post, path = "/messages/{id}/retry", tag = "messages", params(("id" = i64, Path)),
    responses((status = 200, body = wire::Retried), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "the message is not failed")))]
pub async fn retry_message(State(app): State<Arc<App>>, Extension(actor): Extension<Actor>, Path(id): Path<i64>) -> Answer<wire::Retried> {
    let id = OutboxId(id);
    let entry = app.read(move |tx| Ok(tx.outbox_entry(id)?)).await?.ok_or_else(|| ApiError::not_found(format!("message {id}")))?;
    if entry.status != OutboxStatus::Failed {
        return Err(ApiError::new(
            Code::Conflict,
            format!("message {id} is {}, not failed: only failed messages are retried", entry.status.as_str()),
        ));
    }
    let retried = app.engine.retry_messages(vec![id]).await?;
    let (before, after) = (json!({"status": entry.status.as_str()}), json!({"status": "pending", "retried": retried}));
    app.audit_after(&actor, "message.retry", format!("message:{id}"), Some(before), Some(after)).await;
    Ok(Json(wire::Retried { retried }))
}

/// Sends every failed message of a journey again; answers how many.
#[utoipa::path(post, path = "/journeys/{id}/messages/retry", tag = "messages", params(("id" = String, Path)),
    responses((status = 200, body = wire::JourneyRetried), (status = 404, body = ErrorBody)))]
pub async fn retry_journey_messages(
    State(app): State<Arc<App>>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
) -> Answer<wire::JourneyRetried> {
    let jid = JourneyId(id.clone());
    let failed = app
        .read(move |tx| {
            tx.journey(&jid)?.ok_or_else(|| ApiError::not_found(format!("journey {:?}", jid.0)))?;
            let all = tx.messages(Some(OutboxStatus::Failed), None, None, usize::MAX)?;
            Ok(all.into_iter().filter(|m| m.run.is_some() && m.payload.context.journey == jid).map(|m| m.id).collect::<Vec<_>>())
        })
        .await?;
    let ids: Vec<i64> = failed.iter().map(|m| m.0).collect();
    let retried = app.engine.retry_messages(failed).await?;
    if retried > 0 {
        app.audit_after(
            &actor,
            "journey.retry_messages",
            format!("journey:{id}"),
            None,
            Some(json!({"messages": ids, "retried": retried})),
        )
        .await;
    }
    Ok(Json(wire::JourneyRetried { journey: id, retried }))
}

// ---- clock ----

fn clock_view(app: &App) -> wire::ClockView {
    wire::ClockView { now: ts(app.engine.clock().now()), manual: app.manual_clock.is_some() }
}

/// The server's time, and whether it is the manual clock of tests.
#[utoipa::path(get, path = "/clock", tag = "operations", responses((status = 200, body = wire::ClockView)))]
pub async fn get_clock(State(app): State<Arc<App>>) -> Answer<wire::ClockView> {
    Ok(Json(clock_view(&app)))
}

/// Moves the manual clock (`{"advance": "3d"}` or `{"to": "2026-01-01T00:00:00Z"}`); every
/// timer on the way fires at its own time. Only with `testing.manual_clock`.
#[utoipa::path(post, path = "/clock", tag = "operations", request_body = wire::MoveClock,
    responses((status = 200, body = wire::ClockView), (status = 409, body = ErrorBody, description = "`clock_not_manual`")))]
pub async fn move_clock(
    State(app): State<Arc<App>>,
    Extension(actor): Extension<Actor>,
    Json(body): Json<wire::MoveClock>,
) -> Answer<wire::ClockView> {
    let clock = app
        .manual_clock
        .clone()
        .ok_or_else(|| ApiError::new(Code::ClockNotManual, "the clock is the system clock; start with testing.manual_clock to move it"))?;
    let now = app.engine.clock().now();
    let target = match (body.advance, body.to) {
        (Some(d), None) => now.plus(d.parse::<Duration>().map_err(bad_request)?),
        (None, Some(t)) => Timestamp::parse(&t).ok_or_else(|| bad_request(format!("{t:?} is not an RFC 3339 instant")))?,
        _ => return Err(bad_request("give exactly one of \"advance\" (a duration such as \"3d\") or \"to\" (an instant)")),
    };
    if target < now {
        return Err(bad_request("the clock does not go backwards"));
    }
    app.engine.advance_manual(&clock, target).await?;
    let after = app.engine.clock().now();
    app.audit_after(&actor, "clock.move", "clock".into(), Some(json!({"now": ts(now)})), Some(json!({"now": ts(after)}))).await;
    Ok(Json(clock_view(&app)))
}
