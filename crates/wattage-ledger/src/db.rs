//! One connection to either database, with the few operations the ledger needs. SQL is
//! written once with `$1`-style placeholders (rewritten to `?1` for SQLite) and types both
//! databases share (`TEXT`, `BIGINT`, `DOUBLE PRECISION`).

use std::collections::HashMap;
use std::path::Path;

use postgres::types::{ToSql, Type};
use rusqlite::OpenFlags;

use crate::Target;
use crate::error::LedgerError;

/// A column's type in the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Text,
    Int,
    Real,
    /// A `DOUBLE PRECISION` that may be NULL.
    OptReal,
}

/// The columns of `requests`, in the order of docs/gateway.md.
pub(crate) const REQUEST_COLUMNS: [(&str, Kind); 31] = [
    ("request_id", Kind::Text),
    ("instance_id", Kind::Text),
    ("seq", Kind::Int),
    ("time", Kind::Text),
    ("key_id", Kind::Text),
    ("upstream", Kind::Text),
    ("model", Kind::Text),
    ("deployment_model", Kind::Text),
    ("hardware", Kind::Text),
    ("gpus", Kind::Int),
    ("endpoint", Kind::Text),
    ("status", Kind::Int),
    ("stream", Kind::Int),
    ("input_tokens", Kind::Int),
    ("cached_input_tokens", Kind::Int),
    ("output_tokens", Kind::Int),
    ("reasoning_tokens", Kind::Int),
    ("tokens_source", Kind::Text),
    ("batch", Kind::Real),
    ("latency_ms", Kind::Real),
    ("ttft_ms", Kind::OptReal),
    ("energy_wh", Kind::Real),
    ("low_wh", Kind::Real),
    ("high_wh", Kind::Real),
    ("co2e_g", Kind::Real),
    ("water_ml", Kind::Real),
    ("cost_usd", Kind::Real),
    ("scope", Kind::Text),
    ("prev_hash", Kind::Text),
    ("hash", Kind::Text),
    ("signature", Kind::Text),
];

/// The schema, identical in SQLite and PostgreSQL.
pub(crate) fn schema() -> String {
    let cols: Vec<String> = REQUEST_COLUMNS
        .iter()
        .map(|(name, kind)| {
            let ty = match kind {
                Kind::Text => "TEXT",
                Kind::Int => "BIGINT",
                Kind::Real | Kind::OptReal => "DOUBLE PRECISION",
            };
            let null = match (*name, kind) {
                ("request_id", _) => " PRIMARY KEY",
                (_, Kind::OptReal) => "",
                _ => " NOT NULL",
            };
            format!("    {name} {ty}{null}")
        })
        .collect();
    format!(
        "CREATE TABLE IF NOT EXISTS instances (
    instance_id TEXT PRIMARY KEY,
    public_key TEXT NOT NULL,
    created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS requests (
{},
    UNIQUE (instance_id, seq)
);
CREATE INDEX IF NOT EXISTS requests_key_time ON requests (key_id, time);
CREATE TABLE IF NOT EXISTS keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    created TEXT NOT NULL,
    revoked BIGINT NOT NULL DEFAULT 0,
    budget_amount DOUBLE PRECISION,
    budget_unit TEXT,
    budget_period TEXT,
    shadow BIGINT NOT NULL DEFAULT 0
);
",
        cols.join(",\n")
    )
}

/// One value read back.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
}

/// One value to bind.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Param<'a> {
    Int(i64),
    Real(f64),
    OptReal(Option<f64>),
    Text(&'a str),
}

/// How a connection is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// Create the file and the schema when absent (a gateway's writer, `keys create`). A
    /// SQLite file that cannot be opened for writing is opened read-only when it holds the
    /// schema: writes then fail, reads work.
    Create,
    /// The ledger must exist; writes allowed (`keys revoke`).
    Write,
    /// The ledger must exist; read-only (`verify`, `export`, `keys list`).
    Read,
}

/// A connection to a SQLite file or a PostgreSQL database.
pub(crate) enum Conn {
    Sqlite {
        conn: rusqlite::Connection,
        target: String,
    },
    Pg {
        client: Box<postgres::Client>,
        target: String,
        statements: HashMap<String, postgres::Statement>,
    },
}

impl Conn {
    /// Opens `t` and checks (or, with [`Access::Create`], creates) the schema.
    pub(crate) fn open(t: &Target, access: Access) -> Result<Conn, LedgerError> {
        match t {
            Target::Sqlite(p) => open_sqlite(p, access),
            Target::Postgres(url) => open_pg(t, url, access),
        }
    }

    /// The ledger's name in messages.
    pub(crate) fn target(&self) -> &str {
        match self {
            Conn::Sqlite { target, .. } | Conn::Pg { target, .. } => target,
        }
    }

    fn db_error(&self, doing: &str, e: impl std::fmt::Display) -> LedgerError {
        LedgerError::Database {
            target: self.target().to_string(),
            why: format!("{doing}: {e}"),
        }
    }

    /// True when a PostgreSQL connection has been closed (the server went away).
    pub(crate) fn is_closed(&self) -> bool {
        match self {
            Conn::Sqlite { .. } => false,
            Conn::Pg { client, .. } => client.is_closed(),
        }
    }

    /// Runs statements without parameters or results.
    pub(crate) fn batch(&mut self, sql: &str, doing: &str) -> Result<(), LedgerError> {
        let r = match self {
            Conn::Sqlite { conn, .. } => conn.execute_batch(sql).map_err(|e| e.to_string()),
            Conn::Pg { client, .. } => client.batch_execute(sql).map_err(pg_text),
        };
        r.map_err(|e| self.db_error(doing, e))
    }

    /// Starts a write transaction (SQLite: `BEGIN IMMEDIATE`, taking the write lock now).
    pub(crate) fn begin(&mut self) -> Result<(), LedgerError> {
        let sql = match self {
            Conn::Sqlite { .. } => "BEGIN IMMEDIATE",
            Conn::Pg { .. } => "BEGIN",
        };
        self.batch(sql, "cannot begin a transaction")
    }

    /// Commits the transaction.
    pub(crate) fn commit(&mut self) -> Result<(), LedgerError> {
        self.batch("COMMIT", "cannot commit")
    }

    /// Rolls the transaction back (errors ignored: the connection may be gone).
    pub(crate) fn rollback(&mut self) {
        let _ = self.batch("ROLLBACK", "cannot roll back");
    }

    /// Runs one statement; returns the rows it changed.
    pub(crate) fn exec(
        &mut self,
        sql: &str,
        params: &[Param<'_>],
        doing: &str,
    ) -> Result<u64, LedgerError> {
        let r = match self {
            Conn::Sqlite { conn, .. } => sqlite_exec(conn, sql, params),
            Conn::Pg {
                client, statements, ..
            } => pg_statement(client, statements, sql).and_then(|st| {
                let b = pg_params(params);
                let refs: Vec<&(dyn ToSql + Sync)> = b.iter().map(|x| x.as_ref()).collect();
                client.execute(&st, &refs).map_err(pg_text)
            }),
        };
        r.map_err(|e| self.db_error(doing, e))
    }

    /// Runs a query and hands each row to `f` as it arrives (rows are not all held in
    /// memory); `f` may stop early with an error.
    pub(crate) fn each(
        &mut self,
        sql: &str,
        params: &[Param<'_>],
        doing: &str,
        mut f: impl FnMut(Vec<Cell>) -> Result<(), LedgerError>,
    ) -> Result<(), LedgerError> {
        let mut inner: Option<LedgerError> = None;
        let mut g = |cells: Vec<Cell>| -> bool {
            match f(cells) {
                Ok(()) => true,
                Err(e) => {
                    inner = Some(e);
                    false
                }
            }
        };
        let r = match self {
            Conn::Sqlite { conn, .. } => sqlite_each(conn, sql, params, &mut g),
            Conn::Pg {
                client, statements, ..
            } => pg_statement(client, statements, sql)
                .and_then(|st| pg_each(client, &st, params, &mut g)),
        };
        if let Some(e) = inner {
            return Err(e);
        }
        r.map_err(|e| self.db_error(doing, e))
    }

    /// Runs a query and returns every row.
    pub(crate) fn query(
        &mut self,
        sql: &str,
        params: &[Param<'_>],
        doing: &str,
    ) -> Result<Vec<Vec<Cell>>, LedgerError> {
        let mut rows = Vec::new();
        self.each(sql, params, doing, |r| {
            rows.push(r);
            Ok(())
        })?;
        Ok(rows)
    }

    /// True when table `name` exists.
    fn has_table(&mut self, name: &str) -> Result<bool, LedgerError> {
        let sql = match self {
            Conn::Sqlite { .. } => {
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = $1"
            }
            Conn::Pg { .. } => {
                "SELECT CAST(count(*) AS BIGINT) FROM pg_tables WHERE schemaname = current_schema() AND tablename = CAST($1 AS TEXT)"
            }
        };
        let rows = self.query(sql, &[Param::Text(name)], "cannot read the schema")?;
        Ok(matches!(rows.first().and_then(|r| r.first()), Some(Cell::Int(n)) if *n > 0))
    }
}

fn pg_text(e: postgres::Error) -> String {
    // The server's own message (with its detail and SQLSTATE) when there is one.
    match e.as_db_error() {
        Some(db) => match db.detail() {
            Some(d) => format!("{} ({d}; SQLSTATE {})", db.message(), db.code().code()),
            None => format!("{} (SQLSTATE {})", db.message(), db.code().code()),
        },
        None => e.to_string(),
    }
}

/// `$1` placeholders as SQLite's `?1`.
fn sqlite_sql(sql: &str) -> String {
    sql.replace('$', "?")
}

fn sqlite_values(params: &[Param<'_>]) -> Vec<rusqlite::types::Value> {
    use rusqlite::types::Value;
    params
        .iter()
        .map(|p| match *p {
            Param::Int(i) => Value::Integer(i),
            Param::Real(x) => Value::Real(x),
            Param::OptReal(Some(x)) => Value::Real(x),
            Param::OptReal(None) => Value::Null,
            Param::Text(s) => Value::Text(s.to_string()),
        })
        .collect()
}

fn sqlite_exec(
    conn: &rusqlite::Connection,
    sql: &str,
    params: &[Param<'_>],
) -> Result<u64, String> {
    let mut st = conn
        .prepare_cached(&sqlite_sql(sql))
        .map_err(|e| e.to_string())?;
    let n = st
        .execute(rusqlite::params_from_iter(sqlite_values(params)))
        .map_err(|e| e.to_string())?;
    Ok(n as u64)
}

fn sqlite_each(
    conn: &rusqlite::Connection,
    sql: &str,
    params: &[Param<'_>],
    f: &mut dyn FnMut(Vec<Cell>) -> bool,
) -> Result<(), String> {
    use rusqlite::types::ValueRef;
    let mut st = conn
        .prepare_cached(&sqlite_sql(sql))
        .map_err(|e| e.to_string())?;
    let n = st.column_count();
    let mut rows = st
        .query(rusqlite::params_from_iter(sqlite_values(params)))
        .map_err(|e| e.to_string())?;
    while let Some(row) = rows.next().map_err(|e| e.to_string())? {
        let mut cells = Vec::with_capacity(n);
        for i in 0..n {
            let v = row.get_ref(i).map_err(|e| e.to_string())?;
            cells.push(match v {
                ValueRef::Null => Cell::Null,
                ValueRef::Integer(i) => Cell::Int(i),
                ValueRef::Real(x) => Cell::Real(x),
                ValueRef::Text(t) => Cell::Text(String::from_utf8_lossy(t).into_owned()),
                ValueRef::Blob(b) => Cell::Text(hex::encode(b)),
            });
        }
        if !f(cells) {
            break;
        }
    }
    Ok(())
}

fn pg_statement(
    client: &mut postgres::Client,
    statements: &mut HashMap<String, postgres::Statement>,
    sql: &str,
) -> Result<postgres::Statement, String> {
    if let Some(s) = statements.get(sql) {
        return Ok(s.clone());
    }
    let s = client.prepare(sql).map_err(pg_text)?;
    statements.insert(sql.to_string(), s.clone());
    Ok(s)
}

fn pg_params<'a>(params: &[Param<'a>]) -> Vec<Box<dyn ToSql + Sync + 'a>> {
    params
        .iter()
        .map(|p| -> Box<dyn ToSql + Sync + 'a> {
            match *p {
                Param::Int(i) => Box::new(i),
                Param::Real(x) => Box::new(x),
                Param::OptReal(x) => Box::new(x),
                Param::Text(s) => Box::new(s),
            }
        })
        .collect()
}

fn pg_each(
    client: &mut postgres::Client,
    st: &postgres::Statement,
    params: &[Param<'_>],
    f: &mut dyn FnMut(Vec<Cell>) -> bool,
) -> Result<(), String> {
    use postgres::fallible_iterator::FallibleIterator;
    let b = pg_params(params);
    let refs: Vec<&(dyn ToSql + Sync)> = b.iter().map(|x| x.as_ref()).collect();
    let mut it = client.query_raw(st, refs).map_err(pg_text)?;
    while let Some(row) = it.next().map_err(pg_text)? {
        let mut cells = Vec::with_capacity(row.len());
        for (i, col) in row.columns().iter().enumerate() {
            let ty = col.type_();
            let cell = if *ty == Type::INT8 {
                row.try_get::<_, Option<i64>>(i).map(|v| v.map(Cell::Int))
            } else if *ty == Type::INT4 {
                row.try_get::<_, Option<i32>>(i)
                    .map(|v| v.map(|x| Cell::Int(i64::from(x))))
            } else if *ty == Type::FLOAT8 {
                row.try_get::<_, Option<f64>>(i).map(|v| v.map(Cell::Real))
            } else if *ty == Type::BOOL {
                row.try_get::<_, Option<bool>>(i)
                    .map(|v| v.map(|x| Cell::Int(i64::from(x))))
            } else {
                row.try_get::<_, Option<String>>(i)
                    .map(|v| v.map(Cell::Text))
            };
            cells.push(cell.map_err(pg_text)?.unwrap_or(Cell::Null));
        }
        if !f(cells) {
            break;
        }
    }
    Ok(())
}

fn open_sqlite(path: &Path, access: Access) -> Result<Conn, LedgerError> {
    let target = path.display().to_string();
    let exists = path.exists();
    if !exists && access != Access::Create {
        return Err(LedgerError::Missing {
            path: path.to_path_buf(),
        });
    }
    let db = |why: String| LedgerError::Database {
        target: target.clone(),
        why,
    };
    let base = OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
    let rw = base | OpenFlags::SQLITE_OPEN_READ_WRITE;
    let ro = base | OpenFlags::SQLITE_OPEN_READ_ONLY;
    let conn = match access {
        Access::Create => {
            rusqlite::Connection::open_with_flags(path, rw | OpenFlags::SQLITE_OPEN_CREATE)
                .or_else(|_| rusqlite::Connection::open_with_flags(path, ro))
        }
        Access::Write => rusqlite::Connection::open_with_flags(path, rw),
        Access::Read => rusqlite::Connection::open_with_flags(path, ro),
    }
    .map_err(|e| db(format!("cannot open: {e}")))?;
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(|e| db(format!("cannot set the busy timeout: {e}")))?;
    let read_only = conn
        .is_readonly(rusqlite::MAIN_DB)
        .map_err(|e| db(e.to_string()))?;
    let mut c = Conn::Sqlite {
        conn,
        target: target.clone(),
    };
    // A file that is not SQLite fails on its first read.
    let has = c.has_table("requests").map_err(|e| match e {
        LedgerError::Database { why, .. } if why.contains("not a database") => {
            LedgerError::NotLedger {
                target: target.clone(),
                why: "the file is not a SQLite database".into(),
            }
        }
        other => other,
    })?;
    if !read_only {
        // WAL: readers never block the writer; NORMAL: a committed transaction survives the
        // process being killed (not a power cut, which may lose the last transactions).
        c.batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;",
            "cannot set WAL mode",
        )?;
    }
    if !has {
        if access != Access::Create || read_only {
            return Err(LedgerError::NotLedger {
                target,
                why: if exists && access == Access::Create {
                    "it has no `requests` table and cannot be written".into()
                } else {
                    "it has no `requests` table".into()
                },
            });
        }
        c.batch(&schema(), "cannot create the schema")?;
    }
    Ok(c)
}

/// A PostgreSQL URL with its password replaced by `***`, for messages.
pub(crate) fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (auth, host) = match rest.split_once('@') {
        Some((a, h)) if !a.contains('/') => (a, h),
        _ => return url.to_string(),
    };
    match auth.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_string(),
    }
}

fn open_pg(t: &Target, url: &str, access: Access) -> Result<Conn, LedgerError> {
    let target = t.to_string();
    let client =
        postgres::Client::connect(url, postgres::NoTls).map_err(|e| LedgerError::Database {
            target: target.clone(),
            why: format!("cannot connect: {}", pg_text(e)),
        })?;
    let mut c = Conn::Pg {
        client: Box::new(client),
        target: target.clone(),
        statements: HashMap::new(),
    };
    if !c.has_table("requests")? {
        if access != Access::Create {
            return Err(LedgerError::NotLedger {
                target,
                why: "the database has no `requests` table in its current schema".into(),
            });
        }
        // Two gateways starting together: the transaction-scoped lock makes one wait for the
        // other's `CREATE ... IF NOT EXISTS` (which is not safe to race).
        let sql = format!(
            "BEGIN; SELECT pg_advisory_xact_lock(8097455623158913); {} COMMIT;",
            schema()
        );
        c.batch(&sql, "cannot create the schema")?;
    }
    Ok(c)
}
