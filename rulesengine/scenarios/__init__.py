"""Scenario tests of rule outputs: `rules test`."""
