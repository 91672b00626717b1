"""Several upstreams for one model name: ranking by energy, failover, all failing
(docs/gateway.md, "Routing")."""

from __future__ import annotations

import httpx

from conftest import free_port, new_id, write_config

DEAR = {"model": "llama-3.1-70b", "hardware": "h100-sxm", "gpus": 4}
CHEAP = {"model": "llama-3.1-8b", "hardware": "h100-sxm", "gpus": 1}
BODY = {"model": "m", "messages": [{"role": "user", "content": "route me"}], "max_tokens": 4}


def routed_gateway(start_gateway, tmp_path, upstreams: list[dict], policy: str = "lowest-energy"):
    listen = f"127.0.0.1:{free_port()}"
    ledger = tmp_path / "ledger.db"
    for u in upstreams:
        u.setdefault("models", ["m"])
    cfg = write_config(tmp_path / "gateway.toml", listen=listen, ledger=str(ledger), upstreams=upstreams,
                       routing={"policy": "least-loaded", "models": {"m": policy}})
    return start_gateway(config=cfg, listen=listen, ledger=ledger)


def test_lowest_energy_picks_the_cheaper_deployment(start_gateway, start_fake, tmp_path):
    dear, cheap = start_fake("dear", ["m"]), start_fake("cheap", ["m"])
    g = routed_gateway(start_gateway, tmp_path, [
        {"name": "dear", "url": dear.url, "deployment": DEAR},
        {"name": "cheap", "url": cheap.url, "deployment": CHEAP},
    ])
    client = g.client()
    ids = [new_id("route") for _ in range(5)]
    for rid in ids:
        client.chat.completions.create(**BODY, extra_headers={"x-request-id": rid})
    rows = [g.ledger.row(rid) for rid in ids]
    assert [r["upstream"] for r in rows] == ["cheap"] * 5
    assert all((r["deployment_model"], r["gpus"]) == ("llama-3.1-8b", 1) for r in rows)
    assert (dear.stats()["requests"], cheap.stats()["requests"]) == (0, 5)


def test_failover_on_5xx_and_refused_connection(start_gateway, start_fake, tmp_path):
    broken = start_fake("broken", ["m"], status=500)
    good = start_fake("good", ["m"])
    g = routed_gateway(start_gateway, tmp_path, [
        {"name": "good", "url": good.url, "deployment": DEAR},
        {"name": "broken", "url": broken.url, "deployment": CHEAP},
        {"name": "refused", "url": f"http://127.0.0.1:{free_port()}/v1",
         "deployment": {"model": "llama-3.1-8b", "hardware": "h100-sxm", "gpus": 2}},
    ])
    client = g.client()
    rid = new_id("failover")
    c = client.chat.completions.create(**BODY, extra_headers={"x-request-id": rid})
    assert c.usage.completion_tokens == 4
    assert g.ledger.row(rid)["upstream"] == "good"
    assert broken.stats()["requests"] >= 1, "the cheaper, failing upstream was never tried"
    # A stream fails over too (nothing had reached the client).
    rid = new_id("failover-stream")
    chunks = list(client.chat.completions.create(**BODY, stream=True, extra_headers={"x-request-id": rid}))
    assert sum(1 for ch in chunks if ch.choices and ch.choices[0].delta.content) == 4
    assert g.ledger.wait_row(rid)["upstream"] == "good"


def test_all_upstreams_failing_is_502_naming_each(start_gateway, start_fake, tmp_path):
    a = start_fake("first", ["m"], status=500)
    b = start_fake("second", ["m"], status=503)
    g = routed_gateway(start_gateway, tmp_path, [
        {"name": "first", "url": a.url, "deployment": DEAR},
        {"name": "second", "url": b.url, "deployment": CHEAP},
    ])
    r = httpx.post(f"{g.url}/chat/completions", json=BODY, timeout=10)
    assert r.status_code == 502, r.text[:500]
    body = r.json()
    assert "first" in r.text and "second" in r.text, f"the 502 body does not name each attempt: {body}"
    assert a.stats()["requests"] >= 1 and b.stats()["requests"] >= 1
