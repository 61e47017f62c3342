"""The vault's links as a networkx graph. Imports only `vault_sync`."""

from graph.export import FORMATS, export_graph, public_graph
from graph.linkgraph import TAG, UNRESOLVED, GraphFileError, LinkGraph
from graph.resolver import LinkResolver, Resolution, link_key

__all__ = ["FORMATS", "TAG", "UNRESOLVED", "GraphFileError", "LinkGraph", "LinkResolver", "Resolution",
           "export_graph", "link_key", "public_graph"]
