//! Who is asking, and whether they may: authentication (the admin token, personal API tokens,
//! session cookies with CSRF tokens), the one table of the role each route needs, password
//! hashing (argon2id) and the sign-in rate limit.
//!
//! Architecture Invariant: every `/api/*` route is guarded by `authorize`, a `route_layer`
//! that reads the route's template (`MatchedPath`) and asks `required` what it needs, so a
//! handler cannot forget a check. A new route gets the default of its method (GET: viewer,
//! anything else: editor) until `required` says otherwise.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{MatchedPath, Request, State};
use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::{HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use domain::time::{Duration, Timestamp};
use store::{ApiTokenId, Role, UserId};

use crate::app::{App, hex_encode, sha256_hex};
use crate::error::{ApiError, Code};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "wayfarer_session";
/// The header a cookie-authenticated write must carry, equal to the session's CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// How long a session lasts from sign-in.
pub const SESSION_LIFETIME: Duration = Duration(7 * 24 * 3_600_000);
/// Failed sign-ins allowed for one e-mail within `SIGN_IN_WINDOW`.
pub const SIGN_IN_ATTEMPTS: usize = 5;
pub const SIGN_IN_WINDOW: Duration = Duration(15 * 60_000);
/// A personal token's `last_used_at` is written at most this often (a busy token does not
/// cost a write per request).
pub const TOKEN_TOUCH_EVERY: Duration = Duration(60_000);
/// Passwords are at least this long (`weak_password` otherwise).
pub const MIN_PASSWORD_CHARS: usize = 12;
/// And at most this long (argon2 takes any length; this only bounds request work).
pub const MAX_PASSWORD_CHARS: usize = 1024;
/// Personal API tokens start with this.
pub const API_TOKEN_PREFIX: &str = "wft_";

/// What a route needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone (signing in).
    Public,
    /// Someone authenticated with at least this role.
    Role(Role),
}

/// THE table: the access each route (method and template, as in the OpenAPI document) needs.
/// GET needs a viewer and any other method an editor, except the routes named here.
pub fn required(method: &Method, route: &str) -> Access {
    let admin = Access::Role(Role::Admin);
    let viewer = Access::Role(Role::Viewer);
    match (method.as_str(), route) {
        // Signing in is what gets one credentials.
        ("POST", "/api/session") => Access::Public,
        // Who am I, signing out, one's own tokens: anyone signed in.
        (_, "/api/session" | "/api/me/tokens" | "/api/me/tokens/{id}") => viewer,
        // Doing what a journey asked of people (a salesperson may be a viewer).
        ("POST", "/api/tasks/{id}/complete" | "/api/tasks/{id}/decline") => viewer,
        // Sources hand out write keys (who may send events); users and the audit log.
        ("POST", "/api/sources") => admin,
        (_, "/api/users" | "/api/users/{id}" | "/api/audit") => admin,
        ("GET" | "HEAD", _) => viewer,
        _ => Access::Role(Role::Editor),
    }
}

/// How a request authenticated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Via {
    /// The configured (or generated) admin bearer token: no user.
    AdminToken,
    /// A personal API token of `Actor::user`.
    ApiToken(ApiTokenId),
    /// A signed-in browser's session cookie.
    Session { token_sha256: String, csrf_token: String },
}

/// Who a request is from, put in the request's extensions by `authorize`; handlers that
/// change things take `Extension<Actor>` and name it in the audit log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    pub user: Option<UserId>,
    /// As the audit log shows it: `user:ann@acme.test`, `token:ci (ann@acme.test)`,
    /// `admin token`.
    pub name: String,
    pub role: Role,
    pub via: Via,
}

impl Actor {
    pub fn admin_token() -> Actor {
        Actor { user: None, name: "admin token".into(), role: Role::Admin, via: Via::AdminToken }
    }
}

/// The middleware on every `/api/*` route (`route_layer`, so it runs after routing and
/// sees the route's template): authenticates, checks the CSRF token of cookie-authenticated
/// writes, checks the role the route needs, and hands the `Actor` to the handler.
pub async fn authorize(State(app): State<Arc<App>>, mut request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned()).unwrap_or_default();
    let Access::Role(needed) = required(request.method(), &route) else {
        return next.run(request).await;
    };
    let actor = match authenticate(&app, request.headers()).await {
        Ok(actor) => actor,
        Err(e) => return e.into_response(),
    };
    if let Via::Session { csrf_token, .. } = &actor.via
        && !matches!(*request.method(), Method::GET | Method::HEAD)
    {
        let sent = request.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
        if !constant_time_eq(sent.as_bytes(), csrf_token.as_bytes()) {
            return ApiError::new(
                Code::CsrfFailed,
                "a change made with the session cookie needs the header X-CSRF-Token with the session's csrf_token (from sign-in or GET /api/session)",
            )
            .into_response();
        }
    }
    if actor.role < needed {
        return ApiError::new(
            Code::Forbidden,
            format!(
                "{} {route} needs the role {} or above; {} has the role {}",
                request.method(),
                needed.as_str(),
                actor.name,
                actor.role.as_str()
            ),
        )
        .into_response();
    }
    request.extensions_mut().insert(actor);
    next.run(request).await
}

/// The actor of a request's credentials: a bearer token (the admin token or a personal API
/// token) or, without an `Authorization` header, the session cookie.
async fn authenticate(app: &Arc<App>, headers: &HeaderMap) -> Result<Actor, ApiError> {
    if let Some(value) = headers.get(AUTHORIZATION) {
        let token = value.to_str().ok().and_then(|v| v.strip_prefix("Bearer ")).map(str::trim).unwrap_or("");
        if token.is_empty() {
            return Err(ApiError::new(Code::InvalidAdminToken, "the Authorization header must be `Bearer <token>`"));
        }
        let hash = sha256_hex(token);
        if constant_time_eq(hash.as_bytes(), app.admin_token_sha256.as_bytes()) {
            return Ok(Actor::admin_token());
        }
        if token.starts_with(API_TOKEN_PREFIX)
            && let Some(actor) = api_token_actor(app, hash).await?
        {
            return Ok(actor);
        }
        return Err(ApiError::new(Code::InvalidAdminToken, "the bearer token is neither the admin token nor a personal API token"));
    }
    let Some(cookie) = session_cookie(headers) else {
        return Err(ApiError::new(
            Code::NotSignedIn,
            "sign in (POST /api/session), or send `Authorization: Bearer <token>` (the admin token or a personal API token)",
        ));
    };
    let hash = sha256_hex(&cookie);
    let now = app.engine.clock().now();
    let found = app
        .read(move |tx| {
            let Some(session) = tx.session(&hash, now)? else { return Ok(None) };
            Ok(tx.user(session.user)?.map(|user| (session, user)))
        })
        .await?;
    let (session, user) = found.ok_or_else(|| ApiError::new(Code::NotSignedIn, "the session has ended; sign in again"))?;
    Ok(Actor {
        user: Some(user.id),
        name: format!("user:{}", user.email),
        role: user.role,
        via: Via::Session { token_sha256: session.token_sha256, csrf_token: session.csrf_token },
    })
}

/// The actor of a personal API token (with its owner's role now), noting its use at most
/// once a minute.
async fn api_token_actor(app: &Arc<App>, hash: String) -> Result<Option<Actor>, ApiError> {
    let now = app.engine.clock().now();
    let found = app
        .read(move |tx| {
            let Some(token) = tx.api_token_by_hash(&hash)? else { return Ok(None) };
            Ok(tx.user(token.user)?.map(|user| (token, user)))
        })
        .await?;
    let Some((token, user)) = found else { return Ok(None) };
    let stale = token.last_used_at.is_none_or(|t| t.plus(TOKEN_TOUCH_EVERY) <= now);
    if stale {
        let id = token.id;
        // Best effort: a token that works is not refused because its use could not be noted.
        if let Err(e) = app.write(move |tx| Ok(tx.touch_api_token(id, now, TOKEN_TOUCH_EVERY)?)).await {
            tracing::warn!(token = %id, error = %e.message, "noting an API token's use failed");
        }
    }
    Ok(Some(Actor {
        user: Some(user.id),
        name: format!("token:{} ({})", token.name, user.email),
        role: user.role,
        via: Via::ApiToken(token.id),
    }))
}

/// The session cookie's value, if the request has one.
pub fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, value)| *name == SESSION_COOKIE && !value.is_empty())
        .map(|(_, value)| value.to_owned())
}

/// `Set-Cookie` for a new session (`None`: one that expires the cookie, for signing out).
pub fn set_cookie(value: Option<&str>, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    match value {
        Some(v) => format!("{SESSION_COOKIE}={v}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{secure}", SESSION_LIFETIME.0 / 1000),
        None => format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0{secure}"),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A new random secret: `prefix` and 64 hex digits (256 bits).
pub fn new_secret(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    if getrandom::fill(&mut bytes).is_err() {
        // The OS random source is gone: nothing secret can be made; fail loudly rather than
        // hand out a guessable value.
        tracing::error!("the OS random source failed");
        std::process::abort();
    }
    format!("{prefix}{}", hex_encode(&bytes))
}

/// A new password for a user who did not choose one: 24 characters of a-z, A-Z, 0-9
/// (~142 bits).
pub fn new_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 24];
    if getrandom::fill(&mut bytes).is_err() {
        tracing::error!("the OS random source failed");
        std::process::abort();
    }
    // 256 is not a multiple of the alphabet's size: the bias is below 1% per character, and
    // 24 characters keep well above 128 bits either way.
    bytes.iter().map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()])).collect()
}

/// An e-mail as stored: trimmed and lowercased, or why it is not one.
pub fn normalize_email(email: &str) -> Result<String, String> {
    let email = email.trim().to_lowercase();
    let ok = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty() && !domain.contains('@'))
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok { Ok(email) } else { Err(format!("{email:?} is not an e-mail address (name@domain, at most 254 characters)")) }
}

/// Password errors for people (`weak_password`).
pub fn check_password(password: &str) -> Result<(), ApiError> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_CHARS {
        return Err(ApiError::new(Code::WeakPassword, format!("a password has at least {MIN_PASSWORD_CHARS} characters")));
    }
    if n > MAX_PASSWORD_CHARS {
        return Err(ApiError::new(Code::WeakPassword, format!("a password has at most {MAX_PASSWORD_CHARS} characters")));
    }
    Ok(())
}

/// Hashes a password with argon2id and its default parameters (a PHC string). CPU-heavy:
/// call it off the async threads (`App::hash_password` does).
pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    use argon2::PasswordHasher as _;
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|_| argon2::password_hash::Error::Crypto)?;
    let salt = argon2::password_hash::SaltString::encode_b64(&bytes)?;
    Ok(argon2::Argon2::default().hash_password(password.as_bytes(), &salt)?.to_string())
}

/// Whether `password` matches the PHC string `hash` (false for a hash that does not parse).
pub fn verify_password(hash: &str, password: &str) -> bool {
    use argon2::PasswordVerifier as _;
    argon2::password_hash::PasswordHash::new(hash)
        .is_ok_and(|parsed| argon2::Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

/// A hash with the default parameters that no password matches in practice: verified
/// against when the e-mail is unknown, so a sign-in takes as long either way.
pub const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$7Ib2BD0Jdma9TCb5DbMVI1IwZMIJDLHUfyXQzLaj5UM";

/// The sign-in rate limit: at most `SIGN_IN_ATTEMPTS` failed attempts per e-mail (lowercased)
/// within `SIGN_IN_WINDOW`, in memory (a restart forgets them), timed by the engine's clock.
#[derive(Default)]
pub struct SignInLimiter {
    attempts: Mutex<HashMap<String, Vec<Timestamp>>>,
}

/// Keys kept before the limiter sweeps the ones whose attempts have all left the window.
const LIMITER_SWEEP_AT: usize = 10_000;

impl SignInLimiter {
    /// Counts an attempt for `email` at `now`, or refuses it with the seconds until one is
    /// allowed again. An attempt counts as failed until `succeeded` says otherwise, so
    /// concurrent attempts cannot all slip in before the first fails.
    pub fn begin(&self, email: &str, now: Timestamp) -> Result<(), u64> {
        let mut all = self.attempts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if all.len() >= LIMITER_SWEEP_AT {
            all.retain(|_, times| times.iter().any(|t| t.plus(SIGN_IN_WINDOW) > now));
        }
        let times = all.entry(email.to_owned()).or_default();
        times.retain(|t| t.plus(SIGN_IN_WINDOW) > now);
        if times.len() >= SIGN_IN_ATTEMPTS {
            let oldest = times.iter().min().copied().unwrap_or(now);
            let wait_ms = (oldest.plus(SIGN_IN_WINDOW).0 - now.0).max(1);
            return Err(u64::try_from((wait_ms + 999) / 1000).unwrap_or(1));
        }
        times.push(now);
        Ok(())
    }

    /// A successful sign-in forgets the e-mail's failed attempts.
    pub fn succeeded(&self, email: &str) {
        self.attempts.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(email);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_gives_viewers_reads_editors_writes_and_admins_the_rest() {
        let r = |m: Method, route: &str| required(&m, route);
        assert_eq!(r(Method::GET, "/api/journeys/{id}"), Access::Role(Role::Viewer));
        assert_eq!(r(Method::PUT, "/api/journeys/{id}"), Access::Role(Role::Editor));
        assert_eq!(r(Method::POST, "/api/clock"), Access::Role(Role::Editor));
        assert_eq!(r(Method::GET, "/api/sources"), Access::Role(Role::Viewer));
        assert_eq!(r(Method::POST, "/api/sources"), Access::Role(Role::Admin));
        assert_eq!(r(Method::GET, "/api/users"), Access::Role(Role::Admin));
        assert_eq!(r(Method::DELETE, "/api/users/{id}"), Access::Role(Role::Admin));
        assert_eq!(r(Method::GET, "/api/audit"), Access::Role(Role::Admin));
        assert_eq!(r(Method::POST, "/api/session"), Access::Public);
        assert_eq!(r(Method::DELETE, "/api/session"), Access::Role(Role::Viewer));
        assert_eq!(r(Method::POST, "/api/me/tokens"), Access::Role(Role::Viewer));
        assert_eq!(r(Method::DELETE, "/api/me/tokens/{id}"), Access::Role(Role::Viewer));
        assert_eq!(r(Method::POST, "/api/some/new/route"), Access::Role(Role::Editor), "a new route defaults by its method");
        assert!(Role::Viewer < Role::Editor && Role::Editor < Role::Admin);
    }

    #[test]
    fn passwords_hash_and_verify_and_the_dummy_hash_has_the_default_parameters() {
        let started = std::time::Instant::now();
        let hash = hash_password("correct horse battery").expect("hash");
        eprintln!("argon2id hash: {:?}", started.elapsed());
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(verify_password(&hash, "correct horse battery"));
        assert!(!verify_password(&hash, "correct horse battery!"));
        assert!(!verify_password("not a hash", "x"));
        assert!(DUMMY_HASH.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "it costs what a real verification costs");
        assert!(argon2::password_hash::PasswordHash::new(DUMMY_HASH).is_ok(), "it parses, so it is verified in full");
        assert!(!verify_password(DUMMY_HASH, ""));
    }

    #[test]
    fn five_failures_in_fifteen_minutes_lock_an_email_until_the_oldest_leaves_the_window() {
        let limiter = SignInLimiter::default();
        let minute = |m: i64| Timestamp(m * 60_000);
        for m in 0..5 {
            assert_eq!(limiter.begin("ann@acme.test", minute(m)), Ok(()));
        }
        assert_eq!(limiter.begin("ann@acme.test", minute(5)), Err(10 * 60), "until minute 15");
        assert_eq!(limiter.begin("bob@acme.test", minute(5)), Ok(()), "per e-mail");
        assert_eq!(limiter.begin("ann@acme.test", minute(15)), Ok(()), "the first attempt left the window");
        limiter.succeeded("ann@acme.test");
        for m in 0..5 {
            assert_eq!(limiter.begin("ann@acme.test", minute(16).plus(Duration(m))), Ok(()), "a success forgets the failures");
        }
    }

    #[test]
    fn cookies_are_parsed_and_set_with_their_attributes() {
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, "a=1; wayfarer_session=abc; b=2".parse().expect("header"));
        assert_eq!(session_cookie(&headers), Some("abc".into()));
        assert_eq!(session_cookie(&HeaderMap::new()), None);
        assert_eq!(set_cookie(Some("v"), false), "wayfarer_session=v; HttpOnly; SameSite=Strict; Path=/; Max-Age=604800");
        assert!(set_cookie(Some("v"), true).ends_with("; Secure"));
        assert!(set_cookie(None, false).contains("Max-Age=0"));
        assert!(new_secret("wft_").starts_with("wft_") && new_secret("").len() == 64);
        assert_eq!(new_password().len(), 24);
    }
}
