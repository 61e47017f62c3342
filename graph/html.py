"""A self-contained HTML page of the link graph: one file, offline, drawn on a canvas from positions computed here
(graph/layout.py), so a 10,000-note vault opens at once.

Clusters (Louvain) are coloured and named after their most linked notes; labels show for hubs and on hover;
unresolved targets and tags are hidden until their toggles are ticked; a search box centres a note; folder and tag
filters dim the rest; `around` + `depth` make a local graph. The drawing code is a few dozen lines written here
rather than a vendored library: with positions fixed there is no simulation to need one, and the page stays small.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from graph.clusters import Cluster, clusters, induced, note_graph
from graph.layout import Layout, layout
from graph.linkgraph import LinkGraph

PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f",
           "#86bc86", "#d37295", "#a0cbe8", "#ffbe7d", "#8cd17d", "#b6992d", "#499894"]
HUB_SHARE = 0.02  # the most linked 2 % of notes (at least 10) carry labels
TEMPLATE = Path(__file__).with_name("graph_page.html")


def export_html(graph: LinkGraph, *, around: str | None = None, depth: int = 1, title: str = "Vault graph",
                vault_name: str = "", groups: list[Cluster] | None = None) -> str:
    notes = note_graph(graph)
    if around is not None:
        keep = graph.within(around, depth)
        notes = induced(notes, keep)
        title = f"{title}: {graph.g.nodes[around].get('title', around)} ± {depth}"
    if groups is None or around is not None:  # a local graph has clusters of its own
        groups = clusters(graph, notes)
    placed = layout(notes, groups)
    data = {**_data(graph, notes, groups, placed), "vault": vault_name}
    page = TEMPLATE.read_text(encoding="utf-8")
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")
    return page.replace("__TITLE__", html.escape(title)).replace("__DATA__", payload)


def _data(graph: LinkGraph, notes, groups: list[Cluster], placed: Layout) -> dict[str, Any]:
    g, pos = graph.g, placed.pos
    regions = placed.regions  # the clusters with a region (and a colour) of their own
    of = {n: c.id for c in groups if c.id in regions for n in c.members}
    degree = dict(notes.degree())
    linked = [n for n in degree if degree[n] > 0]
    hubs = set(sorted(linked, key=lambda n: (-degree[n], n))[:max(10, int(HUB_SHARE * len(linked)))])
    unlinked = set(placed.unlinked)
    index: dict[str, int] = {}
    nodes: list[dict[str, Any]] = []

    def add(node_id: str, kind: str, x: float, y: float, **extra: Any) -> int:
        index[node_id] = len(nodes)
        nodes.append({"id": node_id, "t": str(g.nodes[node_id].get("title") or node_id) if node_id in g else node_id,
                      "k": kind, "x": round(x, 1), "y": round(y, 1), **extra})
        return index[node_id]

    for node in sorted(notes, key=lambda n: (-degree[n], n)):
        attrs = g.nodes[node]
        folder = node.rsplit("/", 1)[0] if "/" in node else ""
        add(node, "note", *pos[node], c=of.get(node, -1), d=degree[node], f=folder, g=list(attrs.get("tags", [])),
            h=int(node in hubs), u=int(node in unlinked))
    edges, extra = [], []
    for source, target, attrs in g.edges(data=True):
        if source not in index or source == target:
            continue
        kind = g.nodes[target].get("kind")
        if target not in index and kind in ("unresolved", "tag"):
            x, y = pos[source]
            spot = _tag_spot(graph, target, pos) if kind == "tag" else (x + 8.0, y + 8.0)
            add(target, kind, *spot)
        if target in index:
            (edges if kind == "note" else extra).append([index[source], index[target], attrs.get("kind", "link")])
    cluster_info = [{"id": c.id, "name": c.name, "size": len(c.members), "color": PALETTE[i % len(PALETTE)],
                     "x": round(regions[c.id][0], 1), "y": round(regions[c.id][1], 1), "r": round(regions[c.id][2], 1)}
                    for i, c in enumerate(c for c in groups if c.id in regions)]
    folders = sorted({n["f"] for n in nodes if n["k"] == "note"})
    tags = sorted({t for n in nodes if n["k"] == "note" for t in n["g"]})
    small = [c for c in groups if c.id not in regions]
    return {"nodes": nodes, "edges": edges + extra, "clusters": cluster_info, "folders": folders, "tags": tags,
            "stats": {"notes": notes.number_of_nodes(), "links": notes.number_of_edges(),
                      "unresolved": sum(1 for n in nodes if n["k"] == "unresolved"), "clusters": len(cluster_info),
                      "unlinked": len(unlinked), "small_groups": len(small),
                      "small_notes": sum(len(c.members) for c in small)}}


def _tag_spot(graph: LinkGraph, tag: str, pos) -> tuple[float, float]:
    """A tag sits amid the notes that carry it."""
    tagged = [pos[s] for s, _ in graph.g.in_edges(tag) if s in pos]
    return (sum(p[0] for p in tagged) / len(tagged), sum(p[1] for p in tagged) / len(tagged)) if tagged else (0.0, 0.0)
