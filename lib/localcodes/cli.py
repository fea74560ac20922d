"""The ``localcodes`` command line (also ``python -m localcodes``).

Subcommands: ``run`` (a chapter at a scale with overrides), ``build`` (the whole book), ``vendor``,
``chapters`` (list them and their parameters), ``record`` (activation tables), ``selectivity`` (unit tables from
activation tables) and ``bench`` (benchmarks). Each subcommand imports what it needs only when it runs.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import sys
from pathlib import Path

from .bench import BENCHMARKS
from .store import SCALES


def _overrides(pairs: list[list[str]] | None) -> dict:
    from .parameters import parse_value

    return {name: parse_value(value) for name, value in (pairs or [])}


def _dask(args: argparse.Namespace) -> None:
    if args.dask:  # checked before any chapter starts; the kernels inherit the address
        from .engine import use_dask

        print(f"sweeps go to the dask scheduler at {use_dask(args.dask)}")


def _cmd_run(args: argparse.Namespace) -> None:
    from .book import run_chapter

    _dask(args)
    path = run_chapter(args.chapter, args.scale, _overrides(args.param), out_dir=args.out)
    print(f"executed → {path}")


def _cmd_build(args: argparse.Namespace) -> None:
    from .book import build

    _dask(args)
    index = build(
        scale=args.scale,
        only=args.only,
        out=args.out,
        execute=not args.no_execute,
        overrides=_overrides(args.param),
        jobs=args.jobs,
    )
    print(f"book built → {index}")


def _cmd_readme(args: argparse.Namespace) -> None:
    from .readme import update_readme

    print(f"updated → {update_readme(args.scale, picture=not args.no_picture)}")


def _cmd_vendor(args: argparse.Namespace) -> None:
    from .book import vendor

    print(f"vendored → {vendor()}")


def _cmd_chapters(args: argparse.Namespace) -> None:
    from .book import chapter_spec, chapters
    from .parameters import describe

    for name in chapters():
        spec = chapter_spec(name)
        print(f"{name}\n{describe(spec.params, spec.presets, spec.choices, spec.ranges)}\n")


def _cmd_record(args: argparse.Namespace) -> None:
    from .record import main as record_main

    record_main(args)


def _cmd_selectivity(args: argparse.Namespace) -> None:
    from .record import selectivity_main

    selectivity_main(args)


def _cmd_bench(args: argparse.Namespace) -> None:
    from .bench import run

    run(args.what, args.rest)


PARAM_HELP = ("override a chapter parameter (repeatable); VALUE is a Python literal (3, 0.5, [100, 500], 'a b'), "
              "true/false/none, or else taken as text; `localcodes chapters` lists what each parameter takes")


DASK_HELP = ("send the chapters' network sweeps (paper 000) to the dask.distributed scheduler at ADDRESS "
             "(tcp://host:8786; start one with `dask scheduler` and `dask worker ADDRESS`); results are stored here")


def version() -> str:
    """The installed library's version (``localcodes --version``)."""
    try:
        return importlib.metadata.version("localcodes")
    except importlib.metadata.PackageNotFoundError:  # run from a source tree that is not installed
        return "unknown (not installed)"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="localcodes", description=__doc__.splitlines()[0])
    p.add_argument("--version", action="version", version=f"localcodes {version()}")
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="execute one chapter at a scale (papermill) into book/")
    r.add_argument("chapter", help="a chapter as `localcodes chapters` lists it (with or without its number)")
    r.add_argument("--scale", default="book", choices=SCALES)
    r.add_argument("-p", "--param", nargs=2, action="append", metavar=("NAME", "VALUE"),
                   help=PARAM_HELP)
    r.add_argument("--out", type=Path, default=None, help="folder for the executed notebook (default book/)")
    r.add_argument("--dask", metavar="ADDRESS", default=None, help=DASK_HELP)
    r.set_defaults(func=_cmd_run)

    b = sub.add_parser("build", help="execute every chapter and build the HTML book")
    b.add_argument("--scale", default="book", choices=SCALES)
    b.add_argument("--only", nargs="*", default=None, help="execute only these chapters")
    b.add_argument("--out", type=Path, default=None, help="build in another folder (sources are copied)")
    b.add_argument("--no-execute", action="store_true", help="reuse the executed notebooks already in book/")
    b.add_argument("-p", "--param", nargs=2, action="append", metavar=("NAME", "VALUE"), help=PARAM_HELP)
    b.add_argument("-j", "--jobs", type=int, default=None,
                   help="chapters executed at once (default: $LOCALCODES_JOBS, else one per core, at most 4)")
    b.add_argument("--dask", metavar="ADDRESS", default=None, help=DASK_HELP)
    b.set_defaults(func=_cmd_build)

    rd = sub.add_parser("readme", help="write what a build found (its stored verdicts) and a chart of the built "
                        "book into README.md (after `make book`)")
    rd.add_argument("--scale", default="book", choices=SCALES)
    rd.add_argument("--no-picture", action="store_true", help="leave the README's picture as it is")
    rd.set_defaults(func=_cmd_readme)

    v = sub.add_parser("vendor", help="copy the pinned JavaScript the offline book needs into static/vendor")
    v.set_defaults(func=_cmd_vendor)

    c = sub.add_parser("chapters", help="list the chapters and the parameters each accepts")
    c.set_defaults(func=_cmd_chapters)

    from .selectivity import cli as tables_cli  # their options; the recording and measuring load when they run

    rec = sub.add_parser("record", help=tables_cli.RECORD_HELP)
    tables_cli.add_record_arguments(rec)
    rec.set_defaults(func=_cmd_record)

    sel = sub.add_parser("selectivity", help=tables_cli.SELECTIVITY_HELP)
    tables_cli.add_selectivity_arguments(sel)
    sel.set_defaults(func=_cmd_selectivity)

    be = sub.add_parser("bench", help="benchmarks: " + " | ".join(BENCHMARKS))
    be.add_argument("what", choices=list(BENCHMARKS))
    be.add_argument("rest", nargs=argparse.REMAINDER, help="benchmark options (see `localcodes bench X --help`)")
    be.set_defaults(func=_cmd_bench)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        args.func(args)
    except ValueError as err:  # bad input: say what is wrong, no traceback
        print(f"localcodes: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
