"""Every malformed workbook of the corpus: one clear located line, exit 2, input untouched."""

from __future__ import annotations

import hashlib

import pytest

from xlvalue.cli.main import main
from xlvalue.workbook import ooxml

from .malformed import CASES


def test_corpus_is_large_enough():
    assert len(CASES) >= 100
    assert len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_malformed_workbook(case, tmp_path, capsys, monkeypatch):
    for key, value in case.env.items():
        monkeypatch.setenv(key, value)
    if case.env:
        monkeypatch.setattr(ooxml, "MAX_INFLATED_BYTES", int(case.env["XLVALUE_MAX_INFLATED_BYTES"]))
    path = case.build(tmp_path / "case.xlsx")
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    out_path = tmp_path / "out.xlsx"
    code = main(["run", str(path), "-o", str(out_path), "-q", *case.args])
    err = capsys.readouterr().err
    assert "Traceback" not in err and "internal error" not in err, err
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    if case.expect is None:
        assert code == 0, err
        assert out_path.exists()
    else:
        assert code == 2, err
        assert case.expect in err, err
        assert not out_path.exists()
        assert [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
