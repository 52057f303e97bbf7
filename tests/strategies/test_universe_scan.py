"""A universe scanned in partitions by underlying finds what one scan finds, ranked the same."""

from __future__ import annotations

import numpy as np

from rulesengine.check.checker import check_file
from rulesengine.compile import compile_program
from rulesengine.data.synthetic import synthetic_market
from rulesengine.strategies.scan import candidate_records, scan
from rulesengine.strategies.universe import partitions, scan_universe
from tests.conftest import ROOT


def legs(record: dict) -> str:
    return "|".join(leg["symbol"] for leg in record["legs"])


def test_partitions_keep_underlyings_whole_and_balanced():
    chain = synthetic_market(7, 304, max_expiries=8)
    parts = partitions(chain, 3)
    assert sorted(np.concatenate(parts).tolist()) == list(range(len(chain)))
    names = chain.columns["underlying_symbol"]
    owners = [set(names[p].tolist()) for p in parts]
    assert all(a.isdisjoint(b) for i, a in enumerate(owners) for b in owners[i + 1 :])
    assert max(map(len, parts)) - min(map(len, parts)) <= 304 * 2


def test_a_partitioned_scan_finds_what_one_scan_finds():
    chain = synthetic_market(40, 304, max_expiries=8)
    program = check_file(ROOT / "rules" / "bull_put_spread.yaml").program
    program.universe = ()
    graph = compile_program(program)
    whole = scan(program, graph, chain)
    records = candidate_records(whole, program, chain, None)
    split = scan_universe(program, graph, chain, workers=3)
    assert split.matched == len(whole) == len(split.candidates) > 0
    assert sorted((r["rank"], legs(r)) for r in records) == sorted(
        (r["rank"], legs(r)) for r in split.candidates
    )
    ranks = [r["rank"] for r in split.candidates]
    assert ranks == sorted(ranks, reverse=True) and split.candidates[0]["id"] == "#1"
    first = {(f.stage, f.label): (f.rows_in, f.rows_out) for f in whole.funnel}
    for step in split.funnel:
        assert first[(step["stage"], step["clause"])] == (step["in"], step["out"]), step
    top = scan_universe(program, graph, chain, workers=3, limit=5)
    assert [legs(r) for r in top.candidates] == [legs(r) for r in split.candidates[:5]]
