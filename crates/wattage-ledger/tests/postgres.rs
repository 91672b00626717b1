//! The ledger on PostgreSQL: two gateway instances sharing one database. The server comes from
//! `WATTAGE_TEST_POSTGRES_URL` (`./scripts/test` starts one); each test works in its own
//! schema, so tests run in parallel.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashSet;
use std::path::Path;

use common::{dir, entry};
use wattage_ledger::{
    Budget, Ledger, LedgerError, OpenOptions, Target, create_key, list_keys, revoke_key, rows,
    verify,
};

/// A fresh schema for `name`, and the URL that works in it. Fails (never skips) without a
/// server.
fn fresh(name: &str) -> Target {
    let Ok(url) = std::env::var("WATTAGE_TEST_POSTGRES_URL") else {
        panic!(
            "WATTAGE_TEST_POSTGRES_URL is not set: run `./scripts/test`, which starts a \
             PostgreSQL server, or set it to a server's URL (e.g. \
             postgres://postgres@127.0.0.1:55432/postgres)"
        );
    };
    let schema = format!("ledger_test_{name}");
    let mut c = postgres::Client::connect(&url, postgres::NoTls)
        .unwrap_or_else(|e| panic!("cannot connect to WATTAGE_TEST_POSTGRES_URL `{url}`: {e}"));
    c.batch_execute(&format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema};"
    ))
    .unwrap();
    let sep = if url.contains('?') { '&' } else { '?' };
    Target::parse(&format!("{url}{sep}options=-csearch_path%3D{schema}"))
}

fn open(t: &Target, key: &Path, group: usize) -> Ledger {
    let mut o = OpenOptions::new(t.clone());
    o.signing_key = Some(key.to_path_buf());
    o.max_group = group;
    Ledger::open(o).unwrap()
}

#[test]
fn two_instances_share_one_ledger() {
    let t = fresh("two_instances");
    let d = dir("pg-two-instances");
    let a = open(&t, &d.join("a.key"), 16);
    let b = open(&t, &d.join("b.key"), 16);
    assert_ne!(a.instance_id(), b.instance_id());
    let mut written = [0u64; 2];
    let mut duplicates = 0;
    std::thread::scope(|s| {
        let mut hs = Vec::new();
        for (n, l) in [&a, &b].into_iter().enumerate() {
            for th in 0..3 {
                hs.push((
                    n,
                    s.spawn(move || {
                        let mut got = Vec::new();
                        // The second instance goes through the ids backwards.
                        let order: Vec<u64> = if n == 0 {
                            (0..60).collect()
                        } else {
                            (0..60).rev().collect()
                        };
                        for i in order {
                            // Every request id is sent by both instances (a client retrying
                            // through another gateway); half also by two threads of one.
                            let id = format!("req-{}-{i}", th % 2);
                            got.push(l.append_blocking(entry(&id, i)).unwrap());
                        }
                        got
                    }),
                ));
            }
        }
        for (n, h) in hs {
            for a in h.join().unwrap() {
                if a.duplicate {
                    duplicates += 1;
                } else {
                    written[n] += 1;
                }
            }
        }
    });
    assert_eq!(written[0] + written[1], 120, "each id counted once");
    assert_eq!(duplicates, 360 - 120);
    drop((a, b));
    let r = verify(&t).unwrap();
    assert!(r.ok(), "{:?}", r.problems);
    assert_eq!(r.rows, 120);
    assert_eq!(r.instances.len(), 2);
    let mut per: Vec<u64> = r.instances.iter().map(|i| i.last_seq).collect();
    per.sort_unstable();
    let mut want = written.to_vec();
    want.sort_unstable();
    assert_eq!(per, want, "each chain runs 1..n without gaps");
    let ids: HashSet<String> = rows(&t)
        .unwrap()
        .into_iter()
        .map(|r| r.entry.request_id)
        .collect();
    assert_eq!(ids.len(), 120);
}

#[test]
fn one_key_cannot_write_twice_and_a_restart_continues() {
    let t = fresh("restart");
    let d = dir("pg-restart");
    let key = d.join("gw.key");
    let a = open(&t, &key, 8);
    for i in 0..5 {
        assert_eq!(
            a.append_blocking(entry(&format!("r{i}"), i)).unwrap().seq,
            i + 1
        );
    }
    let mut o = OpenOptions::new(t.clone());
    o.signing_key = Some(key.clone());
    let e = Ledger::open(o).unwrap_err();
    assert!(matches!(e, LedgerError::Locked { .. }), "{e}");
    drop(a);
    let a = open(&t, &key, 8);
    assert_eq!(a.append_blocking(entry("after", 1)).unwrap().seq, 6);
    assert!(a.append_blocking(entry("r2", 1)).unwrap().duplicate);
    drop(a);
    assert!(verify(&t).unwrap().ok());
    // An edit is caught here too.
    let url = match &t {
        Target::Postgres(u) => u.clone(),
        Target::Sqlite(_) => unreachable!(),
    };
    let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    c.batch_execute(
        "UPDATE requests SET output_tokens = output_tokens - 1 WHERE request_id = 'r3'",
    )
    .unwrap();
    let r = verify(&t).unwrap();
    assert!(!r.ok());
    assert!(
        r.problems.iter().any(|p| p.contains("`r3`")),
        "{:?}",
        r.problems
    );
}

#[test]
fn keys_and_usage_on_postgres() {
    let t = fresh("keys");
    let d = dir("pg-keys");
    let (k, secret) = create_key(
        &t,
        "team-b",
        Some(Budget::parse("20gCO2e", "month").unwrap()),
        true,
    )
    .unwrap();
    assert_eq!(wattage_ledger::hash_secret(&secret), k.hash_hex);
    assert_eq!(list_keys(&t).unwrap(), vec![k.clone()]);
    let l = open(&t, &d.join("k.key"), 4);
    let mut e = entry("u", 1);
    e.key_id = k.id.clone();
    l.append_blocking(e.clone()).unwrap();
    let u = l.usage_since(&k.id, 0).unwrap();
    assert_eq!(u.requests, 1);
    assert!((u.co2e_g - e.co2e_g).abs() < 1e-12);
    revoke_key(&t, &k.id).unwrap();
    assert!(l.keys().unwrap()[0].revoked);
    assert!(matches!(
        revoke_key(&t, "key_zz").unwrap_err(),
        LedgerError::UnknownKey { .. }
    ));
    let r = wattage_ledger::rollup(&t).unwrap();
    assert_eq!((r.len(), r[0].requests), (1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usable_from_inside_a_tokio_runtime() {
    // The sync PostgreSQL client must never run on a runtime thread: open, append, keys and
    // the free functions all work from async code.
    // (The test's own setup uses the client directly, so it runs on a thread of its own.)
    let t = std::thread::spawn(|| fresh("in_runtime")).join().unwrap();
    let d = dir("pg-in-runtime");
    let l = open(&t, &d.join("r.key"), 4);
    let a = l.append(entry("x", 1)).await.unwrap();
    assert_eq!(a.seq, 1);
    assert!(l.keys().unwrap().is_empty());
    assert!(verify(&t).unwrap().ok());
}
