"""What a client gets and what the ledger records, driven by the official `openai` client
(docs/gateway.md: "What the client gets", "How a request is priced", "The ledger")."""

from __future__ import annotations

import json
import re
import shlex
import threading
from datetime import datetime, timedelta, timezone

import httpx

from conftest import DEPLOYMENT, ROOT, chat_prompt_tokens, close, estimate, free_port, new_id, run_wattage, write_config

MESSAGES = [{"role": "system", "content": "You are terse."},
            {"role": "user", "content": "How much energy does one request take?"}]
HEADERS = ("x-wattage-energy-wh", "x-wattage-energy-wh-low", "x-wattage-energy-wh-high",
           "x-wattage-co2e-g", "x-wattage-water-ml", "x-wattage-request-id")
IMPACT_KEYS = {"energy_wh", "low_wh", "high_wh", "energy_j_per_output_token", "co2e_g", "water_ml",
               "cost_usd", "scope", "batch", "tokens_source", "model", "hardware", "gpus"}


def assert_matches_estimate(row: dict, *extra: str) -> None:
    """The row's figures are `wattage estimate`'s at the row's tokens and measured batch
    (`extra`: the deployment's other flags, such as `--region`)."""
    est = estimate(row["input_tokens"], row["output_tokens"], row["batch"],
                   row["deployment_model"], row["hardware"], row["gpus"], *extra)
    for k in ("energy_wh", "co2e_g", "water_ml", "cost_usd"):
        assert close(row[k], est[k], 1e-9), (
            f"{k}: ledger {row[k]!r} vs `wattage estimate --input-tokens {row['input_tokens']} "
            f"--output-tokens {row['output_tokens']} --batch {row['batch']!r}` {est[k]!r}")
    assert row["scope"] == est["scope"]


def test_non_streamed_chat_headers_ledger_and_estimate_agree(gateway):
    client = gateway.client()
    rid = new_id("chat")
    before = datetime.now(timezone.utc)
    raw = client.chat.completions.with_raw_response.create(
        model="llama-3.1-70b", messages=MESSAGES, max_tokens=12, extra_headers={"x-request-id": rid})
    assert raw.status_code == 200
    completion = raw.parse()
    assert completion.choices[0].message.content.startswith("t0 t1 ")
    assert completion.usage.prompt_tokens == chat_prompt_tokens(MESSAGES)
    assert completion.usage.completion_tokens == 12
    h = raw.headers
    missing = [k for k in HEADERS if k not in h]
    assert not missing, f"headers missing: {missing}; got {dict(h)}"
    e, lo, hi = (float(h[k]) for k in HEADERS[:3])
    co2, water = float(h["x-wattage-co2e-g"]), float(h["x-wattage-water-ml"])
    assert 0 < lo <= e <= hi, (lo, e, hi)
    assert co2 > 0 and water > 0
    assert h["x-wattage-request-id"] == rid

    # The response is sent only after its row is committed: no waiting.
    row = gateway.ledger.row(rid)
    assert row is not None, "no ledger row when the response arrived"
    assert row["input_tokens"] == completion.usage.prompt_tokens
    assert row["output_tokens"] == 12
    assert row["tokens_source"] == "usage"
    assert row["endpoint"] == "chat" and row["status"] == 200 and row["stream"] == 0
    assert row["model"] == "llama-3.1-70b" and row["deployment_model"] == "llama-3.1-70b"
    assert row["hardware"] == "h100-sxm" and row["gpus"] == 4
    assert row["batch"] >= 1
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", row["time"]), row["time"]
    arrived = datetime.fromisoformat(row["time"].replace("Z", "+00:00"))
    assert before - timedelta(seconds=1) <= arrived <= datetime.now(timezone.utc), (before, row["time"])
    for header, col in [("x-wattage-energy-wh", "energy_wh"), ("x-wattage-energy-wh-low", "low_wh"),
                        ("x-wattage-energy-wh-high", "high_wh"), ("x-wattage-co2e-g", "co2e_g"),
                        ("x-wattage-water-ml", "water_ml")]:
        assert close(float(h[header]), row[col], 1e-6), f"{header} {h[header]} vs ledger {col} {row[col]}"
    assert_matches_estimate(row)


def test_concurrent_requests_priced_at_their_measured_batch(gateway):
    """Overlapping requests share the upstream: each row's batch is a time average >= 1 and
    its energy is still exactly `wattage estimate` at that batch."""
    client = gateway.client()
    ids = [new_id("conc") for _ in range(4)]

    def one(i: int) -> None:
        client.chat.completions.create(
            model="llama-3.1-70b", messages=MESSAGES, max_tokens=8,
            extra_headers={"x-request-id": ids[i], "x-fake-delay-ms": str(300 + 100 * i)})

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(ids))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    rows = [gateway.ledger.wait_row(i) for i in ids]
    assert max(r["batch"] for r in rows) > 1.5, [r["batch"] for r in rows]
    for r in rows:
        assert 1 <= r["batch"] <= len(ids)
        assert_matches_estimate(r)


def test_impacts_only_when_asked(gateway):
    client = gateway.client()
    # Non-streamed, asked: `impacts` beside `usage`.
    raw = client.chat.completions.with_raw_response.create(
        model="llama-3.1-70b", messages=MESSAGES, max_tokens=5, extra_headers={"x-wattage-impacts": "true"})
    body = json.loads(raw.http_response.text)
    assert "usage" in body and "impacts" in body, body
    imp = body["impacts"]
    assert IMPACT_KEYS <= set(imp), f"impacts lacks {IMPACT_KEYS - set(imp)}"
    assert close(imp["energy_wh"], float(raw.headers["x-wattage-energy-wh"]), 1e-6)
    assert imp["low_wh"] <= imp["energy_wh"] <= imp["high_wh"]
    assert imp["tokens_source"] == "usage"
    assert (imp["model"], imp["hardware"], imp["gpus"]) == ("llama-3.1-70b", "h100-sxm", 4)
    assert close(imp["energy_j_per_output_token"], imp["energy_wh"] * 3600 / 5, 1e-6)

    # Non-streamed, not asked: no `impacts`.
    raw = client.chat.completions.with_raw_response.create(model="llama-3.1-70b", messages=MESSAGES, max_tokens=5)
    assert "impacts" not in json.loads(raw.http_response.text)

    # Streamed, asked, with and without the client's own usage request: in the final chunk only.
    for opts in ({"include_usage": True}, None):
        extra = {"stream_options": opts} if opts else {}
        chunks = list(client.chat.completions.create(
            model="llama-3.1-70b", messages=MESSAGES, max_tokens=5, stream=True,
            extra_headers={"x-wattage-impacts": "true"}, **extra))
        with_impacts = [i for i, c in enumerate(chunks) if (c.model_extra or {}).get("impacts")]
        assert with_impacts == [len(chunks) - 1], f"stream_options={opts}: impacts in chunks {with_impacts} of {len(chunks)}"
        imp = chunks[-1].model_extra["impacts"]
        assert IMPACT_KEYS <= set(imp)
        assert imp["tokens_source"] == "usage"
        if opts:
            assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 5

    # Streamed, not asked: no chunk has `impacts`.
    chunks = list(client.chat.completions.create(
        model="llama-3.1-70b", messages=MESSAGES, max_tokens=5, stream=True, stream_options={"include_usage": True}))
    assert not any((c.model_extra or {}).get("impacts") for c in chunks)


def test_stream_without_stream_options_gets_no_usage_chunk_but_ledger_has_usage(gateway, fake):
    client = gateway.client()
    rid = new_id("stream")
    chunks = list(client.chat.completions.create(
        model="llama-3.1-70b", messages=MESSAGES, max_tokens=9, stream=True, extra_headers={"x-request-id": rid}))
    assert chunks, "no chunk"
    assert all(len(c.choices) > 0 for c in chunks), "a chunk with empty choices reached a client that did not ask for usage"
    assert all(c.usage is None for c in chunks)
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text == "".join(f"t{i} " for i in range(9))
    # The gateway asked the upstream for usage.
    sent = fake.last_request()["body"]
    assert sent.get("stream_options", {}).get("include_usage") is True, sent
    row = gateway.ledger.wait_row(rid)
    assert row["tokens_source"] == "usage"
    assert row["stream"] == 1
    assert (row["input_tokens"], row["output_tokens"]) == (chat_prompt_tokens(MESSAGES), 9)
    assert row["ttft_ms"] is not None and 0 <= row["ttft_ms"] <= row["latency_ms"]
    assert_matches_estimate(row)

    # Asking for usage: the client gets the usage-only chunk.
    rid = new_id("stream-usage")
    chunks = list(client.chat.completions.create(
        model="llama-3.1-70b", messages=MESSAGES, max_tokens=9, stream=True,
        stream_options={"include_usage": True}, extra_headers={"x-request-id": rid}))
    usage = [c for c in chunks if not c.choices]
    assert len(usage) == 1 and usage[0].usage is not None, chunks[-2:]
    assert usage[0].usage.completion_tokens == 9
    assert usage[0].usage.prompt_tokens == chat_prompt_tokens(MESSAGES)
    assert gateway.ledger.wait_row(rid)["tokens_source"] == "usage"

    # Saying no to usage explicitly is the same as not asking.
    rid = new_id("stream-no-usage")
    chunks = list(client.chat.completions.create(
        model="llama-3.1-70b", messages=MESSAGES, max_tokens=9, stream=True,
        stream_options={"include_usage": False}, extra_headers={"x-request-id": rid}))
    assert all(c.choices for c in chunks)
    assert gateway.ledger.wait_row(rid)["tokens_source"] == "usage"

    # A long stream: events split across reads are still parsed.
    rid = new_id("stream-long")
    n = sum(1 for c in client.chat.completions.create(
        model="llama-3.1-70b", messages=MESSAGES, max_tokens=3000, stream=True, extra_headers={"x-request-id": rid})
        if c.choices and c.choices[0].delta.content)
    assert n == 3000
    row = gateway.ledger.wait_row(rid)
    assert (row["output_tokens"], row["tokens_source"]) == (3000, "usage")


def test_cached_and_reasoning_tokens_counted_once(gateway):
    client = gateway.client()
    knobs = {"x-fake-cached-tokens": "6", "x-fake-reasoning-tokens": "4"}
    rid = new_id("cache")
    c = client.chat.completions.create(model="llama-3.1-70b", messages=MESSAGES, max_tokens=10,
                                       extra_headers={**knobs, "x-request-id": rid})
    assert c.usage.prompt_tokens_details.cached_tokens == 6
    assert c.usage.completion_tokens_details.reasoning_tokens == 4
    row = gateway.ledger.row(rid)
    assert row is not None
    assert (row["input_tokens"], row["cached_input_tokens"]) == (c.usage.prompt_tokens, 6)
    assert (row["output_tokens"], row["reasoning_tokens"]) == (c.usage.completion_tokens, 4) == (10, 4)

    # The same figures from a stream's usage chunk.
    rid = new_id("cache-stream")
    chunks = list(client.chat.completions.create(model="llama-3.1-70b", messages=MESSAGES, max_tokens=10, stream=True,
                                                 extra_headers={**knobs, "x-request-id": rid}))
    assert all(ch.choices for ch in chunks)
    row = gateway.ledger.wait_row(rid)
    assert (row["input_tokens"], row["cached_input_tokens"]) == (chat_prompt_tokens(MESSAGES), 6)
    assert (row["output_tokens"], row["reasoning_tokens"], row["tokens_source"]) == (10, 4, "usage")

    # Cached prompt tokens skip prefill: cheaper than the same request uncached, at the same batch.
    uncached = estimate(row["input_tokens"], row["output_tokens"], row["batch"])
    assert row["energy_wh"] < uncached["energy_wh"]


def test_embeddings_models_and_passthrough(gateway, fake):
    client = gateway.client()
    rid = new_id("emb")
    e = client.embeddings.create(model="llama-3.1-70b", input=["one two three", "four five"],
                                 encoding_format="float", extra_headers={"x-request-id": rid})
    assert len(e.data) == 2 and e.usage.prompt_tokens == 5
    row = gateway.ledger.wait_row(rid)
    assert row["endpoint"] == "embeddings"
    assert (row["input_tokens"], row["output_tokens"]) == (5, 0)
    assert row["energy_wh"] > 0
    # Prefill only: less than the same prompt with one decoded token.
    assert row["energy_wh"] < estimate(5, 1, row["batch"])["energy_wh"]

    ids = {m.id for m in client.models.list()}
    assert "llama-3.1-70b" in ids

    before = len(gateway.ledger.rows())
    r = httpx.post(f"{gateway.url}/fake/anything?x=1", content=b"\x00raw bytes, not JSON",
                   headers={"content-type": "application/octet-stream"}, timeout=10)
    assert r.status_code == 200, r.text
    assert r.json()["path"] == "/v1/fake/anything" and r.json()["query"] == "x=1"
    assert fake.last_request()["body"] == "\x00raw bytes, not JSON"
    assert len(gateway.ledger.rows()) == before, "a pass-through request was priced"


def test_completions_endpoint(gateway):
    client = gateway.client()
    rid = new_id("cmpl")
    c = client.completions.create(model="llama-3.1-70b", prompt="one two three four", max_tokens=6,
                                  extra_headers={"x-request-id": rid})
    assert c.usage.prompt_tokens == 4 and c.usage.completion_tokens == 6
    row = gateway.ledger.row(rid)
    assert row is not None and row["endpoint"] == "completions"
    assert (row["input_tokens"], row["output_tokens"]) == (4, 6)
    assert_matches_estimate(row)

    rid = new_id("cmpl-stream")
    chunks = list(client.completions.create(model="llama-3.1-70b", prompt="one two three four", max_tokens=6,
                                            stream=True, extra_headers={"x-request-id": rid}))
    assert "".join(c.choices[0].text for c in chunks if c.choices) == "t0 t1 t2 t3 t4 t5 "
    assert all(c.choices for c in chunks)
    row = gateway.ledger.wait_row(rid)
    assert (row["endpoint"], row["stream"], row["tokens_source"]) == ("completions", 1, "usage")
    assert (row["input_tokens"], row["output_tokens"]) == (4, 6)


def test_retry_with_same_request_id_is_one_row(gateway):
    client = gateway.client()
    rid = new_id("retry")
    for _ in range(2):
        client.chat.completions.create(model="llama-3.1-70b", messages=MESSAGES, max_tokens=4,
                                       extra_headers={"x-request-id": rid})
    # `idempotency-key` is a request id too.
    key = new_id("idem")
    for _ in range(2):
        client.chat.completions.create(model="llama-3.1-70b", messages=MESSAGES, max_tokens=4,
                                       extra_headers={"idempotency-key": key})
    rows = gateway.ledger.rows()
    assert [r["request_id"] for r in rows].count(rid) == 1
    assert [r["request_id"] for r in rows].count(key) == 1
    assert len(rows) == 2, [r["request_id"] for r in rows]


def quick_start_command() -> list[str]:
    """The `wattage serve` command of docs/gateway.md's quick start, as documented."""
    doc = (ROOT / "docs" / "gateway.md").read_text()
    block = re.search(r"## Quick start[^\n]*\n+```sh\n(.*?)```", doc, re.S)
    assert block, "docs/gateway.md has no quick start block"
    text = block.group(1).replace("\\\n", " ")
    line = next(ln for ln in text.splitlines() if ln.strip().startswith("wattage serve"))
    return shlex.split(line)


def test_readme_quick_start(fake, start_gateway, tmp_path):
    """The documented command, only the upstream and listen address changed, prices any model
    name as `--model` and leaves a ledger that `wattage ledger verify ledger.db` accepts."""
    cmd = quick_start_command()
    assert cmd[:2] == ["wattage", "serve"]
    for flag in ("--upstream", "--model", "--hardware", "--tensor-parallel-size", "--listen", "--ledger"):
        assert flag in cmd, f"the quick start lost {flag}"
    listen = f"127.0.0.1:{free_port()}"
    cmd[cmd.index("--upstream") + 1] = fake.url
    cmd[cmd.index("--listen") + 1] = listen
    ledger = cmd[cmd.index("--ledger") + 1]
    g = start_gateway(command=cmd[1:], listen=listen, ledger=ledger, cwd=tmp_path)
    client = g.client()
    rid = new_id("qs")
    c = client.chat.completions.create(model="some-private-finetune", messages=MESSAGES, max_tokens=7,
                                       extra_headers={"x-request-id": rid})
    assert c.model == "some-private-finetune"
    row = g.ledger.row(rid)
    assert row is not None
    assert row["model"] == "some-private-finetune"
    assert (row["deployment_model"], row["hardware"], row["gpus"]) == ("llama-3.1-70b", "h100-sxm", 4)
    assert_matches_estimate(row)
    g.stop()
    assert (tmp_path / ledger).exists()
    v = run_wattage("ledger", "verify", ledger, cwd=tmp_path, check=False)
    assert v.returncode == 0, f"`wattage ledger verify {ledger}` exited {v.returncode}:\n{v.stdout}\n{v.stderr}"


def test_batch_from_vllm_metrics(start_gateway, fake, tmp_path):
    """`batch_source = "vllm-metrics"`: the batch is the upstream's running sequences, scraped
    once a second from its `/metrics` (the fake reports its in-flight requests there)."""
    listen = f"127.0.0.1:{free_port()}"
    ledger = tmp_path / "ledger.db"
    cfg = write_config(tmp_path / "gateway.toml", listen=listen, ledger=str(ledger),
                       upstreams=[{"name": "vllm", "url": fake.url, "batch_source": "vllm-metrics",
                                   "deployment": DEPLOYMENT}])
    g = start_gateway(config=cfg, listen=listen, ledger=ledger)
    client = g.client()
    ids = [new_id("vllm") for _ in range(4)]
    # Three requests hold the upstream for 2.5 s, so that the scrapes see them running; five
    # more, sent to the upstream directly, are not the gateway's but run there too: the batch
    # is about 8 (the gateway's own in-flight count would say 3).
    threads = [threading.Thread(target=lambda rid=rid: client.chat.completions.create(
        model="llama-3.1-70b", messages=MESSAGES, max_tokens=4,
        extra_headers={"x-request-id": rid, "x-fake-delay-ms": "2500"})) for rid in ids[:3]]
    threads += [threading.Thread(target=lambda: httpx.post(
        f"{fake.url}/chat/completions", json={"model": "x", "messages": MESSAGES, "max_tokens": 1},
        headers={"x-fake-delay-ms": "2500"}, timeout=10)) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    rows = [g.ledger.wait_row(rid) for rid in ids[:3]]
    for r in rows:
        assert 4.5 <= r["batch"] <= 8.0 + 1e-9, f"batch {r['batch']} while the upstream ran 8 sequences"
        assert_matches_estimate(r)


def test_deployment_flags_and_per_name_deployments(start_gateway, fake, tmp_path):
    """`--region`, `--scope` and `--set` price as in `wattage estimate`; in a config, a name
    under `deployments` is priced as its own model, the rest as the upstream's deployment."""
    flags = ("--region", "france", "--scope", "server", "--set", "pue=1.3")
    g = start_gateway(fake, args=flags)
    rid = new_id("flags")
    g.client().chat.completions.create(model="llama-3.1-70b", messages=MESSAGES, max_tokens=5,
                                       extra_headers={"x-request-id": rid})
    row = g.ledger.row(rid)
    assert row["scope"] == "server"
    assert_matches_estimate(row, *flags)

    listen = f"127.0.0.1:{free_port()}"
    ledger = tmp_path / "named.db"
    small = "meta-llama/Llama-3.1-8B-Instruct"
    cfg = write_config(tmp_path / "gateway.toml", listen=listen, ledger=str(ledger), upstreams=[{
        "name": "h100", "url": fake.url,
        "deployment": {**DEPLOYMENT, "region": "france"},
        "deployments": {small: {"model": "llama-3.1-8b", "gpus": 1}}}])
    g = start_gateway(config=cfg, listen=listen, ledger=ledger)
    client = g.client()
    ids = {name: new_id("named") for name in (small, "anything-else")}
    for name, rid in ids.items():
        client.chat.completions.create(model=name, messages=MESSAGES, max_tokens=5, extra_headers={"x-request-id": rid})
    row = g.ledger.row(ids[small])
    assert (row["model"], row["deployment_model"], row["gpus"]) == (small, "llama-3.1-8b", 1)
    assert row["hardware"] == "h100-sxm", "a per-name deployment should keep the upstream's hardware"
    assert_matches_estimate(row, "--region", "france")
    row = g.ledger.row(ids["anything-else"])
    assert (row["deployment_model"], row["gpus"]) == ("llama-3.1-70b", 4)
    assert_matches_estimate(row, "--region", "france")
    ids_listed = {m.id for m in client.models.list()}
    assert {"llama-3.1-70b", small} <= ids_listed, f"/v1/models should add the config's names: {ids_listed}"
