//! The admin API's routes and its OpenAPI 3.1 document, built together: a handler is routed
//! only through `routes!`, which also adds its `#[utoipa::path]` to the document, so the
//! document cannot leave a route out. Served at `/api/openapi.json`; a copy is committed as
//! `web/openapi.json` (a test keeps it current), from which the web interface's TypeScript
//! types are generated.

use std::sync::Arc;

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, ResponseBuilder};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::App;
use crate::{admin, analytics, assets, computed, lifecycle, segments, tasks, teams};

/// Every admin route, relative to `/api`.
pub fn routes() -> OpenApiRouter<Arc<App>> {
    OpenApiRouter::new()
        .routes(routes!(admin::list_sources, admin::create_source))
        .routes(routes!(admin::list_templates))
        .routes(routes!(admin::preview_template))
        .routes(routes!(admin::names))
        .routes(routes!(admin::journey_versions))
        .routes(routes!(admin::get_template, admin::put_template))
        .routes(routes!(admin::list_journeys, admin::create_journey))
        .routes(routes!(admin::validate_journey))
        .routes(routes!(admin::backtest))
        .routes(routes!(admin::get_journey, admin::put_journey))
        .routes(routes!(admin::publish_journey))
        .routes(routes!(admin::apply_journey))
        .routes(routes!(admin::enter_journey))
        .routes(routes!(admin::journey_runs))
        .routes(routes!(admin::journey_counts))
        .routes(routes!(admin::pause_journey))
        .routes(routes!(admin::resume_journey))
        .routes(routes!(admin::stop_journey))
        .routes(routes!(admin::retry_journey_messages))
        .routes(routes!(admin::list_profiles))
        .routes(routes!(admin::lookup_profile))
        .routes(routes!(admin::get_profile))
        .routes(routes!(admin::profile_journeys))
        .routes(routes!(admin::list_messages))
        .routes(routes!(admin::retry_message))
        .routes(routes!(admin::list_channels))
        .routes(routes!(admin::list_dead_letters))
        .routes(routes!(admin::replay_dead_letter))
        .routes(routes!(admin::get_clock, admin::move_clock))
        .routes(routes!(teams::sign_in, teams::get_session, teams::sign_out))
        .routes(routes!(teams::list_users, teams::create_user))
        .routes(routes!(teams::get_user, teams::update_user, teams::delete_user))
        .routes(routes!(teams::list_my_tokens, teams::create_my_token))
        .routes(routes!(teams::delete_my_token))
        .routes(routes!(teams::list_audit))
        .routes(routes!(assets::list, assets::upload))
        .routes(routes!(tasks::list_tasks))
        .routes(routes!(tasks::get_task))
        .routes(routes!(tasks::complete_task))
        .routes(routes!(tasks::decline_task))
        .routes(routes!(segments::list_segments))
        .routes(routes!(segments::get_segment, segments::put_segment, segments::delete_segment))
        .routes(routes!(segments::segment_members))
        .routes(routes!(segments::export_members))
        .routes(routes!(segments::segment_sizes))
        .routes(routes!(computed::list_computed_traits))
        .routes(routes!(computed::put_computed_trait, computed::delete_computed_trait))
        .routes(routes!(lifecycle::get_lifecycle, lifecycle::put_lifecycle))
        .routes(routes!(lifecycle::lifecycle_flows))
        .routes(routes!(analytics::journey_results))
        .routes(routes!(analytics::journey_series))
        .routes(routes!(analytics::journey_funnel))
}

/// Answers any admin route can give besides its own, from the error table.
const COMMON: [(&str, &str); 5] = [
    ("400", "`invalid_request` or `malformed_json`: the request is not one this route takes"),
    (
        "401",
        "`not_signed_in`: no credentials, or the session has ended; `invalid_admin_token`: the bearer token is neither the admin \
         token nor a personal API token",
    ),
    (
        "403",
        "`forbidden`: the route needs a higher role; `csrf_failed`: a change made with the session cookie without the session's \
         `X-CSRF-Token`",
    ),
    ("415", "`unsupported_media_type`: send bodies as JSON"),
    ("503", "`unavailable`: the store is unavailable or the server is shutting down; retry"),
];

/// The document of the admin routes: title, version, bearer authentication
/// required everywhere, and the common error answers added to every operation.
fn finish(mut doc: OpenApi) -> OpenApi {
    doc.info.title = "Wayfarer admin API".into();
    doc.info.version = env!("CARGO_PKG_VERSION").into();
    doc.info.description = Some(
        "The admin API of Wayfarer, a customer journey orchestration server. Every answer that is not 2xx is \
         `{code, message, details?}` (ErrorBody) with a stable code. Authenticate with `Authorization: Bearer <token>` (the \
         admin token or a personal API token), or sign in (`POST /api/session`) for the session cookie, and then send \
         `X-CSRF-Token` with every change. Each route needs a role (viewer, editor, admin); see README, \"Users and roles\"."
            .into(),
    );
    doc.info.license = None;
    doc.info.contact = None;
    let components = doc.components.get_or_insert_with(Default::default);
    // The journey document's shape, for the web interface's types (the API takes any object).
    {
        use utoipa::{PartialSchema, ToSchema};
        type Journey = crate::document::Journey;
        let mut schemas = vec![(Journey::name().into_owned(), <Journey as PartialSchema>::schema())];
        <Journey as ToSchema>::schemas(&mut schemas);
        components.schemas.extend(schemas);
    }
    components.add_security_scheme("bearer", SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()));
    components.add_security_scheme("cookieAuth", SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(crate::auth::SESSION_COOKIE))));
    doc.security =
        Some(vec![SecurityRequirement::new("bearer", Vec::<String>::new()), SecurityRequirement::new("cookieAuth", Vec::<String>::new())]);
    for item in doc.paths.paths.values_mut() {
        let ops = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
        for op in ops.into_iter().flatten() {
            // OpenAPI wants a description on every answer.
            for (status, response) in op.responses.responses.iter_mut() {
                if let RefOr::T(r) = response
                    && r.description.is_empty()
                {
                    r.description = match status.as_str() {
                        "200" | "201" | "204" => "Success",
                        "404" => "`not_found`",
                        "409" => "`conflict`",
                        _ => "See the error's code",
                    }
                    .into();
                }
            }
            // Signing in needs no credentials, so no role or CSRF token either.
            let public = op.security.iter().flatten().any(|r| serde_json::to_value(r).is_ok_and(|v| v == serde_json::json!({})));
            for (status, description) in COMMON {
                if public && status == "403" {
                    continue;
                }
                op.responses.responses.entry(status.to_owned()).or_insert_with(|| {
                    ResponseBuilder::new()
                        .description(description)
                        .content("application/json", ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build())
                        .build()
                        .into()
                });
            }
        }
    }
    doc
}

/// The admin router (relative to `/api`) and the whole document, as served.
pub fn split() -> (axum::Router<Arc<App>>, OpenApi) {
    let (router, mut doc) = routes().split_for_parts();
    let mut paths = utoipa::openapi::Paths::new();
    for (path, item) in std::mem::take(&mut doc.paths.paths) {
        paths.paths.insert(format!("/api{path}"), item);
    }
    doc.paths = paths;
    (router, finish(doc))
}

/// The document, as served at `/api/openapi.json`.
pub fn document() -> OpenApi {
    split().1
}
