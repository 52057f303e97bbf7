"""Backtests: the engine and paper broker over recorded or synthetic chains, with metrics."""
