"""Fixtures of the gateway's end-to-end tests: the fake upstream and `wattage serve` as
subprocesses, their ledgers, keys and the `wattage` CLI.

Every prerequisite is provided by `./scripts/test`; a missing one is a test failure that says
how to get it (nothing is skipped):

- the `wattage` binary (`WATTAGE_BIN`, default `target/release/wattage`):
  `cargo build --release -p wattage-cli`;
- the fake upstream (`WATTAGE_FAKE_UPSTREAM`, default `target/release/examples/fake_upstream`):
  `cargo build --release -p wattage-gateway --examples` (or `cargo test --workspace --release`);
- PostgreSQL (`WATTAGE_TEST_POSTGRES_URL`) and `promtool` (Debian package `prometheus`), for
  the tests that name them.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import socket
import sqlite3
import subprocess
import time
import uuid
from pathlib import Path

import httpx
import openai
import pytest

ROOT = Path(__file__).resolve().parents[2]
TARGET = Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target")
WATTAGE_BIN = Path(os.environ.get("WATTAGE_BIN") or TARGET / "release" / "wattage")
FAKE_BIN = Path(os.environ.get("WATTAGE_FAKE_UPSTREAM") or TARGET / "release" / "examples" / "fake_upstream")

#: How every test prices by default (the README's quick start).
DEPLOYMENT = {"model": "llama-3.1-70b", "hardware": "h100-sxm", "gpus": 4}

HOW_TO_BUILD = "build it with `cargo build --release -p wattage-cli -p wattage-gateway --examples` (or run ./scripts/test)"


# --- small helpers ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def new_id(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


def chat_prompt_tokens(messages: list[dict]) -> int:
    """The fake upstream's count: whitespace words of every message + 4 per message."""
    return sum(len(str(m["content"]).split()) + 4 for m in messages)


def close(a: float, b: float, rel: float = 1e-9, abs_: float = 0.0) -> bool:
    return abs(a - b) <= max(rel * max(abs(a), abs(b)), abs_)


def toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    raise TypeError(f"no TOML for {v!r}")


def write_config(path: Path, *, upstreams: list[dict], routing: dict | None = None, **top) -> Path:
    """A `gateway.toml` as docs/gateway.md describes it. Each upstream is a dict of its keys,
    with `deployment` (a dict) and `deployments` (name -> dict) as sub-tables."""
    lines = [f"{k} = {toml_value(v)}" for k, v in top.items() if v is not None]
    for up in upstreams:
        lines.append("\n[[upstreams]]")
        for k, v in up.items():
            if k not in ("deployment", "deployments"):
                lines.append(f"{k} = {toml_value(v)}")
        if "deployment" in up:
            lines.append("[upstreams.deployment]")
            lines += [f"{k} = {toml_value(v)}" for k, v in up["deployment"].items()]
        for name, dep in up.get("deployments", {}).items():
            lines.append(f"[upstreams.deployments.{json.dumps(name)}]")
            lines += [f"{k} = {toml_value(v)}" for k, v in dep.items()]
    if routing:
        lines.append("\n[routing]")
        for k, v in routing.items():
            if k != "models":
                lines.append(f"{k} = {toml_value(v)}")
        if "models" in routing:
            lines.append("[routing.models]")
            lines += [f"{json.dumps(m)} = {toml_value(p)}" for m, p in routing["models"].items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def run_wattage(*args: str, cwd: Path | None = None, timeout: float = 60, check: bool = True) -> subprocess.CompletedProcess:
    p = subprocess.run([str(WATTAGE_BIN), *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        pytest.fail(f"`wattage {' '.join(map(str, args))}` exited {p.returncode}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}")
    return p


def estimate(input_tokens: int, output_tokens: int, batch: float, model: str = "llama-3.1-70b",
             hardware: str = "h100-sxm", gpus: int = 4, *extra: str) -> dict:
    """`wattage estimate --json --samples 0` at a measured batch (`extra`: more flags)."""
    p = run_wattage("estimate", "--model", model, "--hardware", hardware, "--gpus", str(gpus),
                    "--input-tokens", str(input_tokens), "--output-tokens", str(output_tokens),
                    "--batch", repr(float(batch)), "--json", "--samples", "0", *extra)
    return json.loads(p.stdout)


def create_key(ledger, name: str, *extra: str) -> tuple[str, str]:
    """`wattage keys create --json`: (key id, secret)."""
    p = run_wattage("keys", "create", "--ledger", str(ledger), "--name", name, "--json", *extra)
    try:
        data = json.loads(p.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"`wattage keys create --json` printed no JSON:\n{p.stdout}\n{p.stderr}")
    flat = dict(data)
    if isinstance(data.get("key"), dict):
        flat.update(data["key"])
    secret = next((v for v in flat.values() if isinstance(v, str) and v.startswith("wk_") and len(v) > 20), None)
    key_id = flat.get("id") or flat.get("key_id")
    if not secret or not key_id:
        pytest.fail(f"`wattage keys create --json` should give the key's id and its secret (wk_...): {data}")
    return key_id, secret


# --- the ledger -------------------------------------------------------------------------------


class Ledger:
    """Reads the `requests` table of a SQLite file or a PostgreSQL database."""

    def __init__(self, target: str | Path):
        self.target = str(target)
        self.is_pg = self.target.startswith(("postgres://", "postgresql://"))

    def rows(self, where: str = "", params: tuple = ()) -> list[dict]:
        sql = "SELECT * FROM requests" + (f" WHERE {where}" if where else "") + " ORDER BY time, request_id"
        if self.is_pg:
            import psycopg
            from psycopg.rows import dict_row

            with psycopg.connect(self.target, row_factory=dict_row) as c:
                return [dict(r) for r in c.execute(sql.replace("?", "%s"), params).fetchall()]
        if not Path(self.target).exists():
            return []
        c = sqlite3.connect(self.target, timeout=10)
        try:
            c.row_factory = sqlite3.Row
            try:
                return [dict(r) for r in c.execute(sql, params).fetchall()]
            except sqlite3.OperationalError as e:
                if "no such table" in str(e):
                    return []
                raise
        finally:
            c.close()

    def row(self, request_id: str) -> dict | None:
        rows = self.rows("request_id = ?", (request_id,))
        assert len(rows) <= 1
        return rows[0] if rows else None

    def wait_row(self, request_id: str, timeout: float = 3.0) -> dict:
        end = time.monotonic() + timeout
        while True:
            r = self.row(request_id)
            if r is not None:
                return r
            if time.monotonic() > end:
                pytest.fail(f"no ledger row for request {request_id} within {timeout} s in {self.target}")
            time.sleep(0.05)


# --- processes --------------------------------------------------------------------------------


class Proc:
    def __init__(self, name: str, popen: subprocess.Popen, stderr_path: Path):
        self.name, self.popen, self.stderr_path = name, popen, stderr_path

    def stderr(self) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")
        except OSError:
            return ""

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, sig: int = signal.SIGTERM, wait: float = 5.0) -> int | None:
        if self.popen.poll() is None:
            self.popen.send_signal(sig)
            try:
                self.popen.wait(wait)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)
        return self.popen.returncode

    def kill9(self) -> None:
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(5)


class FakeUpstream(Proc):
    addr: str

    @property
    def url(self) -> str:
        return f"http://{self.addr}/v1"

    def last_request(self) -> dict:
        return httpx.get(f"http://{self.addr}/fake/last-request", timeout=5).json()

    def stats(self) -> dict:
        return httpx.get(f"http://{self.addr}/fake/stats", timeout=5).json()


class Gateway(Proc):
    addr: str
    ledger: Ledger

    @property
    def base(self) -> str:
        return f"http://{self.addr}"

    @property
    def url(self) -> str:
        return f"http://{self.addr}/v1"

    def client(self, api_key: str = "no-key", **kw) -> openai.OpenAI:
        kw.setdefault("max_retries", 0)
        kw.setdefault("timeout", 30)
        return openai.OpenAI(base_url=self.url, api_key=api_key, **kw)

    def metrics(self) -> str:
        r = httpx.get(f"{self.base}/metrics", timeout=5)
        assert r.status_code == 200, r.text
        return r.text

    def healthz(self) -> httpx.Response:
        return httpx.get(f"{self.base}/healthz", timeout=5)


@pytest.fixture(scope="session")
def wattage_bin() -> Path:
    if not WATTAGE_BIN.is_file():
        pytest.fail(f"the wattage binary is missing at {WATTAGE_BIN}: {HOW_TO_BUILD}")
    p = subprocess.run([str(WATTAGE_BIN), "serve", "--help"], capture_output=True, text=True)
    if p.returncode != 0:
        pytest.fail(f"{WATTAGE_BIN} has no `serve` subcommand (stale build?): {HOW_TO_BUILD}\n{p.stderr}")
    return WATTAGE_BIN


@pytest.fixture(scope="session")
def fake_bin() -> Path:
    if not FAKE_BIN.is_file():
        pytest.fail(f"the fake upstream is missing at {FAKE_BIN}: {HOW_TO_BUILD}")
    return FAKE_BIN


@pytest.fixture
def start_fake(fake_bin, tmp_path):
    """Starts a fake upstream: `start_fake(name="a", models=["m"], status=500, delay_ms=0)`."""
    procs: list[FakeUpstream] = []

    def start(name: str = "fake", models: list[str] | None = None, status: int | None = None,
              delay_ms: int | None = None) -> FakeUpstream:
        args = [str(fake_bin), "--listen", "127.0.0.1:0", "--name", name,
                "--models", ",".join(models or ["llama-3.1-70b"])]
        if status is not None:
            args += ["--status", str(status)]
        if delay_ms is not None:
            args += ["--delay-ms", str(delay_ms)]
        err = tmp_path / f"fake-{name}-{len(procs)}.stderr"
        p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=err.open("wb"), text=True)
        f = FakeUpstream(f"fake upstream {name}", p, err)
        procs.append(f)
        ready, _, _ = select.select([p.stdout], [], [], 10)
        line = p.stdout.readline() if ready else ""
        if not line.startswith("listening on "):
            f.stop()
            pytest.fail(f"the fake upstream did not start ({line!r}):\n{f.stderr()}")
        f.addr = line.split("listening on ", 1)[1].strip()
        return f

    yield start
    for f in procs:
        f.stop()


@pytest.fixture
def fake(start_fake) -> FakeUpstream:
    return start_fake()


@pytest.fixture
def start_gateway(wattage_bin, tmp_path, request):
    """Starts `wattage serve` and waits for `GET /healthz`.

    `start_gateway(upstream=fake)` runs the README's quick start (no config file) against
    `fake` with a ledger in `tmp_path`; `start_gateway(config=path, ledger=...)` runs
    `wattage serve --config path` (the config names its own ledger and listen address; pass
    `listen` so the fixture knows where to wait); `command=[...]` runs exactly those
    arguments (with `listen` and `ledger` saying what they are). `args` are added flags, `env` added
    environment, `cwd` the working directory, `preexec_fn` as in `subprocess.Popen`.
    """
    procs: list[Gateway] = []

    def start(upstream: FakeUpstream | None = None, *, config: Path | None = None, listen: str | None = None,
              ledger: str | Path | None = None, args: tuple = (), env: dict | None = None,
              cwd: Path | None = None, wait: bool = True, preexec_fn=None,
              command: list[str] | None = None) -> Gateway:
        if command is not None:
            assert listen is not None and ledger is not None, "a command needs listen= and ledger="
            cmd = list(command)
        elif config is None:
            assert upstream is not None
            listen = listen or f"127.0.0.1:{free_port()}"
            ledger = ledger if ledger is not None else tmp_path / f"ledger-{len(procs)}.db"
            cmd = ["serve", "--upstream", upstream.url, "--model", DEPLOYMENT["model"],
                   "--hardware", DEPLOYMENT["hardware"], "--gpus", str(DEPLOYMENT["gpus"]),
                   "--listen", listen, "--ledger", str(ledger)]
        else:
            assert listen is not None and ledger is not None, "a config run needs listen= and ledger="
            cmd = ["serve", "--config", str(config)]
        cmd += [str(a) for a in args]
        err = tmp_path / f"gateway-{len(procs)}.stderr"
        full_env = dict(os.environ)
        full_env.update(env or {})
        p = subprocess.Popen([str(wattage_bin), *cmd], stdout=err.open("ab"), stderr=subprocess.STDOUT,
                             env=full_env, cwd=cwd, preexec_fn=preexec_fn)
        g = Gateway(f"wattage {' '.join(cmd)}", p, err)
        g.addr = listen
        g.ledger = Ledger(ledger if str(ledger).startswith("postgres") or cwd is None or Path(ledger).is_absolute()
                          else Path(cwd) / ledger)
        procs.append(g)
        if wait:
            wait_healthy(g)
        return g

    yield start
    for g in procs:
        g.stop()
        text = g.stderr()
        if text.strip():
            print(f"--- output of {g.name} ---\n{text[-6000:]}")


def wait_healthy(g: Gateway, timeout: float = 20.0) -> None:
    end = time.monotonic() + timeout
    last = None
    while time.monotonic() < end:
        if not g.alive():
            pytest.fail(f"`{g.name}` exited with {g.popen.returncode}:\n{g.stderr()}")
        try:
            r = httpx.get(f"{g.base}/healthz", timeout=1)
            if r.status_code == 200:
                return
            last = f"{r.status_code} {r.text[:200]}"
        except httpx.HTTPError as e:
            last = repr(e)
        time.sleep(0.05)
    pytest.fail(f"`{g.name}` not healthy within {timeout} s (last: {last}):\n{g.stderr()}")


@pytest.fixture
def gateway(start_gateway, fake) -> Gateway:
    """The quick start (no config file) in front of one fake upstream."""
    return start_gateway(fake)


@pytest.fixture(scope="session")
def promtool() -> str:
    path = shutil.which("promtool")
    if not path:
        pytest.fail("promtool is missing: `apt-get install prometheus` (Debian/Ubuntu) provides it; ./scripts/test installs it as root")
    return path


@pytest.fixture(scope="session")
def postgres_url() -> str:
    url = os.environ.get("WATTAGE_TEST_POSTGRES_URL")
    if not url:
        pytest.fail("WATTAGE_TEST_POSTGRES_URL is not set: run ./scripts/test (it starts a throwaway PostgreSQL "
                    "cluster when it is unset), or point it at a database you may write, e.g. "
                    "postgres://postgres@127.0.0.1:5432/wattage_test")
    return url
