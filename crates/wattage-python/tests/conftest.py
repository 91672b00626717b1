"""Shared fixtures: the built ``wattage`` binary (the CLI the package must agree with), and
helpers that run it."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
REPO = HERE.parents[2]
SCENARIOS = REPO / "scenarios"


def _binary() -> Path:
    return Path(os.environ.get("WATTAGE_BIN", REPO / "target" / "release" / "wattage"))


class Cli:
    """The ``wattage`` binary."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def run(self, *args: Any, cwd: Path | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
        p = subprocess.run(
            [str(self.path), "--quiet", *map(str, args)],
            capture_output=True,
            text=True,
            cwd=cwd,
        )
        if check and p.returncode != 0:
            raise AssertionError(f"wattage {' '.join(map(str, args))} failed ({p.returncode}):\n{p.stderr}")
        return p

    def json(self, *args: Any, cwd: Path | None = None) -> Any:
        return json.loads(self.run(*args, "--json", cwd=cwd).stdout)


@pytest.fixture(scope="session")
def cli() -> Cli:
    path = _binary()
    if not path.is_file():
        pytest.fail(
            f"the wattage binary is not at {path}: build it with "
            "`cargo build --release -p wattage-cli` (or set WATTAGE_BIN to its path)",
            pytrace=False,
        )
    return Cli(path)


def without(d: Any, *paths: str) -> Any:
    """A copy of JSON data with the dotted ``paths`` removed (wall-clock times, say)."""
    d = json.loads(json.dumps(d))
    for p in paths:
        *head, last = p.split(".")
        node = d
        for k in head:
            node = node.get(k) if isinstance(node, dict) else None
            if node is None:
                break
        if isinstance(node, dict):
            node.pop(last, None)
    return d
