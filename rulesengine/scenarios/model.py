"""Scenario files (`rules/tests/*.yaml`): the markets, positions and ticks a trader's rules are
tested on. One pydantic model checks them; errors name the file, the scenario and the field."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

DEFAULT_AT = dt.time(15, 45)
LEG = re.compile(
    r"^\s*(?P<side>buy|sell)\s+(?:(?P<count>\d+)\s*x?\s+)?(?P<kind>put|call)\s+"
    r"(?P<strike>\d+(?:\.\d+)?)\s+(?P<expiry>\d{4}-\d{2}-\d{2})\s*$"
)


class ScenarioError(Exception):
    """A scenario file that can't be used; the message says where and what to fix."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Tick(Strict):
    """One replayed snapshot: a quote date, the time it is stamped at, and what goes wrong."""

    date: dt.date
    at: dt.time | None = None
    broker_down: bool = Field(False, description="every broker call fails during this tick")


def _tick_entry(raw):
    """A tick as written: a date, "YYYY-MM-DD HH:MM", or a mapping with `date`, `at`..."""
    if isinstance(raw, dt.datetime):
        return {"date": raw.date(), "at": raw.time()}
    if isinstance(raw, dt.date):
        return {"date": raw}
    if isinstance(raw, str):
        try:
            stamp = dt.datetime.fromisoformat(raw.strip())
        except ValueError:
            raise ValueError(
                f"tick {raw!r}: expected YYYY-MM-DD, 'YYYY-MM-DD HH:MM' or a mapping"
            ) from None
        return {"date": stamp.date(), "at": stamp.time() if len(raw.strip()) > 10 else None}
    return raw


TickEntry = Annotated[Tick, BeforeValidator(_tick_entry)]


class LegSpec(Strict):
    side: str
    count: int
    kind: str
    strike: float
    expiry: dt.date


class PositionSpec(Strict):
    """An open position held before the first tick, as if bought at `price`."""

    strategy: str
    legs: dict[str, str] = Field(description="leg name: 'sell put 1200 2011-02-19'")
    quantity: int = Field(1, gt=0)
    price: float = Field(description="net credit per share at entry (+ received, - paid)")
    opened: dt.date | None = None
    underlying: str | None = Field(
        None, description="whose options the legs are, in a market of several underlyings"
    )

    @field_validator("legs")
    @classmethod
    def _legs_parse(cls, legs: dict[str, str]) -> dict[str, str]:
        for name, text in legs.items():
            if LEG.match(str(text)) is None:
                raise ValueError(
                    f"leg {name}: {text!r} is not '<buy|sell> [N] <put|call> <strike> <YYYY-MM-DD>'"
                    ", e.g. 'sell put 1200 2011-02-19'"
                )
        return legs

    def leg_specs(self) -> dict[str, LegSpec]:
        out = {}
        for name, text in self.legs.items():
            m = LEG.match(text)
            assert m is not None, "validated by the model's leg pattern"
            out[name] = LegSpec(
                side=m["side"],
                count=int(m["count"] or 1),
                kind=m["kind"],
                strike=float(m["strike"]),
                expiry=dt.date.fromisoformat(m["expiry"]),
            )
        return out


class AccountSpec(Strict):
    cash: float = Field(100_000.0, gt=0, description="the paper account's starting cash")
    peak_net_liq: float | None = Field(None, description="high-water mark before the scenario")
    closed_trades: dict[str, list[float]] = Field(
        default_factory=dict,
        description="strategy: realised P&L of its earlier trades, oldest first",
    )


class Scenario(Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
    description: str = ""
    rules: list[str] | None = Field(
        None, description="rule files (relative to the rules directory); default: all of them"
    )
    market: str = Field(
        "spx",
        description="spx, a chain file, synthetic:START:END[:SEED] or "
        "synthetic-intraday:START:END[:EVERY[:SEED]]",
    )
    date: dt.date | None = None
    at: dt.time = DEFAULT_AT
    ticks: list[TickEntry] | Literal["all"] | None = Field(
        None,
        description="the snapshots to replay, in order; 'all' for every quote date (every "
        "snapshot of an intraday market)",
    )
    vix: float | None = Field(None, description="a constant VIX level over the scenario")
    account: AccountSpec = Field(default_factory=AccountSpec)
    positions: list[PositionSpec] = Field(default_factory=list)

    def tick_list(
        self, quote_dates: list[dt.date], times: list[dt.datetime] | None = None
    ) -> list[Tick]:
        """The ticks to run: `ticks:` as written, else `date:`, else the market's first day.
        A tick without its own time runs at the scenario's `at`; `times` are an intraday
        market's snapshot times (New York), which `all` means there."""
        if self.ticks is None:
            return [Tick(date=self.date or quote_dates[0], at=self.at)]
        if self.ticks == "all" and times is not None:
            return [Tick(date=t.date(), at=t.time().replace(tzinfo=None)) for t in times]
        if self.ticks == "all":
            return [Tick(date=d, at=self.at) for d in quote_dates]
        return [t if t.at else t.model_copy(update={"at": self.at}) for t in self.ticks]


class ScenarioFile(Strict):
    scenarios: list[Scenario] = Field(min_length=1)


def is_scenario_file(path: Path) -> bool:
    """A YAML file whose top level has `scenarios:` (other YAML is left alone)."""
    if path.suffix not in {".yaml", ".yml"}:
        return False
    try:
        head = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return re.search(r"^scenarios\s*:", head, re.MULTILINE) is not None


def load_scenarios(path: Path) -> list[Scenario]:
    """Every scenario of one file; ScenarioError says what is wrong and where."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ScenarioError(f"{path}: can't read: {error.strerror}") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise ScenarioError(
            f"{where}: not valid YAML: {getattr(error, 'problem', error)}"
        ) from None
    try:
        parsed = ScenarioFile.model_validate(data)
    except ValidationError as error:
        raise ScenarioError(_describe(path, data, error)) from None
    names = [s.name for s in parsed.scenarios]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ScenarioError(f"{path}: scenario names must be unique: {', '.join(twice)}")
    return parsed.scenarios


def _describe(path: Path, data, error: ValidationError) -> str:
    problems = _relevant(error.errors())
    lines = [f"{path}: {len(problems)} problem(s) in the scenario file"]
    for problem in problems:
        where = list(problem["loc"])
        label = ""
        if len(where) >= 2 and where[0] == "scenarios" and isinstance(where[1], int):
            try:
                label = f"scenario '{data['scenarios'][where[1]].get('name', where[1])}': "
            except (TypeError, KeyError, IndexError, AttributeError):
                label = f"scenario #{where[1] + 1}: "
            where = where[2:]
        field = ".".join(str(part) for part in where if not _type_tag(part))
        message = problem["msg"].removeprefix("Value error, ")
        lines.append(f"  {label}{field or 'file'}: {message}")
    return "\n".join(lines)


def _relevant(problems: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """When one union branch (a list of ticks) explains the mistake, drop the complaint of
    the other (`'all'`): it only says the list isn't the word all."""

    def field(loc) -> tuple:
        return tuple(loc[: next((n for n, x in enumerate(loc) if _type_tag(x)), len(loc))])

    def literal(loc) -> bool:
        return any(str(x).startswith("literal[") for x in loc)

    explained = {field(p["loc"]) for p in problems if not literal(p["loc"])}
    return [p for p in problems if not (literal(p["loc"]) and field(p["loc"]) in explained)]


def _type_tag(part) -> bool:
    """pydantic names the union member it tried (`list[...]`, `literal['all']`): no place
    a trader can find in the file."""
    return isinstance(part, str) and "[" in part
