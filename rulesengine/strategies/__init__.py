"""Leg selection (vectorised joins between legs) and multi-leg structure fields."""
