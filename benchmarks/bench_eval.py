"""`xlvalue eval` end to end (a fresh process each, interpreter start and imports included).

1. Issue 25: formulas chained as a user types them (plain formulas, spills read through
   `A1#` and ranges over spilled cells) against a headless `xlvalue run` of the whole book,
   both as fresh CLI processes in this run. Two books: the demo workbook (6,919 purchases)
   with the README's chain XV_REPEAT -> XV_BGNBD_FIT -> XV_PALIVE, and a 47,000-line book
   (the first 47,000 lines of the CDNOW master log: 15,427 customers) with 15 formulas (the chain,
   the other fits, CLV, RFM over whole columns, deciles, Pareto, whale, and plain formulas).
   Target: eval at most 3x the run.
2. Issue 17: the direct path against the engine-only path (`evaluate(..., engine_only=True)`,
   every formula and the cells it reads through the `formulas` engine) on
   `=XV_RFM(Transactions!A1:C6920)` in the demo workbook and on the shipped formulas
   workbook; plus `evaluate()` alone in a warm process. Target: at least 5x faster.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import openpyxl

from xlvalue.formula_eval.evaluate import evaluate
from xlvalue.pipeline import new_template

from .common import report

ROOT = Path(__file__).resolve().parents[1]

# the old path through the same CLI: cmd_eval imports `evaluate` when it runs
ENGINE_ONLY = ("import functools, sys; import xlvalue.formula_eval.evaluate as e; "
               "e.evaluate = functools.partial(e.evaluate, engine_only=True); "
               "from xlvalue.cli.main import main; sys.exit(main(sys.argv[1:]))")
CLI = "import sys; from xlvalue.cli.main import main; sys.exit(main(sys.argv[1:]))"


def _cli(code: str, args: list[str]) -> float:
    """Wall time of one `xlvalue ...` process (the console script's own code)."""
    t = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          env={**os.environ, "TQDM_DISABLE": "1"})
    elapsed = time.perf_counter() - t
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({done.returncode}): {done.stderr[-500:]}")
    return elapsed


def _eval(book: Path, tmp: Path, code: str = CLI) -> float:
    return _cli(code, ["eval", str(book), "--report", str(tmp / "v.csv"), "-q"])


def _run(book: Path, tmp: Path) -> float:
    return _cli(CLI, ["run", str(book), "-o", str(tmp / "run_out.xlsx"), "-q"])


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def chain_formulas(last: int, data: str) -> dict[str, str]:
    """The README's chain as plain formulas, over a repeat table that ends on row `last`."""
    b, c, d = f"B2:B{last}", f"C2:C{last}", f"D2:D{last}"
    return {"A1": f"=XV_REPEAT({data})", "H1": f"=XV_BGNBD_FIT({b}, {c}, {d})",
            "T1": f"=XV_PALIVE(H1#, {b}, {c}, {d})"}


def fifteen_formulas(last: int, data: str) -> dict[str, str]:
    """15 plain formulas over a repeat table and an RFM table of `last` - 1 customers."""
    b, c, d, e = f"B2:B{last}", f"C2:C{last}", f"D2:D{last}", f"E2:E{last}"
    return {**chain_formulas(last, data),
            "V1": f"=XV_EXPECTED_PURCHASES(H1#, 12, {b}, {c}, {d})",
            "X1": "=XV_GG_FIT(A1#)",
            "AF1": f"=XV_CLV(H1#, X1#, {b}, {c}, {d}, {e})",
            "AH1": f"=XV_MBGNBD_FIT({b}, {c}, {d})",
            "AR1": f"=XV_PARETONBD_FIT({b}, {c}, {d})",
            "BB1": f"=XV_NBD_FIT({b}, {d})",
            "BJ1": "=XV_RFM(Transactions!A:C)",  # whole columns, spills BJ:BT
            "BW1": f"=XV_DECILES(BN2:BN{last}, BL2:BL{last})",  # total spend, frequency
            "CJ1": f"=XV_PARETO(BN2:BN{last})",
            "CT1": f"=XV_WHALE(BN2:BN{last})",
            "CW1": "=SUM(Transactions!C:C)",  # plain formulas, compiled by `formulas`
            "CX1": "=XV_LTV(CW1, 0, 0)"}


def _book_with(src: Path, path: Path, formulas: dict[str, str]) -> Path:
    wb = openpyxl.load_workbook(src)
    ws = wb.create_sheet("Chain")
    for ref, text in formulas.items():
        ws[ref] = text
    wb.save(path)
    return path


def run(quick: bool = False) -> None:
    repeat = 1 if quick else 3
    os.environ["TQDM_DISABLE"] = "1"  # the engine's progress bars, in this process too
    load = os.getloadavg()[0]
    print(f"  load average {load:.1f} on {os.cpu_count()} cores", flush=True)
    with tempfile.TemporaryDirectory() as tmp_:
        tmp = Path(tmp_)
        demo = new_template(tmp / "demo.xlsx", demo=True)
        n_rows = 47_000
        big = cdnow_book(tmp / "big.xlsx", n_rows)
        customers = len(evaluate_ids(big))
        chains = [
            ("README chain, 3 plain formulas, demo (6,919 purchases)",
             _book_with(demo, tmp / "chain.xlsx", chain_formulas(2358, "Transactions!A1:C6920"))),
            (f"15 plain formulas, {n_rows:,} purchases ({customers:,} customers)",
             _book_with(big, tmp / "big15.xlsx",
                        fifteen_formulas(customers + 1, f"Transactions!A1:C{n_rows + 1}")))]
        for name, book in chains:  # every formula computes (a benchmark of errors is none)
            bad = [r for r in evaluate(book) if r.formula and str(r.value).startswith("#")]
            if bad:
                raise SystemExit(f"{name}: {bad[0].sheet}!{bad[0].cell}: {bad[0].value}")
        for name, book in chains:
            ours = min(_eval(book, tmp) for _ in range(repeat))
            ref = min(_run(book, tmp) for _ in range(repeat))
            report(f"eval vs run: {name}", ours, ref, "xlvalue run", "ratio <= 3x")

        if quick:
            return
        wb = openpyxl.load_workbook(demo)
        wb["Settings"]["E2"] = "=XV_RFM(Transactions!A1:C6920)"
        wb.save(tmp / "rfm.xlsx")
        cases = [("XV_RFM over Transactions!A1:C6920 (demo)", tmp / "rfm.xlsx"),
                 ("templates/xlvalue_formulas.xlsx (8 formulas)",
                  ROOT / "templates" / "xlvalue_formulas.xlsx")]
        for name, book in cases:
            ours = min(_eval(book, tmp) for _ in range(repeat))
            old = min(_eval(book, tmp, ENGINE_ONLY) for _ in range(repeat))
            report(f"eval CLI: {name}", ours, old, "engine-only", "ratio <= 0.2 (5x faster)")
            print(f"  speed-up end to end {old / ours:.1f}x", flush=True)
            evaluate(book)  # imports out of the in-process timings
            ours = min(_timed(lambda b=book: evaluate(b)) for _ in range(repeat))
            old = min(_timed(lambda b=book: evaluate(b, engine_only=True)) for _ in range(repeat))
            report(f"evaluate(): {name}", ours, old, "engine-only")
            print(f"  speed-up in process {old / ours:.1f}x", flush=True)


def cdnow_book(path: Path, n_rows: int) -> Path:
    """A workbook of the CDNOW master log's first n_rows purchases (customers in id order):
    a Transactions sheet and its xv_Transactions name."""
    from openpyxl.workbook.defined_name import DefinedName

    from xlvalue.datasets import load_cdnow_master

    log = load_cdnow_master().sort_values(["CustomerID", "Date"], kind="stable")
    log = log.head(n_rows)
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("Transactions")
    ws.append(["CustomerID", "Date", "Amount"])
    for cid, day, amount in zip(log["CustomerID"], log["Date"].dt.date, log["Amount"],
                                strict=True):
        ws.append([cid, day, float(amount)])
    wb.defined_names["xv_Transactions"] = DefinedName(
        "xv_Transactions", attr_text=f"Transactions!$A$1:$C${len(log) + 1}")
    wb.save(path)
    return path


def evaluate_ids(book: Path) -> set:
    """The distinct customer ids of a book's Transactions sheet."""
    import python_calamine

    rows = python_calamine.CalamineWorkbook.from_path(str(book)).get_sheet_by_name(
        "Transactions").to_python()
    return {r[0] for r in rows[1:]}
