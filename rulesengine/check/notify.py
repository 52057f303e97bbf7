"""The `notify:` section of a portfolio file: channels, the events each receives, severities.

A channel's URL is an apprise URL. Secrets stay out of rule files: `${ENV_VAR}` is read from
the environment when the engine starts (`rules lint` only checks the reference's shape)."""

from __future__ import annotations

import re
from typing import get_args

from rulesengine.check.diagnostics import did_you_mean
from rulesengine.check.program import Channel, Program
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
