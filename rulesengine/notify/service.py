"""`rules run`'s notifications: the rules' channels resolved, a dispatcher sending, and the
reload hook that follows channel changes (a change that cannot resolve is refused)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from rulesengine.check.program import Program
from rulesengine.notify.channels import ChannelError, Resolved, deliver, resolve
from rulesengine.notify.dispatcher import Dispatcher, Send
from rulesengine.notify.notices import channels_of

DRAIN_SECONDS = 5.0  # at the end of a run: what is due goes out before the summary


class Notifier:
    def __init__(
        self,
        journal_path: Path,
        programs: Iterable[Program],
        environ: Mapping[str, str] | None = None,
        send: Send | None = None,
    ):
        """ChannelError when a channel cannot be used (a missing variable, an unknown URL)."""
        self.environ = environ
        self.channels = resolve(channels_of(programs), environ)
        self.dispatcher = Dispatcher(journal_path, self.channels, send=send or deliver)
        self._next: list[Resolved] | None = None

    def describe(self) -> str:
        if not self.channels:
            return "notify: no channels (add `notify:` to a portfolio file)"
        listed = ", ".join(str(c) for c in self.channels)
        return f"notify: {len(self.channels)} channel(s): {listed}"

    def start(self) -> Notifier:
        self.dispatcher.start()
        return self

    def vet(self, programs: Iterable[Program]) -> list[str]:
        """Before a reload swaps: the new rules' channels, or why they cannot be used."""
        try:
            self._next = resolve(channels_of(programs), self.environ)
        except ChannelError as error:
            self._next = None
            return [str(error)]
        return []

    def apply(self) -> None:
        """After a reload swapped: follow the new channels."""
        if self._next is not None:
            self.channels, self._next = self._next, None
            self.dispatcher.update(self.channels)

    def stop(self) -> str:
        waiting = self.dispatcher.stop(drain=DRAIN_SECONDS if self.channels else 0.0)
        line = f"notify: {self.dispatcher.sent} sent"
        if waiting:
            line += f", {waiting} still queued (sent by the next `rules run` or `rules notify`)"
        for name, error in sorted(self.dispatcher.errors.items()):
            line += f"; {name}: {error}"
        return line
