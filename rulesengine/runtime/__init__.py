"""Evaluate a graph over columns (numpy): masks, values and the funnel of each filter."""
