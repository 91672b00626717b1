#!/usr/bin/env python3
"""Turns the gateway benchmark's raw runs (runs.jsonl, one loadgen result per line, written by
run.sh) into results.json and results.md. Standard library only.

usage: report.py RUNS_JSONL META_JSON OUT_DIR
"""

import json
import statistics
import sys


def load(path):
    """Each line: {"target", "round", "loadavg_before", "loadgen": <loadgen's JSON>}."""
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                x = json.loads(line)
                r = x.pop("loadgen")
                r.update(x)
                out.append(r)
    return out


def fmt(x, digits=2):
    if x is None:
        return "n/a"
    return f"{x:.{digits}f}"


def main():
    runs_path, meta_path, out_dir = sys.argv[1:4]
    runs = load(runs_path)
    with open(meta_path, encoding="utf-8") as f:
        meta = json.load(f)

    open_runs = [r for r in runs if r["mode"] == "open"]
    closed_runs = [r for r in runs if r["mode"] == "closed"]
    rates = sorted({r["target_rate"] for r in open_runs})
    rounds = sorted({r["round"] for r in runs})
    targets = ["direct", "wattage", "litellm"]

    # Open loop: one row per (rate, target), the median over rounds of each figure; the added
    # latency of a proxy is its percentile minus the same percentile measured directly at the
    # same rate in the same round, then the median over rounds.
    table = []
    for rate in rates:
        for t in targets:
            rs = [r for r in open_runs if r["target_rate"] == rate and r["target"] == t]
            if not rs:
                continue
            row = {"rate": rate, "target": t, "rounds": len(rs)}
            for key in ("sent", "ok", "errors"):
                row[key] = sum(r[key] for r in rs)
            row["over_cap"] = sum(r["error_kinds"]["over_cap"] for r in rs)
            row["throughput_rps"] = statistics.median(r["throughput_rps"] for r in rs)
            for p in ("p50", "p90", "p99", "max"):
                vals = [r["latency_ms"][p] for r in rs if r["latency_ms"][p] is not None]
                row[p] = statistics.median(vals) if vals else None
            added = {"p50": [], "p99": []}
            for r in rs:
                base = [
                    d
                    for d in open_runs
                    if d["target"] == "direct"
                    and d["target_rate"] == rate
                    and d["round"] == r["round"]
                ]
                if t == "direct" or not base:
                    continue
                for p in added:
                    if r["latency_ms"][p] is not None and base[0]["latency_ms"][p] is not None:
                        added[p].append(r["latency_ms"][p] - base[0]["latency_ms"][p])
            for p, vals in added.items():
                row["added_" + p] = statistics.median(vals) if vals else None
            row["loadavg_1m"] = [r["loadavg_before"][0] for r in rs]
            # Saturated: could not keep up with the offered rate (over 1% not served, or
            # served at under 95% of the rate); its percentiles are then of the survivors.
            row["saturated"] = row["errors"] > 0.01 * row["sent"] or row[
                "throughput_rps"
            ] < 0.95 * rate
            table.append(row)

    closed = []
    for t in targets:
        rs = [r for r in closed_runs if r["target"] == t]
        if not rs:
            continue
        closed.append(
            {
                "target": t,
                "rounds": len(rs),
                "connections": rs[0]["connections"],
                "seconds": rs[0]["max_seconds"],
                "ok": sum(r["ok"] for r in rs),
                "errors": sum(r["errors"] for r in rs),
                "throughput_rps": statistics.median(r["throughput_rps"] for r in rs),
                "p50": statistics.median(r["latency_ms"]["p50"] for r in rs),
                "p99": statistics.median(r["latency_ms"]["p99"] for r in rs),
                "loadavg_1m": [r["loadavg_before"][0] for r in rs],
            }
        )

    def closed_of(t):
        return next((c for c in closed if c["target"] == t), None)

    w, l = closed_of("wattage"), closed_of("litellm")
    ratio = (
        w["throughput_rps"] / l["throughput_rps"]
        if w and l and l["throughput_rps"] > 0
        else None
    )
    w1000 = next(
        (r for r in table if r["rate"] == 1000 and r["target"] == "wattage"), None
    )
    goals = {
        "added_p99_ms_at_1000": w1000["added_p99"] if w1000 else None,
        "added_p99_under_2ms_at_1000": (
            w1000 is not None
            and w1000["added_p99"] is not None
            and w1000["added_p99"] < 2.0
            and not w1000["saturated"]
        ),
        "max_throughput_ratio_wattage_over_litellm": ratio,
    }

    result = {
        "meta": meta,
        "definition": (
            "added latency (ms) = a percentile of the latency through the proxy minus the same "
            "percentile of the latency straight to the upstream at the same offered rate in the "
            "same round; latency is from the request's scheduled send time (open loop) to the "
            "last byte of the response; percentiles are of OK (HTTP 200) responses"
        ),
        "open_loop": table,
        "closed_loop": closed,
        "goals": goals,
        "runs": runs,
    }
    with open(f"{out_dir}/results.json", "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1)
        f.write("\n")

    m = meta
    lines = [
        "# Gateway benchmark: `wattage serve` vs LiteLLM proxy",
        "",
        f"Run {m['date']} by `benches/gateway/run.sh` (by hand, not in CI). Machine: "
        f"{m['cpus']} cores ({m['cpu_model']}), {m['mem_gib']} GiB, {m['kernel']}; "
        "everything (load generator, fake upstream, proxies) on the same 2 cores over loopback. "
        f"All benchmark processes at nice {m.get('nice', 0)}. "
        f"wattage {m['wattage_commit']}, LiteLLM {m['litellm_version']} "
        f"({m['litellm_workers']} uvicorn workers), Python {m['python']}. "
        f"Load average before the run: {m['loadavg_start']}; after: {m.get('loadavg_end', 'n/a')}. "
        "Other jobs shared this machine: treat differences under ~1 ms at p99 as noise.",
        "",
        "Added latency = the percentile through the proxy minus the same percentile measured "
        "directly against the upstream at the same offered rate in the same round. Latency is "
        "measured from the scheduled send time (open loop, no coordinated omission) to the last "
        "byte, over OK responses; wattage's includes the ledger commit (the response is sent "
        f"only after its row is committed). Each open-loop cell: {m['requests']} requests or "
        f"{m['seconds']} s, whichever first, after a {m['warmup']} s warm-up at the same rate; "
        f"at most {m['cap']} requests in flight (a request due beyond that is not sent and "
        f"counts as an error). Rounds: {len(rounds)} (median over rounds).",
        "",
        "## Open loop",
        "",
        "| rate (req/s) | target | sent | OK | errors | achieved (req/s) | p50 (ms) | p99 (ms) "
        "| added p50 (ms) | added p99 (ms) | load avg (1 min) |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in table:
        sat = " (saturated)" if r["saturated"] else ""
        lines.append(
            f"| {r['rate']:g} | {r['target']}{sat} | {r['sent']} | {r['ok']} | {r['errors']} "
            f"| {r['throughput_rps']:.0f} | {fmt(r['p50'])} | {fmt(r['p99'])} "
            f"| {fmt(r['added_p50'])} | {fmt(r['added_p99'])} "
            f"| {', '.join(f'{x:.2f}' for x in r['loadavg_1m'])} |"
        )
    lines += [
        "",
        "A saturated row served under 95% of the offered rate or failed over 1% of it; its "
        "percentiles are of the requests that got through, so compare its throughput, not its "
        "latency.",
        "",
        f"## Closed loop (maximum throughput: {closed[0]['connections'] if closed else '?'} "
        f"connections, {closed[0]['seconds'] if closed else '?'} s)",
        "",
        "| target | OK | errors | throughput (req/s) | p50 (ms) | p99 (ms) | load avg (1 min) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for c in closed:
        lines.append(
            f"| {c['target']} | {c['ok']} | {c['errors']} | {c['throughput_rps']:.0f} "
            f"| {fmt(c['p50'])} | {fmt(c['p99'])} "
            f"| {', '.join(f'{x:.2f}' for x in c['loadavg_1m'])} |"
        )
    lines += [
        "",
        "## Goals",
        "",
        f"- Added p99 at 1,000 req/s under 2 ms: "
        f"{'met' if goals['added_p99_under_2ms_at_1000'] else 'NOT met'} "
        f"({fmt(goals['added_p99_ms_at_1000'])} ms).",
        f"- Maximum throughput, wattage / LiteLLM: "
        f"{fmt(ratio, 1) if ratio is not None else 'n/a'}x.",
        "",
        f"Ledger after the wattage runs: `wattage ledger verify` exit {m.get('ledger_verify_exit', 'n/a')}, "
        f"{m.get('ledger_rows', 'n/a')} rows for {m.get('wattage_ok_total', 'n/a')} OK responses "
        f"({'equal' if m.get('ledger_rows') == m.get('wattage_ok_total') else 'DIFFERENT'}).",
        "",
    ]
    with open(f"{out_dir}/results.md", "w", encoding="utf-8") as f:
        f.write("\n".join(lines))


if __name__ == "__main__":
    main()
