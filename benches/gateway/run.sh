#!/usr/bin/env bash
# Side-by-side benchmark of `wattage serve` and LiteLLM's proxy in front of the same fast fake
# upstream, on loopback only. Run by hand (not in CI); see benches/gateway/README.md.
#
#   bash benches/gateway/run.sh            # writes benches/gateway/results.{md,json}
#
# Knobs (environment): RATES="200 1000 5000" REQUESTS=20000 RUN_SECONDS=20 WARMUP=1 CAP=1024
# ROUNDS=1 COOLDOWN=3 CLOSED_CONNECTIONS=64 CLOSED_SECONDS=10 LITELLM_WORKERS=$(nproc)
# BUDGET=600 (hard stop of the measuring part, s) QUIET_LOAD=1.0 (wait up to 60 s for the
# 1-minute load average to drop under it before measuring) NICE=0 (run everything at this
# nice level, e.g. -10 as root to be less disturbed by builds sharing the machine)
# SKIP_BUILD=0 KEEP=0 (keep the temp dir) OUT=benches/gateway.
set -euo pipefail

NICE=${NICE:-0}
if [[ $NICE != 0 && -z ${WATTAGE_BENCH_NICED:-} ]]; then
    export WATTAGE_BENCH_NICED=1 NICE
    exec nice -n "$NICE" bash "$0" "$@"
fi

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
HERE=benches/gateway
OUT=${OUT:-$HERE}
RATES=${RATES:-"200 1000 5000"}
REQUESTS=${REQUESTS:-20000}
RUN_SECONDS=${RUN_SECONDS:-20}
WARMUP=${WARMUP:-1}
CAP=${CAP:-1024}
ROUNDS=${ROUNDS:-1}
COOLDOWN=${COOLDOWN:-3}
CLOSED_CONNECTIONS=${CLOSED_CONNECTIONS:-64}
CLOSED_SECONDS=${CLOSED_SECONDS:-10}
LITELLM_WORKERS=${LITELLM_WORKERS:-$(nproc)}
LITELLM_VERSION=1.81.13
BUDGET=${BUDGET:-600}
QUIET_LOAD=${QUIET_LOAD:-1.0}
VENV=target/litellm-venv
REL=target/release

log() { printf '[bench %s] %s\n' "$(date +%T)" "$*" >&2; }

# ---- build (not counted in BUDGET) ---------------------------------------------------------
if [[ ${SKIP_BUILD:-0} != 1 ]]; then
    log "building release binaries"
    cargo build --release -q -p wattage-cli --bin wattage
    cargo build --release -q -p wattage-gateway --example loadgen --example fake_upstream
fi
for b in $REL/wattage $REL/examples/loadgen $REL/examples/fake_upstream; do
    [[ -x $b ]] || { log "missing $b"; exit 1; }
done
if ! [[ -x $VENV/bin/litellm ]] || ! $VENV/bin/python -c \
    "import importlib.metadata as m, sys; sys.exit(m.version('litellm') != '$LITELLM_VERSION')" 2>/dev/null; then
    log "creating $VENV with litellm[proxy]==$LITELLM_VERSION (all dependencies pinned)"
    python3 -m venv "$VENV"
    $VENV/bin/pip install -q "litellm[proxy]==$LITELLM_VERSION" -c $HERE/litellm-requirements.txt
fi

# ---- processes, cleanup, watchdog ---------------------------------------------------------
W=$(mktemp -d -t wattage-bench.XXXXXX)
PGIDS=()
WATCHDOG=
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    for g in "${PGIDS[@]}"; do kill -TERM -- "-$g" 2>/dev/null || true; done
    sleep 1
    for g in "${PGIDS[@]}"; do kill -KILL -- "-$g" 2>/dev/null || true; done
    [[ -n $WATCHDOG ]] && kill -- "-$WATCHDOG" 2>/dev/null || true
    if [[ ${KEEP:-0} == 1 ]]; then log "kept $W"; else rm -rf "$W"; fi
    exit $rc
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM
setsid bash -c "sleep $BUDGET; echo '[bench] over the ${BUDGET}s budget: stopping' >&2; kill -TERM $$" &
WATCHDOG=$!

# Starts "$@" in its own process group (so the trap can end it and its children).
start() {
    local name=$1; shift
    setsid "$@" >"$W/$name.out" 2>"$W/$name.err" &
    PGIDS+=($!)
}

# Waits for "listening on ADDR" in a server's stdout; prints ADDR.
addr_of() {
    local name=$1
    for _ in $(seq 200); do
        if grep -q '^listening on ' "$W/$name.out" 2>/dev/null; then
            sed -n 's/^listening on //p' "$W/$name.out" | head -1
            return 0
        fi
        sleep 0.1
    done
    log "$name did not start:"; cat "$W/$name.err" >&2; return 1
}

loadavg() { cut -d' ' -f1-3 /proc/loadavg | tr ' ' ','; }

# ---- wait for a quiet machine -------------------------------------------------------------
for _ in $(seq 12); do
    awk -v q="$QUIET_LOAD" '{exit !($1 < q)}' /proc/loadavg && break
    log "load average $(loadavg) (want < $QUIET_LOAD); waiting 5 s"
    sleep 5
done
LOAD_START=$(loadavg)
log "load average at start: $LOAD_START"

# ---- servers -------------------------------------------------------------------------------
start upstream $REL/examples/fake_upstream --listen 127.0.0.1:0
UP=$(addr_of upstream)
log "fake upstream on $UP"

start wattage $REL/wattage serve --quiet --upstream "http://$UP/v1" --model llama-3.1-70b \
    --hardware h100-sxm --gpus 4 --listen 127.0.0.1:0 --ledger "$W/ledger.db"
WA=$(addr_of wattage)
log "wattage serve on $WA (ledger $W/ledger.db)"

LPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
sed "s#UPSTREAM_BASE#http://$UP/v1#" $HERE/litellm_config.yaml >"$W/litellm.yaml"
start litellm env LITELLM_LOG=ERROR LITELLM_MODE=PRODUCTION LITELLM_LOCAL_MODEL_COST_MAP=True \
    NO_PROXY='*' no_proxy='*' \
    $VENV/bin/litellm --config "$W/litellm.yaml" --host 127.0.0.1 --port "$LPORT" \
    --num_workers "$LITELLM_WORKERS" --telemetry False
LA=127.0.0.1:$LPORT
for i in $(seq 180); do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://$LA/health/liveliness" || true)
    [[ $code == 200 ]] && break
    [[ $i == 180 ]] && { log "LiteLLM did not start:"; tail -20 "$W/litellm.err" >&2; exit 1; }
    sleep 0.5
done
log "LiteLLM proxy on $LA ($LITELLM_WORKERS workers)"

BODY='{"model":"llama-3.1-70b","messages":[{"role":"user","content":"hi"}],"max_tokens":16}'
for a in "$UP" "$WA" "$LA"; do
    code=$(curl -s -o "$W/check.json" -w '%{http_code}' --max-time 10 \
        -H 'content-type: application/json' -d "$BODY" "http://$a/v1/chat/completions")
    [[ $code == 200 ]] || { log "check request to $a answered $code: $(cat "$W/check.json")"; exit 1; }
done
WATTAGE_CHECKS=1   # the check request above is one ledger row

# ---- measurements --------------------------------------------------------------------------
RUNS="$W/runs.jsonl"
: >"$RUNS"
url_of() {
    case $1 in
        direct) echo "http://$UP/v1/chat/completions" ;;
        wattage) echo "http://$WA/v1/chat/completions" ;;
        litellm) echo "http://$LA/v1/chat/completions" ;;
    esac
}
measure() {   # target round loadgen-args...
    local t=$1 r=$2; shift 2
    local la out
    la=$(loadavg)
    out=$($REL/examples/loadgen --url "$(url_of "$t")" --label "$t" --concurrency-cap "$CAP" "$@")
    printf '{"target":"%s","round":%s,"loadavg_before":[%s],"loadgen":%s}\n' "$t" "$r" "$la" "$out" >>"$RUNS"
    python3 - "$out" "$t" "$la" <<'EOF' >&2
import json, sys
r = json.loads(sys.argv[1])
l = r["latency_ms"]
print(f"  {sys.argv[2]:8} {r['mode']:6} rate={r['target_rate']:g} ok={r['ok']} err={r['errors']} "
      f"rps={r['throughput_rps']} p50={l['p50']} p99={l['p99']} ms (load before {sys.argv[3]})")
EOF
    sleep "$COOLDOWN"
}

for round in $(seq "$ROUNDS"); do
    for rate in $RATES; do
        log "round $round, open loop at $rate req/s: direct, wattage, LiteLLM"
        for t in direct wattage litellm; do
            measure $t "$round" --rate "$rate" --requests "$REQUESTS" --max-seconds "$RUN_SECONDS" \
                --warmup-seconds "$WARMUP"
        done
    done
    log "round $round, closed loop: $CLOSED_CONNECTIONS connections for $CLOSED_SECONDS s"
    for t in direct wattage litellm; do
        measure $t "$round" --rate 0 --connections "$CLOSED_CONNECTIONS" --requests 10000000 \
            --max-seconds "$CLOSED_SECONDS"
    done
done
LOAD_END=$(loadavg)

# ---- the ledger ----------------------------------------------------------------------------
# Stop wattage gracefully (it drains and the writer commits), then verify and count.
kill -TERM "${PGIDS[1]}" 2>/dev/null || true
for _ in $(seq 100); do kill -0 "${PGIDS[1]}" 2>/dev/null || break; sleep 0.1; done
set +e
$REL/wattage ledger verify "$W/ledger.db" >"$W/verify.out" 2>&1
VERIFY=$?
set -e
log "wattage ledger verify: exit $VERIFY ($(tail -1 "$W/verify.out"))"
read -r ROWS ROWS_BY_STATUS < <(python3 - "$W/ledger.db" <<'EOF'
import json, sqlite3, sys
c = sqlite3.connect(sys.argv[1])
n = c.execute("select count(*) from requests").fetchone()[0]
by = dict(c.execute("select status, count(*) from requests group by status").fetchall())
print(n, json.dumps({str(k): v for k, v in by.items()}, separators=(",", ":")))
EOF
)
OK_TOTAL=$(python3 - "$RUNS" "$WATTAGE_CHECKS" <<'EOF'
import json, sys
n = int(sys.argv[2])
for line in open(sys.argv[1]):
    x = json.loads(line)
    if x["target"] == "wattage":
        r = x["loadgen"]
        n += r["ok"] + (r["warmup"]["ok"] if r["warmup"] else 0)
print(n)
EOF
)
log "ledger rows: $ROWS (by status $ROWS_BY_STATUS); OK responses from wattage: $OK_TOTAL"

# ---- report --------------------------------------------------------------------------------
export NICE LOAD_START LOAD_END VERIFY ROWS ROWS_BY_STATUS OK_TOTAL LITELLM_WORKERS REQUESTS \
    RUN_SECONDS WARMUP CAP ROUNDS RATES CLOSED_CONNECTIONS CLOSED_SECONDS
python3 - "$W/meta.json" <<'EOF'
import json, os, platform, subprocess, sys
e = os.environ
def sh(*a):
    try:
        return subprocess.run(a, capture_output=True, text=True, check=True).stdout.strip()
    except Exception:
        return "unknown"
cpu = "unknown"
for line in open("/proc/cpuinfo"):
    if line.startswith("model name"):
        cpu = line.split(":", 1)[1].strip()
        break
mem = int(open("/proc/meminfo").readline().split()[1]) / 2**20
commit = sh("git", "rev-parse", "--short", "HEAD")
if sh("git", "status", "--porcelain", "--untracked-files=no"):
    commit += " (with uncommitted changes)"
meta = {
    "date": sh("date", "-u", "+%Y-%m-%dT%H:%M:%SZ"),
    "cpus": os.cpu_count(),
    "cpu_model": cpu,
    "mem_gib": round(mem, 1),
    "kernel": platform.release(),
    "wattage_commit": commit,
    "litellm_version": sh("target/litellm-venv/bin/python", "-c",
                          "import importlib.metadata as m; print(m.version('litellm'))"),
    "litellm_workers": int(e["LITELLM_WORKERS"]),
    "python": sh("target/litellm-venv/bin/python", "-c",
                 "import platform; print(platform.python_version())"),
    "rates": [float(x) for x in e["RATES"].split()],
    "requests": int(e["REQUESTS"]),
    "seconds": float(e["RUN_SECONDS"]),
    "warmup": float(e["WARMUP"]),
    "cap": int(e["CAP"]),
    "rounds": int(e["ROUNDS"]),
    "closed_connections": int(e["CLOSED_CONNECTIONS"]),
    "closed_seconds": float(e["CLOSED_SECONDS"]),
    "nice": int(e["NICE"]),
    "loadavg_start": e["LOAD_START"].replace(",", " "),
    "loadavg_end": e["LOAD_END"].replace(",", " "),
    "ledger_verify_exit": int(e["VERIFY"]),
    "ledger_rows": int(e["ROWS"]),
    "ledger_rows_by_status": json.loads(e["ROWS_BY_STATUS"]),
    "wattage_ok_total": int(e["OK_TOTAL"]),
}
json.dump(meta, open(sys.argv[1], "w"), indent=1)
EOF
mkdir -p "$OUT"
python3 $HERE/report.py "$RUNS" "$W/meta.json" "$OUT"
log "wrote $OUT/results.md and $OUT/results.json"
cat "$OUT/results.md"
if [[ $VERIFY != 0 || $ROWS != "$OK_TOTAL" ]]; then
    log "LEDGER CHECK FAILED: verify exit $VERIFY, $ROWS rows for $OK_TOTAL OK responses"
    exit 1
fi
