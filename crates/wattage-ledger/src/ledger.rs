//! The writer: one thread per [`Ledger`] that commits rows in groups, and a reader thread
//! for the gateway's periodic queries.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use ed25519_dalek::{Signer, SigningKey};
use sha2::{Digest, Sha256};

use crate::canonical::{GENESIS, canonical, chain_hash, hash_bytes, iso_ms, now_unix_ms};
use crate::db::{Access, Cell, Conn, Param};
use crate::error::LedgerError;
use crate::keys::{ApiKey, read_keys};
use crate::{Appended, Entry, MAX_REQUEST_ID, MAX_TEXT, OpenOptions, Target, Totals};

/// Where an answer goes: an async caller's oneshot or a blocking caller's channel.
enum Reply {
    Async(tokio::sync::oneshot::Sender<Result<Appended, LedgerError>>),
    Blocking(mpsc::SyncSender<Result<Appended, LedgerError>>),
}

impl Reply {
    fn send(self, r: Result<Appended, LedgerError>) {
        // A caller that went away (a cancelled request) no longer needs the answer; the row
        // is written all the same.
        match self {
            Reply::Async(tx) => drop(tx.send(r)),
            Reply::Blocking(tx) => drop(tx.send(r)),
        }
    }
}

struct Job {
    entry: Entry,
    reply: Reply,
}

type ReadJob = Box<dyn FnOnce(&mut Option<Conn>) + Send>;

struct Inner {
    target: Target,
    instance_id: String,
    public_key_hex: String,
    jobs: Option<mpsc::Sender<Job>>,
    writer: Option<JoinHandle<()>>,
    reads: Mutex<Option<mpsc::Sender<ReadJob>>>,
    reader: Option<JoinHandle<()>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Closing the queues ends the threads once they have written what was queued; waiting
        // for them releases the instance lock before a new Ledger of the same key opens.
        self.jobs.take();
        self.reads
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(h) = self.writer.take() {
            let _ = h.join();
        }
        if let Some(h) = self.reader.take() {
            let _ = h.join();
        }
    }
}

/// A handle to one ledger's writer thread; cheap to clone, `Send + Sync`. The thread stops
/// when the last clone is dropped, after writing every row already handed to it.
#[derive(Clone)]
pub struct Ledger {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger")
            .field("target", &self.inner.target.to_string())
            .field("instance_id", &self.inner.instance_id)
            .finish()
    }
}

impl Ledger {
    /// Opens (creating when absent) the ledger and the signing key file, takes this
    /// instance's lock and starts the writer. Does not need, and may be called outside, an
    /// async runtime. A SQLite file that cannot be written but holds the schema opens; each
    /// append then fails with [`LedgerError::Database`].
    pub fn open(opts: OpenOptions) -> Result<Ledger, LedgerError> {
        let key_path = opts
            .signing_key
            .clone()
            .unwrap_or_else(|| opts.target.default_key_path());
        let (signing, key_file) = load_or_create_key(&key_path)?;
        let public = signing.verifying_key().to_bytes();
        let public_key_hex = hex::encode(public);
        let instance_id = fingerprint(&public);
        let lock = match opts.target {
            Target::Sqlite(_) => Some(lock_key_file(&opts.target, &instance_id, key_file)?),
            Target::Postgres(_) => None,
        };
        let (jobs_tx, jobs_rx) = mpsc::channel::<Job>();
        let (ready_tx, ready_rx) = mpsc::sync_channel(1);
        let state = Writer {
            target: opts.target.clone(),
            instance_id: instance_id.clone(),
            public_key_hex: public_key_hex.clone(),
            signing,
            instance_recorded: false,
            max_group: opts.max_group.max(1),
            _lock: lock,
        };
        let writer = std::thread::Builder::new()
            .name(format!("ledger-writer-{instance_id}"))
            .spawn(move || state.run(jobs_rx, ready_tx))
            .map_err(|e| LedgerError::Database {
                target: opts.target.to_string(),
                why: format!("cannot start the writer thread: {e}"),
            })?;
        match ready_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                let _ = writer.join();
                return Err(e);
            }
            Err(_) => {
                let _ = writer.join();
                return Err(LedgerError::Closed {
                    target: opts.target.to_string(),
                });
            }
        }
        let (reads_tx, reads_rx) = mpsc::channel::<ReadJob>();
        let reader = std::thread::Builder::new()
            .name(format!("ledger-reader-{instance_id}"))
            .spawn(move || {
                let mut conn: Option<Conn> = None;
                while let Ok(job) = reads_rx.recv() {
                    job(&mut conn);
                }
            })
            .map_err(|e| LedgerError::Database {
                target: opts.target.to_string(),
                why: format!("cannot start the reader thread: {e}"),
            })?;
        Ok(Ledger {
            inner: Arc::new(Inner {
                target: opts.target,
                instance_id,
                public_key_hex,
                jobs: Some(jobs_tx),
                writer: Some(writer),
                reads: Mutex::new(Some(reads_tx)),
                reader: Some(reader),
            }),
        })
    }

    fn send(&self, entry: Entry, reply: Reply) -> Result<(), LedgerError> {
        validate(&entry)?;
        let closed = || LedgerError::Closed {
            target: self.inner.target.to_string(),
        };
        let tx = self.inner.jobs.as_ref().ok_or_else(closed)?;
        tx.send(Job { entry, reply }).map_err(|_| closed())
    }

    /// Records one request; resolves once its row is committed (or found to be a duplicate).
    /// Dropping the future does not withdraw the row.
    pub async fn append(&self, e: Entry) -> Result<Appended, LedgerError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.send(e, Reply::Async(tx))?;
        rx.await.map_err(|_| LedgerError::Closed {
            target: self.inner.target.to_string(),
        })?
    }

    /// [`Ledger::append`] for a thread that may block (never inside an async task).
    pub fn append_blocking(&self, e: Entry) -> Result<Appended, LedgerError> {
        let (tx, rx) = mpsc::sync_channel(1);
        self.send(e, Reply::Blocking(tx))?;
        rx.recv().map_err(|_| LedgerError::Closed {
            target: self.inner.target.to_string(),
        })?
    }

    /// This instance's id: the first 16 hex digits of SHA-256 of its public key.
    pub fn instance_id(&self) -> &str {
        &self.inner.instance_id
    }

    /// This instance's ed25519 public key, 64 hex digits.
    pub fn public_key_hex(&self) -> String {
        self.inner.public_key_hex.clone()
    }

    /// The ledger this writes.
    pub fn target(&self) -> &Target {
        &self.inner.target
    }

    /// Runs `f` on the reader thread's connection (opened, or reopened after a failure, on
    /// demand). Blocks the caller; call from `spawn_blocking` in async code.
    fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Conn) -> Result<T, LedgerError> + Send + 'static,
    ) -> Result<T, LedgerError> {
        let target = self.inner.target.clone();
        let closed = || LedgerError::Closed {
            target: self.inner.target.to_string(),
        };
        let (tx, rx) = mpsc::sync_channel(1);
        let job: ReadJob = Box::new(move |slot: &mut Option<Conn>| {
            let r = (|| {
                if slot.as_ref().is_none_or(Conn::is_closed) {
                    *slot = Some(Conn::open(&target, Access::Create)?);
                }
                match slot.as_mut() {
                    Some(c) => f(c),
                    None => Err(LedgerError::Closed {
                        target: target.to_string(),
                    }),
                }
            })();
            if r.is_err() {
                // Reconnect next time: the connection may be the problem.
                *slot = None;
            }
            let _ = tx.send(r);
        });
        let sent = self
            .inner
            .reads
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map(|s| s.send(job).is_ok());
        if sent != Some(true) {
            return Err(closed());
        }
        rx.recv().map_err(|_| closed())?
    }

    /// Checks that the ledger accepts writes now: writes the time into a one-row `health`
    /// table (created when absent) in its own transaction. The gateway's `/healthz` calls it
    /// after an append failed, to notice when the disk or database is writable again.
    pub fn probe_write(&self) -> Result<(), LedgerError> {
        let now = iso_ms(now_unix_ms())?;
        self.read(move |c| {
            c.batch(
                "CREATE TABLE IF NOT EXISTS health (id INTEGER PRIMARY KEY, checked TEXT NOT NULL)",
                "cannot create the health table",
            )?;
            c.begin()?;
            let r = c.exec(
                "INSERT INTO health (id, checked) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET checked = excluded.checked",
                &[Param::Text(&now)],
                "cannot write the health row",
            );
            match r.and_then(|_| c.commit()) {
                Ok(()) => Ok(()),
                Err(e) => {
                    c.rollback();
                    Err(e)
                }
            }
        })
    }

    /// Every API key (a fresh read of the `keys` table).
    pub fn keys(&self) -> Result<Vec<ApiKey>, LedgerError> {
        self.read(read_keys)
    }

    /// Sums over the rows of `key_id` whose time is at or after `since_unix_ms` (see
    /// [`crate::Period::start`]).
    pub fn usage_since(&self, key_id: &str, since_unix_ms: i64) -> Result<Totals, LedgerError> {
        let key_id = key_id.to_string();
        let since = iso_ms(since_unix_ms.clamp(0, crate::MAX_TIME_UNIX_MS))?;
        self.read(move |c| usage(c, &key_id, &since))
    }
}

fn usage(c: &mut Conn, key_id: &str, since: &str) -> Result<Totals, LedgerError> {
    let rows = c.query(
        "SELECT CAST(count(*) AS BIGINT), CAST(COALESCE(sum(energy_wh), 0) AS DOUBLE PRECISION), CAST(COALESCE(sum(co2e_g), 0) AS DOUBLE PRECISION), CAST(COALESCE(sum(water_ml), 0) AS DOUBLE PRECISION), CAST(COALESCE(sum(cost_usd), 0) AS DOUBLE PRECISION) FROM requests WHERE key_id = $1 AND time >= $2",
        &[Param::Text(key_id), Param::Text(since)],
        "cannot sum a key's usage",
    )?;
    let r = rows.first().map(Vec::as_slice).unwrap_or_default();
    let num = |i: usize| match r.get(i) {
        Some(Cell::Real(x)) => *x,
        Some(Cell::Int(n)) => *n as f64,
        _ => 0.0,
    };
    Ok(Totals {
        requests: num(0) as u64,
        energy_wh: num(1),
        co2e_g: num(2),
        water_ml: num(3),
        cost_usd: num(4),
    })
}

/// Runs `f` where a PostgreSQL client may block: on a fresh thread for PostgreSQL (its
/// client runs its own runtime, which must not be started inside another), inline for
/// SQLite.
pub(crate) fn off_runtime<T: Send>(
    t: &Target,
    f: impl FnOnce(&Target) -> Result<T, LedgerError> + Send,
) -> Result<T, LedgerError> {
    match t {
        Target::Sqlite(_) => f(t),
        Target::Postgres(_) => std::thread::scope(|s| {
            s.spawn(|| f(t)).join().unwrap_or_else(|_| {
                Err(LedgerError::Closed {
                    target: t.to_string(),
                })
            })
        }),
    }
}

/// The first 16 hex digits of SHA-256 of a public key.
pub(crate) fn fingerprint(public: &[u8; 32]) -> String {
    let h = hex::encode(Sha256::digest(public));
    h[..16].to_string()
}

fn key_error(path: &Path, why: impl Into<String>) -> LedgerError {
    LedgerError::KeyFile {
        path: path.to_path_buf(),
        why: why.into(),
    }
}

/// Reads the signing key (64 hex digits) or creates it (mode 0600 on Unix). Returns the key
/// and the open file, which the SQLite writer locks.
fn load_or_create_key(path: &Path) -> Result<(SigningKey, File), LedgerError> {
    match File::open(path) {
        Ok(f) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| key_error(path, format!("cannot read: {e}")))?;
            let mut bytes = [0u8; 32];
            hex::decode_to_slice(text.trim(), &mut bytes).map_err(|_| {
                key_error(
                    path,
                    "malformed: expected 64 hex digits (an ed25519 secret key)",
                )
            })?;
            Ok((SigningKey::from_bytes(&bytes), f))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut bytes = [0u8; 32];
            getrandom::fill(&mut bytes)
                .map_err(|e| key_error(path, format!("no random numbers: {e}")))?;
            let mut o = std::fs::OpenOptions::new();
            o.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                o.mode(0o600);
            }
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .map_err(|e| key_error(path, format!("cannot create its folder: {e}")))?;
            }
            let mut f = o
                .open(path)
                .map_err(|e| key_error(path, format!("cannot create: {e}")))?;
            f.write_all(format!("{}\n", hex::encode(bytes)).as_bytes())
                .and_then(|()| f.sync_all())
                .map_err(|e| key_error(path, format!("cannot write: {e}")))?;
            let f = File::open(path).map_err(|e| key_error(path, format!("cannot read: {e}")))?;
            Ok((SigningKey::from_bytes(&bytes), f))
        }
        Err(e) => Err(key_error(path, format!("cannot read: {e}"))),
    }
}

/// An exclusive `flock` of the key file, held while the writer lives.
fn lock_key_file(t: &Target, instance_id: &str, f: File) -> Result<File, LedgerError> {
    use fs4::fs_std::FileExt;
    match f.try_lock_exclusive() {
        Ok(true) => Ok(f),
        Ok(false) => Err(LedgerError::Locked {
            target: t.to_string(),
            instance_id: instance_id.to_string(),
            why: "its signing key file is locked".into(),
        }),
        Err(e) => Err(LedgerError::Locked {
            target: t.to_string(),
            instance_id: instance_id.to_string(),
            why: format!("cannot lock its signing key file: {e}"),
        }),
    }
}

/// Checks what the database or the chain could not hold.
fn validate(e: &Entry) -> Result<(), LedgerError> {
    let bad = |field: &'static str, why: String| Err(LedgerError::Invalid { field, why });
    if e.request_id.is_empty() || e.request_id.len() > MAX_REQUEST_ID {
        return bad(
            "request_id",
            format!(
                "{} bytes; expected 1 to {MAX_REQUEST_ID}",
                e.request_id.len()
            ),
        );
    }
    for (field, s) in [
        ("request_id", &e.request_id),
        ("key_id", &e.key_id),
        ("upstream", &e.upstream),
        ("model", &e.model),
        ("deployment_model", &e.deployment_model),
        ("hardware", &e.hardware),
        ("endpoint", &e.endpoint),
        ("tokens_source", &e.tokens_source),
        ("scope", &e.scope),
    ] {
        if s.len() > MAX_TEXT {
            return bad(field, format!("{} bytes; at most {MAX_TEXT}", s.len()));
        }
        if s.contains('\0') {
            return bad(field, "contains a NUL character".into());
        }
    }
    iso_ms(e.time_unix_ms)?;
    for (field, n) in [
        ("input_tokens", e.input_tokens),
        ("cached_input_tokens", e.cached_input_tokens),
        ("output_tokens", e.output_tokens),
        ("reasoning_tokens", e.reasoning_tokens),
    ] {
        if i64::try_from(n).is_err() {
            return bad(field, format!("{n} is above {}", i64::MAX));
        }
    }
    for (field, x) in [
        ("batch", Some(e.batch)),
        ("latency_ms", Some(e.latency_ms)),
        ("ttft_ms", e.ttft_ms),
        ("energy_wh", Some(e.energy_wh)),
        ("low_wh", Some(e.low_wh)),
        ("high_wh", Some(e.high_wh)),
        ("co2e_g", Some(e.co2e_g)),
        ("water_ml", Some(e.water_ml)),
        ("cost_usd", Some(e.cost_usd)),
    ] {
        if let Some(x) = x
            && !x.is_finite()
        {
            return bad(field, format!("{x} is not a finite number"));
        }
    }
    Ok(())
}

/// The writer thread's state.
struct Writer {
    target: Target,
    instance_id: String,
    public_key_hex: String,
    signing: SigningKey,
    instance_recorded: bool,
    max_group: usize,
    /// The locked key file (SQLite); unlocked when the writer ends.
    _lock: Option<File>,
}

impl Writer {
    fn run(mut self, jobs: mpsc::Receiver<Job>, ready: mpsc::SyncSender<Result<(), LedgerError>>) {
        let mut conn = match self.connect() {
            Ok(c) => {
                let _ = ready.send(Ok(()));
                Some(c)
            }
            Err(e) => {
                let _ = ready.send(Err(e));
                return;
            }
        };
        let mut group: Vec<Job> = Vec::with_capacity(self.max_group);
        while let Ok(first) = jobs.recv() {
            group.push(first);
            while group.len() < self.max_group {
                match jobs.try_recv() {
                    Ok(j) => group.push(j),
                    Err(_) => break,
                }
            }
            // A PostgreSQL connection lost since the last group is opened again (and the
            // instance lock taken again) before writing.
            if conn.as_ref().is_none_or(Conn::is_closed) {
                conn = None;
                match self.connect() {
                    Ok(c) => conn = Some(c),
                    Err(e) => {
                        for j in group.drain(..) {
                            j.reply.send(Err(e.clone()));
                        }
                        continue;
                    }
                }
            }
            let Some(c) = conn.as_mut() else { continue };
            // Rows in request_id order: two PostgreSQL writers then take the unique index's
            // row locks in one order and cannot deadlock on ids they share.
            group.sort_by(|a, b| a.entry.request_id.cmp(&b.entry.request_id));
            let mut result = self.write_group(c, &group);
            for _ in 0..4 {
                match &result {
                    Err(LedgerError::Database { why, .. }) if retryable(why) => {
                        result = self.write_group(c, &group);
                    }
                    _ => break,
                }
            }
            match result {
                Ok(done) => {
                    self.instance_recorded = true;
                    for (j, a) in group.drain(..).zip(done) {
                        j.reply.send(Ok(a));
                    }
                }
                Err(e) => {
                    for j in group.drain(..) {
                        j.reply.send(Err(e.clone()));
                    }
                }
            }
        }
    }

    fn connect(&self) -> Result<Conn, LedgerError> {
        let mut c = Conn::open(&self.target, Access::Create)?;
        if let Conn::Pg { .. } = c {
            // The instance id's 64 bits, as PostgreSQL's signed bigint.
            let lock_id = u64::from_str_radix(&self.instance_id, 16).unwrap_or(0) as i64;
            let got = c.query(
                "SELECT pg_try_advisory_lock($1)",
                &[Param::Int(lock_id)],
                "cannot take the instance lock",
            )?;
            if !matches!(got.first().and_then(|r| r.first()), Some(Cell::Int(1))) {
                return Err(LedgerError::Locked {
                    target: self.target.to_string(),
                    instance_id: self.instance_id.clone(),
                    why: "pg_try_advisory_lock is held by another session".into(),
                });
            }
        }
        Ok(c)
    }

    /// Writes a group in one transaction. On any error nothing of the group is written.
    fn write_group(&self, c: &mut Conn, group: &[Job]) -> Result<Vec<Appended>, LedgerError> {
        c.begin()?;
        match self.insert_all(c, group).and_then(|done| {
            c.commit()?;
            Ok(done)
        }) {
            Ok(done) => Ok(done),
            Err(e) => {
                c.rollback();
                Err(e)
            }
        }
    }

    fn insert_all(&self, c: &mut Conn, group: &[Job]) -> Result<Vec<Appended>, LedgerError> {
        if !self.instance_recorded {
            let created = iso_ms(now_unix_ms())?;
            c.exec(
                "INSERT INTO instances (instance_id, public_key, created) VALUES ($1, $2, $3) ON CONFLICT (instance_id) DO NOTHING",
                &[
                    Param::Text(&self.instance_id),
                    Param::Text(&self.public_key_hex),
                    Param::Text(&created),
                ],
                "cannot record the instance",
            )?;
        }
        // The chain's head, read inside the transaction: a restarted writer continues it.
        let head = c.query(
            "SELECT seq, hash FROM requests WHERE instance_id = $1 ORDER BY seq DESC LIMIT 1",
            &[Param::Text(&self.instance_id)],
            "cannot read the chain's head",
        )?;
        let (mut seq, mut prev) = match head.first().map(Vec::as_slice) {
            None => (0u64, GENESIS.to_string()),
            Some([Cell::Int(s), Cell::Text(h)]) if *s >= 0 && hash_bytes(h).is_some() => {
                (*s as u64, h.clone())
            }
            Some(_) => {
                return Err(LedgerError::Database {
                    target: self.target.to_string(),
                    why: format!(
                        "the last row of instance `{}` has a malformed seq or hash; run `wattage ledger verify`",
                        self.instance_id
                    ),
                });
            }
        };
        let mut done = Vec::with_capacity(group.len());
        for j in group {
            let e = &j.entry;
            let next = seq + 1;
            let prev_bytes = hash_bytes(&prev).unwrap_or([0; 32]);
            let hash = chain_hash(&prev_bytes, &canonical(&self.instance_id, next, e));
            let signature = hex::encode(self.signing.sign(&hash).to_bytes());
            let hash = hex::encode(hash);
            let time = iso_ms(e.time_unix_ms)?;
            let n = c.exec(
                &insert_sql(),
                &params(e, &self.instance_id, next, &time, &prev, &hash, &signature),
                "cannot write a row",
            )?;
            if n == 1 {
                seq = next;
                prev = hash;
                done.push(Appended {
                    seq,
                    duplicate: false,
                });
            } else {
                done.push(Appended {
                    seq: 0,
                    duplicate: true,
                });
            }
        }
        Ok(done)
    }
}

/// A PostgreSQL deadlock or serialization failure: the transaction is retried whole.
fn retryable(why: &str) -> bool {
    why.contains("SQLSTATE 40P01") || why.contains("SQLSTATE 40001")
}

fn insert_sql() -> String {
    let cols: Vec<&str> = crate::db::REQUEST_COLUMNS.iter().map(|(n, _)| *n).collect();
    let ph: Vec<String> = (1..=cols.len()).map(|i| format!("${i}")).collect();
    format!(
        "INSERT INTO requests ({}) VALUES ({}) ON CONFLICT (request_id) DO NOTHING",
        cols.join(", "),
        ph.join(", ")
    )
}

/// The bind values in the order of [`crate::db::REQUEST_COLUMNS`].
#[allow(clippy::too_many_arguments)]
fn params<'a>(
    e: &'a Entry,
    instance_id: &'a str,
    seq: u64,
    time: &'a str,
    prev: &'a str,
    hash: &'a str,
    signature: &'a str,
) -> Vec<Param<'a>> {
    // Validated to fit an i64 before the entry was queued.
    let int = |n: u64| Param::Int(i64::try_from(n).unwrap_or(i64::MAX));
    vec![
        Param::Text(&e.request_id),
        Param::Text(instance_id),
        int(seq),
        Param::Text(time),
        Param::Text(&e.key_id),
        Param::Text(&e.upstream),
        Param::Text(&e.model),
        Param::Text(&e.deployment_model),
        Param::Text(&e.hardware),
        Param::Int(i64::from(e.gpus)),
        Param::Text(&e.endpoint),
        Param::Int(i64::from(e.status)),
        Param::Int(i64::from(e.stream)),
        int(e.input_tokens),
        int(e.cached_input_tokens),
        int(e.output_tokens),
        int(e.reasoning_tokens),
        Param::Text(&e.tokens_source),
        Param::Real(e.batch),
        Param::Real(e.latency_ms),
        Param::OptReal(e.ttft_ms),
        Param::Real(e.energy_wh),
        Param::Real(e.low_wh),
        Param::Real(e.high_wh),
        Param::Real(e.co2e_g),
        Param::Real(e.water_ml),
        Param::Real(e.cost_usd),
        Param::Text(&e.scope),
        Param::Text(prev),
        Param::Text(hash),
        Param::Text(signature),
    ]
}
