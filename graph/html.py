"""A self-contained HTML page of the link graph: one file, no network (inline SVG and a few lines of script for
pan and zoom). Nodes are sized by degree; unresolved links are red and dashed; tags are left out (they would turn
every tagged note into a spoke of one hub). Layout: networkx's spring layout, seeded, so a re-export is stable."""

from __future__ import annotations

import html
import math

import networkx as nx

from graph.linkgraph import LinkGraph

COLORS = {"note": "#4a7bd0", "unresolved": "#d04a4a", "attachment": "#8a8a8a"}
SIZE = 1000.0

_PAGE = """<!DOCTYPE html>
<html lang="ru"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ margin: 0; font: 13px system-ui, sans-serif; background: #fafafa; }}
header {{ padding: 6px 12px; border-bottom: 1px solid #ddd; background: #fff; }}
svg {{ width: 100vw; height: calc(100vh - 34px); cursor: grab; }}
line {{ stroke: #b8c4d6; stroke-width: 0.6; }}
line.unresolved {{ stroke: #d04a4a; stroke-dasharray: 3 2; }}
circle {{ stroke: #fff; stroke-width: 0.8; }}
circle.unresolved {{ stroke: #d04a4a; stroke-dasharray: 2 1; fill: #fff; }}
text {{ font-size: 9px; fill: #333; pointer-events: none; }}
text.unresolved {{ fill: #d04a4a; }}
</style></head><body>
<header>{title}: {notes} notes, {links} links, {unresolved} unresolved (red). Wheel: zoom, drag: move.</header>
<svg id="g" viewBox="-20 -20 {box} {box}" xmlns="http://www.w3.org/2000/svg">
<g id="world">
{edges}
{nodes}
</g></svg>
<script>
const svg = document.getElementById("g"), vb = svg.viewBox.baseVal;
svg.addEventListener("wheel", e => {{ e.preventDefault(); const f = e.deltaY > 0 ? 1.15 : 1 / 1.15;
  const r = svg.getBoundingClientRect(), x = vb.x + (e.clientX - r.left) / r.width * vb.width,
  y = vb.y + (e.clientY - r.top) / r.height * vb.height;
  vb.x = x - (x - vb.x) * f; vb.y = y - (y - vb.y) * f; vb.width *= f; vb.height *= f; }});
let drag = null;
svg.addEventListener("mousedown", e => drag = [e.clientX, e.clientY]);
window.addEventListener("mouseup", () => drag = null);
window.addEventListener("mousemove", e => {{ if (!drag) return; const r = svg.getBoundingClientRect();
  vb.x -= (e.clientX - drag[0]) / r.width * vb.width; vb.y -= (e.clientY - drag[1]) / r.height * vb.height;
  drag = [e.clientX, e.clientY]; }});
</script></body></html>
"""


def export_html(graph: LinkGraph, title: str = "Vault graph") -> str:
    g = nx.Graph()
    for node, attrs in graph.g.nodes(data=True):
        if attrs.get("kind") != "tag":
            g.add_node(node, **{k: attrs.get(k) for k in ("kind", "title")})
    for source, target in graph.g.edges():
        if g.has_node(source) and g.has_node(target) and source != target:
            g.add_edge(source, target)
    pos = _layout(g)
    edges = "\n".join(_edge(pos[a], pos[b], "unresolved" in (g.nodes[a]["kind"], g.nodes[b]["kind"]))
                      for a, b in g.edges())
    nodes = "\n".join(_node(n, g.nodes[n], pos[n], g.degree(n)) for n in g.nodes)
    stats = graph.stats()
    return _PAGE.format(title=html.escape(title), notes=stats["notes"], links=stats["links"],
                        unresolved=stats["unresolved_links"], box=SIZE + 40, edges=edges, nodes=nodes)


def _layout(g: nx.Graph) -> dict[str, tuple[float, float]]:
    if g.number_of_nodes() == 0:
        return {}
    iterations = 50 if g.number_of_nodes() <= 3000 else 15
    raw = nx.spring_layout(g, seed=7, iterations=iterations)
    xs = [p[0] for p in raw.values()]
    ys = [p[1] for p in raw.values()]
    span = max(max(xs) - min(xs), max(ys) - min(ys)) or 1.0
    return {n: ((p[0] - min(xs)) / span * SIZE, (p[1] - min(ys)) / span * SIZE) for n, p in raw.items()}


def _edge(a: tuple[float, float], b: tuple[float, float], unresolved: bool) -> str:
    klass = ' class="unresolved"' if unresolved else ""
    return f'<line x1="{a[0]:.1f}" y1="{a[1]:.1f}" x2="{b[0]:.1f}" y2="{b[1]:.1f}"{klass}/>'


def _node(node: str, attrs: dict, xy: tuple[float, float], degree: int) -> str:
    kind = attrs.get("kind") or "note"
    radius = 2.5 + 1.6 * math.sqrt(degree)
    label = html.escape(attrs.get("title") or node)
    klass = ' class="unresolved"' if kind == "unresolved" else ""
    fill = "" if kind == "unresolved" else f' fill="{COLORS.get(kind, "#999")}"'
    shown = degree >= 3 or kind == "unresolved"  # every missing note is named: that is what the view is for
    text = f'<text x="{xy[0] + radius + 1:.1f}" y="{xy[1] + 2:.1f}"{klass}>{label}</text>' if shown else ""
    return (f'<g><circle cx="{xy[0]:.1f}" cy="{xy[1]:.1f}" r="{radius:.1f}"{fill}{klass} data-id="{html.escape(node)}">'
            f"<title>{html.escape(node)} ({kind}, {degree} links)</title></circle>{text}</g>")
