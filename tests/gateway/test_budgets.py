"""Keys with budgets: 429 when spent, never overrun by concurrent requests, shadow keys
counted without blocking (docs/gateway.md, "Keys and budgets")."""

from __future__ import annotations

import threading

import httpx

from conftest import create_key, new_id

BODY = {"model": "llama-3.1-70b", "messages": [{"role": "user", "content": "Spend some energy."}], "max_tokens": 8}


def spent(ledger, key_id: str) -> tuple[float, float, int]:
    """(energy of the key's rows, the largest high estimate among them, rows)."""
    rows = ledger.rows("key_id = ?", (key_id,))
    return sum(r["energy_wh"] for r in rows), max((r["high_wh"] for r in rows), default=0.0), len(rows)


def test_budget_spent_is_429_with_remaining(start_gateway, fake, tmp_path):
    ledger = tmp_path / "ledger.db"
    key_id, secret = create_key(ledger, "tiny", "--budget", "0.5Wh", "--period", "day")
    g = start_gateway(fake, ledger=ledger)
    auth = {"authorization": f"Bearer {secret}"}
    statuses = []
    refused = None
    with httpx.Client(timeout=10) as c:
        for _ in range(15):
            r = c.post(f"{g.url}/chat/completions", json=BODY, headers={**auth, "x-request-id": new_id("b")})
            statuses.append(r.status_code)
            if r.status_code == 429:
                refused = r
                break
            assert r.status_code == 200, r.text[:300]
    assert refused is not None, f"a 0.5 Wh budget never refused: {statuses}"
    assert statuses.count(200) >= 1, statuses
    remaining = float(refused.headers["x-wattage-budget-remaining"])
    assert refused.headers.get("x-wattage-budget-unit") == "Wh"
    assert remaining <= 0.5
    refused.json()
    energy, high, n = spent(g.ledger, key_id)
    assert energy <= 0.5 + high, (energy, high)
    assert close_to(remaining, 0.5 - energy), (remaining, energy)


def close_to(remaining: float, expected: float) -> bool:
    # Nothing is reserved when the refusal is answered: what is left is the budget minus what
    # was settled (never below zero), as the header writes it: six decimals, so within half
    # of their last place.
    return abs(max(expected, 0.0) - max(remaining, 0.0)) <= 5e-7 + 1e-9


def test_concurrent_requests_never_overrun_a_budget(start_gateway, fake, tmp_path):
    ledger = tmp_path / "ledger.db"
    budget = 1.0
    key_id, secret = create_key(ledger, "shared", "--budget", f"{budget}Wh", "--period", "day")
    g = start_gateway(fake, ledger=ledger)
    lock = threading.Lock()
    statuses: list[int] = []

    def worker() -> None:
        with httpx.Client(timeout=15) as c:
            for _ in range(6):
                r = c.post(f"{g.url}/chat/completions", json=BODY,
                           headers={"authorization": f"Bearer {secret}", "x-fake-delay-ms": "150"})
                with lock:
                    statuses.append(r.status_code)
                if r.status_code != 200:
                    return

    threads = [threading.Thread(target=worker) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert set(statuses) <= {200, 429}, statuses
    assert statuses.count(429) >= 1 and statuses.count(200) >= 2, statuses
    energy, high, n = spent(g.ledger, key_id)
    assert n >= statuses.count(200)
    assert energy <= budget + high, f"{n} rows spent {energy} Wh of a {budget} Wh budget (one request's high: {high})"


def test_shadow_key_is_counted_never_blocked(start_gateway, fake, tmp_path):
    ledger = tmp_path / "ledger.db"
    key_id, secret = create_key(ledger, "watch", "--budget", "0.01Wh", "--period", "day", "--shadow")
    g = start_gateway(fake, ledger=ledger)
    with httpx.Client(timeout=10) as c:
        for _ in range(4):
            r = c.post(f"{g.url}/chat/completions", json=BODY, headers={"authorization": f"Bearer {secret}"})
            assert r.status_code == 200, r.text[:300]
    energy, _, n = spent(g.ledger, key_id)
    assert n == 4 and energy > 0.01
