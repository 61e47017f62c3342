"""The vault's link graph: a networkx MultiDiGraph kept in step with the vault, one ChangeSet at a time.

Nodes: notes (id = vault path with extension), attachments, unresolved targets (`unresolved:<target>`) and tags
(`tag:<name>`). Edges carry kind (link/embed/markdown/property/canvas/tag), heading, block, alias, property and
count. Each note node keeps its raw links, so when a note appears, vanishes or gains an alias, only the notes whose
links could point at it are re-resolved: no rebuild.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import networkx as nx

from graph.resolver import LinkResolver, Resolution, fold, link_key
from vault_sync import Link, Note, write_atomic

FORMAT_VERSION = 1
UNRESOLVED = "unresolved:"
TAG = "tag:"
_LINK_FIELDS = ("target", "kind", "heading", "block", "alias", "property")


_KEY_FIELDS = ("kind", "heading", "block", "property")


def _edge_key(link: Link) -> str:
    """Parallel edges between two notes are told apart by kind, heading, block and property; repeats are counted."""
    return "|".join(str(getattr(link, k) or "") for k in _KEY_FIELDS)


def _note_attrs(note: Note) -> dict[str, Any]:
    links = [{k: v for k in _LINK_FIELDS if (v := getattr(link, k)) is not None} for link in note.links]
    return {"kind": "note", "title": note.title, "aliases": list(note.aliases), "tags": list(note.tags),
            "links": links}


class GraphFileError(ValueError):
    """graph.json is unreadable or from another version; the caller rebuilds it."""


class LinkGraph:
    def __init__(self) -> None:
        self.g = nx.MultiDiGraph()
        self.resolver = LinkResolver()
        self.attachments: set[str] = set()
        self._sources_by_key: dict[str, set[str]] = defaultdict(set)
        # moves whenever a note comes or goes or its title or aliases change: an index of the notes' names built
        # before (overlay.search.names) is then stale; edits that change only links and tags leave it
        self.names_revision = 0

    # ---- updating -------------------------------------------------------------------------------------------
    def apply(self, upserts: Iterable[Note] = (), deletes: Iterable[str] = (),
              attachments: set[str] | None = None) -> bool:
        """Bring the graph in step with one batch: deleted paths, new/changed notes, the current attachment set.
        Returns whether the graph changed: a note saved with the same title, aliases, tags and links (most edits)
        changes nothing, and the caller need not write graph.json again."""
        affected: set[str] = set()
        changed = False
        renamed = False  # a note came, went, or changed its title or aliases
        for path in deletes:
            changed |= self.g.has_node(path)
            renamed |= self.g.nodes.get(path, {}).get("kind") == "note"
            affected |= self._drop_note(path)
        latest = {note.path: note for note in upserts}  # a path given twice: its last version, as before
        fresh = [note for note in latest.values() if not self._holds(note)]
        changed |= bool(fresh)
        renamed |= any(not self._same_names(note) for note in fresh)
        self.names_revision += renamed
        for note in fresh:
            affected |= self._drop_note(note.path, keep_node=True)
        for note in fresh:
            self._add_note(note)
            affected |= self.resolver.keys_of(note.path)
        if attachments is not None and attachments != self.attachments:
            for path in self.attachments - attachments:
                self.resolver.remove(path)
            for path in attachments - self.attachments:
                self.resolver.add(path)
            affected |= {link_key(p) for p in self.attachments ^ attachments}
            self.attachments = set(attachments)
            changed = True
        relink = {src for key in affected for src in self._sources_by_key.get(key, ())}
        relink |= {n.path for n in fresh}
        for source in relink:
            if self.g.has_node(source):
                self._link(source)
        self._collect_garbage()
        return changed

    def _holds(self, note: Note) -> bool:
        """The graph already has this note as it is: same kind, title, aliases, tags and links."""
        attrs = self.g.nodes.get(note.path)
        return attrs is not None and attrs == _note_attrs(note)

    def _same_names(self, note: Note) -> bool:
        attrs = self.g.nodes.get(note.path)
        return (attrs is not None and attrs.get("kind") == "note" and attrs.get("title") == note.title
                and attrs.get("aliases") == list(note.aliases))

    def _drop_note(self, path: str, keep_node: bool = False) -> set[str]:
        if not self.g.has_node(path) or self.g.nodes[path].get("kind") != "note":
            return set()
        keys = self.resolver.keys_of(path)
        for link in self.g.nodes[path].get("links", []):
            self._sources_by_key[link_key(link["target"])].discard(path)
        self.g.remove_edges_from(list(self.g.out_edges(path, keys=True)))
        self.resolver.remove(path)
        if not keep_node:
            self.g.remove_node(path)
        return keys

    def _add_note(self, note: Note) -> None:
        attrs = _note_attrs(note)
        self.g.add_node(note.path, **attrs)
        self.resolver.add(note.path, note.aliases)
        for link in attrs["links"]:
            self._sources_by_key[link_key(link["target"])].add(note.path)

    def _link(self, source: str) -> None:
        """(Re)create the out-edges of one note from its stored raw links."""
        self.g.remove_edges_from(list(self.g.out_edges(source, keys=True)))
        attrs = self.g.nodes[source]
        for raw in attrs.get("links", []):
            link = Link(**raw)
            res = self.resolver.resolve(link, source)
            if res.via == "self":  # [[#Heading]]: a place in this note; `[[This note#Heading]]` is an edge (Obsidian)
                continue
            self._add_edge(source, self._target_node(link, res), link, res)
        for tag in attrs.get("tags", []):
            node = TAG + tag
            self.g.add_node(node, kind="tag", title="#" + tag)
            self._bump(source, node, "tag", {"kind": "tag"})

    def _target_node(self, link: Link, res: Resolution) -> str:
        if res.path is None:
            node = UNRESOLVED + fold(link.target).removesuffix(".md")
            self.g.add_node(node, kind="unresolved", title=link.target.removesuffix(".md"))
        else:
            node = res.path
            if not self.g.has_node(node):
                self.g.add_node(node, kind="attachment", title=node.rsplit("/", 1)[-1])
        return node

    def _add_edge(self, source: str, target: str, link: Link, res: Resolution) -> None:
        attrs: dict[str, Any] = {"kind": link.kind}
        for name in ("heading", "block", "alias", "property"):
            if getattr(link, name):
                attrs[name] = getattr(link, name)
        if res.candidates:
            attrs["ambiguous"] = list(res.candidates)
        self._bump(source, target, _edge_key(link), attrs)

    def _bump(self, source: str, target: str, key: str, attrs: dict[str, Any]) -> None:
        if self.g.has_edge(source, target, key):
            self.g.edges[source, target, key]["count"] += 1
        else:
            self.g.add_edge(source, target, key=key, count=1, **attrs)

    def _collect_garbage(self) -> None:
        self.g.remove_nodes_from([n for n, a in self.g.nodes(data=True)
                                  if a.get("kind") in ("unresolved", "tag", "attachment") and not self.g.pred[n]])

    # ---- audit ----------------------------------------------------------------------------------------------
    def stale_sources(self) -> list[str]:
        """Notes whose out-edges differ from what their stored links resolve to now (a crash between a graph
        change and its relink, or a hand-edited graph.json). Pure in-memory: no file is read. Works on the raw
        link dicts (a Link object is built only to resolve a target not seen from that folder yet): 500k links
        at 100k notes."""
        stale = []
        # A target resolves alike from everywhere unless it is ambiguous or a relative markdown link; then alike
        # from one folder. Cached by that, resolution runs once per distinct target, not once per link.
        resolved: dict[tuple[str, str, str | None], str | None] = {}
        for node, attrs in self.g.nodes(data=True):
            if attrs.get("kind") != "note":
                continue
            expected: Counter[tuple[str, str]] = Counter()
            folder = node.rsplit("/", 1)[0] if "/" in node else ""
            for raw in attrs.get("links", []):
                target, kind = raw["target"], raw.get("kind", "link")
                if not target.strip():  # [[#Heading]]: the note itself, never cached across notes
                    continue
                anywhere, here = (target, kind, None), (target, kind, folder)
                if anywhere in resolved:
                    path = resolved[anywhere]
                elif here in resolved:
                    path = resolved[here]
                else:
                    res = self.resolver.resolve(Link(**raw), node)
                    path = resolved[here if res.candidates or kind == "markdown" else anywhere] = res.path
                node_id = path or UNRESOLVED + fold(target).removesuffix(".md")  # a named self-link is an edge too
                expected[(node_id, "|".join(str(raw.get(k) or "") for k in _KEY_FIELDS))] += 1
            for tag in attrs.get("tags", []):
                expected[(TAG + tag, "tag")] += 1
            actual = Counter({(t, k): d.get("count", 1) for _, t, k, d in self.g.out_edges(node, keys=True, data=True)})
            if expected != actual:
                stale.append(node)
        return stale

    def relink(self, sources: Iterable[str]) -> None:
        for source in sources:
            if self.g.has_node(source):
                self._link(source)
        self._collect_garbage()

    # ---- questions ------------------------------------------------------------------------------------------
    def notes(self) -> list[str]:
        return [n for n, a in self.g.nodes(data=True) if a.get("kind") == "note"]

    def backlinks(self, path: str) -> list[str]:
        """Other notes that link to `path` (a note's links to itself are edges, but not backlinks)."""
        if not self.g.has_node(path):
            return []
        return sorted({s for s, _ in self.g.in_edges(path) if s != path and self.g.nodes[s].get("kind") == "note"})

    def outlinks(self, path: str) -> list[str]:
        """Other notes `path` links to."""
        if not self.g.has_node(path):
            return []
        return sorted({t for _, t in self.g.out_edges(path) if t != path and self.g.nodes[t].get("kind") == "note"})

    def within(self, path: str, depth: int) -> dict[str, int]:
        """The notes at most `depth` links from `path`, either direction, each with its distance (0 for `path`)."""
        if self.g.nodes.get(path, {}).get("kind") != "note":
            raise KeyError(f"{path} is not a note of the graph")
        notes = nx.subgraph_view(self.g, filter_node=lambda n: self.g.nodes[n].get("kind") == "note")
        return nx.single_source_shortest_path_length(notes.to_undirected(as_view=True), path, cutoff=depth)

    def unresolved_edges(self) -> list[tuple[str, str]]:
        return [(s, self.g.nodes[t]["title"]) for s, t in self.g.edges()
                if self.g.nodes[t].get("kind") == "unresolved"]

    def stats(self) -> dict[str, int]:
        """Counted over the nodes, not the edges (every index run records these; at 10,000 notes a walk over the
        edges' data cost 0.3 s of a one-note edit): only tag edges end at a tag node and every edge into an
        unresolved node is an unresolved link, so in-degrees give both edge counts."""
        kinds: dict[str, int] = defaultdict(int)
        into: dict[str, int] = defaultdict(int)
        for node, a in self.g.nodes(data=True):
            kind = a.get("kind", "?")
            kinds[kind] += 1
            if kind in ("tag", "unresolved"):
                into[kind] += self.g.in_degree(node)
        return {"notes": kinds["note"], "links": self.g.number_of_edges() - into["tag"],
                "unresolved_links": into["unresolved"], "tags": kinds["tag"], "attachments": kinds["attachment"]}

    # ---- persistence ----------------------------------------------------------------------------------------
    def save(self, path: Path) -> None:
        data = {"version": FORMAT_VERSION, "attachments": sorted(self.attachments),
                "graph": nx.node_link_data(self.g, edges="edges")}
        write_atomic(path, _dumps(data))

    @classmethod
    def load(cls, path: Path) -> LinkGraph:
        try:
            data = _loads(path.read_bytes())
            if data.get("version") != FORMAT_VERSION:
                raise GraphFileError(f"{path}: format version {data.get('version')}, expected {FORMAT_VERSION}")
            g = nx.node_link_graph(data["graph"], edges="edges", directed=True, multigraph=True)
        except (FileNotFoundError, GraphFileError):
            raise
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise GraphFileError(f"{path}: unreadable graph file ({exc.__class__.__name__}: {exc})") from None
        self = cls()
        self.g = g
        self.attachments = set(data.get("attachments", []))
        for node, attrs in g.nodes(data=True):
            if attrs.get("kind") == "note":
                self.resolver.add(node, tuple(attrs.get("aliases", ())))
                for link in attrs.get("links", []):
                    self._sources_by_key[link_key(link["target"])].add(node)
        for att in self.attachments:
            self.resolver.add(att)
        return self


try:  # orjson (a chromadb dependency) is ~5x faster on a 10,000-note graph; plain json works the same
    import orjson

    def _dumps(data: Any) -> bytes:
        return orjson.dumps(data)

    def _loads(raw: bytes) -> Any:
        return orjson.loads(raw)
except ImportError:  # pragma: no cover
    def _dumps(data: Any) -> bytes:
        return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    def _loads(raw: bytes) -> Any:
        return json.loads(raw)
