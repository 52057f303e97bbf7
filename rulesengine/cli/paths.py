"""Where bundled files live, in a checkout or an installed wheel."""

from __future__ import annotations

from pathlib import Path

from rulesengine.data.bundled import bundled


def bundled_chain() -> Path:
    """The real SPX week (iVolatility sample via sirnfs/OptionSuite, MIT)."""
    return bundled("spx", "spx_sample_ivolatility.csv")
