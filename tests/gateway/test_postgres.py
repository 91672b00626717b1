"""Two gateway instances sharing one PostgreSQL ledger (`WATTAGE_TEST_POSTGRES_URL`): each
keeps its own chain, a request id is recorded once, `wattage ledger verify` accepts both."""

from __future__ import annotations

import threading

import httpx

from conftest import DEPLOYMENT, Ledger, free_port, new_id, run_wattage, write_config

BODY = {"model": "llama-3.1-70b", "messages": [{"role": "user", "content": "two gateways, one ledger"}],
        "max_tokens": 3}


def test_two_instances_share_a_postgres_ledger(start_gateway, fake, tmp_path, postgres_url):
    gateways = []
    for name in ("a", "b"):
        listen = f"127.0.0.1:{free_port()}"
        cfg = write_config(tmp_path / f"{name}.toml", listen=listen, ledger=postgres_url,
                           signing_key=str(tmp_path / f"{name}.key"),
                           upstreams=[{"name": "fake", "url": fake.url, "deployment": DEPLOYMENT}])
        gateways.append(start_gateway(config=cfg, listen=listen, ledger=postgres_url))

    sent: list[str] = []
    lock = threading.Lock()
    failures: list[str] = []

    def worker(i: int) -> None:
        with httpx.Client(timeout=15) as c:
            for n in range(5):
                g = gateways[(i + n) % 2]
                rid = new_id(f"pg{i}")
                r = c.post(f"{g.url}/chat/completions", json=BODY, headers={"x-request-id": rid})
                with lock:
                    (sent if r.status_code == 200 else failures).append(rid if r.status_code == 200 else r.text[:200])

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not failures, failures[:3]

    shared = new_id("pg-shared")
    for g in gateways:
        r = httpx.post(f"{g.url}/chat/completions", json=BODY, headers={"x-request-id": shared}, timeout=15)
        assert r.status_code == 200, r.text[:300]

    # The same id to both at the same moment (a client retrying on another instance), while
    # other requests are committed in the same groups: one row each, nothing else lost.
    raced = [new_id("pg-race") for _ in range(8)]
    bystanders: list[str] = []

    def race(rid: str, g) -> None:
        r = httpx.post(f"{g.url}/chat/completions", json=BODY, headers={"x-request-id": rid}, timeout=15)
        with lock:
            if r.status_code != 200:
                failures.append(f"{rid}: {r.status_code} {r.text[:200]}")

    threads = []
    for rid in raced:
        for g in gateways:
            threads.append(threading.Thread(target=race, args=(rid, g)))
            other = new_id("pg-by")
            bystanders.append(other)
            threads.append(threading.Thread(target=race, args=(other, g)))
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not failures, failures[:3]

    ledger = Ledger(postgres_url)
    every = sent + [shared] + raced + bystanders
    rows = ledger.rows("request_id = ANY(?)", (every,))
    ids = [r["request_id"] for r in rows]
    assert ids.count(shared) == 1, "one request id sent to two instances was recorded twice"
    assert sorted(ids) == sorted(every), f"missing: {set(every) - set(ids)}"
    assert len({r["instance_id"] for r in rows}) == 2, "rows of two instances should carry two instance ids"

    for g in gateways:
        g.stop()
    v = run_wattage("ledger", "verify", postgres_url, check=False)
    assert v.returncode == 0, f"`wattage ledger verify <postgres url>` exited {v.returncode}:\n{v.stdout}\n{v.stderr}"
