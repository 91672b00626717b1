"""`GET /metrics`: Prometheus text that agrees with the ledger and passes `promtool check
metrics`."""

from __future__ import annotations

import re
import subprocess
from collections import defaultdict

from conftest import close, create_key, new_id

SERIES = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


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
    g.ledger.wait_row(rid)
    b.embeddings.create(model="another-name", input="a b c", encoding_format="float")

    text = g.metrics()
    series = parse(text)
    assert not [n for n in series if not n.startswith("wattage_")], "metrics not named wattage_*"
    for name in ("wattage_energy_wh_total", "wattage_ledger_errors_total"):
        assert name in series, f"{name} missing from /metrics:\n{text}"

    rows = g.ledger.rows()
    assert len(rows) == 5
    energy = series["wattage_energy_wh_total"]
    assert close(sum(v for _, v in energy), sum(r["energy_wh"] for r in rows), 1e-9)
    groups: dict[tuple, float] = defaultdict(float)
    for r in rows:
        groups[(r["model"], r["upstream"], r["key_id"])] += r["energy_wh"]
    names = {kid: name for name, (kid, _) in keys.items()}
    for (model, upstream, key_id), wh in groups.items():
        match = [v for labels, v in energy
                 if model in labels.values() and upstream in labels.values()
                 and (key_id in labels.values() or names[key_id] in labels.values())]
        assert len(match) == 1, f"no single wattage_energy_wh_total series for {model}/{upstream}/{key_id}: {energy}"
        assert close(match[0], wh, 1e-9), (model, upstream, key_id, match[0], wh)

    p = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True)
    assert p.returncode == 0, f"promtool check metrics:\n{p.stdout}{p.stderr}"
