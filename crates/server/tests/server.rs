//! The server's tests: the HTTP API in-process (`oneshot`, no socket), and end to end over
//! real sockets with the `wayfarer` binary, a real SMTP server and the real Segment SDKs.

mod support;

mod http {
    use std::io::Write;

    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use serde_json::{Value, json};
    use server::{Config, Server};
    use tower::ServiceExt;

    const TOKEN: &str = "t0ken";
    const PASSWORD: &str = "correct horse battery";

    struct Api {
        router: axum::Router,
        key: String,
        _dir: tempfile::TempDir,
    }

    impl Api {
        async fn new() -> Api {
            Api::with(&[]).await
        }

        /// With these configuration variables besides the tests' own.
        async fn with(extra: &[(&str, &str)]) -> Api {
            let dir = tempfile::tempdir().expect("dir");
            let data = dir.path().display().to_string();
            let mut vars = vec![
                ("WAYFARER_DATA_DIR", data.as_str()),
                ("WAYFARER_ADMIN_TOKEN", TOKEN),
                ("WAYFARER_TESTING_MANUAL_CLOCK", "2030-01-01T00:00:00Z"),
                ("WAYFARER_INGEST_MAX_REQUEST_BYTES", "20000"),
                ("WAYFARER_INGEST_MAX_EVENT_BYTES", "2000"),
                ("WAYFARER_SMTP_FROM", "Acme <hello@acme.test>"),
            ];
            vars.extend(extra.iter().copied());
            let config = Config::load(None, &|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())).expect("config");
            let server = Server::build(&config).await.expect("server");
            let mut api = Api { router: server.router, key: String::new(), _dir: dir };
            let (_, out) = api.admin("POST", "/api/sources", json!({"id": "web"})).await;
            api.key = out["write_key"].as_str().expect("key").to_owned();
            api
        }

        async fn call(&self, req: Request<Body>) -> (StatusCode, Value) {
            let resp = self.router.clone().oneshot(req).await.expect("response");
            let status = resp.status();
            let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.expect("body");
            (status, serde_json::from_slice(&bytes).unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into())))
        }

        async fn admin(&self, method: &str, path: &str, body: Value) -> (StatusCode, Value) {
            let req = Request::builder()
                .method(method)
                .uri(path)
                .header("authorization", format!("Bearer {TOKEN}"))
                .header("content-type", "application/json");
            self.call(req.body(Body::from(body.to_string())).expect("request")).await
        }

        /// A request with the given headers (`("authorization", "Bearer ...")`, `("cookie", ...)`,
        /// `("x-csrf-token", ...)`), answering the status, the `set-cookie` header and the body.
        async fn send(&self, method: &str, path: &str, body: Value, headers: &[(&str, &str)]) -> (StatusCode, Option<String>, Value) {
            let mut req = Request::builder().method(method).uri(path).header("content-type", "application/json");
            for (name, value) in headers {
                req = req.header(*name, *value);
            }
            let resp = self.router.clone().oneshot(req.body(Body::from(body.to_string())).expect("request")).await.expect("response");
            let status = resp.status();
            let cookie = resp.headers().get("set-cookie").map(|v| v.to_str().unwrap_or("").to_owned());
            let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.expect("body");
            (status, cookie, serde_json::from_slice(&bytes).unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into())))
        }

        async fn with_token(&self, token: &str, method: &str, path: &str, body: Value) -> (StatusCode, Value) {
            let (status, _, out) = self.send(method, path, body, &[("authorization", &format!("Bearer {token}"))]).await;
            (status, out)
        }

        /// Signs in: the session cookie (`name=value`) and the CSRF token.
        async fn sign_in(&self, email: &str, password: &str) -> (String, String) {
            let (status, cookie, out) = self.send("POST", "/api/session", json!({"email": email, "password": password}), &[]).await;
            assert_eq!(status, StatusCode::OK, "{out}");
            let cookie = cookie.expect("set-cookie");
            let pair = cookie.split(';').next().expect("name=value").to_owned();
            (pair, out["csrf_token"].as_str().expect("csrf").to_owned())
        }

        /// A user with that role and a personal API token of theirs.
        async fn user_with_token(&self, email: &str, role: &str) -> String {
            let (status, out) = self.admin("POST", "/api/users", json!({"email": email, "role": role, "password": PASSWORD})).await;
            assert_eq!(status, StatusCode::CREATED, "{out}");
            let (cookie, csrf) = self.sign_in(email, PASSWORD).await;
            let (status, _, out) =
                self.send("POST", "/api/me/tokens", json!({"name": "ci"}), &[("cookie", &cookie), ("x-csrf-token", &csrf)]).await;
            assert_eq!(status, StatusCode::CREATED, "{out}");
            out["token"].as_str().expect("token").to_owned()
        }

        /// Walks a list from `path` (a route of the admin API) `limit` items a page, following
        /// `next_cursor` to the end: each page's items by `field`. Checks every page but the last
        /// is full, and the last has none and is not empty (unless it is the only one).
        async fn walk(&self, path: &str, limit: usize, list: &str, field: &str) -> Vec<Vec<Value>> {
            let mut pages = Vec::new();
            let mut url = format!("{path}?limit={limit}");
            for _ in 0..50 {
                let (status, out) = self.admin("GET", &url, Value::Null).await;
                assert_eq!(status, StatusCode::OK, "{url}: {out}");
                let items: Vec<Value> = out[list].as_array().expect("items").iter().map(|i| i[field].clone()).collect();
                assert!(items.len() <= limit, "{url}: {out}");
                match out["next_cursor"].as_str() {
                    Some(cursor) => {
                        assert_eq!(items.len(), limit, "only a full page has a next one: {out}");
                        url = format!("{path}?limit={limit}&cursor={cursor}");
                    }
                    None => {
                        assert!(!items.is_empty() || pages.is_empty(), "no cursor leads to an empty page: {out}");
                        assert_eq!(out["next_cursor"], Value::Null, "{out}");
                        pages.push(items);
                        return pages;
                    }
                }
                pages.push(items);
            }
            panic!("{path}: no last page after 50");
        }

        /// A bad `limit` or `cursor` is a 400 `invalid_request`.
        async fn refuses_bad_pages(&self, path: &str, bad_cursor: &str) {
            for query in ["limit=0".to_owned(), "limit=1001".to_owned(), "limit=ten".to_owned(), format!("cursor={bad_cursor}")] {
                let (status, out) = self.admin("GET", &format!("{path}?{query}"), Value::Null).await;
                assert_eq!((status, out["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_request")), "{path}?{query}: {out}");
            }
        }

        fn ingest_req(&self, call: &str, key: Option<&str>) -> axum::http::request::Builder {
            let mut req = Request::builder().method("POST").uri(format!("/v1/{call}")).header("content-type", "text/plain");
            if let Some(k) = key {
                use base64::Engine as _;
                req = req.header("authorization", format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{k}:"))));
            }
            req
        }

        async fn ingest(&self, call: &str, body: impl Into<Body>) -> (StatusCode, Value) {
            self.call(self.ingest_req(call, Some(&self.key)).body(body.into()).expect("request")).await
        }

        async fn timeline_len(&self, user: &str) -> usize {
            let (status, out) = self.admin("GET", &format!("/api/profiles/lookup?user_id={user}"), Value::Null).await;
            if status == StatusCode::NOT_FOUND {
                return 0;
            }
            out["events"].as_array().map_or(0, Vec::len)
        }
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(bytes).expect("gzip");
        enc.finish().expect("gzip")
    }

    #[tokio::test]
    async fn health_and_readiness() {
        let api = Api::new().await;
        let (status, body) = api.call(Request::get("/healthz").body(Body::empty()).expect("req")).await;
        assert_eq!((status, body), (StatusCode::OK, json!("ok")));
        let (status, body) = api.call(Request::get("/readyz").body(Body::empty()).expect("req")).await;
        assert_eq!((status, body["store"].clone()), (StatusCode::OK, json!("sqlite")));
    }

    #[tokio::test]
    async fn admin_api_requires_the_bearer_token() {
        let api = Api::new().await;
        let (status, body) = api.call(Request::get("/api/journeys").body(Body::empty()).expect("req")).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("not_signed_in")));
        let req = Request::get("/api/journeys").header("authorization", "Bearer nope").body(Body::empty()).expect("req");
        assert_eq!(api.call(req).await.0, StatusCode::UNAUTHORIZED);
        assert_eq!(api.admin("GET", "/api/journeys", Value::Null).await.0, StatusCode::OK);
    }

    /// What the framework would answer by itself in text is `{code, message}` JSON too, on
    /// every kind of route.
    #[tokio::test]
    async fn every_error_answer_is_json_with_a_stable_code() {
        let api = Api::new().await;
        let authed = |method: &str, path: &str| {
            Request::builder().method(method).uri(path.to_owned()).header("authorization", format!("Bearer {TOKEN}"))
        };
        let cases: Vec<(Request<Body>, StatusCode, &str)> = vec![
            (
                authed("PUT", "/api/templates/hello")
                    .header("content-type", "application/json")
                    .body(Body::from(r#"{"subject": 5}"#))
                    .expect("req"),
                StatusCode::BAD_REQUEST,
                "invalid_request",
            ),
            (
                authed("PUT", "/api/templates/hello").body(Body::from(r#"{"subject": "Hi"}"#)).expect("req"),
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
            ),
            (
                authed("POST", "/api/sources").header("content-type", "application/json").body(Body::from("{not json")).expect("req"),
                StatusCode::BAD_REQUEST,
                "invalid_request",
            ),
            (authed("GET", "/api/profiles/not-a-number").body(Body::empty()).expect("req"), StatusCode::BAD_REQUEST, "invalid_request"),
            (authed("GET", "/api/messages?limit=lots").body(Body::empty()).expect("req"), StatusCode::BAD_REQUEST, "invalid_request"),
            (authed("DELETE", "/api/sources").body(Body::empty()).expect("req"), StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            (Request::get("/v1/track").body(Body::empty()).expect("req"), StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            (authed("GET", "/api/nowhere").body(Body::empty()).expect("req"), StatusCode::NOT_FOUND, "not_found"),
        ];
        for (req, status, code) in cases {
            let what = format!("{} {}", req.method(), req.uri());
            let resp = api.router.clone().oneshot(req).await.expect("response");
            assert_eq!(resp.status(), status, "{what}");
            let content_type = resp.headers().get("content-type").map(|v| v.to_str().unwrap_or("").to_owned());
            assert_eq!(content_type.as_deref(), Some("application/json"), "{what}");
            let body: Value =
                serde_json::from_slice(&axum::body::to_bytes(resp.into_body(), usize::MAX).await.expect("body")).expect("JSON");
            assert_eq!(body["code"], json!(code), "{what}: {body}");
            assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "{what}: {body}");
        }
    }

    #[tokio::test]
    async fn dead_letters_are_listed_and_an_unknown_one_is_not_found() {
        let api = Api::new().await;
        let (status, out) = api.admin("GET", "/api/dead-letters", Value::Null).await;
        assert_eq!((status, out), (StatusCode::OK, json!({"dead_letters": [], "next_cursor": null})));
        let (status, out) = api.admin("POST", "/api/dead-letters/42/replay", Value::Null).await;
        assert_eq!((status, out["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")), "{out}");
    }

    /// A task step puts a task about the person in the inbox; a salesperson (a viewer) completes
    /// it, which is `Task Completed` on the person and moves the waiting run on; a task is closed
    /// once; the audit log says who.
    #[tokio::test]
    async fn a_task_is_done_by_a_person_and_its_completion_moves_the_run_on() {
        let api = Api::new().await;
        let doc = json!({"id": "demo", "entry": {"event": "Demo Requested"}, "steps": [
            {"id": "call", "type": "task", "title": "Call {{ traits.name }}", "body": "A demo of {{ event.product }}",
             "assignee": "Sam@Acme.test", "team": "sales", "due": "1d", "next": "wait"},
            {"id": "wait", "type": "wait_for", "events": [{"event": "Task Completed", "next": "thanks"}], "timeout": "3d"},
            {"id": "thanks", "type": "update", "set": {"demo_done": "{{ event.product }}"}}]});
        assert_eq!(api.admin("POST", "/api/journeys", doc).await.0, StatusCode::CREATED);
        let (status, out) = api.admin("POST", "/api/journeys/demo/publish", Value::Null).await;
        assert_eq!(status, StatusCode::OK, "{out}");
        api.ingest("identify", json!({"userId": "ann", "traits": {"name": "Ann"}}).to_string()).await;
        api.ingest("track", json!({"userId": "ann", "event": "Demo Requested", "properties": {"product": "Atlas"}}).to_string()).await;
        api.admin("POST", "/api/clock", json!({"advance": "1s"})).await;
        let (_, inbox) = api.admin("GET", "/api/tasks?status=open&team=sales", Value::Null).await;
        let task = &inbox["tasks"][0];
        assert_eq!(
            (&task["title"], &task["body"], &task["assignee"], &task["due_at"], &task["journey"], &task["node"]),
            (
                &json!("Call Ann"),
                &json!("A demo of Atlas"),
                &json!("sam@acme.test"),
                &json!("2030-01-02T00:00:00.000Z"),
                &json!("demo"),
                &json!("call")
            )
        );
        assert_eq!(
            (&task["person"]["traits"]["name"], &task["person"]["identities"][0]["value"]),
            (&json!("Ann"), &json!("ann")),
            "who it is about"
        );
        let (_, mine) = api.admin("GET", "/api/tasks?assignee=SAM@acme.test", Value::Null).await;
        assert_eq!(mine["tasks"].as_array().map(Vec::len), Some(1), "found by its assignee in any case");
        let (_, nobody) = api.admin("GET", "/api/tasks?team=support", Value::Null).await;
        assert_eq!(nobody, json!({"tasks": [], "next_cursor": null}));
        let id = task["id"].as_i64().expect("id");
        let sam = api.user_with_token("sam@acme.test", "viewer").await;
        let (status, done) =
            api.with_token(&sam, "POST", &format!("/api/tasks/{id}/complete"), json!({"note": "booked for Tuesday"})).await;
        assert_eq!(status, StatusCode::OK, "a viewer may do what a journey asks: {done}");
        assert_eq!(
            (&done["status"], &done["closed_by"], &done["note"]),
            (&json!("completed"), &json!("token:ci (sam@acme.test)"), &json!("booked for Tuesday"))
        );
        let (status, out) = api.with_token(&sam, "POST", &format!("/api/tasks/{id}/decline"), Value::Null).await;
        assert_eq!((status, &out["code"]), (StatusCode::CONFLICT, &json!("conflict")), "closed once: {out}");
        let (status, out) = api.admin("POST", "/api/tasks/999/complete", Value::Null).await;
        assert_eq!((status, &out["code"]), (StatusCode::NOT_FOUND, &json!("not_found")), "{out}");
        // The completion is an event on Ann, which moved her run on.
        let (_, ann) = api.admin("GET", "/api/profiles/lookup?user_id=ann", Value::Null).await;
        let completed = ann["events"].as_array().into_iter().flatten().find(|e| e["name"] == "Task Completed").expect("the event");
        assert_eq!(
            (&completed["properties"]["task_id"], &completed["properties"]["note"], &completed["properties"]["title"]),
            (&json!(id), &json!("booked for Tuesday"), &json!("Call Ann"))
        );
        assert_eq!(ann["traits"]["demo_done"], json!("Atlas"), "the run went on: {ann}");
        let (_, audit) = api.admin("GET", "/api/audit", Value::Null).await;
        assert_eq!(
            (&audit["entries"][0]["action"], &audit["entries"][0]["target"]),
            (&json!("task.completed"), &json!(format!("task:{id}")))
        );
        let (_, open) = api.admin("GET", "/api/tasks?status=open", Value::Null).await;
        assert_eq!(open["tasks"], json!([]));
    }

    /// Images are uploaded as they are, kept once by the SHA-256 of their bytes, and served
    /// publicly under it, cached for good; anything but PNG, JPEG, GIF or WebP is refused.
    #[tokio::test]
    async fn images_are_kept_by_their_hash_and_served_for_good() {
        let api = Api::with(&[("WAYFARER_TRACKING_BASE_URL", "https://wf.acme.test/")]).await;
        let upload = |content_type: &str, bytes: Vec<u8>| {
            Request::post("/api/assets?name=logo.png")
                .header("authorization", format!("Bearer {TOKEN}"))
                .header("content-type", content_type)
                .body(Body::from(bytes))
                .expect("req")
        };
        let png: Vec<u8> = b"\x89PNG\r\n\x1a\n".iter().copied().chain((0u8..=255).cycle().take(3000)).collect();
        let (status, a) = api.call(upload("image/png", png.clone())).await;
        assert_eq!(status, StatusCode::CREATED, "{a}");
        let hash = a["hash"].as_str().expect("hash").to_owned();
        assert_eq!(hash.len(), 64);
        assert_eq!((&a["name"], &a["size"], &a["content_type"]), (&json!("logo.png"), &json!(3008), &json!("image/png")));
        assert_eq!(a["url"], json!(format!("https://wf.acme.test/a/{hash}.png")), "absolute, as emails need");
        let (status, again) = api.call(upload("image/png", png.clone())).await;
        assert_eq!((status, &again["hash"]), (StatusCode::OK, &a["hash"]), "the same bytes are the same asset, not a new one");
        let resp =
            api.router.clone().oneshot(Request::get(format!("/a/{hash}.png")).body(Body::empty()).expect("req")).await.expect("resp");
        assert_eq!(resp.status(), StatusCode::OK, "public");
        let h = resp.headers().clone();
        assert_eq!(
            (&h["content-type"], &h["x-content-type-options"]),
            (&"image/png".parse::<axum::http::HeaderValue>().expect("v"), &"nosniff".parse::<axum::http::HeaderValue>().expect("v"))
        );
        assert!(h["cache-control"].to_str().is_ok_and(|c| c.contains("immutable")));
        assert_eq!(axum::body::to_bytes(resp.into_body(), usize::MAX).await.expect("body").to_vec(), png, "every byte");
        let missing = format!("/a/{}.png", "0".repeat(64));
        let resp = api.router.clone().oneshot(Request::get(missing).body(Body::empty()).expect("req")).await.expect("resp");
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
        let (status, out) = api.call(upload("text/html", b"<script>alert(1)</script>".to_vec())).await;
        assert_eq!((status, &out["code"]), (StatusCode::UNSUPPORTED_MEDIA_TYPE, &json!("unsupported_media_type")), "{out}");
        let (status, out) = api.call(upload("image/png", b"<svg onload=alert(1)>".to_vec())).await;
        assert_eq!((status, &out["code"]), (StatusCode::BAD_REQUEST, &json!("invalid_request")), "not what it says: {out}");
        let big: Vec<u8> = b"GIF89a".iter().copied().chain(std::iter::repeat_n(0u8, server::assets::MAX_BYTES)).collect();
        let (status, out) = api.call(upload("image/gif", big)).await;
        assert_eq!((status, &out["code"]), (StatusCode::PAYLOAD_TOO_LARGE, &json!("payload_too_large")), "{out}");
        let (_, list) = api.admin("GET", "/api/assets", Value::Null).await;
        assert_eq!(list["assets"].as_array().map(Vec::len), Some(1), "{list}");
        assert_eq!(list["assets"][0]["hash"], json!(hash));
    }

    /// Translations are kept by locale (in lower case), each part checked as the template's own;
    /// the preview renders the one a person gets (their `locale` trait, or the one asked for).
    #[tokio::test]
    async fn templates_have_translations_checked_kept_and_previewed_by_locale() {
        let api = Api::new().await;
        let body = json!({"subject": "Hello {{ traits.name }}", "text": "Hi",
            "locales": {"fr": {"subject": "Bonjour {{ traits.name }}"}, "pt_BR": {"sms": "Olá", "push": {"title": "Olá"}}}});
        let (status, out) = api.admin("PUT", "/api/templates/hello", body).await;
        assert_eq!(status, StatusCode::OK, "{out}");
        assert_eq!(out["locales"]["pt-br"]["push"]["title"], json!("Olá"), "kept as pt-br: {out}");
        assert_eq!(out["locales"]["fr"]["subject"], json!("Bonjour {{ traits.name }}"));
        let (_, stored) = api.admin("GET", "/api/templates/hello", Value::Null).await;
        assert_eq!(stored["locales"], out["locales"]);
        let bad = json!({"text": "Hi", "locales": {"fr": {"subject": "{{ traits.name", "in_app": {"title": "{{ nope }}"}}}});
        let (status, out) = api.admin("PUT", "/api/templates/bad", bad).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        let parts: Vec<&str> = out["details"]["problems"].as_array().into_iter().flatten().filter_map(|p| p["part"].as_str()).collect();
        assert_eq!(parts, ["locales.fr.subject", "locales.fr.in_app.title"], "{out}");
        for locale in ["french", "f", "fr-", "fr_CA!"] {
            let (status, out) = api.admin("PUT", "/api/templates/bad", json!({"text": "Hi", "locales": {locale: {"text": "x"}}})).await;
            assert_eq!((status, &out["code"]), (StatusCode::UNPROCESSABLE_ENTITY, &json!("template_invalid")), "{locale}: {out}");
        }
        let twice = json!({"text": "Hi", "locales": {"fr-CA": {"text": "a"}, "fr_ca": {"text": "b"}}});
        assert_eq!(api.admin("PUT", "/api/templates/bad", twice).await.0, StatusCode::UNPROCESSABLE_ENTITY, "the same locale twice");
        // The preview: the person's locale, its language, or the one asked for.
        api.ingest("identify", json!({"userId": "amelie", "traits": {"name": "Amélie", "locale": "fr-CA"}}).to_string()).await;
        let (_, p) = api.admin("GET", "/api/profiles/lookup?user_id=amelie", Value::Null).await;
        let template =
            json!({"subject": "Hello {{ traits.name }}", "text": "Hi", "locales": {"fr": {"subject": "Bonjour {{ traits.name }}"}}});
        let (_, preview) = api.admin("POST", "/api/template-preview", json!({"template": template, "profile_id": p["id"]})).await;
        assert_eq!(
            (&preview["subject"]["rendered"], &preview["text"]["rendered"], &preview["locale"]),
            (&json!("Bonjour Amélie"), &json!("Hi"), &json!("fr"))
        );
        let (_, preview) =
            api.admin("POST", "/api/template-preview", json!({"template": template, "profile_id": p["id"], "locale": "en"})).await;
        assert_eq!((&preview["subject"]["rendered"], &preview["locale"]), (&json!("Hello Amélie"), &Value::Null));
    }

    /// A send's variants are checked at publish as single templates are, each where it is.
    #[tokio::test]
    async fn a_sends_variants_are_each_checked_at_publish() {
        let api = Api::new().await;
        api.admin("PUT", "/api/templates/short", json!({"subject": "Hi", "text": "Hi"})).await;
        api.admin("PUT", "/api/templates/sms-only", json!({"sms": "Hi"})).await;
        let doc = json!({"id": "ab", "entry": {"event": "Signed Up"}, "steps": [{"id": "hello", "type": "send", "variants": [
            {"name": "a", "weight": 50, "template": "short"}, {"name": "b", "weight": 30, "template": "sms-only"},
            {"name": "c", "weight": 20, "template": "missing"}]}]});
        let (_, out) = api.admin("POST", "/api/journeys/validate", doc).await;
        let found: Vec<(String, String)> = out["diagnostics"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|d| d["severity"] == "error")
            .map(|d| (d["path"].as_str().unwrap_or("").to_owned(), d["code"].as_str().unwrap_or("").to_owned()))
            .collect();
        assert_eq!(
            found,
            [
                ("/steps/0/variants/1/template".to_owned(), "template_missing_channel".to_owned()),
                ("/steps/0/variants/2/template".to_owned(), "unknown_template".to_owned())
            ],
            "{out}"
        );
    }

    /// A task's Liquid is checked at publish: broken Liquid, then unknown variables; the
    /// events the server itself records are known before they first happen.
    #[tokio::test]
    async fn a_tasks_liquid_is_checked_and_built_in_events_are_known() {
        let api = Api::new().await;
        let doc = json!({"id": "t", "entry": {"event": "Demo Requested"}, "steps": [
            {"id": "call", "type": "task", "title": "Call {{ traits.name", "body": "{{ unsubscribe_url }}", "next": "wait"},
            {"id": "wait", "type": "wait_for", "events": [{"event": "Task Completed"}, {"event": "In-App Message Clicked"}], "timeout": "1d"}]});
        let (_, out) = api.admin("POST", "/api/journeys/validate", doc).await;
        let found: Vec<(String, String)> = out["diagnostics"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|d| (d["path"].as_str().unwrap_or("").to_owned(), d["code"].as_str().unwrap_or("").to_owned()))
            .collect();
        let expected =
            [("/steps/0/title", "invalid_template"), ("/steps/0/body", "unknown_template_variable"), ("/entry/event", "unseen_event")];
        assert_eq!(found, expected.map(|(p, c)| (p.to_owned(), c.to_owned())), "{out}");
    }

    /// The in-app endpoints refuse what they cannot answer, with the API's codes, and answer
    /// pages of any origin (a preflight too).
    #[tokio::test]
    async fn in_app_endpoints_say_what_is_wrong_and_allow_any_origin() {
        let api = Api::new().await;
        let get = |uri: String| Request::get(uri).body(Body::empty()).expect("req");
        let key = api.key.clone();
        let (status, out) = api.call(get("/v1/decide?userId=ann".into())).await;
        assert_eq!((status, &out["code"]), (StatusCode::UNAUTHORIZED, &json!("invalid_write_key")), "{out}");
        let (status, out) = api.call(get("/v1/decide?userId=ann&writeKey=nope".into())).await;
        assert_eq!((status, &out["code"]), (StatusCode::UNAUTHORIZED, &json!("invalid_write_key")), "{out}");
        let (status, out) = api.call(get(format!("/v1/decide?placement=home&writeKey={key}"))).await;
        assert_eq!((status, &out["code"]), (StatusCode::BAD_REQUEST, &json!("invalid_request")), "whom? {out}");
        let (status, out) = api.call(get(format!("/v1/decide?placement=home&userId=ann&writeKey={key}"))).await;
        assert_eq!((status, out), (StatusCode::OK, json!({"messages": []})), "nobody known: nothing to show");
        let post = |uri: String| Request::post(uri).body(Body::empty()).expect("req");
        let (status, out) = api.call(post(format!("/v1/in-app/7/viewed?writeKey={key}&userId=ann"))).await;
        assert_eq!((status, &out["code"]), (StatusCode::NOT_FOUND, &json!("not_found")), "{out}");
        let (status, out) = api.call(post(format!("/v1/in-app/7/viewed?writeKey={key}"))).await;
        assert_eq!((status, &out["code"]), (StatusCode::BAD_REQUEST, &json!("invalid_request")), "whose? {out}");
        let (status, out) = api.call(post(format!("/v1/in-app/7/liked?writeKey={key}&userId=ann"))).await;
        assert_eq!((status, &out["code"]), (StatusCode::NOT_FOUND, &json!("not_found")), "{out}");
        // A preflight (a page sending the write key in an Authorization header).
        let preflight = Request::builder()
            .method("OPTIONS")
            .uri("/v1/decide")
            .header("origin", "https://shop.test")
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "authorization")
            .body(Body::empty())
            .expect("req");
        let resp = api.router.clone().oneshot(preflight).await.expect("response");
        assert_eq!(resp.status(), StatusCode::NO_CONTENT);
        assert_eq!(resp.headers()["access-control-allow-origin"], "*");
        assert!(resp.headers()["access-control-allow-headers"].to_str().is_ok_and(|h| h.contains("authorization")));
        let resp = api.router.clone().oneshot(get(format!("/v1/decide?userId=ann&writeKey={key}"))).await.expect("response");
        assert_eq!(resp.headers()["access-control-allow-origin"], "*");
        // The script pages include.
        let resp = api.router.clone().oneshot(get("/in-app.js".into())).await.expect("response");
        assert_eq!(resp.headers()["content-type"], "text/javascript; charset=utf-8");
        let script = axum::body::to_bytes(resp.into_body(), usize::MAX).await.expect("body");
        assert!(String::from_utf8_lossy(&script).contains("/v1/in-app/stream?"));
    }

    /// With `in_app.identity_secret` set, a user id needs its hash (made by the site's backend);
    /// anonymous ids need none.
    #[tokio::test]
    async fn with_an_identity_secret_a_user_id_needs_its_hash() {
        let api = Api::with(&[("WAYFARER_IN_APP_IDENTITY_SECRET", "s3cret")]).await;
        let get = |uri: String| Request::get(uri).body(Body::empty()).expect("req");
        let key = api.key.clone();
        let hash = server::in_app::user_hash("s3cret", "ann");
        assert_eq!(hash.len(), 64);
        for (query, status) in [
            ("userId=ann".to_owned(), StatusCode::UNAUTHORIZED),
            ("userId=ann&userHash=00".to_owned(), StatusCode::UNAUTHORIZED),
            (format!("userId=bob&userHash={hash}"), StatusCode::UNAUTHORIZED),
            (format!("userId=ann&userHash={hash}"), StatusCode::OK),
            (format!("userId=ann&userHash={}", hash.to_uppercase()), StatusCode::OK),
            ("anonymousId=a-1".to_owned(), StatusCode::OK),
        ] {
            let (got, out) = api.call(get(format!("/v1/decide?writeKey={key}&{query}"))).await;
            assert_eq!(got, status, "{query}: {out}");
            if got == StatusCode::UNAUTHORIZED {
                assert_eq!(out["code"], json!("invalid_user_hash"), "{query}");
            }
        }
    }

    #[tokio::test]
    async fn reserved_source_ids_cannot_be_created() {
        let api = Api::new().await;
        for id in ["wayfarer", "wayfarer-internal", "wayfarer_x"] {
            let (status, body) = api.admin("POST", "/api/sources", json!({"id": id})).await;
            assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_request")), "{id}: {body}");
        }
        assert_eq!(api.admin("POST", "/api/sources", json!({"id": "wayfarers-shop"})).await.0, StatusCode::CREATED);
    }

    #[tokio::test]
    async fn a_refused_merge_is_shown_on_both_profiles() {
        let api = Api::new().await;
        let identify =
            |u: &str| json!({"userId": u, "anonymousId": "shared-laptop", "traits": {"email": format!("{u}@x.test")}}).to_string();
        assert_eq!(api.ingest("identify", identify("u1")).await.0, StatusCode::OK);
        assert_eq!(api.ingest("identify", identify("u2")).await.0, StatusCode::OK);
        let (_, u1) = api.admin("GET", "/api/profiles/lookup?user_id=u1", Value::Null).await;
        let (_, u2) = api.admin("GET", "/api/profiles/lookup?user_id=u2", Value::Null).await;
        assert_ne!(u1["id"], u2["id"]);
        assert_eq!((u1["traits"]["email"].as_str(), u2["traits"]["email"].as_str()), (Some("u1@x.test"), Some("u2@x.test")));
        for (me, other) in [(&u1, &u2), (&u2, &u1)] {
            let refused = &me["refused_merges"][0];
            assert_eq!(refused["other_profile_id"], other["id"], "{me}");
            assert_eq!(refused["identity"], json!({"kind": "anonymous_id", "value": "shared-laptop"}));
            assert_eq!(refused["identity_now_with"], u2["id"]);
            assert!(refused["reason"].as_str().is_some_and(|r| r.contains("at most one userId")), "{refused}");
        }
    }

    #[tokio::test]
    async fn a_timezone_trait_that_is_not_a_zone_is_a_profile_warning() {
        let api = Api::new().await;
        api.ingest("identify", json!({"userId": "ann", "traits": {"timezone": "Mars/Base"}}).to_string()).await;
        api.ingest("identify", json!({"userId": "bob", "traits": {"timezone": "Europe/Paris"}}).to_string()).await;
        let (_, ann) = api.admin("GET", "/api/profiles/lookup?user_id=ann", Value::Null).await;
        assert_eq!(ann["warnings"], json!(["trait timezone \"Mars/Base\" is not a time zone"]), "{ann}");
        let (status, by_id) = api.admin("GET", &format!("/api/profiles/{}", ann["id"]), Value::Null).await;
        assert_eq!((status, &by_id["warnings"]), (StatusCode::OK, &ann["warnings"]));
        let (_, bob) = api.admin("GET", "/api/profiles/lookup?user_id=bob", Value::Null).await;
        assert_eq!(bob["warnings"], json!([]), "{bob}");
        api.ingest("identify", json!({"userId": "ann", "traits": {"timezone": "Asia/Tokyo"}}).to_string()).await;
        let (_, fixed) = api.admin("GET", "/api/profiles/lookup?user_id=ann", Value::Null).await;
        assert_eq!(fixed["warnings"], json!([]), "{fixed}");
    }

    #[tokio::test]
    async fn bad_input_gets_stable_codes_and_loses_nothing_accepted() {
        let api = Api::new().await;
        let good = json!({"userId": "u1", "event": "Signed Up"}).to_string();
        assert_eq!(api.ingest("track", good.clone()).await.0, StatusCode::OK);

        let cases: Vec<(&str, Request<Body>, StatusCode, &str)> = vec![
            (
                "wrong key",
                api.ingest_req("track", Some("wk_nope")).body(Body::from(good.clone())).expect("r"),
                StatusCode::UNAUTHORIZED,
                "invalid_write_key",
            ),
            (
                "no key",
                api.ingest_req("track", None).body(Body::from(good.clone())).expect("r"),
                StatusCode::UNAUTHORIZED,
                "invalid_write_key",
            ),
            (
                "malformed",
                api.ingest_req("track", Some(&api.key)).body(Body::from("{\"userId\": ")).expect("r"),
                StatusCode::BAD_REQUEST,
                "malformed_json",
            ),
            (
                "too large",
                api.ingest_req("batch", Some(&api.key)).body(Body::from(vec![b' '; 30_000])).expect("r"),
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
            ),
            (
                "gzip bomb",
                api.ingest_req("batch", Some(&api.key))
                    .header("content-encoding", "gzip")
                    .body(Body::from(gzip(&vec![b' '; 200_000])))
                    .expect("r"),
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
            ),
            (
                "bad gzip",
                api.ingest_req("track", Some(&api.key)).header("content-encoding", "gzip").body(Body::from("nope")).expect("r"),
                StatusCode::BAD_REQUEST,
                "invalid_gzip",
            ),
            (
                "brotli",
                api.ingest_req("track", Some(&api.key)).header("content-encoding", "br").body(Body::from(good.clone())).expect("r"),
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_encoding",
            ),
            (
                "no identity",
                api.ingest_req("track", Some(&api.key)).body(Body::from(r#"{"event": "X"}"#)).expect("r"),
                StatusCode::BAD_REQUEST,
                "invalid_event",
            ),
            (
                "event too large",
                api.ingest_req("track", Some(&api.key))
                    .body(Body::from(json!({"userId": "u1", "event": "X", "properties": {"p": "x".repeat(3000)}}).to_string()))
                    .expect("r"),
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
            ),
            (
                "not a batch",
                api.ingest_req("batch", Some(&api.key)).body(Body::from(r#"{"events": []}"#)).expect("r"),
                StatusCode::BAD_REQUEST,
                "invalid_batch",
            ),
            (
                "unknown call",
                api.ingest_req("teleport", Some(&api.key)).body(Body::from(good.clone())).expect("r"),
                StatusCode::NOT_FOUND,
                "not_found",
            ),
        ];
        for (name, req, status, code) in cases {
            let (got, body) = api.call(req).await;
            assert_eq!((got, body["code"].as_str()), (status, Some(code)), "{name}: {body}");
            assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "{name}: a message");
        }
        assert_eq!(api.timeline_len("u1").await, 1, "the event accepted first is still there, and nothing else was stored");
    }

    #[tokio::test]
    async fn a_batch_keeps_valid_events_and_reports_invalid_ones() {
        let api = Api::new().await;
        let batch = json!({"sentAt": "2030-01-01T00:00:00Z", "batch": [
            {"type": "track", "userId": "u2", "event": "A", "messageId": "m1"},
            {"type": "track", "event": "no identity"},
            {"type": "track", "userId": "u2", "event": "B", "messageId": "m2", "properties": {"big": "x".repeat(3000)}},
            {"type": "dance", "userId": "u2"},
            {"type": "identify", "userId": "u2", "traits": {"plan": "pro"}, "messageId": "m3"},
        ]});
        let (status, body) = api.ingest("batch", batch.to_string()).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!((body["accepted"].clone(), body["duplicates"].clone()), (json!(2), json!(0)));
        let rejected: Vec<_> = body["rejected"]
            .as_array()
            .expect("list")
            .iter()
            .map(|r| format!("{} {}", r["index"], r["code"].as_str().unwrap_or("")))
            .collect();
        assert_eq!(rejected, ["1 event_missing_identity", "2 event_too_large", "3 event_bad_type"]);
        // Sent again (an SDK retry): acknowledged, stored once.
        let (_, again) = api.ingest("batch", batch.to_string()).await;
        assert_eq!((again["accepted"].clone(), again["duplicates"].clone()), (json!(0), json!(2)));
        assert_eq!(api.timeline_len("u2").await, 2);
        // A batch with no valid event at all is refused, with the reasons.
        let (status, body) = api.ingest("batch", json!({"batch": [{"type": "track"}]}).to_string()).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_batch")));
        assert_eq!(body["details"]["rejected"][0]["code"], json!("event_missing_identity"));
    }

    #[tokio::test]
    async fn gzip_bodies_and_any_content_type_are_accepted() {
        let api = Api::new().await;
        let body = json!({"batch": [{"type": "identify", "userId": "u3", "traits": {"a": 1}}]}).to_string();
        let req =
            api.ingest_req("batch", Some(&api.key)).header("content-encoding", "gzip").body(Body::from(gzip(body.as_bytes()))).expect("r");
        let (status, out) = api.call(req).await;
        assert_eq!((status, out["accepted"].clone()), (StatusCode::OK, json!(1)));
        // The write key may also come in the body, as some clients send it.
        let req = api
            .ingest_req("track", None)
            .body(Body::from(json!({"writeKey": api.key, "userId": "u3", "event": "X"}).to_string()))
            .expect("r");
        assert_eq!(api.call(req).await.0, StatusCode::OK);
        assert_eq!(api.timeline_len("u3").await, 2);
    }

    #[tokio::test]
    async fn a_typo_is_an_error_and_a_name_never_seen_is_a_warning() {
        let api = Api::new().await;
        assert_eq!(api.ingest("track", json!({"userId": "u1", "event": "Signed Up"}).to_string()).await.0, StatusCode::OK);
        // "filters" for "filter" would have let everyone in: it is an error, with a suggestion.
        let typo = json!({"id": "welcome", "entry": {"event": "Signed Up", "filters": {"trait": "plan", "op": "eq", "value": "pro"}},
            "steps": [{"id": "done", "type": "exit"}]});
        let (_, out) = api.admin("POST", "/api/journeys/validate", typo).await;
        assert_eq!(out["valid"], json!(false), "{out}");
        let d = &out["diagnostics"][0];
        assert_eq!(
            (d["code"].as_str(), d["path"].as_str(), d["severity"].as_str()),
            (Some("unknown_field"), Some("/entry/filters"), Some("error"))
        );
        assert!(d["message"].as_str().is_some_and(|m| m.contains("did you mean \"filter\"")), "{d}");
        // An event nobody has sent is most likely misspelt: a warning, which does not block publishing.
        let unseen = json!({"id": "welcome", "entry": {"event": "Singed Up"}, "steps": [{"id": "done", "type": "exit"}]});
        let (_, out) = api.admin("POST", "/api/journeys/validate", unseen.clone()).await;
        assert_eq!(out["valid"], json!(true), "{out}");
        let d = &out["diagnostics"][0];
        assert_eq!((d["code"].as_str(), d["severity"].as_str()), (Some("unseen_event"), Some("warning")), "{out}");
        assert!(d["message"].as_str().is_some_and(|m| m.contains("Signed Up")), "{d}");
        assert_eq!(api.admin("POST", "/api/journeys", unseen).await.0, StatusCode::CREATED);
        let (status, out) = api.admin("POST", "/api/journeys/welcome/publish", Value::Null).await;
        assert_eq!((status, out["diagnostics"][0]["code"].as_str()), (StatusCode::OK, Some("unseen_event")), "{out}");
        // Once seen, no warning.
        let seen = json!({"id": "welcome", "entry": {"event": "Signed Up"}, "steps": [{"id": "done", "type": "exit"}]});
        let (_, out) = api.admin("POST", "/api/journeys/validate", seen).await;
        assert_eq!(out["diagnostics"], json!([]), "{out}");
    }

    #[tokio::test]
    async fn invalid_journeys_get_every_diagnostic_and_are_not_published() {
        let api = Api::new().await;
        let doc = json!({"id": "broken", "entry": {"event": "X", "filter": {"trait": "a", "op": "bogus"}},
            "steps": [{"id": "a", "type": "send", "template": "missing", "next": "nowhere"}, {"id": "b", "type": "wait"}]});
        let (status, out) = api.admin("POST", "/api/journeys/validate", doc.clone()).await;
        assert_eq!(status, StatusCode::OK);
        let codes: Vec<_> =
            out["diagnostics"].as_array().expect("list").iter().map(|d| d["code"].as_str().unwrap_or("").to_owned()).collect();
        assert_eq!(codes, ["condition_unknown_op", "invalid_wait", "dangling_next"]);
        let (status, out) = api.admin("POST", "/api/journeys", doc).await;
        assert_eq!((status, out["valid"].clone()), (StatusCode::CREATED, json!(false)));
        let (status, out) = api.admin("POST", "/api/journeys/broken/publish", Value::Null).await;
        assert_eq!((status, out["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("journey_invalid")));
        assert_eq!(out["details"]["diagnostics"].as_array().map(Vec::len), Some(3));
        // Fixed except for the template, which is reported too.
        let fixed = json!({"id": "broken", "entry": {"event": "X"}, "steps": [{"id": "a", "type": "send", "template": "missing"}]});
        api.admin("PUT", "/api/journeys/broken", fixed).await;
        let (_, out) = api.admin("POST", "/api/journeys/broken/publish", Value::Null).await;
        assert_eq!(out["details"]["diagnostics"][0]["code"], json!("unknown_template"));
        assert_eq!(out["details"]["diagnostics"][0]["node"], json!("a"));
        let (_, list) = api.admin("GET", "/api/journeys", Value::Null).await;
        assert_eq!(list["journeys"][0]["status"], json!("draft"));
        // Variables that templates do not have are diagnostics too (a template with them is
        // refused when saved; a webhook body is checked here).
        let hook = json!({"id": "broken", "entry": {"event": "X"}, "steps": [
            {"id": "a", "type": "webhook", "url": "https://hooks.example.com/x", "body": {"n": "{{ customer.name }}", "t": "{{ traits.x }}"}}]});
        api.admin("PUT", "/api/journeys/broken", hook).await;
        let (_, out) = api.admin("POST", "/api/journeys/broken/publish", Value::Null).await;
        assert_eq!(out["details"]["diagnostics"][0]["code"], json!("unknown_template_variable"));
        assert!(out["details"]["diagnostics"][0]["message"].as_str().unwrap_or("").contains("uses customer,"), "{out}");
        // An impossible condition is found before anyone is affected.
        let (_, out) = api.admin("POST", "/api/journeys/validate", json!({"id": "never", "entry": {"event": "X", "filter": {"all": [
            {"property": "n", "op": "gt", "value": 5}, {"property": "n", "op": "lt", "value": 3}]}}, "steps": [{"id": "e", "type": "exit"}]})).await;
        assert_eq!(out["diagnostics"][0]["code"], json!("impossible_condition"));
        let (status, out) = api.admin("POST", "/api/journeys", json!({"id": "Not A Slug"})).await;
        assert_eq!((status, out["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("journey_invalid")));
    }

    /// A template is checked when saved: each part parses as Liquid and reads only variables
    /// templates have (or defines itself); a refused template is not stored.
    #[tokio::test]
    async fn templates_are_checked_when_saved() {
        let api = Api::new().await;
        let refused = [
            (json!({"subject": "Hi {{ trait.firstName }}", "text": "x"}), "subject", "uses trait,"),
            (json!({"subject": "Hi", "html": "<p>{{ traits.a }}{{ customer | default: 'x' }}</p>"}), "html", "uses customer,"),
            (json!({"subject": "Hi", "text": "{% if %}"}), "text", "does not parse as Liquid"),
            (json!({"subject": "Hi", "text": "{{ traits.a | nofilter }}"}), "text", "Unknown filter"),
            (json!({"sms": "Stop: {{ unsubscribe_url }}"}), "sms", "uses unsubscribe_url,"),
            (json!({"push": {"title": "Hi {{ trait.name }}"}}), "push.title", "uses trait,"),
        ];
        for (body, part, problem) in refused {
            let (status, out) = api.admin("PUT", "/api/templates/t", body.clone()).await;
            assert_eq!((status, out["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("template_invalid")), "{body}");
            let message = out["message"].as_str().unwrap_or("");
            assert!(message.contains(&format!("{part} ")) && message.contains(problem), "{body}: {message}");
            assert_eq!(out["details"]["problems"][0]["part"], json!(part), "{out}");
            assert_eq!(api.admin("GET", "/api/templates/t", Value::Null).await.0, StatusCode::NOT_FOUND, "{body} is not stored");
        }
        // Every root templates have, `run` included, and what the template defines itself.
        let fine = json!({
            "subject": "{{ traits.firstName | default: 'there' }}, {{ event_name }} in {{ journey }}",
            "html": "{% assign n = traits.orders | plus: 1 %}{{ n }}{% capture c %}{{ event.path }}{% endcapture %}{{ c | raw }}",
            "text": "{% for i in event.items %}{{ i.name }}{{ forloop.index }}{% endfor %}{{ run.step }} {{ profile_id }}",
        });
        let (status, out) = api.admin("PUT", "/api/templates/t", fine).await;
        assert_eq!(status, StatusCode::OK, "{out}");
        // Email content, SMS text or both; not neither.
        let (status, out) = api.admin("PUT", "/api/templates/e", json!({"subject": "Only a subject"})).await;
        assert_eq!(
            (status, out["message"].as_str()),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(
                    "a template needs email content (\"html\", \"text\" or both), SMS text (\"sms\"), a push notification (\"push\" with a \"title\" or \"body\"), an in-app message (\"in_app\" with a \"title\" or \"body\"), or several"
                )
            )
        );
        let (status, out) = api.admin("PUT", "/api/templates/s", json!({"sms": "Hi {{ traits.firstName }}"})).await;
        assert_eq!((status, &out["sms"], &out["subject"]), (StatusCode::OK, &json!("Hi {{ traits.firstName }}"), &json!("")));
        let (status, out) =
            api.admin("PUT", "/api/templates/p", json!({"push": {"body": "Back in stock", "link": "https://x.test"}})).await;
        assert_eq!(
            (status, &out["push"]),
            (StatusCode::OK, &json!({"title": "", "body": "Back in stock", "link": "https://x.test", "image": ""}))
        );
        let (status, _) = api.admin("PUT", "/api/templates/q", json!({"push": {"link": "https://x.test"}})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "a link alone is no notification");
        // A send step needs its channel's content in the template.
        let doc = json!({"id": "both", "entry": {"event": "Go"}, "steps": [
            {"id": "mail", "type": "send", "template": "s", "next": "text"},
            {"id": "text", "type": "send", "channel": "sms", "template": "t", "next": "ok"},
            {"id": "ok", "type": "send", "channel": "sms", "template": "s", "next": "nudge"},
            {"id": "nudge", "type": "send", "channel": "push", "template": "s", "next": "fine"},
            {"id": "fine", "type": "send", "channel": "push", "template": "p"}]});
        let (_, out) = api.admin("POST", "/api/journeys/validate", doc).await;
        let said: Vec<String> = out["diagnostics"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|d| {
                format!(
                    "{} {}: {}",
                    d["node"].as_str().unwrap_or(""),
                    d["code"].as_str().unwrap_or(""),
                    d["message"].as_str().unwrap_or("")
                )
            })
            .collect();
        assert_eq!(
            said,
            [
                "mail template_missing_channel: template \"s\" has no email content (HTML or text), which this email step sends; add it to the template",
                "text template_missing_channel: template \"t\" has no SMS text, which this sms step sends; add it to the template",
                "nudge template_missing_channel: template \"s\" has no push notification (title or body), which this push step sends; add it to the template",
                " unseen_event: no event named \"Go\" has been seen yet",
            ],
            "{out}"
        );
    }

    /// `default` on a missing trait and `assign` with a filter: the journey publishes and the
    /// message renders.
    #[tokio::test]
    async fn default_and_assign_render_for_a_person_without_the_trait() {
        let api = Api::new().await;
        let template = json!({"subject": "Hi {{ traits.firstName | default: \"there\" }}",
                              "text": "{% assign n = traits.orders | default: 0 | plus: 1 %}order {{ n }}"});
        assert_eq!(api.admin("PUT", "/api/templates/hi", template).await.0, StatusCode::OK);
        let journey = json!({"id": "hi", "entry": {"event": "Signed Up"}, "steps": [{"id": "s", "type": "send", "template": "hi"}]});
        api.admin("POST", "/api/journeys", journey).await;
        let (status, out) = api.admin("POST", "/api/journeys/hi/publish", Value::Null).await;
        assert_eq!(status, StatusCode::OK, "{out}");
        api.ingest("identify", json!({"userId": "bo", "traits": {"email": "bo@x.test"}}).to_string()).await;
        api.ingest("track", json!({"userId": "bo", "event": "Signed Up"}).to_string()).await;
        api.admin("POST", "/api/clock", json!({"advance": "1s"})).await;
        let (_, out) = api.admin("GET", "/api/messages?status=captured", Value::Null).await;
        let m = &out["messages"][0]["message"];
        assert_eq!((&m["subject"], &m["text"]), (&json!("Hi there"), &json!("order 1")), "{out}");
    }

    #[tokio::test]
    async fn failed_messages_are_retried_one_at_a_time_or_all_of_a_journey() {
        let api = Api::new().await;
        api.admin("PUT", "/api/templates/t", json!({"subject": "For {{ traits.company }}", "text": "Hi"})).await;
        let journey = json!({"id": "j", "entry": {"event": "Signed Up"}, "steps": [{"id": "s", "type": "send", "template": "t"}]});
        api.admin("POST", "/api/journeys", journey).await;
        assert_eq!(api.admin("POST", "/api/journeys/j/publish", Value::Null).await.0, StatusCode::OK);
        for who in ["ann", "bob", "cy"] {
            api.ingest("identify", json!({"userId": who, "traits": {"email": format!("{who}@x.test")}}).to_string()).await;
            api.ingest("track", json!({"userId": who, "event": "Signed Up"}).to_string()).await;
        }
        api.admin("POST", "/api/clock", json!({"advance": "1s"})).await;
        let (_, out) = api.admin("GET", "/api/messages?status=failed", Value::Null).await;
        let failed: Vec<i64> = out["messages"].as_array().into_iter().flatten().filter_map(|m| m["id"].as_i64()).collect();
        assert_eq!(failed.len(), 3, "{out}");
        // The template is fixed; the failed messages are sent again.
        api.admin("PUT", "/api/templates/t", json!({"subject": "For {{ traits.company | default: \"your team\" }}", "text": "Hi"})).await;
        let (status, out) = api.admin("POST", &format!("/api/messages/{}/retry", failed[0]), Value::Null).await;
        assert_eq!((status, &out["retried"]), (StatusCode::OK, &json!(1)));
        let (status, out) = api.admin("POST", &format!("/api/messages/{}/retry", failed[0]), Value::Null).await;
        assert_eq!((status, &out["code"]), (StatusCode::CONFLICT, &json!("conflict")), "it is no longer failed: {out}");
        assert_eq!(api.admin("POST", "/api/messages/999999/retry", Value::Null).await.0, StatusCode::NOT_FOUND);
        let (status, out) = api.admin("POST", "/api/journeys/j/messages/retry", Value::Null).await;
        assert_eq!((status, &out["retried"]), (StatusCode::OK, &json!(2)), "the journey's other two");
        assert_eq!(api.admin("POST", "/api/journeys/nope/messages/retry", Value::Null).await.0, StatusCode::NOT_FOUND);
        api.admin("POST", "/api/clock", json!({"advance": "1s"})).await;
        let (_, out) = api.admin("GET", "/api/messages?status=captured", Value::Null).await;
        let subjects: Vec<&str> =
            out["messages"].as_array().into_iter().flatten().filter_map(|m| m["message"]["subject"].as_str()).collect();
        assert_eq!(subjects, ["For your team"; 3]);
        let (_, out) = api.admin("GET", "/api/messages?status=failed", Value::Null).await;
        assert_eq!(out["messages"], json!([]));
        // Each run's trace says what became of its message, both times.
        let (_, person) = api.admin("GET", "/api/profiles/lookup?user_id=bob", Value::Null).await;
        let lines: Vec<&str> =
            person["journeys"][0]["trace"].as_array().into_iter().flatten().filter_map(|t| t["lines"][0].as_str()).collect();
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert!(lines[1].starts_with("s: message failed (failed: template \"t\", subject: template does not render: liquid: Unknown index with: variable=traits requested index=company"), "{lines:?}");
        assert_eq!(lines[2], "s: message delivered (captured)");
        // Both retries are in the audit log, after the engine made them.
        let (_, audit) = api.admin("GET", "/api/audit?limit=3", Value::Null).await;
        let entries: Vec<(&str, &str)> = audit["entries"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| Some((e["action"].as_str()?, e["target"].as_str()?)))
            .collect();
        let message = format!("message:{}", failed[0]);
        assert_eq!(entries, [("clock.move", "clock"), ("journey.retry_messages", "journey:j"), ("message.retry", message.as_str())]);
        assert_eq!(
            audit["entries"][2]["diff"],
            json!([{"path": "/retried", "new": 1}, {"path": "/status", "old": "failed", "new": "pending"}])
        );
    }

    /// A journey cannot take the name of a route under /api/journeys/ (its page would be the
    /// route's), whichever way it is made.
    #[tokio::test]
    async fn journey_ids_that_name_routes_are_refused() {
        let api = Api::new().await;
        for id in server::admin::RESERVED_JOURNEY_IDS {
            let doc = json!({"id": id, "entry": {"event": "Signed Up"}, "steps": []});
            for (method, path, body) in
                [("POST", "/api/journeys".to_owned(), doc.clone()), ("POST", format!("/api/journeys/{id}/apply"), json!({"document": doc}))]
            {
                let (status, out) = api.admin(method, &path, body).await;
                assert_eq!(
                    (status, out["code"].as_str(), out["details"]["diagnostics"][0]["code"].as_str()),
                    (StatusCode::UNPROCESSABLE_ENTITY, Some("journey_invalid"), Some("reserved_id")),
                    "{method} {path}: {out}"
                );
            }
        }
        let (_, list) = api.admin("GET", "/api/journeys", Value::Null).await;
        assert_eq!(list["journeys"], json!([]));
    }

    /// Apply validates, saves the draft and publishes in one transaction: a document with an
    /// error, or one whose publish would strand waiting runs, leaves the draft as it was.
    #[tokio::test]
    async fn apply_publishes_a_valid_document_and_an_invalid_one_changes_nothing() {
        let api = Api::new().await;
        api.admin("PUT", "/api/templates/hi", json!({"subject": "Hi", "text": "x"})).await;
        let v1 = json!({"id": "nurture", "entry": {"event": "Signed Up"},
            "steps": [{"id": "pause", "type": "wait", "duration": "10d", "next": "hi"}, {"id": "hi", "type": "send", "template": "hi"}]});
        let (status, out) = api.admin("POST", "/api/journeys/nurture/apply", json!({"document": v1})).await;
        assert_eq!((status, out["status"].clone(), out["version"].clone()), (StatusCode::OK, json!("published"), json!(1)), "{out}");
        let (_, out) = api.admin("POST", "/api/journeys/nurture/apply", json!({"document": v1})).await;
        assert_eq!((out["status"].clone(), out["version"].clone()), (json!("unchanged"), json!(1)));
        // A draft in progress (invalid, as drafts may be) is kept by a refused apply.
        let draft = json!({"id": "nurture", "entry": {"event": "Signed Up"}, "steps": [{"id": "pause", "type": "wait"}]});
        api.admin("PUT", "/api/journeys/nurture", draft.clone()).await;
        let broken = json!({"id": "nurture", "entry": {"event": "Signed Up"},
            "steps": [{"id": "pause", "type": "wait", "duration": "10d", "next": "hi"}, {"id": "hi", "type": "send", "template": "nope"}]});
        let (status, out) = api.admin("POST", "/api/journeys/nurture/apply", json!({"document": broken})).await;
        assert_eq!((status, out["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("journey_invalid")));
        let codes: Vec<_> = out["details"]["diagnostics"].as_array().expect("list").iter().map(|d| d["code"].clone()).collect();
        assert_eq!(codes, [json!("unknown_template")], "{out}");
        let (_, stored) = api.admin("GET", "/api/journeys/nurture", Value::Null).await;
        assert_eq!((stored["draft"].clone(), stored["published_version"].clone()), (draft.clone(), json!(1)));
        // Valid, but moving the waiting run to a version without its step: refused, draft kept.
        api.ingest("track", json!({"userId": "rae", "event": "Signed Up"}).to_string()).await;
        let renamed = json!({"id": "nurture", "entry": {"event": "Signed Up"},
            "steps": [{"id": "rest", "type": "wait", "duration": "10d", "next": "hi"}, {"id": "hi", "type": "send", "template": "hi"}]});
        let (status, out) = api.admin("POST", "/api/journeys/nurture/apply", json!({"document": renamed, "in_flight": "move"})).await;
        assert_eq!(
            (status, out["details"]["diagnostics"][0]["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("step_missing_for_runs"))
        );
        let (_, stored) = api.admin("GET", "/api/journeys/nurture", Value::Null).await;
        assert_eq!((stored["draft"].clone(), stored["published_version"].clone()), (draft, json!(1)));
        let (status, out) = api.admin("POST", "/api/journeys/nurture/apply", json!({"document": renamed})).await;
        assert_eq!((status, out["version"].clone(), out["moved_runs"].clone()), (StatusCode::OK, json!(2), json!(0)));
        let (_, stored) = api.admin("GET", "/api/journeys/nurture", Value::Null).await;
        assert_eq!(stored["draft"], renamed);
        // The URL names the journey the document is.
        let (status, _) = api.admin("POST", "/api/journeys/other/apply", json!({"document": renamed})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }

    /// The backtest answers for its period: the events in it apart from the warm-up, what the
    /// entry events did (with the false comparisons), visits, and the messages that would fail.
    #[tokio::test]
    async fn a_backtest_reports_the_period_entries_and_failing_messages() {
        let api = Api::new().await;
        api.admin("PUT", "/api/templates/hi", json!({"subject": "Hi {{ traits.firstName }}", "text": "x"})).await;
        let identify = |who: &str, traits: Value| json!({"userId": who, "traits": traits}).to_string();
        api.ingest("identify", identify("ann", json!({"firstName": "Ann", "email": "ann@x.test"}))).await;
        api.ingest("identify", identify("bo", json!({"email": "bo@x.test"}))).await;
        api.admin("POST", "/api/clock", json!({"advance": "1h"})).await;
        for (who, path) in [("ann", "/products/a"), ("bo", "/blog"), ("bo", "/products/b")] {
            api.ingest("page", json!({"userId": who, "properties": {"path": path}}).to_string()).await;
        }
        let doc = json!({"id": "hello", "entry": {"event": "Page Viewed", "filter": {"property": "path", "op": "starts_with", "value": "/products/"}},
            "steps": [{"id": "greet", "type": "send", "template": "hi"}]});
        let body = json!({"document": doc, "from": "2030-01-01T00:30:00Z", "to": "2030-01-01T02:00:00Z"});
        let (status, out) = api.admin("POST", "/api/journeys/backtest", body).await;
        assert_eq!(status, StatusCode::OK, "{out}");
        assert_eq!((out["events"].clone(), out["warmup_events"].clone()), (json!(3), json!(2)), "{out}");
        assert_eq!(
            out["entries"],
            json!({"events": 3, "entered": 2, "filtered": 1, "waiting": 0, "reentry": 0, "limit": 0, "unexplained": 0,
                "filter_reasons": [{"comparison": "property path = \"/blog\" starts_with \"/products/\" -> false", "count": 1}]})
        );
        assert_eq!((out["visits"].clone(), out["sends"].clone()), (json!({"greet": 2}), json!({"hi": 2})));
        let failed = out["failed"].as_object().expect("failed");
        assert_eq!(failed.values().collect::<Vec<_>>(), [&json!(1)], "{out}");
        assert!(failed.keys().all(|k| k.starts_with("template \"hi\", subject") && k.contains("firstName")), "{out}");
        // Nothing live changed: no journey, no message.
        let (_, list) = api.admin("GET", "/api/journeys", Value::Null).await;
        assert_eq!(list["journeys"], json!([]));
        let (_, messages) = api.admin("GET", "/api/messages", Value::Null).await;
        assert_eq!(messages["messages"], json!([]));
    }

    /// A page of the links in emails: status, content type, location, body.
    async fn link(api: &Api, method: &str, url: &str) -> (StatusCode, String, Option<String>, String) {
        let path = url.strip_prefix("https://wf.acme.test").unwrap_or(url);
        let mut req = Request::builder().method(method).uri(path);
        if method == "POST" {
            req = req.header("content-type", "application/x-www-form-urlencoded");
        }
        let body = if method == "POST" { Body::from("List-Unsubscribe=One-Click") } else { Body::empty() };
        let resp = api.router.clone().oneshot(req.body(body).expect("request")).await.expect("response");
        let header = |name: &str| resp.headers().get(name).map(|v| v.to_str().unwrap_or("").to_owned());
        let (status, kind, location) = (resp.status(), header("content-type").unwrap_or_default(), header("location"));
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.expect("body");
        (status, kind, location, String::from_utf8_lossy(&bytes).into_owned())
    }

    /// What comes back from an email: the open pixel and a tracked click are events on the
    /// person, and the click moves the run waiting for it on; a GET of the unsubscribe link
    /// only asks, its POST (RFC 8058 one-click) unsubscribes at once: the next marketing email
    /// is not sent (the trace says why), a transactional one still is; forged links do nothing.
    #[tokio::test]
    async fn tracked_clicks_move_runs_on_and_one_click_unsubscribe_stops_marketing_email() {
        let api = Api::with(&[("WAYFARER_TRACKING_BASE_URL", "https://wf.acme.test/")]).await;
        let html = r#"<p>Hi {{ traits.firstName }}, <a href="https://shop.test/offer?id=1&amp;x=2">see the offer</a>.</p>
            <p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>"#;
        api.admin("PUT", "/api/templates/offer", json!({"subject": "An offer", "html": html, "text": "An offer"})).await;
        let (status, receipt) = api
            .admin("PUT", "/api/templates/receipt", json!({"subject": "Your receipt", "text": "Thanks", "category": "transactional"}))
            .await;
        assert_eq!((status, &receipt["category"]), (StatusCode::OK, &json!("transactional")));
        let doc = json!({"id": "offer", "entry": {"event": "Signed Up"}, "steps": [
            {"id": "first", "type": "send", "template": "offer", "next": "click"},
            {"id": "click", "type": "wait_for", "events": [{"event": "Email Clicked", "next": "later"}], "timeout": "3d", "timeout_next": "gone"},
            {"id": "later", "type": "wait", "duration": "1d", "next": "again"},
            {"id": "again", "type": "send", "template": "offer", "next": "receipt"},
            {"id": "receipt", "type": "send", "template": "receipt"},
            {"id": "gone", "type": "exit"}]});
        let (status, out) = api.admin("POST", "/api/journeys", doc).await;
        assert_eq!(status, StatusCode::CREATED, "{out}");
        assert_eq!(api.admin("POST", "/api/journeys/offer/publish", Value::Null).await.0, StatusCode::OK);
        api.ingest("identify", json!({"userId": "ann", "traits": {"firstName": "Ann", "email": "ann@x.test"}}).to_string()).await;
        api.ingest("track", json!({"userId": "ann", "event": "Signed Up"}).to_string()).await;
        api.admin("POST", "/api/clock", json!({"advance": "1s"})).await;
        let (_, out) = api.admin("GET", "/api/messages?status=captured", Value::Null).await;
        let m = &out["messages"][0]["message"];
        let sent = m["html"].as_str().expect("html");
        let click = sent.split("href=\"").nth(1).and_then(|s| s.split('"').next()).expect("a link").replace("&amp;", "&");
        assert!(click.starts_with("https://wf.acme.test/t/c/"), "links go through the redirect: {sent}");
        let pixel = sent.split("<img src=\"").nth(1).and_then(|s| s.split('"').next()).expect("the pixel").replace("&amp;", "&");
        let unsubscribe = m["list_unsubscribe"].as_str().expect("the one-click unsubscribe").to_owned();
        assert!(unsubscribe.starts_with("https://wf.acme.test/u/"), "{m}");
        assert!(sent.contains(&format!(r#"<a href="{unsubscribe}">Unsubscribe</a>"#)), "the template's own link, not redirected: {sent}");

        let (status, kind, _, _) = link(&api, "GET", &pixel).await;
        assert_eq!((status, kind.as_str()), (StatusCode::OK, "image/gif"));
        let (status, _, location, _) = link(&api, "GET", &click).await;
        assert_eq!(
            (status, location.as_deref()),
            (StatusCode::FOUND, Some("https://shop.test/offer?id=1&x=2")),
            "to the URL the email held"
        );
        let forged = click.replace("shop.test", "evil.test");
        let (status, kind, location, body) = link(&api, "GET", &forged).await;
        assert_eq!((status, location), (StatusCode::NOT_FOUND, None), "no open redirect");
        assert!(kind.starts_with("text/html") && body.contains("This link is not valid"), "{kind} {body}");
        api.admin("POST", "/api/clock", json!({"advance": "1s"})).await;
        let (_, person) = api.admin("GET", "/api/profiles/lookup?user_id=ann", Value::Null).await;
        let names: Vec<&str> = person["events"].as_array().into_iter().flatten().filter_map(|e| e["name"].as_str()).take(2).collect();
        assert_eq!(names, ["Email Clicked", "Email Opened"], "newest first");
        let clicked = &person["events"][0]["properties"];
        assert_eq!(
            (&clicked["url"], &clicked["journey"], &clicked["template"]),
            (&json!("https://shop.test/offer?id=1&x=2"), &json!("offer"), &json!("offer"))
        );
        assert_eq!(person["journeys"][0]["node"], json!("later"), "the click moved the run on: {person}");

        // The GET asks (link scanners follow links); nothing changes.
        let (status, _, _, body) = link(&api, "GET", &unsubscribe).await;
        assert!(status == StatusCode::OK && body.contains(r#"<form method="post">"#), "{body}");
        let (_, person) = api.admin("GET", "/api/profiles/lookup?user_id=ann", Value::Null).await;
        assert_eq!(person["traits"]["email_unsubscribed"], Value::Null);
        let (status, _, _, body) = link(&api, "POST", &unsubscribe).await;
        assert!(status == StatusCode::OK && body.contains("You are unsubscribed"), "{body}");
        // The page is now the person's preferences: they can subscribe again, and unsubscribe again.
        api.admin("POST", "/api/clock", json!({"advance": "1s"})).await;
        let (_, _, _, body) = link(&api, "GET", &unsubscribe).await;
        assert!(body.contains("Email preferences") && body.contains(r#"action="?action=resubscribe""#), "{body}");
        let (status, _, _, body) = link(&api, "POST", &format!("{unsubscribe}?action=resubscribe")).await;
        assert!(status == StatusCode::OK && body.contains("You are subscribed again"), "{body}");
        api.admin("POST", "/api/clock", json!({"advance": "1s"})).await;
        let (_, person) = api.admin("GET", "/api/profiles/lookup?user_id=ann", Value::Null).await;
        assert_eq!(person["traits"]["email_unsubscribed"], json!(false));
        assert_eq!(person["events"][0]["name"], json!("Email Resubscribed"));
        api.admin("POST", "/api/clock", json!({"advance": "1s"})).await;
        link(&api, "POST", &unsubscribe).await;
        assert_eq!(link(&api, "POST", &unsubscribe.replace("/u/", "/u/9")).await.0, StatusCode::NOT_FOUND, "another message's id");
        api.admin("POST", "/api/clock", json!({"advance": "1d"})).await;
        let (_, person) = api.admin("GET", "/api/profiles/lookup?user_id=ann", Value::Null).await;
        assert_eq!(person["traits"]["email_unsubscribed"], json!(true));
        let (_, out) = api.admin("GET", "/api/messages", Value::Null).await;
        let summary: Vec<String> = out["messages"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|m| {
                format!(
                    "{} {} {}",
                    m["node"].as_str().unwrap_or(""),
                    m["status"].as_str().unwrap_or(""),
                    m["last_error"].as_str().unwrap_or("")
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                "receipt captured ",
                "again suppressed the person unsubscribed from marketing email (trait email_unsubscribed)",
                "first captured "
            ],
            "newest first"
        );
    }

    /// Deliveries, bounces and complaints from the email provider: a hard bounce stops every email to that
    /// address (until the person has another), a complaint unsubscribes from marketing email;
    /// each is an event on the person the message went to (or everyone emailed there).
    #[tokio::test]
    async fn bounces_and_complaints_stop_email_and_come_back_as_events() {
        let api = Api::new().await;
        api.admin("PUT", "/api/templates/news", json!({"subject": "News", "text": "News"})).await;
        api.admin("PUT", "/api/templates/receipt", json!({"subject": "Receipt", "text": "Thanks", "category": "transactional"})).await;
        let doc = json!({"id": "both", "entry": {"event": "Ordered"}, "steps": [
            {"id": "n", "type": "send", "template": "news", "next": "r"}, {"id": "r", "type": "send", "template": "receipt"}]});
        api.admin("POST", "/api/journeys", doc).await;
        assert_eq!(api.admin("POST", "/api/journeys/both/publish", Value::Null).await.0, StatusCode::OK);
        api.ingest("identify", json!({"userId": "ann", "traits": {"email": "ann@x.test"}}).to_string()).await;
        let order = || json!({"userId": "ann", "event": "Ordered"}).to_string();
        let statuses = |out: &Value| -> Vec<String> {
            out["messages"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|m| format!("{} {}", m["template"].as_str().unwrap_or(""), m["status"].as_str().unwrap_or("")))
                .collect()
        };
        api.ingest("track", order()).await;
        api.admin("POST", "/api/clock", json!({"advance": "1s"})).await;
        let (_, out) = api.admin("GET", "/api/messages?limit=2", Value::Null).await;
        let key = out["messages"][1]["idempotency_key"].as_str().expect("key").to_owned();
        assert_eq!(out["messages"][1]["template"], json!("news"));

        // The provider handed the receipt over: a delivery notification names its message.
        let receipt = out["messages"][0]["idempotency_key"].as_str().expect("key").to_owned();
        let delivery = json!({"type": "delivery", "email": "ann@x.test", "message_id": format!("<{receipt}@wayfarer>")});
        let (status, out) = api.ingest("feedback/email", delivery.to_string()).await;
        assert_eq!((status, out), (StatusCode::OK, json!({"event": "Email Delivered", "people": 1})));
        let (_, person) = api.admin("GET", "/api/profiles/lookup?user_id=ann", Value::Null).await;
        let delivered = person["events"].as_array().into_iter().flatten().find(|e| e["name"] == "Email Delivered").expect("delivered");
        assert_eq!((&delivered["properties"]["template"], &delivered["properties"]["channel"]), (&json!("receipt"), &json!("email")));

        let bounce = json!({"type": "bounce", "email": "ann@x.test", "bounce": "hard", "reason": "550 5.1.1 no such user", "message_id": format!("<{key}@wayfarer>")});
        let (status, out) = api.ingest("feedback/email", bounce.to_string()).await;
        assert_eq!((status, out), (StatusCode::OK, json!({"event": "Email Bounced", "people": 1})));
        api.ingest("feedback/email", bounce.to_string()).await;
        let (_, person) = api.admin("GET", "/api/profiles/lookup?user_id=ann", Value::Null).await;
        assert_eq!(person["traits"]["email_bounced"], json!("ann@x.test"));
        let bounced: Vec<&Value> = person["events"].as_array().into_iter().flatten().filter(|e| e["name"] == "Email Bounced").collect();
        assert_eq!(bounced.len(), 1, "a repeat of the same notification records nothing more");
        assert_eq!(
            (&bounced[0]["properties"]["bounce"], &bounced[0]["properties"]["template"], &bounced[0]["properties"]["reason"]),
            (&json!("hard"), &json!("news"), &json!("550 5.1.1 no such user"))
        );
        // No email goes to the bounced address, receipts included ...
        api.ingest("track", order()).await;
        api.admin("POST", "/api/clock", json!({"advance": "1s"})).await;
        let (_, out) = api.admin("GET", "/api/messages?status=suppressed", Value::Null).await;
        assert_eq!(statuses(&out), ["receipt suppressed", "news suppressed"]);
        assert_eq!(out["messages"][0]["last_error"], json!("the address ann@x.test bounced for good (trait email_bounced)"));
        // ... until the person has another address.
        api.ingest("identify", json!({"userId": "ann", "traits": {"email": "ann@y.test"}}).to_string()).await;
        api.ingest("track", order()).await;
        api.admin("POST", "/api/clock", json!({"advance": "1s"})).await;
        let (_, out) = api.admin("GET", "/api/messages?limit=2", Value::Null).await;
        assert_eq!(statuses(&out), ["receipt captured", "news captured"]);

        // A complaint with no message id: everyone emailed at the address; marketing stops.
        let (status, out) = api.ingest("feedback/email", json!({"type": "complaint", "email": "ANN@y.test"}).to_string()).await;
        assert_eq!((status, out), (StatusCode::OK, json!({"event": "Email Marked as Spam", "people": 1})));
        api.ingest("track", order()).await;
        api.admin("POST", "/api/clock", json!({"advance": "1s"})).await;
        let (_, out) = api.admin("GET", "/api/messages?limit=2", Value::Null).await;
        assert_eq!(statuses(&out), ["receipt captured", "news suppressed"]);
        let (_, person) = api.admin("GET", "/api/profiles/lookup?user_id=ann", Value::Null).await;
        assert_eq!(person["traits"]["email_unsubscribed"], json!(true));

        // Nobody emailed there: nothing recorded. Not a notification, or no key: refused.
        let (status, out) = api.ingest("feedback/email", json!({"type": "bounce", "email": "who@x.test"}).to_string()).await;
        assert_eq!((status, &out["people"]), (StatusCode::OK, &json!(0)));
        let (status, out) = api.ingest("feedback/email", json!({"type": "bounce"}).to_string()).await;
        assert_eq!((status, out["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_request")), "{out}");
        let req = api.ingest_req("feedback/email", None).body(Body::from(bounce.to_string())).expect("request");
        assert_eq!(api.call(req).await.0, StatusCode::UNAUTHORIZED);
    }

    /// Segments through the API: defined with their problems named, filled from what people
    /// did, kept on the event and at the time edge (a manual clock), listed, exported as CSV,
    /// sized over time; a journey starts on entry; one in use cannot be deleted.
    #[tokio::test]
    async fn segments_are_defined_filled_kept_listed_exported_and_start_journeys() {
        let api = Api::new().await;
        api.admin("PUT", "/api/templates/winback", json!({"subject": "We miss you", "text": "Come back"})).await;
        for (who, email) in [("ann", "ann@x.test"), ("bob", "=bob@x.test")] {
            api.ingest("identify", json!({"userId": who, "traits": {"email": email}}).to_string()).await;
        }
        api.ingest("track", json!({"userId": "ann", "event": "Order Completed"}).to_string()).await;

        // What a segment may not read, and references that do not resolve, are refused.
        let (status, out) = api.admin("PUT", "/api/segments/bad", json!({"condition": {"property": "path", "op": "exists"}})).await;
        assert_eq!((status, out["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("segment_invalid")), "{out}");
        assert_eq!(out["details"]["diagnostics"][0]["code"], json!("not_in_segment"));
        let (status, out) = api.admin("PUT", "/api/segments/bad", json!({"condition": {"segment": "ghost"}})).await;
        assert_eq!((status, &out["details"]["diagnostics"][0]["code"]), (StatusCode::UNPROCESSABLE_ENTITY, &json!("unknown_segment")));
        let (status, _) = api.admin("PUT", "/api/segments/Not%20An%20Id", json!({"condition": {"trait": "x", "op": "exists"}})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);

        let lapsed = json!({"name": "No order in 30 days", "condition": {"all": [{"trait": "email", "op": "exists"},
            {"history": {"event": "Order Completed", "within": "30d"}, "op": "eq", "value": 0}]}});
        let (status, out) = api.admin("PUT", "/api/segments/lapsed", lapsed.clone()).await;
        assert_eq!((status, &out["name"]), (StatusCode::CREATED, &json!("No order in 30 days")), "{out}");
        assert_eq!(api.admin("PUT", "/api/segments/lapsed", lapsed).await.0, StatusCode::OK, "replaced");
        // A journey on a segment that does not exist is not published; on one that does, it is.
        let doc = |segment: &str| {
            json!({"id": "winback", "entry": {"segment": segment, "on": "enter"},
            "steps": [{"id": "miss", "type": "send", "template": "winback"}]})
        };
        let (status, out) = api.admin("POST", "/api/journeys/winback/apply", json!({"document": doc("lapsd")})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{out}");
        assert!(out["details"]["diagnostics"].as_array().into_iter().flatten().any(|d| d["code"] == "unknown_segment"), "{out}");
        assert_eq!(api.admin("POST", "/api/journeys/winback/apply", json!({"document": doc("lapsed")})).await.0, StatusCode::OK);

        // The fill: bob never ordered.
        api.admin("POST", "/api/clock", json!({"advance": "1s"})).await;
        let (_, out) = api.admin("GET", "/api/segments/lapsed", Value::Null).await;
        assert_eq!((&out["size"], &out["fill"]), (&json!(1), &Value::Null), "{out}");
        let (_, out) = api.admin("GET", "/api/segments/lapsed/members", Value::Null).await;
        assert_eq!(out["members"][0]["person"]["identities"][0]["value"], json!("bob"), "{out}");
        let (_, bob) = api.admin("GET", "/api/profiles/lookup?user_id=bob", Value::Null).await;
        assert_eq!(bob["segments"], json!([{"id": "lapsed", "name": "No order in 30 days"}]), "the profile shows them");
        // A time edge: 30 days after her order, ann is in, and the journey emails her.
        api.admin("POST", "/api/clock", json!({"advance": "30d"})).await;
        api.admin("POST", "/api/clock", json!({"advance": "2m"})).await;
        let (_, out) = api.admin("GET", "/api/segments", Value::Null).await;
        assert_eq!((&out["segments"][0]["id"], &out["segments"][0]["size"]), (&json!("lapsed"), &json!(2)), "{out}");
        let (_, out) = api.admin("GET", "/api/messages?limit=5", Value::Null).await;
        let to: Vec<&str> = out["messages"].as_array().into_iter().flatten().filter_map(|m| m["to"].as_str()).collect();
        assert_eq!(to, ["ann@x.test"], "the journey started on her entry (bob's, at the fill, came before it was published)");
        // An order takes her out at once.
        api.ingest("track", json!({"userId": "ann", "event": "Order Completed"}).to_string()).await;
        let (_, out) = api.admin("GET", "/api/segments/lapsed/members?limit=1", Value::Null).await;
        assert_eq!((out["members"].as_array().map(Vec::len), &out["next_cursor"]), (Some(1), &Value::Null), "{out}");

        // CSV: a spreadsheet never reads an address as a formula.
        let req = Request::get("/api/segments/lapsed/members.csv").header("authorization", format!("Bearer {TOKEN}")).body(Body::empty());
        let res = api.router.clone().oneshot(req.expect("request")).await.expect("answer");
        assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
        let body = axum::body::to_bytes(res.into_body(), 1 << 20).await.expect("body");
        let text = String::from_utf8_lossy(&body);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "profile_id,user_id,email,since");
        assert!(lines[1].contains(",bob,'=bob@x.test,"), "{text}");
        assert_eq!(lines.len(), 2);

        // Size over time: ann's entry and exit today, bob's on the first day.
        let (_, out) = api.admin("GET", "/api/segments/lapsed/sizes?days=31", Value::Null).await;
        let days = out["days"].as_array().expect("days");
        assert_eq!(days.len(), 31);
        assert_eq!((&days[30]["size"], &days[30]["entered"], &days[30]["exited"]), (&json!(1), &json!(1), &json!(1)), "{out}");
        assert_eq!((&days[0]["size"], &days[0]["entered"]), (&json!(1), &json!(1)), "{out}");

        // In use by a published journey: kept. Once the journey is stopped, it can go.
        let (status, out) = api.admin("DELETE", "/api/segments/lapsed", Value::Null).await;
        assert_eq!((status, out["code"].as_str()), (StatusCode::CONFLICT, Some("conflict")), "{out}");
        api.admin("POST", "/api/journeys/winback/stop", Value::Null).await;
        let (status, _) = api.admin("DELETE", "/api/segments/lapsed", Value::Null).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert_eq!(api.admin("GET", "/api/segments/lapsed", Value::Null).await.0, StatusCode::NOT_FOUND);
    }

    /// Computed traits through the API: checked, filled from history, shown on the profile
    /// (and marked as computed), usable in a segment, deleted.
    #[tokio::test]
    async fn computed_traits_are_defined_filled_and_read_as_traits() {
        let api = Api::new().await;
        api.ingest("identify", json!({"userId": "ann", "traits": {"email": "ann@x.test"}}).to_string()).await;
        for total in [30, 45] {
            api.ingest("track", json!({"userId": "ann", "event": "Order Completed", "properties": {"total": total}}).to_string()).await;
        }
        let (status, out) =
            api.admin("PUT", "/api/computed-traits/spent", json!({"history": {"event": "Order Completed", "within": "entry"}})).await;
        assert_eq!((status, out["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("computed_trait_invalid")), "{out}");
        assert_eq!(out["details"]["diagnostics"][0]["path"], json!("/history/within"));
        // A trait Wayfarer writes itself (consent, the lifecycle stage) is not for a computed trait.
        for reserved in ["email_unsubscribed", "lifecycle_stage"] {
            let body = json!({"history": {"event": "Order Completed", "within": "90d"}});
            let (status, out) = api.admin("PUT", &format!("/api/computed-traits/{reserved}"), body).await;
            assert_eq!(
                (status, &out["details"]["diagnostics"][0]["code"]),
                (StatusCode::UNPROCESSABLE_ENTITY, &json!("reserved_trait")),
                "{out}"
            );
        }
        let body = json!({"name": "Spent in 90 days", "history": {"event": "Order Completed", "within": "90d", "aggregate": "sum", "property": "total"}});
        let (status, out) = api.admin("PUT", "/api/computed-traits/spent_90d", body).await;
        assert_eq!((status, &out["trait"], &out["label"]), (StatusCode::CREATED, &json!("spent_90d"), &json!("Spent in 90 days")), "{out}");
        api.admin("POST", "/api/clock", json!({"advance": "1s"})).await;
        let (_, ann) = api.admin("GET", "/api/profiles/lookup?user_id=ann", Value::Null).await;
        assert_eq!((&ann["traits"]["spent_90d"], &ann["computed_traits"]), (&json!(75), &json!(["spent_90d"])), "filled from history");
        // As a trait in a segment; a new order counts at once.
        let big = json!({"condition": {"trait": "spent_90d", "op": "gte", "value": 100}});
        assert_eq!(api.admin("PUT", "/api/segments/big", big).await.0, StatusCode::CREATED);
        api.admin("POST", "/api/clock", json!({"advance": "1s"})).await;
        api.ingest("track", json!({"userId": "ann", "event": "Order Completed", "properties": {"total": 25}}).to_string()).await;
        let (_, out) = api.admin("GET", "/api/segments/big", Value::Null).await;
        assert_eq!(out["size"], json!(1), "{out}");
        let (_, list) = api.admin("GET", "/api/computed-traits", Value::Null).await;
        assert_eq!(list["computed_traits"][0]["history"]["aggregate"], json!("sum"));
        // Not deleted while something reads it: it would keep its last values for ever.
        let (status, out) = api.admin("DELETE", "/api/computed-traits/spent_90d", Value::Null).await;
        assert_eq!((status, out["code"].as_str()), (StatusCode::CONFLICT, Some("conflict")), "{out}");
        assert!(out["message"].as_str().is_some_and(|m| m.contains("segment \"big\"")), "{out}");
        let doc = json!({"id": "vip", "entry": {"event": "Order Completed"},
            "steps": [{"id": "big", "type": "branch", "cases": [{"when": {"trait": "spent_90d", "op": "gte", "value": 100}, "next": null}]}]});
        assert_eq!(api.admin("POST", "/api/journeys/vip/apply", json!({"document": doc})).await.0, StatusCode::OK);
        assert_eq!(api.admin("DELETE", "/api/segments/big", Value::Null).await.0, StatusCode::NO_CONTENT);
        let (status, out) = api.admin("DELETE", "/api/computed-traits/spent_90d", Value::Null).await;
        assert!(status == StatusCode::CONFLICT && out["message"].as_str().is_some_and(|m| m.contains("journey \"vip\"")), "{out}");
        assert_eq!(api.admin("POST", "/api/journeys/vip/stop", Value::Null).await.0, StatusCode::OK);
        assert_eq!(api.admin("DELETE", "/api/computed-traits/spent_90d", Value::Null).await.0, StatusCode::NO_CONTENT);
        assert_eq!(api.admin("DELETE", "/api/computed-traits/spent_90d", Value::Null).await.0, StatusCode::NOT_FOUND);
    }

    /// Lifecycle stages through the API: checked (conditions as a segment's, segments that
    /// exist), filled, counted per stage, the moves between stages (for everyone or a segment's
    /// members), and each person's history of moves on their profile.
    #[tokio::test]
    async fn lifecycle_stages_are_defined_counted_and_mapped() {
        let api = Api::new().await;
        api.ingest("identify", json!({"userId": "ann", "traits": {"email": "ann@x.test"}}).to_string()).await;
        api.ingest("identify", json!({"userId": "bob", "traits": {"email": "bob@x.test"}}).to_string()).await;
        let lead = json!({"id": "lead", "name": "Lead", "condition": {"trait": "email", "op": "exists"}});
        let customer = json!({"id": "customer", "name": "Customer", "condition": {"history": {"event": "Order Completed", "within": "30d"}, "op": "gte", "value": 1}});
        let (status, out) =
            api.admin("PUT", "/api/lifecycle", json!({"stages": [lead, {"id": "x", "condition": {"segment": "ghost"}}]})).await;
        assert_eq!((status, out["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("lifecycle_invalid")), "{out}");
        assert_eq!(out["details"]["diagnostics"][0]["code"], json!("unknown_segment"));
        let (status, out) = api
            .admin(
                "PUT",
                "/api/lifecycle",
                json!({"stages": [lead, {"id": "x", "condition": {"clock": "time_of_day", "op": "gte", "value": "09:00"}}]}),
            )
            .await;
        assert_eq!(
            (status, &out["details"]["diagnostics"][0]["path"]),
            (StatusCode::UNPROCESSABLE_ENTITY, &json!("/stages/1/condition/clock"))
        );
        let (status, _) = api.admin("PUT", "/api/lifecycle", json!({"stages": [lead, customer]})).await;
        assert_eq!(status, StatusCode::OK);
        api.admin("POST", "/api/clock", json!({"advance": "1s"})).await;
        api.ingest("track", json!({"userId": "ann", "event": "Order Completed"}).to_string()).await;
        let (_, out) = api.admin("GET", "/api/lifecycle", Value::Null).await;
        let people: Vec<(String, i64)> = out["stages"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| (s["name"].as_str().unwrap_or("").to_owned(), s["people"].as_i64().unwrap_or(-1)))
            .collect();
        assert_eq!(people, [("Lead".to_owned(), 1), ("Customer".to_owned(), 1)]);
        let (_, out) = api.admin("GET", "/api/lifecycle/flows", Value::Null).await;
        assert_eq!(
            out["flows"],
            json!([{"from": null, "to": "lead", "people": 2}, {"from": "lead", "to": "customer", "people": 1}]),
            "{out}"
        );
        api.admin(
            "PUT",
            "/api/segments/buyers",
            json!({"condition": {"history": {"event": "Order Completed", "within": "90d"}, "op": "gte", "value": 1}}),
        )
        .await;
        api.admin("POST", "/api/clock", json!({"advance": "1s"})).await;
        let (_, out) = api.admin("GET", "/api/lifecycle/flows?segment=buyers", Value::Null).await;
        assert_eq!(
            out["flows"],
            json!([{"from": null, "to": "lead", "people": 1}, {"from": "lead", "to": "customer", "people": 1}]),
            "ann's only"
        );
        let (status, _) = api.admin("GET", "/api/lifecycle/flows?from=yesterday", Value::Null).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (_, ann) = api.admin("GET", "/api/profiles/lookup?user_id=ann", Value::Null).await;
        let moves: Vec<String> =
            ann["stage_history"].as_array().into_iter().flatten().map(|m| format!("{} -> {}", m["from"], m["to"])).collect();
        assert_eq!(
            (moves, &ann["traits"]["lifecycle_stage"]),
            (vec!["null -> \"lead\"".to_owned(), "\"lead\" -> \"customer\"".to_owned()], &json!("customer"))
        );
    }

    /// A journey's results: the holdout and the split's arms, recounted here from the runs the
    /// API lists (each with its control group, variant, conversion and revenue).
    #[tokio::test]
    async fn journey_results_add_up_to_the_runs() {
        let api = Api::new().await;
        let doc = json!({"id": "promo", "entry": {"event": "Signed Up", "holdout": 20}, "goal": {"event": "Order Completed"},
            "steps": [{"id": "abc", "type": "split", "paths": [{"name": "A", "weight": 50, "next": "w"}, {"name": "B", "weight": 50, "next": "w"}]},
                      {"id": "w", "type": "wait", "duration": "7d"}]});
        let (status, out) = api.admin("POST", "/api/journeys/promo/apply", json!({"document": doc})).await;
        assert_eq!(status, StatusCode::OK, "{out}");
        for i in 0..120 {
            api.ingest("track", json!({"userId": format!("u{i}"), "event": "Signed Up"}).to_string()).await;
            if i % 3 == 0 {
                api.ingest(
                    "track",
                    json!({"userId": format!("u{i}"), "event": "Order Completed", "properties": {"revenue": i}}).to_string(),
                )
                .await;
            }
        }
        let (_, runs) = api.admin("GET", "/api/journeys/promo/runs?limit=1000", Value::Null).await;
        let runs = runs["runs"].as_array().cloned().unwrap_or_default();
        assert_eq!(runs.len(), 120);
        let arm = |f: &dyn Fn(&Value) -> bool| {
            let mine: Vec<&Value> = runs.iter().filter(|r| f(r)).collect();
            let converted: Vec<&&Value> = mine.iter().filter(|r| !r["converted_at"].is_null()).collect();
            let revenue: f64 = converted.iter().filter_map(|r| r["revenue"].as_f64()).sum();
            (mine.len() as u64, converted.len() as u64, revenue)
        };
        let (_, out) = api.admin("GET", "/api/journeys/promo/results", Value::Null).await;
        assert_eq!((out["people"].as_u64(), out["converted"].as_u64()), (Some(120), Some(40)), "{out}");
        assert_eq!(out["revenue"].as_f64(), Some((0..120).filter(|i| i % 3 == 0).sum::<i64>() as f64));
        let shown = |e: &Value, name: &str| {
            let a = e["arms"].as_array().and_then(|arms| arms.iter().find(|a| a["name"] == name)).cloned().unwrap_or_default();
            (a["people"].as_u64().unwrap_or(0), a["converted"].as_u64().unwrap_or(0), a["revenue"].as_f64().unwrap_or(-1.0))
        };
        let holdout = &out["experiments"][0];
        assert_eq!(holdout["step"], json!("$holdout"));
        assert_eq!(shown(holdout, "control group"), arm(&|r| r["control_group"] == json!(true)));
        assert_eq!(shown(holdout, "journey"), arm(&|r| r["control_group"] == json!(false)));
        let split = &out["experiments"][1];
        assert_eq!(split["step"], json!("abc"));
        for v in ["A", "B"] {
            assert_eq!(shown(split, v), arm(&|r| r["control_group"] == json!(false) && r["assignments"]["abc"] == json!(v)), "{v}");
        }
        let words = split["comparisons"][0]["words"].as_str().unwrap_or("");
        assert!(words.starts_with("B ") && words.contains(" A"), "{words}");
        assert_eq!(api.admin("GET", "/api/journeys/nope/results", Value::Null).await.0, StatusCode::NOT_FOUND);
    }

    /// The funnel per content follows each message: sent, delivered (the provider's report),
    /// opened and clicked (its tracked links; twice counts once), converted (its run reached
    /// the goal after it); and the journey's counts over time add up to the same people.
    #[tokio::test]
    async fn the_funnel_per_content_and_the_counts_over_time_follow_each_message() {
        let api = Api::with(&[("WAYFARER_TRACKING_BASE_URL", "https://wf.acme.test/")]).await;
        let html = r#"<p><a href="https://shop.test/cart">Your cart</a></p>"#;
        api.admin("PUT", "/api/templates/offer", json!({"subject": "Your cart", "html": html, "text": "Your cart"})).await;
        api.admin("PUT", "/api/templates/reminder", json!({"subject": "Still there?", "text": "Still there?"})).await;
        let doc = json!({"id": "cart", "entry": {"event": "Cart Abandoned"}, "goal": {"event": "Order Completed", "exit": true},
            "steps": [{"id": "first", "type": "send", "template": "offer", "next": "later"},
                      {"id": "later", "type": "wait", "duration": "1d", "next": "second"},
                      {"id": "second", "type": "send", "template": "reminder", "next": "end"},
                      {"id": "end", "type": "wait", "duration": "7d"}]});
        let (status, out) = api.admin("POST", "/api/journeys/cart/apply", json!({"document": doc})).await;
        assert_eq!(status, StatusCode::OK, "{out}");
        for who in ["ann", "bob", "cy"] {
            api.ingest("identify", json!({"userId": who, "traits": {"email": format!("{who}@x.test")}}).to_string()).await;
            api.ingest("track", json!({"userId": who, "event": "Cart Abandoned"}).to_string()).await;
        }
        api.admin("POST", "/api/clock", json!({"advance": "1s"})).await;
        let (_, out) = api.admin("GET", "/api/messages?status=captured", Value::Null).await;
        let sent_to = |who: &str| {
            out["messages"].as_array().into_iter().flatten().find(|m| m["to"] == json!(format!("{who}@x.test"))).cloned().expect("sent")
        };
        let links = |who: &str| {
            let html = sent_to(who)["message"]["html"].as_str().expect("html").to_owned();
            let attr = |before: &str| html.split(before).nth(1).and_then(|s| s.split('"').next()).expect("a link").replace("&amp;", "&");
            (attr("<img src=\""), attr("href=\""))
        };
        let (ann_pixel, ann_click) = links("ann");
        let (bob_pixel, _) = links("bob");
        for url in [&ann_pixel, &ann_click, &ann_click, &bob_pixel, &bob_pixel] {
            let status = link(&api, "GET", url).await.0;
            assert!(status == StatusCode::OK || status == StatusCode::FOUND, "{status}");
        }
        let cy_key = sent_to("cy")["idempotency_key"].as_str().expect("key").to_owned();
        let delivery = json!({"type": "delivery", "email": "cy@x.test", "message_id": format!("<{cy_key}@wayfarer>")});
        assert_eq!(api.ingest("feedback/email", delivery.to_string()).await.0, StatusCode::OK);
        // Someone claiming an open by id from a source counts for nothing.
        let forged = json!({"userId": "cy", "event": "Email Opened", "properties": {"message_id": sent_to("cy")["id"]}});
        api.ingest("track", forged.to_string()).await;
        api.ingest("track", json!({"userId": "ann", "event": "Order Completed"}).to_string()).await;
        api.admin("POST", "/api/clock", json!({"advance": "1d"})).await;
        api.ingest("track", json!({"userId": "bob", "event": "Order Completed"}).to_string()).await;
        api.admin("POST", "/api/clock", json!({"advance": "1s"})).await;

        let (status, out) = api.admin("GET", "/api/journeys/cart/funnel", Value::Null).await;
        assert_eq!(status, StatusCode::OK, "{out}");
        let rows: Vec<String> = out["contents"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| {
                let n = |k: &str| c[k].as_i64().unwrap_or(-1).to_string();
                format!(
                    "{} {} {}: {}",
                    c["node"].as_str().unwrap_or(""),
                    c["template"].as_str().unwrap_or(""),
                    c["channel"].as_str().unwrap_or(""),
                    ["sent", "delivered", "opened", "clicked", "converted"].map(n).join("/")
                )
            })
            .collect();
        assert_eq!(rows, ["first offer email: 3/1/2/1/2", "second reminder email: 2/0/0/0/1"], "{out}");
        let (_, out) = api.admin("GET", "/api/journeys/cart/funnel?from=2030-01-02T00:00:00Z&to=2030-01-03T00:00:00Z", Value::Null).await;
        assert_eq!(
            out["contents"].as_array().map(|c| c.iter().map(|c| c["node"].clone()).collect::<Vec<_>>()),
            Some(vec![json!("second")]),
            "the messages made in the range: {out}"
        );
        assert_eq!(api.admin("GET", "/api/journeys/cart/funnel?from=2030-01-02T00:00:00Z", Value::Null).await.0, StatusCode::BAD_REQUEST);
        assert_eq!(api.admin("GET", "/api/journeys/nope/funnel", Value::Null).await.0, StatusCode::NOT_FOUND);

        // Counts by hour: everyone entered in the first hour, ann converted then, bob a day later.
        let (status, out) =
            api.admin("GET", "/api/journeys/cart/series?bucket=hour&from=2030-01-01T00:30:00Z&to=2030-01-02T01:00:00Z", Value::Null).await;
        assert_eq!(status, StatusCode::OK, "{out}");
        assert_eq!((&out["from"], &out["to"]), (&json!("2030-01-01T00:00:00.000Z"), &json!("2030-01-02T01:00:00.000Z")), "whole hours");
        let at = |key: &str| -> Vec<(usize, i64)> {
            out[key]
                .as_array()
                .into_iter()
                .flatten()
                .enumerate()
                .filter_map(|(i, v)| v.as_i64().filter(|n| *n > 0).map(|n| (i, n)))
                .collect()
        };
        assert_eq!(out["starts"].as_array().map(Vec::len), Some(25));
        assert_eq!((at("entered"), at("converted")), (vec![(0, 3)], vec![(0, 1), (24, 1)]), "{out}");
        assert_eq!(out["nodes"]["second"]["entered"][24], json!(2), "the reminders a day later: {out}");
        // By day (the default), over the last 30 days: the same people.
        let (_, out) = api.admin("GET", "/api/journeys/cart/series", Value::Null).await;
        let total = |key: &str| out[key].as_array().into_iter().flatten().filter_map(Value::as_i64).sum::<i64>();
        assert_eq!(
            (out["bucket"].as_str(), out["starts"].as_array().map(Vec::len), total("entered"), total("converted")),
            (Some("day"), Some(30), 3, 2)
        );
        assert_eq!(out["starts"][29], json!("2030-01-02T00:00:00.000Z"), "today last");
        assert_eq!(api.admin("GET", "/api/journeys/cart/series?bucket=week", Value::Null).await.0, StatusCode::BAD_REQUEST);
        let too_many = "/api/journeys/cart/series?bucket=hour&from=2030-01-01T00:00:00Z&to=2031-01-01T00:00:00Z";
        assert_eq!(api.admin("GET", too_many, Value::Null).await.0, StatusCode::BAD_REQUEST);
        assert_eq!(api.admin("GET", "/api/journeys/nope/series", Value::Null).await.0, StatusCode::NOT_FOUND);
    }

    /// Consent is checked when a message is sent, not only when it was decided: a marketing
    /// email waiting for a retry when the person unsubscribes is not sent.
    #[tokio::test]
    async fn an_unsubscribe_stops_marketing_email_already_queued() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port().to_string();
        let api = Api::with(&[
            ("WAYFARER_SMTP_HOST", "127.0.0.1"),
            ("WAYFARER_SMTP_PORT", closed.as_str()),
            ("WAYFARER_SMTP_TLS", "none"),
            ("WAYFARER_DELIVERY_EMAIL_CAP", "5"),
        ])
        .await;
        let (_, channels) = api.admin("GET", "/api/channels", Value::Null).await;
        assert_eq!(channels["channels"][0]["frequency_cap"], json!("at most 5 marketing messages to a person in 7d"), "{channels}");
        api.admin("PUT", "/api/templates/offer", json!({"subject": "An offer", "text": "An offer"})).await;
        let doc = json!({"id": "offer", "entry": {"event": "Signed Up"}, "steps": [{"id": "first", "type": "send", "template": "offer"}]});
        api.admin("POST", "/api/journeys", doc).await;
        api.admin("POST", "/api/journeys/offer/publish", Value::Null).await;
        api.ingest("identify", json!({"userId": "ann", "traits": {"email": "ann@x.test"}}).to_string()).await;
        api.ingest("track", json!({"userId": "ann", "event": "Signed Up"}).to_string()).await;
        api.admin("POST", "/api/clock", json!({"advance": "1s"})).await;
        let (_, out) = api.admin("GET", "/api/messages?status=pending", Value::Null).await;
        assert!(out["messages"][0]["last_error"].as_str().is_some_and(|e| e.contains("smtp")), "queued for a retry: {out}");
        // Unsubscribed by an identify this time (as a preference centre elsewhere would).
        api.ingest("identify", json!({"userId": "ann", "traits": {"email_unsubscribed": true}}).to_string()).await;
        api.admin("POST", "/api/clock", json!({"advance": "1h"})).await;
        let (_, out) = api.admin("GET", "/api/messages", Value::Null).await;
        let m = &out["messages"][0];
        assert_eq!((&m["status"], &m["attempts"]), (&json!("suppressed"), &json!(2)), "{out}");
        assert!(m["last_error"].as_str().is_some_and(|e| e.contains("unsubscribed from marketing email")), "{out}");
    }

    #[tokio::test]
    async fn captured_email_is_listed_as_not_delivered_with_the_person_timeline() {
        let api = Api::new().await;
        api.admin("PUT", "/api/templates/welcome", json!({"subject": "Welcome {{ traits.firstName }}", "text": "Hi"})).await;
        api.admin(
            "POST",
            "/api/journeys",
            json!({"id": "welcome", "entry": {"event": "Signed Up"}, "steps": [{"id": "hi", "type": "send", "template": "welcome"}]}),
        )
        .await;
        assert_eq!(api.admin("POST", "/api/journeys/welcome/publish", Value::Null).await.0, StatusCode::OK);
        api.ingest("identify", json!({"userId": "ann", "traits": {"firstName": "Ann", "email": "ann@x.test"}}).to_string()).await;
        api.ingest("track", json!({"userId": "ann", "event": "Signed Up"}).to_string()).await;
        let (_, clock) = api.admin("POST", "/api/clock", json!({"advance": "1s"})).await;
        assert_eq!(clock["now"], json!("2030-01-01T00:00:01.000Z"));
        let (_, out) = api.admin("GET", "/api/messages?status=captured", Value::Null).await;
        let m = &out["messages"][0];
        assert_eq!(
            (m["delivered"].clone(), m["to"].clone(), m["message"]["subject"].clone()),
            (json!(false), json!("ann@x.test"), json!("Welcome Ann"))
        );
        // The capture shows the configured sender (`smtp.from`), as a sent email would have.
        assert_eq!((&m["message"]["from"], &m["message"]["to"]), (&json!("Acme <hello@acme.test>"), &json!("ann@x.test")));
        assert!(m["note"].as_str().unwrap_or("").contains("NOT delivered"));
        let (_, person) = api.admin("GET", "/api/profiles/lookup?user_id=ann", Value::Null).await;
        let names: Vec<&str> = person["events"].as_array().into_iter().flatten().filter_map(|e| e["name"].as_str()).collect();
        assert_eq!(names, ["Email Sent", "Signed Up", "Identify"], "newest first: the capture comes back as an event");
        assert_eq!(person["journeys"][0]["trace"][0]["lines"], json!(["entered on Signed Up", "hi: send email welcome", "completed"]));
        assert_eq!(person["journeys"][0]["trace"][1]["lines"], json!(["hi: message delivered (captured)"]), "and its trace says so");
        assert_eq!(person["messages"][0]["status"], json!("captured"));
        // The channels say where they send, their queues' limits, and that nothing waits.
        let (status, out) = api.admin("GET", "/api/channels", Value::Null).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            out["channels"],
            json!([
                {"name": "email", "detail": "no SMTP server: emails are rendered and kept (captured), not sent", "concurrency": 16, "rate_per_sec": 0.0, "pending": 0},
                {"name": "webhook", "detail": "the URL each step names; not signed (no webhook.secret); private addresses refused",
                    "concurrency": 16, "rate_per_sec": 0.0, "pending": 0},
                {"name": "sms", "detail": "no SMS provider: text messages are rendered and kept (captured), not sent",
                    "concurrency": 16, "rate_per_sec": 0.0, "pending": 0},
                {"name": "push", "detail": "no push provider: notifications are rendered and kept (captured), not sent",
                    "concurrency": 16, "rate_per_sec": 0.0, "pending": 0},
                {"name": "in_app", "detail": "kept for each person's next visit to the website or app (/v1/decide, /v1/in-app/stream)",
                    "concurrency": 16, "rate_per_sec": 0.0, "pending": 0},
                {"name": "task", "detail": "tasks for people, in the inbox of their assignee or team (/api/tasks)",
                    "concurrency": 16, "rate_per_sec": 0.0, "pending": 0}
            ])
        );
    }

    /// The person page draws each run on its journey: its trace is data as well as text,
    /// each line with its step and kind, and a decision with its comparisons and the values
    /// seen (`/api/profiles/{id}/journeys` and `/api/profiles/lookup` alike).
    #[tokio::test]
    async fn traces_show_the_path_and_each_decision_with_the_values_seen() {
        let api = Api::new().await;
        api.admin("PUT", "/api/templates/hi", json!({"subject": "Hi", "text": "x"})).await;
        let views = json!({"history": {"event": "Page Viewed", "within": "7d"}, "op": "gte", "value": 2});
        let journey = json!({"id": "upsell", "entry": {"event": "Signed Up"}, "steps": [
            {"id": "pro-yet", "type": "branch", "cases": [
                {"when": {"all": [{"trait": "plan", "op": "eq", "value": "pro"}, views]}, "next": "done"},
                {"when": views, "next": "done"}
            ], "else": "nudge"},
            {"id": "nudge", "type": "send", "template": "hi"},
            {"id": "done", "type": "exit"}
        ]});
        assert_eq!(api.admin("POST", "/api/journeys", journey).await.0, StatusCode::CREATED);
        let (status, out) = api.admin("POST", "/api/journeys/upsell/publish", Value::Null).await;
        assert_eq!(status, StatusCode::OK, "{out}");
        api.ingest("identify", json!({"userId": "fay", "traits": {"plan": "free", "email": "fay@x.test"}}).to_string()).await;
        api.ingest("track", json!({"userId": "fay", "event": "Page Viewed"}).to_string()).await;
        api.ingest("track", json!({"userId": "fay", "event": "Signed Up"}).to_string()).await;
        api.admin("POST", "/api/clock", json!({"advance": "1s"})).await;
        let (status, person) = api.admin("GET", "/api/profiles/lookup?user_id=fay", Value::Null).await;
        assert_eq!(status, StatusCode::OK, "{person}");
        let id = person["id"].as_i64().expect("profile id");
        let (status, mine) = api.admin("GET", &format!("/api/profiles/{id}/journeys"), Value::Null).await;
        assert_eq!(status, StatusCode::OK, "{mine}");
        let upsell = mine["journeys"].as_array().into_iter().flatten().find(|j| j["journey"] == "upsell").expect("the journey");
        for run in [&person["journeys"][0], &upsell["runs"][0]] {
            let first = &run["trace"][0];
            let steps = first["steps"].as_array().expect("steps");
            assert_eq!(first["lines"], json!(steps.iter().map(|s| s["text"].clone()).collect::<Vec<_>>()), "the same lines as text");
            assert_eq!(
                steps[1],
                json!({"node": "pro-yet", "kind": "case",
                       "text": "pro-yet: case 0 false [trait plan = \"free\" eq \"pro\" -> false]",
                       "checks": [{"subject": "trait plan", "seen": "free", "op": "eq", "expected": "pro", "reference": null,
                                   "result": false, "note": null, "text": "trait plan = \"free\" eq \"pro\" -> false"}]}),
                "{run}"
            );
            assert_eq!(
                steps[2]["checks"],
                json!([{"subject": "count(\"Page Viewed\" in 7d)", "seen": 1, "op": "gte", "expected": 2, "reference": null,
                        "result": false, "note": null, "text": "count(\"Page Viewed\" in 7d) = 1 gte 2 -> false"}])
            );
            let kinds: Vec<(&Value, &str)> = steps.iter().map(|s| (&s["node"], s["kind"].as_str().unwrap_or(""))).collect();
            assert_eq!(
                kinds,
                [
                    (&Value::Null, "entered"),
                    (&json!("pro-yet"), "case"),
                    (&json!("pro-yet"), "case"),
                    (&json!("pro-yet"), "else"),
                    (&json!("nudge"), "send"),
                    (&Value::Null, "completed")
                ]
            );
            // The path: the steps the lines are about, in order.
            let mut path: Vec<&str> = steps.iter().filter_map(|s| s["node"].as_str()).collect();
            path.dedup();
            assert_eq!(path, ["pro-yet", "nudge"]);
            // The message's outcome comes back as a transition of its own, about the send.
            assert_eq!(run["trace"][1]["steps"][0]["node"], json!("nudge"));
            assert_eq!(run["trace"][1]["steps"][0]["kind"], json!("outcome"));
        }
    }

    /// Every admin route, as the product has them. A route added to the router is in the
    /// OpenAPI document (`routes!` puts it there); this list must name it too.
    const ROUTES: [&str; 68] = [
        "GET /api/audit",
        "GET /api/me/tokens",
        "POST /api/me/tokens",
        "DELETE /api/me/tokens/{id}",
        "GET /api/session",
        "POST /api/session",
        "DELETE /api/session",
        "GET /api/users",
        "POST /api/users",
        "GET /api/users/{id}",
        "PUT /api/users/{id}",
        "DELETE /api/users/{id}",
        "GET /api/clock",
        "POST /api/clock",
        "GET /api/dead-letters",
        "POST /api/dead-letters/{id}/replay",
        "GET /api/journeys",
        "POST /api/journeys",
        "POST /api/journeys/backtest",
        "POST /api/journeys/validate",
        "GET /api/journeys/{id}",
        "PUT /api/journeys/{id}",
        "POST /api/journeys/{id}/apply",
        "GET /api/journeys/{id}/counts",
        "POST /api/journeys/{id}/enter",
        "POST /api/journeys/{id}/messages/retry",
        "POST /api/journeys/{id}/pause",
        "POST /api/journeys/{id}/publish",
        "POST /api/journeys/{id}/resume",
        "GET /api/journeys/{id}/runs",
        "POST /api/journeys/{id}/stop",
        "GET /api/journeys/{id}/versions",
        "GET /api/names",
        "POST /api/template-preview",
        "GET /api/messages",
        "POST /api/messages/{id}/retry",
        "GET /api/channels",
        "GET /api/profiles",
        "GET /api/profiles/lookup",
        "GET /api/profiles/{id}",
        "GET /api/profiles/{id}/journeys",
        "GET /api/sources",
        "POST /api/sources",
        "GET /api/templates",
        "GET /api/templates/{id}",
        "GET /api/assets",
        "POST /api/assets",
        "GET /api/tasks",
        "GET /api/tasks/{id}",
        "POST /api/tasks/{id}/complete",
        "POST /api/tasks/{id}/decline",
        "PUT /api/templates/{id}",
        "GET /api/segments",
        "GET /api/segments/{id}",
        "PUT /api/segments/{id}",
        "DELETE /api/segments/{id}",
        "GET /api/segments/{id}/members",
        "GET /api/segments/{id}/members.csv",
        "GET /api/segments/{id}/sizes",
        "GET /api/computed-traits",
        "PUT /api/computed-traits/{trait}",
        "DELETE /api/computed-traits/{trait}",
        "GET /api/lifecycle",
        "PUT /api/lifecycle",
        "GET /api/lifecycle/flows",
        "GET /api/journeys/{id}/results",
        "GET /api/journeys/{id}/series",
        "GET /api/journeys/{id}/funnel",
    ];

    /// The document is served without a token (it holds no data), is OpenAPI 3.1, and equals
    /// the committed `web/openapi.json` that the web interface's types are generated from
    /// (`UPDATE_EXPECT=1` rewrites it).
    #[tokio::test]
    async fn the_openapi_document_is_served_and_committed() {
        let api = Api::new().await;
        let (status, doc) = api.call(Request::get("/api/openapi.json").body(Body::empty()).expect("req")).await;
        assert_eq!((status, doc["openapi"].as_str()), (StatusCode::OK, Some("3.1.0")));
        assert_eq!(doc, serde_json::to_value(server::openapi::document()).expect("json"));
        let pretty = serde_json::to_string_pretty(&doc).expect("json") + "\n";
        expect_test::expect_file!["../../../web/openapi.json"].assert_eq(&pretty);
    }

    /// The document's schema (component `Journey` and what it names, from which the web
    /// interface's types for the document are generated) has, for each kind of object, exactly
    /// the keys the parser reads.
    #[test]
    fn the_journey_schema_has_the_keys_the_parser_reads() {
        let doc = serde_json::to_value(server::openapi::document()).expect("json");
        let schemas = &doc["components"]["schemas"];
        let kinds = domain::journey::schema();
        assert_eq!(kinds.len(), server::document::KINDS.len(), "every kind has a component");
        for (kind, keys) in kinds {
            let (_, name) = server::document::KINDS.iter().find(|(k, _)| *k == kind).unwrap_or_else(|| panic!("no component for {kind}"));
            let props: std::collections::BTreeSet<&str> = schemas[name]["properties"]
                .as_object()
                .unwrap_or_else(|| panic!("{name}: {}", schemas[name]))
                .keys()
                .map(String::as_str)
                .collect();
            let expected: std::collections::BTreeSet<&str> = keys.iter().copied().collect();
            assert_eq!(props, expected, "{kind} ({name})");
        }
        let steps = schemas["Step"]["oneOf"].as_array().map_or(0, Vec::len);
        assert_eq!(steps, 9, "each step type is one of `Step`");
        // The comparison operators: the schema's enum is the parser's list.
        let documented: std::collections::BTreeSet<&str> =
            schemas["Operator"]["enum"].as_array().expect("Operator is an enum").iter().filter_map(Value::as_str).collect();
        let parsed: std::collections::BTreeSet<&str> = domain::condition::operators().collect();
        assert_eq!(documented, parsed, "the Operator component lists exactly the operators conditions take");
    }

    /// Each documented operation reaches its handler, every other method on a documented path
    /// is 405, and the documented operations are exactly `ROUTES`.
    #[tokio::test]
    async fn every_route_is_in_the_openapi_document_and_nothing_else_answers() {
        let api = Api::new().await;
        let doc = serde_json::to_value(server::openapi::document()).expect("json");
        let mut documented = std::collections::BTreeSet::new();
        for (path, item) in doc["paths"].as_object().expect("paths") {
            let concrete = path.replace("{id}", "1");
            for method in ["GET", "PUT", "POST", "DELETE", "PATCH"] {
                let (status, out) = api.admin(method, &concrete, Value::Null).await;
                if item.get(method.to_lowercase()).is_some() {
                    documented.insert(format!("{method} {path}"));
                    assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}: {out}");
                    assert_ne!(out["message"], json!("no such admin endpoint"), "{method} {path}");
                    let responses = item[method.to_lowercase()]["responses"].as_object().expect("responses");
                    assert!(
                        responses.contains_key(status.as_str()),
                        "{method} {concrete} answered {status}, which is not documented: {out}"
                    );
                } else {
                    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path} is not documented, so it must not answer: {out}");
                }
            }
        }
        assert_eq!(documented, ROUTES.iter().map(|r| r.to_string()).collect(), "the document has exactly the product's routes");
        let components = doc["components"]["schemas"].as_object().expect("schemas");
        for name in ["ErrorBody", "JourneyView", "RunsPage", "ProfileView", "MessagesPage", "BacktestResponse"] {
            assert!(components.contains_key(name), "{name} is a component");
        }
    }

    /// The counts the canvas draws, per node, kept by the engine as runs move; the journeys
    /// list sums them.
    #[tokio::test]
    async fn journey_counts_follow_the_runs_node_by_node() {
        let api = Api::new().await;
        api.admin("PUT", "/api/templates/hi", json!({"subject": "Hi", "text": "x"})).await;
        let doc = json!({"id": "manual", "entry": {"api": true}, "steps": [{"id": "hi", "type": "send", "template": "hi", "next": "w"},
            {"id": "w", "type": "wait", "duration": "1d"}]});
        api.admin("POST", "/api/journeys", doc).await;
        api.admin("POST", "/api/journeys/manual/publish", Value::Null).await;
        for user in ["ann", "bob"] {
            api.ingest("identify", json!({"userId": user, "traits": {"email": format!("{user}@x.test")}}).to_string()).await;
            api.admin("POST", "/api/journeys/manual/enter", json!({"user_id": user})).await;
        }
        let counts = |out: &Value| {
            out["nodes"]
                .as_object()
                .expect("nodes")
                .iter()
                .map(|(node, c)| format!("{node}: {} {} {} {} {}", c["entered"], c["passed"], c["exited"], c["converted"], c["waiting"]))
                .collect::<Vec<_>>()
        };
        let (status, out) = api.admin("GET", "/api/journeys/manual/counts", Value::Null).await;
        assert_eq!(status, StatusCode::OK, "{out}");
        assert_eq!(counts(&out), ["$entry: 2 2 0 0 0", "hi: 2 2 0 0 0", "w: 2 0 0 0 2"], "entered passed exited converted waiting");
        assert_eq!((out["from"].as_str(), out["to"].as_str()), (Some("2029-12-25T01:00:00.000Z"), Some("2030-01-01T01:00:00.000Z")));
        let (_, list) = api.admin("GET", "/api/journeys", Value::Null).await;
        let j = &list["journeys"][0];
        assert_eq!((&j["waiting"], &j["entered_7d"], &j["converted_7d"]), (&json!(2), &json!(2), &json!(0)));
        api.admin("POST", "/api/clock", json!({"advance": "1d"})).await;
        let (_, out) = api.admin("GET", "/api/journeys/manual/counts", Value::Null).await;
        assert_eq!(counts(&out), ["$entry: 2 2 0 0 0", "hi: 2 2 0 0 0", "w: 2 0 2 0 0"], "the wait is over: they ended there");
        let (_, out) = api.admin("GET", "/api/journeys/manual/counts?from=2030-01-03T00:00:00Z&to=2030-01-04T00:00:00Z", Value::Null).await;
        assert_eq!(counts(&out), Vec::<String>::new(), "nothing happened in that period");
        let (status, _) = api.admin("GET", "/api/journeys/manual/counts?from=2030-01-03T00:00:00Z", Value::Null).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "both ends or neither");
        assert_eq!(api.admin("GET", "/api/journeys/nope/counts", Value::Null).await.0, StatusCode::NOT_FOUND);
    }

    /// A template rendered for a person, part by part, as a send would; a part that does not
    /// render says why.
    #[tokio::test]
    async fn templates_preview_for_a_person_and_names_list_what_the_data_has() {
        let api = Api::new().await;
        api.ingest("identify", json!({"userId": "ann", "traits": {"firstName": "Ann <3"}}).to_string()).await;
        api.ingest("track", json!({"userId": "ann", "event": "Product Viewed", "properties": {"sku": "A1"}}).to_string()).await;
        let (_, person) = api.admin("GET", "/api/profiles/lookup?user_id=ann", Value::Null).await;
        let template = json!({"subject": "Hi {{ traits.firstName }}", "html": "<p>{{ traits.firstName }} saw {{ event.sku }}</p>",
            "text": "{{ traits.lastName }}"});
        let (status, out) = api.admin("POST", "/api/template-preview", json!({"template": template, "profile_id": person["id"]})).await;
        assert_eq!(status, StatusCode::OK, "{out}");
        assert_eq!(out["subject"], json!({"rendered": "Hi Ann <3", "error": null}));
        assert_eq!(out["html"]["rendered"], json!("<p>Ann &lt;3 saw A1</p>"), "escaped as sent; the latest track event by default");
        assert!(out["text"]["error"].as_str().is_some_and(|e| e.contains("lastName")), "{out}");
        assert_eq!(out["context"]["event_name"], json!("Product Viewed"));
        assert_eq!((&out["sms"], &out["sms_segments"]), (&json!({"rendered": "", "error": null}), &json!(0)), "no SMS text");
        let sms = json!({"sms": "{{ traits.firstName }}: {{ event.sku }} is back in stock. Reply STOP to stop."});
        let (_, out) = api.admin("POST", "/api/template-preview", json!({"template": sms, "profile_id": person["id"]})).await;
        assert_eq!(
            (&out["sms"]["rendered"], &out["sms_segments"]),
            (&json!("Ann <3: A1 is back in stock. Reply STOP to stop."), &json!(1)),
            "not escaped"
        );
        let long = json!({"sms": "{{ traits.firstName }} ł".repeat(20)});
        let (_, out) = api.admin("POST", "/api/template-preview", json!({"template": long, "profile_id": person["id"]})).await;
        assert_eq!(out["sms_segments"], json!(3), "180 characters outside the GSM set: 67 per part");
        let push = json!({"push": {"title": "{{ traits.firstName }}", "body": "{{ event.sku }} is back", "link": "https://s.test/{{ event.sku }}", "image": "{{ nope }}"}});
        let (_, out) = api.admin("POST", "/api/template-preview", json!({"template": push, "profile_id": person["id"]})).await;
        assert_eq!(
            (&out["push"]["title"]["rendered"], &out["push"]["body"]["rendered"], &out["push"]["link"]["rendered"]),
            (&json!("Ann <3"), &json!("A1 is back"), &json!("https://s.test/A1"))
        );
        assert!(out["push"]["image"]["error"].as_str().is_some_and(|e| e.contains("nope")), "{out}");
        let (_, out) =
            api.admin("POST", "/api/template-preview", json!({"template": {"subject": "{{ event.sku }}"}, "event": {"sku": "B2"}})).await;
        assert_eq!(out["subject"]["rendered"], json!("B2"), "an event given; nobody's traits");
        let (status, _) = api.admin("POST", "/api/template-preview", json!({"template": {"subject": "x"}, "profile_id": 999})).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let nested = json!({"userId": "ann", "event": "Order Completed", "properties": {"total": 5, "cart": {"id": "c1", "items": [{"sku": "A1"}]}}});
        api.ingest("track", nested.to_string()).await;
        let (_, names) = api.admin("GET", "/api/names", Value::Null).await;
        assert_eq!(
            (&names["events"], &names["traits"]),
            (&json!(["Identify", "Order Completed", "Product Viewed"]), &json!(["firstName"])),
            "{names}"
        );
        assert_eq!(
            names["properties"],
            json!({"Order Completed": ["cart", "cart.id", "cart.items", "total"], "Product Viewed": ["sku"]}),
            "sorted paths by event, nested objects dotted, arrays not descended; an event without properties is absent"
        );
        assert!(names["template_variables"].as_array().is_some_and(|v| v.contains(&json!("traits"))));
    }

    /// The web interface is in the binary: `/` and every page route answer `index.html`, the
    /// assets it names are served with their types and cached for good, and what is not a page
    /// stays a JSON error.
    #[tokio::test]
    async fn the_web_interface_is_served_from_the_binary() {
        let api = Api::new().await;
        let get = |path: &str| Request::get(path.to_owned()).body(Body::empty()).expect("req");
        let raw = |req: Request<Body>| {
            let router = api.router.clone();
            async move {
                let resp = router.oneshot(req).await.expect("response");
                let headers = resp.headers().clone();
                let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.expect("body");
                (headers, String::from_utf8_lossy(&bytes).into_owned())
            }
        };
        let (headers, index) = raw(get("/")).await;
        assert!(index.contains("<div id=\"root\">"), "{index}");
        assert_eq!(headers["content-type"], "text/html");
        assert_eq!(headers["cache-control"], "no-cache");
        assert!(
            headers["content-security-policy"].to_str().expect("csp").contains("default-src 'self'"),
            "the page may load only from here"
        );
        let (_, page) = raw(get("/journeys/onboarding")).await;
        assert_eq!(page, index, "a page route gets the page, which routes itself");
        let assets: Vec<&str> = index.split('"').filter(|s| s.starts_with("/assets/")).collect();
        assert!(assets.iter().any(|a| a.ends_with(".js")) && assets.iter().any(|a| a.ends_with(".css")), "{assets:?}");
        for asset in assets {
            let (headers, body) = raw(get(asset)).await;
            assert!(!body.is_empty(), "{asset}");
            let kind = headers["content-type"].to_str().expect("type");
            assert!(kind == "text/javascript" || kind == "text/css", "{asset}: {kind}");
            assert_eq!(headers["cache-control"], "public, max-age=31536000, immutable");
        }
        let (status, out) = api.call(get("/assets/nope.js")).await;
        assert_eq!((status, out["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
        let (status, out) = api.call(Request::post("/somewhere").body(Body::empty()).expect("req")).await;
        assert_eq!((status, out["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")), "only GET gets the page");
        let (status, out) = api.call(get("/api/nope")).await;
        assert_eq!((status, out["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")), "the API stays the API");
        let (status, out) = api.admin("GET", "/api/nope", Value::Null).await;
        assert_eq!((status, out["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
    }

    /// Lists come a page at a time: `next_cursor` until the last page, which has none.
    #[tokio::test]
    async fn runs_people_and_messages_are_listed_a_page_at_a_time() {
        let api = Api::new().await;
        api.admin("PUT", "/api/templates/hi", json!({"subject": "Hi", "text": "x"})).await;
        let doc = json!({"id": "manual", "entry": {"api": true}, "steps": [{"id": "hi", "type": "send", "template": "hi", "next": "w"},
            {"id": "w", "type": "wait", "duration": "1d"}]});
        api.admin("POST", "/api/journeys", doc).await;
        api.admin("POST", "/api/journeys/manual/publish", Value::Null).await;
        for user in ["ann", "anna", "bob"] {
            api.ingest("identify", json!({"userId": user, "traits": {"email": format!("{user}@x.test")}}).to_string()).await;
            let (status, out) = api.admin("POST", "/api/journeys/manual/enter", json!({"user_id": user})).await;
            assert_eq!((status, &out["entered"]), (StatusCode::OK, &json!(true)), "{out}");
        }
        api.admin("POST", "/api/clock", json!({"advance": "1s"})).await;
        // Follows `next_cursor` from `first` to the end; the pages' items by `field`.
        let pages = |first: String, list: &'static str, field: &'static str| {
            let api = &api;
            async move {
                let mut all = Vec::new();
                let mut url = first.clone();
                loop {
                    let (status, out) = api.admin("GET", &url, Value::Null).await;
                    assert_eq!(status, StatusCode::OK, "{url}: {out}");
                    all.push(out[list].as_array().expect("items").iter().map(|i| i[field].clone()).collect::<Vec<_>>());
                    match out["next_cursor"].as_str() {
                        Some(c) => url = format!("{first}&cursor={c}"),
                        None => return all,
                    }
                }
            }
        };
        let runs = pages("/api/journeys/manual/runs?limit=2".into(), "runs", "profile_id").await;
        assert_eq!(runs.iter().map(Vec::len).collect::<Vec<_>>(), [2, 1], "{runs:?}");
        let people = pages("/api/profiles?q=ann&limit=1".into(), "profiles", "identities").await;
        let names: Vec<Value> = people.iter().flatten().map(|ids| ids[0]["value"].clone()).collect();
        assert_eq!(names, [json!("ann"), json!("anna")], "the people whose identity starts with ann, one per page");
        let everyone = pages("/api/profiles?limit=2".into(), "profiles", "id").await;
        assert_eq!(everyone.iter().map(Vec::len).collect::<Vec<_>>(), [2, 1], "three people, two a page");
        let messages = pages("/api/messages?limit=2".into(), "messages", "to").await;
        let to: Vec<Value> = messages.into_iter().flatten().collect();
        assert_eq!(to, [json!("bob@x.test"), json!("anna@x.test"), json!("ann@x.test")], "newest first, across pages");
        let (status, out) = api.admin("GET", "/api/messages?cursor=nonsense", Value::Null).await;
        assert_eq!((status, out["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_request")));
        let (status, _) = api.admin("GET", "/api/journeys/nope/runs", Value::Null).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }

    /// Slugs whose byte order is not a natural-language collation's (which skips `-` and `_`).
    const PAGED: [&str; 6] = ["b", "a-c", "ab", "a_b", "a0", "a"];
    /// `PAGED` in byte order.
    const PAGED_BYTES: [&str; 6] = ["a", "a-c", "a0", "a_b", "ab", "b"];

    fn flat(pages: &[Vec<Value>]) -> Vec<&str> {
        pages.iter().flatten().map(|v| v.as_str().expect("a string")).collect()
    }

    #[tokio::test]
    async fn journeys_are_listed_a_page_at_a_time_by_id() {
        let api = Api::new().await;
        for id in PAGED {
            let doc = json!({"id": id, "name": format!("Journey {id}"), "entry": {"api": true},
                "steps": [{"id": "w", "type": "wait", "duration": "1d"}]});
            assert_eq!(api.admin("POST", "/api/journeys", doc).await.0, StatusCode::CREATED, "{id}");
        }
        assert_eq!(api.admin("POST", "/api/journeys/ab/publish", Value::Null).await.0, StatusCode::OK);
        assert_eq!(api.admin("POST", "/api/journeys/ab/enter", json!({"user_id": "ann"})).await.0, StatusCode::OK);
        let pages = api.walk("/api/journeys", 4, "journeys", "id").await;
        assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [4, 2]);
        assert_eq!(flat(&pages), PAGED_BYTES, "every journey once, by id in byte order");
        let pages = api.walk("/api/journeys", 3, "journeys", "id").await;
        assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [3, 3], "a full last page has no next one");
        assert_eq!(flat(&pages), PAGED_BYTES);
        let (_, page) = api.admin("GET", "/api/journeys?limit=2&cursor=a0", Value::Null).await;
        assert_eq!((&page["journeys"][0]["id"], &page["journeys"][0]["name"]), (&json!("a_b"), &json!("Journey a_b")), "{page}");
        assert_eq!(
            (&page["journeys"][1]["id"], &page["journeys"][1]["waiting"]),
            (&json!("ab"), &json!(1)),
            "counts on a later page: {page}"
        );
        assert_eq!(page["next_cursor"], json!("ab"), "the cursor is the page's last id");
        let (_, all) = api.admin("GET", "/api/journeys", Value::Null).await;
        assert_eq!((all["journeys"].as_array().map(Vec::len), &all["next_cursor"]), (Some(6), &Value::Null), "100 by default: {all}");
        api.refuses_bad_pages("/api/journeys", "Not%20A%20Slug").await;
    }

    #[tokio::test]
    async fn templates_are_listed_a_page_at_a_time_by_id() {
        let api = Api::new().await;
        for id in PAGED {
            let (status, out) =
                api.admin("PUT", &format!("/api/templates/{id}"), json!({"subject": format!("Hi {id}"), "text": "x"})).await;
            assert_eq!(status, StatusCode::OK, "{id}: {out}");
        }
        let pages = api.walk("/api/templates", 4, "templates", "id").await;
        assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [4, 2]);
        assert_eq!(flat(&pages), PAGED_BYTES, "every template once, by id in byte order");
        let subjects = api.walk("/api/templates", 1, "templates", "subject").await;
        assert_eq!(subjects.len(), 6, "six pages of one, the last without a cursor");
        assert_eq!(flat(&subjects), PAGED_BYTES.map(|id| format!("Hi {id}")).iter().map(String::as_str).collect::<Vec<_>>());
        api.refuses_bad_pages("/api/templates", "UPPER").await;
    }

    #[tokio::test]
    async fn sources_are_listed_a_page_at_a_time_by_id() {
        let api = Api::new().await;
        for id in PAGED {
            assert_eq!(api.admin("POST", "/api/sources", json!({"id": id})).await.0, StatusCode::CREATED, "{id}");
        }
        let pages = api.walk("/api/sources", 2, "sources", "id").await;
        assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [2, 2, 2, 1], "six and `web`");
        let mut expected = PAGED_BYTES.to_vec();
        expected.push("web");
        assert_eq!(flat(&pages), expected, "every source once, by id in byte order");
        let keys = api.walk("/api/sources", 5, "sources", "write_key").await;
        assert!(keys.iter().flatten().all(|k| k.as_str().is_some_and(|k| k.starts_with("wk_"))), "{keys:?}");
        assert_eq!(keys.iter().flatten().collect::<std::collections::HashSet<_>>().len(), 7, "seven keys, none twice: {keys:?}");
        api.refuses_bad_pages("/api/sources", "a/b").await;
    }

    #[tokio::test]
    async fn users_are_listed_a_page_at_a_time_by_id() {
        let api = Api::new().await;
        let mut ids = Vec::new();
        for name in ["cy", "ann", "bo", "di"] {
            let body = json!({"email": format!("{name}@acme.test"), "role": "viewer", "password": PASSWORD});
            let (status, out) = api.admin("POST", "/api/users", body).await;
            assert_eq!(status, StatusCode::CREATED, "{out}");
            ids.push(out["id"].as_i64().expect("id"));
        }
        let pages = api.walk("/api/users", 2, "users", "email").await;
        assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [2, 2, 1], "four and the first admin");
        let emails: Vec<&str> = flat(&pages);
        assert_eq!(emails, ["admin@localhost", "cy@acme.test", "ann@acme.test", "bo@acme.test", "di@acme.test"], "by id, not e-mail");
        let pages = api.walk("/api/users", 1, "users", "id").await;
        let walked: Vec<i64> = pages.iter().flatten().map(|v| v.as_i64().expect("id")).collect();
        assert_eq!(walked.len(), 5);
        assert_eq!(walked[1..], ids[..], "every user once, by id");
        api.refuses_bad_pages("/api/users", "cy").await;
    }

    #[tokio::test]
    async fn journeys_can_be_entered_by_api_with_a_payload() {
        let api = Api::new().await;
        api.admin("PUT", "/api/templates/coupon", json!({"subject": "Code {{ event.code }}", "text": "x"})).await;
        let doc = json!({"id": "manual", "entry": {"api": true, "reentry": "never"}, "goal": {"event": "Redeemed"},
            "steps": [{"id": "ab", "type": "split", "paths": [{"name": "a", "weight": 50, "next": "send"}, {"name": "b", "weight": 50, "next": "send"}]},
                      {"id": "send", "type": "send", "template": "coupon", "next": "w"}, {"id": "w", "type": "wait", "duration": "7d"}]});
        api.admin("POST", "/api/journeys", doc).await;
        assert_eq!(api.admin("POST", "/api/journeys/manual/publish", Value::Null).await.0, StatusCode::OK);
        api.ingest("identify", json!({"userId": "quinn", "traits": {"email": "q@x.test"}}).to_string()).await;
        let (status, out) = api.admin("POST", "/api/journeys/manual/enter", json!({"user_id": "quinn", "payload": {"code": "Z9"}})).await;
        assert_eq!((status, out["entered"].clone()), (StatusCode::OK, json!(true)));
        let (_, again) = api.admin("POST", "/api/journeys/manual/enter", json!({"user_id": "quinn"})).await;
        assert_eq!(again["entered"], json!(false));
        api.ingest("track", json!({"userId": "quinn", "event": "Redeemed"}).to_string()).await;
        api.admin("POST", "/api/clock", json!({"advance": "1s"})).await;
        let (_, person) = api.admin("GET", "/api/profiles/lookup?user_id=quinn", Value::Null).await;
        let run = &person["journeys"][0];
        assert_eq!(run["converted_at"], json!("2030-01-01T00:00:00.000Z"));
        assert!(run["assignments"]["ab"].is_string(), "{run}");
        assert_eq!(person["messages"][0]["message"]["subject"], json!("Code Z9"));
        let (status, out) = api.admin("POST", "/api/journeys/nope/enter", json!({"user_id": "quinn"})).await;
        assert_eq!((status, out["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
    }

    #[tokio::test]
    async fn versions_move_or_keep_in_flight_runs_and_journeys_pause_resume_stop() {
        let api = Api::new().await;
        api.admin("PUT", "/api/templates/hi", json!({"subject": "Hi", "text": "x"})).await;
        let v1 = json!({"id": "nurture", "entry": {"event": "Signed Up"},
            "steps": [{"id": "pause", "type": "wait", "duration": "10d", "next": "hi"}, {"id": "hi", "type": "send", "template": "hi"}]});
        api.admin("POST", "/api/journeys", v1).await;
        api.admin("POST", "/api/journeys/nurture/publish", Value::Null).await;
        api.ingest("track", json!({"userId": "rae", "event": "Signed Up"}).to_string()).await;
        // Version 2 renames the wait step: moving runs there is refused, keeping them is fine.
        let v2 = json!({"id": "nurture", "entry": {"event": "Signed Up"},
            "steps": [{"id": "rest", "type": "wait", "duration": "10d", "next": "hi"}, {"id": "hi", "type": "send", "template": "hi"}]});
        api.admin("PUT", "/api/journeys/nurture", v2).await;
        let (status, out) = api.admin("POST", "/api/journeys/nurture/publish", json!({"in_flight": "move"})).await;
        assert_eq!(
            (status, out["details"]["diagnostics"][0]["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("step_missing_for_runs"))
        );
        assert!(
            out["details"]["diagnostics"][0]["message"].as_str().unwrap_or("").starts_with("1 waiting run(s) are at step \"pause\""),
            "{out}"
        );
        let (status, out) = api.admin("POST", "/api/journeys/nurture/publish", json!({"in_flight": "stay"})).await;
        assert_eq!((status, out["version"].clone(), out["moved_runs"].clone()), (StatusCode::OK, json!(2), json!(0)));
        // Version 3 keeps "pause": the run moves, at the same step.
        let v3 = json!({"id": "nurture", "entry": {"event": "Signed Up"},
            "steps": [{"id": "pause", "type": "wait", "duration": "10d", "next": "hi"}, {"id": "hi", "type": "send", "template": "hi"}]});
        api.admin("PUT", "/api/journeys/nurture", v3).await;
        let (_, out) = api.admin("POST", "/api/journeys/nurture/publish", json!({"in_flight": "move"})).await;
        assert_eq!((out["version"].clone(), out["moved_runs"].clone()), (json!(3), json!(1)));
        let (_, person) = api.admin("GET", "/api/profiles/lookup?user_id=rae", Value::Null).await;
        assert_eq!((person["journeys"][0]["version"].clone(), person["journeys"][0]["node"].clone()), (json!(3), json!("pause")));
        // Paused: no new entries. Resumed: entries again. Stopped: waiting runs end.
        assert_eq!(api.admin("POST", "/api/journeys/nurture/pause", Value::Null).await.1["state"], json!("paused"));
        api.ingest("track", json!({"userId": "sam", "event": "Signed Up"}).to_string()).await;
        assert_eq!(api.admin("GET", "/api/profiles/lookup?user_id=sam", Value::Null).await.1["journeys"], json!([]));
        api.admin("POST", "/api/journeys/nurture/resume", Value::Null).await;
        api.ingest("track", json!({"userId": "sam", "event": "Signed Up"}).to_string()).await;
        assert_eq!(api.admin("GET", "/api/profiles/lookup?user_id=sam", Value::Null).await.1["journeys"].as_array().map(Vec::len), Some(1));
        let (_, out) = api.admin("POST", "/api/journeys/nurture/stop", json!({"reason": "campaign over"})).await;
        assert_eq!((out["state"].clone(), out["stopped_runs"].clone()), (json!("stopped"), json!(2)));
        let (_, person) = api.admin("GET", "/api/profiles/lookup?user_id=rae", Value::Null).await;
        assert_eq!(person["journeys"][0]["exit_reason"], json!("journey stopped: campaign over"));
        let (_, list) = api.admin("GET", "/api/journeys", Value::Null).await;
        assert_eq!(list["journeys"][0]["state"], json!("stopped"));
    }

    #[tokio::test]
    async fn the_profile_shows_each_condition_seen_and_why_a_person_is_not_in_a_journey() {
        let api = Api::new().await;
        for t in ["consultation-invite", "consultation-reminder", "welcome"] {
            api.admin("PUT", &format!("/api/templates/{t}"), json!({"subject": "s", "text": "t"})).await;
        }
        let consultation: Value = serde_json::from_str(include_str!("../../../examples/consultation.json")).expect("example");
        api.admin("POST", "/api/journeys", consultation).await;
        api.admin("POST", "/api/journeys/consultation/publish", Value::Null).await;
        api.admin(
            "POST",
            "/api/journeys",
            json!({"id": "welcome", "entry": {"event": "Signed Up", "filter": {"trait": "plan", "op": "eq", "value": "pro"}},
            "steps": [{"id": "hi", "type": "send", "template": "welcome"}]}),
        )
        .await;
        api.admin("POST", "/api/journeys/welcome/publish", Value::Null).await;
        api.ingest("identify", json!({"userId": "bob", "traits": {"plan": "free"}}).to_string()).await;
        api.ingest("track", json!({"userId": "bob", "event": "Sales Contacted"}).to_string()).await;
        for p in ["a", "b", "c"] {
            api.ingest("page", json!({"userId": "bob", "properties": {"path": format!("/products/{p}")}}).to_string()).await;
        }
        api.ingest("track", json!({"userId": "bob", "event": "Signed Up"}).to_string()).await;
        let (_, person) = api.admin("GET", "/api/profiles/lookup?user_id=bob", Value::Null).await;
        let (status, out) = api.admin("GET", &format!("/api/profiles/{}/journeys", person["id"]), Value::Null).await;
        assert_eq!(status, StatusCode::OK);
        let journey = |id: &str| out["journeys"].as_array().and_then(|j| j.iter().find(|j| j["journey"] == id)).cloned().expect("journey");
        // Sales contacted bob this week: his third product view did not qualify him, and the
        // reason shows each comparison with the value seen.
        let consultation = journey("consultation");
        assert_eq!((&consultation["in_journey"], &consultation["runs"]), (&json!(false), &json!([])), "{consultation}");
        let why = consultation["why_not"].as_str().unwrap_or("");
        assert!(
            why.starts_with("the entry filter was false for their last \"Page Viewed\"")
                && why
                    .contains("count(\"Page Viewed\" where … in 7d) = 3 gte 3 -> true; count(\"Sales Contacted\" in 7d) = 1 eq 0 -> false"),
            "{why}"
        );
        let welcome = journey("welcome");
        assert_eq!(welcome["in_journey"], json!(false));
        let why = welcome["why_not"].as_str().unwrap_or("");
        assert!(
            why.starts_with("the entry filter was false for their last \"Signed Up\"")
                && why.ends_with("trait plan = \"free\" eq \"pro\" -> false"),
            "{why}"
        );
        api.ingest("identify", json!({"userId": "eve"}).to_string()).await;
        let (_, eve) = api.admin("GET", "/api/profiles/lookup?user_id=eve", Value::Null).await;
        let (_, out) = api.admin("GET", &format!("/api/profiles/{}/journeys", eve["id"]), Value::Null).await;
        let why: Vec<_> =
            out["journeys"].as_array().expect("list").iter().map(|j| j["why_not"].as_str().unwrap_or("").to_owned()).collect();
        assert_eq!(why, ["the person has no \"Page Viewed\" event", "the person has no \"Signed Up\" event"]);
        api.admin("POST", "/api/journeys/welcome/pause", Value::Null).await;
        let (_, out) = api.admin("GET", &format!("/api/profiles/{}/journeys", eve["id"]), Value::Null).await;
        assert_eq!(out["journeys"][1]["why_not"], json!("the journey is paused: it takes no new entries"));
    }

    /// `user`'s entry in `GET /api/profiles/{id}/journeys` for `journey`.
    async fn profile_journey(api: &Api, user: &str, journey: &str) -> Value {
        let (_, person) = api.admin("GET", &format!("/api/profiles/lookup?user_id={user}"), Value::Null).await;
        let (status, out) = api.admin("GET", &format!("/api/profiles/{}/journeys", person["id"]), Value::Null).await;
        assert_eq!(status, StatusCode::OK, "{out}");
        out["journeys"].as_array().and_then(|j| j.iter().find(|j| j["journey"] == journey)).cloned().expect("journey")
    }

    /// The typed `recent_entries` of a profile's journey, newest first.
    fn recent_entries(journey: &Value) -> Vec<server::wire::RecentEntry> {
        serde_json::from_value(journey["recent_entries"].clone()).expect("recent entries")
    }

    fn verdicts(entries: &[server::wire::RecentEntry]) -> Vec<server::wire::EntryVerdict> {
        entries.iter().map(|e| e.verdict).collect()
    }

    #[tokio::test]
    async fn the_profile_shows_an_earlier_entry_event_that_failed_the_filter_though_the_last_would_enter_now() {
        use server::wire::EntryVerdict::{Entered, Filtered};
        let api = Api::new().await;
        api.admin("PUT", "/api/templates/hi", json!({"subject": "s", "text": "t"})).await;
        let product = json!({"property": "path", "op": "starts_with", "value": "/products/"});
        let doc = json!({"id": "browsers", "entry": {"event": "Page Viewed", "filter": {"all": [product,
                {"history": {"event": "Page Viewed", "within": "7d", "where": product}, "op": "gte", "value": 2}]}},
            "steps": [{"id": "hi", "type": "send", "template": "hi"}]});
        assert_eq!(api.admin("POST", "/api/journeys", doc).await.0, StatusCode::CREATED);
        api.admin("POST", "/api/journeys/browsers/publish", Value::Null).await;
        api.ingest("identify", json!({"userId": "ada", "traits": {"email": "ada@x.test"}}).to_string()).await;
        for (id, path) in [("v1", "/products/a"), ("v2", "/products/b")] {
            api.admin("POST", "/api/clock", json!({"advance": "1h"})).await;
            api.ingest("page", json!({"userId": "ada", "messageId": id, "properties": {"path": path}}).to_string()).await;
        }
        let browsers = profile_journey(&api, "ada", "browsers").await;
        // The sentence still speaks of the last view only, as if it came now.
        let why = browsers["why_not"].as_str().unwrap_or("");
        assert!(why.starts_with("their last \"Page Viewed\"") && why.contains("would enter now"), "{why}");
        // The first view saw one product view in the week, not two.
        let recent = recent_entries(&browsers);
        assert_eq!(verdicts(&recent), [Entered, Filtered]);
        let run_id = browsers["runs"][0]["run_id"].clone();
        assert_eq!(
            browsers["recent_entries"][0],
            json!({"at": "2030-01-01T02:00:00.000Z", "received_at": "2030-01-01T02:00:00.000Z", "message_id": "v2", "verdict": "entered",
                "detail": format!("it started run {run_id}"), "run_id": run_id})
        );
        assert_eq!(
            recent[1].comparisons,
            [
                "property path = \"/products/a\" starts_with \"/products/\" -> true",
                "count(\"Page Viewed\" where … in 7d) = 1 gte 2 -> false"
            ]
        );
        assert!(recent[1].detail.ends_with("-> false (evaluated as of the event)"), "{}", recent[1].detail);
    }

    #[tokio::test]
    async fn three_views_show_three_verdicts_in_the_profile() {
        use server::wire::EntryVerdict::{Entered, Filtered, Reentry};
        let api = Api::new().await;
        api.admin("PUT", "/api/templates/hi", json!({"subject": "s", "text": "t"})).await;
        let doc = json!({"id": "tour", "entry": {"event": "Page Viewed", "reentry": {"after": "7d"},
                "filter": {"property": "path", "op": "starts_with", "value": "/products/"}},
            "steps": [{"id": "hi", "type": "send", "template": "hi"}]});
        assert_eq!(api.admin("POST", "/api/journeys", doc).await.0, StatusCode::CREATED);
        api.admin("POST", "/api/journeys/tour/publish", Value::Null).await;
        api.ingest("identify", json!({"userId": "bo", "traits": {"email": "bo@x.test"}}).to_string()).await;
        for (id, path) in [("v1", "/blog"), ("v2", "/products/a"), ("v3", "/products/b")] {
            api.admin("POST", "/api/clock", json!({"advance": "1h"})).await;
            api.ingest("page", json!({"userId": "bo", "messageId": id, "properties": {"path": path}}).to_string()).await;
        }
        let tour = profile_journey(&api, "bo", "tour").await;
        let recent = recent_entries(&tour);
        assert_eq!(verdicts(&recent), [Reentry, Entered, Filtered]);
        assert_eq!(recent.iter().map(|e| e.message_id.as_str()).collect::<Vec<_>>(), ["v3", "v2", "v1"]);
        let run = tour["runs"][0]["run_id"].as_i64().expect("one run");
        assert_eq!((recent[0].run_id, recent[1].run_id), (Some(run), Some(run)));
        assert_eq!(
            recent.iter().map(|e| e.detail.as_str()).collect::<Vec<_>>(),
            [
                format!("re-entry waits 7d after the previous run began: run {run} entered at 2030-01-01T02:00:00.000Z").as_str(),
                format!("it started run {run}").as_str(),
                "the entry filter was false: property path = \"/blog\" starts_with \"/products/\" -> false (evaluated as of the event)",
            ]
        );
        // A journey not entered by an event has no such list.
        let api_doc = json!({"id": "manual", "entry": {"api": true}, "steps": [{"id": "hi", "type": "send", "template": "hi"}]});
        assert_eq!(api.admin("POST", "/api/journeys", api_doc).await.0, StatusCode::CREATED, "api entry");
        api.admin("POST", "/api/journeys/manual/publish", Value::Null).await;
        assert_eq!(profile_journey(&api, "bo", "manual").await["recent_entries"], Value::Null);
    }

    /// The role each route needs, as the product describes it: reads need a viewer, changes an
    /// editor; creating sources, users and the audit log need an admin; signing in nothing;
    /// doing a task a journey asked for, a viewer (a salesperson).
    fn role_needed(route: &str) -> Option<&'static str> {
        let (method, path) = route.split_once(' ').expect("METHOD /path");
        match (method, path) {
            ("POST", "/api/session") => None,
            (_, "/api/session" | "/api/me/tokens" | "/api/me/tokens/{id}") => Some("viewer"),
            ("POST", "/api/tasks/{id}/complete" | "/api/tasks/{id}/decline") => Some("viewer"),
            ("POST", "/api/sources") => Some("admin"),
            (_, p) if p.starts_with("/api/users") || p == "/api/audit" => Some("admin"),
            ("GET", _) => Some("viewer"),
            _ => Some("editor"),
        }
    }

    /// Every route × every role: no credentials is 401; a role below the route's is 403
    /// `forbidden` naming the role needed; any other answer is never 401 or 403.
    #[tokio::test]
    async fn every_route_enforces_its_role_for_viewers_editors_admins_and_strangers() {
        let api = Api::new().await;
        let rank = |r: &str| ["viewer", "editor", "admin"].iter().position(|x| *x == r).expect("a role");
        let mut tokens = Vec::new();
        for role in ["viewer", "editor", "admin"] {
            tokens.push((role, api.user_with_token(&format!("{role}@acme.test"), role).await));
        }
        for route in ROUTES {
            let needed = role_needed(route);
            let (method, path) = route.split_once(' ').expect("METHOD /path");
            let access = server::auth::required(&method.parse().expect("method"), path);
            let expected =
                needed.map_or(server::auth::Access::Public, |n| server::auth::Access::Role(store::Role::parse(n).expect("role")));
            assert_eq!(access, expected, "{route}: the server's table");
            let path = path.replace("{id}", "999");
            let (status, _, out) = api.send(method, &path, Value::Null, &[]).await;
            if needed.is_some() {
                assert_eq!(status, StatusCode::UNAUTHORIZED, "{route} without credentials: {out}");
            } else {
                assert!(status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN, "{route} is public: {status} {out}");
            }
            for (role, token) in &tokens {
                let (status, out) = api.with_token(token, method, &path, Value::Null).await;
                match needed {
                    Some(n) if rank(role) < rank(n) => {
                        assert_eq!((status, out["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")), "{route} as {role}: {out}");
                        assert!(out["message"].as_str().is_some_and(|m| m.contains(&format!("needs the role {n}"))), "{out}");
                    }
                    _ => assert!(
                        status != StatusCode::FORBIDDEN && status != StatusCode::UNAUTHORIZED,
                        "{route} as {role} is allowed, but answered {status}: {out}"
                    ),
                }
            }
        }
    }

    #[tokio::test]
    async fn signing_in_sets_a_strict_http_only_cookie_and_writes_need_the_csrf_token() {
        let api = Api::new().await;
        api.admin("POST", "/api/users", json!({"email": "Ann@Acme.test", "name": "Ann", "role": "editor", "password": PASSWORD})).await;
        let (wrong, _, wrong_out) =
            api.send("POST", "/api/session", json!({"email": "ann@acme.test", "password": "not it at all"}), &[]).await;
        let (unknown, _, unknown_out) =
            api.send("POST", "/api/session", json!({"email": "zed@acme.test", "password": PASSWORD}), &[]).await;
        assert_eq!((wrong, &wrong_out["code"]), (StatusCode::UNAUTHORIZED, &json!("invalid_credentials")));
        assert_eq!((unknown, &unknown_out), (StatusCode::UNAUTHORIZED, &wrong_out), "an unknown e-mail gets the same answer");

        let (status, cookie, me) = api.send("POST", "/api/session", json!({"email": "ANN@acme.test", "password": PASSWORD}), &[]).await;
        assert_eq!(status, StatusCode::OK, "{me}");
        let cookie = cookie.expect("set-cookie");
        let attributes: Vec<&str> = cookie.split(';').map(str::trim).skip(1).collect();
        for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=604800"] {
            assert!(attributes.contains(&attribute), "{attribute} in {cookie}");
        }
        assert!(!attributes.contains(&"Secure"), "not Secure unless ui.secure_cookies: {cookie}");
        assert_eq!(
            (&me["user"]["email"], &me["user"]["role"], &me["actor"]),
            (&json!("ann@acme.test"), &json!("editor"), &json!("user:ann@acme.test"))
        );
        let session = cookie.split(';').next().expect("pair").to_owned();
        let csrf = me["csrf_token"].as_str().expect("csrf").to_owned();

        let (status, _, again) = api.send("GET", "/api/session", Value::Null, &[("cookie", &session)]).await;
        assert_eq!((status, &again["csrf_token"], &again["user"]["name"]), (StatusCode::OK, &json!(csrf), &json!("Ann")));
        let template = json!({"subject": "Hi", "text": "x"});
        let (status, _, out) = api.send("PUT", "/api/templates/hi", template.clone(), &[("cookie", &session)]).await;
        assert_eq!((status, &out["code"]), (StatusCode::FORBIDDEN, &json!("csrf_failed")), "{out}");
        let (status, _, out) =
            api.send("PUT", "/api/templates/hi", template.clone(), &[("cookie", &session), ("x-csrf-token", "forged")]).await;
        assert_eq!((status, &out["code"]), (StatusCode::FORBIDDEN, &json!("csrf_failed")), "{out}");
        let (status, _, out) =
            api.send("PUT", "/api/templates/hi", template.clone(), &[("cookie", &session), ("x-csrf-token", &csrf)]).await;
        assert_eq!(status, StatusCode::OK, "{out}");
        let (status, _, _) = api.send("GET", "/api/templates/hi", Value::Null, &[("cookie", &session)]).await;
        assert_eq!(status, StatusCode::OK, "reads need no CSRF token");

        let (status, expired, _) = api.send("DELETE", "/api/session", Value::Null, &[("cookie", &session), ("x-csrf-token", &csrf)]).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert!(expired.is_some_and(|c| c.starts_with("wayfarer_session=;") && c.contains("Max-Age=0")), "the cookie is expired");
        let (status, _, out) = api.send("GET", "/api/session", Value::Null, &[("cookie", &session)]).await;
        assert_eq!((status, &out["code"]), (StatusCode::UNAUTHORIZED, &json!("not_signed_in")), "the old cookie is useless");
        // Sessions last 7 days.
        let (session, _) = api.sign_in("ann@acme.test", PASSWORD).await;
        api.admin("POST", "/api/clock", json!({"advance": "7d"})).await;
        let (status, _, _) = api.send("GET", "/api/session", Value::Null, &[("cookie", &session)]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "a week later the session has ended");
    }

    #[tokio::test]
    async fn five_failed_sign_ins_lock_an_email_for_fifteen_minutes() {
        let api = Api::new().await;
        api.admin("POST", "/api/users", json!({"email": "ann@acme.test", "role": "viewer", "password": PASSWORD})).await;
        for _ in 0..5 {
            let (status, _, _) =
                api.send("POST", "/api/session", json!({"email": "ann@acme.test", "password": "guess guess guess"}), &[]).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED);
        }
        let req = Request::post("/api/session")
            .header("content-type", "application/json")
            .body(Body::from(json!({"email": "Ann@acme.test", "password": PASSWORD}).to_string()))
            .expect("req");
        let resp = api.router.clone().oneshot(req).await.expect("response");
        assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS, "even the right password, and whatever the e-mail's case");
        assert_eq!(resp.headers().get("retry-after").and_then(|v| v.to_str().ok()), Some("900"));
        let (status, _, _) = api.send("POST", "/api/session", json!({"email": "admin@localhost", "password": "x"}), &[]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "another e-mail is not locked");
        api.admin("POST", "/api/clock", json!({"advance": "15m"})).await;
        api.sign_in("ann@acme.test", PASSWORD).await;
    }

    #[tokio::test]
    async fn users_are_managed_by_admins_and_the_last_admin_stays() {
        let api = Api::new().await;
        let (_, list) = api.admin("GET", "/api/users", Value::Null).await;
        assert_eq!(list["users"][0]["email"], json!("admin@localhost"), "made on the first start: {list}");
        let first = list["users"][0]["id"].clone();
        let (status, out) = api.admin("POST", "/api/users", json!({"email": "bo@acme.test", "role": "admin", "password": "short"})).await;
        assert_eq!((status, &out["code"]), (StatusCode::UNPROCESSABLE_ENTITY, &json!("weak_password")));
        let (status, bo) = api.admin("POST", "/api/users", json!({"email": "Bo@Acme.test", "role": "admin", "password": PASSWORD})).await;
        assert_eq!((status, &bo["email"], &bo["name"]), (StatusCode::CREATED, &json!("bo@acme.test"), &json!("bo")));
        let (status, _) = api.admin("POST", "/api/users", json!({"email": "bo@acme.TEST", "role": "viewer", "password": PASSWORD})).await;
        assert_eq!(status, StatusCode::CONFLICT, "e-mails are unique whatever their case");
        let (status, out) = api.admin("PUT", &format!("/api/users/{first}"), json!({"role": "viewer"})).await;
        assert_eq!((status, &out["role"]), (StatusCode::OK, &json!("viewer")), "another admin is left");
        let bo_path = format!("/api/users/{}", bo["id"]);
        let (status, out) = api.admin("PUT", &bo_path, json!({"role": "editor"})).await;
        assert_eq!((status, &out["code"]), (StatusCode::CONFLICT, &json!("conflict")), "{out}");
        assert!(out["message"].as_str().is_some_and(|m| m.contains("last admin")), "{out}");
        let (status, _) = api.admin("DELETE", &bo_path, Value::Null).await;
        assert_eq!(status, StatusCode::CONFLICT, "nor deleted");
        // A new password signs them out elsewhere, and is never in the audit log.
        let (session, _) = api.sign_in("bo@acme.test", PASSWORD).await;
        let (status, out) = api.admin("PUT", &bo_path, json!({"name": "Bo B.", "password": "another long password"})).await;
        assert_eq!((status, &out["name"]), (StatusCode::OK, &json!("Bo B.")));
        let (status, _, _) = api.send("GET", "/api/session", Value::Null, &[("cookie", &session)]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        api.sign_in("bo@acme.test", "another long password").await;
        let (_, audit) = api.admin("GET", "/api/audit?limit=1", Value::Null).await;
        let entry = &audit["entries"][0];
        assert_eq!(
            (&entry["action"], &entry["target"], &entry["actor"]),
            (&json!("user.update"), &json!("user:bo@acme.test"), &json!("admin token"))
        );
        assert_eq!(
            entry["diff"],
            json!([{"path": "/name", "old": "bo", "new": "Bo B."}, {"path": "/password", "new": "changed"}]),
            "{entry}"
        );
        assert!(!audit.to_string().contains("argon2"), "no password hash: {audit}");
        let (status, _) = api.admin("DELETE", &format!("/api/users/{first}"), Value::Null).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert_eq!(api.admin("GET", &format!("/api/users/{first}"), Value::Null).await.0, StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn personal_tokens_act_with_their_owners_role_until_deleted() {
        let api = Api::new().await;
        let token = api.user_with_token("vi@acme.test", "viewer").await;
        let doc = json!({"id": "j", "entry": {"event": "A"}, "steps": [{"id": "w", "type": "wait", "duration": "1d"}]});
        let (status, out) = api.with_token(&token, "PUT", "/api/journeys/j", doc.clone()).await;
        assert_eq!((status, &out["code"]), (StatusCode::FORBIDDEN, &json!("forbidden")), "a viewer's token cannot change a journey");
        assert_eq!(api.with_token(&token, "GET", "/api/journeys", Value::Null).await.0, StatusCode::OK, "but can read");
        let (_, me) = api.with_token(&token, "GET", "/api/session", Value::Null).await;
        assert_eq!((&me["actor"], &me["csrf_token"]), (&json!("token:ci (vi@acme.test)"), &Value::Null));
        // A new role applies at once.
        api.admin("PUT", &format!("/api/users/{}", me["user"]["id"]), json!({"role": "editor"})).await;
        assert_eq!(api.with_token(&token, "PUT", "/api/journeys/j", doc).await.0, StatusCode::OK);
        let (_, list) = api.with_token(&token, "GET", "/api/me/tokens", Value::Null).await;
        assert_eq!((list["tokens"].as_array().map(Vec::len), &list["tokens"][0]["name"]), (Some(1), &json!("ci")));
        assert!(list["tokens"][0]["last_used_at"].is_string(), "{list}");
        assert!(!list.to_string().contains(&token), "the secret is shown only once");
        let id = &list["tokens"][0]["id"];
        let (status, _) = api.with_token(&token, "DELETE", &format!("/api/me/tokens/{id}"), Value::Null).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, out) = api.with_token(&token, "GET", "/api/journeys", Value::Null).await;
        assert_eq!((status, &out["code"]), (StatusCode::UNAUTHORIZED, &json!("invalid_admin_token")), "a deleted token is refused");
        let (status, out) = api.admin("POST", "/api/me/tokens", json!({"name": "x"})).await;
        assert_eq!(status, StatusCode::CONFLICT, "the admin token has no user: {out}");
    }

    #[tokio::test]
    async fn the_audit_log_shows_who_changed_what_with_a_diff_a_page_at_a_time() {
        let api = Api::new().await;
        let token = api.user_with_token("ed@acme.test", "editor").await;
        let doc = |d: &str| json!({"id": "j", "entry": {"event": "A"}, "steps": [{"id": "w", "type": "wait", "duration": d}]});
        assert_eq!(api.with_token(&token, "PUT", "/api/journeys/j", doc("1d")).await.0, StatusCode::OK);
        assert_eq!(api.with_token(&token, "PUT", "/api/journeys/j", doc("3d")).await.0, StatusCode::OK);
        let (status, out) = api.with_token(&token, "GET", "/api/audit", Value::Null).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "only admins read the log: {out}");
        let (_, page) = api.admin("GET", "/api/audit?limit=2", Value::Null).await;
        let newest = &page["entries"][0];
        assert_eq!(
            (&newest["actor"], &newest["action"], &newest["target"], &newest["at"]),
            (&json!("token:ci (ed@acme.test)"), &json!("journey.save_draft"), &json!("journey:j"), &json!("2030-01-01T00:00:00.000Z"))
        );
        assert_eq!(newest["diff"], json!([{"path": "/steps/0/duration", "old": "1d", "new": "3d"}]));
        let created = &page["entries"][1];
        assert_eq!((&created["action"], created["diff"].as_array().map(Vec::len)), (&json!("journey.save_draft"), Some(5)), "{created}");
        // Older entries on the next page: the token, the user, the first admin.
        let cursor = page["next_cursor"].as_str().expect("a next page");
        let (_, next) = api.admin("GET", &format!("/api/audit?limit=2&cursor={cursor}"), Value::Null).await;
        let actions: Vec<&str> = next["entries"].as_array().into_iter().flatten().filter_map(|e| e["action"].as_str()).collect();
        assert_eq!(actions, ["token.create", "user.create"]);
        let cursor = next["next_cursor"].as_str().expect("a next page");
        let (_, last) = api.admin("GET", &format!("/api/audit?limit=2&cursor={cursor}"), Value::Null).await;
        // The source made by `Api::new`, and the first admin before it.
        let actions: Vec<&str> = last["entries"].as_array().into_iter().flatten().filter_map(|e| e["action"].as_str()).collect();
        assert_eq!(actions, ["source.create", "user.create"], "{last}");
        assert_eq!(last["entries"][1]["actor"], json!("first start"));
        assert_eq!(last["next_cursor"], Value::Null, "a full last page has no next one: {last}");
        let (_, empty) = api.admin("GET", "/api/audit?limit=2&cursor=1", Value::Null).await;
        assert_eq!(empty, json!({"entries": [], "next_cursor": null}), "past the end: nothing");
        // Changes the engine makes are recorded too (right after it has made them).
        api.admin("POST", "/api/clock", json!({"advance": "1h"})).await;
        let (_, page) = api.admin("GET", "/api/audit?limit=1", Value::Null).await;
        assert_eq!(
            (&page["entries"][0]["action"], &page["entries"][0]["diff"]),
            (&json!("clock.move"), &json!([{"path": "/now", "old": "2030-01-01T00:00:00.000Z", "new": "2030-01-01T01:00:00.000Z"}]))
        );
    }

    /// Each kind of change leaves its entry: those the server makes in the change's own
    /// transaction, and those the engine makes (entering, stopping, the clock).
    #[tokio::test]
    async fn every_kind_of_change_is_in_the_audit_log() {
        let api = Api::new().await;
        api.admin("PUT", "/api/templates/hi", json!({"subject": "Hi", "text": "x"})).await;
        let doc = |d: &str| {
            json!({"id": "j", "entry": {"api": true}, "steps": [{"id": "hi", "type": "send", "template": "hi", "next": "w"},
                {"id": "w", "type": "wait", "duration": d}]})
        };
        api.admin("POST", "/api/journeys", doc("1d")).await;
        api.admin("POST", "/api/journeys/j/publish", Value::Null).await;
        api.admin("POST", "/api/journeys/j/pause", Value::Null).await;
        api.admin("POST", "/api/journeys/j/resume", Value::Null).await;
        let (status, _) = api.admin("POST", "/api/journeys/j/enter", json!({"user_id": "ann", "payload": {"code": "Z"}})).await;
        assert_eq!(status, StatusCode::OK);
        let (status, out) = api.admin("POST", "/api/journeys/j/apply", json!({"document": doc("2d")})).await;
        assert_eq!(status, StatusCode::OK, "{out}");
        api.admin("POST", "/api/journeys/j/stop", json!({"reason": "done"})).await;
        api.admin("POST", "/api/clock", json!({"advance": "1m"})).await;
        let (_, page) = api.admin("GET", "/api/audit", Value::Null).await;
        let entries = page["entries"].as_array().expect("entries");
        let actions: Vec<&str> = entries.iter().filter_map(|e| e["action"].as_str()).collect();
        assert_eq!(
            actions,
            [
                "clock.move",
                "journey.stop",
                "journey.apply",
                "journey.enter",
                "journey.resume",
                "journey.pause",
                "journey.publish",
                "journey.create",
                "template.put",
                "source.create",
                "user.create"
            ]
        );
        let by = |action: &str| entries.iter().find(|e| e["action"] == json!(action)).map(|e| e["diff"].clone()).unwrap_or_default();
        assert_eq!(
            by("journey.stop"),
            json!([{"path": "/reason", "new": "journey stopped: done"}, {"path": "/state", "old": "active", "new": "stopped"},
            {"path": "/stopped_runs", "new": 1}])
        );
        assert_eq!(
            by("journey.apply"),
            json!([{"path": "/document/steps/1/duration", "old": "1d", "new": "2d"}, {"path": "/version", "old": 1, "new": 2}])
        );
        assert_eq!(by("journey.pause"), json!([{"path": "/state", "old": "active", "new": "paused"}]));
        assert_eq!(
            by("journey.enter"),
            json!([{"path": "/entered", "new": true}, {"path": "/payload/code", "new": "Z"}, {"path": "/person", "new": "user_id:ann"}])
        );
        assert!(by("journey.publish").as_array().is_some_and(|d| d.contains(&json!({"path": "/version", "new": 1}))));
        assert_eq!(
            by("template.put"),
            json!([{"path": "/category", "new": "marketing"}, {"path": "/html", "new": ""}, {"path": "/in_app", "new": {}}, {"path": "/locales", "new": {}}, {"path": "/push", "new": {}}, {"path": "/sms", "new": ""},
                   {"path": "/subject", "new": "Hi"}, {"path": "/text", "new": "x"}])
        );
    }

    /// `wayfarer users add` makes a user with a generated password, printed once, who can sign
    /// in; an e-mail taken is refused.
    #[tokio::test]
    async fn users_add_prints_a_password_that_signs_in() {
        let dir = tempfile::tempdir().expect("dir");
        let data = dir.path().display().to_string();
        let add = |email: &str| {
            std::process::Command::new(env!("CARGO_BIN_EXE_wayfarer"))
                .args(["users", "add", "--data-dir", &data, "--email", email, "--role", "editor", "--name", "Ed"])
                .env_remove("WAYFARER_USER_PASSWORD")
                .output()
                .expect("run wayfarer")
        };
        let out = add("Ed@Acme.test");
        let said = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "{said}{}", String::from_utf8_lossy(&out.stderr));
        let password = said.lines().map(str::trim).rfind(|l| !l.is_empty()).expect("the password").to_owned();
        assert_eq!(password.len(), 24, "{said}");
        let again = add("ed@acme.test");
        assert!(!again.status.success() && String::from_utf8_lossy(&again.stderr).contains("already exists"), "{again:?}");

        let config = Config::load(None, &|k| (k == "WAYFARER_DATA_DIR").then(|| data.clone())).expect("config");
        let server = Server::build(&config).await.expect("server");
        assert_eq!(server.new_admin_user, None, "there are users already: no first admin");
        let api = Api { router: server.router, key: String::new(), _dir: dir };
        let (status, _, me) = api.send("POST", "/api/session", json!({"email": "ed@acme.test", "password": password}), &[]).await;
        assert_eq!((status, &me["user"]["name"], &me["role"]), (StatusCode::OK, &json!("Ed"), &json!("editor")), "{me}");
    }

    #[tokio::test]
    async fn serves_over_a_real_socket() {
        let dir = tempfile::tempdir().expect("dir");
        let data = dir.path().display().to_string();
        let config = Config::load(None, &|k| (k == "WAYFARER_DATA_DIR").then(|| data.clone())).expect("config");
        let server = Server::build(&config).await.expect("server");
        assert!(server.new_admin_token.as_deref().is_some_and(|t| t.starts_with("wf_")), "a token is generated on first start");
        let server_admin = server.new_admin_user.clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(server.serve(listener, async move {
            let _ = stopped.await;
        }));
        let body = reqwest::get(format!("http://{addr}/healthz")).await.expect("get").text().await.expect("text");
        assert_eq!(body, "ok");
        // The first admin signs in with the printed password; the browser sends the cookie back.
        let (email, password) = server_admin.expect("an admin user is made on first start");
        let client = reqwest::Client::new();
        let signed_in = client
            .post(format!("http://{addr}/api/session"))
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .expect("sign in");
        assert_eq!(signed_in.status(), reqwest::StatusCode::OK);
        let cookie = signed_in.headers().get("set-cookie").and_then(|v| v.to_str().ok()).expect("cookie").to_owned();
        let me: Value = signed_in.json().await.expect("json");
        let session = cookie.split(';').next().expect("pair");
        let ok = client
            .post(format!("http://{addr}/api/me/tokens"))
            .header("cookie", session)
            .header("x-csrf-token", me["csrf_token"].as_str().expect("csrf"))
            .json(&json!({"name": "laptop"}))
            .send()
            .await
            .expect("post");
        assert_eq!(ok.status(), reqwest::StatusCode::CREATED);
        let _ = stop.send(());
        task.await.expect("join").expect("clean shutdown");
    }
}

mod e2e {
    use std::collections::BTreeSet;
    use std::time::Duration;

    use serde_json::json;

    use crate::support::*;

    #[tokio::test(flavor = "multi_thread")]
    async fn seed_scenario_with_python_sdk_and_real_smtp() {
        let Some(python) = python() else { return };
        let smtp = Smtp::start(&python);
        let w = Wayfarer::start(Some(smtp.port));
        seed_consultation(&w).await;
        let key = w.write_key("website").await;
        let host = w.base();
        let people = ["alice", "bob", "carol"];
        let identify: Vec<_> = people
            .iter()
            .map(|p| {
                let first = format!("{}{}", p[..1].to_uppercase(), &p[1..]);
                json!({"call": "identify", "user_id": p, "traits": {"firstName": first, "email": format!("{p}@example.test")}})
            })
            .collect();
        send_python(&python, &host, &key, &json!(identify), false);
        send_python(&python, &host, &key, &json!([{"call": "track", "user_id": "bob", "event": "Sales Contacted"}]), false);
        for day in 0..3 {
            let views: Vec<_> = people
                .iter()
                .map(|p| json!({"call": "page", "user_id": p, "name": "Product", "properties": {"path": format!("/products/{day}")}}))
                .collect();
            send_python(&python, &host, &key, &json!(views), false);
            w.advance("2d").await;
        }
        send_python(&python, &host, &key, &json!([{"call": "track", "user_id": "carol", "event": "Consultation Booked"}]), false);
        w.advance("3d").await;
        let mails = wait_for("three emails", Duration::from_secs(30), || Some(smtp.mails()).filter(|m| m.len() >= 3));
        let summary: Vec<_> = mails.iter().map(|m| format!("{} | {}", m.to, m.subject)).collect();
        assert_eq!(
            summary,
            [
                "alice@example.test | A reminder for Alice",
                "alice@example.test | Alice, would a free consultation help?",
                "carol@example.test | Carol, would a free consultation help?",
            ]
        );
        assert!(mails[1].body.contains("you looked at /products/2"), "the triggering event renders: {}", mails[1].body);
        // The admin API shows each person's runs and why.
        let (_, bob) = w.admin("GET", "/profiles/lookup?user_id=bob", None).await;
        let (_, journeys) = w.admin("GET", &format!("/profiles/{}/journeys", bob["id"]), None).await;
        let why = journeys["journeys"][0]["why_not"].as_str().unwrap_or("");
        // (Explained now, days later: the views that qualified him then may be out of the window.)
        assert!(why.starts_with("the entry filter was false for their last \"Page Viewed\""), "sales contacted bob: {why}");
        let (_, sent) = w.admin("GET", "/messages?status=sent", None).await;
        assert_eq!(sent["messages"].as_array().map(Vec::len), Some(3));
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn python_sdk_every_call_type_with_gzip_arrives_unchanged() {
        let Some(python) = python() else { return };
        let w = Wayfarer::start(None);
        let key = w.write_key("backend").await;
        let calls = json!([
            {"call": "identify", "user_id": "u-1", "anonymous_id": "anon-9", "traits": {"firstName": "Ada", "plan": "pro"}},
            {"call": "track", "user_id": "u-1", "event": "Order Completed", "properties": {"revenue": 42.5, "currency": "EUR"}, "timestamp": "2030-01-06T09:00:00Z"},
            {"call": "page", "user_id": "u-1", "name": "Pricing", "properties": {"path": "/pricing"}},
            {"call": "screen", "user_id": "u-1", "name": "Home"},
            {"call": "group", "user_id": "u-1", "group_id": "acme", "traits": {"name": "Acme"}},
            {"call": "alias", "previous_id": "anon-old", "user_id": "u-1"},
        ]);
        send_python(&python, &w.base(), &key, &calls, true);
        let (_, p) = w.admin("GET", "/profiles/lookup?user_id=u-1", None).await;
        let mut kinds: Vec<_> =
            p["events"].as_array().expect("events").iter().map(|e| e["type"].as_str().unwrap_or("").to_owned()).collect();
        kinds.sort();
        assert_eq!(kinds, ["alias", "group", "identify", "page", "screen", "track"]);
        let track = p["events"].as_array().and_then(|e| e.iter().find(|e| e["type"] == "track")).expect("track");
        assert_eq!(track["properties"], json!({"revenue": 42.5, "currency": "EUR"}));
        assert_eq!(p["traits"], json!({"firstName": "Ada", "plan": "pro"}));
        let ids: BTreeSet<_> =
            p["identities"].as_array().expect("ids").iter().map(|i| i["value"].as_str().unwrap_or("").to_owned()).collect();
        assert_eq!(ids, ["anon-9", "anon-old", "u-1"].iter().map(|s| s.to_string()).collect());
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn node_sdk_delivers_unchanged_and_triggers_the_journey() {
        let Some(python) = python() else { return };
        if !node_sdk_installed() {
            return;
        }
        let smtp = Smtp::start(&python);
        let w = Wayfarer::start(Some(smtp.port));
        seed_consultation(&w).await;
        let key = w.write_key("node-app").await;
        let mut calls = vec![
            json!({"call": "identify", "userId": "dora", "anonymousId": "a-77", "traits": {"firstName": "Dora", "email": "dora@example.test"}}),
        ];
        for path in ["/products/a", "/products/b", "/products/c"] {
            calls.push(json!({"call": "page", "anonymousId": "a-77", "name": "Product", "properties": {"path": path}}));
        }
        calls.push(json!({"call": "track", "userId": "dora", "event": "Cart Viewed", "properties": {"items": [1, 2]}}));
        calls.push(json!({"call": "screen", "userId": "dora", "name": "Cart"}));
        calls.push(json!({"call": "group", "userId": "dora", "groupId": "g1"}));
        calls.push(json!({"call": "alias", "userId": "dora", "previousId": "legacy-dora"}));
        send_node(&w.base(), &key, &json!(calls));
        let mails = wait_for("the invite", Duration::from_secs(30), || Some(smtp.mails()).filter(|m| !m.is_empty()));
        assert_eq!(mails[0].subject, "Dora, would a free consultation help?");
        let (_, p) = w.admin("GET", "/profiles/lookup?anonymous_id=a-77", None).await;
        let from_the_sdk = p["events"].as_array().map(|e| e.iter().filter(|e| e["name"] != "Email Sent").count());
        assert_eq!(from_the_sdk, Some(8));
        let cart = p["events"].as_array().and_then(|e| e.iter().find(|e| e["name"] == "Cart Viewed")).expect("track");
        assert_eq!(cart["properties"], json!({"items": [1, 2]}));
        assert!(cart["message_id"].as_str().unwrap_or("").starts_with("node-next-"), "the SDK's messageId is kept: {cart}");
    }

    /// Crash (a): runs wait on timers when the server is killed; after restart every due
    /// email goes out exactly once and no acknowledged event is lost.
    #[tokio::test(flavor = "multi_thread")]
    async fn kill_9_while_runs_wait_on_timers() {
        let Some(python) = python() else { return };
        let smtp = Smtp::start(&python);
        let mut w = Wayfarer::start(Some(smtp.port));
        w.ok("PUT", "/templates/hello", json!({"subject": "Hello {{ traits.firstName }}", "text": "Hi"})).await;
        w.ok("POST", "/journeys", json!({"id": "later", "entry": {"event": "Signed Up"},
            "steps": [{"id": "pause", "type": "wait", "duration": "1d", "next": "hello"}, {"id": "hello", "type": "send", "template": "hello"}]})).await;
        w.ok("POST", "/journeys/later/publish", json!({})).await;
        let key = w.write_key("web").await;
        let n = 40;
        let mut batch = Vec::new();
        for i in 0..n {
            batch.push(json!({"type": "identify", "userId": format!("p{i}"), "traits": {"firstName": format!("P{i}"), "email": format!("p{i}@example.test")}}));
            batch.push(json!({"type": "track", "userId": format!("p{i}"), "event": "Signed Up"}));
        }
        let (status, out) = w.send(&key, "batch", &json!({"batch": batch})).await;
        assert_eq!((status, out["accepted"].clone()), (200, json!(2 * n)));
        w.advance("12h").await;
        w.kill9();
        w.restart();
        assert!(smtp.mails().is_empty(), "nothing was due before the crash");
        w.advance("1d").await;
        let mails = wait_for("every email", Duration::from_secs(30), || Some(smtp.mails()).filter(|m| m.len() >= n));
        let distinct: BTreeSet<_> = mails.iter().map(|m| m.message_id.clone()).collect();
        assert_eq!((mails.len(), distinct.len()), (n, n), "each email exactly once");
        for i in [0, n / 2, n - 1] {
            let (_, p) = w.admin("GET", &format!("/profiles/lookup?user_id=p{i}"), None).await;
            // (Besides them, the email's outcome comes back as a `Email Sent` event.)
            let acknowledged = p["events"].as_array().map(|e| e.iter().filter(|e| e["name"] != "Email Sent").count());
            assert_eq!(acknowledged, Some(2), "acknowledged events survive the crash");
            assert_eq!(p["journeys"][0]["exit_reason"], json!("completed"), "no run is stuck");
        }
    }

    /// Crash (b): the server is killed while outbox entries are being sent. After restart
    /// every email is delivered; a message that was in flight at the crash may arrive twice,
    /// always with the same Message-ID (its idempotency key), so a receiver can drop it.
    #[tokio::test(flavor = "multi_thread")]
    async fn kill_9_while_sending() {
        let Some(python) = python() else { return };
        let smtp = Smtp::start(&python);
        let mut w = Wayfarer::start(Some(smtp.port));
        w.ok("PUT", "/templates/hello", json!({"subject": "Hello {{ traits.firstName }}", "text": "Hi"})).await;
        w.ok(
            "POST",
            "/journeys",
            json!({"id": "now", "entry": {"event": "Signed Up"}, "steps": [{"id": "hello", "type": "send", "template": "hello"}]}),
        )
        .await;
        w.ok("POST", "/journeys/now/publish", json!({})).await;
        let key = w.write_key("web").await;
        let n = 300;
        for chunk in 0..3 {
            let mut batch = Vec::new();
            for i in chunk * 100..(chunk + 1) * 100 {
                batch.push(json!({"type": "identify", "userId": format!("q{i}"), "traits": {"firstName": format!("Q{i}"), "email": format!("q{i}@example.test")}}));
                batch.push(json!({"type": "track", "userId": format!("q{i}"), "event": "Signed Up"}));
            }
            let (status, _) = w.send(&key, "batch", &json!({"batch": batch})).await;
            assert_eq!(status, 200);
        }
        // Kill as soon as sending has visibly started.
        wait_for("the first emails", Duration::from_secs(30), || Some(smtp.mails().len()).filter(|n| *n >= 5));
        w.kill9();
        let before = smtp.mails().len();
        assert!(before < n, "the crash interrupted sending ({before} of {n} sent)");
        w.restart();
        let mails = wait_for("every email", Duration::from_secs(60), || {
            let m = smtp.mails();
            let distinct: BTreeSet<_> = m.iter().map(|m| m.message_id.clone()).collect();
            (distinct.len() >= n).then_some(m)
        });
        let distinct: BTreeSet<_> = mails.iter().map(|m| m.message_id.clone()).collect();
        assert_eq!(distinct.len(), n, "every email delivered, none lost");
        let repeats = mails.len() - n;
        eprintln!("sent before the crash: {before}; repeated after restart (same Message-ID): {repeats}");
        // In flight, and sent but not yet recorded: at most twice the concurrency (16).
        assert!(repeats <= 32, "at most the messages sent and not yet recorded at the crash repeat ({repeats})");
        nothing_pending(&w).await;
    }

    /// Each outcome is recorded once its send is answered: soon after the last message
    /// arrived, nothing is left pending (polling the server, a process of its own).
    async fn nothing_pending(w: &Wayfarer) {
        let started = std::time::Instant::now();
        loop {
            let (_, pending) = w.admin("GET", "/messages?status=pending", None).await;
            if pending["messages"].as_array().is_some_and(Vec::is_empty) {
                return;
            }
            assert!(started.elapsed() < Duration::from_secs(30), "stuck: {pending}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Crash (c): the server is killed while webhooks are in flight (the receiver holds the
    /// first calls unanswered). After restart every webhook arrives; the calls that were in
    /// flight come again with the same `webhook-id`, and no call has an id of its own.
    #[tokio::test(flavor = "multi_thread")]
    async fn kill_9_while_calling_webhooks() {
        use std::sync::{Arc, Mutex};
        let seen: Arc<Mutex<Vec<String>>> = Arc::default();
        let (open_tx, open_rx) = tokio::sync::watch::channel(false);
        let log = seen.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: axum::http::HeaderMap| {
                let (log, mut open) = (log.clone(), open_rx.clone());
                async move {
                    let id = headers.get("webhook-id").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
                    log.lock().expect("log").push(id);
                    // Held until the test opens the gate: the calls are in flight when it kills.
                    let _ = open.wait_for(|open| *open).await;
                    "ok"
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        let mut w = Wayfarer::start(None);
        let doc = json!({"id": "crm", "entry": {"event": "Signed Up"}, "steps": [{"id": "hook", "type": "webhook", "url": url}]});
        w.ok("POST", "/journeys", doc).await;
        w.ok("POST", "/journeys/crm/publish", json!({})).await;
        let key = w.write_key("web").await;
        let n = 100;
        let batch: Vec<serde_json::Value> =
            (0..n).map(|i| json!({"type": "track", "userId": format!("h{i}"), "event": "Signed Up"})).collect();
        assert_eq!(w.send(&key, "batch", &json!({"batch": batch})).await.0, 200);
        wait_for("calls in flight", Duration::from_secs(30), || Some(seen.lock().expect("log").len()).filter(|n| *n >= 16));
        w.kill9();
        let before = seen.lock().expect("log").len();
        assert!(before < n, "the crash interrupted the calls ({before} of {n} made)");
        open_tx.send(true).expect("open the gate");
        w.restart();
        let calls = wait_for("every webhook", Duration::from_secs(60), || {
            let calls = seen.lock().expect("log").clone();
            (calls.iter().collect::<BTreeSet<_>>().len() >= n).then_some(calls)
        });
        let distinct: BTreeSet<_> = calls.iter().collect();
        assert_eq!(distinct.len(), n, "every webhook delivered, each with one webhook-id");
        assert!(calls.iter().all(|id| id.starts_with("run-")), "{calls:?}");
        let repeats = calls.len() - n;
        eprintln!("calls before the crash: {before}; repeated after restart (same webhook-id): {repeats}");
        assert!((1..=32).contains(&repeats), "the calls in flight at the crash, and only those, come again ({repeats})");
        nothing_pending(&w).await;
        let (_, out) = w.admin("GET", "/messages?limit=1", None).await;
        let m = &out["messages"][0];
        assert_eq!(
            (&m["channel"], &m["status"], &m["to"]),
            (&json!("webhook"), &json!("sent"), &serde_json::Value::Null),
            "a webhook has no address: {m}"
        );
    }

    const SMS_ACCOUNT: &str = "AC5e1f0000000000000000000000000001";
    const SMS_TOKEN: &str = "stand-in-auth-token";

    /// A Wayfarer texting through `twilio`, with its own address as `tracking.base_url`.
    fn texting(twilio: &server::bench::twilio::Twilio) -> Wayfarer {
        Wayfarer::start_tracked(&[
            ("WAYFARER_SMS_BASE_URL", twilio.base_url.as_str()),
            ("WAYFARER_SMS_ACCOUNT_SID", SMS_ACCOUNT),
            ("WAYFARER_SMS_AUTH_TOKEN", SMS_TOKEN),
            ("WAYFARER_SMS_FROM", "+15005550006"),
        ])
    }

    /// The messages of a status, once there is one.
    async fn messages_with(w: &Wayfarer, status: &str) -> Vec<serde_json::Value> {
        let started = std::time::Instant::now();
        loop {
            let (_, out) = w.admin("GET", &format!("/messages?status={status}"), None).await;
            if let Some(m) = out["messages"].as_array().filter(|m| !m.is_empty()) {
                return m.clone();
            }
            assert!(started.elapsed() < Duration::from_secs(30), "no {status} message");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The names of a person's latest events, newest first, and their traits.
    async fn person(w: &Wayfarer, user: &str) -> (Vec<String>, serde_json::Value, serde_json::Value) {
        let (_, p) = w.admin("GET", &format!("/profiles/lookup?user_id={user}"), None).await;
        let names = p["events"].as_array().into_iter().flatten().filter_map(|e| e["name"].as_str().map(str::to_owned)).collect();
        (names, p["traits"].clone(), p["events"].clone())
    }

    /// SMS end to end through the Twilio stand-in: the form post, the status callback moving a
    /// waiting run on (once, however often it comes; never unsigned), error 21610 and a reply
    /// STOP unsubscribing people from SMS, START subscribing them again, any other reply an event.
    #[tokio::test(flavor = "multi_thread")]
    async fn sms_through_twilio_with_status_callbacks_and_stop_replies() {
        let twilio = server::bench::twilio::Twilio::start(SMS_ACCOUNT, SMS_TOKEN).await.expect("stand-in");
        twilio.opt_out("+14155550199");
        let w = texting(&twilio);
        w.ok(
            "PUT",
            "/templates/table",
            json!({"sms": "Hi {{ traits.firstName }}, your table for {{ event.guests }} is booked.", "category": "transactional"}),
        )
        .await;
        w.ok("PUT", "/templates/dessert", json!({"sms": "Fancy a dessert, {{ traits.firstName }}? Reply STOP to stop."})).await;
        let doc = json!({"id": "booking", "entry": {"event": "Table Booked"}, "steps": [
            {"id": "confirm", "type": "send", "channel": "sms", "template": "table", "next": "arrived"},
            {"id": "arrived", "type": "wait_for", "events": [{"event": "SMS Delivered", "next": "dessert"}], "timeout": "1d"},
            {"id": "dessert", "type": "send", "channel": "sms", "template": "dessert"}]});
        w.ok("POST", "/journeys", doc).await;
        w.ok("POST", "/journeys/booking/publish", json!({})).await;
        let key = w.write_key("web").await;
        for (user, phone) in [("ann", "+1 (415) 555-0100"), ("bo", "+1 415 555 0199")] {
            let traits = json!({"firstName": user, "phone": phone});
            assert_eq!(w.send(&key, "identify", &json!({"userId": user, "traits": traits})).await.0, 200);
            assert_eq!(w.send(&key, "track", &json!({"userId": user, "event": "Table Booked", "properties": {"guests": 2}})).await.0, 200);
        }
        let texted = wait_for("ann's confirmation", Duration::from_secs(30), || Some(twilio.texted()).filter(|t| !t.is_empty()));
        let first = &texted[0];
        assert_eq!(
            (first.to.as_str(), first.from.as_str(), first.body.as_str()),
            ("+14155550100", "+15005550006", "Hi ann, your table for 2 is booked.")
        );
        let callback = first.status_callback.clone().expect("a status callback");
        assert!(callback.starts_with(&format!("{}/t/s/", w.base())), "{callback}");
        assert!(first.idempotency_key.as_deref().is_some_and(|k| k.starts_with("run-")), "{first:?}");

        // bo replied STOP to the number before: the provider refuses (21610) and he is unsubscribed.
        let refused = messages_with(&w, "failed").await;
        assert_eq!(refused[0]["to"], json!("+14155550199"));
        assert!(refused[0]["last_error"].as_str().is_some_and(|e| e.contains("error 21610")), "{}", refused[0]);
        let started = std::time::Instant::now();
        while person(&w, "bo").await.1["sms_unsubscribed"] != json!(true) {
            assert!(started.elapsed() < Duration::from_secs(30), "bo was not unsubscribed: {:?}", person(&w, "bo").await);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let (names, _, _) = person(&w, "bo").await;
        assert!(names.contains(&"SMS Unsubscribed".to_owned()), "{names:?}");

        // Delivered: the run waiting for it goes on to the next SMS; a repeat records nothing more.
        assert_eq!(twilio.report(&first.sid, "sent", None).await.expect("callback"), 204);
        assert_eq!(twilio.report(&first.sid, "delivered", None).await.expect("callback"), 204);
        assert_eq!(twilio.report(&first.sid, "delivered", None).await.expect("callback"), 204);
        let texted = wait_for("the dessert offer", Duration::from_secs(30), || Some(twilio.texted()).filter(|t| t.len() >= 2));
        assert_eq!(texted[1].body, "Fancy a dessert, ann? Reply STOP to stop.");
        let (names, _, events) = person(&w, "ann").await;
        assert_eq!(names.iter().filter(|n| *n == "SMS Delivered").count(), 1, "{names:?}");
        let delivered = events.as_array().into_iter().flatten().find(|e| e["name"] == "SMS Delivered").expect("delivered");
        assert_eq!(
            (&delivered["properties"]["journey"], &delivered["properties"]["template"], &delivered["properties"]["provider_id"]),
            (&json!("booking"), &json!("table"), &json!(first.sid))
        );
        // Not from the provider: refused, nothing recorded.
        let forged =
            w.http.post(&callback).form(&[("MessageSid", first.sid.as_str()), ("MessageStatus", "failed")]).send().await.expect("post");
        assert_eq!(forged.status().as_u16(), 403);
        let (names, _, _) = person(&w, "ann").await;
        assert!(!names.contains(&"SMS Failed".to_owned()), "{names:?}");
        assert_eq!(twilio.report(&texted[1].sid, "undelivered", Some("30003")).await.expect("callback"), 204);
        let (names, _, events) = person(&w, "ann").await;
        let failed = events.as_array().into_iter().flatten().find(|e| e["name"] == "SMS Failed").expect("failed");
        // (Its callback found the message, recorded with its outcome: each send is an event.)
        assert_eq!(names.iter().filter(|n| *n == "SMS Sent").count(), 2, "{names:?}");
        assert_eq!((&failed["properties"]["error_code"], &failed["properties"]["template"]), (&json!("30003"), &json!("dessert")));

        // A reply STOP: no more SMS, even transactional, and even what is already queued.
        let inbound = format!("{}/t/sms/inbound", w.base());
        let (status, twiml) = twilio.inbound(&inbound, "+14155550100", "+15005550006", " Stop ").await.expect("inbound");
        assert_eq!((status, twiml.as_str()), (200, r#"<?xml version="1.0" encoding="UTF-8"?><Response></Response>"#));
        let (names, traits, _) = person(&w, "ann").await;
        assert_eq!(traits["sms_unsubscribed"], json!(true));
        assert_eq!(names.iter().find(|n| n.starts_with("SMS ")).map(String::as_str), Some("SMS Unsubscribed"), "{names:?}");
        assert_eq!(w.send(&key, "track", &json!({"userId": "ann", "event": "Table Booked", "properties": {"guests": 4}})).await.0, 200);
        let suppressed = messages_with(&w, "suppressed").await;
        assert_eq!(suppressed[0]["last_error"], json!("the person opted out of SMS (trait sms_unsubscribed)"));
        assert_eq!(twilio.count(), 2, "nothing more was texted");
        // START subscribes again; any other text is an event on the person texted there last.
        twilio.inbound(&inbound, "+14155550100", "+15005550006", "start").await.expect("inbound");
        twilio.inbound(&inbound, "+14155550100", "+15005550006", "Can I bring a dog?").await.expect("inbound");
        let (names, traits, events) = person(&w, "ann").await;
        assert_eq!(traits["sms_unsubscribed"], json!(false));
        // (The suppressed message's own outcome event may land among them: SMS events only.)
        let sms: Vec<&String> = names.iter().filter(|n| n.starts_with("SMS ")).take(2).collect();
        assert_eq!(sms, ["SMS Received", "SMS Resubscribed"]);
        let received = events.as_array().into_iter().flatten().find(|e| e["name"] == "SMS Received").expect("received");
        assert_eq!(received["properties"]["body"], json!("Can I bring a dog?"));
        let unsigned =
            w.http.post(&inbound).form(&[("From", "+14155550100"), ("Body", "STOP"), ("MessageSid", "SMx")]).send().await.expect("post");
        assert_eq!(unsigned.status().as_u16(), 403, "an inbound message not from the provider is refused");
    }

    /// Crash (d): the server is killed while SMS are in flight (the stand-in holds them). After
    /// restart every SMS arrives; those in flight come again with the same idempotency key, and
    /// no message has a key of its own.
    #[tokio::test(flavor = "multi_thread")]
    async fn kill_9_while_texting() {
        let twilio = server::bench::twilio::Twilio::start(SMS_ACCOUNT, SMS_TOKEN).await.expect("stand-in");
        twilio.hold();
        let mut w = texting(&twilio);
        w.ok("PUT", "/templates/hello", json!({"sms": "Hello {{ traits.name }}"})).await;
        let doc = json!({"id": "hello", "entry": {"event": "Signed Up"}, "steps": [{"id": "text", "type": "send", "channel": "sms", "template": "hello"}]});
        w.ok("POST", "/journeys", doc).await;
        w.ok("POST", "/journeys/hello/publish", json!({})).await;
        let key = w.write_key("web").await;
        let n = 100;
        let batch: Vec<serde_json::Value> = (0..n)
            .flat_map(|i| {
                let user = format!("s{i}");
                [
                    json!({"type": "identify", "userId": user, "traits": {"name": user, "phone": format!("+1415555{i:04}")}}),
                    json!({"type": "track", "userId": user, "event": "Signed Up"}),
                ]
            })
            .collect();
        assert_eq!(w.send(&key, "batch", &json!({"batch": batch})).await.0, 200);
        wait_for("texts in flight", Duration::from_secs(30), || Some(twilio.count()).filter(|n| *n >= 8));
        w.kill9();
        let before = twilio.count();
        assert!(before < n, "the crash interrupted the texts ({before} of {n} taken)");
        twilio.release();
        w.restart();
        let texted = wait_for("every SMS", Duration::from_secs(60), || {
            let t = twilio.texted();
            (t.iter().map(|m| &m.to).collect::<BTreeSet<_>>().len() >= n).then_some(t)
        });
        let keys: BTreeSet<_> = texted.iter().map(|m| m.idempotency_key.clone().unwrap_or_default()).collect();
        assert_eq!(keys.len(), n, "every number texted, each message with one key");
        let pairs: BTreeSet<_> = texted.iter().map(|m| (m.to.clone(), m.idempotency_key.clone())).collect();
        assert_eq!(pairs.len(), n, "a number's messages all carry its one key");
        let repeats = texted.len() - n;
        eprintln!("texts before the crash: {before}; repeated after restart (same key): {repeats}");
        assert!((1..=16).contains(&repeats), "the texts in flight at the crash, and only those, come again ({repeats})");
        nothing_pending(&w).await;
    }

    /// A Wayfarer pushing through `fcm` (its service account key written to `dir`).
    fn pushing(fcm: &server::bench::fcm::Fcm, dir: &std::path::Path) -> Wayfarer {
        let key = dir.join("service-account.json");
        std::fs::write(&key, fcm.service_account_json()).expect("key file");
        let key = key.display().to_string();
        Wayfarer::start_with(
            None,
            &[("WAYFARER_PUSH_SERVICE_ACCOUNT_FILE", key.as_str()), ("WAYFARER_PUSH_BASE_URL", fcm.base_url.as_str())],
        )
    }

    /// Push end to end through the FCM stand-in: the devices a person's events bring (the
    /// Segment spec's `context.device.token`), an access token minted from the service account's
    /// key once, a device FCM says is gone forgotten, and the next notification to the rest.
    #[tokio::test(flavor = "multi_thread")]
    async fn push_through_fcm_to_the_devices_events_bring() {
        let fcm = server::bench::fcm::Fcm::start("acme-app").await.expect("stand-in");
        fcm.unregister("tok-old-phone");
        let dir = tempfile::tempdir().expect("dir");
        let w = pushing(&fcm, dir.path());
        let push =
            json!({"title": "{{ traits.name }}, your cart", "body": "It misses you", "link": "https://shop.test/cart/{{ event.cart_id }}"});
        let (status, out) = w.admin("PUT", "/templates/cart", Some(json!({"push": push}))).await;
        assert_eq!(status, 200, "{out}");
        let doc = json!({"id": "cart", "entry": {"event": "Cart Abandoned"}, "steps": [{"id": "nudge", "type": "send", "channel": "push", "template": "cart"}]});
        w.ok("POST", "/journeys", doc).await;
        w.ok("POST", "/journeys/cart/publish", json!({})).await;
        let key = w.write_key("app").await;
        let device = |token: &str| json!({"device": {"token": token, "type": "android"}, "app": {"name": "Acme"}});
        w.send(&key, "identify", &json!({"userId": "ann", "traits": {"name": "Ann"}, "context": device("tok-old-phone")})).await;
        w.send(&key, "track", &json!({"userId": "ann", "event": "Application Opened", "context": device("tok-new-phone")})).await;
        w.send(&key, "track", &json!({"userId": "ann", "event": "Cart Abandoned", "properties": {"cart_id": "c1"}})).await;
        let notified = wait_for("the notification", Duration::from_secs(30), || Some(fcm.notified()).filter(|n| !n.is_empty()));
        assert_eq!(notified.len(), 1, "the gone device got nothing: {notified:?}");
        let n = &notified[0];
        assert_eq!(
            (n.token.as_str(), n.title.as_str(), n.body.as_str(), n.link.as_deref()),
            ("tok-new-phone", "Ann, your cart", "It misses you", Some("https://shop.test/cart/c1"))
        );
        assert!(n.key.as_deref().is_some_and(|k| k.starts_with("run-")), "{n:?}");
        let sent = messages_with(&w, "sent").await;
        assert_eq!(
            (&sent[0]["channel"], &sent[0]["message"]["unregistered"], &sent[0]["to"]),
            (&json!("push"), &json!(1), &serde_json::Value::Null)
        );
        // The gone device is forgotten.
        let started = std::time::Instant::now();
        while person(&w, "ann").await.1["push_tokens"] != json!(["tok-new-phone"]) {
            assert!(started.elapsed() < Duration::from_secs(30), "the gone device stayed: {:?}", person(&w, "ann").await.1);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let (names, _, _) = person(&w, "ann").await;
        assert!(names.contains(&"Push Token Unregistered".to_owned()), "{names:?}");
        assert!(names.contains(&"Push Sent".to_owned()), "the send is an event named for its channel: {names:?}");
        w.send(&key, "track", &json!({"userId": "ann", "event": "Cart Abandoned", "properties": {"cart_id": "c2"}})).await;
        wait_for("the second notification", Duration::from_secs(30), || Some(fcm.count()).filter(|n| *n >= 2));
        assert_eq!(fcm.notified()[1].link.as_deref(), Some("https://shop.test/cart/c2"));
        assert_eq!(fcm.minted(), 1, "one access token for both");
    }

    /// Reads a live stream (Server-Sent Events) until a `message` event comes; its data.
    async fn next_message(stream: &mut reqwest::Response, buffer: &mut String) -> serde_json::Value {
        let started = std::time::Instant::now();
        loop {
            if let Some(end) = buffer.find("\n\n") {
                let frame: String = buffer.drain(..end + 2).collect();
                if frame.lines().any(|l| l == "event: message") {
                    let data: String = frame.lines().filter_map(|l| l.strip_prefix("data: ")).collect();
                    return serde_json::from_str(&data).expect("the data is JSON");
                }
                continue;
            }
            assert!(started.elapsed() < Duration::from_secs(30), "no message on the stream: {buffer:?}");
            let chunk = tokio::time::timeout(Duration::from_secs(30), stream.chunk()).await.expect("in time").expect("read");
            buffer.push_str(&String::from_utf8_lossy(&chunk.expect("the stream goes on")));
        }
    }

    /// In-app messages end to end: a page listening for a visitor not known yet gets the
    /// message a journey decides for them the moment it is kept; `/v1/decide` answers it for
    /// its place only; a view and a click come back once each as events, the click moves the
    /// waiting run on, and a clicked message is not shown again.
    #[tokio::test(flavor = "multi_thread")]
    async fn in_app_messages_reach_the_open_page_and_what_people_do_comes_back() {
        let w = Wayfarer::start(None);
        let in_app = json!({"placement": "home", "layout": "modal", "title": "{{ traits.name }}, 20% off", "body": "Today only",
            "button": "Shop", "link": "https://shop.test/sale?c={{ event.cart_id }}"});
        w.ok("PUT", "/templates/offer", json!({"in_app": in_app})).await;
        let doc = json!({"id": "offer", "entry": {"event": "Cart Abandoned"}, "steps": [
            {"id": "show", "type": "send", "channel": "in_app", "template": "offer", "next": "click"},
            {"id": "click", "type": "wait_for", "events": [{"event": "In-App Message Clicked", "next": "thanks"}], "timeout": "3d"},
            {"id": "thanks", "type": "update", "set": {"took_offer": true}}]});
        w.ok("POST", "/journeys", doc).await;
        w.ok("POST", "/journeys/offer/publish", json!({})).await;
        let key = w.write_key("web").await;
        // The page opens before the visitor's first event.
        let ask = |path: &str, query: &str| format!("{}/v1/{path}?writeKey={key}&{query}", w.base());
        let mut stream = w.http.get(ask("in-app/stream", "placement=home&anonymousId=anon-1")).send().await.expect("stream");
        assert_eq!(stream.status(), 200);
        assert_eq!(stream.headers()["content-type"], "text/event-stream");
        assert_eq!(stream.headers()["access-control-allow-origin"], "*", "pages of any origin may listen");
        w.send(&key, "identify", &json!({"anonymousId": "anon-1", "userId": "ann", "traits": {"name": "Ann"}})).await;
        w.send(&key, "track", &json!({"userId": "ann", "event": "Cart Abandoned", "properties": {"cart_id": "c9"}})).await;
        let mut buffer = String::new();
        let live = next_message(&mut stream, &mut buffer).await;
        assert_eq!(
            (&live["layout"], &live["title"], &live["body"], &live["button"], &live["link"], &live["placement"]),
            (
                &json!("modal"),
                &json!("Ann, 20% off"),
                &json!("Today only"),
                &json!("Shop"),
                &json!("https://shop.test/sale?c=c9"),
                &json!("home")
            )
        );
        // Asked for by either id, at its place; not elsewhere.
        let decide = |query: &str| {
            let url = format!("{}/v1/decide?{query}", w.base());
            let req = w.http.get(url).basic_auth(&key, Some(""));
            async move { req.send().await.expect("decide").json::<serde_json::Value>().await.expect("JSON") }
        };
        assert_eq!(decide("placement=home&userId=ann").await["messages"], json!([live.clone()]));
        assert_eq!(decide("placement=home&anonymousId=anon-1").await["messages"][0]["id"], live["id"]);
        assert_eq!(decide("placement=checkout&userId=ann").await["messages"], json!([]));
        assert_eq!(decide("placement=home&userId=nobody-yet").await["messages"], json!([]), "an unknown person has nothing");
        let act = |action: &str| {
            let url = ask(&format!("in-app/{}/{action}", live["id"]), "userId=ann");
            let req = w.http.post(url);
            async move { req.send().await.expect("act").json::<serde_json::Value>().await.expect("JSON") }
        };
        let theirs = w.http.post(ask(&format!("in-app/{}/clicked", live["id"]), "userId=nobody-yet")).send().await.expect("act");
        assert_eq!(theirs.status(), 404, "only the person it is for may act on a message");
        assert_eq!(act("viewed").await, json!({"recorded": true}));
        assert_eq!(act("viewed").await, json!({"recorded": false}), "a page shown again is not a second view");
        assert_eq!(act("clicked").await, json!({"recorded": true}));
        assert_eq!(decide("placement=home&userId=ann").await["messages"], json!([]), "a clicked message is done");
        let started = std::time::Instant::now();
        while person(&w, "ann").await.1["took_offer"] != json!(true) {
            assert!(started.elapsed() < Duration::from_secs(30), "the click did not move the run on: {:?}", person(&w, "ann").await);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let (names, _, events) = person(&w, "ann").await;
        for name in ["In-App Message Viewed", "In-App Message Clicked"] {
            assert_eq!(names.iter().filter(|n| *n == name).count(), 1, "{name} once: {names:?}");
        }
        let clicked = events.as_array().into_iter().flatten().find(|e| e["name"] == "In-App Message Clicked").expect("clicked");
        assert_eq!(
            (&clicked["properties"]["journey"], &clicked["properties"]["template"], &clicked["properties"]["link"]),
            (&json!("offer"), &json!("offer"), &json!("https://shop.test/sale?c=c9"))
        );
        // A second message comes live on the same stream.
        w.send(&key, "track", &json!({"userId": "ann", "event": "Cart Abandoned", "properties": {"cart_id": "c10"}})).await;
        let second = next_message(&mut stream, &mut buffer).await;
        assert_eq!(second["link"], json!("https://shop.test/sale?c=c10"));
        assert_ne!(second["id"], live["id"]);
    }

    /// Crash (f): the server is killed as it keeps in-app messages and puts tasks in the inbox.
    /// After restart every person has exactly one of each.
    #[tokio::test(flavor = "multi_thread")]
    async fn kill_9_while_keeping_in_app_messages_and_tasks() {
        let mut w = Wayfarer::start(None);
        w.ok("PUT", "/templates/hello", json!({"in_app": {"title": "Welcome to {{ event.plan }}"}})).await;
        let doc = json!({"id": "hello", "entry": {"event": "Signed Up"}, "steps": [
            {"id": "hi", "type": "send", "channel": "in_app", "template": "hello", "next": "call"},
            {"id": "call", "type": "task", "title": "Welcome call ({{ event.plan }})", "team": "success"}]});
        w.ok("POST", "/journeys", doc).await;
        w.ok("POST", "/journeys/hello/publish", json!({})).await;
        let key = w.write_key("app").await;
        let n = 300;
        let batch: Vec<serde_json::Value> = (0..n)
            .map(|i| json!({"type": "track", "userId": format!("p{i}"), "event": "Signed Up", "properties": {"plan": "pro"}}))
            .collect();
        assert_eq!(w.send(&key, "batch", &json!({"batch": batch})).await.0, 200);
        // Killed as soon as the events are committed: the messages are being kept.
        w.kill9();
        w.restart();
        nothing_pending(&w).await;
        for i in 0..n {
            let url = format!("{}/v1/decide?userId=p{i}", w.base());
            let out: serde_json::Value =
                w.http.get(url).basic_auth(&key, Some("")).send().await.expect("decide").json().await.expect("JSON");
            assert_eq!(out["messages"].as_array().map(Vec::len), Some(1), "p{i}: {out}");
            assert_eq!(out["messages"][0]["title"], json!("Welcome to pro"));
        }
        let (_, tasks) = w.admin("GET", "/tasks?team=success&limit=1000", None).await;
        let people: BTreeSet<i64> = tasks["tasks"].as_array().into_iter().flatten().filter_map(|t| t["profile_id"].as_i64()).collect();
        assert_eq!((tasks["tasks"].as_array().map(Vec::len), people.len()), (Some(n), n), "one task each");
    }

    /// Crash (e): the server is killed while push notifications are in flight. After restart
    /// every one arrives; those in flight come again with the same key in their data.
    #[tokio::test(flavor = "multi_thread")]
    async fn kill_9_while_pushing() {
        let fcm = server::bench::fcm::Fcm::start("acme-app").await.expect("stand-in");
        fcm.hold();
        let dir = tempfile::tempdir().expect("dir");
        let mut w = pushing(&fcm, dir.path());
        w.ok("PUT", "/templates/hello", json!({"push": {"title": "Hello", "body": "Welcome to {{ event.plan }}"}})).await;
        let doc = json!({"id": "hello", "entry": {"event": "Signed Up"}, "steps": [{"id": "nudge", "type": "send", "channel": "push", "template": "hello"}]});
        w.ok("POST", "/journeys", doc).await;
        w.ok("POST", "/journeys/hello/publish", json!({})).await;
        let key = w.write_key("app").await;
        let n = 100;
        let batch: Vec<serde_json::Value> = (0..n)
            .map(|i| {
                let context = json!({"device": {"token": format!("tok-{i}")}});
                json!({"type": "track", "userId": format!("d{i}"), "event": "Signed Up", "properties": {"plan": "pro"}, "context": context})
            })
            .collect();
        assert_eq!(w.send(&key, "batch", &json!({"batch": batch})).await.0, 200);
        wait_for("notifications in flight", Duration::from_secs(30), || Some(fcm.count()).filter(|n| *n >= 8));
        w.kill9();
        let before = fcm.count();
        assert!(before < n, "the crash interrupted the notifications ({before} of {n} taken)");
        fcm.release();
        w.restart();
        let notified = wait_for("every notification", Duration::from_secs(60), || {
            let all = fcm.notified();
            (all.iter().map(|m| &m.token).collect::<BTreeSet<_>>().len() >= n).then_some(all)
        });
        let pairs: BTreeSet<_> = notified.iter().map(|m| (m.token.clone(), m.key.clone())).collect();
        assert_eq!(pairs.len(), n, "every device notified, each notification with one key");
        let repeats = notified.len() - n;
        eprintln!("notifications before the crash: {before}; repeated after restart (same key): {repeats}");
        assert!((1..=16).contains(&repeats), "the notifications in flight at the crash, and only those, come again ({repeats})");
        nothing_pending(&w).await;
    }

    /// The same product on PostgreSQL: the binary with `database_url`, a real SDK, real SMTP.
    #[tokio::test(flavor = "multi_thread")]
    async fn runs_on_postgresql() {
        let Some(python) = python() else { return };
        let Some(url) = postgres_database() else { return };
        let smtp = Smtp::start(&python);
        let mut w = Wayfarer::start_with(Some(smtp.port), &[("WAYFARER_DATABASE_URL", url.as_str())]);
        seed_consultation(&w).await;
        let key = w.write_key("website").await;
        let mut calls = vec![json!({"call": "identify", "user_id": "pia", "traits": {"firstName": "Pia", "email": "pia@example.test"}})];
        for p in ["a", "b", "c"] {
            calls.push(json!({"call": "page", "user_id": "pia", "name": "Product", "properties": {"path": format!("/products/{p}")}}));
        }
        send_python(&python, &w.base(), &key, &json!(calls), false);
        let mails = wait_for("the invite", Duration::from_secs(30), || Some(smtp.mails()).filter(|m| !m.is_empty()));
        assert_eq!(mails[0].subject, "Pia, would a free consultation help?");
        // Waiting runs survive a crash on PostgreSQL too. (Kill once the send is recorded:
        // a crash between the SMTP server's acceptance and the record re-sends, which the
        // kill -9 while sending test covers.)
        let mut recorded = false;
        for _ in 0..1500 {
            let (_, sent) = w.admin("GET", "/messages?status=sent", None).await;
            recorded = sent["messages"].as_array().is_some_and(|m| m.len() == 1);
            if recorded {
                break;
            }
            // Waiting for the other process to record its send, not for time to pass.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(recorded, "the invite's send was recorded");
        w.kill9();
        w.start_again();
        w.advance("3d").await;
        let mails = wait_for("the reminder", Duration::from_secs(30), || Some(smtp.mails()).filter(|m| m.len() >= 2));
        assert_eq!(
            mails.iter().map(|m| m.subject.as_str()).collect::<Vec<_>>(),
            ["A reminder for Pia", "Pia, would a free consultation help?"]
        );
        let (_, ready) = w.admin("GET", "/clock", None).await;
        assert_eq!(ready["manual"], json!(true));
    }

    /// SIGTERM: in-flight requests finish, the engine commits what it accepted, the process
    /// exits cleanly, and everything acknowledged is there after a restart.
    #[tokio::test(flavor = "multi_thread")]
    async fn graceful_shutdown_keeps_everything_acknowledged() {
        let mut w = Wayfarer::start(None);
        let key = w.write_key("web").await;
        let batch: Vec<_> = (0..200)
            .map(|i| json!({"type": "track", "userId": format!("s{}", i % 10), "event": "Clicked", "messageId": format!("c{i}")}))
            .collect();
        let (status, out) = w.send(&key, "batch", &json!({"batch": batch})).await;
        assert_eq!((status, out["accepted"].clone()), (200, json!(200)));
        let exit = w.terminate();
        assert!(exit.success(), "clean exit: {exit}");
        w.start_again();
        let mut total = 0;
        for i in 0..10 {
            let (_, p) = w.admin("GET", &format!("/profiles/lookup?user_id=s{i}"), None).await;
            total += p["events"].as_array().map_or(0, Vec::len);
        }
        assert_eq!(total, 200);
    }

    fn wayfarer_cli(w: &Wayfarer, args: &[&str]) -> (bool, String) {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_wayfarer"))
            .args(args)
            .env("WAYFARER_SERVER", w.base())
            .env("WAYFARER_ADMIN_TOKEN", TOKEN)
            .output()
            .expect("run wayfarer");
        (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
    }

    /// Journeys as code: `validate` reports every problem of a broken file; `apply` then
    /// `diff` shows no difference; a change shows as a diff and publishes a new version; and
    /// `backtest` replays the stored events through the file.
    #[tokio::test(flavor = "multi_thread")]
    async fn journeys_as_code_round_trip_and_backtest() {
        let w = Wayfarer::start(None);
        let dir = tempfile::tempdir().expect("dir");
        let broken = dir.path().join("broken.yaml");
        std::fs::write(
            &broken,
            "id: broken\nentry: {event: X, reentry: sometimes}\nsteps:\n  - {id: a, type: wait}\n  - {id: b, type: send, next: nowhere}\n",
        )
        .expect("write");
        let (ok, out) = wayfarer_cli(&w, &["journeys", "validate", broken.to_str().expect("path")]);
        assert!(!ok, "{out}");
        for expected in [
            "4 problem(s)",
            "/entry/reentry invalid_field",
            "/steps/0 [a] invalid_wait",
            "/steps/1/template [b] missing_field",
            "/steps/1/next [b] dangling_next",
        ] {
            assert!(out.contains(expected), "{expected:?} in:\n{out}");
        }
        seed_templates(&w).await;
        let file = root().join("examples/consultation.json");
        let file = file.to_str().expect("path");
        let (ok, out) = wayfarer_cli(&w, &["journeys", "apply", file]);
        assert!(ok && out.contains("published version 1"), "{out}");
        let (ok, out) = wayfarer_cli(&w, &["journeys", "diff", file]);
        assert!(ok && out.contains("no differences"), "{out}");
        let (ok, out) = wayfarer_cli(&w, &["journeys", "apply", file]);
        assert!(ok && out.contains("unchanged"), "{out}");
        let changed = dir.path().join("consultation.json");
        std::fs::write(&changed, std::fs::read_to_string(file).expect("read").replace("\"timeout\": \"3d\"", "\"timeout\": \"5d\""))
            .expect("write");
        let (ok, out) = wayfarer_cli(&w, &["journeys", "diff", changed.to_str().expect("path")]);
        assert!(!ok && out.contains("~ step booked /timeout: \"3d\" -> \"5d\""), "{out}");
        assert!(out.contains("1 difference(s) from published version 1"), "{out}");
        // Without its first step: one removal, not every step changed.
        let shorter = dir.path().join("shorter.json");
        let mut doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(file).expect("read")).expect("json");
        doc["steps"].as_array_mut().expect("steps").remove(0);
        std::fs::write(&shorter, doc.to_string()).expect("write");
        let (ok, out) = wayfarer_cli(&w, &["journeys", "diff", shorter.to_str().expect("path")]);
        assert!(!ok && out.contains("1 difference(s)"), "{out}");
        assert!(out.contains("- step invite (was the first step; runs now start at booked): "), "{out}");
        let (ok, out) = wayfarer_cli(&w, &["journeys", "apply", changed.to_str().expect("path")]);
        assert!(ok && out.contains("published version 2"), "{out}");
        // An invalid file is refused with its diagnostics, and the draft stays as it was.
        let invalid = dir.path().join("invalid.json");
        let mut doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&changed).expect("read")).expect("json");
        doc["steps"][0]["template"] = json!("no-such-template");
        std::fs::write(&invalid, doc.to_string()).expect("write");
        let (_, before) = w.admin("GET", "/journeys/consultation", None).await;
        let (ok, out) = wayfarer_cli(&w, &["journeys", "apply", invalid.to_str().expect("path")]);
        assert!(!ok, "{out}");
        assert!(out.contains("nothing was saved or published") && out.contains("unknown_template"), "{out}");
        let (_, after) = w.admin("GET", "/journeys/consultation", None).await;
        assert_eq!((&after["draft"], &after["published_version"]), (&before["draft"], &json!(2)));

        let key = w.write_key("web").await;
        w.send(&key, "identify", &json!({"userId": "bo", "traits": {"firstName": "Bo", "email": "bo@x.test"}})).await;
        // One view a minute (a backtest explains the entry events of one instant from the
        // person's state after all of them).
        for p in ["a", "b", "c"] {
            w.send(&key, "page", &json!({"userId": "bo", "properties": {"path": format!("/products/{p}")}})).await;
            w.advance("1m").await;
        }
        w.advance("10d").await;
        let (ok, out) = wayfarer_cli(&w, &["backtest", file, "--from", START, "--to", "2030-01-17T09:00:00Z"]);
        assert!(ok, "{out}");
        for expected in [
            "events: 4 in the period (0 before it, replayed as warm-up)",
            "entry events (\"Page Viewed\"): 3; entered 1, filter false 2, run already waiting 0",
            "count(\"Page Viewed\" where … in 7d) = 1 gte 3 -> false",
            "       1  consultation-invite",
            "       1  consultation-reminder",
            "user_id:bo",
            "booked: wait_for Consultation Booked timed out -> remind",
        ] {
            assert!(out.contains(expected), "{expected:?} in:\n{out}");
        }
    }

    /// The benchmark's smoke run: it completes and its numbers are sane. (Figures are
    /// reported by `wayfarer bench`, never asserted as speeds here.)
    #[tokio::test(flavor = "multi_thread")]
    async fn bench_smoke_run_completes_with_sane_numbers() {
        bench_smoke(&[], 10).await;
    }

    /// The same on PostgreSQL (`--database-url`), as docs/BENCHMARKS.md documents it.
    #[tokio::test(flavor = "multi_thread")]
    async fn bench_smoke_run_on_postgres_runs_to_the_end() {
        let Some(url) = postgres_database() else { return };
        // A debug build on PostgreSQL is slow: a few latency samples in the quick run's window.
        bench_smoke(&["--database-url", &url], 0).await;
    }

    async fn bench_smoke(extra: &[&str], min_samples: u64) {
        let python = python();
        let mut args: Vec<String> = ["bench", "--quick", "--runs", "1", "--json"].iter().chain(extra).map(|s| s.to_string()).collect();
        if let Some(p) = &python {
            args.extend(["--python".to_owned(), p.display().to_string()]);
        }
        let out = tokio::task::spawn_blocking(move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_wayfarer")).args(&args).env("RUST_LOG", "warn").output()
        })
        .await
        .expect("join")
        .expect("run bench");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let r: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
        for key in ["batch_events_per_sec", "single_events_per_sec", "baseline_db_events_per_sec", "baseline_http_events_per_sec"] {
            assert!(r[key]["median"].as_f64().is_some_and(|v| v > 0.0), "{key}: {r}");
        }
        let l = &r["latency_ms"];
        assert!(l["samples"].as_u64().is_some_and(|n| n > min_samples), "{r}");
        let p: Vec<f64> = ["p50", "p95", "p99", "max"].iter().map(|k| l[k].as_f64().unwrap_or(-1.0)).collect();
        assert!(p[0] > 0.0 && p.windows(2).all(|w| w[0] <= w[1]), "latencies ordered: {p:?}");
        assert_eq!(r["timers"]["runs"], json!(500));
        assert_eq!(r["scale"]["people"], json!(2000));
        // Segments: every qualifying event's person entered (the bench checks it), a fill over
        // everyone loaded (each has the trait and the event the segment asks for).
        assert!(r["segment_entry"]["with_segments"]["samples"].as_u64().is_some_and(|n| n > 0), "{r}");
        assert_eq!(r["scale"]["fill"]["members"], json!(2000), "{r}");
        assert_eq!(r["scale"]["runs"], json!(2000), "every person loaded has a run waiting on a timer: {r}");
        // The data directory's size is the embedded store's (PostgreSQL's is not measured).
        let sizes: &[&str] =
            if r["store"] == json!("sqlite") { &["rss_mib", "data_mib", "ingest_secs"] } else { &["rss_mib", "ingest_secs"] };
        for key in sizes {
            assert!(r["scale"][key].as_f64().is_some_and(|v| v > 0.0), "{key}: {r}");
        }
        assert!(r["scale"]["restart_secs"].as_f64().is_some_and(|v| v >= 0.0), "{r}");
        assert!(r["timers"]["firings_per_sec"].as_f64().is_some_and(|v| v > 0.0), "{r}");
        // Email into aiosmtpd, beside a bare client into the same sink (CI always has it).
        if python.is_some() {
            let e = &r["email"];
            assert_eq!((&e["people"], &e["connections"]), (&json!(300), &json!(16)), "{r}");
            for key in ["wayfarer_per_sec", "ceiling_per_sec", "wayfarer_secs"] {
                assert!(e[key]["median"].as_f64().is_some_and(|v| v > 0.0), "{key}: {r}");
            }
        }
        // SMS and push into their stand-ins, each beside a bare client into it.
        for channel in ["sms", "push"] {
            let s = &r[channel];
            assert_eq!((&s["people"], &s["concurrency"]), (&json!(300), &json!(8)), "{channel}: {r}");
            for key in ["wayfarer_per_sec", "ceiling_per_sec", "wayfarer_secs"] {
                assert!(s[key]["median"].as_f64().is_some_and(|v| v > 0.0), "{channel} {key}: {r}");
            }
        }
    }
}
