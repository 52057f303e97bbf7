"""Pick the adapter for a chain file. Adding a format is one module with `looks_like` and `load`."""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

from rulesengine.data import ivolatility, normalised
from rulesengine.data.chain import Chain
from rulesengine.data.rows import ChainFileError

ADAPTERS = {"ivolatility": ivolatility, "normalised": normalised}
__all__ = ["ADAPTERS", "ChainFileError", "load_chain"]


def load_chain(path: str | Path, format: str | None = None) -> Chain:
    path = Path(path)
    if not path.is_file():
        raise ChainFileError(f"chain file not found: {path}")
    try:
        if format is not None:
            if format not in ADAPTERS:
                raise ChainFileError(
                    f"unknown chain format '{format}' (known: {', '.join(ADAPTERS)})"
                )
            return ADAPTERS[format].load(path)
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8", newline="") as handle:
            header = next(csv.reader(handle), [])
        for adapter in ADAPTERS.values():
            if adapter.looks_like(header):
                return adapter.load(path)
    except ChainFileError:
        raise
    except (ValueError, KeyError, UnicodeDecodeError, OSError, csv.Error, EOFError) as error:
        raise ChainFileError(f"{path}: can't read this chain file ({error})") from None
    raise ChainFileError(f"{path}: unrecognised chain format; known formats: {', '.join(ADAPTERS)}")
