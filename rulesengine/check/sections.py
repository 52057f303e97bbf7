"""The sections of a rule file that are settings rather than expressions: the paper account,
notification channels, the execution policy, holdings, the hedge band and report times. Each
is checked by its own module; this one hands each its part of the file and where it is."""

from __future__ import annotations

from collections.abc import Callable

from rulesengine.check.hedge import check_hedge
from rulesengine.check.notify import check_notify, check_reports
from rulesengine.check.order import check_order
from rulesengine.check.paper import check_paper
from rulesengine.check.program import Program
from rulesengine.language import yaml_source
from rulesengine.language.model import HoldingsSection, RuleFile

Node = yaml_source.YNode | None


def check_sections(
    model: RuleFile, program: Program, result, root: yaml_source.YNode, at: Callable[[Node], object]
) -> None:
    def key_of(section: str, name: str = "") -> Callable[[str | None], object]:
        return lambda key: at(
            root.key_node(section) if key is None else channel_key(root, name, key, section)
        )

    if model.paper is not None:
        check_paper(model.paper, program, at(root.key_node("paper")), result)
    if model.notify:
        check_notify(
            model.notify,
            program,
            at(root.key_node("notify")),
            result,
            lambda name, key: at(channel_key(root, name, key)),
        )
    if model.order is not None:
        check_order(model.order, program, result, key_of("order"))
    if model.holdings is not None:
        check_holdings(model.holdings, program, result, at(root.key_node("holdings")))
    if model.hedge is not None:
        check_hedge(model.hedge, program, result, key_of("hedge"))
    if model.reports is not None:
        check_reports(model.reports, program, result, key_of("reports"))


def check_holdings(section: HoldingsSection, program: Program, result, where) -> None:
    """`holdings:` (strategy files): whose assigned shares the strategy reads, and whether an
    assignment runs its scan (the names are checked against the rule set at load)."""
    if program.kind != "strategy":
        result.add(
            "E011",
            "`holdings` belongs in a strategy file: it says whose shares the strategy reads",
            where,
        )
        return
    program.holdings_from = tuple(n for n in section.strategies if n != program.name)
    program.on_assignment = section.on_assignment


def channel_key(
    root: yaml_source.YNode, name: str, key: str, section: str = "notify"
) -> yaml_source.YNode | None:
    """Where `notify.NAME.KEY` (or `order.KEY`, `reports.KEY`..., name "") is written, for a
    caret."""
    node = root.get(section)
    node = node.get(name) if node is not None and name else node
    return node.get(key) if node is not None else None
