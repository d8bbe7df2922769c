"""Command line: `xlvalue run | check | template new | docs contract`.

User errors print one line each (up to 20) on stderr and exit 2; unexpected failures print a
one-line message and exit 1 (`--debug` shows the traceback).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from xlvalue import __version__
from xlvalue.errors import InputError, XlvalueError

__all__ = ["EXIT_INTERNAL", "EXIT_USER", "build_parser", "cmd_addin", "cmd_batch", "cmd_check",
           "cmd_docs", "cmd_eval", "cmd_run", "cmd_template", "main"]

EXIT_USER = 2
EXIT_INTERNAL = 1


def _progress(quiet: bool):
    if quiet:
        return None
    return lambda msg: print(f"  {msg} ...", file=sys.stderr)


def cmd_run(args: argparse.Namespace) -> int:
    from xlvalue.cli.headless_run import run_workbook

    report = run_workbook(args.book, args.output, args.only, args.in_place,
                          _progress(args.quiet), args.scheduler, _roots(args))
    if not args.quiet:
        print(report.summary.to_string(index=False, header=False))
        for w in report.results.warnings:
            print(f"warning: {w}", file=sys.stderr)
        if report.backup:
            print(f"backup of the input: {report.backup}")
    print(f"results written to {report.output} ({report.seconds:.1f} s)")
    return 0


def _roots(args: argparse.Namespace) -> list[Path]:
    """Folders given by --allow-files-from (each must exist)."""
    roots = [Path(r) for r in (getattr(args, "allow_files_from", None) or [])]
    for r in roots:
        if not r.is_dir():
            raise InputError(f"--allow-files-from {r}: not a folder")
    return roots


def cmd_check(args: argparse.Namespace) -> int:
    """Validate by running the very path `run` takes (reading, validating, analysing), writing
    nothing: a workbook check calls valid is one run will accept."""
    from xlvalue.pipeline import compute
    from xlvalue.workbook.reader import WorkbookReader

    reader = WorkbookReader.open(args.book)
    try:
        inputs, results, _ = compute(reader, args.only, file_roots=_roots(args))
    finally:
        reader.close()
    for rec in inputs.records:
        print(f"{rec.name}: {rec.address}, {rec.rows:,} rows")
    for w in results.warnings:
        print(f"warning: {w}", file=sys.stderr)
    print(f"{Path(args.book).name}: inputs are valid ({', '.join(results.analyses)} would run)")
    return 0


def cmd_template(args: argparse.Namespace) -> int:
    from xlvalue.workbook.template import build_template

    path = Path(args.path)
    if path.exists() and not args.force:
        raise InputError(f"{path}: exists; use --force to replace it")
    if path.suffix.lower() not in (".xlsx",):
        raise InputError(f"{path}: templates are .xlsx files")
    from xlvalue.workbook.presets import PRESETS

    if args.preset and args.preset not in PRESETS:
        raise InputError(f"unknown preset '{args.preset}'; choose from {', '.join(PRESETS)}")
    build_template(path, demo=args.demo, preset=args.preset)
    print(f"template written to {path}")
    return 0


def cmd_docs(args: argparse.Namespace) -> int:
    from xlvalue.cli.reference_docs import contract_markdown, udf_markdown

    sys.stdout.write(contract_markdown() if args.docs_command == "contract" else udf_markdown())
    return 0


def cmd_batch(args: argparse.Namespace) -> int:
    from xlvalue.cli.batch import expand, run_batch, write_table

    books = expand(args.patterns)
    summary = run_batch(books, args.jobs, Path(args.output) if args.output else None, args.only,
                        args.scheduler, progress=not args.quiet, file_roots=_roots(args))
    ok = int((summary["status"] == "ok").sum())
    if not args.quiet:
        shown = summary.assign(book=summary["book"].map(lambda b: Path(b).name),
                               seconds=summary["seconds"].round(2))
        print(shown[["book", "status", "seconds", "rows", "error"]].to_string(index=False))
    if args.summary:
        write_table(summary, Path(args.summary))
        print(f"summary written to {args.summary}")
    print(f"{ok} of {len(summary)} workbook(s) done, {len(summary) - ok} failed")
    return 0 if ok == len(summary) else EXIT_USER


def cmd_eval(args: argparse.Namespace) -> int:
    from xlvalue.formula_eval.evaluate import evaluate, write_cached_values, write_report

    book = Path(args.book)
    results = evaluate(book)
    report = Path(args.report) if args.report else book.with_name(f"{book.stem}_xv_values.csv")
    write_report(results, report)
    anchors = sum(1 for r in results if r.formula)
    errors = [r for r in results if r.formula and isinstance(r.value, str)
              and r.value.startswith("#")]
    print(f"{anchors} XV_ formula(s) computed, {len(results)} cell value(s); report: {report}")
    for r in errors[:20]:
        print(f"warning: {r.sheet}!{r.cell}: {r.value}", file=sys.stderr)
    if args.output:
        out = Path(args.output)
        if out.resolve() == book.resolve():
            raise InputError(f"{out}: -o would overwrite the input")
        write_cached_values(book, out, results)
        print(f"workbook with cached values written to {out}")
    return 0


def cmd_addin(args: argparse.Namespace) -> int:
    from xlvalue.excel import addin

    if args.addin_command == "build":
        path = addin.build_addin(args.path)
        print(f"add-in written to {path}")
    elif args.addin_command == "install":
        target, message = addin.install(Path(args.addin) if args.addin else None)
        print(message)
    elif args.addin_command == "uninstall":
        print(addin.uninstall())
    else:
        path = addin.write_config(args.interpreter)
        print(f"configuration written to {path}:")
        print(path.read_text(), end="")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="xlvalue", description="Customer-value analytics on "
                                "named ranges of Excel workbooks, headless.")
    p.add_argument("--version", action="version", version=f"xlvalue {__version__}")
    p.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the analyses and write the xv_out_* blocks")
    run.add_argument("book", help="input workbook (.xlsx or .xlsm)")
    run.add_argument("-o", "--output", help="output workbook (default: <stem>_xlvalue.<ext>)")
    run.add_argument("--only", help="comma-separated analyses: rfm,ranking,clv,scores,costing,"
                     "elasticity (default: every analysis the workbook has inputs for)")
    run.add_argument("--in-place", action="store_true",
                     help="rewrite the input workbook itself (a .bak copy is kept)")
    run.add_argument("-q", "--quiet", action="store_true", help="print only where results went")
    run.add_argument("--scheduler", help="Dask scheduler address or 'local': read the "
                     "TransactionsFile in parts on the cluster, each reduced to purchase days")
    run.add_argument("--allow-files-from", action="append", metavar="DIR",
                     help="a folder besides the workbook's that a TransactionsFile may be read "
                     "from (repeatable); other absolute or ../ paths are refused")
    run.set_defaults(func=cmd_run)

    ev = sub.add_parser("eval", help="compute the XV_ formulas of a workbook without Excel")
    ev.add_argument("book")
    ev.add_argument("--report", help="values report, .csv or .json (default <stem>_xv_values.csv)")
    ev.add_argument("-o", "--output", help="copy of the workbook with the computed cached values")
    ev.set_defaults(func=cmd_eval)

    batch = sub.add_parser("batch", help="run many workbooks in parallel")
    batch.add_argument("patterns", nargs="+", help="workbooks or glob patterns ('data/**/*.xlsx')")
    batch.add_argument("-j", "--jobs", type=int, default=1, help="parallel processes (default 1)")
    batch.add_argument("-o", "--output", help="folder for the results (default: beside each book)")
    batch.add_argument("--only", help="comma-separated analyses")
    batch.add_argument("--scheduler", help="Dask scheduler address, or 'local' for a LocalCluster")
    batch.add_argument("--summary", help="write a CSV or JSON summary to this file")
    batch.add_argument("-q", "--quiet", action="store_true", help="no progress bar or table")
    batch.add_argument("--allow-files-from", action="append", metavar="DIR",
                     help="a folder besides the workbook's that a TransactionsFile may be read "
                     "from (repeatable); other absolute or ../ paths are refused")
    batch.set_defaults(func=cmd_batch)

    check = sub.add_parser("check", help="validate the inputs without writing anything")
    check.add_argument("book")
    check.add_argument("--only", help="analyses whose inputs to check")
    check.add_argument("--allow-files-from", action="append", metavar="DIR",
                     help="a folder besides the workbook's that a TransactionsFile may be read "
                     "from (repeatable); other absolute or ../ paths are refused")
    check.set_defaults(func=cmd_check)

    tpl = sub.add_parser("template", help="build workbooks from the contract")
    tsub = tpl.add_subparsers(dest="template_command", required=True)
    new = tsub.add_parser("new", help="write a new template workbook")
    new.add_argument("path")
    new.add_argument("--demo", action="store_true", help="fill it with the CDNOW sample")
    new.add_argument("--force", action="store_true", help="replace an existing file")
    new.add_argument("--preset", help="score model: convergys, key-account-17, delivered-value")
    new.set_defaults(func=cmd_template)

    add = sub.add_parser("addin", help="build, install or configure the Excel add-in")
    asub = add.add_subparsers(dest="addin_command", required=True)
    b = asub.add_parser("build", help="build xlvalue.xlam from its text sources")
    b.add_argument("path", nargs="?", default="xlvalue.xlam")
    b.set_defaults(func=cmd_addin)
    i = asub.add_parser("install", help="copy the add-in into Excel's startup folder")
    i.add_argument("--addin", help="the .xlam to install (default: the one in the package)")
    i.set_defaults(func=cmd_addin)
    u = asub.add_parser("uninstall", help="remove the add-in from Excel's startup folder")
    u.set_defaults(func=cmd_addin)
    c = asub.add_parser("config", help="write xlvalue.conf (interpreter, UDF module)")
    c.add_argument("--interpreter", help="Python to run (default: this one)")
    c.set_defaults(func=cmd_addin)

    docs = sub.add_parser("docs", help="print generated documentation")
    dsub = docs.add_subparsers(dest="docs_command", required=True)
    contract = dsub.add_parser("contract", help="the workbook contract as Markdown")
    contract.set_defaults(func=cmd_docs)
    udf_doc = dsub.add_parser("udfs", help="the XV_ worksheet functions as Markdown")
    udf_doc.set_defaults(func=cmd_docs)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except InputError as exc:
        for line in exc.summary().splitlines():
            print(f"error: {line}", file=sys.stderr)
        return EXIT_USER
    except XlvalueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USER
    except KeyboardInterrupt:
        print("interrupted; no output was written", file=sys.stderr)
        return 130
    except Exception as exc:  # last resort: one line, no traceback unless asked
        if args.debug:
            raise
        print(f"internal error: {type(exc).__name__}: {exc} (rerun with --debug for details)",
              file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
