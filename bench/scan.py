"""Scan benchmarks. Prints one line per measurement; figures go to the README.

scan N=<n> engine_ms=<x> numpy_ms=<y> ratio=<x/y>      6-clause contract filter vs numpy
scan spx_day strategy=<name> ms=<x>                       full scan of one real SPX day
scan contracts=1000000 underlyings=500 ms=<x>             full vertical scan at scale
scan explain_overhead ratio=<x>                           funnel counting vs plain filter
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.timing import median_ms  # noqa: E402
from rulesengine.check.checker import check_file, check_text  # noqa: E402
from rulesengine.compile import compile_program  # noqa: E402
from rulesengine.data.formats import load_chain  # noqa: E402
from rulesengine.data.synthetic import synthetic_market  # noqa: E402
from rulesengine.runtime.evaluate import run_filter  # noqa: E402
from rulesengine.runtime.view import View  # noqa: E402
from rulesengine.strategies.scan import scan  # noqa: E402
from rulesengine.strategies.universe import scan_universe  # noqa: E402

FILTER = """strategy: bench
legs:
  short: put where dte between 20 and 60 and delta between -0.35 and -0.15
         and open_interest > 100 and bid > 0.5 and ask - bid < 20% of ask and iv < 0.5
exit:
  stop: pnl <= -$100
"""


def by_hand(c):
    dte = (c["expiry"] - c["quote_date"]) / 86400
    mask = (
        (dte >= 20)
        & (dte <= 60)
        & (c["delta"] >= -0.35)
        & (c["delta"] <= -0.15)
        & (c["open_interest"] > 100)
        & (c["bid"] > 0.5)
        & (c["ask"] - c["bid"] < 0.2 * c["ask"])
        & (c["iv"] < 0.5)
    )
    return np.flatnonzero(mask)


def filter_benchmark() -> None:
    program = check_text(FILTER).program
    graph = compile_program(program)
    clauses = graph.filters["leg:short"]
    for n_under in (50, 500):
        chain = synthetic_market(n_under, 2000)
        n = len(chain)

        def engine(chain=chain):
            chain._cache.clear()  # derived columns (dte) are recomputed each time, as by hand
            return run_filter(graph, clauses, View.whole_chain(chain), "bench")[0]

        assert np.array_equal(engine(), by_hand(chain.columns))
        engine_ms = median_ms(engine, 7)
        numpy_ms = median_ms(lambda chain=chain: by_hand(chain.columns), 7)
        print(
            f"scan N={n} engine_ms={engine_ms:.1f} numpy_ms={numpy_ms:.1f}"
            f" ratio={engine_ms / numpy_ms:.2f}"
        )
        funnel_ms = median_ms(
            lambda chain=chain: run_filter(graph, clauses, View.whole_chain(chain), "b", []), 7
        )
        if n_under == 500:
            print(f"scan explain_overhead N={n} ratio={funnel_ms / engine_ms:.2f}")


def spx_benchmark() -> None:
    day = load_chain(ROOT / "data" / "spx" / "spx_sample_ivolatility.csv").on(date(2011, 1, 3))
    for path in sorted((ROOT / "rules").glob("*.yaml")):
        program = check_file(path).program
        if program.kind != "strategy":
            continue
        graph = compile_program(program)

        def run(program=program, graph=graph):
            day._cache.clear()
            return scan(program, graph, day)

        print(
            f"scan spx_day contracts={len(day)} strategy={program.name} ms={median_ms(run, 30):.2f}"
        )


def scale_benchmark() -> None:
    chain = synthetic_market(500, 2000)
    program = check_file(ROOT / "rules" / "bull_put_spread.yaml").program
    program.universe = ()
    graph = compile_program(program)

    def run():
        chain._cache.clear()
        return scan(program, graph, chain)

    found = len(run())
    print(
        f"scan contracts={len(chain)} underlyings=500 strategy=bull_put_spread"
        f" candidates={found} ms={median_ms(run, 5):.0f}"
    )


def universe_benchmark() -> None:
    """The bull put spread over synthetic universes up to 5,000 underlyings (304 contracts
    each over their 8 nearest expiries): the scaling curve of a universe scan."""
    program = check_file(ROOT / "rules" / "bull_put_spread.yaml").program
    program.universe = ()  # every underlying in the data
    graph = compile_program(program)
    for underlyings in (3, 33, 329, 3290, 5000):
        chain = synthetic_market(underlyings, 304, max_expiries=8)

        def run(chain=chain):
            chain._cache.clear()
            chain.memo.clear()
            return scan(program, graph, chain)

        found = len(run())
        print(
            f"scan universe contracts={len(chain)} underlyings={underlyings} "
            f"candidates={found} ms={median_ms(run, 3):.0f}"
        )

    def parted(chain=chain):
        chain._cache.clear()
        chain.memo.clear()
        return scan_universe(program, graph, chain, workers=2)

    print(
        f"scan universe partitioned contracts={len(chain)} workers=2 threads "
        f"candidates={parted().matched} ms={median_ms(parted, 3):.0f}"
    )


if __name__ == "__main__":
    filter_benchmark()
    spx_benchmark()
    scale_benchmark()
    universe_benchmark()
