//! The embedded backend: SQLite in WAL mode, in a file of the data directory.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, ToSql};

use crate::sql::{Conn, Dialect, Durability, Row, SqlTx, Val, migrate, pick};
use crate::{Error, Result, Store, Tx};

const READERS: usize = 3;

/// One writer connection (writes are serialised in-process, so SQLite never reports busy)
/// and a few readers, which WAL lets run beside the writer.
///
/// Durability: SQLite's own commit does not wait for the disk (`synchronous = NORMAL`, which
/// in WAL mode never corrupts: a power loss can only lose the last commits); `commit` then
/// syncs the write-ahead log itself, after letting go of the writer (others may write while
/// the disk catches up), which makes it what `synchronous = FULL` is. The engine's
/// core uses `commit_unsynced` and has another thread call `sync` (one sync for every commit
/// since the last), so it can go on with the next batch meanwhile; nothing it commits is
/// acknowledged or sent before that sync returns.
pub struct SqliteStore {
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
    wal: Arc<Wal>,
}

/// The write-ahead log file, opened on its own to sync it.
struct Wal {
    path: PathBuf,
    file: Mutex<Option<File>>,
}

impl Durability for Wal {
    fn sync(&self) -> Result<()> {
        let mut file = self.file.lock().map_err(|_| Error::Poisoned)?;
        if file.is_none() {
            *file = Some(File::open(&self.path)?);
        }
        if let Some(f) = file.as_ref() {
            f.sync_data()?;
        }
        Ok(())
    }
}

fn open_conn(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path)?;
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = OFF;")?;
    conn.set_prepared_statement_cache_capacity(128);
    Ok(conn)
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and brings its schema up to date.
    pub fn open(path: &Path) -> Result<SqliteStore> {
        let mut writer = open_conn(path)?;
        // The writer touches a person's pages across many commits: a larger page cache
        // (16 MiB). Checkpoints stay SQLite's default (every ~4 MB of WAL): larger ones stall
        // the writer long enough to show in the latency tail.
        writer.execute_batch("PRAGMA cache_size = -16384;")?;
        let mut wal_path = path.as_os_str().to_owned();
        wal_path.push("-wal");
        let wal = Arc::new(Wal { path: PathBuf::from(wal_path), file: Mutex::new(None) });
        migrate(&mut SqliteConn(&mut writer, Some(wal.clone())))?;
        let readers = (0..READERS).map(|_| open_conn(path).map(Mutex::new)).collect::<Result<_>>()?;
        Ok(SqliteStore { writer: Mutex::new(writer), readers, next_reader: AtomicUsize::new(0), wal })
    }
}

/// A connection, owned or borrowed from the pool, and the log to sync after its commits
/// (the writer's).
struct SqliteConn<C>(C, Option<Arc<Wal>>);

impl ToSql for Val {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Val::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Val::Int(i) => ToSqlOutput::Borrowed(ValueRef::Integer(*i)),
            Val::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Val::Bytes(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
        })
    }
}

impl<C: std::ops::DerefMut<Target = Connection>> Conn for SqliteConn<C> {
    fn execute(&mut self, sql: &str, params: &[Val]) -> Result<u64> {
        let mut stmt = self.0.prepare_cached(sql)?;
        Ok(stmt.execute(rusqlite::params_from_iter(params))? as u64)
    }

    fn query(&mut self, sql: &str, params: &[Val]) -> Result<Vec<Row>> {
        let mut stmt = self.0.prepare_cached(sql)?;
        let n = stmt.column_count();
        let mut rows = stmt.query(rusqlite::params_from_iter(params))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let mut vals = Vec::with_capacity(n);
            for i in 0..n {
                vals.push(match row.get_ref(i)? {
                    ValueRef::Null => Val::Null,
                    ValueRef::Integer(v) => Val::Int(v),
                    ValueRef::Real(v) => Val::Int(v as i64),
                    ValueRef::Text(t) => Val::Text(String::from_utf8_lossy(t).into_owned()),
                    ValueRef::Blob(b) => Val::Bytes(b.to_vec()),
                });
            }
            out.push(Row(vals));
        }
        Ok(out)
    }

    fn batch(&mut self, sql: &str) -> Result<()> {
        Ok(self.0.execute_batch(sql)?)
    }

    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn durability(&self) -> Option<Arc<dyn Durability>> {
        self.1.clone().map(|wal| wal as Arc<dyn Durability>)
    }
}

impl Store for SqliteStore {
    fn write(&self) -> Result<Box<dyn Tx + '_>> {
        let guard: MutexGuard<'_, Connection> = self.writer.lock().map_err(|_| Error::Poisoned)?;
        Ok(Box::new(SqlTx::begin(SqliteConn(guard, Some(self.wal.clone())), "BEGIN IMMEDIATE")?))
    }

    fn read(&self) -> Result<Box<dyn Tx + '_>> {
        let guard = pick(&self.readers, &self.next_reader)?;
        Ok(Box::new(SqlTx::begin(SqliteConn(guard, None), "BEGIN")?))
    }

    fn kind(&self) -> &'static str {
        "sqlite"
    }

    fn sync(&self) -> Result<()> {
        self.wal.sync()
    }
}
