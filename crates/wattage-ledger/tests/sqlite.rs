//! The ledger on SQLite: the chain, tampering, duplicates, restarts, the commit rule, keys.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::BufRead;
use std::path::{Path, PathBuf};

use common::{dir, entry};
use wattage_ledger::{
    Budget, BudgetUnit, Ledger, LedgerError, OpenOptions, Period, Target, create_key, list_keys,
    revoke_key, rows, verify,
};

fn open(path: &Path, group: usize) -> Ledger {
    let mut o = OpenOptions::new(Target::Sqlite(path.to_path_buf()));
    o.max_group = group;
    Ledger::open(o).unwrap_or_else(|e| panic!("opening {}: {e:?}", path.display()))
}

/// Opens a ledger whose previous writer was just dropped. Its key file's lock is released
/// when that writer ends, but the kill -9 test running beside this one forks child
/// processes, and a child between fork and exec holds a copy of every descriptor, the
/// locked key file's included, for a moment (longer on a loaded machine): wait that out,
/// for at most 5 s. The gateway itself never forks.
fn reopen(path: &Path) -> Ledger {
    let start = std::time::Instant::now();
    loop {
        match Ledger::open(OpenOptions::new(Target::Sqlite(path.to_path_buf()))) {
            Err(LedgerError::Locked { .. }) if start.elapsed().as_secs() < 5 => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            r => return r.unwrap_or_else(|e| panic!("reopening {}: {e:?}", path.display())),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn chain_verifies_after_many_concurrent_appends() {
    let db = dir("concurrent").join("ledger.db");
    let l = open(&db, 32);
    let mut tasks = Vec::new();
    for t in 0..16 {
        let l = l.clone();
        tasks.push(tokio::spawn(async move {
            let mut seqs = Vec::new();
            for i in 0..40 {
                let a = l.append(entry(&format!("t{t}-{i}"), i)).await.unwrap();
                assert!(!a.duplicate);
                seqs.push(a.seq);
            }
            seqs
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort_unstable();
    assert_eq!(all, (1..=640).collect::<Vec<u64>>());
    let t = Target::Sqlite(db.clone());
    let r = verify(&t).unwrap();
    assert!(r.ok(), "{:?}", r.problems);
    assert_eq!(r.rows, 640);
    assert_eq!(r.instances.len(), 1);
    assert_eq!(r.instances[0].instance_id, l.instance_id());
    assert_eq!((r.instances[0].last_seq, r.instances[0].ok), (640, true));
    let back = rows(&t).unwrap();
    assert_eq!(back.len(), 640);
    let one = back.iter().find(|r| r.entry.request_id == "t3-7").unwrap();
    assert_eq!(one.entry, entry("t3-7", 7));
    assert_eq!(
        one.time,
        wattage_ledger::iso_ms(one.entry.time_unix_ms).unwrap()
    );
}

#[test]
fn duplicates_are_counted_once() {
    let db = dir("duplicates").join("ledger.db");
    let l = open(&db, 256);
    let a = l.append_blocking(entry("same", 1)).unwrap();
    assert_eq!((a.seq, a.duplicate), (1, false));
    // A retry, with different figures: not written, the chain does not advance.
    let b = l.append_blocking(entry("same", 2)).unwrap();
    assert_eq!((b.seq, b.duplicate), (0, true));
    // Duplicates inside one group (threads racing into the same transaction).
    std::thread::scope(|s| {
        let hs: Vec<_> = (0..8)
            .map(|_| s.spawn(|| l.append_blocking(entry("raced", 3)).unwrap()))
            .collect();
        let got: Vec<_> = hs.into_iter().map(|h| h.join().unwrap()).collect();
        assert_eq!(got.iter().filter(|a| !a.duplicate).count(), 1, "{got:?}");
        assert!(got.iter().all(|a| a.duplicate == (a.seq == 0)));
    });
    let c = l.append_blocking(entry("next", 4)).unwrap();
    assert_eq!(c.seq, 3);
    let t = Target::Sqlite(db);
    let r = verify(&t).unwrap();
    assert!(r.ok(), "{:?}", r.problems);
    assert_eq!(r.rows, 3);
    let same = rows(&t)
        .unwrap()
        .into_iter()
        .find(|r| r.entry.request_id == "same")
        .unwrap();
    assert_eq!(same.entry, entry("same", 1), "the first write wins");
}

#[test]
fn a_restart_continues_the_chain_and_a_second_writer_is_refused() {
    let d = dir("restart");
    let db = d.join("ledger.db");
    let first = open(&db, 4);
    let id = first.instance_id().to_string();
    let pk = first.public_key_hex();
    for i in 0..5 {
        first.append_blocking(entry(&format!("a{i}"), i)).unwrap();
    }
    // The same key, while the first writer lives: refused.
    let e = Ledger::open(OpenOptions::new(Target::Sqlite(db.clone()))).unwrap_err();
    assert!(matches!(e, LedgerError::Locked { .. }), "{e}");
    assert!(e.to_string().contains(&id), "{e}");
    drop(first);
    assert!(db.with_extension("db.key").exists());
    let again = reopen(&db);
    assert_eq!(
        (again.instance_id(), again.public_key_hex()),
        (id.as_str(), pk)
    );
    assert_eq!(again.append_blocking(entry("b", 9)).unwrap().seq, 6);
    // A second instance (its own key) in the same file: its own chain.
    let mut o = OpenOptions::new(Target::Sqlite(db.clone()));
    o.signing_key = Some(d.join("other.key"));
    let other = Ledger::open(o).unwrap();
    assert_ne!(other.instance_id(), id);
    assert_eq!(other.append_blocking(entry("c", 1)).unwrap().seq, 1);
    assert!(other.append_blocking(entry("b", 1)).unwrap().duplicate);
    drop((again, other));
    let r = verify(&Target::Sqlite(db)).unwrap();
    assert!(r.ok(), "{:?}", r.problems);
    assert_eq!(r.rows, 7);
    let seqs: Vec<_> = r.instances.iter().map(|i| (i.rows, i.last_seq)).collect();
    assert!(seqs.contains(&(6, 6)) && seqs.contains(&(1, 1)), "{seqs:?}");
}

#[cfg(unix)]
#[test]
fn the_key_file_is_private_and_a_malformed_one_is_named() {
    use std::os::unix::fs::PermissionsExt;
    let d = dir("keyfile");
    let db = d.join("ledger.db");
    drop(open(&db, 1));
    let key = d.join("ledger.db.key");
    let mode = std::fs::metadata(&key).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    std::fs::write(&key, "not hex\n").unwrap();
    let e = Ledger::open(OpenOptions::new(Target::Sqlite(db))).unwrap_err();
    assert!(
        matches!(e, LedgerError::KeyFile { .. }) && e.is_input(),
        "{e}"
    );
    assert!(e.to_string().contains("ledger.db.key"), "{e}");
}

#[test]
fn bad_entries_are_refused_before_the_writer() {
    let db = dir("invalid").join("ledger.db");
    let l = open(&db, 1);
    let mut e = entry("x", 1);
    e.energy_wh = f64::NAN;
    let err = l.append_blocking(e).unwrap_err();
    assert!(err.to_string().contains("energy_wh"), "{err}");
    let mut e = entry("", 1);
    e.request_id.clear();
    assert!(
        l.append_blocking(e)
            .unwrap_err()
            .to_string()
            .contains("request_id")
    );
    let mut e = entry("y", 1);
    e.input_tokens = u64::MAX;
    assert!(
        l.append_blocking(e)
            .unwrap_err()
            .to_string()
            .contains("input_tokens")
    );
    let mut e = entry("z", 1);
    e.time_unix_ms = -5;
    assert!(
        l.append_blocking(e)
            .unwrap_err()
            .to_string()
            .contains("time_unix_ms")
    );
    assert_eq!(l.append_blocking(entry("ok", 1)).unwrap().seq, 1);
}

/// A ledger of a few rows with every kind of value, closed (no WAL left).
fn small_ledger(d: &Path) -> PathBuf {
    let db = d.join("ledger.db");
    let l = open(&db, 2);
    for i in 0..6 {
        l.append_blocking(entry(&format!("r{i}"), i)).unwrap();
    }
    drop(l);
    assert!(verify(&Target::Sqlite(db.clone())).unwrap().ok());
    db
}

/// Verifies a copy of `src` after `sql`; `None` when `sql` changed nothing.
fn tampered(src: &Path, name: &str, sql: &str) -> Option<wattage_ledger::VerifyReport> {
    let copy = src.with_file_name(format!("{name}.db"));
    std::fs::copy(src, &copy).unwrap();
    let c = rusqlite::Connection::open(&copy).unwrap();
    let n = c.execute_batch(sql).map(|()| c.changes()).unwrap();
    drop(c);
    (n > 0).then(|| verify(&Target::Sqlite(copy)).unwrap())
}

#[test]
fn any_edit_of_any_column_is_detected() {
    let d = dir("tamper");
    let db = small_ledger(&d);
    let c = rusqlite::Connection::open(&db).unwrap();
    let cols: Vec<(String, String)> = c
        .prepare("SELECT name, type FROM pragma_table_info('requests')")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    drop(c);
    assert_eq!(cols.len(), 31);
    let mut checked = 0;
    for (name, ty) in &cols {
        // Row r3 is streamed (ttft_ms set); r2 is not (ttft_ms NULL).
        let edits: Vec<String> = match (name.as_str(), ty.as_str()) {
            ("ttft_ms", _) => vec![
                "UPDATE requests SET ttft_ms = NULL WHERE request_id = 'r3'".into(),
                "UPDATE requests SET ttft_ms = 87.25 WHERE request_id = 'r2'".into(),
                "UPDATE requests SET ttft_ms = 87.250000001 WHERE request_id = 'r3'".into(),
            ],
            ("time", _) => vec![
                "UPDATE requests SET time = '2025-11-24T17:00:00.001Z' WHERE request_id = 'r3'"
                    .into(),
                "UPDATE requests SET time = 'yesterday' WHERE request_id = 'r3'".into(),
            ],
            ("stream", _) => {
                vec!["UPDATE requests SET stream = 0 WHERE request_id = 'r3'".into()]
            }
            (_, "TEXT") => vec![
                format!("UPDATE requests SET {name} = {name} || 'x' WHERE request_id = 'r3'"),
                format!(
                    "UPDATE requests SET {name} = upper({name}) WHERE request_id = 'r3' AND {name} <> upper({name})"
                ),
            ],
            (_, "BIGINT") => vec![format!(
                "UPDATE requests SET {name} = {name} + 100 WHERE request_id = 'r3'"
            )],
            (_, "DOUBLE PRECISION") => vec![
                format!(
                    "UPDATE requests SET {name} = {name} * (1 + 1e-15) WHERE request_id = 'r3'"
                ),
                format!("UPDATE requests SET {name} = -{name} WHERE request_id = 'r3'"),
            ],
            other => panic!("no edit for column {other:?}"),
        };
        for (k, sql) in edits.iter().enumerate() {
            let Some(r) = tampered(&db, &format!("{name}-{k}"), sql) else {
                continue;
            };
            assert!(!r.ok(), "editing `{name}` went unnoticed: {sql}");
            checked += 1;
        }
    }
    assert!(checked >= 31 * 2 - 12, "{checked} edits checked");
    // Rows removed, added, reordered; the instance's key replaced.
    for (name, sql) in [
        ("delete", "DELETE FROM requests WHERE request_id = 'r2'"),
        (
            "insert",
            "INSERT INTO requests SELECT 'new', instance_id, 7, time, key_id, upstream, model, deployment_model, hardware, gpus, endpoint, status, stream, input_tokens, cached_input_tokens, output_tokens, reasoning_tokens, tokens_source, batch, latency_ms, ttft_ms, energy_wh, low_wh, high_wh, co2e_g, water_ml, cost_usd, scope, hash, hash, signature FROM requests WHERE seq = 6",
        ),
        (
            "swap",
            "UPDATE requests SET seq = -seq WHERE seq IN (2, 3); UPDATE requests SET seq = 5 - seq WHERE seq IN (-2, -3)",
        ),
        (
            "pubkey",
            "UPDATE instances SET public_key = '3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29'",
        ),
    ] {
        let r = tampered(&db, name, sql).unwrap();
        assert!(!r.ok(), "`{name}` went unnoticed");
    }
    let r = tampered(
        &db,
        "value",
        "UPDATE requests SET energy_wh = 99 WHERE seq = 4",
    )
    .unwrap();
    assert!(
        r.problems
            .iter()
            .any(|p| p.contains("seq 4") && p.contains("`r3`")),
        "{:?}",
        r.problems
    );
}

/// Child mode of the kill test: appends until killed, printing each request id once its
/// append has returned.
#[test]
fn kill9_child_writer() {
    let Ok(db) = std::env::var("WATTAGE_LEDGER_KILL_CHILD") else {
        return;
    };
    let l = open(Path::new(&db), 16);
    std::thread::scope(|s| {
        for t in 0..4 {
            let l = l.clone();
            s.spawn(move || {
                for i in 0.. {
                    let id = format!("k{t}-{i}");
                    l.append_blocking(entry(&id, i)).unwrap();
                    println!("acked {id}");
                }
            });
        }
    });
}

#[cfg(unix)]
#[test]
fn kill_9_loses_no_acknowledged_row() {
    let db = dir("kill9").join("ledger.db");
    for round in 0..3 {
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "kill9_child_writer",
                "--nocapture",
                "--test-threads",
                "1",
            ])
            .env("WATTAGE_LEDGER_KILL_CHILD", &db)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let out = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut acked = Vec::new();
        for line in out.lines() {
            let line = line.unwrap();
            if let Some(id) = line.strip_prefix("acked ") {
                acked.push(id.to_string());
                if acked.len() == 300 + 100 * round {
                    child.kill().unwrap(); // SIGKILL
                    break;
                }
            }
        }
        child.wait().unwrap();
        let t = Target::Sqlite(db.clone());
        let r = verify(&t).unwrap();
        assert!(r.ok(), "{:?}", r.problems);
        let stored: std::collections::HashSet<String> = rows(&t)
            .unwrap()
            .into_iter()
            .map(|r| r.entry.request_id)
            .collect();
        let lost: Vec<_> = acked.iter().filter(|id| !stored.contains(*id)).collect();
        assert!(
            lost.is_empty(),
            "round {round}: acknowledged but lost: {lost:?}"
        );
        assert!(r.rows >= acked.len() as u64);
    }
}

#[test]
fn a_row_is_readable_by_another_connection_when_append_returns() {
    let db = dir("committed").join("ledger.db");
    let l = open(&db, 64);
    for i in 0..20 {
        let id = format!("c{i}");
        l.append_blocking(entry(&id, i)).unwrap();
        let c = rusqlite::Connection::open(&db).unwrap();
        let n: i64 = c
            .query_row(
                "SELECT count(*) FROM requests WHERE request_id = ?1",
                [&id],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 1);
    }
}

/// Removes the immutable flag set by [`unwritable`] even when the test fails.
struct Immutable(PathBuf);

impl Drop for Immutable {
    fn drop(&mut self) {
        let _ = std::process::Command::new("chattr")
            .arg("-i")
            .arg(&self.0)
            .status();
    }
}

/// Makes `path` unwritable: by its mode, or for root (whom modes do not stop) by `chattr +i`.
#[cfg(unix)]
fn unwritable(path: &Path) -> Option<Immutable> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o444)).unwrap();
    if std::fs::OpenOptions::new().append(true).open(path).is_err() {
        return Some(Immutable(PathBuf::new()));
    }
    let ok = std::process::Command::new("chattr")
        .arg("+i")
        .arg(path)
        .status();
    let guard = Immutable(path.to_path_buf());
    (ok.is_ok_and(|s| s.success()) && std::fs::OpenOptions::new().append(true).open(path).is_err())
        .then_some(guard)
}

#[cfg(unix)]
#[test]
fn a_read_only_ledger_opens_and_its_writes_fail_clearly() {
    let d = dir("readonly");
    let db = small_ledger(&d);
    let Some(_guard) = unwritable(&db) else {
        eprintln!("note: cannot make a file unwritable here (root without chattr); not checked");
        return;
    };
    let l = open(&db, 4);
    let e = l.append_blocking(entry("late", 1)).unwrap_err();
    assert!(
        matches!(e, LedgerError::Database { .. }) && !e.is_input(),
        "{e}"
    );
    assert!(
        e.to_string().contains("readonly") || e.to_string().contains("read-only"),
        "{e}"
    );
    assert!(e.to_string().contains("ledger.db"), "{e}");
    // Reads still work.
    assert_eq!(l.usage_since("key_1", 0).unwrap().requests, 2);
    assert!(verify(&Target::Sqlite(db.clone())).unwrap().ok());
}

#[test]
fn keys_are_created_listed_and_revoked() {
    let d = dir("keys");
    let t = Target::Sqlite(d.join("ledger.db"));
    let (k, secret) = create_key(
        &t,
        "team-a",
        Some(Budget::parse("500Wh", "day").unwrap()),
        false,
    )
    .unwrap();
    assert!(secret.starts_with("wk_") && secret.len() == 67, "{secret}");
    assert_eq!(k.hash_hex, wattage_ledger::hash_secret(&secret));
    assert_eq!(k.prefix, &secret[..11]);
    let (k2, _) = create_key(&t, "shadowed", None, true).unwrap();
    let listed = list_keys(&t).unwrap();
    assert_eq!(listed.len(), 2);
    let a = listed.iter().find(|x| x.id == k.id).unwrap();
    assert_eq!(a, &k);
    assert_eq!(
        a.budget.map(|b| (b.amount, b.unit, b.period)),
        Some((500.0, BudgetUnit::Wh, Period::Day))
    );
    let b = listed.iter().find(|x| x.id == k2.id).unwrap();
    assert!(b.shadow && b.budget.is_none() && !b.revoked);
    revoke_key(&t, &k.id).unwrap();
    revoke_key(&t, &k.id).unwrap();
    assert!(
        list_keys(&t)
            .unwrap()
            .iter()
            .find(|x| x.id == k.id)
            .unwrap()
            .revoked
    );
    let e = revoke_key(&t, "key_nope").unwrap_err();
    assert!(
        matches!(e, LedgerError::UnknownKey { .. }) && e.to_string().contains("key_nope"),
        "{e}"
    );
    let e = create_key(&t, " ", None, false).unwrap_err();
    assert!(e.is_input(), "{e}");
    // The gateway's view: the same keys through an open ledger, and usage per key.
    let l = open(t_path(&t), 8);
    assert_eq!(l.keys().unwrap().len(), 2);
    let mut e1 = entry("u1", 1);
    e1.key_id = k2.id.clone();
    let mut e2 = entry("u2", 2);
    e2.key_id = k2.id.clone();
    l.append_blocking(e1.clone()).unwrap();
    l.append_blocking(e2.clone()).unwrap();
    let all = l.usage_since(&k2.id, 0).unwrap();
    assert_eq!(all.requests, 2);
    assert!((all.energy_wh - (e1.energy_wh + e2.energy_wh)).abs() < 1e-12);
    assert!((all.in_unit(BudgetUnit::L) - 2.0 * 0.74 / 1000.0).abs() < 1e-12);
    let later = l.usage_since(&k2.id, e2.time_unix_ms).unwrap();
    assert_eq!(later.requests, 1);
    assert_eq!(
        l.usage_since("nobody", 0).unwrap(),
        wattage_ledger::Totals::default()
    );
}

fn t_path(t: &Target) -> &Path {
    match t {
        Target::Sqlite(p) => p,
        Target::Postgres(_) => unreachable!(),
    }
}

#[test]
fn reading_commands_never_create_a_ledger() {
    let d = dir("missing");
    let t = Target::Sqlite(d.join("nope.db"));
    for e in [
        verify(&t).map(|_| ()).unwrap_err(),
        rows(&t).map(|_| ()).unwrap_err(),
        list_keys(&t).map(|_| ()).unwrap_err(),
        revoke_key(&t, "x").unwrap_err(),
    ] {
        assert!(
            matches!(e, LedgerError::Missing { .. }) && e.is_input(),
            "{e}"
        );
        assert!(e.to_string().contains("nope.db"), "{e}");
    }
    assert!(!d.join("nope.db").exists());
    std::fs::write(
        d.join("text.db"),
        "hello, this is not a database at all, just some text",
    )
    .unwrap();
    let e = verify(&Target::Sqlite(d.join("text.db"))).unwrap_err();
    assert!(matches!(e, LedgerError::NotLedger { .. }), "{e}");
}

#[test]
fn rollup_sums_per_day_key_and_model() {
    let db = dir("rollup").join("ledger.db");
    let l = open(&db, 8);
    let mut expect_wh = 0.0;
    for i in 0..4 {
        let mut e = entry(&format!("x{i}"), 0);
        e.time_unix_ms += i * 1000;
        expect_wh += e.energy_wh;
        l.append_blocking(e).unwrap();
    }
    l.append_blocking(entry("other-day", 30)).unwrap();
    drop(l);
    let r = wattage_ledger::rollup(&Target::Sqlite(db)).unwrap();
    assert_eq!(r.len(), 2, "{r:?}");
    assert_eq!(r[0].requests, 4);
    assert_eq!(r[0].input_tokens, 4000);
    assert!((r[0].energy_wh - expect_wh).abs() < 1e-12);
    assert_eq!(r[0].day, "2025-11-24");
    assert!(r[0].day < r[1].day);
}
