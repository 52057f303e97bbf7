"""A portfolio file's operations: `notify:` channels (the events each receives, severities)
and `reports:` times.

A channel's URL is an apprise URL. Secrets stay out of rule files: `${ENV_VAR}` is read from
the environment when the engine starts (`rules lint` only checks the reference's shape)."""

from __future__ import annotations

import re
from typing import get_args

from rulesengine.check.diagnostics import did_you_mean
from rulesengine.check.program import WEEKDAYS, Channel, JobTime, Program
from rulesengine.language.model import NotifyChannel, NotifyEvent

EVENTS: tuple[str, ...] = get_args(NotifyEvent)
ENV_REFERENCE = re.compile(r"\$\{([^}]*)\}")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def check_notify(
    section: dict[str, NotifyChannel], program: Program, where, result, at_channel
) -> None:
    """Portfolio files only (E011); each URL has a scheme and well-formed `${VAR}`s (E403)."""
    if program.kind != "portfolio":
        result.add(
            "E011",
            "notification channels are set in a portfolio file, not a strategy",
            where,
            "move `notify:` to a portfolio file such as risk.yaml",
        )
        return
    for name, channel in section.items():
        problem = url_problem(channel.url)
        if problem is not None:
            result.add("E403", f"notify.{name}: {problem[0]}", at_channel(name, "url"), problem[1])
            continue
        events = _events(channel.events)
        if isinstance(events, tuple):
            result.add("E403", f"notify.{name}: {events[0]}", at_channel(name, "events"), events[1])
            continue
        program.notify[name] = Channel(name, channel.url, events, channel.severity)


def _events(asked: list[str] | str) -> frozenset[str] | tuple[str, str]:
    """The events named (`all`: every one), or the problem and its fix."""
    if asked == "all":
        return frozenset(EVENTS)
    names = [asked] if isinstance(asked, str) else asked
    for name in names:
        if name not in EVENTS:
            hint = did_you_mean(name, EVENTS) or f"one of: all, {', '.join(EVENTS)}"
            return f"unknown event '{name}'", hint
    return frozenset(names)


def url_problem(url: str) -> tuple[str, str] | None:
    """What is wrong with a channel URL's shape, and the fix; None when it looks right."""
    for name in ENV_REFERENCE.findall(url):
        if not ENV_NAME.match(name):
            return (
                f"`${{{name}}}` is not an environment variable name",
                "use letters, digits and `_`, e.g. `${DISCORD_WEBHOOK}`",
            )
    if "${" in ENV_REFERENCE.sub("", url):
        return ("an unclosed `${`", "write environment references as `${NAME}`")
    if url.startswith("${") and ENV_REFERENCE.fullmatch(url):
        return None  # the whole URL comes from the environment
    if not SCHEME.match(url):
        return (
            f"'{url[:40]}' is not a URL",
            "start with the service's scheme, e.g. `json://host/path`, `discord://...`, "
            "`mailto://...` (see apprise's list of services)",
        )
    return None


TIME = re.compile(r"^(?:(?P<day>[a-z]+)\s+)?(?P<hour>\d{1,2}):(?P<minute>\d{2})$")


def check_reports(section, program: Program, result, at_key) -> None:
    """`reports:` in a portfolio file: `daily: 16:30`, `review: friday 17:00` (E404)."""
    if program.kind != "portfolio":
        result.add(
            "E011",
            "reports are set in a portfolio file, not a strategy",
            at_key(None),
            "move `reports:` to a portfolio file such as risk.yaml",
        )
        return
    for job, text in section.model_dump(exclude_none=True).items():
        when = job_time(str(text).strip().lower(), weekly=job == "review")
        if isinstance(when, str):
            result.add("E404", f"reports.{job}: {when}", at_key(job), _example(job))
            continue
        program.reports[job] = when


def job_time(text: str, weekly: bool) -> JobTime | str:
    """The time `text` names, or what is wrong with it."""
    match = TIME.match(text)
    if match is None:
        return f"'{text}' is not a time"
    hour, minute, day = int(match["hour"]), int(match["minute"]), match["day"]
    if hour > 23 or minute > 59:
        return f"'{text}' is not a time of day"
    if weekly and day is None:
        return "the weekly review needs a weekday"
    if not weekly and day is not None:
        return "the daily report runs after every session: give only a time"
    if day is not None and day not in WEEKDAYS:
        hint = did_you_mean(day, WEEKDAYS)
        return f"'{day}' is not a weekday" + (f" ({hint})" if hint else "")
    return JobTime(hour, minute, WEEKDAYS.index(day) if day else None)


def _example(job: str) -> str:
    return "e.g. `review: friday 17:00`" if job == "review" else "e.g. `daily: 16:30`"
