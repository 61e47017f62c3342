"""The audit note's charts, drawn with matplotlib as SVG files beside the note (Obsidian shows `![[x.svg]]`):
growth of notes and links, the share of orphans, clusters with the new ones marked, the notes most linked to this
month."""

from __future__ import annotations

import io
from datetime import date, timedelta
from typing import Any

from graph import LinkGraph
from graph.clusters import Cluster

RECENT_DAYS = 30


def _figure(width: float = 7.0, height: float = 3.0):
    import matplotlib

    matplotlib.use("Agg")  # files only: no display
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 9, "svg.fonttype": "none", "font.family": "DejaVu Sans"})
    return plt, *plt.subplots(figsize=(width, height))


def _svg(plt, fig) -> str:
    buf = io.StringIO()
    fig.tight_layout()
    fig.savefig(buf, format="svg")
    plt.close(fig)
    return buf.getvalue()


def growth(history: list[dict[str, Any]], words: dict[str, str]) -> str:
    plt, fig, ax = _figure()
    days = [date.fromisoformat(h["date"]) for h in history]
    ax.plot(days, [h["notes"] for h in history], label=words["chart_notes"], color="#4e79a7")
    ax.plot(days, [h["links"] for h in history], label=words["chart_links"], color="#f28e2b")
    fig.suptitle(words["chart_growth"], fontsize=10)
    ax.legend(loc="upper left")
    ax.grid(alpha=0.3)
    fig.autofmt_xdate()
    return _svg(plt, fig)


def orphans(history: list[dict[str, Any]], words: dict[str, str]) -> str:
    plt, fig, ax = _figure(height=2.6)
    rows = [h for h in history if h["notes"]]
    ax.plot([date.fromisoformat(h["date"]) for h in rows], [100 * h["orphans"] / h["notes"] for h in rows],
            color="#e15759")
    ax.set_ylabel("%")
    fig.suptitle(words["chart_orphans"], fontsize=10)
    ax.grid(alpha=0.3)
    fig.autofmt_xdate()
    return _svg(plt, fig)


def new_clusters(groups: list[Cluster], born: dict[str, date], words: dict[str, str]) -> tuple[str, list[Cluster]]:
    """Clusters by size; a cluster is new when most of its notes were written in the last month."""
    since = date.today() - timedelta(days=RECENT_DAYS)
    fresh = [c for c in groups if sum(born.get(n, date.min) >= since for n in c.members) * 2 > len(c.members)]
    top = groups[:15]
    plt, fig, ax = _figure(width=8.0, height=0.25 * len(top) + 1.2)
    ax.barh([_short(c.name) for c in top][::-1], [len(c.members) for c in top][::-1],
            color=["#59a14f" if c in fresh else "#bab0ac" for c in top][::-1])
    fig.suptitle(words["chart_clusters"], fontsize=10)
    return _svg(plt, fig), fresh


def most_linked(graph: LinkGraph, born: dict[str, date], words: dict[str, str]) -> tuple[str, list[tuple[str, int]]]:
    """The notes that notes written in the last month link to most."""
    since = date.today() - timedelta(days=RECENT_DAYS)
    counts: dict[str, int] = {}
    for source, target in graph.g.edges():
        if source != target and born.get(source, date.min) >= since and target in born:
            counts[target] = counts.get(target, 0) + 1
    top = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:10]
    plt, fig, ax = _figure(width=8.0, height=0.25 * max(len(top), 1) + 1.2)
    titles = [_short(str(graph.g.nodes[p].get("title", p))) for p, _ in top]
    ax.barh(titles[::-1], [n for _, n in top][::-1], color="#76b7b2")
    fig.suptitle(words["chart_linked"], fontsize=10)
    return _svg(plt, fig), top


def _short(text: str, limit: int = 48) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
