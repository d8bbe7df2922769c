"""docs/python-api.md stays true: its code blocks run, in order, in one namespace, and each
block followed by a ```text block prints exactly that text."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "python-api.md"
BLOCK = re.compile(r"```(python|text)\n(.*?)```", re.DOTALL)


def blocks() -> list[tuple[str, str | None]]:
    """(code, expected output or None) for each python block of the doc."""
    found = BLOCK.findall(DOC.read_text(encoding="utf-8"))
    out = []
    for i, (kind, body) in enumerate(found):
        if kind == "python":
            following = found[i + 1] if i + 1 < len(found) else None
            out.append((body, following[1] if following and following[0] == "text" else None))
    return out


def _lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.strip("\n").splitlines()]


def test_the_worked_example_runs_and_prints_what_the_doc_shows():
    pairs = blocks()
    assert len(pairs) >= 5 and sum(expected is not None for _, expected in pairs) >= 5
    namespace: dict = {"__name__": "python_api_doc"}
    for number, (code, expected) in enumerate(pairs, 1):
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(compile(code, f"{DOC.name} block {number}", "exec"), namespace)
        if expected is not None:
            assert _lines(printed.getvalue()) == _lines(expected), f"block {number} prints otherwise"
    # the figures the prose quotes come from the run, not from memory
    bgf = namespace["bgf"]
    assert [round(bgf.params_[k], 3) for k in ("r", "alpha", "a", "b")] == [0.243, 4.414, 0.793, 2.426]


def test_the_doc_comparison_catches_a_wrong_output():
    """The comparison is not blind: a changed figure in an expected block is a mismatch."""
    code, expected = blocks()[1]
    assert expected is not None and "0.79" in expected
    assert _lines(expected.replace("0.79", "0.80")) != _lines(expected)


def test_the_readme_points_at_this_doc():
    readme = (DOC.parent.parent / "README.md").read_text(encoding="utf-8")
    assert "docs/python-api.md" in readme
