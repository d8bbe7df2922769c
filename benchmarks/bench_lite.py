"""xlwings Lite: every XV_ function on 200,000 transactions, peak memory against the headless run.

Lite gives Python about 2 GB in the browser; the target is a peak under 1 GB. Each side runs in
its own child process so that its peak resident memory (VmHWM, Linux) is its own:
The rows are the CDNOW master log repeated (copy number in the customer id), so that the
models fit as on CDNOW.
- Lite: xlvalue.lite imported, the 200,000-row range built as Lite passes it (2-D list, dates
  as serial numbers), then each XV_ function called once on Lite-shaped arguments
  (the RFM, repeat-purchase, fit and CLV arguments derived from the same range, as a sheet
  whose formulas feed each other would);
- headless: `xlvalue run --only rfm,ranking,clv` on a workbook holding the same 200,000 rows.
Prints both peaks, the part above each interpreter's baseline after imports, and the ratio.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
N_FULL = 200_000
LIMIT = 1_000_000_000  # bytes: half of what xlwings Lite gives Python


def _rss_now() -> int:
    import resource

    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize()


def _peak_rss() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def lite_child(n: int) -> None:
    """Child: the Lite functions; prints 'seconds peak base functions'."""
    import xlvalue.excel.udfs as classic
    import xlvalue.lite as lite
    from tests.lite_calls import classic_calls, lite_args, transactions_rows

    base = _rss_now()
    started = time.perf_counter()
    rows = transactions_rows(n)
    calls = classic_calls(rows, classic)  # the downstream ranges (scores, fits) a sheet holds
    del rows
    called = 0
    for name, args in calls.items():
        out = getattr(lite, name)(*lite_args(args))
        assert not str(out[0][0]).startswith("#XV!"), (name, out[0][0])
        called += 1
    print(f"{time.perf_counter() - started:.3f} {_peak_rss()} {base} {called}")


def _workbook(path: Path, n: int) -> Path:
    from openpyxl import Workbook
    from openpyxl.workbook.defined_name import DefinedName

    from tests.lite_calls import transactions_rows

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Transactions")
    for row in transactions_rows(n):
        ws.append(row)
    wb.defined_names["xv_Transactions"] = DefinedName(
        "xv_Transactions", attr_text=f"Transactions!$A$1:$C${n + 1}")
    wb.save(path)
    return path


def run(quick: bool = False) -> None:
    n = 20_000 if quick else N_FULL
    lite = subprocess.run([sys.executable, "-m", "benchmarks.bench_lite", "--child", str(n)],
                          cwd=ROOT, capture_output=True, text=True, check=True)
    seconds, peak, base, called = lite.stdout.split()[-4:]
    with tempfile.TemporaryDirectory() as tmp:
        book = _workbook(Path(tmp) / "lite_bench.xlsx", n)
        head = subprocess.run([sys.executable, "-m", "benchmarks.peak_run", str(book), "--only",
                               "rfm,ranking,clv", "-o", str(Path(tmp) / "out.xlsx")], cwd=ROOT,
                              capture_output=True, text=True, check=True)
    code, h_seconds, h_peak, h_base = head.stdout.split()[-4:]
    lite_own, head_own = int(peak) - int(base), int(h_peak) - int(h_base)
    print(f"xlwings Lite functions ({called} XV_ functions), {n:,} transactions: "
          f"{float(seconds):.1f} s, peak RSS {int(peak) / 1e6:,.0f} MB "
          f"({lite_own / 1e6:,.0f} MB above the {int(base) / 1e6:,.0f} MB after imports; "
          f"target < {LIMIT / 1e6:,.0f} MB peak)", flush=True)
    print(f"headless xlvalue run --only rfm,ranking,clv, same rows: {float(h_seconds):.1f} s, "
          f"peak RSS {int(h_peak) / 1e6:,.0f} MB ({head_own / 1e6:,.0f} MB above "
          f"{int(h_base) / 1e6:,.0f} MB; exit {code})", flush=True)
    print(f"ratio Lite / headless: peak {int(peak) / int(h_peak):.2f}x, above baseline "
          f"{lite_own / head_own:.2f}x, time {float(seconds) / float(h_seconds):.2f}x", flush=True)
    if int(peak) >= LIMIT:
        print(f"OVER THE TARGET: peak {int(peak) / 1e6:,.0f} MB >= {LIMIT / 1e6:,.0f} MB")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        lite_child(int(sys.argv[2]))
    else:
        run(quick="--quick" in sys.argv)
