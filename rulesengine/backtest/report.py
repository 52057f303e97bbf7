"""A backtest's report: metric tables for the terminal, trades as CSV, pictures as PNG (equity
with drawdown, P&L by strategy, trade scatter) and one HTML page bundling them."""

from __future__ import annotations

import csv
import html
import math
from pathlib import Path

from rich.console import Console
from rich.table import Table

from rulesengine.backtest.metrics import CONVENTIONS, drawdowns
from rulesengine.backtest.run import LEDGER_COLUMNS, BacktestResult
from rulesengine.engine.positions import describe_legs

ROWS = [  # (label, attribute, format)
    ("trades", "trades", "{:,.0f}"),
    ("total P&L", "total_pnl", "${:+,.2f}"),
    ("total return", "total_return", "{:+.2%}"),
    ("annualised return", "annualised_return", "{:+.2%}"),
    ("win rate", "win_rate", "{:.1%}"),
    ("average win", "average_win", "${:+,.2f}"),
    ("average loss", "average_loss", "${:+,.2f}"),
    ("profit factor", "profit_factor", "{:.2f}"),
    ("expectancy / trade", "expectancy", "${:+,.2f}"),
    ("Sharpe", "sharpe", "{:.2f}"),
    ("Sortino", "sortino", "{:.2f}"),
    ("max drawdown", "max_drawdown", "{:.2%}"),
    ("max drawdown duration", "max_drawdown_days", "{:,.0f} days"),
    ("average days held", "average_days_held", "{:.1f}"),
    ("exposure", "exposure", "{:.1%}"),
]
PICTURES = ("equity.png", "pnl_by_strategy.png", "trades.png")


def fmt(value: float, pattern: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return pattern.format(value)


def headline(result: BacktestResult) -> str:
    days = result.days
    span = f"{days[0]} .. {days[-1]}, {len(days)} days" if days else "no days"
    generated = (
        "; OPTION PRICES ARE MODEL-GENERATED (synthetic chains), not recorded quotes"
        if result.model_generated
        else ""
    )
    return f"backtest: {result.label} ({span}){generated}"


def metrics_table(result: BacktestResult) -> Table:
    table = Table(title="metrics", title_justify="left")
    table.add_column("")
    table.add_column("overall", justify="right")
    for name in result.by_strategy:
        table.add_column(name, justify="right")
    for label, attr, pattern in ROWS:
        cells = [
            fmt(getattr(m, attr), pattern) for m in (result.overall, *result.by_strategy.values())
        ]
        table.add_row(label, *cells)
    return table


MIN_SAMPLE_DAYS = 60  # below this, ratios of daily returns say little


def short_sample(result: BacktestResult) -> str | None:
    n = len(result.days)
    if n >= MIN_SAMPLE_DAYS:
        return None
    return (
        f"warning: {n} days is too short a sample: Sharpe, Sortino and the annualised return "
        f"are printed but mean little below {MIN_SAMPLE_DAYS} trading days"
    )


def rejections_table(result: BacktestResult) -> Table:
    table = Table(title="why so few trades: what stopped candidates", title_justify="left")
    table.add_column("strategy")
    table.add_column("reason")
    table.add_column("times", justify="right")
    for r in result.rejections:
        table.add_row(r.strategy, r.reason, str(r.count))
    return table


def print_report(console: Console, result: BacktestResult, out_dir: Path | None) -> None:
    console.print(headline(result), markup=False)
    console.print(metrics_table(result))
    console.print(
        f"{len(result.trades)} closed trades, {len(result.still_open)} still open at the end. "
        + CONVENTIONS,
        markup=False,
    )
    warning = short_sample(result)
    if warning:
        console.print(warning, markup=False)
    if result.rejections:
        console.print(rejections_table(result))
    if out_dir is not None:
        console.print(
            f"report: {out_dir / 'report.html'}  (trades.csv, equity.csv, metrics.csv, "
            f"{', '.join(PICTURES)}; journal {out_dir / 'journal.sqlite'})",
            markup=False,
        )


# ---------------------------------------------------------------- files
def write_report(result: BacktestResult, out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    write_trades(result, out_dir / "trades.csv")
    write_equity(result, out_dir / "equity.csv")
    write_metrics(result, out_dir / "metrics.csv")
    draw_pictures(result, out_dir)
    page = out_dir / "report.html"
    page.write_text(render_html(result), encoding="utf-8")
    return page


TRADE_COLUMNS = [
    "strategy", "status", "structure", "quantity", "opened", "closed", "days_held",
    "entry_price", "entry_mid", "exit_price", "exit_mid", "slippage", "fees", "pnl",
    "marked_by_model", "entry", "exit",
]  # fmt: skip


def write_trades(result: BacktestResult, path: Path) -> None:
    """Closed trades with their fills, mids, slippage, fees and P&L as numbers, then the
    positions still open at the end at their last mark (`closed` empty; `pnl` net of fees, so
    the column sums to the account's total P&L)."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(TRADE_COLUMNS)
        for t in result.trades:
            writer.writerow(
                [
                    t.strategy, "closed", t.structure, t.quantity, t.opened.isoformat(),
                    t.closed.isoformat(), f"{t.days_held:.2f}", _price(t.entry_price),
                    _price(t.entry_mid), _price(t.exit_price), _price(t.exit_mid),
                    _money(t.slippage), _money(t.fees), _money(t.pnl), "", t.entry_reason,
                    t.exit_reason,
                ]
            )  # fmt: skip
        for p in result.still_open:
            writer.writerow(
                [
                    p.strategy, "open", describe_legs(p.legs), p.quantity, p.opened_at.isoformat(),
                    "", "", _price(p.entry_price), _price(p.detail.get("entry_mid")), "", "", "",
                    _money(p.fees), _money(_open_pnl(p)),
                    "yes" if p.marked_by_model else "no", "", "",
                ]
            )  # fmt: skip


def _open_pnl(p) -> float | None:
    """An open position's P&L at its last mark, net of the fees paid (like closed trades)."""
    pnl = p.detail.get("pnl")
    if pnl is None:
        return None
    return float(pnl) + float(p.detail.get("realised_part", 0.0)) - p.fees


def write_equity(result: BacktestResult, path: Path) -> None:
    """One row a day: net liq and its parts (net_liq = start + realised + unrealised)."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["date", *LEDGER_COLUMNS])
        for row in result.ledger:
            writer.writerow([row["date"], *(_money(row[c]) for c in LEDGER_COLUMNS)])


def _price(value) -> str:
    return "" if value is None or value != value else f"{float(value):.4f}"


def _money(value) -> str:
    return "" if value is None or value != value else f"{float(value):.2f}"


def write_metrics(result: BacktestResult, path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["metric", "overall", *result.by_strategy])
        for _, attr, _ in ROWS:
            values = [getattr(m, attr) for m in (result.overall, *result.by_strategy.values())]
            writer.writerow([attr, *values])


def draw_pictures(result: BacktestResult, out_dir: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")  # files only: no display on servers or in CI
    import matplotlib.pyplot as plt

    generated = result.model_generated and "model-generated" not in result.label
    note = " (model-generated option prices)" if generated else ""
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(10, 6), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    top.plot(result.days, result.equity, color="#1f77b4")
    top.set_ylabel("net liquidation ($)")
    top.set_title(f"Equity: {result.label}{note}", fontsize=10)
    top.grid(alpha=0.3)
    depth = [-100 * d for d in drawdowns(result.equity)]
    bottom.fill_between(result.days, depth, 0, color="#d62728", alpha=0.4)
    bottom.set_ylabel("drawdown (%)")
    bottom.grid(alpha=0.3)
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(out_dir / "equity.png", dpi=110)
    plt.close(fig)

    names = list(result.by_strategy)
    pnl = [result.by_strategy[n].total_pnl for n in names]
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.bar(names, pnl, color=["#2ca02c" if v >= 0 else "#d62728" for v in pnl])
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_ylabel("realised P&L ($)")
    ax.set_title("P&L by strategy (closed trades)", fontsize=10)
    plt.setp(ax.get_xticklabels(), rotation=20, ha="right")
    fig.tight_layout()
    fig.savefig(out_dir / "pnl_by_strategy.png", dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(8, 5))
    for name in names:
        mine = [t for t in result.trades if t.strategy == name]
        if mine:
            ax.scatter([t.days_held for t in mine], [t.pnl for t in mine], label=name, alpha=0.7)
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_xlabel("days held")
    ax.set_ylabel("P&L per trade ($)")
    ax.set_title("Trades: P&L against days held", fontsize=10)
    if result.trades:
        ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out_dir / "trades.png", dpi=110)
    plt.close(fig)


def render_html(result: BacktestResult) -> str:
    e = html.escape
    names = ["overall", *result.by_strategy]
    head = "".join(f"<th>{e(n)}</th>" for n in names)
    rows = []
    for label, attr, pattern in ROWS:
        cells = "".join(
            f"<td>{e(fmt(getattr(m, attr), pattern))}</td>"
            for m in (result.overall, *result.by_strategy.values())
        )
        rows.append(f"<tr><th>{e(label)}</th>{cells}</tr>")
    trades = "".join(
        "<tr>"
        + "".join(
            f"<td>{e(str(v))}</td>"
            for v in (
                t.strategy,
                t.structure,
                t.opened.strftime("%Y-%m-%d %H:%M"),
                t.closed.strftime("%Y-%m-%d %H:%M"),
                f"{t.days_held:.1f}",
                f"{t.pnl:+,.2f}",
                t.entry_reason,
                t.exit_reason,
            )
        )
        + "</tr>"
        for t in result.trades
    )
    warning = (
        '<p class="warn">Option prices in this backtest are <b>model-generated</b> '
        "(synthetic chains over the real index path), not recorded quotes.</p>"
        if result.model_generated
        else ""
    )
    sample = short_sample(result)
    if sample:
        warning += f'<p class="warn">{e(sample)}</p>'
    stopped = "".join(
        f"<tr><td>{e(r.strategy)}</td><td>{e(r.reason)}</td><td>{r.count}</td></tr>"
        for r in result.rejections
    )
    pictures = "".join(f'<img src="{p}" alt="{p}">' for p in PICTURES)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>rules backtest</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; margin: 1em 0; font-size: 14px; }}
th, td {{ border: 1px solid #ccc; padding: 4px 8px; text-align: right; }}
tbody th, td:first-child {{ text-align: left; }}
.warn {{ background: #fff3cd; padding: 0.6em; border: 1px solid #e0c36a; }}
img {{ max-width: 100%; display: block; margin: 1em 0; }}
</style></head><body>
<h1>{e(headline(result))}</h1>
{warning}
<table><thead><tr><th></th>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>
<p>{e(CONVENTIONS)}</p>
<h2>Why so few trades: what stopped candidates</h2>
<table><thead><tr><th>strategy</th><th>reason</th><th>times</th></tr></thead>
<tbody>{stopped}</tbody></table>
{pictures}
<h2>Trades ({len(result.trades)} closed, {len(result.still_open)} open at the end)</h2>
<table><thead><tr><th>strategy</th><th>structure</th><th>opened</th><th>closed</th>
<th>days</th><th>P&amp;L</th><th>entry</th><th>exit</th></tr></thead>
<tbody>{trades}</tbody></table>
</body></html>
"""
