"""Make docs/img: PNG renders of every output sheet of the demo run, and close-ups of the
charts the README shows (LibreOffice headless -> PDF -> pdftoppm, as a person would see
them printed). Run with `make docs-img` (needs soffice and pdftoppm).

1. build the demo workbook (templates/xlvalue_demo.xlsx's content) and run every analysis;
2. docs/img/sheet_<sheet>.png: each xv_* sheet as it opens (rows 1-40, columns A-V);
3. docs/img/chart_<name>.png: the value matrix, the profit whale curve, the decile chart and
   the model comparison's holdout chart, each with the block beside it;
4. docs/img/spilled_udfs.png: XV_RFM spilled on the formulas workbook
   (templates/xlvalue_formulas.xlsx's content), its values computed by `xlvalue eval`;
5. docs/img/ribbon.png: the ribbon tab drawn from the add-in's customUI.xml (render_ribbon.py).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import openpyxl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "docs"))

import render_ribbon  # noqa: E402
from render_sheets import render  # noqa: E402

from xlvalue.cli.headless_run import run_workbook  # noqa: E402
from xlvalue.formula_eval.evaluate import evaluate, write_cached_values  # noqa: E402
from xlvalue.formula_eval.formulas_workbook import build_formulas_workbook  # noqa: E402
from xlvalue.pipeline import new_template, sheet_outputs  # noqa: E402
from xlvalue.workbook.ooxml import col_letter  # noqa: E402
from xlvalue.workbook.sheetxml import place_blocks  # noqa: E402

IMG = ROOT / "docs" / "img"
CLOSE_UPS = {"value_matrix": ("xv_CLV", "xv_out_CLV", 7), "profit_whale": (
    "xv_Costing", "xv_out_ProfitWhale", 0), "deciles": ("xv_Ranking", "xv_out_Deciles", 0),
    "model_holdout": ("xv_Compare", "xv_out_ModelHoldout", -1)}  # -1: the chart alone


def close_up_areas(report) -> dict[str, tuple[str, str]]:
    """Sheet and A1 range of each close-up: the last `tail` columns of the block (all for 0,
    none for -1), its chart."""
    areas = {}
    sheets = {o.name: o for o in sheet_outputs(report.results, _empty_log())}
    for name, (sheet, block, tail) in CLOSE_UPS.items():
        out = sheets[sheet]
        pb = next(p for p in place_blocks(out.blocks) if p.block.name == block)
        row, col = pb.chart_cells[0]
        spec = pb.block.charts[0]
        first = col if tail < 0 else max(pb.last_col - tail, pb.first_col) if tail \
            else pb.first_col
        last_col = col + spec.width_cols + 2
        last_row = max(row + spec.height_rows + 1, min(pb.last_row, row + spec.height_rows) + 1)
        areas[name] = (sheet, f"{col_letter(first)}{pb.header_row}:"
                              f"{col_letter(last_col)}{last_row + 1}")
    return areas


def _empty_log():
    import pandas as pd

    return pd.DataFrame({"kind": ["run"], "item": ["x"], "value": ["y"]})


def main() -> None:
    IMG.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        book = new_template(Path(tmp) / "xlvalue_demo.xlsx", demo=True)
        report = run_workbook(book, Path(tmp) / "xlvalue_demo_xlvalue.xlsx")
        sheets = [s.name for s in sheet_outputs(report.results, _empty_log())]
        # each sheet as it opens: its top-left corner, about a screen's worth
        for path in render(report.output, IMG, sheets, prefix="sheet_", rows=40, max_cols=22):
            print(path.relative_to(ROOT))
        for name, (sheet, area) in close_up_areas(report).items():
            for path in render(report.output, Path(tmp) / name, [sheet], area=area, dpi=120):
                target = IMG / f"chart_{name}.png"
                path.replace(target)
                print(target.relative_to(ROOT))
        spilled_udfs(Path(tmp))
    render_ribbon.main(str(IMG / "ribbon.png"))
    print((IMG / "ribbon.png").relative_to(ROOT))


def spilled_udfs(tmp: Path) -> None:
    """XV_RFM's spill on the formulas workbook, as `xlvalue eval -o` leaves it computed."""
    book = build_formulas_workbook(tmp / "xlvalue_formulas.xlsx")
    computed = tmp / "computed.xlsx"
    write_cached_values(book, computed, evaluate(book))
    # LibreOffice would recompute the formulas (and know no XV_ function): render the values
    # that eval cached, as a copy without the formulas
    values = openpyxl.load_workbook(computed, data_only=True)
    values.save(tmp / "values.xlsx")
    for path in render(tmp / "values.xlsx", tmp / "spill", ["RFM"], area="A1:K30", dpi=110):
        target = IMG / "spilled_udfs.png"
        path.replace(target)
        print(target.relative_to(ROOT))


if __name__ == "__main__":
    main()
