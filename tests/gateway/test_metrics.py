"""`GET /metrics`: Prometheus text that agrees with the ledger and passes `promtool check
metrics`."""

from __future__ import annotations

import re
import subprocess
from collections import defaultdict

from conftest import close, create_key, new_id

SERIES = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


#: Counters by model, upstream and key, and the ledger column each sums (None: rows).
COUNTERS = {"wattage_energy_wh_total": "energy_wh", "wattage_co2e_g_total": "co2e_g",
            "wattage_water_ml_total": "water_ml", "wattage_cost_usd_total": "cost_usd",
            "wattage_input_tokens_total": "input_tokens", "wattage_output_tokens_total": "output_tokens",
            "wattage_requests_total": None}


def energy_of(series):
    return series["wattage_energy_wh_total"]


def parse(text: str) -> dict[str, list[tuple[dict, float]]]:
    out: dict[str, list[tuple[dict, float]]] = defaultdict(list)
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SERIES.match(line)
        assert m, f"not a Prometheus sample: {line!r}"
        out[m.group(1)].append((dict(LABEL.findall(m.group(2) or "")), float(m.group(3))))
    return out


def test_metrics_agree_with_the_ledger_and_pass_promtool(start_gateway, fake, tmp_path, promtool):
    ledger = tmp_path / "ledger.db"
    keys = {name: create_key(ledger, name) for name in ("team-a", "team-b")}
    g = start_gateway(fake, ledger=ledger)
    msgs = [{"role": "user", "content": "meter me"}]
    a, b = g.client(keys["team-a"][1]), g.client(keys["team-b"][1])
    a.chat.completions.create(model="llama-3.1-70b", messages=msgs, max_tokens=3)
    a.chat.completions.create(model="llama-3.1-70b", messages=msgs, max_tokens=5)
    b.chat.completions.create(model="another-name", messages=msgs, max_tokens=4)
    rid = new_id("m-stream")
    list(b.chat.completions.create(model="another-name", messages=msgs, max_tokens=6, stream=True,
                                   extra_headers={"x-request-id": rid}))
    g.ledger.wait_row(f"{keys['team-b'][0]}/{rid}")  # with keys, the id is scoped to the key
    b.embeddings.create(model="another-name", input="a b c", encoding_format="float")

    text = g.metrics()
    series = parse(text)
    assert not [n for n in series if not n.startswith("wattage_")], "metrics not named wattage_*"
    assert "wattage_energy_wh_total" in series, f"wattage_energy_wh_total missing from /metrics:\n{text}"

    rows = g.ledger.rows()
    assert len(rows) == 5
    # Each counter by labels model, upstream and key (the key's id) equals the ledger's sum of its column (the
    # energy is required; the others are checked when the gateway exports them).
    checked = []
    for metric, column in COUNTERS.items():
        if metric not in series and metric != "wattage_energy_wh_total":
            continue
        checked.append(metric)
        samples = series[metric]
        total = sum(1 if column is None else r[column] for r in rows)
        assert close(sum(v for _, v in samples), total, 1e-9), (metric, sum(v for _, v in samples), total)
        groups: dict[tuple, float] = defaultdict(float)
        for r in rows:
            groups[(r["model"], r["upstream"], r["key_id"])] += 1 if column is None else r[column]
        for (model, upstream, key_id), want in groups.items():
            got = [v for labels, v in samples
                   if (labels.get("model"), labels.get("upstream"), labels.get("key")) == (model, upstream, key_id)]
            assert got, f"no {metric} series for model {model}, upstream {upstream}, key {key_id}: {samples}"
            assert close(sum(got), want, 1e-9), (metric, model, upstream, key_id, sum(got), want)
    print("checked against the ledger:", checked)

    # A retry of a request id (by the key that sent it) is not counted again.
    b.chat.completions.create(model="another-name", messages=msgs, max_tokens=6, extra_headers={"x-request-id": rid})
    again = parse(g.metrics())
    assert close(sum(v for _, v in again["wattage_energy_wh_total"]), sum(v for _, v in energy_of(series)), 1e-12)

    p = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True)
    assert p.returncode == 0, f"promtool check metrics:\n{p.stdout}{p.stderr}"
