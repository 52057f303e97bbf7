"""Typed AST -> ONE evaluation graph; passes are pure functions Graph -> Graph."""

from rulesengine.check.program import Program
from rulesengine.compile.graph import Graph
from rulesengine.compile.lower import lower
from rulesengine.compile.passes import optimise


def compile_program(program: Program) -> Graph:
    """Lower a checked program and run every pass."""
    return optimise(lower(program))
