//! The shared backend: PostgreSQL, through the synchronous `postgres` client.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::AtomicUsize;

use postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use postgres::{Client, NoTls, Statement};

use crate::sql::{Conn, Dialect, Row, SqlTx, Val, migrate, pick};
use crate::{Error, Result, Store, Tx};

const READERS: usize = 3;

pub struct PostgresStore {
    /// The writer, then the readers.
    conns: Vec<Mutex<PgConn>>,
    next_reader: AtomicUsize,
}

struct PgConn {
    client: Client,
    statements: HashMap<String, Statement>,
}

fn connect(url: &str, schema: Option<&str>) -> Result<PgConn> {
    let mut client = Client::connect(url, NoTls)?;
    if let Some(schema) = schema {
        let quoted = schema.replace('"', "\"\"");
        client.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS \"{quoted}\"; SET search_path TO \"{quoted}\""))?;
    }
    Ok(PgConn { client, statements: HashMap::new() })
}

impl PostgresStore {
    /// Connects to `url`; with `schema`, every table lives in that schema (created if needed).
    pub fn connect(url: &str, schema: Option<&str>) -> Result<PostgresStore> {
        let mut writer = connect(url, schema)?;
        migrate(&mut PgGuard(&mut writer))?;
        let mut conns = vec![Mutex::new(writer)];
        for _ in 0..READERS {
            conns.push(Mutex::new(connect(url, schema)?));
        }
        Ok(PostgresStore { conns, next_reader: AtomicUsize::new(0) })
    }
}

impl PostgresStore {
    /// Creates an empty database `name` (a-z, 0-9 and _) on the server `url` points at, and
    /// returns the URL of that database. On a plain thread, so it may be called anywhere.
    pub fn create_database(url: &str, name: &str) -> Result<String> {
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
            return Err(Error::Corrupt(format!("database name {name:?}: use a-z, 0-9 and _")));
        }
        let (admin, sql) = (url.to_owned(), format!("CREATE DATABASE {name}"));
        std::thread::spawn(move || -> Result<()> { Ok(Client::connect(&admin, NoTls)?.batch_execute(&sql)?) })
            .join()
            .map_err(|_| Error::Poisoned)??;
        let (base, query) = match url.split_once('?') {
            Some((b, q)) => (b, format!("?{q}")),
            None => (url, String::new()),
        };
        let server = base.rsplit_once('/').map_or(base, |(b, _)| b);
        Ok(format!("{server}/{name}{query}"))
    }

    /// Drops database `name` (made by `create_database`), closing its connections.
    pub fn drop_database(url: &str, name: &str) -> Result<()> {
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
            return Err(Error::Corrupt(format!("database name {name:?}: use a-z, 0-9 and _")));
        }
        let (admin, sql) = (url.to_owned(), format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        std::thread::spawn(move || -> Result<()> { Ok(Client::connect(&admin, NoTls)?.batch_execute(&sql)?) })
            .join()
            .map_err(|_| Error::Poisoned)?
    }
}

impl Drop for PostgresStore {
    /// The synchronous client closes its connection by running a Tokio runtime of its own,
    /// which panics on a thread that already runs async tasks (where a server or the benchmark
    /// lets go of its store): the connections are closed on a plain thread instead.
    fn drop(&mut self) {
        let conns = std::mem::take(&mut self.conns);
        if std::thread::Builder::new().name("wayfarer-pg-close".into()).spawn(move || drop(conns)).map(|t| t.join()).is_err() {
            tracing::warn!("closing PostgreSQL connections on a thread of their own failed");
        }
    }
}

#[derive(Debug)]
struct Null;

impl ToSql for Null {
    fn to_sql(&self, _: &Type, _: &mut bytes::BytesMut) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        Ok(IsNull::Yes)
    }
    fn accepts(_: &Type) -> bool {
        true
    }
    to_sql_checked!();
}

/// `?` placeholders to `$1, $2, ...` (our SQL has no `?` inside literals).
fn number_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push('$');
            out.push_str(&n.to_string());
        } else {
            out.push(c);
        }
    }
    out
}

struct PgGuard<C>(C);

fn boxed(params: &[Val]) -> Vec<Box<dyn ToSql + Sync>> {
    params
        .iter()
        .map(|v| -> Box<dyn ToSql + Sync> {
            match v {
                Val::Null => Box::new(Null),
                Val::Int(i) => Box::new(*i),
                Val::Text(s) => Box::new(s.clone()),
                Val::Bytes(b) => Box::new(b.clone()),
            }
        })
        .collect()
}

impl PgConn {
    fn prepared(&mut self, sql: &str) -> Result<Statement> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(&number_placeholders(sql))?;
        self.statements.insert(sql.to_owned(), s.clone());
        Ok(s)
    }
}

impl<C: std::ops::DerefMut<Target = PgConn>> Conn for PgGuard<C> {
    fn execute(&mut self, sql: &str, params: &[Val]) -> Result<u64> {
        let stmt = self.0.prepared(sql)?;
        let boxed = boxed(params);
        let refs: Vec<&(dyn ToSql + Sync)> = boxed.iter().map(|b| b.as_ref()).collect();
        Ok(self.0.client.execute(&stmt, &refs)?)
    }

    fn query(&mut self, sql: &str, params: &[Val]) -> Result<Vec<Row>> {
        let stmt = self.0.prepared(sql)?;
        let boxed = boxed(params);
        let refs: Vec<&(dyn ToSql + Sync)> = boxed.iter().map(|b| b.as_ref()).collect();
        let rows = self.0.client.query(&stmt, &refs)?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let mut vals = Vec::with_capacity(row.len());
            for (i, col) in row.columns().iter().enumerate() {
                let t = col.type_();
                let v = if *t == Type::INT8 {
                    row.try_get::<_, Option<i64>>(i)?.map_or(Val::Null, Val::Int)
                } else if *t == Type::INT4 {
                    row.try_get::<_, Option<i32>>(i)?.map_or(Val::Null, |v| Val::Int(v.into()))
                } else if *t == Type::TEXT || *t == Type::VARCHAR {
                    row.try_get::<_, Option<String>>(i)?.map_or(Val::Null, Val::Text)
                } else if *t == Type::BYTEA {
                    row.try_get::<_, Option<Vec<u8>>>(i)?.map_or(Val::Null, Val::Bytes)
                } else {
                    return Err(Error::Corrupt(format!("unsupported column type {t}")));
                };
                vals.push(v);
            }
            out.push(Row(vals));
        }
        Ok(out)
    }

    fn batch(&mut self, sql: &str) -> Result<()> {
        Ok(self.0.client.batch_execute(sql)?)
    }

    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }
}

impl Store for PostgresStore {
    fn write(&self) -> Result<Box<dyn Tx + '_>> {
        let guard = self.conns.first().ok_or(Error::Poisoned)?.lock().map_err(|_| Error::Poisoned)?;
        Ok(Box::new(SqlTx::begin(PgGuard(guard), "BEGIN")?))
    }

    fn read(&self) -> Result<Box<dyn Tx + '_>> {
        let guard = pick(self.conns.get(1..).unwrap_or_default(), &self.next_reader)?;
        Ok(Box::new(SqlTx::begin(PgGuard(guard), "BEGIN READ ONLY")?))
    }

    fn kind(&self) -> &'static str {
        "postgres"
    }
}
