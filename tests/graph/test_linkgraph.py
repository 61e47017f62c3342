from __future__ import annotations

from pathlib import Path

import networkx as nx
import pytest

from graph import GraphFileError, LinkGraph, export_graph
from vault_sync import parse_note


def note(path: str, text: str):
    return parse_note(text, path)


def edges(graph: LinkGraph) -> set[tuple[str, str, str]]:
    return {(s, t, a["kind"]) for s, t, a in graph.g.edges(data=True)}


def test_nodes_edges_and_attributes() -> None:
    g = LinkGraph()
    g.apply([note("A.md", "---\nparent: '[[B]]'\n---\n[[B#H|x]] [[B#H|x]] ![[B]] [[Missing]] #tag/x"),
             note("B.md", "---\naliases: [Бэ]\n---\nback to [[A]] and [[#local]]")], attachments=set())
    assert edges(g) == {("A.md", "B.md", "property"), ("A.md", "B.md", "link"), ("A.md", "B.md", "embed"),
                        ("A.md", "unresolved:missing", "link"), ("A.md", "tag:tag/x", "tag"), ("B.md", "A.md", "link")}
    link = next(a for s, t, a in g.g.edges(data=True) if a["kind"] == "link" and t == "B.md")
    assert link == {"kind": "link", "heading": "H", "alias": "x", "count": 2}
    assert g.backlinks("B.md") == ["A.md"] and g.outlinks("A.md") == ["B.md"]
    assert g.stats()["unresolved_links"] == 1


def test_stats_count_what_a_walk_over_the_edges_counts() -> None:
    """stats() counts from the nodes' in-degrees; the edges themselves are the truth (multi-edges, embeds,
    properties, tags, two notes sharing one unresolved target, one attachment)."""
    g = LinkGraph()
    g.apply([note("A.md", "---\nparent: '[[B]]'\n---\n[[B]] ![[B]] [[Missing]] [[Missing#x]] ![[pic.png]] #t #u"),
             note("B.md", "[[A]] [[Missing]] [[Other gap]] #t"), note("C.md", "no links")],
            attachments={"pic.png"})
    walked = [(t, a["kind"]) for _, t, a in g.g.edges(data=True)]
    assert g.stats() == {"notes": 3, "links": sum(kind != "tag" for _, kind in walked),
                         "unresolved_links": len(g.unresolved_edges()), "tags": 2, "attachments": 1}
    assert g.stats()["unresolved_links"] == 4 and g.stats()["links"] == 9


def test_apply_says_whether_the_graph_changed() -> None:
    g = LinkGraph()
    assert g.apply([note("A.md", "[[B]] #t"), note("B.md", "b")], attachments=set())
    before = sorted(g.g.edges(keys=True, data=True))
    assert not g.apply([note("A.md", "[[B]] #t and new words")], attachments=set())  # text only
    assert sorted(g.g.edges(keys=True, data=True)) == before
    assert g.apply([note("A.md", "[[B]] [[C]] #t")])  # a link more
    assert g.apply([note("A.md", "---\naliases: [Эй]\n---\n[[B]] [[C]] #t")])  # an alias
    assert g.apply(attachments={"pic.png"}) and not g.apply(attachments={"pic.png"})
    assert g.apply(deletes=["B.md"]) and not g.apply(deletes=["B.md"])
    g.apply([note("A.md", "[[D]]"), note("A.md", "[[E]]")])  # one path twice in a batch: the last one stands
    assert {t for _, t in g.g.out_edges("A.md")} == {"unresolved:e"}


def test_incremental_updates_equal_a_rebuild() -> None:
    g = LinkGraph()
    g.apply([note("A.md", "[[B]] [[C]] [[Alias of D]]"), note("B.md", "[[A]]")])
    assert ("A.md", "unresolved:c", "link") in edges(g)
    g.apply([note("C.md", "new"), note("D.md", "---\naliases: [Alias of D]\n---\n")])  # targets appear
    g.apply(deletes=["B.md"])  # a target vanishes
    g.apply([note("dir/B.md", "[[A]]")])  # and comes back elsewhere
    rebuilt = LinkGraph()
    rebuilt.apply([note("A.md", "[[B]] [[C]] [[Alias of D]]"), note("C.md", "new"),
                   note("D.md", "---\naliases: [Alias of D]\n---\n"), note("dir/B.md", "[[A]]")])
    assert edges(g) == edges(rebuilt)
    assert set(g.g.nodes) == set(rebuilt.g.nodes)


def test_deleting_a_target_makes_links_unresolved_and_drops_orphans() -> None:
    g = LinkGraph()
    g.apply([note("A.md", "[[B]] #t"), note("B.md", "x")])
    g.apply(deletes=["B.md"])
    assert edges(g) == {("A.md", "unresolved:b", "link"), ("A.md", "tag:t", "tag")}
    g.apply(deletes=["A.md"])
    assert list(g.g.nodes) == []


def test_alias_change_relinks_sources() -> None:
    g = LinkGraph()
    g.apply([note("A.md", "[[Old alias]]"), note("B.md", "---\naliases: [Old alias]\n---\n")])
    assert ("A.md", "B.md", "link") in edges(g)
    g.apply([note("B.md", "---\naliases: [New alias]\n---\n")])
    assert ("A.md", "unresolved:old alias", "link") in edges(g)


def test_attachments_resolve_embeds() -> None:
    g = LinkGraph()
    g.apply([note("A.md", "![[pic.png]]")], attachments=set())
    assert ("A.md", "unresolved:pic.png", "embed") in edges(g)
    g.apply(attachments={"img/pic.png"})
    assert ("A.md", "img/pic.png", "embed") in edges(g)
    assert g.g.nodes["img/pic.png"]["kind"] == "attachment"


def test_save_load_roundtrip_keeps_cyrillic_and_updates(tmp_path: Path) -> None:
    g = LinkGraph()
    g.apply([note("Папка/Заметка.md", "[[Другая]] #тег"), note("Другая.md", "---\naliases: [Вторая]\n---\n")],
            attachments={"a.png"})
    g.save(tmp_path / "graph.json")
    loaded = LinkGraph.load(tmp_path / "graph.json")
    assert edges(loaded) == edges(g) and loaded.attachments == {"a.png"}
    loaded.apply([note("X.md", "[[Вторая]]")])  # resolver and indexes survived the reload
    assert ("X.md", "Другая.md", "link") in edges(loaded)


@pytest.mark.parametrize("content", ["", "{", '{"version": 99}', '{"version": 1}', "[]"])
def test_corrupt_graph_file_raises_clear_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "graph.json"
    path.write_text(content)
    with pytest.raises(GraphFileError, match=r"graph\.json"):
        LinkGraph.load(path)


def test_exports_roundtrip_in_every_format(tmp_path: Path) -> None:
    g = LinkGraph()
    g.apply([note("Папка/A.md", "---\naliases: [a1, a2]\n---\n[[B]] [[Нет]]"), note("B.md", "")])
    data = export_graph(g, "json")
    assert '"Папка/A.md"' in data and '"links"' not in data
    for fmt, reader in (("graphml", nx.read_graphml), ("gexf", nx.read_gexf)):
        path = tmp_path / f"g.{fmt}"
        path.write_text(export_graph(g, fmt), encoding="utf-8")
        back = reader(path)
        assert {"Папка/A.md", "B.md", "unresolved:нет"} <= set(back.nodes)


def test_html_export_is_a_self_contained_page_with_every_node() -> None:
    import json
    import re
    from html.parser import HTMLParser

    g = LinkGraph()
    g.apply([note("Папка/A.md", "[[B]] [[Нет такой]] [[C]] #tag"), note("B.md", "[[A]]"), note("C.md", "[[A]] [[B]]")])
    page = export_graph(g, "html")
    tags: list[str] = []

    class Collect(HTMLParser):
        def handle_starttag(self, tag, attrs):
            tags.append(tag)

    Collect().feed(page)
    assert page.startswith("<!DOCTYPE html>") and tags[:3] == ["html", "head", "meta"]
    data = json.loads(re.search(r'<script type="application/json" id="data">(.*?)</script>', page, re.S).group(1))
    kinds = {n["id"]: n["k"] for n in data["nodes"]}
    assert kinds == {"Папка/A.md": "note", "B.md": "note", "C.md": "note", "unresolved:нет такой": "unresolved",
                     "tag:tag": "tag"}
    assert data["folders"] == ["", "Папка"] and data["tags"] == ["tag"]
    assert not re.search(r'(src|href)=["\']?https?:', page)  # nothing fetched from the network
    assert "fetch(" not in page and "import " not in page


def test_a_named_link_to_the_note_itself_is_an_edge_but_not_a_backlink() -> None:
    """As in Obsidian's resolved links: `[[Дневник#Планы]]` inside Дневник is an edge to itself; `[[#Планы]]` is a
    place in the note, not an edge."""
    g = LinkGraph()
    g.apply([note("Дневник.md", "# Дневник\n## Планы\nсм. [[Дневник#Планы]] и [[#Планы]]")])
    assert edges(g) == {("Дневник.md", "Дневник.md", "link")}
    assert g.backlinks("Дневник.md") == [] and g.outlinks("Дневник.md") == []
    assert g.stale_sources() == []
    assert g.stats()["links"] == 1


def test_names_revision_moves_with_names_not_with_links() -> None:
    g = LinkGraph()
    g.apply([parse_note("# A\n", "A.md")])
    first = g.names_revision
    g.apply([parse_note("# A\nnow with [[B]] and #tag\n", "A.md")])  # links and tags: the names stand
    assert g.names_revision == first
    g.apply([parse_note("---\naliases: [Альфа]\n---\n# A\n", "A.md")])
    assert g.names_revision == first + 1
    g.apply([parse_note("# B\n", "B.md")])
    assert g.names_revision == first + 2
    g.apply(deletes=["B.md"])
    assert g.names_revision == first + 3
    g.apply([parse_note("# C\n", "C.md")], deletes=["A.md"])  # one batch, one move
    assert g.names_revision == first + 4
