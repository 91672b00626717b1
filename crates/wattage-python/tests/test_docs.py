"""Every Python example of docs/python.md runs, in order, in one namespace (as a notebook
would), in a scratch folder."""

from __future__ import annotations

import contextlib
import io
import re

import pytest

from conftest import REPO

DOC = REPO / "docs" / "python.md"


def _blocks() -> list[tuple[int, str]]:
    text = DOC.read_text()
    out = []
    for m in re.finditer(r"^```python\n(.*?)^```", text, flags=re.S | re.M):
        out.append((text[: m.start()].count("\n") + 1, m.group(1)))
    return out


def test_the_docs_have_examples():
    assert len(_blocks()) >= 10


def test_every_example_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    namespace: dict = {"__name__": "__docs__"}
    for line, code in _blocks():
        out = io.StringIO()
        try:
            with contextlib.redirect_stdout(out):
                exec(compile(code, f"{DOC.name}:{line}", "exec"), namespace)
        except Exception as e:  # pragma: no cover - the message is the point
            pytest.fail(f"the example at {DOC.name}:{line} failed: {type(e).__name__}: {e}\n{code}")
        assert out.getvalue().strip() or "savefig" in code or "import" in code.splitlines()[0], (
            f"the example at {DOC.name}:{line} printed nothing"
        )
    assert (tmp_path / "unserved.png").stat().st_size > 1000
    assert (tmp_path / "tour-out" / "report.html").is_file()
