"""Command line: `xlvalue run | check | template new | docs contract`.

User errors print one line each (up to 20) on stderr and exit 2; a run that wrote its results
but left analyses out for faulty inputs exits 3; unexpected failures print a one-line message
and exit 1 (`--debug` shows the traceback).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from xlvalue import __version__
from xlvalue.cli.limits import OUT_OF_MEMORY, out_of_memory
from xlvalue.cli.targets import cannot_write_in, readable, writable
from xlvalue.errors import InputError, XlvalueError

__all__ = ["EXIT_INTERNAL", "EXIT_PARTIAL", "EXIT_USER", "build_parser", "cmd_addin", "cmd_batch",
           "cmd_check", "cmd_docs", "cmd_eval", "cmd_run", "cmd_template", "main", "readable",
           "writable"]

EXIT_USER = 2
EXIT_INTERNAL = 1
EXIT_PARTIAL = 3  # the results were written, but analyses were left out for faulty inputs


def _progress(quiet: bool):
    if quiet:
        return None
    return lambda msg: print(f"  {msg} ...", file=sys.stderr)


def _suffix(path: str | Path, allowed: tuple[str, ...], what: str) -> None:
    """Refuse a target whose extension is not one of `allowed` (a file type never guessed)."""
    if Path(path).suffix.lower() not in allowed:
        raise InputError(f"{path}: the {what} must be a {' or '.join(allowed)} file")


def _quiet_dask() -> None:
    """Dask's own log lines (scheduler and worker start-up) stay out of the console."""
    for name in ("distributed", "distributed.scheduler", "distributed.worker",
                 "distributed.nanny", "distributed.http.proxy", "bokeh"):
        logging.getLogger(name).setLevel(logging.ERROR)


def cmd_run(args: argparse.Namespace) -> int:
    from xlvalue.cli.headless_run import default_output, run_workbook

    book = readable(args.book)
    if args.in_place:
        writable(book, "input workbook (--in-place)")
        bak = book.with_name(book.name + ".bak")
        if not bak.exists():
            writable(bak, "backup")
    else:
        writable(args.output or default_output(book))
    if args.scheduler:
        _quiet_dask()

    report = run_workbook(args.book, args.output, args.only, args.in_place,
                          _progress(args.quiet), args.scheduler, _roots(args))
    if not args.quiet:
        from xlvalue.analyses.summary import headline_text

        print(headline_text(report.summary).to_string(index=False, header=False))
    sys.stdout.flush()
    # warnings go to stderr even with -q: an analysis left out, returns, a FrequencyMode hint
    # (-q silences progress and the summary table, never what a cron job must see)
    for w in report.results.warnings:
        print(f"warning: {w}", file=sys.stderr)
    if not args.quiet:
        if report.backup:
            print(f"backup of the original input: {report.backup}")
    from xlvalue.analyses.summary import SUMMARY_SHEET

    print(f"results written to {report.output} ({report.seconds:.1f} s); it opens on the "
          f"{SUMMARY_SHEET} sheet")
    if report.results.not_run:  # a scheduler must notice: written, but not everything
        from xlvalue.analyses.registry import analysis_names

        left = [a for a in analysis_names() if a in report.results.not_run]
        print(f"error: {Path(args.book).name}: written without "
              f"{', '.join(left)} (faulty inputs, see the warnings above)",
              file=sys.stderr)
        return EXIT_PARTIAL
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
    nothing: a workbook check calls valid is one run will accept. An analysis that a plain
    run would leave out for faulty inputs fails the check (exit 2, one line per problem);
    analyses without input ranges are no fault."""
    from xlvalue.pipeline import compute
    from xlvalue.workbook.reader import WorkbookReader

    reader = WorkbookReader.open(readable(args.book))
    try:
        inputs, results, _ = compute(reader, args.only, file_roots=_roots(args))
    finally:
        reader.close()
    for rec in inputs.records:
        print(f"{rec.name}: {rec.address}, {rec.rows:,} rows")
    sys.stdout.flush()  # the summary stays the last line when both streams go to one log
    faults = results.not_run_lines()
    for w in results.warnings:
        if w not in faults:
            print(f"warning: {w}", file=sys.stderr)
    name = Path(args.book).name
    runs = ", ".join(results.analyses) or "no analysis"
    if faults:
        for line in faults:
            print(f"error: {_named(line, args)}", file=sys.stderr)
        print(f"error: {name}: {len(faults)} analysis(es) cannot run for faulty inputs "
              f"({', '.join(results.not_run)}); {runs} would run", file=sys.stderr)
        return EXIT_USER
    print(f"{name}: inputs are valid ({runs} would run)")
    return 0


def cmd_template(args: argparse.Namespace) -> int:
    from xlvalue.pipeline import new_template

    path = writable(args.path, "template", replace=args.force)
    if path.suffix.lower() not in (".xlsx",):
        raise InputError(f"{path}: templates are .xlsx files")
    from xlvalue.workbook.presets import PRESETS

    if args.preset and args.preset not in PRESETS:
        raise InputError(f"unknown preset '{args.preset}'; choose from {', '.join(PRESETS)}")
    if args.formulas:
        if args.demo or args.preset:
            raise InputError("--formulas builds the formulas workbook; it takes no --demo/--preset")
        from xlvalue.formula_eval.formulas_workbook import build_formulas_workbook

        build_formulas_workbook(path)
        print(f"formulas workbook written to {path} (compute it with: xlvalue eval {path})")
        return 0
    new_template(path, demo=args.demo, preset=args.preset)
    print(f"template written to {path}")
    return 0


def cmd_docs(args: argparse.Namespace) -> int:
    from xlvalue.cli.reference_docs import contract_markdown, udf_markdown

    sys.stdout.write(contract_markdown() if args.docs_command == "contract" else udf_markdown())
    return 0


def cmd_batch(args: argparse.Namespace) -> int:
    """Run every book; exit 2 when a book failed, else 3 when a book is partial (an analysis
    left out for faulty inputs, the rest written), else 0."""
    from xlvalue.cli.batch import console_table, expand, run_batch, write_table

    if args.jobs < 1:
        raise InputError(f"-j/--jobs must be at least 1 (processes), not {args.jobs}")
    books = expand(args.patterns)
    if args.summary:
        _suffix(args.summary, (".csv", ".json"), "summary")
        writable(args.summary, "summary")
    if args.output:
        out = Path(args.output)
        if not out.is_dir():
            if out.exists():
                raise InputError(f"{out}: not a folder")
            if not out.parent.is_dir():
                raise InputError(f"{out}: the output folder does not exist (nor does its parent)")
            why = cannot_write_in(out.parent)
            if why:
                raise InputError(f"{out}: cannot write in the folder {out.parent} ({why})")
            # one new level, made by run_batch once nothing can refuse the batch
        else:
            writable(out / "x.xlsx", "results folder")
    if args.scheduler:
        _quiet_dask()
    summary = run_batch(books, args.jobs, Path(args.output) if args.output else None, args.only,
                        args.scheduler, progress=not args.quiet, file_roots=_roots(args),
                        timeout=args.timeout)
    done = int(summary["status"].isin(["ok", "partial"]).sum())
    partial = int((summary["status"] == "partial").sum())
    if not args.quiet:
        print(console_table(summary))
    if args.summary:
        write_table(summary, Path(args.summary))
        print(f"summary written to {args.summary}")
    partly = f" ({partial} partial)" if partial else ""
    print(f"{done} of {len(summary)} workbook(s) done{partly}, {len(summary) - done} failed")
    if summary.attrs.get("interrupted"):  # SIGTERM or Ctrl-C: what was done is kept, listed
        print("interrupted: the workbooks done before the stop are kept; the others are listed "
              "as not done", file=sys.stderr)
        return 130
    if done < len(summary):
        return EXIT_USER
    return EXIT_PARTIAL if partial else 0


@contextlib.contextmanager
def _no_progress_bars(quiet: bool):
    """The formula engine (the `formulas` package) draws tqdm bars on stderr: with -q they
    are switched off while it computes (tqdm.tqdm, which it calls, made to start disabled)."""
    if not quiet:
        yield
        return
    import tqdm

    real = tqdm.tqdm

    class Silent(real):  # type: ignore[misc, valid-type]
        def __init__(self, *args, **kwargs):
            kwargs["disable"] = True
            super().__init__(*args, **kwargs)

    tqdm.tqdm = Silent
    try:
        yield
    finally:
        tqdm.tqdm = real


def cmd_eval(args: argparse.Namespace) -> int:
    from xlvalue.formula_eval.evaluate import evaluate, write_cached_values, write_report

    book = readable(args.book)
    report = Path(args.report) if args.report else book.with_name(f"{book.stem}_xv_values.csv")
    _suffix(report, (".csv", ".json"), "values report")
    writable(report, "values report")
    if args.output:
        if Path(args.output).resolve() == book.resolve():
            raise InputError(f"{args.output}: -o would overwrite the input")
        if Path(args.output).suffix.lower() != book.suffix.lower():
            raise InputError(f"{args.output}: the copy must keep the input's type ({book.suffix})")
        writable(args.output, "workbook copy")
    with _no_progress_bars(args.quiet):
        results = evaluate(book, _progress(args.quiet))
    write_report(results, report)
    anchors = sum(1 for r in results if r.formula)
    errors = [r for r in results if r.formula and isinstance(r.value, str)
              and r.value.startswith("#")]
    failed = f" ({len(errors)} show an error, listed below)" if errors else ""
    print(f"{anchors} XV_ formula(s) computed{failed}, {len(results)} cell value(s); "
          f"report: {report}")
    for r in errors[:20]:
        print(f"warning: {r.sheet}!{r.cell}: {r.value}", file=sys.stderr)
    # an Excel error code (#VALUE!, #NAME?) means the formula could not be computed at all,
    # and so does a circular reference; other '#XV! ...' cells carry a readable message
    # about their arguments
    from xlvalue.formula_eval.graph import CIRCULAR

    status = EXIT_USER if any(not r.value.startswith("#XV!") or r.value.startswith(CIRCULAR)
                              for r in errors) else 0
    if args.output:
        out = Path(args.output)
        write_cached_values(book, out, results)
        print(f"workbook with cached values written to {out}")
    return status


def cmd_addin(args: argparse.Namespace) -> int:
    from xlvalue.excel import addin

    if args.addin_command == "build":
        _suffix(args.path, (".xlam",), "add-in")
        path = addin.build_addin(writable(args.path, "add-in"))
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


EXAMPLES = """examples:
  xlvalue template new demo.xlsx --demo        a workbook filled with the CDNOW sample
  xlvalue run demo.xlsx                        every analysis with inputs -> demo_xlvalue.xlsx
  xlvalue run demo.xlsx --only rfm,ranking -o out.xlsx
  xlvalue check demo.xlsx                      validate without writing
  xlvalue eval templates/xlvalue_formulas.xlsx compute the XV_ formulas without Excel
  xlvalue batch 'data/*.xlsx' -j 2 -o results/ --summary summary.csv

exit codes: 0 done; 2 user error (nothing written); 3 results written but analyses left out
for faulty inputs (run, batch); 1 internal error; 130 interrupted.

run 'xlvalue COMMAND --help' for the options of one command."""

ANALYSES_MARK = "{analyses}"  # replaced by the registry's names when help is shown
ONLY_HELP = f"comma-separated analyses, any of: {ANALYSES_MARK}"


def _analysis_names() -> str:
    """The registered analyses (imported when needed: the registry loads pandas)."""
    from xlvalue.analyses.registry import analysis_names

    return ", ".join(analysis_names())


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Help whose --only text lists the registry's analyses, looked up only when shown."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = super()._get_help_string(action)
        return text.replace(ANALYSES_MARK, _analysis_names()) if text and ANALYSES_MARK in text \
            else text
ALLOW_HELP = ("a folder besides the workbook's that a TransactionsFile may be read from "
              "(repeatable); other absolute or ../ paths are refused")


def _sub(sub, name: str, help_: str, examples: str = "") -> argparse.ArgumentParser:
    return sub.add_parser(name, help=help_, description=help_[0].upper() + help_[1:] + ".",
                          epilog=f"examples:\n{examples}" if examples else None,
                          formatter_class=_HelpFormatter)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="xlvalue", description="Customer-value analytics on "
                                "named ranges of Excel workbooks, headless.", epilog=EXAMPLES,
                                formatter_class=_HelpFormatter)
    p.add_argument("--version", action="version", version=f"xlvalue {__version__}")
    p.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = _sub(sub, "run", "run the analyses and write the xv_out_* blocks",
               "  xlvalue run book.xlsx                   -> book_xlvalue.xlsx, opens on "
               "xv_Summary\n"
               "  xlvalue run book.xlsx --only clv -o clv.xlsx\n"
               "  xlvalue run book.xlsm --in-place        (keeps book.xlsm.bak)")
    run.add_argument("book", help="input workbook (.xlsx or .xlsm)")
    run.add_argument("-o", "--output", help="output workbook (default: <stem>_xlvalue.<ext>)")
    run.add_argument("--only", help=ONLY_HELP + " (default: every analysis the workbook has "
                     "inputs for; with --only a missing input is an error)")
    run.add_argument("--in-place", action="store_true",
                     help="rewrite the input workbook itself (a .bak copy is kept)")
    run.add_argument("-q", "--quiet", action="store_true", help="print only where results went "
                     "(warnings still go to stderr)")
    run.add_argument("--scheduler", help="Dask scheduler address or 'local': read the "
                     "TransactionsFile in parts on the cluster, each reduced to purchase days")
    run.add_argument("--allow-files-from", action="append", metavar="DIR",
                     help=ALLOW_HELP)
    run.set_defaults(func=cmd_run)

    ev = _sub(sub, "eval", "compute the XV_ formulas of a workbook without Excel",
              "  xlvalue eval templates/xlvalue_formulas.xlsx -o computed.xlsx")
    ev.add_argument("book", help="workbook whose cells call XV_ functions (.xlsx or .xlsm)")
    ev.add_argument("--report", help="values report, .csv or .json (default <stem>_xv_values.csv)")
    ev.add_argument("-o", "--output", help="copy of the workbook with the computed cached values")
    ev.add_argument("-q", "--quiet", action="store_true", help="no progress messages")
    ev.set_defaults(func=cmd_eval)

    batch = _sub(sub, "batch", "run many workbooks in parallel",
                 "  xlvalue batch 'data/**/*.xlsx' -j 2 -o results/ --summary summary.csv\n\n"
                 "status of each workbook (table and --summary):\n"
                 "  ok       every analysis it has inputs for ran\n"
                 "  partial  results written, but an analysis was left out for faulty inputs\n"
                 "           (the error column says which and why)\n"
                 "  error    nothing written for it (the error column says why)\n"
                 "exit code: 2 when a workbook failed, else 3 when one is partial, else 0;\n"
                 "  130 when stopped by SIGTERM or Ctrl-C (books done are kept, the summary is\n"
                 "  written, the others are listed as not done)")
    batch.add_argument("patterns", nargs="+", help="workbooks or glob patterns ('data/**/*.xlsx')")
    batch.add_argument("-j", "--jobs", type=int, default=1, help="parallel processes (default 1)")
    batch.add_argument("-o", "--output", help="folder for the results (default: beside each book)")
    batch.add_argument("--only", help=ONLY_HELP)
    batch.add_argument("--scheduler", help="Dask scheduler address, or 'local' for a LocalCluster")
    batch.add_argument("--summary", help="write a summary to this .csv or .json file")
    batch.add_argument("--timeout", type=float, metavar="SECONDS",
                       help="stop a workbook that runs longer than this, report it and go on "
                            "(local processes only)")
    batch.add_argument("-q", "--quiet", action="store_true", help="no progress bar or table")
    batch.add_argument("--allow-files-from", action="append", metavar="DIR",
                     help=ALLOW_HELP)
    batch.set_defaults(func=cmd_batch)

    check = _sub(sub, "check", "validate the inputs without writing anything",
                 "  xlvalue check book.xlsx --only costing")
    check.add_argument("book", help="workbook to validate (.xlsx or .xlsm)")
    check.add_argument("--only", help=ONLY_HELP + " (whose inputs to check)")
    check.add_argument("--allow-files-from", action="append", metavar="DIR",
                     help=ALLOW_HELP)
    check.set_defaults(func=cmd_check)

    tpl = _sub(sub, "template", "build workbooks from the contract",
               "  xlvalue template new my.xlsx\n  xlvalue template new demo.xlsx --demo\n"
               "  xlvalue template new convergys.xlsx --preset convergys --demo")
    tsub = tpl.add_subparsers(dest="template_command", required=True, metavar="ACTION")
    new = _sub(tsub, "new", "write a new template workbook",
               "  xlvalue template new demo.xlsx --demo --force")
    new.add_argument("path", help="the .xlsx file to write")
    new.add_argument("--demo", action="store_true", help="fill every input table with demo data "
                     "(the CDNOW sample, customers, cost to serve; with --preset its worked "
                     "example)")
    new.add_argument("--force", action="store_true", help="replace an existing file")
    new.add_argument("--formulas", action="store_true", help="write the workbook of XV_ "
                     "formulas over its own data instead (templates/xlvalue_formulas.xlsx)")
    new.add_argument("--preset", help="score model: convergys, key-account-17, delivered-value")
    new.set_defaults(func=cmd_template)

    add = _sub(sub, "addin", "build, install or configure the Excel add-in",
               "  xlvalue addin build templates/xlvalue.xlam\n  xlvalue addin install")
    asub = add.add_subparsers(dest="addin_command", required=True, metavar="ACTION")
    b = asub.add_parser("build", help="build xlvalue.xlam from its text sources")
    b.add_argument("path", nargs="?", default="xlvalue.xlam",
                   help="the .xlam file to write (default xlvalue.xlam)")
    b.set_defaults(func=cmd_addin)
    i = asub.add_parser("install", help="copy the add-in into Excel's startup folder")
    i.add_argument("--addin", help="the .xlam to install (default: the one in the package)")
    i.set_defaults(func=cmd_addin)
    u = asub.add_parser("uninstall", help="remove the add-in from Excel's startup folder")
    u.set_defaults(func=cmd_addin)
    c = asub.add_parser("config", help="write xlvalue.conf (interpreter, UDF module)")
    c.add_argument("--interpreter", help="Python to run (default: this one)")
    c.set_defaults(func=cmd_addin)

    docs = _sub(sub, "docs", "print generated documentation",
                "  xlvalue docs contract > docs/workbook-contract.md")
    dsub = docs.add_subparsers(dest="docs_command", required=True, metavar="TOPIC")
    contract = dsub.add_parser("contract", help="the workbook contract as Markdown")
    contract.set_defaults(func=cmd_docs)
    udf_doc = dsub.add_parser("udfs", help="the XV_ worksheet functions as Markdown")
    udf_doc.set_defaults(func=cmd_docs)
    return p


def _terminate(signum, _frame) -> None:
    """SIGTERM (a cron timeout, kill) unwinds like Ctrl-C, so temporary files are removed."""
    raise KeyboardInterrupt


def _named(line: str, args: argparse.Namespace) -> str:
    """An error line that names the workbook it is about (prefixed when it does not)."""
    book = getattr(args, "book", None)
    if not book or args.command not in ("run", "check", "eval"):
        return line
    name = Path(book).name
    # a line about a target (-o, --report) or an option names what it is about already
    about = tuple(str(v) for v in (getattr(args, k, None) for k in ("output", "report")) if v)
    if name in line or line.startswith(("...", "-", *about)):
        return line
    return f"{name}: {line}"


def main(argv: list[str] | None = None) -> int:
    started = time.monotonic()
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        previous = signal.signal(signal.SIGTERM, _terminate)
    except ValueError:  # not the main thread (embedded): leave signals alone
        previous = None
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            # numpy's floating-point warnings are no message for a user: results that are not
            # finite are reported (or left blank) by the analyses themselves
            warnings.simplefilter("ignore", RuntimeWarning)
            if getattr(args, "only", None) is not None:
                from xlvalue.pipeline import parse_only

                if not args.only.replace(",", " ").strip():
                    raise InputError(f"--only names no analysis; name at least one of "
                                     f"{_analysis_names()}")
                parse_only(args.only)  # an unknown name is refused before any workbook is read
            return args.func(args)
    except InputError as exc:
        for line in exc.summary().splitlines():
            print(f"error: {_named(line, args)}", file=sys.stderr)
        return EXIT_USER
    except XlvalueError as exc:
        print(f"error: {_named(str(exc), args)}", file=sys.stderr)
        return EXIT_USER
    except KeyboardInterrupt:  # what was written is read from the disk (the writer is
        writer = sys.modules.get("xlvalue.workbook.writer")  # loaded if anything was)
        print(writer.interrupted_line(started) if writer else "interrupted; no output was "
              "written", file=sys.stderr)
        return 130
    except OSError as exc:  # a file that vanished or a disk that filled while working
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"error: {exc.strerror or exc}{where}", file=sys.stderr)
        return EXIT_USER
    except Exception as exc:  # last resort: one line, no traceback unless asked
        if out_of_memory(exc):  # a resource limit, not a bug: one line, exit 2 (no traceback)
            print(f"error: {_named(OUT_OF_MEMORY, args)}", file=sys.stderr)
            return EXIT_USER
        if args.debug:
            raise
        print(f"internal error: {type(exc).__name__}: {exc} (rerun with --debug for details)",
              file=sys.stderr)
        return EXIT_INTERNAL
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
