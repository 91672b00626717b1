"""Faults: slow, resetting and usage-less upstreams, clients that leave, a killed gateway, a
ledger that cannot be written, bad request bodies, revoked keys (docs/gateway.md)."""

from __future__ import annotations

import errno
import json
import os
import resource
import signal
import subprocess
import threading
import time

import httpx
import openai
import pytest

from conftest import (DEPLOYMENT, create_key, free_port, new_id, run_wattage,
                      write_config)

MESSAGES = [{"role": "user", "content": "Tell me a long story about watts."}]


def chat_body(max_tokens: int = 8, stream: bool = False, **extra) -> dict:
    return {"model": "llama-3.1-70b", "messages": MESSAGES, "max_tokens": max_tokens, "stream": stream, **extra}


def test_slow_upstream_is_504(start_gateway, fake):
    g = start_gateway(fake, args=("--timeout", "1s"))
    t0 = time.monotonic()
    r = httpx.post(f"{g.url}/chat/completions", json=chat_body(), headers={"x-fake-delay-ms": "4000"}, timeout=10)
    took = time.monotonic() - t0
    assert r.status_code == 504, r.text
    assert took < 3.5, f"504 after {took:.1f} s with --timeout 1s"
    r.json()  # a JSON body
    # The gateway still serves.
    assert g.client().chat.completions.create(model="llama-3.1-70b", messages=MESSAGES, max_tokens=2).usage


def test_upstream_reset_mid_stream_records_the_partial(gateway):
    rid = new_id("reset")
    seen = []
    error = None
    try:
        stream = gateway.client().chat.completions.create(
            model="llama-3.1-70b", messages=MESSAGES, max_tokens=20, stream=True,
            extra_headers={"x-request-id": rid, "x-fake-reset-after": "3", "x-fake-token-delay-ms": "20"})
        for c in stream:
            if c.choices and c.choices[0].delta.content:
                seen.append(c.choices[0].delta.content)
    except (openai.APIError, httpx.HTTPError) as e:
        error = e
    assert seen == ["t0 ", "t1 ", "t2 "], (seen, error)
    row = gateway.ledger.wait_row(rid)
    assert row["tokens_source"] == "counted"
    assert row["output_tokens"] == 3
    assert row["energy_wh"] > 0 and row["stream"] == 1
    assert row["status"] == 502, "docs/gateway.md: a stream cut by an upstream reset is recorded with status 502"

    # On the wire: an `error` event and no `data: [DONE]`.
    with httpx.stream("POST", f"{gateway.url}/chat/completions", json=chat_body(20, stream=True),
                      headers={"x-fake-reset-after": "2"}, timeout=10) as r:
        text = ""
        try:
            for part in r.iter_text():
                text += part
        except httpx.HTTPError:
            pass
    assert "data: [DONE]" not in text
    assert "error" in text.split("t1 ", 1)[-1], f"no error event after the last token: {text[-300:]!r}"


def test_upstream_ignoring_include_usage_is_counted(gateway):
    rid = new_id("nousage")
    chunks = list(gateway.client().chat.completions.create(
        model="llama-3.1-70b", messages=MESSAGES, max_tokens=7, stream=True,
        extra_headers={"x-request-id": rid, "x-fake-no-usage": "1"}))
    assert sum(1 for c in chunks if c.choices and c.choices[0].delta.content) == 7
    row = gateway.ledger.wait_row(rid)
    assert row["tokens_source"] == "counted"
    assert row["output_tokens"] == 7
    assert row["input_tokens"] > 0, "the prompt of a counted stream was priced as zero tokens"
    assert row["energy_wh"] > 0

    # A long one: every delta counted, events split across reads included.
    rid = new_id("nousage-long")
    n = sum(1 for c in gateway.client().chat.completions.create(
        model="llama-3.1-70b", messages=MESSAGES, max_tokens=2500, stream=True,
        extra_headers={"x-request-id": rid, "x-fake-no-usage": "1", "x-fake-reasoning-tokens": "500"})
        if c.choices and (c.choices[0].delta.content or (c.choices[0].delta.model_extra or {}).get("reasoning_content")))
    assert n == 2500
    row = gateway.ledger.wait_row(rid)
    assert (row["tokens_source"], row["output_tokens"]) == ("counted", 2500), "content and reasoning deltas count one each"


def test_upstream_errors(gateway):
    """A 4xx from the upstream reaches the client as it is; a 5xx from the only upstream is a
    502 (every attempt failed)."""
    client = gateway.client()
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model="llama-3.1-70b", messages=MESSAGES, max_tokens=2,
                                       extra_headers={"x-fake-status": "400"})
    assert "fake upstream answered 400" in str(e.value)
    r = httpx.post(f"{gateway.url}/chat/completions", json=chat_body(2), headers={"x-fake-status": "500"}, timeout=10)
    assert r.status_code == 502, r.text[:300]
    r.json()
    r = httpx.post(f"{gateway.url}/chat/completions", json=chat_body(2, stream=True), headers={"x-fake-status": "503"},
                   timeout=10)
    assert r.status_code == 502, r.text[:300]


def test_client_disconnect_mid_stream_is_recorded_promptly(gateway, fake):
    rid = new_id("gone")
    headers = {"x-request-id": rid, "x-fake-token-delay-ms": "100"}
    data = 0
    with httpx.Client(timeout=10) as c:
        with c.stream("POST", f"{gateway.url}/chat/completions", json=chat_body(200, stream=True), headers=headers) as r:
            assert r.status_code == 200
            for line in r.iter_lines():
                if line.startswith("data:"):
                    data += 1
                    if data == 3:
                        break
    closed = time.monotonic()
    row = gateway.ledger.wait_row(rid, timeout=2.5)
    waited = time.monotonic() - closed
    print(f"disconnect after 3 chunks: row after {waited:.2f} s with {row['output_tokens']} output tokens")
    assert row["tokens_source"] == "counted"
    assert row["status"] == 499, "docs/gateway.md: a stream the client left is recorded with status 499"
    # Tokens generated so far: the 3 read, and at most a few more in flight at 100 ms a token.
    assert 3 <= row["output_tokens"] <= 3 + 1 + int(waited / 0.1) + 2, (row["output_tokens"], waited)
    assert row["output_tokens"] < 200
    assert row["energy_wh"] > 0
    # The upstream is told too (its connection closed), rather than generating 200 tokens for
    # nobody.
    end = time.monotonic() + 1.5
    while fake.stats()["in_flight"] != 0:
        assert time.monotonic() < end, "the upstream still generates for a client that left 1.5 s ago"
        time.sleep(0.05)


def test_kill_9_under_load_loses_no_answered_request(start_gateway, fake, tmp_path):
    ledger = tmp_path / "ledger.db"
    g = start_gateway(fake, ledger=ledger)
    stop = threading.Event()
    lock = threading.Lock()
    completed: list[tuple[str, str | None, str]] = []  # (sent id, x-wattage-request-id, kind)
    anomalies: list[str] = []

    def plain(i: int) -> None:
        with httpx.Client(timeout=10) as c:
            n = 0
            while not stop.is_set():
                rid = f"k9-{i}-{n}"
                n += 1
                try:
                    r = c.post(f"{g.url}/chat/completions", json=chat_body(4),
                               headers={"x-request-id": rid, "x-fake-delay-ms": "5"})
                except httpx.HTTPError:
                    return
                with lock:
                    if r.status_code == 200:
                        completed.append((rid, r.headers.get("x-wattage-request-id"), "plain"))
                    else:
                        anomalies.append(f"{rid}: {r.status_code} {r.text[:200]}")

    def streamed(i: int) -> None:
        with httpx.Client(timeout=10) as c:
            n = 0
            while not stop.is_set():
                rid = f"k9s-{i}-{n}"
                n += 1
                try:
                    with c.stream("POST", f"{g.url}/chat/completions", json=chat_body(4, stream=True),
                                  headers={"x-request-id": rid}) as r:
                        lines = list(r.iter_lines())
                except httpx.HTTPError:
                    return
                if "data: [DONE]" in lines:
                    with lock:
                        completed.append((rid, None, "stream"))

    threads = [threading.Thread(target=plain, args=(i,)) for i in range(6)]
    threads += [threading.Thread(target=streamed, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    g.kill9()
    stop.set()
    for t in threads:
        t.join(15)
    assert not anomalies, anomalies[:5]
    assert len(completed) >= 20, f"only {len(completed)} requests completed before the kill"

    v = run_wattage("ledger", "verify", ledger, check=False)
    assert v.returncode == 0, f"`wattage ledger verify` after kill -9 exited {v.returncode}:\n{v.stdout}\n{v.stderr}"
    ids = {r["request_id"] for r in g.ledger.rows()}
    print(f"kill -9: {len(completed)} answered ({sum(k == 'stream' for *_, k in completed)} streams), "
          f"{len(ids)} rows in the ledger")
    lost = [c for c in completed if c[0] not in ids]
    assert not lost, f"{len(lost)} of {len(completed)} answered requests missing from the ledger: {lost[:5]}"
    assert all(h is None or h == rid for rid, h, _ in completed)

    # A restarted gateway continues its chain on the same ledger and key.
    g2 = start_gateway(fake, ledger=ledger)
    rid = new_id("after-kill")
    g2.client().chat.completions.create(model="llama-3.1-70b", messages=MESSAGES, max_tokens=2,
                                        extra_headers={"x-request-id": rid})
    assert g2.ledger.row(rid) is not None
    g2.stop()
    v = run_wattage("ledger", "verify", ledger, check=False)
    assert v.returncode == 0, f"`wattage ledger verify` after the restart exited {v.returncode}:\n{v.stdout}\n{v.stderr}"


# --- a ledger that cannot be written ----------------------------------------------------------


def fill(path) -> None:
    """Fills the file system holding `path` (a file written until ENOSPC)."""
    with open(path, "wb", buffering=0) as f:
        for size in (1 << 16, 1 << 12, 1 << 9, 1):
            block = b"\xff" * size
            while True:
                try:
                    f.write(block)
                except OSError as e:
                    if e.errno not in (errno.ENOSPC, errno.EFBIG):
                        raise
                    break


class FullDisk:
    """A ledger directory whose file system can be filled: a 4 MB tmpfs as root (a real
    ENOSPC, what a full disk does to SQLite), else a file-size limit on the gateway process
    (EFBIG, the same failed write to SQLite). `WATTAGE_TEST_FULL_DISK=rlimit` picks the
    latter as root too."""

    def __init__(self, tmp_path):
        self.dir = tmp_path / "small"
        self.dir.mkdir()
        self.root = os.geteuid() == 0 and os.environ.get("WATTAGE_TEST_FULL_DISK") != "rlimit"
        self.gateway_pid = None
        if self.root:
            p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(self.dir)],
                               capture_output=True, text=True)
            if p.returncode != 0:
                pytest.fail(f"cannot mount a tmpfs to fill as root: {p.stderr}")

    def preexec(self):
        if self.root:
            return None
        # The gateway must get EFBIG instead of being killed by SIGXFSZ when over the limit.
        return lambda: signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    def make_full(self, gateway_pid: int) -> None:
        if self.root:
            fill(self.dir / "filler")
        else:
            biggest = max(p.stat().st_size for p in self.dir.iterdir())
            # The soft limit only: raising it back needs no privilege.
            resource.prlimit(gateway_pid, resource.RLIMIT_FSIZE, (biggest, resource.RLIM_INFINITY))

    def free(self, gateway_pid: int) -> None:
        if self.root:
            (self.dir / "filler").unlink()
        else:
            resource.prlimit(gateway_pid, resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))

    def close(self) -> None:
        if self.root:
            subprocess.run(["umount", "-l", str(self.dir)], capture_output=True)


@pytest.fixture
def full_disk(tmp_path):
    d = FullDisk(tmp_path)
    yield d
    d.close()


def ledger_error_gateway(start_gateway, fake, full_disk, policy: str):
    listen = f"127.0.0.1:{free_port()}"
    ledger = full_disk.dir / "ledger.db"
    cfg = write_config(full_disk.dir.parent / "gateway.toml", listen=listen, ledger=str(ledger),
                       signing_key=str(full_disk.dir / "ledger.db.key"), on_ledger_error=policy,
                       upstreams=[{"name": "fake", "url": fake.url, "deployment": DEPLOYMENT}])
    return start_gateway(config=cfg, listen=listen, ledger=ledger, preexec_fn=full_disk.preexec())


def test_full_disk_fail_closed_is_503_and_recovers(start_gateway, fake, full_disk):
    g = ledger_error_gateway(start_gateway, fake, full_disk, "fail-closed")
    client = g.client()
    ok = new_id("before-full")
    client.chat.completions.create(model="llama-3.1-70b", messages=MESSAGES, max_tokens=3,
                                   extra_headers={"x-request-id": ok})
    assert g.ledger.row(ok) is not None
    full_disk.make_full(g.popen.pid)
    rid = new_id("full")
    r = httpx.post(f"{g.url}/chat/completions", json=chat_body(3), headers={"x-request-id": rid}, timeout=30)
    assert r.status_code == 503, f"fail-closed with a full disk: {r.status_code} {r.text[:300]}"
    health_when_full = g.healthz()
    assert g.alive()

    full_disk.free(g.popen.pid)
    end = time.monotonic() + 5
    while g.healthz().status_code != 200:
        assert time.monotonic() < end, "/healthz not ok again 5 s after the disk was freed"
        time.sleep(0.1)
    again = new_id("after-full")
    client.chat.completions.create(model="llama-3.1-70b", messages=MESSAGES, max_tokens=3,
                                   extra_headers={"x-request-id": again})
    assert g.ledger.row(again) is not None
    assert g.ledger.row(rid) is None
    g.stop()
    v = run_wattage("ledger", "verify", g.ledger.target, check=False)
    assert v.returncode == 0, f"`wattage ledger verify` after a full disk exited {v.returncode}:\n{v.stdout}\n{v.stderr}"
    # docs/gateway.md: `/healthz` is "ok while the ledger accepts writes".
    assert health_when_full.status_code != 200, (
        f"/healthz answered {health_when_full.status_code} {health_when_full.text!r} right after a row could not be written")


def test_full_disk_fail_open_serves_unrecorded(start_gateway, fake, full_disk):
    g = ledger_error_gateway(start_gateway, fake, full_disk, "fail-open")
    client = g.client()
    client.chat.completions.create(model="llama-3.1-70b", messages=MESSAGES, max_tokens=3)
    assert "x-wattage-ledger" not in client.chat.completions.with_raw_response.create(
        model="llama-3.1-70b", messages=MESSAGES, max_tokens=3).headers
    full_disk.make_full(g.popen.pid)
    rid = new_id("open")
    raw = client.chat.completions.with_raw_response.create(
        model="llama-3.1-70b", messages=MESSAGES, max_tokens=3, extra_headers={"x-request-id": rid})
    assert raw.status_code == 200
    assert raw.headers.get("x-wattage-ledger") == "unrecorded", dict(raw.headers)
    assert raw.parse().usage.completion_tokens == 3
    errors = [ln for ln in g.metrics().splitlines() if ln.startswith("wattage_ledger_errors_total")]
    assert errors and float(errors[-1].split()[-1]) >= 1, errors
    full_disk.free(g.popen.pid)
    assert g.ledger.row(rid) is None


# --- bad requests -----------------------------------------------------------------------------


def test_oversized_and_malformed_bodies(start_gateway, fake):
    g = start_gateway(fake, args=("--max-body-bytes", "2000"))
    big = chat_body(3)
    big["messages"] = [{"role": "user", "content": "word " * 1000}]
    r = httpx.post(f"{g.url}/chat/completions", json=big, timeout=10)
    assert r.status_code == 413, r.text[:300]

    # The same without a Content-Length (chunked): still 413, not read to the end.
    payload = json.dumps(big).encode()

    def chunks():
        for i in range(0, len(payload), 512):
            yield payload[i:i + 512]

    r = httpx.post(f"{g.url}/chat/completions", content=chunks(), headers={"content-type": "application/json"}, timeout=10)
    assert r.status_code == 413, r.text[:300]

    for bad in (b'{"model": "llama-3.1-70b", "messages": [', b"not json", b"[1, 2]"):
        r = httpx.post(f"{g.url}/chat/completions", content=bad, headers={"content-type": "application/json"}, timeout=10)
        assert r.status_code == 400, (bad, r.status_code, r.text[:300])
        r.json()

    assert g.alive()
    c = g.client().chat.completions.create(model="llama-3.1-70b", messages=MESSAGES, max_tokens=2)
    assert c.usage.completion_tokens == 2


# --- keys -------------------------------------------------------------------------------------


def test_revoked_key_is_refused_within_two_seconds(start_gateway, fake, tmp_path):
    ledger = tmp_path / "ledger.db"
    key_id, secret = create_key(ledger, "team-a")
    g = start_gateway(fake, ledger=ledger)
    ok = g.client(secret).chat.completions.create(model="llama-3.1-70b", messages=MESSAGES, max_tokens=2)
    assert ok.usage.completion_tokens == 2
    for bad in ("wk_" + "0" * 64, "no-key"):
        with pytest.raises(openai.AuthenticationError):
            g.client(bad).chat.completions.create(model="llama-3.1-70b", messages=MESSAGES, max_tokens=2)
    r = httpx.post(f"{g.url}/chat/completions", json=chat_body(2), timeout=10)
    assert r.status_code == 401, "a request without Authorization was served while the ledger has keys"

    run_wattage("keys", "revoke", "--ledger", ledger, key_id)
    revoked = time.monotonic()
    while True:
        try:
            g.client(secret).chat.completions.create(model="llama-3.1-70b", messages=MESSAGES, max_tokens=1)
        except openai.AuthenticationError:
            break
        assert time.monotonic() - revoked < 2.5, "a revoked key still served 2.5 s after `wattage keys revoke`"
        time.sleep(0.1)
    rows = g.ledger.rows()
    assert rows and all(r["key_id"] == key_id for r in rows if r["status"] == 200)


def test_a_request_id_is_scoped_to_its_key(start_gateway, fake, tmp_path):
    """One key cannot make another key's request count as a retry (and go unrecorded): with
    keys, the ledger's id is `<key id>/<client id>`; the same key's retry is still one row."""
    ledger = tmp_path / "ledger.db"
    a_id, a = create_key(ledger, "team-a")
    b_id, b = create_key(ledger, "team-b")
    g = start_gateway(fake, ledger=ledger)
    rid = new_id("shared")
    for secret in (a, b, b):
        raw = g.client(secret).chat.completions.with_raw_response.create(
            model="llama-3.1-70b", messages=MESSAGES, max_tokens=2, extra_headers={"x-request-id": rid})
        assert raw.status_code == 200
    assert raw.headers["x-wattage-request-id"] == f"{b_id}/{rid}"
    rows = g.ledger.rows()
    assert sorted(r["request_id"] for r in rows) == sorted([f"{a_id}/{rid}", f"{b_id}/{rid}"]), rows
    assert {r["key_id"] for r in rows} == {a_id, b_id}


def test_client_key_never_reaches_the_upstream(start_gateway, fake, tmp_path):
    ledger = tmp_path / "ledger.db"
    _, secret = create_key(ledger, "team-a")
    listen = f"127.0.0.1:{free_port()}"
    cfg = write_config(tmp_path / "gateway.toml", listen=listen, ledger=str(ledger),
                       upstreams=[{"name": "fake", "url": fake.url, "api_key_env": "WATTAGE_TEST_UPSTREAM_KEY",
                                   "deployment": DEPLOYMENT}])
    g = start_gateway(config=cfg, listen=listen, ledger=ledger, env={"WATTAGE_TEST_UPSTREAM_KEY": "sk-upstream-own"})
    client = g.client(secret)
    client.chat.completions.create(model="llama-3.1-70b", messages=MESSAGES, max_tokens=2)
    seen = fake.last_request()
    assert seen["headers"].get("authorization") == "Bearer sk-upstream-own", seen["headers"]
    assert secret not in json.dumps(seen), "the client's key reached the upstream"
    list(client.chat.completions.create(model="llama-3.1-70b", messages=MESSAGES, max_tokens=2, stream=True))
    seen = fake.last_request()
    assert seen["headers"].get("authorization") == "Bearer sk-upstream-own"
    assert secret not in json.dumps(seen)
    client.embeddings.create(model="llama-3.1-70b", input="a b", encoding_format="float")
    assert secret not in json.dumps(fake.last_request())
