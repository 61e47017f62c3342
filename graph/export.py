"""Export the link graph for other tools: node-link JSON, GraphML (yEd, Gephi), GEXF (Gephi), or a page to look at."""

from __future__ import annotations

import io
import json

import networkx as nx

from graph.clusters import Cluster
from graph.linkgraph import LinkGraph

FORMATS = ("json", "graphml", "gexf", "html")


def public_graph(graph: LinkGraph) -> nx.MultiDiGraph:
    """A copy without internal bookkeeping (raw links), list attributes flattened for XML formats."""
    out = nx.MultiDiGraph()
    for node, attrs in graph.g.nodes(data=True):
        out.add_node(node, **{k: v for k, v in attrs.items() if k != "links"})
    out.add_edges_from(graph.g.edges(keys=True, data=True))
    return out


def _flatten(g: nx.MultiDiGraph) -> nx.MultiDiGraph:
    flat = g.copy()
    for _, attrs in flat.nodes(data=True):
        for k, v in list(attrs.items()):
            if isinstance(v, list):
                attrs[k] = ", ".join(map(str, v))
    for *_, attrs in flat.edges(keys=True, data=True):
        for k, v in list(attrs.items()):
            if isinstance(v, list):
                attrs[k] = ", ".join(map(str, v))
    return flat


def export_graph(graph: LinkGraph, fmt: str, *, around: str | None = None, depth: int = 1,
                 vault_name: str = "", groups: list[Cluster] | None = None) -> str:
    """`around`/`depth`: the html page of one note's neighbourhood (a local graph); `vault_name`: the page's
    notes open in Obsidian on a click; `groups`: the whole graph's clusters when already known."""
    g = public_graph(graph)
    if fmt == "json":
        return json.dumps(nx.node_link_data(g, edges="edges"), ensure_ascii=False, indent=1)
    if fmt == "graphml":
        return "\n".join(nx.generate_graphml(_flatten(g)))
    if fmt == "html":
        from graph.html import export_html

        return export_html(graph, around=around, depth=depth, vault_name=vault_name, groups=groups)
    if fmt == "gexf":
        buf = io.BytesIO()
        nx.write_gexf(_flatten(g), buf)
        return buf.getvalue().decode("utf-8")
    raise ValueError(f"unknown graph format {fmt!r}; choose one of {', '.join(FORMATS)}")
