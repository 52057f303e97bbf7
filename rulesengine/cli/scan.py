"""`rules scan`: rank candidates of rule files over a recorded chain, with funnel and explain."""

from __future__ import annotations

import json
import sys
from datetime import date

from rich.console import Console
from rich.table import Table

from rulesengine.check.diagnostics import did_you_mean
from rulesengine.check.names import FIELDS, FIELDS_BY_NAME, Scope
from rulesengine.check.summary import print_text
from rulesengine.check.types import Kind
from rulesengine.cli import data_warnings
from rulesengine.cli.lint import lint_paths
from rulesengine.cli.paths import bundled_chain
from rulesengine.compile import compile_program
from rulesengine.data.bars import BarsError, load_bars
from rulesengine.data.chain import Chain
from rulesengine.data.formats import ChainFileError, load_chain
from rulesengine.strategies.explain import ExplainError, explain
from rulesengine.strategies.scan import candidate_records, scan
from rulesengine.strategies.universe import scan_universe


class UsageError(Exception):
    pass


def parse_sets(values: list[str]) -> dict[str, float]:
    """Account values a scan has no broker for. Only numeric account and market names can be
    set: a contract, structure or underlying field comes from the chain."""
    out = {}
    for item in values or ():
        name, _, raw = item.partition("=")
        name = name.strip()
        _settable(item, name)
        try:
            out[name] = float(raw.replace("$", "").replace(",", "").rstrip("%")) / (
                100.0 if raw.strip().endswith("%") else 1.0
            )
        except ValueError:
            raise UsageError(
                f"--set {item}: expected name=number, e.g. --set net_liq=250000"
            ) from None
    return out


def _settable(item: str, name: str) -> None:
    settable = sorted(
        f.name
        for f in FIELDS
        if f.scope is Scope.PORTFOLIO and f.type.kind in (Kind.NUMBER, Kind.MONEY, Kind.PERCENT)
    )
    found = FIELDS_BY_NAME.get(name)
    if found is None:
        hint = did_you_mean(name, settable)
        raise UsageError(
            f"--set {item}: unknown name '{name}'"
            + (f"; {hint}" if hint else f"; names that can be set: {', '.join(settable[:12])}, ...")
        )
    if found.name not in settable:
        raise UsageError(
            f"--set {item}: '{name}' is a {found.scope} {found.type} value that comes from the "
            f"chain or the clock; --set overrides numeric account values such as net_liq"
        )


def snapshots(chain: Chain, when: str | None) -> list[Chain]:
    dates = chain.quote_dates()
    if when == "all":
        return [chain.on(d) for d in dates]
    if when is None:
        return [chain.on(dates[0])]
    try:
        wanted = date.fromisoformat(when)
    except ValueError:
        raise UsageError(f"--date {when}: use YYYY-MM-DD or 'all'") from None
    if wanted not in dates:
        listed = ", ".join(d.isoformat() for d in dates[:10])
        raise UsageError(f"--date {when}: the chain has no quotes that day (it has {listed})")
    return [chain.on(wanted)]


def run(args) -> int:
    results = lint_paths(args.paths)
    broken = [r for r in results if r.errors]
    if broken or not results:
        print_text(broken or results, out=sys.stderr)
        return 1
    try:
        chain = load_chain(args.chain or bundled_chain())
        for item in args.bars or ():
            symbol, _, source = item.partition("=")
            if not symbol or not source:
                raise UsageError(
                    f"--bars {item}: expected SYMBOL=SOURCE, e.g. --bars SPX=arch:sp500"
                )
            chain.bars[symbol.strip()] = load_bars(source.strip())
        days = snapshots(chain, args.date)
        scalars = parse_sets(args.set)
    except (ChainFileError, UsageError, BarsError) as error:
        print(f"rules scan: {error}", file=sys.stderr)
        return 2
    data_warnings.show("rules scan", chain)
    programs = [r.program for r in results if r.program and r.program.kind == "strategy"]
    output = []
    console = Console(width=args.width or (None if sys.stdout.isatty() else 132), highlight=False)
    for snapshot in days:
        for program in programs:
            graph = compile_program(program)
            if args.workers > 1:
                if args.explain:
                    print(
                        "rules scan: --explain reads one scan: leave out --workers", file=sys.stderr
                    )
                    return 2
                output.append(_partitioned(program, graph, snapshot, scalars, args))
                if args.format == "table":
                    print_table(console, output[-1])
                continue
            result = scan(program, graph, snapshot, scalars)
            record = {
                "strategy": program.name,
                "file": program.file,
                "date": result.quote_date,
                "candidates": candidate_records(result, program, snapshot, args.limit),
                "matched": len(result),
                "funnel": [
                    {"stage": f.stage, "clause": f.label, "in": f.rows_in, "out": f.rows_out}
                    for f in result.funnel
                ],
                "missing_data": result.missing,
            }
            if result.error:
                record["error"] = result.error
            if args.explain:
                try:
                    verdicts = explain(args.explain, program, graph, snapshot, result, scalars)
                except ExplainError as error:
                    print(f"rules scan --explain: {error}", file=sys.stderr)
                    return 2
                record["explain"] = [
                    {"stage": v.stage, "clause": v.label, "passed": v.passed, "values": v.values}
                    for v in verdicts
                ]
            output.append(record)
            if args.format == "table":
                print_table(console, record)
    if args.format == "json":
        print(json.dumps(output, indent=2, default=str))
    return 0


def _partitioned(program, graph, snapshot, scalars, args) -> dict:
    """The same record as one scan, from the universe scanned in parts (`--workers`)."""
    found = scan_universe(program, graph, snapshot, scalars, args.workers, args.limit)
    dates = snapshot.quote_dates()
    record = {
        "strategy": program.name,
        "file": program.file,
        "date": dates[0].isoformat() if len(dates) == 1 else f"{len(dates)} dates",
        "candidates": found.candidates,
        "matched": found.matched,
        "funnel": found.funnel,
        "missing_data": found.missing,
    }
    if found.error:
        record["error"] = found.error
    return record


def _money(value) -> str:
    return "" if value is None else f"{value:,.2f}"


def print_table(console: Console, record: dict) -> None:
    title = f"{record['strategy']}  {record['date']}  ({record['matched']} matched)"
    table = Table(title=title, title_justify="left", show_lines=False)
    for column in (
        "id",
        "legs",
        "credit",
        "natural",
        "width",
        "max loss",
        "max profit",
        "POP",
        "rank",
    ):
        table.add_column(column, justify="left" if column == "legs" else "right")
    for c in record["candidates"]:
        legs = "\n".join(_leg_text(leg) for leg in c["legs"])
        pop = "" if c["pop"] is None else f"{c['pop']:.1%}"
        rank = "" if c["rank"] is None else f"{c['rank']:.4g}"
        table.add_row(
            c["id"],
            legs,
            _money(c["credit"]),
            _money(c["natural_credit"]),
            _money(c["width"]),
            _money(c["max_loss"]),
            _money(c["max_profit"]),
            pop,
            rank,
        )
    console.print(table)
    if record.get("error"):
        console.print(f"[bold red]error:[/] {record['error']}")
    console.print("funnel:")
    for step in record["funnel"]:
        console.print(
            f"  {step['in']:>6} -> {step['out']:>6}  {step['stage']:<12} {step['clause']}",
            markup=False,
        )
    if record["missing_data"]:
        console.print(
            f"note: {'; '.join(record['missing_data'])}: clauses reading them match nothing",
            markup=False,
        )
    for verdict in record.get("explain", []):
        mark = "pass" if verdict["passed"] else "FAIL"
        values = ", ".join(f"{k}={v}" for k, v in verdict["values"].items())
        console.print(
            f"  [{mark}] {verdict['stage']:<12} {verdict['clause']}    ({values})", markup=False
        )
    console.print()


def _leg_text(leg: dict) -> str:
    side = "-" if leg["side"] == "sell" else "+"
    count = leg["count"]
    if leg["kind"] == "stock":
        return f"{side}{count} {leg['symbol']} stock @ {leg['price']}"
    kind = "P" if leg["kind"] == "put" else "C"
    delta = "" if leg["delta"] is None else f" Δ{leg['delta']:+.2f}"
    return f"{side}{count} {kind}{leg['strike']:g} {leg['expiry']}{delta}"
