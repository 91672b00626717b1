//! `wattage ledger` and `wattage keys` as a user runs them: exit codes, messages, files.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};

use common::{json, wattage};
use wattage_ledger::{Entry, Ledger, OpenOptions, Target};

fn tmp(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("ledger-cli")
        .join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn entry(id: &str, i: u64) -> Entry {
    Entry {
        request_id: id.to_string(),
        time_unix_ms: 1_764_000_000_000 + i as i64 * 60_000,
        key_id: "key_test".into(),
        upstream: "h100".into(),
        model: "llama-3.1-70b".into(),
        deployment_model: "llama-3.1-70b".into(),
        hardware: "h100-sxm".into(),
        gpus: 4,
        endpoint: "chat".into(),
        status: 200,
        stream: i % 2 == 1,
        input_tokens: 1000,
        cached_input_tokens: 0,
        output_tokens: 200,
        reasoning_tokens: 0,
        tokens_source: "usage".into(),
        batch: 8.5,
        latency_ms: 900.0,
        ttft_ms: (i % 2 == 1).then_some(50.0),
        energy_wh: 0.25,
        low_wh: 0.2,
        high_wh: 0.3,
        co2e_g: 0.1,
        water_ml: 0.5,
        cost_usd: 0.00002,
        scope: "facility".into(),
    }
}

/// A ledger of `n` rows, closed.
fn ledger(d: &Path, n: u64) -> PathBuf {
    let db = d.join("ledger.db");
    let l = Ledger::open(OpenOptions::new(Target::Sqlite(db.clone()))).unwrap();
    for i in 0..n {
        l.append_blocking(entry(&format!("req-{i}"), i)).unwrap();
    }
    db
}

#[test]
fn verify_passes_an_intact_ledger_and_fails_a_tampered_one() {
    let d = tmp("verify");
    let db = ledger(&d, 10);
    let o = wattage(&["ledger", "verify", s(&db)]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("10 rows in 1 instance checked, intact"),
        "{text}"
    );
    let v = json(&wattage(&["ledger", "verify", s(&db), "--json"]));
    assert_eq!(v["rows"], 10);
    assert_eq!(v["instances"][0]["last_seq"], 10);

    let c = rusqlite::Connection::open(&db).unwrap();
    c.execute(
        "UPDATE requests SET energy_wh = 0.01 WHERE request_id = 'req-4'",
        [],
    )
    .unwrap();
    drop(c);
    let o = wattage(&["ledger", "verify", s(&db)]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("`req-4`") && err.contains("seq 5"), "{err}");
    assert!(
        err.contains("error: ledger") && err.contains("is broken: 1 problem"),
        "{err}"
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("BROKEN"));
}

#[test]
fn verify_names_a_missing_or_foreign_file_and_exits_2() {
    let d = tmp("missing");
    let o = wattage(&["ledger", "verify", s(&d.join("nope.db"))]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("nope.db") && err.contains("does not exist"),
        "{err}"
    );
    assert!(
        !d.join("nope.db").exists(),
        "verify must not create a ledger"
    );
    let text = d.join("notes.txt");
    std::fs::write(
        &text,
        "these are notes, not a SQLite database; long enough to be read",
    )
    .unwrap();
    let o = wattage(&["ledger", "verify", s(&text)]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a wattage ledger"));
}

#[test]
fn export_writes_csv_and_parquet() {
    let d = tmp("export");
    let db = ledger(&d, 3);
    let csv = d.join("out/rows.csv");
    let o = wattage(&["ledger", "export", s(&db), "-o", s(&csv)]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(&csv).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4);
    assert!(
        lines[0].starts_with("request_id,instance_id,seq,time,key_id,"),
        "{}",
        lines[0]
    );
    assert!(
        lines[0].ends_with(",prev_hash,hash,signature"),
        "{}",
        lines[0]
    );
    assert!(lines[1].starts_with("req-0,"), "{}", lines[1]);
    let pq = d.join("rows.parquet");
    let o = wattage(&["ledger", "export", s(&db), "-o", s(&pq)]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(&std::fs::read(&pq).unwrap()[..4], b"PAR1");
    let o = wattage(&["ledger", "export", s(&db), "-o", s(&d.join("rows.xlsx"))]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("rows.xlsx"));
}

#[test]
fn rollup_totals_per_day_key_and_model() {
    let d = tmp("rollup");
    let db = ledger(&d, 4);
    let v = json(&wattage(&["ledger", "rollup", s(&db), "--json"]));
    let r = &v[0];
    assert_eq!(r["day"], "2025-11-24");
    assert_eq!(r["key_id"], "key_test");
    assert_eq!(r["requests"], 4);
    assert_eq!(r["output_tokens"], 800);
    assert!((r["energy_wh"].as_f64().unwrap() - 1.0).abs() < 1e-12);
    let o = wattage(&["ledger", "rollup", s(&db)]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("2025-11-24") && text.contains("llama-3.1-70b"),
        "{text}"
    );
}

#[test]
fn keys_are_created_listed_and_revoked() {
    let d = tmp("keys");
    let db = d.join("ledger.db");
    let v = json(&wattage(&[
        "keys",
        "create",
        "--ledger",
        s(&db),
        "--name",
        "team-a",
        "--budget",
        "500Wh",
        "--period",
        "day",
        "--json",
    ]));
    let secret = v["secret"].as_str().unwrap().to_string();
    let id = v["id"].as_str().unwrap().to_string();
    assert!(secret.starts_with("wk_"));
    assert_eq!(v["budget"]["unit"], "Wh");
    assert_eq!(v["budget"]["period"], "day");
    let o = wattage(&[
        "keys",
        "create",
        "--ledger",
        s(&db),
        "--name",
        "b",
        "--shadow",
    ]);
    assert!(o.status.success());
    let text = String::from_utf8_lossy(&o.stdout);
    let shown = text.lines().find(|l| l.starts_with("wk_")).unwrap();
    assert_eq!(shown.len(), 67, "the secret on a line of its own: {text}");

    let hash = wattage_ledger::hash_secret(&secret);
    for args in [
        vec!["keys", "list", "--ledger", s(&db)],
        vec!["keys", "list", "--ledger", s(&db), "--json"],
    ] {
        let o = wattage(&args);
        assert!(o.status.success());
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(text.contains(&id) && text.contains(&secret[..11]), "{text}");
        assert!(!text.contains(&hash) && !text.contains(&secret), "{text}");
    }
    let o = wattage(&["keys", "revoke", "--ledger", s(&db), &id]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v = json(&wattage(&["keys", "list", "--ledger", s(&db), "--json"]));
    let k = v
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == id.as_str())
        .unwrap();
    assert_eq!(k["revoked"], true);
    assert!(k.get("hash_hex").is_none());

    let o = wattage(&["keys", "revoke", "--ledger", s(&db), "key_unknown"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("key_unknown"));
}

#[test]
fn bad_key_flags_exit_2() {
    let d = tmp("bad-keys");
    let db = d.join("ledger.db");
    for (args, needle) in [
        (vec!["--budget", "5kWh"], "kWh"),
        (vec!["--budget", "-5Wh"], "positive"),
        (vec!["--budget", "5Wh", "--period", "week"], "week"),
        (vec!["--period", "day"], "--budget"),
    ] {
        let mut all = vec!["keys", "create", "--ledger", s(&db), "--name", "x"];
        all.extend(args);
        let o = wattage(&all);
        assert_eq!(o.status.code(), Some(2), "{all:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(needle), "{all:?}: {err}");
    }
    let o = wattage(&["keys", "list", "--ledger", s(&d.join("none.db"))]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("none.db"));
}
