"""The evaluation graph: a DAG of column, constant, operator and call nodes, plus named roots."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from rulesengine.compile import ops
from rulesengine.compile import series as series_expr
from rulesengine.compile.series import SeriesExpr


class FieldPath(NamedTuple):
    """A `field` node's payload: which leg's row (None: the row being filtered) and the name."""

    leg: str | None
    name: str


# What a node carries besides its arguments: a constant, a field, or an indicator tree.
Payload = float | bool | str | FieldPath | SeriesExpr | None


@dataclass(frozen=True)
class Node:
    """One operation of the table in compile.ops, with its payload (const, field, series)."""

    op: str
    args: tuple[int, ...] = ()
    value: Payload = None

    @property
    def field_ref(self) -> FieldPath:
        """(leg, name) of a `field` node."""
        if self.op != "field" or not isinstance(self.value, tuple):
            raise TypeError(f"a {self.op} node has no field")
        return FieldPath(*self.value)

    @property
    def series(self) -> SeriesExpr:
        """The indicator tree of a `series` node."""
        if self.op != "series" or not isinstance(
            self.value, series_expr.Bar | series_expr.Lit | series_expr.Apply
        ):
            raise TypeError(f"a {self.op} node is not a series")
        return self.value


@dataclass(frozen=True)
class Clause:
    """One conjunct of a filter, with the text a trader wrote for it (for funnels and explain)."""

    node: int
    label: str
    origin: str


@dataclass(frozen=True)
class Graph:
    nodes: tuple[Node, ...]
    filters: dict[str, tuple[Clause, ...]] = field(
        default_factory=dict
    )  # 'underlying', 'leg:short', 'entry'
    values: dict[str, int] = field(default_factory=dict)  # 'rank', 'prefer:short:key', ...

    def roots(self) -> list[int]:
        ids = [c.node for clauses in self.filters.values() for c in clauses]
        return ids + list(self.values.values())

    def legs_used(self, node_id: int, memo: dict[int, frozenset] | None = None) -> frozenset:
        """Which legs' fields a node reads (None stands for the row being filtered)."""
        memo = {} if memo is None else memo
        if node_id in memo:
            return memo[node_id]
        node = self.nodes[node_id]
        if node.op == "field":
            found = frozenset({node.field_ref[0]})
        else:
            found = (
                frozenset().union(*(self.legs_used(a, memo) for a in node.args))
                if node.args
                else frozenset()
            )
        memo[node_id] = found
        return found

    def reachable(self, *node_ids: int) -> set[int]:
        """Every node the given nodes depend on, themselves included."""
        seen: set[int] = set()
        stack = list(node_ids)
        while stack:
            current = stack.pop()
            if current not in seen:
                seen.add(current)
                stack.extend(self.nodes[current].args)
        return seen

    def fields_used(self, node_id: int) -> list[tuple[str | None, str]]:
        return sorted(
            {
                self.nodes[i].field_ref
                for i in self.reachable(node_id)
                if self.nodes[i].op == "field"
            },
            key=lambda field: (field[0] or "", field[1]),
        )

    def render(self, node_id: int) -> str:
        """A node as readable infix text."""
        node = self.nodes[node_id]
        a = [self.render(i) for i in node.args]
        if node.op == "const":
            return _const_text(node.value)
        if node.op == "field":
            leg, name = node.field_ref
            return f"{leg}.{name}" if leg else name
        if node.op == "series":
            return series_expr.render(node.series)
        return ops.render(node.op, a)


def _const_text(value: object) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, str):
        return repr(value)
    return str(value)


def render_graph(graph: Graph) -> str:
    """The whole graph as text: numbered nodes, then each filter and value root."""
    lines = ["nodes:"]
    for i, node in enumerate(graph.nodes):
        if node.op == "series":
            bars = series_expr.timeframe(node.series)
            detail = f" {series_expr.render(node.series)}" + (f" [{bars} bars]" if bars else "")
        elif node.op == "field":
            detail = f" {tuple(node.field_ref)!r}"
        else:
            detail = "" if node.value is None else f" {node.value!r}"
        args = ", ".join(f"%{a}" for a in node.args)
        lines.append(f"  %{i} = {node.op}{detail}{' (' + args + ')' if args else ''}")
    for name, clauses in graph.filters.items():
        lines.append(f"filter {name}:")
        for clause in clauses:
            lines.append(
                f"  %{clause.node}  {graph.render(clause.node)}"
                f"    # {clause.origin}: {clause.label}"
            )
    for name, node_id in graph.values.items():
        lines.append(f"value {name}: %{node_id}  {graph.render(node_id)}")
    return "\n".join(lines)
