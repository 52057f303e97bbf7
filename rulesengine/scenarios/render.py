"""A scenario's decisions as stable, diff-friendly text, and a readable account of what changed.

Each line is `key: value`, indented under the line it belongs to (tick > strategy > scan >
clause). Numbers are rounded to a stated precision: dollars to cents, probabilities and greeks
to three places, rank scores to four significant digits. Position and order ids are hashes that
change with any edit to a rule file, so structures are named by their legs instead."""

from __future__ import annotations

import re

from rulesengine.engine.orders import unit_weight
from rulesengine.engine.positions import Position, PositionLeg, describe_legs
from rulesengine.scenarios.runner import ScenarioRun, TickRecord

INDENT = "  "
MAX_EXPLAINED = 40
CANDIDATE_NUMBERS = ("rank", "credit", "max_loss", "max_profit", "pop", "net_delta", "min_dte")


def render(run: ScenarioRun) -> str:
    s = run.scenario
    lines = [f"scenario: {s.name}"]
    if s.description:
        lines.append(f"description: {s.description}")
    generated = ""
    if run.model_generated and "model-generated" not in run.market:
        generated = " (option prices are model-generated)"
    lines.append(f"market: {run.market}{generated}")
    lines.append(f"rules: {', '.join(run.rules)}")
    names = _position_names(run.positions)
    for tick in run.ticks:
        lines += _tick_lines(tick, names)
    lines.append("end")
    for p in sorted(run.positions, key=lambda p: (p.strategy, names.get(p.id, ""), p.opened_at)):
        if p.status != "unfilled" and p.legs:  # earlier trades seeded by the scenario have none
            lines.append(INDENT + _position_line(p, names))
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- ticks
def _tick_lines(tick: TickRecord, names: dict[str, str]) -> list[str]:
    lines = [f"tick {tick.at.strftime('%Y-%m-%d %H:%M')}"]
    by_strategy: dict[str, list[dict]] = {}
    for d in tick.decisions:
        if d["kind"] == "breaker":
            lines.append(f"{INDENT}breaker {d['subject']}: {d['outcome']} · {d['reason']}")
        else:
            by_strategy.setdefault(d["strategy"], []).append(d)
    for strategy, decisions in by_strategy.items():
        lines.append(INDENT + strategy)
        for d in decisions:
            lines += [INDENT * 2 + line for line in _decision_lines(d, names)]
    for alert in tick.alerts:
        if alert["level"] != "breaker":  # trips are listed above, with their reasons
            lines.append(f"{INDENT}alert {alert['level']}: {_scrub(alert['message'], names)}")
    if tick.orders:
        lines.append(f"{INDENT}orders")
        lines += [INDENT * 2 + _order_line(o, names) for o in tick.orders]
    if len(lines) == 1:
        lines.append(f"{INDENT}nothing decided")
    return lines


def _decision_lines(d: dict, names: dict[str, str]) -> list[str]:
    kind, detail = d["kind"], d.get("detail") or {}
    if kind == "scan":
        lines = [f"scan: {d['outcome']} · {d['reason']}"]
        for f in detail.get("funnel", []):
            lines.append(f"{INDENT}{f['stage']} `{f['clause']}`: {f['in']:,} -> {f['out']:,}")
        return lines
    if kind == "candidate":
        record = detail.get("candidate") or {}
        name = describe_legs(_candidate_legs(record))
        numbers = " · ".join(
            f"{key} {_number(key, record.get(key))}" for key in CANDIDATE_NUMBERS if key in record
        )
        reason = _scrub(d["reason"], names)
        return [f"candidate {name}: {d['outcome']} · {reason}", f"{INDENT}numbers: {numbers}"]
    subject = names.get(d["subject"], d["subject"])
    return [f"{kind} {subject}: {d['outcome']} · {_scrub(d['reason'], names)}"]


def _order_line(o: dict, names: dict[str, str]) -> str:
    subject = names.get(o.get("position_id") or "", o.get("strategy") or "")
    if o["purpose"] == "hedge":
        return _hedge_line(o, subject)
    if o["purpose"] == "stop":
        return _stop_line(o, subject)
    limit = o.get("limit_price")
    signed = ("+" if o.get("effect") == "credit" else "-") + f"{float(limit):.2f}" if limit else "?"
    status = o["status"]
    if o.get("filled"):
        average = float(o.get("average_price") or 0)
        status = f"{status} {o['filled']} @ {average:.2f}"
    reason = f" · {_scrub(o['reason'], names)}" if o.get("reason") else ""
    return (
        f"{o['purpose']} {o['strategy']} {subject}: {o['quantity']} x limit {signed} "
        f"· {status}{reason}"
    )


def _hedge_line(o: dict, subject: str) -> str:
    """A hedge in shares and dollars a share (one share a unit, priced per 100 units)."""
    direction, symbol, _ = str(o["legs"]).split(" ", 2)
    side = "buy" if direction.startswith("+") else "sell"
    limit = float(o.get("limit_price") or 0) * 100
    status = o["status"]
    if o.get("filled"):
        status = f"{status} @ {float(o.get('average_price') or 0) * 100:.2f}"
    trade = f"{side} {o['quantity']} {symbol} at {limit:.2f}"
    return f"hedge {o['strategy']} {subject}: {trade} · {status}"


def _stop_line(o: dict, subject: str) -> str:
    """A protective stop at its trigger in the instrument's own terms (dollars a share, a
    futures contract's points), as the engine placed it."""
    direction, symbol, _ = str(o["legs"]).split(" ", 2)
    per_unit = abs(int(direction)) * unit_weight(symbol)
    trigger = float(o.get("limit_price") or 0) / per_unit
    side = "sell" if direction.startswith("-") else "buy"
    status = o["status"]
    if o.get("filled"):
        status = f"{status} @ {float(o.get('average_price') or 0) / per_unit:.2f}"
    stop = f"{o['quantity']} x {side} stop at {trigger:.2f}"
    return f"stop {o['strategy']} {subject}: {stop} · {status}"


def _position_line(p: Position, names: dict[str, str]) -> str:
    name = names.get(p.id, p.id)
    entry = f"{p.quantity} x entry {p.entry_price:+.2f}"
    if p.status == "closed":
        realised = f"realised {p.realised_pnl:+,.2f}"
        return f"closed {p.strategy} {name}: {entry} · {realised} · {p.exit_reason}"
    return f"{p.status} {p.strategy} {name}: {entry}"


# ---------------------------------------------------------------- naming structures
def _candidate_legs(record: dict) -> list[PositionLeg]:
    out = []
    for leg in record.get("legs", []):
        sign = -1 if leg.get("side") == "sell" else 1
        out.append(
            PositionLeg(
                leg["leg"],
                leg.get("symbol", "") if leg["kind"] == "future" else "",  # a future by its code
                sign * int(leg.get("count") or 1),
                leg["kind"],
                float(leg.get("strike") or 0),
                leg.get("expiry", ""),
            )
        )
    return out


def _position_names(positions: list[Position]) -> dict[str, str]:
    names = {}
    for p in positions:
        names[p.id] = describe_legs(p.legs) if p.legs else p.id
    return names


def _scrub(text: str, names: dict[str, str]) -> str:
    """Position ids inside reasons (`roll 1 of p-...`) become structure names."""
    return re.sub(r"\bp-[0-9a-f]{6,}\b", lambda m: names.get(m.group(0), "a position"), text)


def _number(key: str, value) -> str:
    if value is None:
        return "n/a"
    value = float(value)
    if key == "rank":
        return f"{value:.4g}"
    if key in {"pop", "net_delta"}:
        return f"{value:.3f}"
    if key == "min_dte":
        return f"{value:.0f}"
    return f"{value:.2f}"


# ---------------------------------------------------------------- explaining a change
def explain(old: str, new: str, title: str) -> str:
    """What changed between two renderings, each line naming where: tick > strategy > clause.
    A line whose key changed (a clause rewritten, another structure picked) is paired with the
    line it replaced: the first gone and the first new sibling of the same kind."""
    before, after = _outline(old), _outline(new)
    order = _merged_order(before, after)
    gone = [p for p in before if p not in after and not _under(p, before, after)]
    added = [p for p in after if p not in before and not _under(p, after, before)]
    changes: list[tuple[tuple[float, int], str]] = []
    for path, value in after.items():
        if path in before and before[path] != value:
            changes.append((order[path], f"{_where(path)}: {value}  (was: {before[path]})"))
    for was, now in _pairs(gone, added):
        gone.remove(was)
        added.remove(now)
        line = f"{_where(was)}  ->  {now[-1].split('#')[0]}: {after[now]}  (was: {before[was]})"
        changes.append((min(order[was], order[now]), line))
    changes += [(order[p], f"{_where(p)}: new · {after[p]}".rstrip(" ·")) for p in added]
    changes += [
        (order[p], f"{_where(p)}: gone (was: {before[p]})".replace(" (was: )", "")) for p in gone
    ]
    if not changes:
        return f"{title}: the snapshot differs only in layout"
    changes.sort(key=lambda change: change[0])
    shown = [line for _, line in changes[:MAX_EXPLAINED]]
    more = len(changes) - len(shown)
    tail = [f"  ... and {more} more"] if more > 0 else []
    head = f"{title}: {len(changes)} change(s) in what the rules decided"
    return "\n".join([head, *(f"  {line}" for line in shown), *tail])


def _under(path: tuple, mine: dict, theirs: dict) -> bool:
    """Whether an ancestor of `path` is itself missing from the other side (listed instead)."""
    return any(path[:k] in mine and path[:k] not in theirs for k in range(1, len(path)))


def _pairs(gone: list[tuple], added: list[tuple]) -> list[tuple[tuple, tuple]]:
    pairs, used = [], set()
    for was in gone:
        for now in added:
            same_kind = was[:-1] == now[:-1] and was[-1].split()[0] == now[-1].split()[0]
            if same_kind and now not in used:
                pairs.append((was, now))
                used.add(now)
                break
    return pairs


def _merged_order(before: dict, after: dict) -> dict[tuple, tuple[float, int]]:
    """Where each path sits in the new rendering; a gone one right after its old neighbour."""
    order = {path: (float(n), 0) for n, path in enumerate(after)}
    anchor = -0.5
    for n, path in enumerate(before):
        if path in order:
            anchor = order[path][0]
        else:
            order[path] = (anchor + 0.5, n)
    return order


def _where(path: tuple[str, ...]) -> str:
    return " › ".join(part.split("#")[0] for part in path)


def _outline(text: str) -> dict[tuple[str, ...], str]:
    """Each line's path (its ancestors' keys and its own) -> its value."""
    out: dict[tuple[str, ...], str] = {}
    stack: list[str] = []
    seen: dict[tuple[str, ...], int] = {}
    for raw in text.splitlines():
        if not raw.strip():
            continue
        depth = (len(raw) - len(raw.lstrip(" "))) // len(INDENT)
        key, value = split_key(raw.strip())
        stack = stack[:depth]
        path = (*stack, key)
        n = seen.get(path, 0)
        seen[path] = n + 1
        if n:
            path = (*stack, f"{key}#{n + 1}")
        out[path] = value
        stack.append(path[-1])
    return out


def split_key(line: str) -> tuple[str, str]:
    """`key: value`, where a `: ` inside backticks belongs to the key."""
    ticks = False
    for i, char in enumerate(line):
        if char == "`":
            ticks = not ticks
        elif not ticks and line.startswith(": ", i):
            return line[:i], line[i + 2 :]
    return line, ""
