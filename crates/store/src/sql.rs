//! The one implementation of `Tx`, written against a minimal connection trait that both
//! backends provide. SQL uses `?` placeholders; the PostgreSQL driver numbers them.

use std::collections::BTreeMap;
use std::sync::Arc;

use domain::Map;
use domain::event::Event;
use domain::ids::{
    DeadLetterId, EventSeq, Identity, JourneyId, MessageId, NodeId, OutboxId, ProfileId, RunId, SegmentId, SourceId, TemplateId,
};
use domain::journey::{Run, RunStatus};
use domain::profile::Profile;
use domain::time::Timestamp;
use serde_json::Value;

use crate::migrations::{MIGRATIONS, PLACEHOLDERS};
use crate::{
    ApiToken, ApiTokenId, Asset, Attempt, AuditEntry, AuditId, Category, ContentFunnel, DeadInput, DeadLetter, Error, InAppAction,
    InAppMessage, JourneyRecord, JourneyState, JourneyStatus, JourneyVersion, MessageStage, Messages, NameKind, NewAudit, NewOutbox,
    NewUser, NodeCounts, NodeDeltas, NodeHour, NodeTally, OutboxEntry, OutboxStatus, PropertyPath, RefusedMerge, Result, Role, RunRecord,
    SegmentChange, SegmentHour, Session, Source, StageFlow, StageMove, StoredComputedTrait, StoredEvent, StoredSegment, Task, TaskFilter,
    TaskStatus, Template, TraceRecord, Tx, User, UserId,
};

/// A connection from `pool`: a free one if there is one, else the next in turn.
pub(crate) fn pick<'a, T>(pool: &'a [std::sync::Mutex<T>], next: &std::sync::atomic::AtomicUsize) -> Result<std::sync::MutexGuard<'a, T>> {
    let start = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let n = pool.len().max(1);
    if let Some(free) = (0..n).find_map(|i| pool.get((start + i) % n)?.try_lock().ok()) {
        return Ok(free);
    }
    pool.get(start % n).ok_or(Error::Poisoned)?.lock().map_err(|_| Error::Poisoned)
}

/// A parameter or column value.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Val {
    Null,
    Int(i64),
    Text(String),
    Bytes(Vec<u8>),
}

impl From<i64> for Val {
    fn from(v: i64) -> Val {
        Val::Int(v)
    }
}
impl From<&str> for Val {
    fn from(v: &str) -> Val {
        Val::Text(v.to_owned())
    }
}
impl From<String> for Val {
    fn from(v: String) -> Val {
        Val::Text(v)
    }
}
impl From<&String> for Val {
    fn from(v: &String) -> Val {
        Val::Text(v.clone())
    }
}
impl From<&[u8]> for Val {
    fn from(v: &[u8]) -> Val {
        Val::Bytes(v.to_vec())
    }
}
impl<T: Into<Val>> From<Option<T>> for Val {
    fn from(v: Option<T>) -> Val {
        v.map_or(Val::Null, Into::into)
    }
}

macro_rules! params {
    ($($v:expr),* $(,)?) => { &[$(Val::from($v)),*] };
}

pub(crate) struct Row(pub(crate) Vec<Val>);

impl Row {
    fn int(&self, i: usize) -> Result<i64> {
        match self.0.get(i) {
            Some(Val::Int(v)) => Ok(*v),
            other => Err(Error::Corrupt(format!("column {i}: expected an integer, found {other:?}"))),
        }
    }
    fn opt_int(&self, i: usize) -> Result<Option<i64>> {
        match self.0.get(i) {
            Some(Val::Null) => Ok(None),
            _ => self.int(i).map(Some),
        }
    }
    fn text(&self, i: usize) -> Result<&str> {
        match self.0.get(i) {
            Some(Val::Text(v)) => Ok(v),
            other => Err(Error::Corrupt(format!("column {i}: expected text, found {other:?}"))),
        }
    }
    fn opt_text(&self, i: usize) -> Result<Option<&str>> {
        match self.0.get(i) {
            Some(Val::Null) => Ok(None),
            _ => self.text(i).map(Some),
        }
    }
    fn bytes(&self, i: usize) -> Result<&[u8]> {
        match self.0.get(i) {
            Some(Val::Bytes(v)) => Ok(v),
            other => Err(Error::Corrupt(format!("column {i}: expected bytes, found {other:?}"))),
        }
    }
    fn json<T: serde::de::DeserializeOwned>(&self, i: usize) -> Result<T> {
        serde_json::from_str(self.text(i)?).map_err(|e| Error::Corrupt(format!("column {i}: {e}")))
    }
}

/// Trace lines as stored, old rows (text alone) included.
fn read_lines(stored: Vec<crate::StoredLine>) -> Vec<domain::trace::TraceLine> {
    stored.into_iter().map(Into::into).collect()
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| Error::Corrupt(e.to_string()))
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

/// What a backend's connection must do.
pub(crate) trait Conn {
    fn execute(&mut self, sql: &str, params: &[Val]) -> Result<u64>;
    fn query(&mut self, sql: &str, params: &[Val]) -> Result<Vec<Row>>;
    fn batch(&mut self, sql: &str) -> Result<()>;
    fn dialect(&self) -> Dialect;
    /// What makes this connection's commits durable, when a commit alone does not.
    fn durability(&self) -> Option<Arc<dyn Durability>> {
        None
    }
}

/// Makes every commit so far durable.
pub(crate) trait Durability: Send + Sync {
    fn sync(&self) -> Result<()>;
}

/// Brings a database to the latest schema version, one migration per transaction.
pub(crate) fn migrate(conn: &mut dyn Conn) -> Result<()> {
    conn.batch("CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)")?;
    let rows = conn.query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", &[])?;
    let current = rows.first().map(|r| r.int(0)).transpose()?.unwrap_or(0);
    let known = MIGRATIONS.last().map_or(0, |(v, _)| *v);
    if current > known {
        return Err(Error::SchemaTooNew { found: current, known });
    }
    let dialect = conn.dialect();
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
        tracing::info!(version, "applying migration");
        let sql = PLACEHOLDERS.iter().fold(sql.to_string(), |sql, (name, sqlite, postgres)| {
            sql.replace(
                name,
                match dialect {
                    Dialect::Sqlite => sqlite,
                    Dialect::Postgres => postgres,
                },
            )
        });
        conn.batch("BEGIN")?;
        conn.batch(&sql)?;
        conn.execute("INSERT INTO schema_migrations (version, applied_at) VALUES (?, 0)", params![*version])?;
        conn.batch("COMMIT")?;
        if let Some(d) = conn.durability() {
            d.sync()?;
        }
    }
    Ok(())
}

/// A transaction on any `Conn`.
pub(crate) struct SqlTx<C: Conn> {
    conn: C,
    open: bool,
}

impl<C: Conn> SqlTx<C> {
    pub(crate) fn begin(mut conn: C, statement: &str) -> Result<SqlTx<C>> {
        conn.batch(statement)?;
        Ok(SqlTx { conn, open: true })
    }
}

impl<C: Conn> Drop for SqlTx<C> {
    fn drop(&mut self) {
        if self.open
            && let Err(error) = self.conn.batch("ROLLBACK")
        {
            tracing::warn!(%error, "rollback failed");
        }
    }
}

const EVENT_COLS: &str = "seq, source, profile_id, body";
const RUN_COLS: &str = "id, profile_id, state";
const OUTBOX_COLS: &str = "id, idempotency_key, profile_id, run_id, channel, payload, status, attempts, next_attempt_at, last_error, result, created_at, updated_at";

fn event_row(r: &Row) -> Result<StoredEvent> {
    Ok(StoredEvent {
        seq: EventSeq(r.int(0)?),
        source: SourceId(r.text(1)?.to_owned()),
        profile: r.opt_int(2)?.map(ProfileId),
        event: r.json(3)?,
    })
}

fn run_row(r: &Row) -> Result<RunRecord> {
    Ok(RunRecord { id: RunId(r.int(0)?), profile: ProfileId(r.int(1)?), run: r.json(2)? })
}

fn outbox_row(r: &Row) -> Result<OutboxEntry> {
    Ok(OutboxEntry {
        id: OutboxId(r.int(0)?),
        key: r.text(1)?.to_owned(),
        profile: ProfileId(r.int(2)?),
        run: r.opt_int(3)?.map(RunId),
        channel: r.text(4)?.to_owned(),
        payload: r.json(5)?,
        status: OutboxStatus::parse(r.text(6)?).ok_or_else(|| Error::Corrupt("outbox status".into()))?,
        attempts: r.int(7)?,
        next_attempt_at: Timestamp(r.int(8)?),
        last_error: r.opt_text(9)?.map(str::to_owned),
        result: r.opt_text(10)?.map(serde_json::from_str).transpose().map_err(|e| Error::Corrupt(e.to_string()))?,
        created_at: Timestamp(r.int(11)?),
        updated_at: Timestamp(r.int(12)?),
    })
}

fn source_row(r: &Row) -> Result<Source> {
    Ok(Source { id: SourceId(r.text(0)?.to_owned()), write_key: r.text(1)?.to_owned(), created_at: Timestamp(r.int(2)?) })
}

fn journey_row(r: &Row) -> Result<JourneyRecord> {
    let published_version = r.opt_int(2)?;
    Ok(JourneyRecord {
        id: JourneyId(r.text(0)?.to_owned()),
        draft: r.json(1)?,
        published_version,
        status: if published_version.is_some() { JourneyStatus::Published } else { JourneyStatus::Draft },
        updated_at: Timestamp(r.int(3)?),
        state: JourneyState::parse(r.text(4)?).ok_or_else(|| Error::Corrupt("journey state".into()))?,
    })
}

fn version_row(r: &Row) -> Result<JourneyVersion> {
    Ok(JourneyVersion {
        id: JourneyId(r.text(0)?.to_owned()),
        version: r.int(1)?,
        document: r.json(2)?,
        published_at: Timestamp(r.int(3)?),
    })
}

/// How an address is kept for `messaged_at`: an email address in lower case (mail systems
/// treat them alike), any other as it is.
fn address_key(channel: &str, address: &str) -> String {
    match channel {
        "email" => address.trim().to_lowercase(),
        _ => address.to_owned(),
    }
}

fn template_row(r: &Row) -> Result<Template> {
    Ok(Template {
        id: TemplateId(r.text(0)?.to_owned()),
        subject: r.text(1)?.to_owned(),
        html: r.text(2)?.to_owned(),
        text: r.text(3)?.to_owned(),
        updated_at: Timestamp(r.int(4)?),
        category: Category::parse(r.text(5)?).ok_or_else(|| Error::Corrupt("template category".into()))?,
        sms: r.text(6)?.to_owned(),
        push: serde_json::from_str(r.text(7)?).map_err(|e| Error::Corrupt(format!("template push: {e}")))?,
        in_app: serde_json::from_str(r.text(8)?).map_err(|e| Error::Corrupt(format!("template in_app: {e}")))?,
        locales: serde_json::from_str(r.text(9)?).map_err(|e| Error::Corrupt(format!("template locales: {e}")))?,
    })
}

const TEMPLATE_COLS: &str = "id, subject, html, body_text, updated_at, category, sms, push, in_app, locales";

const IN_APP_COLS: &str = "id, profile_id, journey, template, content, created_at, expires_at, viewed_at, clicked_at, dismissed_at";

const ASSET_COLS: &str = "id, hash, content_type, name, size, created_at";

fn asset_row(r: &Row) -> Result<Asset> {
    Ok(Asset {
        id: r.int(0)?,
        hash: r.text(1)?.to_owned(),
        content_type: r.text(2)?.to_owned(),
        name: r.text(3)?.to_owned(),
        size: r.int(4)?,
        created_at: Timestamp(r.int(5)?),
    })
}

const TASK_COLS: &str =
    "id, profile_id, journey, node, title, body, assignee, team, due_at, created_at, status, closed_at, closed_by, note";

fn task_row(r: &Row) -> Result<Task> {
    Ok(Task {
        id: OutboxId(r.int(0)?),
        profile: ProfileId(r.int(1)?),
        journey: JourneyId(r.text(2)?.to_owned()),
        node: NodeId(r.text(3)?.to_owned()),
        title: r.text(4)?.to_owned(),
        body: r.text(5)?.to_owned(),
        assignee: r.opt_text(6)?.map(str::to_owned),
        team: r.opt_text(7)?.map(str::to_owned),
        due_at: r.opt_int(8)?.map(Timestamp),
        created_at: Timestamp(r.int(9)?),
        status: TaskStatus::parse(r.text(10)?).ok_or_else(|| Error::Corrupt("task status".into()))?,
        closed_at: r.opt_int(11)?.map(Timestamp),
        closed_by: r.opt_text(12)?.map(str::to_owned),
        note: r.opt_text(13)?.map(str::to_owned),
    })
}

fn in_app_row(r: &Row) -> Result<InAppMessage> {
    Ok(InAppMessage {
        id: OutboxId(r.int(0)?),
        profile: ProfileId(r.int(1)?),
        journey: JourneyId(r.text(2)?.to_owned()),
        template: TemplateId(r.text(3)?.to_owned()),
        content: serde_json::from_str(r.text(4)?).map_err(|e| Error::Corrupt(format!("in-app message: {e}")))?,
        created_at: Timestamp(r.int(5)?),
        expires_at: Timestamp(r.int(6)?),
        viewed_at: r.opt_int(7)?.map(Timestamp),
        clicked_at: r.opt_int(8)?.map(Timestamp),
        dismissed_at: r.opt_int(9)?.map(Timestamp),
    })
}

const DEAD_COLS: &str = "id, profile_id, input, error, at, replayed_at";

fn dead_row(r: &Row) -> Result<DeadLetter> {
    Ok(DeadLetter {
        id: DeadLetterId(r.int(0)?),
        profile: ProfileId(r.int(1)?),
        inputs: r.json(2)?,
        error: r.text(3)?.to_owned(),
        at: Timestamp(r.int(4)?),
        replayed_at: r.opt_int(5)?.map(Timestamp),
    })
}

const USER_COLS: &str = "id, email, name, role, password_hash, created_at, updated_at";

fn user_row(r: &Row) -> Result<User> {
    Ok(User {
        id: UserId(r.int(0)?),
        email: r.text(1)?.to_owned(),
        name: r.text(2)?.to_owned(),
        role: Role::parse(r.text(3)?).ok_or_else(|| Error::Corrupt("user role".into()))?,
        password_hash: r.text(4)?.to_owned(),
        created_at: Timestamp(r.int(5)?),
        updated_at: Timestamp(r.int(6)?),
    })
}

const TOKEN_COLS: &str = "id, user_id, name, token_sha256, created_at, last_used_at";

fn token_row(r: &Row) -> Result<ApiToken> {
    Ok(ApiToken {
        id: ApiTokenId(r.int(0)?),
        user: UserId(r.int(1)?),
        name: r.text(2)?.to_owned(),
        token_sha256: r.text(3)?.to_owned(),
        created_at: Timestamp(r.int(4)?),
        last_used_at: r.opt_int(5)?.map(Timestamp),
    })
}

/// The columns of `segments` and `computed_traits`.
const SEGMENT_COLS: &str = "id, name, document, created_at, updated_at";

fn segment_row(r: &Row) -> Result<StoredSegment> {
    Ok(StoredSegment {
        id: SegmentId(r.text(0)?.to_owned()),
        name: r.text(1)?.to_owned(),
        document: r.json(2)?,
        created_at: Timestamp(r.int(3)?),
        updated_at: Timestamp(r.int(4)?),
    })
}

fn first<T>(rows: Vec<Row>, f: impl Fn(&Row) -> Result<T>) -> Result<Option<T>> {
    rows.first().map(f).transpose()
}

fn all<T>(rows: Vec<Row>, f: impl Fn(&Row) -> Result<T>) -> Result<Vec<T>> {
    rows.iter().map(f).collect()
}

fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl<C: Conn> SqlTx<C> {
    /// `SELECT {cols} FROM {table} WHERE id > ? ORDER BY id LIMIT ?` for a table keyed by a
    /// text id, compared byte by byte on every backend: SQLite's default collation is byte
    /// order, a PostgreSQL database's need not be, so there the comparison and the order are
    /// `COLLATE "C"` (the tables paged so are small: the sort costs little).
    fn page_by_text_id(&mut self, cols: &str, table: &str, after: Option<&str>, n: usize) -> Result<Vec<Row>> {
        let id = match self.conn.dialect() {
            Dialect::Sqlite => "id",
            Dialect::Postgres => "id COLLATE \"C\"",
        };
        self.conn.query(&format!("SELECT {cols} FROM {table} WHERE {id} > ? ORDER BY {id} LIMIT ?"), params![after.unwrap_or(""), limit(n)])
    }
}

impl<C: Conn> Tx for SqlTx<C> {
    fn commit(mut self: Box<Self>) -> Result<()> {
        self.open = false;
        self.conn.batch("COMMIT")?;
        let durability = self.conn.durability();
        // The connection (the writer's lock) is free for others while the disk catches up.
        drop(self);
        durability.map_or(Ok(()), |d| d.sync())
    }

    fn commit_unsynced(mut self: Box<Self>) -> Result<()> {
        self.open = false;
        self.conn.batch("COMMIT")
    }

    fn create_source(&mut self, s: &Source) -> Result<()> {
        let n = self.conn.execute(
            "INSERT INTO sources (id, write_key, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            params![s.id.as_str(), s.write_key.as_str(), s.created_at.0],
        )?;
        if n == 0 {
            return Err(Error::Conflict(format!("source {:?} or its write key", s.id.0)));
        }
        Ok(())
    }

    fn source_by_key(&mut self, write_key: &str) -> Result<Option<SourceId>> {
        let rows = self.conn.query("SELECT id FROM sources WHERE write_key = ?", params![write_key])?;
        first(rows, |r| Ok(SourceId(r.text(0)?.to_owned())))
    }

    fn sources(&mut self) -> Result<Vec<Source>> {
        let rows = self.conn.query("SELECT id, write_key, created_at FROM sources ORDER BY id", &[])?;
        all(rows, source_row)
    }

    fn sources_after(&mut self, after: Option<&SourceId>, n: usize) -> Result<Vec<Source>> {
        let rows = self.page_by_text_id("id, write_key, created_at", "sources", after.map(SourceId::as_str), n)?;
        all(rows, source_row)
    }

    fn insert_event(&mut self, source: &SourceId, e: &Event, profile: Option<ProfileId>) -> Result<Option<EventSeq>> {
        let rows = self.conn.query(
            "INSERT INTO events (source, message_id, profile_id, name, ts, body) VALUES (?, ?, ?, ?, ?, ?) \
             ON CONFLICT (source, message_id) DO NOTHING RETURNING seq",
            params![source.as_str(), e.message_id.as_str(), profile.map(|p| p.0), e.match_name(), e.timestamp.0, to_json(e)?],
        )?;
        first(rows, |r| Ok(EventSeq(r.int(0)?)))
    }

    fn events_after(&mut self, after: EventSeq, n: usize) -> Result<Vec<StoredEvent>> {
        let rows =
            self.conn.query(&format!("SELECT {EVENT_COLS} FROM events WHERE seq > ? ORDER BY seq LIMIT ?"), params![after.0, limit(n)])?;
        all(rows, event_row)
    }

    fn event_properties(
        &mut self,
        profile: ProfileId,
        name: &str,
        since: Timestamp,
        until: Timestamp,
    ) -> Result<Vec<(EventSeq, Timestamp, Map)>> {
        let rows = self.conn.query(
            "SELECT seq, ts, body FROM events WHERE profile_id = ? AND name = ? AND ts >= ? AND ts <= ? ORDER BY seq",
            params![profile.0, name, since.0, until.0],
        )?;
        all(rows, |r| Ok((EventSeq(r.int(0)?), Timestamp(r.int(1)?), r.json::<Event>(2)?.match_properties().into_owned())))
    }

    fn counter(&mut self, profile: ProfileId, key: &str) -> Result<Option<String>> {
        let rows = self.conn.query("SELECT state FROM counters WHERE profile_id = ? AND query_key = ?", params![profile.0, key])?;
        first(rows, |r| Ok(r.text(0)?.to_owned()))
    }

    fn save_counter(&mut self, profile: ProfileId, key: &str, state: &str) -> Result<()> {
        self.conn.execute(
            "INSERT INTO counters (profile_id, query_key, state) VALUES (?, ?, ?) \
             ON CONFLICT (profile_id, query_key) DO UPDATE SET state = excluded.state",
            params![profile.0, key, state],
        )?;
        Ok(())
    }

    fn delete_counters(&mut self, profile: ProfileId) -> Result<()> {
        self.conn.execute("DELETE FROM counters WHERE profile_id = ?", params![profile.0])?;
        Ok(())
    }

    fn event_seen(&mut self, source: &SourceId, message_id: &MessageId) -> Result<bool> {
        let rows =
            self.conn.query("SELECT 1 FROM events WHERE source = ? AND message_id = ?", params![source.as_str(), message_id.as_str()])?;
        Ok(!rows.is_empty())
    }

    fn last_event(&mut self, profile: ProfileId, name: &str) -> Result<Option<StoredEvent>> {
        let rows = self.conn.query(
            &format!("SELECT {EVENT_COLS} FROM events WHERE profile_id = ? AND name = ? ORDER BY seq DESC LIMIT 1"),
            params![profile.0, name],
        )?;
        first(rows, event_row)
    }

    fn recent_events(&mut self, profile: ProfileId, name: &str, n: usize) -> Result<Vec<StoredEvent>> {
        let rows = self.conn.query(
            &format!("SELECT {EVENT_COLS} FROM events WHERE profile_id = ? AND name = ? ORDER BY seq DESC LIMIT ?"),
            params![profile.0, name, limit(n)],
        )?;
        all(rows, event_row)
    }

    fn timeline(&mut self, profile: ProfileId, n: usize) -> Result<Vec<StoredEvent>> {
        let rows = self.conn.query(
            &format!("SELECT {EVENT_COLS} FROM events WHERE profile_id = ? ORDER BY ts DESC, seq DESC LIMIT ?"),
            params![profile.0, limit(n)],
        )?;
        all(rows, event_row)
    }

    fn create_profile(&mut self, now: Timestamp) -> Result<ProfileId> {
        let rows = self.conn.query(
            "INSERT INTO profiles (traits, trait_times, created_at, updated_at) VALUES ('{}', '{}', ?, ?) RETURNING id",
            params![now.0, now.0],
        )?;
        first(rows, |r| Ok(ProfileId(r.int(0)?)))?.ok_or_else(|| Error::Corrupt("no id returned".into()))
    }

    fn profile(&mut self, id: ProfileId) -> Result<Option<Profile>> {
        let rows = self.conn.query("SELECT traits, trait_times FROM profiles WHERE id = ?", params![id.0])?;
        first(rows, |r| Ok(Profile { id, traits: r.json(0)?, trait_times: r.json(1)? }))
    }

    fn save_profile(&mut self, p: &Profile, now: Timestamp) -> Result<()> {
        let n = self.conn.execute(
            "UPDATE profiles SET traits = ?, trait_times = ?, updated_at = ? WHERE id = ?",
            params![to_json(&p.traits)?, to_json(&p.trait_times)?, now.0, p.id.0],
        )?;
        if n == 0 {
            return Err(Error::NotFound(format!("profile {}", p.id)));
        }
        Ok(())
    }

    fn profiles_after(&mut self, after: ProfileId, n: usize) -> Result<Vec<Profile>> {
        let rows = self.conn.query(
            "SELECT id, traits, trait_times FROM profiles WHERE id > ? AND merged_into IS NULL ORDER BY id LIMIT ?",
            params![after.0, limit(n)],
        )?;
        all(rows, |r| Ok(Profile { id: ProfileId(r.int(0)?), traits: r.json(1)?, trait_times: r.json(2)? }))
    }

    fn find_profiles(&mut self, prefix: &str, after: ProfileId, n: usize) -> Result<Vec<ProfileId>> {
        let rows = self.conn.query(
            "SELECT DISTINCT profile_id FROM identities WHERE substr(value, 1, CAST(CAST(? AS BIGINT) AS INTEGER)) = ? AND profile_id > ? ORDER BY profile_id LIMIT ?",
            params![prefix.chars().count() as i64, prefix, after.0, limit(n)],
        )?;
        all(rows, |r| Ok(ProfileId(r.int(0)?)))
    }

    fn canonical(&mut self, mut id: ProfileId) -> Result<Option<ProfileId>> {
        for _ in 0..64 {
            let rows = self.conn.query("SELECT merged_into FROM profiles WHERE id = ?", params![id.0])?;
            match first(rows, |r| r.opt_int(0))? {
                None => return Ok(None),
                Some(None) => return Ok(Some(id)),
                Some(Some(next)) => id = ProfileId(next),
            }
        }
        Err(Error::Corrupt(format!("merge chain of profile {id} does not end")))
    }

    fn profile_by_identity(&mut self, identity: &Identity) -> Result<Option<ProfileId>> {
        let rows = self
            .conn
            .query("SELECT profile_id FROM identities WHERE kind = ? AND value = ?", params![identity.kind(), identity.value()])?;
        first(rows, |r| Ok(ProfileId(r.int(0)?)))
    }

    fn add_identity(&mut self, identity: &Identity, profile: ProfileId) -> Result<()> {
        self.conn.execute(
            "INSERT INTO identities (kind, value, profile_id) VALUES (?, ?, ?) \
             ON CONFLICT (kind, value) DO UPDATE SET profile_id = excluded.profile_id",
            params![identity.kind(), identity.value(), profile.0],
        )?;
        Ok(())
    }

    fn identities(&mut self, profile: ProfileId) -> Result<Vec<Identity>> {
        let rows = self.conn.query("SELECT kind, value FROM identities WHERE profile_id = ? ORDER BY kind, value", params![profile.0])?;
        all(rows, |r| Identity::from_parts(r.text(0)?, r.text(1)?).ok_or_else(|| Error::Corrupt("identity kind".into())))
    }

    fn add_refused_merge(&mut self, r: &RefusedMerge) -> Result<()> {
        self.conn.execute(
            "INSERT INTO refused_merges (profile_id, other_id, identity_kind, identity_value, reason, message_id, at) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
            params![r.profile.0, r.other.0, r.identity.kind(), r.identity.value(), r.reason.as_str(), r.message_id.as_str(), r.at.0],
        )?;
        Ok(())
    }

    fn refused_merges(&mut self, profile: ProfileId) -> Result<Vec<RefusedMerge>> {
        let rows = self.conn.query(
            "SELECT profile_id, other_id, identity_kind, identity_value, reason, message_id, at FROM refused_merges \
             WHERE profile_id = ? OR other_id = ? ORDER BY id",
            params![profile.0, profile.0],
        )?;
        all(rows, |r| {
            Ok(RefusedMerge {
                profile: ProfileId(r.int(0)?),
                other: ProfileId(r.int(1)?),
                identity: Identity::from_parts(r.text(2)?, r.text(3)?).ok_or_else(|| Error::Corrupt("identity kind".into()))?,
                reason: r.text(4)?.to_owned(),
                message_id: MessageId(r.text(5)?.to_owned()),
                at: Timestamp(r.int(6)?),
            })
        })
    }

    fn merge_profiles(&mut self, winner: ProfileId, loser: ProfileId, now: Timestamp) -> Result<()> {
        for table in ["identities", "events", "runs", "outbox", "dead_letters", "refused_merges", "in_app_messages", "tasks"] {
            self.conn.execute(&format!("UPDATE {table} SET profile_id = ? WHERE profile_id = ?"), params![winner.0, loser.0])?;
        }
        self.conn.execute("UPDATE refused_merges SET other_id = ? WHERE other_id = ?", params![winner.0, loser.0])?;
        // The joined person's segments are evaluated again (the engine does, in the batch of
        // the merge); the absorbed profile leaves its own (counted, so sizes over time add up).
        let left: Vec<SegmentChange> = self
            .memberships(loser)?
            .into_iter()
            .map(|segment| SegmentChange { segment, profile: loser, entered: false, at: now })
            .collect();
        self.change_memberships(&left)?;
        // ... and its stage.
        if let Some(stage) = self.stage_history(loser)?.pop().and_then(|m| m.to) {
            self.record_stage_moves(&[StageMove { profile: loser, at: now, from: Some(stage), to: None }])?;
        }
        self.conn.execute("DELETE FROM segment_checks WHERE profile_id = ?", params![loser.0])?;
        self.conn.execute("UPDATE profiles SET merged_into = ?, updated_at = ? WHERE id = ?", params![winner.0, now.0, loser.0])?;
        Ok(())
    }

    fn save_draft(&mut self, id: &JourneyId, doc: &Value, now: Timestamp) -> Result<()> {
        self.conn.execute(
            "INSERT INTO journeys (id, draft, updated_at) VALUES (?, ?, ?) \
             ON CONFLICT (id) DO UPDATE SET draft = excluded.draft, updated_at = excluded.updated_at",
            params![id.as_str(), to_json(doc)?, now.0],
        )?;
        Ok(())
    }

    fn journey(&mut self, id: &JourneyId) -> Result<Option<JourneyRecord>> {
        let rows =
            self.conn.query("SELECT id, draft, published_version, updated_at, state FROM journeys WHERE id = ?", params![id.as_str()])?;
        first(rows, journey_row)
    }

    fn journeys(&mut self) -> Result<Vec<JourneyRecord>> {
        let rows = self.conn.query("SELECT id, draft, published_version, updated_at, state FROM journeys ORDER BY id", &[])?;
        all(rows, journey_row)
    }

    fn journeys_after(&mut self, after: Option<&JourneyId>, n: usize) -> Result<Vec<JourneyRecord>> {
        let rows = self.page_by_text_id("id, draft, published_version, updated_at, state", "journeys", after.map(JourneyId::as_str), n)?;
        all(rows, journey_row)
    }

    fn publish(&mut self, id: &JourneyId, now: Timestamp) -> Result<i64> {
        let record = self.journey(id)?.ok_or_else(|| Error::NotFound(format!("journey {:?}", id.0)))?;
        let rows = self.conn.query("SELECT COALESCE(MAX(version), 0) FROM journey_versions WHERE id = ?", params![id.as_str()])?;
        let version = first(rows, |r| r.int(0))?.unwrap_or(0) + 1;
        self.conn.execute(
            "INSERT INTO journey_versions (id, version, document, published_at) VALUES (?, ?, ?, ?)",
            params![id.as_str(), version, to_json(&record.draft)?, now.0],
        )?;
        self.conn.execute(
            "UPDATE journeys SET published_version = ?, state = 'active', updated_at = ? WHERE id = ?",
            params![version, now.0, id.as_str()],
        )?;
        Ok(version)
    }

    fn set_journey_state(&mut self, id: &JourneyId, state: JourneyState, now: Timestamp) -> Result<()> {
        let n =
            self.conn.execute("UPDATE journeys SET state = ?, updated_at = ? WHERE id = ?", params![state.as_str(), now.0, id.as_str()])?;
        if n == 0 {
            return Err(Error::NotFound(format!("journey {:?}", id.0)));
        }
        Ok(())
    }

    fn journey_version(&mut self, id: &JourneyId, version: i64) -> Result<Option<JourneyVersion>> {
        let rows = self.conn.query(
            "SELECT id, version, document, published_at FROM journey_versions WHERE id = ? AND version = ?",
            params![id.as_str(), version],
        )?;
        first(rows, version_row)
    }

    fn journey_versions(&mut self, id: &JourneyId) -> Result<Vec<JourneyVersion>> {
        let rows = self.conn.query(
            "SELECT id, version, document, published_at FROM journey_versions WHERE id = ? ORDER BY version DESC",
            params![id.as_str()],
        )?;
        all(rows, version_row)
    }

    fn published(&mut self) -> Result<Vec<JourneyVersion>> {
        let rows = self.conn.query(
            "SELECT v.id, v.version, v.document, v.published_at FROM journey_versions v \
             JOIN journeys j ON j.id = v.id AND j.published_version = v.version WHERE j.state = 'active' ORDER BY v.id",
            &[],
        )?;
        all(rows, version_row)
    }

    fn insert_run(&mut self, profile: ProfileId, run: &Run) -> Result<RunId> {
        let rows = self.conn.query(
            "INSERT INTO runs (profile_id, journey_id, run_key, status, wake_at, state, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            params![
                profile.0,
                run.journey.as_str(),
                run.key.as_deref().unwrap_or(""),
                run.status.as_str(),
                wake(run),
                to_json(run)?,
                run.updated_at.0
            ],
        )?;
        first(rows, |r| Ok(RunId(r.int(0)?)))?.ok_or_else(|| Error::Corrupt("no id returned".into()))
    }

    fn update_run(&mut self, id: RunId, run: &Run) -> Result<()> {
        let n = self.conn.execute(
            "UPDATE runs SET status = ?, wake_at = ?, state = ?, updated_at = ? WHERE id = ?",
            params![run.status.as_str(), wake(run), to_json(run)?, run.updated_at.0, id.0],
        )?;
        if n == 0 {
            return Err(Error::NotFound(format!("run {id}")));
        }
        Ok(())
    }

    fn runs_of(&mut self, profile: ProfileId) -> Result<Vec<RunRecord>> {
        let rows = self.conn.query(&format!("SELECT {RUN_COLS} FROM runs WHERE profile_id = ? ORDER BY id"), params![profile.0])?;
        all(rows, run_row)
    }

    fn current_runs(&mut self, profile: ProfileId) -> Result<Vec<RunRecord>> {
        let rows = self.conn.query(
            &format!(
                "SELECT {RUN_COLS} FROM runs WHERE profile_id = ? AND (status = 'waiting' OR id IN \
                 (SELECT MAX(id) FROM runs WHERE profile_id = ? GROUP BY journey_id, run_key)) ORDER BY id"
            ),
            params![profile.0, profile.0],
        )?;
        all(rows, run_row)
    }

    fn journey_runs(&mut self, journey: &JourneyId) -> Result<Vec<RunRecord>> {
        let rows = self.conn.query(&format!("SELECT {RUN_COLS} FROM runs WHERE journey_id = ? ORDER BY id"), params![journey.as_str()])?;
        all(rows, run_row)
    }

    fn journey_runs_page(&mut self, journey: &JourneyId, after: RunId, n: usize) -> Result<Vec<RunRecord>> {
        let rows = self.conn.query(
            &format!("SELECT {RUN_COLS} FROM runs WHERE journey_id = ? AND id > ? ORDER BY id LIMIT ?"),
            params![journey.as_str(), after.0, limit(n)],
        )?;
        all(rows, run_row)
    }

    fn count_runs(&mut self, journey: &JourneyId) -> Result<i64> {
        let rows = self.conn.query("SELECT COUNT(*) FROM runs WHERE journey_id = ?", params![journey.as_str()])?;
        Ok(first(rows, |r| r.int(0))?.unwrap_or(0))
    }

    fn run(&mut self, id: RunId) -> Result<Option<RunRecord>> {
        let rows = self.conn.query(&format!("SELECT {RUN_COLS} FROM runs WHERE id = ?"), params![id.0])?;
        first(rows, run_row)
    }

    fn due_runs(&mut self, now: Timestamp, n: usize) -> Result<Vec<(RunId, ProfileId)>> {
        let rows = self.conn.query(
            "SELECT id, profile_id FROM runs WHERE wake_at IS NOT NULL AND wake_at <= ? ORDER BY wake_at, id LIMIT ?",
            params![now.0, limit(n)],
        )?;
        all(rows, |r| Ok((RunId(r.int(0)?), ProfileId(r.int(1)?))))
    }

    fn next_wake(&mut self) -> Result<Option<Timestamp>> {
        let rows = self.conn.query("SELECT MIN(wake_at) FROM runs WHERE wake_at IS NOT NULL", &[])?;
        let run = first(rows, |r| r.opt_int(0))?.flatten();
        let rows = self.conn.query("SELECT MIN(at) FROM segment_checks", &[])?;
        let check = first(rows, |r| r.opt_int(0))?.flatten();
        Ok([run, check].into_iter().flatten().min().map(Timestamp))
    }

    fn add_trace(&mut self, t: &TraceRecord) -> Result<()> {
        self.conn.execute(
            "INSERT INTO traces (run_id, seq, at, lines) VALUES (?, ?, ?, ?)",
            params![t.run.0, t.seq, t.at.0, to_json(&t.lines)?],
        )?;
        Ok(())
    }

    fn traces(&mut self, run: RunId) -> Result<Vec<TraceRecord>> {
        let rows = self.conn.query("SELECT run_id, seq, at, lines FROM traces WHERE run_id = ? ORDER BY seq", params![run.0])?;
        all(rows, |r| Ok(TraceRecord { run: RunId(r.int(0)?), seq: r.int(1)?, at: Timestamp(r.int(2)?), lines: read_lines(r.json(3)?) }))
    }

    fn enqueue(&mut self, e: &NewOutbox, now: Timestamp) -> Result<OutboxId> {
        let rows = self.conn.query(
            "INSERT INTO outbox (idempotency_key, profile_id, run_id, channel, payload, status, attempts, next_attempt_at, created_at, updated_at, address) \
             VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?, ?) ON CONFLICT (idempotency_key) DO NOTHING RETURNING id",
            params![
                e.key.as_str(),
                e.profile.0,
                e.run.map(|r| r.0),
                e.channel.as_str(),
                to_json(&e.payload)?,
                e.due.0,
                now.0,
                now.0,
                e.payload.to.as_deref().map(|to| address_key(&e.channel, to))
            ],
        )?;
        match first(rows, |r| Ok(OutboxId(r.int(0)?)))? {
            Some(id) => Ok(id),
            None => Err(Error::Conflict(format!("outbox entry {:?}", e.key))),
        }
    }

    fn due_outbox(&mut self, channel: &str, now: Timestamp, n: usize) -> Result<Vec<OutboxEntry>> {
        let rows = self.conn.query(
            &format!(
                "SELECT {OUTBOX_COLS} FROM outbox WHERE status = 'pending' AND channel = ? AND next_attempt_at <= ? \
                 ORDER BY next_attempt_at, id LIMIT ?"
            ),
            params![channel, now.0, limit(n)],
        )?;
        all(rows, outbox_row)
    }

    fn next_outbox_due(&mut self, channel: &str) -> Result<Option<Timestamp>> {
        let rows = self.conn.query("SELECT MIN(next_attempt_at) FROM outbox WHERE status = 'pending' AND channel = ?", params![channel])?;
        Ok(first(rows, |r| r.opt_int(0))?.flatten().map(Timestamp))
    }

    fn record_attempt(&mut self, id: OutboxId, a: &Attempt, now: Timestamp) -> Result<()> {
        let capped = matches!(a, Attempt::Sent { capped: true, .. } | Attempt::Captured { capped: true, .. });
        let (status, next, error, result) = match a {
            Attempt::Sent { result, .. } => (OutboxStatus::Sent, None, None, Some(result)),
            Attempt::Captured { result, .. } => (OutboxStatus::Captured, None, None, Some(result)),
            Attempt::Suppressed { reason } => (OutboxStatus::Suppressed, None, Some(reason.as_str()), None),
            Attempt::Retry { at, error } => (OutboxStatus::Pending, Some(at.0), Some(error.as_str()), None),
            Attempt::Failed { error, result } => (OutboxStatus::Failed, None, Some(error.as_str()), result.as_ref()),
        };
        let result = result.map(to_json).transpose()?;
        let n = self.conn.execute(
            "UPDATE outbox SET status = ?, attempts = attempts + 1, next_attempt_at = COALESCE(?, next_attempt_at), \
             last_error = COALESCE(?, last_error), result = COALESCE(?, result), capped = ?, updated_at = ? WHERE id = ?",
            params![status.as_str(), next, error, result, i64::from(capped), now.0, id.0],
        )?;
        if n == 0 {
            return Err(Error::NotFound(format!("outbox entry {id}")));
        }
        Ok(())
    }

    fn retry_failed(&mut self, id: OutboxId, now: Timestamp) -> Result<bool> {
        let n = self.conn.execute(
            "UPDATE outbox SET status = 'pending', next_attempt_at = ?, updated_at = ? WHERE id = ? AND status = 'failed'",
            params![now.0, now.0, id.0],
        )?;
        Ok(n == 1)
    }

    fn outbox_entry(&mut self, id: OutboxId) -> Result<Option<OutboxEntry>> {
        let rows = self.conn.query(&format!("SELECT {OUTBOX_COLS} FROM outbox WHERE id = ?"), params![id.0])?;
        first(rows, outbox_row)
    }

    fn journey_sends_since(&mut self, profile: ProfileId, journey: &JourneyId, since: Timestamp) -> Result<i64> {
        let rows = self.conn.query(
            "SELECT COUNT(*) FROM outbox o JOIN runs r ON r.id = o.run_id WHERE o.profile_id = ? AND r.journey_id = ? AND o.capped = 1 \
             AND o.status IN ('sent', 'captured') AND o.updated_at >= ?",
            params![profile.0, journey.0.as_str(), since.0],
        )?;
        Ok(first(rows, |r| r.int(0))?.unwrap_or(0))
    }

    fn outbox_by_key(&mut self, key: &str) -> Result<Option<OutboxEntry>> {
        let rows = self.conn.query(&format!("SELECT {OUTBOX_COLS} FROM outbox WHERE idempotency_key = ?"), params![key])?;
        first(rows, outbox_row)
    }

    fn sends_since(&mut self, profile: ProfileId, channel: Option<&str>, since: Timestamp) -> Result<i64> {
        const COUNTED: &str =
            "SELECT COUNT(*) FROM outbox WHERE profile_id = ? AND capped = 1 AND status IN ('sent', 'captured') AND updated_at >= ?";
        let rows = match channel {
            Some(channel) => self.conn.query(&format!("{COUNTED} AND channel = ?"), params![profile.0, since.0, channel])?,
            None => self.conn.query(COUNTED, params![profile.0, since.0])?,
        };
        Ok(first(rows, |r| r.int(0))?.unwrap_or(0))
    }

    fn messaged_at(&mut self, channel: &str, address: &str, n: usize) -> Result<Vec<ProfileId>> {
        let rows = self.conn.query(
            "SELECT profile_id FROM outbox WHERE channel = ? AND address = ? GROUP BY profile_id ORDER BY MAX(id) DESC LIMIT ?",
            params![channel, address_key(channel, address), limit(n)],
        )?;
        all(rows, |r| Ok(ProfileId(r.int(0)?)))
    }

    fn outbox_pending(&mut self) -> Result<Vec<(String, i64)>> {
        // The partial index of pending entries answers it (its rows only).
        let rows =
            self.conn.query("SELECT channel, COUNT(*) FROM outbox WHERE status = 'pending' GROUP BY channel ORDER BY channel", &[])?;
        all(rows, |r| Ok((r.text(0)?.to_owned(), r.int(1)?)))
    }

    fn messages(
        &mut self,
        status: Option<OutboxStatus>,
        profile: Option<ProfileId>,
        before: Option<OutboxId>,
        n: usize,
    ) -> Result<Vec<OutboxEntry>> {
        let status = status.map(OutboxStatus::as_str);
        let profile = profile.map(|p| p.0);
        let rows = self.conn.query(
            &format!(
                "SELECT {OUTBOX_COLS} FROM outbox WHERE (CAST(? AS TEXT) IS NULL OR status = ?) AND (CAST(? AS BIGINT) IS NULL OR profile_id = ?) \
                 AND id < ? ORDER BY id DESC LIMIT ?"
            ),
            params![status, status, profile, profile, before.map_or(i64::MAX, |b| b.0), limit(n)],
        )?;
        all(rows, outbox_row)
    }

    fn put_template(&mut self, t: &Template) -> Result<()> {
        self.conn.execute(
            &format!(
                "INSERT INTO templates ({TEMPLATE_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
                 ON CONFLICT (id) DO UPDATE SET subject = excluded.subject, html = excluded.html, body_text = excluded.body_text, \
                 updated_at = excluded.updated_at, category = excluded.category, sms = excluded.sms, push = excluded.push, \
                 in_app = excluded.in_app, locales = excluded.locales"
            ),
            params![
                t.id.as_str(),
                t.subject.as_str(),
                t.html.as_str(),
                t.text.as_str(),
                t.updated_at.0,
                t.category.as_str(),
                t.sms.as_str(),
                to_json(&t.push)?,
                to_json(&t.in_app)?,
                to_json(&t.locales)?
            ],
        )?;
        Ok(())
    }

    fn put_in_app(&mut self, m: &InAppMessage) -> Result<bool> {
        let n = self.conn.execute(
            &format!(
                "INSERT INTO in_app_messages ({IN_APP_COLS}, placement) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING"
            ),
            params![
                m.id.0,
                m.profile.0,
                m.journey.as_str(),
                m.template.as_str(),
                to_json(&m.content)?,
                m.created_at.0,
                m.expires_at.0,
                m.viewed_at.map(|t| t.0),
                m.clicked_at.map(|t| t.0),
                m.dismissed_at.map(|t| t.0),
                m.content.placement.as_str()
            ],
        )?;
        Ok(n > 0)
    }

    fn in_app_messages(&mut self, profile: ProfileId, placement: &str, now: Timestamp, n: usize) -> Result<Vec<InAppMessage>> {
        let rows = self.conn.query(
            &format!(
                "SELECT {IN_APP_COLS} FROM in_app_messages WHERE profile_id = ? AND clicked_at IS NULL AND dismissed_at IS NULL \
                 AND expires_at > ? AND (placement = ? OR placement = '') ORDER BY id DESC LIMIT ?"
            ),
            params![profile.0, now.0, placement, limit(n)],
        )?;
        all(rows, in_app_row)
    }

    fn in_app_message(&mut self, id: OutboxId) -> Result<Option<InAppMessage>> {
        let rows = self.conn.query(&format!("SELECT {IN_APP_COLS} FROM in_app_messages WHERE id = ?"), params![id.0])?;
        first(rows, in_app_row)
    }

    fn put_asset(&mut self, hash: &str, content_type: &str, name: &str, bytes: &[u8], at: Timestamp) -> Result<Asset> {
        self.conn.execute(
            "INSERT INTO assets (hash, content_type, name, size, bytes, created_at) VALUES (?, ?, ?, ?, ?, ?) \
             ON CONFLICT (hash) DO NOTHING",
            params![hash, content_type, name, bytes.len() as i64, bytes, at.0],
        )?;
        let rows = self.conn.query(&format!("SELECT {ASSET_COLS} FROM assets WHERE hash = ?"), params![hash])?;
        first(rows, asset_row)?.ok_or_else(|| Error::Corrupt(format!("asset {hash} was not kept")))
    }

    fn asset(&mut self, hash: &str) -> Result<Option<(Asset, Vec<u8>)>> {
        let rows = self.conn.query(&format!("SELECT {ASSET_COLS}, bytes FROM assets WHERE hash = ?"), params![hash])?;
        first(rows, |r| Ok((asset_row(r)?, r.bytes(6)?.to_vec())))
    }

    fn assets(&mut self, before: Option<i64>, n: usize) -> Result<Vec<Asset>> {
        let rows = self.conn.query(
            &format!("SELECT {ASSET_COLS} FROM assets WHERE id < ? ORDER BY id DESC LIMIT ?"),
            params![before.unwrap_or(i64::MAX), limit(n)],
        )?;
        all(rows, asset_row)
    }

    fn record_stage_moves(&mut self, moves: &[StageMove]) -> Result<()> {
        for m in moves {
            self.conn.execute(
                "INSERT INTO stage_moves (profile_id, at, from_stage, to_stage) VALUES (?, ?, ?, ?)",
                params![m.profile.0, m.at.0, m.from.as_deref(), m.to.as_deref()],
            )?;
        }
        Ok(())
    }

    fn stage_flows(&mut self, from: Timestamp, to: Timestamp, segment: Option<&SegmentId>) -> Result<Vec<StageFlow>> {
        let rows = match segment {
            Some(s) => self.conn.query(
                "SELECT m.from_stage, m.to_stage, COUNT(*) FROM stage_moves m \
                 JOIN segment_members s ON s.profile_id = m.profile_id AND s.segment_id = ? \
                 WHERE m.at >= ? AND m.at < ? GROUP BY m.from_stage, m.to_stage \
                 ORDER BY 3 DESC, COALESCE(m.from_stage, ''), COALESCE(m.to_stage, '')",
                params![s.as_str(), from.0, to.0],
            )?,
            None => self.conn.query(
                "SELECT from_stage, to_stage, COUNT(*) FROM stage_moves WHERE at >= ? AND at < ? \
                 GROUP BY from_stage, to_stage ORDER BY 3 DESC, COALESCE(from_stage, ''), COALESCE(to_stage, '')",
                params![from.0, to.0],
            )?,
        };
        all(rows, |r| Ok(StageFlow { from: r.opt_text(0)?.map(str::to_owned), to: r.opt_text(1)?.map(str::to_owned), people: r.int(2)? }))
    }

    fn stage_sizes(&mut self) -> Result<Vec<(String, i64)>> {
        // Into a stage less out of it, over every move.
        let rows = self.conn.query(
            "SELECT stage, CAST(SUM(n) AS BIGINT) FROM ( \
               SELECT to_stage AS stage, 1 AS n FROM stage_moves WHERE to_stage IS NOT NULL \
               UNION ALL SELECT from_stage AS stage, -1 AS n FROM stage_moves WHERE from_stage IS NOT NULL) t \
             GROUP BY stage HAVING SUM(n) > 0 ORDER BY stage",
            &[],
        )?;
        all(rows, |r| Ok((r.text(0)?.to_owned(), r.int(1)?)))
    }

    fn stage_history(&mut self, profile: ProfileId) -> Result<Vec<StageMove>> {
        let rows = self
            .conn
            .query("SELECT profile_id, at, from_stage, to_stage FROM stage_moves WHERE profile_id = ? ORDER BY id", params![profile.0])?;
        all(rows, |r| {
            Ok(StageMove {
                profile: ProfileId(r.int(0)?),
                at: Timestamp(r.int(1)?),
                from: r.opt_text(2)?.map(str::to_owned),
                to: r.opt_text(3)?.map(str::to_owned),
            })
        })
    }

    fn put_computed_trait(&mut self, c: &StoredComputedTrait) -> Result<bool> {
        let rows = self.conn.query(
            "INSERT INTO computed_traits (id, name, document, created_at, updated_at) VALUES (?, ?, ?, ?, ?) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, document = excluded.document, updated_at = excluded.updated_at \
             RETURNING created_at",
            params![c.id.as_str(), c.name.as_str(), to_json(&c.document)?, c.created_at.0, c.updated_at.0],
        )?;
        Ok(first(rows, |r| r.int(0))? == Some(c.created_at.0))
    }

    fn computed_traits(&mut self) -> Result<Vec<StoredComputedTrait>> {
        let rows = self.page_by_text_id(SEGMENT_COLS, "computed_traits", None, usize::MAX)?;
        all(rows, |r| {
            Ok(StoredComputedTrait {
                id: r.text(0)?.to_owned(),
                name: r.text(1)?.to_owned(),
                document: r.json(2)?,
                created_at: Timestamp(r.int(3)?),
                updated_at: Timestamp(r.int(4)?),
            })
        })
    }

    fn delete_computed_trait(&mut self, id: &str) -> Result<bool> {
        Ok(self.conn.execute("DELETE FROM computed_traits WHERE id = ?", params![id])? > 0)
    }

    fn put_segment(&mut self, s: &StoredSegment) -> Result<bool> {
        let rows = self.conn.query(
            "INSERT INTO segments (id, name, document, created_at, updated_at) VALUES (?, ?, ?, ?, ?) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, document = excluded.document, updated_at = excluded.updated_at \
             RETURNING created_at",
            params![s.id.as_str(), s.name.as_str(), to_json(&s.document)?, s.created_at.0, s.updated_at.0],
        )?;
        Ok(first(rows, |r| r.int(0))? == Some(s.created_at.0))
    }

    fn segment(&mut self, id: &SegmentId) -> Result<Option<StoredSegment>> {
        let rows = self.conn.query(&format!("SELECT {SEGMENT_COLS} FROM segments WHERE id = ?"), params![id.as_str()])?;
        first(rows, segment_row)
    }

    fn segments(&mut self) -> Result<Vec<StoredSegment>> {
        let rows = self.page_by_text_id(SEGMENT_COLS, "segments", None, usize::MAX)?;
        all(rows, segment_row)
    }

    fn delete_segment(&mut self, id: &SegmentId) -> Result<bool> {
        self.conn.execute("DELETE FROM segment_members WHERE segment_id = ?", params![id.as_str()])?;
        self.conn.execute("DELETE FROM segment_counts WHERE segment_id = ?", params![id.as_str()])?;
        Ok(self.conn.execute("DELETE FROM segments WHERE id = ?", params![id.as_str()])? > 0)
    }

    fn memberships(&mut self, profile: ProfileId) -> Result<Vec<SegmentId>> {
        let rows =
            self.conn.query("SELECT segment_id FROM segment_members WHERE profile_id = ? ORDER BY segment_id", params![profile.0])?;
        all(rows, |r| Ok(SegmentId(r.text(0)?.to_owned())))
    }

    fn change_memberships(&mut self, changes: &[SegmentChange]) -> Result<()> {
        let mut hours: BTreeMap<(&str, i64), (i64, i64)> = BTreeMap::new();
        for c in changes {
            let n = if c.entered {
                self.conn.execute(
                    "INSERT INTO segment_members (segment_id, profile_id, since) VALUES (?, ?, ?) ON CONFLICT (segment_id, profile_id) DO NOTHING",
                    params![c.segment.as_str(), c.profile.0, c.at.0],
                )?
            } else {
                self.conn.execute(
                    "DELETE FROM segment_members WHERE segment_id = ? AND profile_id = ?",
                    params![c.segment.as_str(), c.profile.0],
                )?
            };
            // Only what changed counts (a repeat is not a second entry).
            if n > 0 {
                let slot = hours.entry((c.segment.as_str(), NodeDeltas::hour(c.at).0)).or_default();
                if c.entered { slot.0 += 1 } else { slot.1 += 1 }
            }
        }
        for ((segment, hour), (entered, exited)) in hours {
            self.conn.execute(
                "INSERT INTO segment_counts (segment_id, hour, entered, exited) VALUES (?, ?, ?, ?) \
                 ON CONFLICT (segment_id, hour) DO UPDATE SET entered = segment_counts.entered + excluded.entered, \
                 exited = segment_counts.exited + excluded.exited",
                params![segment, hour, entered, exited],
            )?;
        }
        Ok(())
    }

    fn segment_members(&mut self, id: &SegmentId, after: ProfileId, n: usize) -> Result<Vec<(ProfileId, Timestamp)>> {
        let rows = self.conn.query(
            "SELECT profile_id, since FROM segment_members WHERE segment_id = ? AND profile_id > ? ORDER BY profile_id LIMIT ?",
            params![id.as_str(), after.0, limit(n)],
        )?;
        all(rows, |r| Ok((ProfileId(r.int(0)?), Timestamp(r.int(1)?))))
    }

    fn segment_size(&mut self, id: &SegmentId) -> Result<i64> {
        let rows = self.conn.query("SELECT COUNT(*) FROM segment_members WHERE segment_id = ?", params![id.as_str()])?;
        Ok(first(rows, |r| r.int(0))?.unwrap_or(0))
    }

    fn last_profile_id(&mut self) -> Result<Option<ProfileId>> {
        let rows = self.conn.query("SELECT MAX(id) FROM profiles", &[])?;
        Ok(first(rows, |r| r.opt_int(0))?.flatten().map(ProfileId))
    }

    fn segment_hours(&mut self, id: &SegmentId, from: Timestamp, to: Timestamp) -> Result<Vec<SegmentHour>> {
        let rows = self.conn.query(
            "SELECT hour, entered, exited FROM segment_counts WHERE segment_id = ? AND hour >= ? AND hour < ? ORDER BY hour",
            params![id.as_str(), NodeDeltas::hour(from).0, to.0],
        )?;
        all(rows, |r| Ok(SegmentHour { hour: Timestamp(r.int(0)?), entered: r.int(1)?, exited: r.int(2)? }))
    }

    fn segment_check(&mut self, profile: ProfileId) -> Result<Option<Timestamp>> {
        let rows = self.conn.query("SELECT at FROM segment_checks WHERE profile_id = ?", params![profile.0])?;
        Ok(first(rows, |r| r.int(0))?.map(Timestamp))
    }

    fn set_segment_check(&mut self, profile: ProfileId, at: Option<Timestamp>) -> Result<()> {
        match at {
            Some(at) => self.conn.execute(
                "INSERT INTO segment_checks (profile_id, at) VALUES (?, ?) ON CONFLICT (profile_id) DO UPDATE SET at = excluded.at",
                params![profile.0, at.0],
            )?,
            None => self.conn.execute("DELETE FROM segment_checks WHERE profile_id = ?", params![profile.0])?,
        };
        Ok(())
    }

    fn due_segment_checks(&mut self, now: Timestamp, n: usize) -> Result<Vec<ProfileId>> {
        let rows = self
            .conn
            .query("SELECT profile_id FROM segment_checks WHERE at <= ? ORDER BY at, profile_id LIMIT ?", params![now.0, limit(n)])?;
        all(rows, |r| Ok(ProfileId(r.int(0)?)))
    }

    fn put_task(&mut self, t: &Task) -> Result<bool> {
        let n = self.conn.execute(
            &format!("INSERT INTO tasks ({TASK_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING"),
            params![
                t.id.0,
                t.profile.0,
                t.journey.as_str(),
                t.node.0.as_str(),
                t.title.as_str(),
                t.body.as_str(),
                t.assignee.as_deref(),
                t.team.as_deref(),
                t.due_at.map(|d| d.0),
                t.created_at.0,
                t.status.as_str(),
                t.closed_at.map(|d| d.0),
                t.closed_by.as_deref(),
                t.note.as_deref()
            ],
        )?;
        Ok(n > 0)
    }

    fn task(&mut self, id: OutboxId) -> Result<Option<Task>> {
        let rows = self.conn.query(&format!("SELECT {TASK_COLS} FROM tasks WHERE id = ?"), params![id.0])?;
        first(rows, task_row)
    }

    fn tasks(&mut self, f: &TaskFilter, after: Option<OutboxId>, n: usize) -> Result<Vec<Task>> {
        let mut sql = format!("SELECT {TASK_COLS} FROM tasks WHERE id > ?");
        let mut values: Vec<Val> = vec![after.map_or(0, |a| a.0).into()];
        if let Some(status) = f.status {
            sql.push_str(" AND status = ?");
            values.push(status.as_str().into());
        }
        if let Some(assignee) = &f.assignee {
            sql.push_str(" AND assignee = ?");
            values.push(assignee.as_str().into());
        }
        if let Some(team) = &f.team {
            sql.push_str(" AND team = ?");
            values.push(team.as_str().into());
        }
        if let Some(profile) = f.profile {
            sql.push_str(" AND profile_id = ?");
            values.push(profile.0.into());
        }
        sql.push_str(" ORDER BY id LIMIT ?");
        values.push(limit(n).into());
        let rows = self.conn.query(&sql, &values)?;
        all(rows, task_row)
    }

    fn close_task(&mut self, id: OutboxId, status: TaskStatus, by: &str, note: Option<&str>, at: Timestamp) -> Result<bool> {
        let n = self.conn.execute(
            "UPDATE tasks SET status = ?, closed_at = ?, closed_by = ?, note = ? WHERE id = ? AND status = 'open'",
            params![status.as_str(), at.0, by, note, id.0],
        )?;
        Ok(n > 0)
    }

    fn mark_in_app(&mut self, id: OutboxId, action: InAppAction, at: Timestamp) -> Result<bool> {
        let column = match action {
            InAppAction::Viewed => "viewed_at",
            InAppAction::Clicked => "clicked_at",
            InAppAction::Dismissed => "dismissed_at",
        };
        let n = self
            .conn
            .execute(&format!("UPDATE in_app_messages SET {column} = ? WHERE id = ? AND {column} IS NULL"), params![at.0, id.0])?;
        Ok(n > 0)
    }

    fn template(&mut self, id: &TemplateId) -> Result<Option<Template>> {
        let rows = self.conn.query(&format!("SELECT {TEMPLATE_COLS} FROM templates WHERE id = ?"), params![id.as_str()])?;
        first(rows, template_row)
    }

    fn templates(&mut self) -> Result<Vec<Template>> {
        let rows = self.conn.query(&format!("SELECT {TEMPLATE_COLS} FROM templates ORDER BY id"), &[])?;
        all(rows, template_row)
    }

    fn templates_after(&mut self, after: Option<&TemplateId>, n: usize) -> Result<Vec<Template>> {
        let rows = self.page_by_text_id(TEMPLATE_COLS, "templates", after.map(TemplateId::as_str), n)?;
        all(rows, template_row)
    }

    fn add_dead_letter(&mut self, profile: ProfileId, inputs: &[DeadInput], error: &str, at: Timestamp) -> Result<DeadLetterId> {
        let rows = self.conn.query(
            "INSERT INTO dead_letters (profile_id, input, error, at) VALUES (?, ?, ?, ?) RETURNING id",
            params![profile.0, to_json(&inputs)?, error, at.0],
        )?;
        first(rows, |r| Ok(DeadLetterId(r.int(0)?)))?.ok_or_else(|| Error::Corrupt("dead letter id".into()))
    }

    fn dead_letters(&mut self, before: Option<DeadLetterId>, n: usize) -> Result<Vec<DeadLetter>> {
        let rows = self.conn.query(
            &format!("SELECT {DEAD_COLS} FROM dead_letters WHERE id < ? ORDER BY id DESC LIMIT ?"),
            params![before.map_or(i64::MAX, |b| b.0), limit(n)],
        )?;
        all(rows, dead_row)
    }

    fn dead_letter(&mut self, id: DeadLetterId) -> Result<Option<DeadLetter>> {
        let rows = self.conn.query(&format!("SELECT {DEAD_COLS} FROM dead_letters WHERE id = ?"), params![id.0])?;
        first(rows, dead_row)
    }

    fn mark_replayed(&mut self, id: DeadLetterId, at: Timestamp) -> Result<()> {
        self.conn.execute("UPDATE dead_letters SET replayed_at = ? WHERE id = ?", params![at.0, id.0])?;
        Ok(())
    }

    fn add_node_counts(&mut self, deltas: &NodeDeltas) -> Result<()> {
        for ((journey, node, hour), t) in deltas.counts.iter().filter(|(_, t)| !t.is_zero()) {
            self.conn.execute(
                "INSERT INTO node_counts (journey_id, hour, node, entered, passed, exited, converted) VALUES (?, ?, ?, ?, ?, ?, ?) \
                 ON CONFLICT (journey_id, hour, node) DO UPDATE SET entered = node_counts.entered + excluded.entered, \
                 passed = node_counts.passed + excluded.passed, exited = node_counts.exited + excluded.exited, \
                 converted = node_counts.converted + excluded.converted",
                params![journey.as_str(), hour.0, node.as_str(), t.entered, t.passed, t.exited, t.converted],
            )?;
        }
        for ((journey, node), by) in deltas.waiting.iter().filter(|(_, by)| **by != 0) {
            self.conn.execute(
                "INSERT INTO node_waiting (journey_id, node, waiting) VALUES (?, ?, ?) \
                 ON CONFLICT (journey_id, node) DO UPDATE SET waiting = node_waiting.waiting + excluded.waiting",
                params![journey.as_str(), node.as_str(), *by],
            )?;
        }
        Ok(())
    }

    fn node_counts(&mut self, journey: &JourneyId, from: Timestamp, to: Timestamp) -> Result<BTreeMap<String, NodeCounts>> {
        let mut out: BTreeMap<String, NodeCounts> = BTreeMap::new();
        let rows = self.conn.query(
            "SELECT node, CAST(SUM(entered) AS BIGINT), CAST(SUM(passed) AS BIGINT), CAST(SUM(exited) AS BIGINT), \
             CAST(SUM(converted) AS BIGINT) FROM node_counts WHERE journey_id = ? AND hour >= ? AND hour < ? GROUP BY node",
            params![journey.as_str(), from.0, to.0],
        )?;
        for r in &rows {
            let c = out.entry(r.text(0)?.to_owned()).or_default();
            (c.entered, c.passed, c.exited, c.converted) = (r.int(1)?, r.int(2)?, r.int(3)?, r.int(4)?);
        }
        let rows =
            self.conn.query("SELECT node, waiting FROM node_waiting WHERE journey_id = ? AND waiting <> 0", params![journey.as_str()])?;
        for r in &rows {
            out.entry(r.text(0)?.to_owned()).or_default().waiting = r.int(1)?;
        }
        Ok(out)
    }

    fn node_count_series(&mut self, journey: &JourneyId, from: Timestamp, to: Timestamp) -> Result<Vec<NodeHour>> {
        let rows = self.conn.query(
            "SELECT hour, node, entered, passed, exited, converted FROM node_counts \
             WHERE journey_id = ? AND hour >= ? AND hour < ? ORDER BY hour, node",
            params![journey.as_str(), from.0, to.0],
        )?;
        let mut out = all(rows, |r| {
            let tally = NodeTally { entered: r.int(2)?, passed: r.int(3)?, exited: r.int(4)?, converted: r.int(5)? };
            Ok(NodeHour { hour: Timestamp(r.int(0)?), node: r.text(1)?.to_owned(), tally })
        })?;
        // Node names in byte order on every backend (a PostgreSQL collation may differ).
        out.sort_by(|a, b| (a.hour, &a.node).cmp(&(b.hour, &b.node)));
        Ok(out)
    }

    fn reach(&mut self, messages: Messages<'_>, stage: MessageStage) -> Result<()> {
        let bit = stage.bit();
        let (which, key) = match messages {
            Messages::Id(id) => ("id = ?".to_owned(), Val::from(id.0)),
            Messages::Key(key) => ("idempotency_key = ?".to_owned(), Val::from(key)),
            Messages::SentInRun(run) => (format!("run_id = ? AND (reached & {}) <> 0", MessageStage::Sent.bit()), Val::from(run.0)),
        };
        let rows = self.conn.query(
            &format!(
                "UPDATE outbox SET reached = reached | {bit} WHERE {which} AND (reached & {bit}) = 0 RETURNING channel, payload, created_at"
            ),
            &[key],
        )?;
        let column = stage.column();
        for r in &rows {
            let payload: crate::OutboxPayload = r.json(1)?;
            let domain::journey::Effect::Send { node, template, .. } = &payload.effect else { continue };
            self.conn.execute(
                &format!(
                    "INSERT INTO content_counts (journey_id, node, template, hour, channel, {column}) VALUES (?, ?, ?, ?, ?, 1) \
                     ON CONFLICT (journey_id, node, template, hour) DO UPDATE SET {column} = content_counts.{column} + 1"
                ),
                params![
                    payload.context.journey.as_str(),
                    node.as_str(),
                    template.0.as_str(),
                    NodeDeltas::hour(Timestamp(r.int(2)?)).0,
                    r.text(0)?
                ],
            )?;
        }
        Ok(())
    }

    fn content_funnel(&mut self, journey: &JourneyId, from: Timestamp, to: Timestamp) -> Result<Vec<ContentFunnel>> {
        let rows = self.conn.query(
            "SELECT node, template, MIN(channel), CAST(SUM(sent) AS BIGINT), CAST(SUM(delivered) AS BIGINT), CAST(SUM(opened) AS BIGINT), \
             CAST(SUM(clicked) AS BIGINT), CAST(SUM(converted) AS BIGINT) FROM content_counts \
             WHERE journey_id = ? AND hour >= ? AND hour < ? GROUP BY node, template",
            params![journey.as_str(), from.0, to.0],
        )?;
        let mut out = all(rows, |r| {
            Ok(ContentFunnel {
                node: r.text(0)?.to_owned(),
                template: r.text(1)?.to_owned(),
                channel: r.text(2)?.to_owned(),
                sent: r.int(3)?,
                delivered: r.int(4)?,
                opened: r.int(5)?,
                clicked: r.int(6)?,
                converted: r.int(7)?,
            })
        })?;
        out.sort_by(|a, b| (&a.node, &a.template).cmp(&(&b.node, &b.template)));
        Ok(out)
    }

    fn note_names(&mut self, kind: NameKind, names: &[&str]) -> Result<()> {
        for name in names {
            self.conn.execute("INSERT INTO seen_names (kind, name) VALUES (?, ?) ON CONFLICT DO NOTHING", params![kind.as_str(), *name])?;
        }
        Ok(())
    }

    fn seen_names(&mut self, kind: NameKind) -> Result<Vec<String>> {
        let rows = self.conn.query("SELECT name FROM seen_names WHERE kind = ? ORDER BY name", params![kind.as_str()])?;
        all(rows, |r| Ok(r.text(0)?.to_owned()))
    }

    fn note_property_paths(&mut self, paths: &[PropertyPath]) -> Result<()> {
        for p in paths {
            self.conn.execute(
                "INSERT INTO property_paths (event, path) VALUES (?, ?) ON CONFLICT DO NOTHING",
                params![p.event.as_str(), p.path.as_str()],
            )?;
        }
        Ok(())
    }

    fn property_paths(&mut self) -> Result<Vec<PropertyPath>> {
        let rows = self.conn.query("SELECT event, path FROM property_paths", &[])?;
        let mut out = all(rows, |r| Ok(PropertyPath { event: r.text(0)?.to_owned(), path: r.text(1)?.to_owned() }))?;
        // Sorted here: a PostgreSQL database's collation may not be byte order (SQLite's is).
        out.sort_unstable();
        Ok(out)
    }

    fn create_user(&mut self, u: &NewUser) -> Result<UserId> {
        let email = u.email.to_lowercase();
        let rows = self.conn.query(
            "INSERT INTO users (email, name, role, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?) \
             ON CONFLICT (email) DO NOTHING RETURNING id",
            params![email.as_str(), u.name.as_str(), u.role.as_str(), u.password_hash.as_str(), u.now.0, u.now.0],
        )?;
        first(rows, |r| Ok(UserId(r.int(0)?)))?.ok_or_else(|| Error::Conflict(format!("user {email:?}")))
    }

    fn users(&mut self) -> Result<Vec<User>> {
        let rows = self.conn.query(&format!("SELECT {USER_COLS} FROM users ORDER BY id"), &[])?;
        all(rows, user_row)
    }

    fn users_after(&mut self, after: Option<UserId>, n: usize) -> Result<Vec<User>> {
        let rows = self.conn.query(
            &format!("SELECT {USER_COLS} FROM users WHERE id > ? ORDER BY id LIMIT ?"),
            params![after.map_or(i64::MIN, |u| u.0), limit(n)],
        )?;
        all(rows, user_row)
    }

    fn user(&mut self, id: UserId) -> Result<Option<User>> {
        let rows = self.conn.query(&format!("SELECT {USER_COLS} FROM users WHERE id = ?"), params![id.0])?;
        first(rows, user_row)
    }

    fn user_by_email(&mut self, email: &str) -> Result<Option<User>> {
        let rows = self.conn.query(&format!("SELECT {USER_COLS} FROM users WHERE email = ?"), params![email.to_lowercase()])?;
        first(rows, user_row)
    }

    fn update_user(&mut self, u: &User) -> Result<()> {
        let n = self.conn.execute(
            "UPDATE users SET name = ?, role = ?, password_hash = ?, updated_at = ? WHERE id = ?",
            params![u.name.as_str(), u.role.as_str(), u.password_hash.as_str(), u.updated_at.0, u.id.0],
        )?;
        if n == 0 {
            return Err(Error::NotFound(format!("user {}", u.id)));
        }
        Ok(())
    }

    fn delete_user(&mut self, id: UserId) -> Result<bool> {
        self.conn.execute("DELETE FROM sessions WHERE user_id = ?", params![id.0])?;
        self.conn.execute("DELETE FROM api_tokens WHERE user_id = ?", params![id.0])?;
        Ok(self.conn.execute("DELETE FROM users WHERE id = ?", params![id.0])? == 1)
    }

    fn create_session(&mut self, s: &Session) -> Result<()> {
        self.conn.execute("DELETE FROM sessions WHERE expires_at <= ?", params![s.created_at.0])?;
        self.conn.execute(
            "INSERT INTO sessions (token_sha256, user_id, csrf_token, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
            params![s.token_sha256.as_str(), s.user.0, s.csrf_token.as_str(), s.created_at.0, s.expires_at.0],
        )?;
        Ok(())
    }

    fn session(&mut self, token_sha256: &str, now: Timestamp) -> Result<Option<Session>> {
        let rows = self.conn.query(
            "SELECT token_sha256, user_id, csrf_token, created_at, expires_at FROM sessions WHERE token_sha256 = ? AND expires_at > ?",
            params![token_sha256, now.0],
        )?;
        first(rows, |r| {
            Ok(Session {
                token_sha256: r.text(0)?.to_owned(),
                user: UserId(r.int(1)?),
                csrf_token: r.text(2)?.to_owned(),
                created_at: Timestamp(r.int(3)?),
                expires_at: Timestamp(r.int(4)?),
            })
        })
    }

    fn delete_session(&mut self, token_sha256: &str) -> Result<()> {
        self.conn.execute("DELETE FROM sessions WHERE token_sha256 = ?", params![token_sha256])?;
        Ok(())
    }

    fn delete_sessions_of(&mut self, user: UserId, except: Option<&str>) -> Result<()> {
        self.conn.execute("DELETE FROM sessions WHERE user_id = ? AND token_sha256 <> ?", params![user.0, except.unwrap_or("")])?;
        Ok(())
    }

    fn create_api_token(&mut self, t: &ApiToken) -> Result<ApiTokenId> {
        let rows = self.conn.query(
            "INSERT INTO api_tokens (user_id, name, token_sha256, created_at) VALUES (?, ?, ?, ?) \
             ON CONFLICT (token_sha256) DO NOTHING RETURNING id",
            params![t.user.0, t.name.as_str(), t.token_sha256.as_str(), t.created_at.0],
        )?;
        first(rows, |r| Ok(ApiTokenId(r.int(0)?)))?.ok_or_else(|| Error::Conflict("the API token".into()))
    }

    fn api_token_by_hash(&mut self, token_sha256: &str) -> Result<Option<ApiToken>> {
        let rows = self.conn.query(&format!("SELECT {TOKEN_COLS} FROM api_tokens WHERE token_sha256 = ?"), params![token_sha256])?;
        first(rows, token_row)
    }

    fn touch_api_token(&mut self, id: ApiTokenId, now: Timestamp, every: domain::time::Duration) -> Result<bool> {
        let n = self.conn.execute(
            "UPDATE api_tokens SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at <= ?)",
            params![now.0, id.0, now.0.saturating_sub(every.0)],
        )?;
        Ok(n == 1)
    }

    fn api_tokens_of(&mut self, user: UserId) -> Result<Vec<ApiToken>> {
        let rows = self.conn.query(&format!("SELECT {TOKEN_COLS} FROM api_tokens WHERE user_id = ? ORDER BY id"), params![user.0])?;
        all(rows, token_row)
    }

    fn delete_api_token(&mut self, user: UserId, id: ApiTokenId) -> Result<bool> {
        Ok(self.conn.execute("DELETE FROM api_tokens WHERE id = ? AND user_id = ?", params![id.0, user.0])? == 1)
    }

    fn add_audit(&mut self, e: &NewAudit) -> Result<AuditId> {
        let rows = self.conn.query(
            "INSERT INTO audit (at, actor, action, target, diff) VALUES (?, ?, ?, ?, ?) RETURNING id",
            params![e.at.0, e.actor.as_str(), e.action.as_str(), e.target.as_str(), to_json(&e.diff)?],
        )?;
        first(rows, |r| Ok(AuditId(r.int(0)?)))?.ok_or_else(|| Error::Corrupt("no audit id returned".into()))
    }

    fn audit_page(&mut self, before: Option<AuditId>, n: usize) -> Result<Vec<AuditEntry>> {
        let rows = self.conn.query(
            "SELECT id, at, actor, action, target, diff FROM audit WHERE id < ? ORDER BY id DESC LIMIT ?",
            params![before.map_or(i64::MAX, |b| b.0), limit(n)],
        )?;
        all(rows, |r| {
            Ok(AuditEntry {
                id: AuditId(r.int(0)?),
                at: Timestamp(r.int(1)?),
                actor: r.text(2)?.to_owned(),
                action: r.text(3)?.to_owned(),
                target: r.text(4)?.to_owned(),
                diff: r.json(5)?,
            })
        })
    }

    fn setting(&mut self, key: &str) -> Result<Option<String>> {
        let rows = self.conn.query("SELECT value FROM settings WHERE key = ?", params![key])?;
        first(rows, |r| Ok(r.text(0)?.to_owned()))
    }

    fn set_setting(&mut self, key: &str, value: &str) -> Result<()> {
        self.conn.execute(
            "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }
}

fn wake(run: &Run) -> Option<i64> {
    (run.status == RunStatus::Waiting).then_some(run.wake_at.map(|t| t.0)).flatten()
}
