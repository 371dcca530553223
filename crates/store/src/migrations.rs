//! Numbered, forward-only migrations, shared by both backends.
//!
//! `{id}` stands for the dialect's auto-incrementing primary key column type; `{run_node}`
//! and `{run_control}` for reading a run's step and control-group flag out of its stored
//! state (`runs.state`, JSON), which the dialects spell differently.

pub(crate) const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        r#"
CREATE TABLE sources (
    id TEXT PRIMARY KEY,
    write_key TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);
CREATE TABLE events (
    seq {id},
    source TEXT NOT NULL,
    message_id TEXT NOT NULL,
    profile_id BIGINT,
    name TEXT NOT NULL,
    ts BIGINT NOT NULL,
    body TEXT NOT NULL,
    UNIQUE (source, message_id)
);
CREATE INDEX events_history ON events (profile_id, name, ts);
CREATE INDEX events_timeline ON events (profile_id, seq);
CREATE TABLE profiles (
    id {id},
    traits TEXT NOT NULL,
    trait_times TEXT NOT NULL,
    merged_into BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE TABLE identities (
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    profile_id BIGINT NOT NULL,
    PRIMARY KEY (kind, value)
);
CREATE INDEX identities_profile ON identities (profile_id);
CREATE TABLE journeys (
    id TEXT PRIMARY KEY,
    draft TEXT NOT NULL,
    published_version BIGINT,
    updated_at BIGINT NOT NULL
);
CREATE TABLE journey_versions (
    id TEXT NOT NULL,
    version BIGINT NOT NULL,
    document TEXT NOT NULL,
    published_at BIGINT NOT NULL,
    PRIMARY KEY (id, version)
);
CREATE TABLE runs (
    id {id},
    profile_id BIGINT NOT NULL,
    journey_id TEXT NOT NULL,
    status TEXT NOT NULL,
    wake_at BIGINT,
    state TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX runs_profile ON runs (profile_id, journey_id);
CREATE INDEX runs_wake ON runs (wake_at) WHERE wake_at IS NOT NULL;
CREATE TABLE traces (
    run_id BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    at BIGINT NOT NULL,
    lines TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
);
CREATE TABLE outbox (
    id {id},
    idempotency_key TEXT NOT NULL UNIQUE,
    profile_id BIGINT NOT NULL,
    run_id BIGINT,
    channel TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    last_error TEXT,
    result TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE status = 'pending';
CREATE INDEX outbox_profile ON outbox (profile_id, id);
CREATE TABLE templates (
    id TEXT PRIMARY KEY,
    subject TEXT NOT NULL,
    html TEXT NOT NULL,
    body_text TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"#,
    ),
    (
        2,
        r#"
ALTER TABLE journeys ADD COLUMN state TEXT NOT NULL DEFAULT 'active';
"#,
    ),
    (
        3,
        r#"
CREATE TABLE counters (
    profile_id BIGINT NOT NULL,
    query_key TEXT NOT NULL,
    state TEXT NOT NULL,
    PRIMARY KEY (profile_id, query_key)
);
"#,
    ),
    (
        4,
        // Every event's person is known when it is logged; one per-person index serves both
        // history windows and the timeline (each index costs a random page write per event).
        r#"
DROP INDEX events_timeline;
"#,
    ),
    (
        5,
        // Merges the identity rule refused (visible on both profiles); inputs the engine could
        // not step (kept to replay); the event and trait names the data has shown.
        r#"
CREATE TABLE refused_merges (
    id {id},
    profile_id BIGINT NOT NULL,
    other_id BIGINT NOT NULL,
    identity_kind TEXT NOT NULL,
    identity_value TEXT NOT NULL,
    reason TEXT NOT NULL,
    message_id TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX refused_merges_profile ON refused_merges (profile_id);
CREATE INDEX refused_merges_other ON refused_merges (other_id);
CREATE TABLE dead_letters (
    id {id},
    profile_id BIGINT NOT NULL,
    input TEXT NOT NULL,
    error TEXT NOT NULL,
    at BIGINT NOT NULL,
    replayed_at BIGINT
);
CREATE TABLE seen_names (
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY (kind, name)
);
"#,
    ),
    (
        6,
        // Keyed runs (a journey's `entry.key`, e.g. a cart id): the latest run of each journey
        // and key is what re-entry rules read. Empty for journeys without a key.
        r#"
ALTER TABLE runs ADD COLUMN run_key TEXT NOT NULL DEFAULT '';
"#,
    ),
    (
        7,
        // Per-node counts of each journey's runs, kept by the engine in the transactions of
        // the transitions that cause them (see `Tx::add_node_counts`): by UTC hour (the hour's
        // first millisecond), and the waiting gauge, which is not by hour. The gauge starts
        // from the runs waiting now (control-group runs are not counted at steps); the hourly
        // counts start empty.
        r#"
CREATE TABLE node_counts (
    journey_id TEXT NOT NULL,
    hour BIGINT NOT NULL,
    node TEXT NOT NULL,
    entered BIGINT NOT NULL,
    passed BIGINT NOT NULL,
    exited BIGINT NOT NULL,
    converted BIGINT NOT NULL,
    PRIMARY KEY (journey_id, hour, node)
);
CREATE TABLE node_waiting (
    journey_id TEXT NOT NULL,
    node TEXT NOT NULL,
    waiting BIGINT NOT NULL,
    PRIMARY KEY (journey_id, node)
);
INSERT INTO node_waiting (journey_id, node, waiting)
    SELECT journey_id, COALESCE({run_node}, '$entry'), COUNT(*) FROM runs
    WHERE status = 'waiting' AND NOT {run_control}
    GROUP BY journey_id, COALESCE({run_node}, '$entry');
"#,
    ),
    (
        8,
        // Teams: users who sign in (e-mails stored lowercased; passwords as argon2 PHC
        // strings), their sessions and personal API tokens (only SHA-256 hashes of the
        // secrets), and the audit log of every change (who, what, when, the JSON diff).
        r#"
CREATE TABLE users (
    id {id},
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE TABLE sessions (
    token_sha256 TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL,
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE TABLE api_tokens (
    id {id},
    user_id BIGINT NOT NULL,
    name TEXT NOT NULL,
    token_sha256 TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);
CREATE TABLE audit (
    id {id},
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    diff TEXT NOT NULL
);
"#,
    ),
    (
        9,
        // The property paths the data has shown, per event name (what condition builders
        // offer): top-level keys and nested object keys as dotted paths (`cart.total`). The
        // engine bounds what it notes (depth, paths per event name: `engine::paths`).
        r#"
CREATE TABLE property_paths (
    event TEXT NOT NULL,
    path TEXT NOT NULL,
    PRIMARY KEY (event, path)
);
"#,
    ),
    (
        10,
        // Each channel's dispatch queue reads its own due entries.
        r#"
DROP INDEX outbox_due;
CREATE INDEX outbox_due ON outbox (channel, next_attempt_at) WHERE status = 'pending';
"#,
    ),
    (
        11,
        // Marketing (not sent to who unsubscribed) or transactional.
        r#"
ALTER TABLE templates ADD COLUMN category TEXT NOT NULL DEFAULT 'marketing';
"#,
    ),
    (
        12,
        // Marketing messages sent, which frequency caps count (1), and the rest (0).
        r#"
ALTER TABLE outbox ADD COLUMN capped BIGINT NOT NULL DEFAULT 0;
"#,
    ),
    (
        13,
        // A template's SMS text; the address each message went to (its `to`), by which an
        // inbound SMS (STOP) finds the people who were texted at its number.
        r#"
ALTER TABLE templates ADD COLUMN sms TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN address TEXT;
CREATE INDEX outbox_address ON outbox (channel, address) WHERE address IS NOT NULL;
"#,
    ),
    (
        14,
        // A template's push notification: title, body, link and image (JSON).
        r#"
ALTER TABLE templates ADD COLUMN push TEXT NOT NULL DEFAULT '{}';
"#,
    ),
    (
        15,
        // A template's in-app message and translations (JSON), and the in-app messages kept for people until
        // they click or dismiss them or they expire (their id is the outbox entry's); the
        // tasks journeys ask people (sales, support) to do (the same); images templates show,
        // served by their content's SHA-256.
        r#"
ALTER TABLE templates ADD COLUMN in_app TEXT NOT NULL DEFAULT '{}';
ALTER TABLE templates ADD COLUMN locales TEXT NOT NULL DEFAULT '{}';
CREATE TABLE in_app_messages (
    id BIGINT PRIMARY KEY,
    profile_id BIGINT NOT NULL,
    journey TEXT NOT NULL,
    template TEXT NOT NULL,
    placement TEXT NOT NULL,
    content TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    viewed_at BIGINT,
    clicked_at BIGINT,
    dismissed_at BIGINT
);
CREATE INDEX in_app_messages_profile ON in_app_messages (profile_id, id);
CREATE TABLE tasks (
    id BIGINT PRIMARY KEY,
    profile_id BIGINT NOT NULL,
    journey TEXT NOT NULL,
    node TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    assignee TEXT,
    team TEXT,
    due_at BIGINT,
    created_at BIGINT NOT NULL,
    status TEXT NOT NULL,
    closed_at BIGINT,
    closed_by TEXT,
    note TEXT
);
CREATE INDEX tasks_status ON tasks (status, id);
CREATE INDEX tasks_profile ON tasks (profile_id, id);
CREATE TABLE assets (
    id {id},
    hash TEXT NOT NULL UNIQUE,
    content_type TEXT NOT NULL,
    name TEXT NOT NULL,
    size BIGINT NOT NULL,
    bytes {bytes} NOT NULL,
    created_at BIGINT NOT NULL
);
"#,
    ),
    (
        16,
        r#"
CREATE TABLE segments (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    document TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE TABLE segment_members (
    segment_id TEXT NOT NULL,
    profile_id BIGINT NOT NULL,
    since BIGINT NOT NULL,
    PRIMARY KEY (segment_id, profile_id)
);
CREATE INDEX segment_members_profile ON segment_members (profile_id);
CREATE TABLE segment_checks (
    profile_id BIGINT PRIMARY KEY,
    at BIGINT NOT NULL
);
CREATE INDEX segment_checks_at ON segment_checks (at);
CREATE TABLE segment_counts (
    segment_id TEXT NOT NULL,
    hour BIGINT NOT NULL,
    entered BIGINT NOT NULL,
    exited BIGINT NOT NULL,
    PRIMARY KEY (segment_id, hour)
);
"#,
    ),
    (
        17,
        r#"
CREATE TABLE computed_traits (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    document TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE TABLE stage_moves (
    id {id},
    profile_id BIGINT NOT NULL,
    at BIGINT NOT NULL,
    from_stage TEXT,
    to_stage TEXT
);
CREATE INDEX stage_moves_at ON stage_moves (at);
CREATE INDEX stage_moves_profile ON stage_moves (profile_id, id);
"#,
    ),
    (
        18,
        // The funnel per content (`Tx::reach`): how far each message got, one bit per stage
        // (so each counts once per message), and the counts per journey, step, template and
        // the hour the message was made.
        r#"
ALTER TABLE outbox ADD COLUMN reached BIGINT NOT NULL DEFAULT 0;
CREATE INDEX outbox_run ON outbox (run_id) WHERE run_id IS NOT NULL;
CREATE TABLE content_counts (
    journey_id TEXT NOT NULL,
    node TEXT NOT NULL,
    template TEXT NOT NULL,
    hour BIGINT NOT NULL,
    channel TEXT NOT NULL,
    sent BIGINT NOT NULL DEFAULT 0,
    delivered BIGINT NOT NULL DEFAULT 0,
    opened BIGINT NOT NULL DEFAULT 0,
    clicked BIGINT NOT NULL DEFAULT 0,
    converted BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (journey_id, node, template, hour)
);
"#,
    ),
];

/// The migrations' placeholders in a dialect: (placeholder, SQLite, PostgreSQL).
pub(crate) const PLACEHOLDERS: &[(&str, &str, &str)] = &[
    ("{id}", "INTEGER PRIMARY KEY AUTOINCREMENT", "BIGSERIAL PRIMARY KEY"),
    ("{bytes}", "BLOB", "BYTEA"),
    ("{run_node}", "json_extract(state, '$.node')", "(state::jsonb ->> 'node')"),
    ("{run_control}", "COALESCE(json_extract(state, '$.control'), 0) = 1", "COALESCE((state::jsonb ->> 'control')::boolean, false)"),
];
