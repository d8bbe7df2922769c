"""The workbook a person opens: demos that fill every analysis (the seeds' worked examples),
result sheets that open on a summary, freeze long headers and label the value matrix."""

from __future__ import annotations

import re
import zipfile

import numpy as np
import openpyxl
import pandas as pd
import pytest

from xlvalue.cli.headless_run import run_workbook
from xlvalue.cli.main import main
from xlvalue.pipeline import new_template


@pytest.fixture(scope="module")
def demo_output(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo17")
    book = new_template(folder / "demo.xlsx", demo=True)
    return run_workbook(book, folder / "demo_out.xlsx")


@pytest.fixture(scope="module")
def demo_wb(demo_output):
    """The demo output as openpyxl loads it (once: it takes seconds)."""
    return openpyxl.load_workbook(demo_output.output)


def _frame(path, sheet, name):
    """A named output block read back through its defined name."""
    wb = openpyxl.load_workbook(path, read_only=False)
    dn = wb.defined_names[name]
    (title, ref), = dn.destinations
    rows = [[c.value for c in r] for r in wb[title][ref.replace("$", "")]]
    return pd.DataFrame(rows[1:], columns=rows[0])


def test_demo_fills_all_four_value_classes(demo_output):
    matrix = demo_output.results.frames["xv_out_ValueMatrix"].set_index("value_class")
    assert (matrix["customers"] > 0).all(), matrix
    assert set(matrix.index) == {"MVC", "MGC", "Migrator", "BZ"}
    assert not any("PotentialSpend" in w for w in demo_output.results.warnings)


def test_demo_profit_whale_has_the_seed_hump(demo_output):
    """Customer profit from the ABC cost-to-serve model peaks well above 100 % of the total
    and falls back to 100 % (seed 000's 120/20 curve)."""
    frames = demo_output.results.frames
    prof = frames["xv_out_Profitability"]
    assert len(prof) == 2357  # every CDNOW customer is a final cost object
    assert (prof["profit_fac"] < 0).sum() > 500
    curve = frames["xv_out_ProfitWhale"]["pct_profit"].to_numpy()
    assert curve.max() > 120.0
    assert curve[-1] == pytest.approx(100.0, abs=1e-9)
    assert curve.argmax() < len(curve) - 10
    # nothing lost in the allocation: FAC equals every pool's amount
    pools = pd.read_excel(demo_output.book, sheet_name="CostPools", engine="calamine")
    assert prof["fac"].sum() == pytest.approx(pools["Amount"].sum(), rel=1e-9)


def test_output_opens_on_the_summary(demo_output, capsys):
    with zipfile.ZipFile(demo_output.output) as zf:
        wb = zf.read("xl/workbook.xml").decode()
        names = re.findall(r'<sheet [^>]*name="([^"]+)"', wb)
        active = int(re.search(r'activeTab="(\d+)"', wb).group(1))
        assert names[active] == "xv_Summary"
        selected = [n for n in zf.namelist() if n.startswith("xl/worksheets/")
                    and n.endswith(".xml") and b'tabSelected="1"' in zf.read(n)[:3000]]
        assert selected == ["xl/worksheets/xlvalue_xv_summary.xml"]
        summary = zf.read("xl/worksheets/xlvalue_xv_summary.xml").decode()
    # every block and chart has a link, and links point at existing sheets
    locations = re.findall(r'location="([^"]+)"', summary)
    assert len(locations) > 25
    assert all(loc.split("!")[0].strip("'") in names for loc in locations)
    contents = demo_output.results.frames  # the headline figures name the classes
    assert "xv_out_CLV" in contents


def test_long_blocks_have_frozen_headers_and_short_blocks_charts_beside(demo_output):
    with zipfile.ZipFile(demo_output.output) as zf:
        for sheet in ("xv_rfm", "xv_ranking", "xv_clv", "xv_scores", "xv_costing", "xv_runlog"):
            head = zf.read(f"xl/worksheets/xlvalue_{sheet}.xml")[:4000].decode()
            assert 'state="frozen"' in head and 'ySplit="2"' in head, sheet
        drawing = zf.read("xl/drawings/xlvalue_xv_ranking.xml").decode()
    anchors = [(int(c), int(r)) for c, r in re.findall(
        r"<xdr:from><xdr:col>(\d+)</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>(\d+)</xdr:row>",
        drawing)]
    # the decile chart sits on the decile block's header row, right of its 9 columns; the
    # stack beside the long blocks starts below their two frozen rows (title row 3)
    assert anchors[0] == (10, 3)


def test_whole_numbers_without_decimals_and_aligned_headers(demo_output):
    from xlvalue.workbook.cells import column_kind

    assert column_kind(pd.Series([1.0, 2.0, np.nan]), "stage") == "integer"
    assert column_kind(pd.Series([1.5, 2.0]), "x") == "number"
    assert column_kind(pd.Series([1.0, 0.5]), "share_of_value") == "percent"
    with zipfile.ZipFile(demo_output.output) as zf:
        styles = zf.read("xl/styles.xml").decode()
        costing = zf.read("xl/worksheets/xlvalue_xv_costing.xml").decode()
    assert '<alignment horizontal="right"/>' in styles
    xfs = re.findall(r"<xf [^>]*?(?:/>|>.*?</xf>)", styles.split("<cellXfs")[1], re.S)
    right = [i for i, x in enumerate(xfs) if 'horizontal="right"' in x]
    integer = [i for i, x in enumerate(xfs) if 'numFmtId="3"' in x]
    # the allocation's stage column: a right-aligned header over whole numbers (no decimals)
    header = re.search(r'<c r="([A-Z]+)2" t="inlineStr" s="(\d+)"><is><t>stage</t>', costing)
    assert header and int(header.group(2)) in right
    cell = re.search(rf'<c r="{header.group(1)}3" s="(\d+)"><v>1</v>', costing)
    assert cell and int(cell.group(1)) in integer


def test_value_matrix_chart_labels_quadrants_and_crosses_at_thresholds(demo_output):
    from xlvalue.analyses.clv import value_matrix_chart

    frames = demo_output.results.frames
    spec = value_matrix_chart(frames)
    matrix = frames["xv_out_ValueMatrix"]
    assert spec.cross_x == pytest.approx(matrix["actual_threshold"].iloc[0])
    assert spec.cross_y == pytest.approx(matrix["potential_threshold"].iloc[0])
    labelled = {frames["xv_out_CLV"]["value_class"].iloc[r] for r, _ in spec.labels}
    assert labelled == {"MVC", "MGC", "Migrator", "BZ"}
    with zipfile.ZipFile(demo_output.output) as zf:
        chart = next(zf.read(n) for n in zf.namelist() if n.startswith("xl/charts/xlvalue_xv_clv"))
    assert chart.count(b"<c:crossesAt") + chart.count(b"<crossesAt") == 2
    assert chart.count(b'showSerName val="1"') == 4
    assert b'symbol val="circle"' in chart


def test_empty_block_gets_a_note_not_a_chart(tmp_path):
    from xlvalue.pipeline import Results, sheet_outputs
    from xlvalue.workbook.writer import write_outputs

    empty = pd.DataFrame({"frequency_cal": pd.Series([], dtype=float),
                          "actual_holdout": pd.Series([], dtype=float),
                          "expected_holdout": pd.Series([], dtype=float)})
    from xlvalue.analyses.registry import fixed_charts

    CHARTS = fixed_charts()

    results = Results(frames={"xv_out_Holdout": empty},
                      charts={"xv_out_Holdout": CHARTS["xv_out_Holdout"]}, analyses=["clv"])
    book = new_template(tmp_path / "t.xlsx")
    write_outputs(book, tmp_path / "o.xlsx", sheet_outputs(results, pd.DataFrame(
        {"kind": ["run"], "item": ["x"], "value": ["y"]})))
    with zipfile.ZipFile(tmp_path / "o.xlsx") as zf:
        assert not [n for n in zf.namelist() if n.startswith("xl/charts/xlvalue_xv_clv")]
        sheet = zf.read("xl/worksheets/xlvalue_xv_clv.xml").decode()
    assert "no holdout rows" in sheet


# ---- presets: the seeds' worked examples ----------------------------------------------------


@pytest.mark.parametrize("preset", ["convergys", "key-account-17", "delivered-value"])
def test_every_preset_demo_runs(preset, tmp_path, capsys):
    book = tmp_path / f"{preset}.xlsx"
    assert main(["template", "new", str(book), "--preset", preset, "--demo"]) == 0
    assert main(["run", str(book), "--only", "scores", "-q"]) == 0
    assert "xv_Summary" in capsys.readouterr().out


def _scores(preset, tmp_path):
    book = new_template(tmp_path / f"{preset}.xlsx", demo=True, preset=preset)
    return run_workbook(book, only="scores").results.frames["xv_out_Scores"].set_index(
        "customer_id")


def test_convergys_reranks_the_seed_customers(tmp_path):
    """Seed 003: the proxy model ranks A-J first; F rises from 94 (revenue) to 6, I from 58 to
    9, C from 62 to 3, E from 40 to 5, and J falls from 3 to 10."""
    s = _scores("convergys", tmp_path)
    top = list("ABCDEFGHIJ")
    assert s.loc[top, "rank"].tolist() == list(range(1, 11))
    assert s.loc[top, "revenue_rank"].tolist() == [1, 2, 62, 4, 40, 94, 12, 20, 58, 3]
    assert s.loc["F", "rank_change"] == 88 and s.loc["J", "rank_change"] == -7
    assert s["rank"].max() == 100


def test_key_account_17_groups_and_penalties(tmp_path):
    """Seed 000's 17 indicators: contribution 40, characteristics 34, relationship 26 points
    at most; the two penalties subtract between 5 and 17 points."""
    s = _scores("key-account-17", tmp_path)
    assert len(s) == 8
    np.testing.assert_allclose(s["score"], s["positive_points"] + s["penalty"], atol=1e-9)
    assert (s["group: characteristics"] <= 34 + 1e-9).all()
    assert (s["group: relationship"] <= 26 + 1e-9).all()
    assert ((s["penalty"] <= -5 + 1e-9) & (s["penalty"] >= -17 - 1e-9)).all()
    assert s["rank"].idxmax() == "Retail chain"  # worst on nearly every indicator


def test_delivered_value_is_value_minus_cost(tmp_path):
    """Kotler: delivered value = total customer value - total customer cost. Offer B by
    hand: 25 x (7+9+9+6)/10 = 77.5 value points, 25 x (5+3+2+1)/10 = 27.5 cost points."""
    s = _scores("delivered-value", tmp_path)
    assert s.loc["Offer B", "score"] == pytest.approx(77.5 - 27.5, abs=1e-9)
    assert s.loc["Offer A", "score"] == pytest.approx(25 * 3.3 - 25 * 1.7, abs=1e-9)
    assert s.loc["Offer B", "rank"] == 1


# ---- a plain run does what it can --------------------------------------------------------------


def test_half_filled_analysis_is_reported_and_the_rest_runs(tmp_path, capsys):
    book = new_template(tmp_path / "half.xlsx", demo=True)
    wb = openpyxl.load_workbook(book)
    wb["Drivers"]["D3"] = "lots"  # one driver quantity that is not a number
    wb.save(book)
    report = run_workbook(book, tmp_path / "out.xlsx")
    assert "costing" not in report.results.analyses
    assert {"rfm", "clv", "scores", "elasticity"} <= set(report.results.analyses)
    assert any(w.startswith("costing not run:") and "D3" in w for w in report.results.warnings)
    assert main(["check", str(book), "--only", "costing"]) == 2  # asked for: strict
    assert "D3" in capsys.readouterr().err


def _sheet_blocks(wb):
    """Each output sheet's blocks: name -> (sheet, first row, last row) from the defined names."""
    blocks = {}
    for name, dn in wb.defined_names.items():
        if name.startswith("xv_out_"):
            (title, ref), = dn.destinations
            cells = ref.replace("$", "").split(":")
            rows = [int(re.sub(r"[A-Z]", "", c)) for c in cells]
            blocks[name] = (title, rows[0], rows[-1])
    return blocks


def test_every_long_block_starts_at_the_top_with_its_header_frozen(demo_wb):
    from xlvalue.workbook.sheetxml import LONG_BLOCK_ROWS

    wb, blocks = demo_wb, _sheet_blocks(demo_wb)
    long_blocks = {n: b for n, b in blocks.items() if b[2] - b[1] > LONG_BLOCK_ROWS}
    # the summary's contents, the per-customer tables, the curves and the log among them
    assert {"xv_out_Contents", "xv_out_RFM", "xv_out_Whale", "xv_out_RunLog"} <= set(long_blocks)
    for name, (sheet, first, _last) in long_blocks.items():
        assert first == 2, name  # title on row 1, header on row 2
        assert wb[sheet].freeze_panes == "A3", (name, sheet)


def test_text_after_a_number_column_is_indented(demo_output):
    with zipfile.ZipFile(demo_output.output) as zf:
        styles = zf.read("xl/styles.xml").decode()
        clv = zf.read("xl/worksheets/xlvalue_xv_clv.xml").decode()
        summary = zf.read("xl/worksheets/xlvalue_xv_summary.xml").decode()
    xfs = re.findall(r"<xf [^>]*?(?:/>|>.*?</xf>)", styles.split("<cellXfs")[1], re.S)
    indented = {i for i, x in enumerate(xfs) if 'indent="1"' in x}
    # xv_out_Models: std_error (numbers, right-aligned) | fit (text) would touch
    header = re.search(r'<c r="([A-Z]+)(\d+)" t="inlineStr" s="(\d+)"><is><t>fit</t>', clv)
    assert header and int(header.group(3)) in indented
    below = f"{header.group(1)}{int(header.group(2)) + 1}"
    first = re.search(rf'<c r="{below}" t="inlineStr" s="(\d+)">', clv)
    assert first and int(first.group(1)) in indented
    # the summary's go_to links follow its rows column
    link = re.search(r'<c r="([A-Z]+)3" t="inlineStr" s="(\d+)"><is><t>xv_RFM!', summary)
    assert link and int(link.group(2)) in indented
    # a text column after a text column is not indented
    model = re.search(r'<c r="([A-Z]+)\d+" t="inlineStr"( s="(\d+)")?><is><t>bgnbd</t>', clv)
    assert model and (model.group(3) is None or int(model.group(3)) not in indented)


def _needs(text: str, indent: bool) -> float:
    return len(text) + 1 + (2 if indent else 0)


def test_no_text_is_cut_off_by_a_filled_neighbour(demo_wb):
    """Every text cell fits its column, wraps (with a row tall enough), or runs only into
    empty cells; checked on the first 60 rows of every output sheet, as they open."""
    from openpyxl.utils import get_column_letter

    wb = demo_wb
    checked = wrapped = spilled = 0
    for ws in wb.worksheets:
        if not ws.title.startswith("xv_"):
            continue
        width = {c: (ws.column_dimensions[get_column_letter(c)].width or 9.14)
                 for c in range(1, ws.max_column + 2)}
        for row in ws.iter_rows(min_row=1, max_row=60):
            for cell in row:
                if not isinstance(cell.value, str) or not cell.value:
                    continue
                checked += 1
                need = _needs(cell.value, bool(cell.alignment.indent))
                if need <= width[cell.column] + 0.5:
                    continue
                if cell.alignment.wrap_text:
                    wrapped += 1
                    lines = -(-need // max(width[cell.column] - 1, 1))
                    height = ws.row_dimensions[cell.row].height or 15
                    assert height >= 15 * min(lines, 2), (ws.title, cell.coordinate)
                    continue
                spilled += 1
                room, c = width[cell.column], cell.column + 1
                while room < need and c <= ws.max_column:
                    assert ws.cell(cell.row, c).value in (None, ""), (
                        f"{ws.title}!{cell.coordinate} ({cell.value[:30]}...) runs into "
                        f"{get_column_letter(c)}{cell.row}")
                    room += width.get(c, 9.14)
                    c += 1
    assert checked > 500 and wrapped > 0 and spilled > 0


def test_faulty_score_inputs_stop_only_the_scores(tmp_path, capsys):
    """xv_ScoreInputs is read by the scores alone: a bad cell there is reported against the
    scores, and every other analysis of a plain run still runs."""
    book = new_template(tmp_path / "scores_bad.xlsx", demo=True)
    wb = openpyxl.load_workbook(book)
    ws = wb["ScoreInputs"]
    ws["B1"], ws["A2"], ws["B2"] = "Loyalty", "00004", "lots"
    ws.tables["xv_ScoreInputs"].ref = "A1:B2"
    wb.save(book)
    report = run_workbook(book, tmp_path / "out.xlsx")
    assert "scores" not in report.results.analyses
    assert {"rfm", "ranking", "clv", "costing", "elasticity", "bgbb", "sbg"} <= set(
        report.results.analyses)
    assert any(w.startswith("scores not run:") and "B2" in w for w in report.results.warnings)
    assert main(["check", str(book), "--only", "scores"]) == 2  # asked for: strict
    assert "B2" in capsys.readouterr().err


def test_charts_read_cleanly(demo_output):
    """Category labels below the plot (clear of negative bars), lines not smoothed, no legend
    for a single series, shares on 0-100 % axes, whale curves ending at 100 % of customers,
    left-stacked blocks below the frozen rows."""
    with zipfile.ZipFile(demo_output.output) as zf:
        charts = {n: zf.read(n).decode() for n in zf.namelist()
                  if n.startswith("xl/charts/xlvalue_")}
    titled = {re.search(r"<a:t>([^<]+)</a:t>", x).group(1): x for x in charts.values()}
    bars = [x for x in charts.values() if "<barChart>" in x]
    assert bars and all('<catAx>' in x and '<tickLblPos val="low"/>' in x.split("<catAx>")[1]
                        for x in bars)
    lines = [x for x in charts.values() if "<lineChart>" in x]
    assert lines and all('<smooth val="0"/>' in x and '<smooth val="1"/>' not in x
                         for x in lines)
    assert "<legend>" not in titled["Customers per segment"]  # one series
    assert "<legend>" in titled["Tracking: cumulative repeat purchases, actual vs model"]
    survival = titled["Survival by period since acquisition: actual vs sBG"]
    assert 'formatCode="0%"' in survival and '<max val="1"/>' in survival
    whale = titled["Whale curve"]
    assert '<max val="100"/>' in whale and "% of total value" in whale
    pareto = titled["Pareto classes"]
    assert pareto.count('formatCode="0%"') == 2 and pareto.count('<max val="1"/>') == 2


def test_value_matrix_labels_stand_where_the_points_thin_out(demo_output):
    """MVC, MGC and BZ are labelled at customers towards the outer corners of their regions
    (a label in the dense cloud is unreadable), and the axis title counts the customers the
    99th-percentile axes leave out."""
    from xlvalue.analyses.clv import value_matrix_chart

    frames = demo_output.results.frames
    clv = frames["xv_out_CLV"]
    spec = value_matrix_chart({**frames, "xv_out_CLV": clv})
    a, p = clv["clv"].to_numpy(), clv["potential_value"].to_numpy()
    at = {clv["value_class"].iloc[r]: (a[r], p[r]) for r, _ in spec.labels}
    upper = spec.cross_y + 0.6 * (spec.y_max - spec.cross_y)  # the top of the plot
    assert at["MVC"][0] > spec.cross_x + 0.25 * (spec.x_max - spec.cross_x)
    assert at["MVC"][1] > upper and at["MGC"][1] > upper
    assert at["BZ"][0] < 0.6 * spec.x_min and at["BZ"][1] > spec.cross_y
    beyond = int(((a < spec.x_min) | (a > spec.x_max) | (p > spec.y_max)).sum())
    assert beyond > 0 and f"{beyond:,} customer(s) beyond the axes" in spec.x_title
