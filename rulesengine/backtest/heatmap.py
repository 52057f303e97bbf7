"""A sweep's parameter heat map (PNG): the ranking metric for every point of a one- or
two-axis grid, so a robust plateau is told from a lucky spike at a glance."""

from __future__ import annotations

import math
from pathlib import Path


def grid_points(label: str) -> dict[str, float]:
    """`a=1, b=-0.25` (a sweep variant's label) as {axis: value}."""
    out = {}
    for part in label.split(", "):
        name, _, value = part.partition("=")
        out[name] = float(value)
    return out


def write_heatmap(results: list[dict], metric: str, path: Path) -> Path | None:
    """The metric over the grid's first two axes (a third and more: not drawn); None when the
    sweep had no finished variant. Failed variants are blank cells."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display on servers or in CI
    import matplotlib.pyplot as plt
    import numpy as np

    points = [(grid_points(r["label"]), r.get(metric)) for r in results if "error" not in r]
    if not points:
        return None
    axes = list(points[0][0])
    x_axis, y_axis = axes[0], (axes[1] if len(axes) > 1 else None)
    xs = sorted({p[x_axis] for p, _ in points})
    ys = sorted({p[y_axis] for p, _ in points}) if y_axis else [0.0]
    cells = np.full((len(ys), len(xs)), np.nan)
    for p, value in points:
        if isinstance(value, int | float) and math.isfinite(value):
            cells[ys.index(p[y_axis]) if y_axis else 0, xs.index(p[x_axis])] = value
    figure, plot = plt.subplots(figsize=(1.2 + 0.9 * len(xs), 1.4 + 0.6 * len(ys)))
    image = plot.imshow(cells, cmap="RdYlGn", aspect="auto", origin="lower")
    plot.set_xticks(range(len(xs)), [f"{x:g}" for x in xs])
    plot.set_yticks(range(len(ys)), [f"{y:g}" for y in ys] if y_axis else [""])
    plot.set_xlabel(x_axis)
    if y_axis:
        plot.set_ylabel(y_axis)
    for (row, column), value in np.ndenumerate(cells):
        if np.isfinite(value):
            plot.text(column, row, f"{value:.3g}", ha="center", va="center", fontsize=8)
    figure.colorbar(image, label=metric)
    plot.set_title(f"{metric} by parameter")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
