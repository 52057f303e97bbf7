"""The error that text-level stages raise: a code, a message and a span, never a traceback."""

from __future__ import annotations

from dataclasses import dataclass

from rulesengine.language.ast import Span


@dataclass
class SourceError(Exception):
    """A problem located in one expression's text; the checker turns it into a Diagnostic."""

    code: str
    message: str
    span: Span
    hint: str | None = None

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"
