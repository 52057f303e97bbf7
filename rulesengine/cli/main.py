"""Entry point of the `rules` command: lint, scan, graph, names, schema, broker."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import traceback

from brokers.credentials import redact
from brokers.registry import NAMES as BROKERS
from rulesengine import __version__
from rulesengine.cli import paper


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
    scan.add_argument(
        "--workers",
        type=int,
        default=1,
        help="scan the universe in this many partitions by underlying, in parallel, merged",
    )
    scan.add_argument("--width", type=int, help=argparse.SUPPRESS)

    graph = sub.add_parser("graph", help="print the evaluation graph a rule file compiles to")
    graph.add_argument("path")

    names = sub.add_parser("names", help="print every name rules may use")
    names.add_argument("--format", choices=("text", "markdown"), default="text")

    schema = sub.add_parser("schema", help="print the JSON Schema of rule files")
    schema.add_argument("--output", help="write to this file instead of stdout")

    from rulesengine.engine.session import DEFAULT_DATA_DIR

    broker = sub.add_parser("broker", help="broker connectivity")
    broker_sub = broker.add_subparsers(dest="broker_command", required=True)
    check = broker_sub.add_parser("check", help="verify credentials and show the account")
    check.add_argument("--broker", choices=BROKERS, default="paper")
    check.add_argument(
        "--live", action="store_true", help="use live endpoints (also needs RULES_LIVE_TRADING=yes)"
    )
    check.add_argument(
        "--data-dir",
        "--state-dir",  # its old name
        dest="data_dir",
        default=DEFAULT_DATA_DIR,
        help="the data directory whose paper account (paper.json) to open, as `rules run` does",
    )
    add_engine_commands(sub)
    add_test_commands(sub)
    return parser


def add_test_commands(sub) -> None:
    test = sub.add_parser("test", help="snapshot-test what the rules decide on scenarios")
    test.add_argument(
        "paths", nargs="*", default=["rules"], help="rules directories or scenario files"
    )
    test.add_argument("-k", metavar="EXPR", help="only scenarios whose name matches EXPR")
    test.add_argument("--update", action="store_true", help="accept the new decisions")
    test.add_argument(
        "--coverage", action="store_true", help="report clauses no scenario made decisive"
    )
    test.add_argument("-x", "--exitfirst", action="store_true", help="stop at the first failure")
    test.add_argument("-v", "--verbose", action="store_true")

    from rulesengine.cli.backtest import RANKABLE

    backtest = sub.add_parser("backtest", help="replay rules over history and measure them")
    backtest.add_argument("paths", nargs="+", help="rule files or directories")
    backtest.add_argument(
        "--data",
        default="spx",
        help="spx (the real SPX week), a chain file, synthetic (with --from/--to/--seed), "
        "or synthetic:START:END[:SEED[:SYMBOL]] (a SYMBOL other than SPX: an equity-like "
        "stock whose options deliver shares)",
    )
    backtest.add_argument("--from", dest="start", metavar="YYYY-MM-DD", help="first day")
    backtest.add_argument("--to", dest="end", metavar="YYYY-MM-DD", help="last day")
    backtest.add_argument("--seed", type=int, default=0, help="synthetic market seed (0)")
    backtest.add_argument("--at", help="time of day snapshots are stamped at (15:45)")
    backtest.add_argument("--out", default=".rules-data/backtest", help="report and journal")
    backtest.add_argument(
        "--vary",
        action="append",
        metavar="TARGET=VALUES",
        help="sweep, e.g. bull_put_spread.short.delta=-0.30..-0.15:0.05 (repeat for a grid)",
    )
    backtest.add_argument("--rank", choices=RANKABLE, default="sharpe", help="sweep ranking")
    backtest.add_argument("--workers", type=int, default=2, help="sweep processes (2)")
    backtest.add_argument(
        "--runner",
        choices=("local", "dask"),
        default="local",
        help="sweep runner: processes here (local), or Dask (a LocalCluster of --workers "
        "processes, or --scheduler); needs rulesengine[distributed]",
    )
    backtest.add_argument(
        "--scheduler", metavar="tcp://HOST:8786", help="an existing Dask scheduler (--runner dask)"
    )
    backtest.add_argument(
        "--variant-timeout",
        type=float,
        metavar="SECONDS",
        help="a sweep variant past this time stops and is reported as timed out",
    )
    backtest.add_argument(
        "--restart", action="store_true", help="a sweep starts over instead of resuming"
    )
    backtest.add_argument(
        "--search",
        metavar="grid|random:N[:SEED]|bayes:N[:SEED]",
        help="every grid point (grid), N of them at random, or N Bayesian (Optuna TPE) trials",
    )
    backtest.add_argument(
        "--require",
        action="append",
        metavar="METRIC>=VALUE",
        help="a constraint on ranked variants, e.g. trades>=30 or max_drawdown<=15%% (repeat)",
    )
    backtest.add_argument(
        "--walk-forward",
        metavar="train=6m,test=1m",
        help="choose on each training window, score on the next unseen window",
    )
    paper.add_arguments(backtest)


def add_engine_commands(sub) -> None:
    from rulesengine.engine.session import DEFAULT_DATA_DIR

    run = sub.add_parser("run", help="run the engine: a paper replay, or live through a broker")
    run.add_argument("paths", nargs="+", help="rule files or directories")
    run.add_argument("--broker", choices=BROKERS, default="paper")
    run.add_argument(
        "--replay",
        metavar="DATA",
        help="spx (the bundled real SPX week, default), a chain file, or "
        "synthetic:START:END[:SEED]",
    )
    run.add_argument(
        "--live", action="store_true", help="live trading (needs RULES_LIVE_TRADING=yes)"
    )
    run.add_argument("--data-dir", default=DEFAULT_DATA_DIR, help="journal and paper account")
    run.add_argument("--fresh", action="store_true", help="start from an empty data directory")
    run.add_argument("--at", help="time of day replayed daily snapshots are stamped at (15:45)")
    run.add_argument(
        "--bars", action="append", metavar="SYMBOL=SOURCE", help="daily bars, e.g. VIX=arch:vix"
    )
    run.add_argument(
        "--feed",
        metavar="synthetic[:START[:END[:EVERY[:SEED]]]]",
        help="a live paper engine on a synthetic intraday market (a tick every EVERY, 1m by "
        "default) at wall-clock pace or --speed times faster; hot reload on",
    )
    run.add_argument(
        "--speed",
        metavar="N|max",
        help="pace a feed or replay: N market seconds per real second (--feed: 1, replays: "
        "as fast as possible)",
    )
    run.add_argument("--watch", action="store_true", help="hot-reload rules during a replay")
    run.add_argument("--poll", type=float, default=5.0, help="live: seconds between chain fetches")
    paper.add_arguments(run)
    run.add_argument(
        "--clock-start",
        help="rehearsal against a sandbox or local fake: run the session clock from this ISO "
        "time (e.g. 2024-03-12T10:00-04:00); refused with --live",
    )
    run.add_argument(
        "--serve",
        metavar="ADDRESS",
        help="serve the API and dashboard while running: PORT or HOST:PORT (127.0.0.1 unless "
        "given; another address needs RULES_API_TOKEN and RULES_API_CONTROL_TOKEN)",
    )
    run.add_argument("--stop-after", type=int, help=argparse.SUPPRESS)

    for name, text in (
        ("status", "engine status: account, P&L, open positions, locks, recent alerts"),
        ("positions", "open (and with --all, closed) positions from the journal"),
    ):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("--data-dir", default=DEFAULT_DATA_DIR)
        cmd.add_argument("--all", action="store_true", help="list closed positions too")
    why = sub.add_parser("why", help="why a position or candidate was (or was not) traded")
    why.add_argument("subject", help="a position id (p-...), candidate id (c-...) or decision id")
    why.add_argument("--data-dir", default=DEFAULT_DATA_DIR)
    unlock = sub.add_parser("unlock", help="lift a breaker lock by hand")
    unlock.add_argument("name", help="the breaker's name, kill_switch, or 'all'")
    unlock.add_argument("--data-dir", default=DEFAULT_DATA_DIR)
    kill = sub.add_parser("kill", help="kill switch: halt the engine (lift with `rules unlock`)")
    kill.add_argument("--reason", default="kill switch from the command line")
    kill.add_argument("--close-all", action="store_true", help="also close every position")
    kill.add_argument("--data-dir", default=DEFAULT_DATA_DIR)
    report = sub.add_parser("report", help="the daily report or the weekly review of a journal")
    report.add_argument("kind", choices=("daily", "review"))
    report.add_argument("--data-dir", default=DEFAULT_DATA_DIR)
    report.add_argument("--day", help="YYYY-MM-DD: the session (daily) or the week's last day")
    report.add_argument("--rules", nargs="+", help="the rule files, for what the review would test")
    review = sub.add_parser(
        "review", help="the weekly review; --suggest: changes backed by a walk-forward"
    )
    review.add_argument("paths", nargs="+", help="rule files or directories")
    review.add_argument("--data-dir", default=DEFAULT_DATA_DIR)
    review.add_argument("--strategy", help="one strategy (default: each)")
    review.add_argument(
        "--suggest", action="store_true", help="propose changes with out-of-sample evidence"
    )
    review.add_argument("--apply", metavar="ID", help="write a saved suggestion (s-...)")
    review.add_argument("--replay", default="spx", help="the data the sweep replays (spx)")
    review.add_argument(
        "--walk-forward", default="train=6m,test=1m", help="windows (train=6m,test=1m)"
    )
    review.add_argument("--rank", default="sharpe", help="the metric chosen by (sharpe)")
    review.add_argument("--require", action="append", help="a constraint, e.g. trades>=10")
    review.add_argument("--runner", choices=("local", "dask"), default="local")
    review.add_argument("--workers", type=int, default=2)
    review.add_argument(
        "--min-trades",
        type=int,
        help="closed trades in the journal before suggesting (default: the review's 30)",
    )
    serve = sub.add_parser("serve", help="the REST API and dashboard over a journal (read-only)")
    serve.add_argument("--data-dir", default=DEFAULT_DATA_DIR)
    serve.add_argument("address", nargs="?", help="PORT or HOST:PORT (default 127.0.0.1:8765)")
    notify = sub.add_parser("notify", help="the notification outbox: status, --test, --send")
    notify.add_argument("paths", nargs="+", help="the rule files whose `notify:` channels to use")
    notify.add_argument("--data-dir", default=DEFAULT_DATA_DIR)
    notify.add_argument("--test", action="store_true", help="send a test message to each channel")
    notify.add_argument("--send", action="store_true", help="send what is queued, then show")
    notify.add_argument(
        "--retry-failed", action="store_true", help="queue failed notifications again and send"
    )
    notify.add_argument(
        "--timeout", type=float, default=30.0, help="seconds --send may take (default 30)"
    )


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
            print(redact(traceback.format_exc()), file=sys.stderr, end="")
        print(
            f"rules: internal error ({type(error).__name__}: {redact(str(error))}). "
            "Please report it; RULES_DEBUG=1 shows details.",
            file=sys.stderr,
        )
        return 3


# each command's module in rulesengine/cli/, imported when the command runs (start-up stays fast)
MODULES = {
    "lint": "lint", "scan": "scan", "broker": "broker", "run": "run", "backtest": "backtest",
    "test": "scenarios", "status": "journal_view", "positions": "journal_view",
    "why": "journal_view", "unlock": "journal_view", "kill": "journal_view",
    "review": "review", "report": "report", "serve": "serve", "notify": "notify",
}  # fmt: skip


def dispatch(args) -> int:
    if args.command in MODULES:
        module = importlib.import_module(f"rulesengine.cli.{MODULES[args.command]}")
        return module.run(args)
    if args.command == "graph":
        return graph_command(args.path)
    if args.command == "names":
        from rulesengine.check.reference import names_markdown, names_text

        print(names_markdown() if args.format == "markdown" else names_text())
        return 0
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
    from rulesengine.check.summary import print_text
    from rulesengine.cli.lint import lint_paths
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
