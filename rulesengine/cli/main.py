"""Entry point of the `rules` command: lint, scan, graph, names, schema, broker."""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback

from brokers.registry import NAMES as BROKERS
from rulesengine import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rules", description="Options trading rules as text.")
    parser.add_argument("--version", action="version", version=f"rules {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    lint = sub.add_parser("lint", help="check rule files")
    lint.add_argument("paths", nargs="+", help="rule files or directories")
    lint.add_argument("--format", choices=("text", "json", "sarif"), default="text")
    lint.add_argument("--strict", action="store_true", help="exit 1 on warnings too")

    scan = sub.add_parser("scan", help="rank candidates over a recorded chain")
    scan.add_argument("paths", nargs="+", help="rule files or directories")
    scan.add_argument("--chain", help="chain file (default: the bundled real SPX week)")
    scan.add_argument("--date", help="quote date YYYY-MM-DD, or 'all' (default: the first)")
    scan.add_argument("--format", choices=("table", "json"), default="table")
    scan.add_argument("--limit", type=int, default=10, help="candidates to show (default 10)")
    scan.add_argument(
        "--explain", metavar="ID", help="'#N', an OCC symbol, or leg symbols joined by commas"
    )
    scan.add_argument(
        "--set",
        action="append",
        metavar="NAME=VALUE",
        help="account/market value, e.g. net_liq=250000",
    )
    scan.add_argument(
        "--bars",
        action="append",
        metavar="SYMBOL=SOURCE",
        help="daily bar history for an underlying: arch:sp500, bokeh:AAPL or a CSV path",
    )
    scan.add_argument("--width", type=int, help=argparse.SUPPRESS)

    graph = sub.add_parser("graph", help="print the evaluation graph a rule file compiles to")
    graph.add_argument("path")

    names = sub.add_parser("names", help="print every name rules may use")
    names.add_argument("--format", choices=("text", "markdown"), default="text")

    schema = sub.add_parser("schema", help="print the JSON Schema of rule files")
    schema.add_argument("--output", help="write to this file instead of stdout")

    broker = sub.add_parser("broker", help="broker connectivity")
    broker_sub = broker.add_subparsers(dest="broker_command", required=True)
    check = broker_sub.add_parser("check", help="verify credentials and show the account")
    check.add_argument("--broker", choices=BROKERS, default="paper")
    check.add_argument(
        "--live", action="store_true", help="use live endpoints (also needs RULES_LIVE_TRADING=yes)"
    )
    check.add_argument("--state-dir", default=".rules", help="where the paper account lives")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return dispatch(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except Exception as error:  # a bug, not a user error: say so plainly
        if os.environ.get("RULES_DEBUG"):
            traceback.print_exc()
        print(
            f"rules: internal error ({type(error).__name__}: {error}). "
            "Please report it; RULES_DEBUG=1 shows details.",
            file=sys.stderr,
        )
        return 3


def dispatch(args) -> int:
    if args.command == "lint":
        from rulesengine.cli import lint

        return lint.run(args)
    if args.command == "scan":
        from rulesengine.cli import scan

        return scan.run(args)
    if args.command == "graph":
        return graph_command(args.path)
    if args.command == "names":
        from rulesengine.check.reference import names_markdown, names_text

        print(names_markdown() if args.format == "markdown" else names_text())
        return 0
    if args.command == "broker":
        from rulesengine.cli import broker

        return broker.run(args)
    if args.command == "schema":
        from rulesengine.language.model import json_schema

        text = json.dumps(json_schema(), indent=2) + "\n"
        if args.output:
            with open(args.output, "w", encoding="utf-8") as handle:
                handle.write(text)
        else:
            print(text, end="")
        return 0
    return 2


def graph_command(path: str) -> int:
    from rulesengine.cli.lint import lint_paths, print_text
    from rulesengine.compile import compile_program
    from rulesengine.compile.graph import render_graph

    results = lint_paths([path])
    if not results or results[0].program is None:
        print_text(results, out=sys.stderr)
        return 1
    print(render_graph(compile_program(results[0].program)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
