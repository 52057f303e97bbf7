"""A sweep's parameter heat map (PNG, and a self-contained HTML table with each cell's value
and colour): the ranking metric for every point of a one- or two-axis grid, so a robust
plateau is told from a lucky spike at a glance."""

from __future__ import annotations

import html
import math
from pathlib import Path


def grid_points(label: str) -> dict[str, float]:
    """`a=1, b=-0.25` (a sweep variant's label) as {axis: value}."""
    out = {}
    for part in label.split(", "):
        name, _, value = part.partition("=")
        out[name] = float(value)
    return out


def heat_cells(results: list[dict], metric: str):
    """(x axis, y axis or None, xs, ys, cells[y][x]) of the metric; None without a result."""
    import numpy as np

    if all("error" in r for r in results):
        return None
    # failed variants stay in the grid, as blank cells
    points = [
        (grid_points(r["label"]), r.get(metric) if "error" not in r else None) for r in results
    ]
    axes = list(points[0][0])
    x_axis, y_axis = axes[0], (axes[1] if len(axes) > 1 else None)
    xs = sorted({p[x_axis] for p, _ in points})
    ys = sorted({p[y_axis] for p, _ in points}) if y_axis else [0.0]
    cells = np.full((len(ys), len(xs)), np.nan)
    for p, value in points:
        if isinstance(value, int | float) and math.isfinite(value):
            cells[ys.index(p[y_axis]) if y_axis else 0, xs.index(p[x_axis])] = value
    return x_axis, y_axis, xs, ys, cells


def write_heatmap(results: list[dict], metric: str, path: Path) -> Path | None:
    """The metric over the grid's first two axes (a third and more: not drawn) as PNG, and
    beside it the same as HTML; None when the sweep had no finished variant. Failed variants
    are blank cells."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display on servers or in CI
    import matplotlib.pyplot as plt
    import numpy as np

    found = heat_cells(results, metric)
    if found is None:
        return None
    x_axis, y_axis, xs, ys, cells = found
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
    path.with_suffix(".html").write_text(heat_html(metric, *found), encoding="utf-8")
    return path


def heat_html(metric: str, x_axis: str, y_axis: str | None, xs, ys, cells) -> str:
    """The grid as an HTML table, red (worst) to green (best), highest y row first."""
    import numpy as np

    finite = cells[np.isfinite(cells)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    head = "".join(f"<th>{x:g}</th>" for x in xs)
    rows = []
    for row in range(len(ys) - 1, -1, -1):
        label = f"{ys[row]:g}" if y_axis else ""
        tds = "".join(_cell(cells[row, col], low, high) for col in range(len(xs)))
        rows.append(f"<tr><th>{label}</th>{tds}</tr>")
    title = html.escape(f"{metric} by parameter")
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{title}</title><style>{STYLE}</style></head><body><h1>{title}</h1>"
        f"<table><caption>{html.escape(y_axis or '')} (rows) by {html.escape(x_axis)} "
        f"(columns)</caption><thead><tr><th></th>{head}</tr></thead><tbody>{''.join(rows)}"
        "</tbody></table></body></html>\n"
    )


def _cell(value: float, low: float, high: float) -> str:
    if not math.isfinite(value):
        return "<td class='failed'>-</td>"
    share = 0.5 if high == low else (value - low) / (high - low)
    hue = round(120 * share)  # 0 red .. 120 green
    return f"<td style='background:hsl({hue},65%,72%)'>{value:.4g}</td>"


STYLE = (
    "body{font:14px system-ui,sans-serif;margin:24px}table{border-collapse:collapse}"
    "th,td{padding:6px 10px;text-align:center;border:1px solid #fff}"
    "caption{caption-side:bottom;color:#555;padding-top:6px}.failed{background:#eee}"
)
