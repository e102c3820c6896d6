"""Figures for the HTML pages, drawn with matplotlib and inlined as SVG (pages stay self-contained)."""

from __future__ import annotations

import base64
import io
import itertools

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

# Okabe-Ito: distinguishable with the common colour-vision deficiencies
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
plt.rcParams.update({"axes.prop_cycle": matplotlib.cycler(color=PALETTE), "font.size": 9,
                     "svg.fonttype": "none", "axes.grid": True, "grid.alpha": 0.3})


def _svg(fig) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buffer.getvalue()
    return text[text.index("<svg"):]


def curves(panels: dict[str, dict[str, list[float]]], *, logy: frozenset[str] = frozenset()) -> str:
    """One panel per metric (title -> {label: per-epoch values}), epochs numbered from 1."""
    return over_band({title: {label: (values, [], []) for label, values in series.items()}
                      for title, series in panels.items()}, logy=logy)


def spanning_decades(panels: dict[str, dict[str, tuple[list[float], list[float], list[float]]]],
                     ratio: float = 100.0) -> frozenset[str]:
    """The panels whose positive values span more than `ratio`: a loss in the thousands beside a band near 1
    leaves the band a flat line at the bottom of a linear axis (a band edge at 0 is left out of the span)."""
    wide = set()
    for title, series in panels.items():
        values = [v for curve in series.values() for part in curve for v in part if v is not None and v > 0]
        if values and max(values) > ratio * min(values):
            wide.add(title)
    return frozenset(wide)


def over_band(panels: dict[str, dict[str, tuple[list[float], list[float], list[float]]]], *,
              logy: frozenset[str] = frozenset()) -> str:
    """Curves over a shaded band: title -> {label: (values, band low, band high)} per epoch, epochs
    numbered from 1, the band in the curve's colour (none where its edges are empty); a band of one
    epoch is drawn as an error bar."""
    fig, axes = plt.subplots(1, len(panels), figsize=(3.6 * len(panels), 2.6), squeeze=False)
    for ax, (title, series) in zip(axes[0], panels.items()):
        for colour, (label, (values, low, high)) in zip(itertools.cycle(PALETTE), series.items()):
            if len(low) > 1:
                ax.fill_between(range(1, len(low) + 1), low, high, color=colour, alpha=0.2, linewidth=0)
            elif low:
                middle = (low[0] + high[0]) / 2
                ax.errorbar([1], [middle], yerr=[[middle - low[0]], [high[0] - middle]], color=colour, alpha=0.4,
                            capsize=8, linewidth=6, linestyle="none")
            ax.plot(range(1, len(values) + 1), values, marker="o", markersize=3, color=colour, label=label)
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.set_xlim(0.5, max((max(len(v[0]), len(v[1])) for v in series.values()), default=1) + 0.5)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
        if title in logy:
            ax.set_yscale("log")
        ax.legend(fontsize=7)
    fig.tight_layout()
    return _svg(fig)


def histograms(panels: dict[str, dict[str, dict[str, list[float]]]]) -> str:
    """Panels of overlaid histograms: title -> {label: {'edges': [...], 'counts': [...]}}."""
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 2.8), squeeze=False)
    for ax, (title, series) in zip(axes[0], panels.items()):
        for label, hist in series.items():
            edges = hist["edges"]
            ax.stairs(hist["counts"], edges, fill=True, alpha=0.6, label=label)
        ax.set_title(title)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return _svg(fig)


def image_grid(rows: dict[str, list]) -> str:
    """Grey images in a grid, one row per label; returned as a PNG data URI (pixels, not vectors)."""
    labels = list(rows)
    columns = max(len(images) for images in rows.values())
    fig, axes = plt.subplots(len(labels), columns, figsize=(1.3 * columns, 1.35 * len(labels)), squeeze=False)
    for r, label in enumerate(labels):
        for c in range(columns):
            ax = axes[r][c]
            ax.axis("off")
            if c < len(rows[label]):
                ax.imshow(rows[label][c], cmap="gray", vmin=0, vmax=255)
        axes[r][0].set_title(label, fontsize=8, loc="left")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def distribution(values: list[float], label: str) -> str:
    """A histogram of one quantity (e.g. the class's grades), 0 to 100 in steps of 10."""
    fig, ax = plt.subplots(figsize=(5, 2.4))
    ax.hist(values, bins=range(0, 101, 10), color=PALETTE[0], edgecolor="white")
    ax.set_xlabel(label)
    ax.set_ylabel("submissions")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    fig.tight_layout()
    return _svg(fig)
