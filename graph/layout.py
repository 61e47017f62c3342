"""Positions for the graph page, computed once in Python so the page draws at once (no physics in the browser).

Real vaults are not the evenly linked graphs of a benchmark: many notes link nowhere, a few hubs link everywhere,
and a dozen or more clusters share the screen. So the page is laid out in three parts:

- each cluster (Louvain) on its own disc, its notes placed inside by networkx's spring layout (a cluster too big
  for the dense spring layout is split the same way, by label propagation, first), the disc's radius growing with
  √ of its size;
- the discs packed apart: their centres start where a spring layout of the graph of clusters puts them, then
  overlapping discs push each other apart (with room for labels between them) while a weak pull keeps the whole
  compact — so each cluster's colour holds a region of its own;
- groups of fewer than SMALL_GROUP linked notes (pairs, triples) in a compact grid below the clusters, and the
  notes with no link at all (`Layout.unlinked`) in a grid beside everything: the page hides them until asked,
  and they never set the scale of the drawing.

The packing is a few lines of numpy written here: networkx has no circle packing, and a force simulation of all
notes costs minutes at 10,000 notes where this costs seconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import networkx as nx
import numpy as np

from graph.clusters import Cluster, induced

Point = tuple[float, float]
DENSE_LIMIT = 200
SMALL = 6
SMALL_GROUP = 4  # clusters smaller than this are not given a region of their own
NODE_SPACE = 9.0  # a disc's radius is NODE_SPACE × √(notes): room for each note's dot
LABEL_GAP = 60.0  # between two discs: room for a label
GRID = 9.0  # spacing of the grids of small groups and unlinked notes


@dataclass(frozen=True)
class Layout:
    pos: dict[str, Point]
    unlinked: tuple[str, ...]  # notes with no link to another note, in the grid beside the drawing
    regions: dict[int, tuple[float, float, float]]  # cluster id -> (x, y, radius) of its disc


def layout(notes: nx.Graph, groups: list[Cluster], seed: int = 7) -> Layout:
    big = [c for c in groups if len(c.members) >= SMALL_GROUP]
    small = [c for c in groups if len(c.members) < SMALL_GROUP]
    pos, regions = _discs(notes, big, seed)
    x0, y0, x1, y1 = _bounds(pos.values())
    pos.update(_grid_of_groups(notes, small, (x0, y1 + LABEL_GAP), x1 - x0, seed))
    unlinked = tuple(sorted(n for n in notes if n not in pos))
    x0, y0, x1, y1 = _bounds(pos.values())
    pos.update(_grid(unlinked, (x1 + 2 * LABEL_GAP, y0), max(y1 - y0, GRID), vertical=True))
    return Layout(pos, unlinked, regions)


def _bounds(points) -> tuple[float, float, float, float]:
    pts = list(points)
    if not pts:
        return 0.0, 0.0, 0.0, 0.0
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    return min(xs), min(ys), max(xs), max(ys)


def _discs(g: nx.Graph, groups: list[Cluster], seed: int,
           pack: bool = True) -> tuple[dict[str, Point], dict[int, tuple]]:
    """Each group on its own disc; `pack`: the discs packed apart (the clusters), else spread as the spring layout
    of groups places them (the parts of one large cluster, where overlap is no harm and packing hundreds of parts
    would cost seconds)."""
    if not groups:
        return {}, {}
    radii = np.array([NODE_SPACE * math.sqrt(len(c.members)) for c in groups])
    start = _start(g, groups, seed)
    if pack:
        centres = _pack(start, radii, LABEL_GAP)
    else:
        centres = start * 1.4 * float(np.sqrt((radii ** 2).sum()))
    out: dict[str, Point] = {}
    regions = {}
    for group, (cx, cy), r in zip(groups, centres, radii, strict=True):
        regions[group.id] = (float(cx), float(cy), float(r))
        for node, (x, y) in _local(induced(g, group.members), seed).items():
            out[node] = (float(cx + x * r), float(cy + y * r))
    return out, regions


def _start(g: nx.Graph, groups: list[Cluster], seed: int) -> np.ndarray:
    """Where a spring layout of the graph of groups (edges summed) puts each group: linked groups start near."""
    if len(groups) == 1:
        return np.zeros((1, 2))
    of = {n: i for i, c in enumerate(groups) for n in c.members}
    between = nx.Graph()
    between.add_nodes_from(range(len(groups)))
    for a, b, data in g.edges(data=True):
        ca, cb = of.get(a), of.get(b)
        if ca is not None and cb is not None and ca != cb:
            weight = between[ca][cb]["weight"] + data.get("weight", 1) if between.has_edge(ca, cb) else 1
            between.add_edge(ca, cb, weight=weight)
    raw = nx.spring_layout(between, seed=seed, weight="weight", iterations=60)
    return np.array([raw[i] for i in range(len(groups))], dtype=np.float64)


def _pack(start: np.ndarray, radii: np.ndarray, gap: float, rounds: int = 300) -> np.ndarray:
    """Disc centres with no two discs closer than their radii plus `gap`, kept compact: overlapping pairs push
    apart by half their overlap each round while everything drifts a little towards the middle, until nothing
    moves much; then a last pass without the pull leaves no overlap."""
    n = len(radii)
    if n == 1:
        return np.zeros((1, 2))
    scale = float(np.sqrt(((radii + gap / 2) ** 2).sum()))  # about the radius of the packed whole
    pts = (start - start.mean(axis=0)) * scale
    need = radii[:, None] + radii[None, :] + gap
    np.fill_diagonal(need, 0.0)
    weight = radii[None, :] / (radii[:, None] + radii[None, :])  # the smaller disc of a pair moves more
    still = 0.05 * float(radii.mean())
    for _ in range(rounds):
        push = _push(pts, need) * weight[..., None]
        step = push.sum(axis=1) * 0.5 - 0.01 * pts
        pts += step
        if float(np.abs(step).max()) < still:
            break
    for _ in range(200):
        push = _push(pts, need)
        if not push.any():
            break
        pts += push.sum(axis=1) * 0.5
    return pts


def _push(pts: np.ndarray, need: np.ndarray) -> np.ndarray:
    """For each pair (i, j): the vector moving i away from j by their overlap (zero where they do not overlap)."""
    delta = pts[:, None, :] - pts[None, :, :]
    dist = np.sqrt((delta ** 2).sum(-1))
    np.fill_diagonal(dist, np.inf)
    overlap = np.clip(need - dist, 0.0, None)
    overlap[overlap < 1e-6] = 0.0
    direction = delta / np.where(dist > 1e-9, dist, 1.0)[..., None]
    direction[dist <= 1e-9] = (1.0, 0.0)  # coincident centres split along x
    return direction * overlap[..., None]


def _grid_of_groups(g: nx.Graph, groups: list[Cluster], origin: Point, width: float,
                    seed: int) -> dict[str, Point]:
    """Pairs and triples side by side in rows under the clusters, each a small ring."""
    out: dict[str, Point] = {}
    x0, y0 = origin
    cell = GRID * 3
    per_row = max(1, int(max(width, cell) // cell))
    for i, group in enumerate(groups):
        cx, cy = x0 + (i % per_row) * cell + cell / 2, y0 + (i // per_row) * cell + cell / 2
        for node, (x, y) in _local(induced(g, group.members), seed).items():
            out[node] = (cx + x * GRID, cy + y * GRID)
    return out


def _grid(nodes: tuple[str, ...], origin: Point, extent: float, *, vertical: bool) -> dict[str, Point]:
    """Nodes in a compact block beside the drawing, as tall as the drawing (columns fill top to bottom)."""
    if not nodes:
        return {}
    per_line = max(1, int(extent // GRID) + 1)
    lines = math.ceil(len(nodes) / per_line)
    if lines > per_line:  # many more than the drawing's height holds: a square block instead of a long strip
        per_line = math.ceil(math.sqrt(len(nodes)))
    x0, y0 = origin
    out = {}
    for i, node in enumerate(nodes):
        along, across = i % per_line, i // per_line
        out[node] = (x0 + across * GRID, y0 + along * GRID) if vertical else (x0 + along * GRID, y0 + across * GRID)
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
        raw = nx.spring_layout(sub, seed=seed, iterations=50)
    else:
        parts = sorted((sorted(p) for p in nx.community.fast_label_propagation_communities(sub, weight="weight",
                                                                                              seed=seed)),
                       key=lambda p: (-len(p), p[0]))
        if len(parts) == 1:  # no structure to split on: the slower layout, with few iterations
            raw = nx.spring_layout(sub, seed=seed, iterations=15)
        else:
            inner, _ = _discs(sub, [Cluster(i, tuple(p), "") for i, p in enumerate(parts)], seed, pack=False)
            raw = inner
    return _unit(raw)


def _unit(raw) -> dict[str, Point]:
    """Centred and scaled into the unit circle."""
    pts = {n: (float(x), float(y)) for n, (x, y) in raw.items()}
    cx = sum(p[0] for p in pts.values()) / len(pts)
    cy = sum(p[1] for p in pts.values()) / len(pts)
    extent = max(math.hypot(x - cx, y - cy) for x, y in pts.values()) or 1.0
    return {n: ((x - cx) / extent, (y - cy) / extent) for n, (x, y) in pts.items()}
