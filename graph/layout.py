"""Positions for the graph page, computed once in Python so the page draws at once (no physics in the browser).

Levels, each small enough for networkx's spring layout: the clusters are laid out as one weighted graph of
clusters, then each cluster's notes around its place, scaled by its size; a cluster too big for the quick (dense)
spring layout is split the same way, by label propagation, first. A plain spring layout of 10,000 nodes costs
minutes; this costs seconds. Orphans go on a ring outside."""

from __future__ import annotations

import math

import networkx as nx

from graph.clusters import Cluster, induced

Point = tuple[float, float]
DENSE_LIMIT = 200
SMALL = 6


def layout(notes: nx.Graph, groups: list[Cluster], seed: int = 7) -> dict[str, Point]:
    pos = _arrange(notes, groups, seed)
    orphans = sorted(n for n in notes if n not in pos)
    extent = max((math.hypot(x, y) for x, y in pos.values()), default=50.0) + 40.0
    for i, node in enumerate(orphans):
        angle = 2 * math.pi * i / max(len(orphans), 1)
        ring = extent + 12.0 * (i % 3)
        pos[node] = (ring * math.cos(angle), ring * math.sin(angle))
    return pos


def _arrange(g: nx.Graph, groups: list[Cluster], seed: int) -> dict[str, Point]:
    """The groups placed as one graph of groups, each group's notes around its place, scaled by its size."""
    centres = _centres(g, groups, seed)
    out: dict[str, Point] = {}
    for group in groups:
        cx, cy = centres[group.id]
        radius = 6.0 * math.sqrt(len(group.members))
        for node, (x, y) in _local(induced(g, group.members), seed).items():
            out[node] = (cx + x * radius, cy + y * radius)
    return out


def _local(sub: nx.Graph, seed: int) -> dict[str, Point]:
    """A connected group's notes within the unit circle."""
    if len(sub) <= 1:
        return {node: (0.0, 0.0) for node in sub}
    if len(sub) <= SMALL:  # a handful of notes: a circle says as much as a simulation would, in no time
        ring = sorted(sub, key=lambda n: (-sub.degree(n), n))
        return {n: (math.cos(2 * math.pi * i / len(ring)), math.sin(2 * math.pi * i / len(ring)))
                for i, n in enumerate(ring)}
    if len(sub) < DENSE_LIMIT:  # networkx's dense Fruchterman-Reingold: its cost grows with the square of the size
        return {n: (float(x), float(y)) for n, (x, y) in nx.spring_layout(sub, seed=seed, iterations=50).items()}
    parts = sorted((sorted(p) for p in nx.community.fast_label_propagation_communities(sub, weight="weight",
                                                                                          seed=seed)),
                   key=lambda p: (-len(p), p[0]))
    if len(parts) == 1:  # no structure to split on: the slower layout, with few iterations
        return {n: (float(x), float(y)) for n, (x, y) in nx.spring_layout(sub, seed=seed, iterations=15).items()}
    out = _arrange(sub, [Cluster(i, tuple(p), "") for i, p in enumerate(parts)], seed)
    extent = max(math.hypot(x, y) for x, y in out.values()) or 1.0
    return {node: (x / extent, y / extent) for node, (x, y) in out.items()}


def _centres(notes: nx.Graph, groups: list[Cluster], seed: int) -> dict[int, Point]:
    if not groups:
        return {}
    of = {n: c.id for c in groups for n in c.members}
    between = nx.Graph()
    between.add_nodes_from(c.id for c in groups)
    for a, b, data in notes.edges(data=True):
        ca, cb = of.get(a), of.get(b)
        if ca is not None and cb is not None and ca != cb:
            weight = between[ca][cb]["weight"] + data.get("weight", 1) if between.has_edge(ca, cb) else 1
            between.add_edge(ca, cb, weight=weight)
    raw = nx.spring_layout(between, seed=seed, weight="weight", iterations=60) if len(groups) > 1 else {0: (0, 0)}
    spread = 12.0 * math.sqrt(sum(len(c.members) for c in groups))  # room for the clusters' own radii
    return {cid: (float(x) * spread, float(y) * spread) for cid, (x, y) in raw.items()}
