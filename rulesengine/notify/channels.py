"""Channels as apprise URLs: `${ENV}` secrets read at start, redaction, and one send.

apprise (the `notify` extra) speaks Discord, Slack, Telegram, e-mail, generic JSON webhooks
and some hundred more services; it is imported when a channel is first resolved. A channel's
URL, once its secrets are in, is only ever shown redacted: by apprise's privacy form, with
every secret value read from the environment and any password masked besides."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from rulesengine.check.notify import ENV_REFERENCE
from rulesengine.check.program import Channel

MASK = "***"
ID_PAYLOAD_SCHEMES = {"json", "jsons", "form", "forms", "xml", "xmls"}  # payload fields: `:id=`
NOTIFY_TYPES = {"info": "info", "warning": "warning", "critical": "failure"}


class ChannelError(Exception):
    """A channel that cannot be used: the message names it and says what to do."""


@dataclass
class Resolved:
    name: str
    url: str = field(repr=False)  # with its secrets: never printed, logged or stored
    secrets: tuple[str, ...] = field(repr=False)
    shown: str = ""

    def redact(self, text: str) -> str:
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, MASK)
        return text

    def __str__(self) -> str:
        return f"{self.name} ({self.shown})"


def resolve(
    channels: Iterable[Channel], environ: Mapping[str, str] | None = None
) -> list[Resolved]:
    """Each channel with its secrets read from the environment; ChannelError for a missing
    variable, a missing apprise, or a URL apprise does not recognise."""
    env = os.environ if environ is None else environ
    apprise = _apprise()
    found = []
    for channel in channels:
        secrets = []
        for name in ENV_REFERENCE.findall(channel.url):
            value = env.get(name)
            if not value:
                raise ChannelError(
                    f"notify.{channel.name}: environment variable {name} is not set; export "
                    "it (the channel's secret) or remove the channel"
                )
            secrets.append(value)
        url = ENV_REFERENCE.sub(lambda m: env[m.group(1)], channel.url)
        secrets += _url_secrets(url)
        resolved = Resolved(channel.name, url, tuple(s for s in secrets if len(s) >= 3))
        plugin = apprise.Apprise.instantiate(url)
        if plugin is None:
            raise ChannelError(
                f"notify.{channel.name}: apprise does not recognise "
                f"'{resolved.redact(url)}'; see apprise's list of services for the URL form"
            )
        resolved.shown = resolved.redact(plugin.url(privacy=True))
        found.append(resolved)
    return found


def deliver(channel: Resolved, row_id: str, title: str, body: str, severity: str) -> str | None:
    """Send one notification; None when the channel accepted it, else what went wrong
    (redacted). Never raises for a channel's failure."""
    apprise = _apprise()
    url = channel.url
    if urlsplit(url).scheme.lower() in ID_PAYLOAD_SCHEMES:  # receivers can drop a repeat
        url += ("&" if "?" in url else "?") + f":id={row_id}"
    sender = apprise.Apprise()
    if not sender.add(url):
        return "apprise refused the channel's URL"
    try:
        with apprise.LogCapture(level=logging.WARNING) as logs:
            ok = sender.notify(title=title, body=body, notify_type=NOTIFY_TYPES[severity])
    except Exception as error:  # a plugin's own failure is this channel's, not the engine's
        return channel.redact(f"{type(error).__name__}: {error}")
    if ok:
        return None
    said = " ".join(line.split(" - ", 2)[-1] for line in logs.getvalue().splitlines())
    return channel.redact(said.strip() or "the channel did not accept the notification")


def _url_secrets(url: str) -> list[str]:
    """The password of `scheme://user:password@host` (mailto:// and webhooks carry one)."""
    try:
        password = urlsplit(url).password
    except ValueError:
        return []
    return [password] if password else []


def _apprise() -> Any:
    try:
        import apprise
    except ImportError:
        raise ChannelError(
            "notifications need apprise: pip install 'rulesengine[notify]'"
        ) from None
    return apprise
