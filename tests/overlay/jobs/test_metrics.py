"""Metrics of thinking: snapshots per index run, a history rebuilt from the notes' own dates, charts in the audit
note as SVG files beside it, and the same figures in `overlay status --json`."""

from __future__ import annotations

import json
import os
import time
import xml.etree.ElementTree as ET
from datetime import date, timedelta
from pathlib import Path

import frontmatter
import pytest

from graph import LinkGraph
from overlay import library
from overlay.index.indexer import Indexer
from overlay.jobs import metrics
from overlay.jobs.reindex import reindex
from tests.conftest import FakeIndex, write


def months_ago(n: int) -> str:
    return (date.today().replace(day=1) - timedelta(days=30 * n)).isoformat()


@pytest.fixture
def ix(vault: Path, fake_index) -> FakeIndex:
    """A vault that grew over a year: dated in frontmatter, by a daily note's name, and by file time alone."""
    write(vault, "Проекты/Старт.md", f"---\ncreated: {months_ago(11)}\n---\n# Старт\nНачало. [[Идеи]]\n")
    write(vault, "Проекты/Идеи.md", f"---\ndate: {months_ago(6)}\n---\n# Идеи\nСм. [[Старт]] и [[Нет такой]].\n")
    write(vault, f"Daily/{months_ago(3)}.md", "# День\nЗаписал про [[Идеи]].\n")
    write(vault, "Одиночка.md", "# Одиночка\nБез ссылок.\n")
    old = time.time() - 86400 * 200
    os.utime(vault / "Одиночка.md", (old, old))
    index = fake_index(vault)
    index.run()
    return index


def graph(ix: FakeIndex) -> LinkGraph:
    return LinkGraph.load(ix.settings.graph_path)


def test_a_snapshot_counts_what_the_issue_lists(ix: FakeIndex) -> None:
    snap = metrics.snapshot(ix.settings, graph(ix), metrics.cached_clusters(ix.settings, graph(ix)))
    assert snap["notes"] == 4 and snap["links"] == 4 and snap["unresolved"] == 1
    assert snap["orphans"] == 1 and snap["clusters"] >= 1 and snap["answer_notes"] == 0
    assert snap["folders"] == {"Проекты": 2, "Daily": 1, "/": 1}


def test_the_first_record_rebuilds_the_history_from_the_vaults_own_dates(ix: FakeIndex) -> None:
    born = metrics.birth_dates(ix.settings, graph(ix))
    assert born["Проекты/Старт.md"].isoformat() == months_ago(11)
    assert born["Проекты/Идеи.md"].isoformat() == months_ago(6)
    assert born[f"Daily/{months_ago(3)}.md"].isoformat() == months_ago(3)
    assert (date.today() - born["Одиночка.md"]).days in (199, 200, 201)  # the file's time, as a last resort
    metrics.record(ix.settings, graph(ix))
    past = metrics.history(ix.settings)
    assert len(past) >= 11 and all(p["rebuilt"] for p in past[:-1]) and "rebuilt" not in past[-1]
    notes = [p["notes"] for p in past]
    assert notes == sorted(notes) and notes[0] == 1 and notes[-1] == 4  # it grew, month by month
    assert [p["date"] for p in past] == sorted(p["date"] for p in past)


def test_one_snapshot_a_day_and_index_runs_are_throttled(ix: FakeIndex) -> None:
    metrics.record(ix.settings, graph(ix))
    n = len(metrics.history(ix.settings))
    write(ix.settings.vault, "Новая.md", "# Новая\n[[Старт]]\n")
    ix.run()
    assert metrics.after_index(ix.settings, graph(ix)) is None  # within MIN_GAP_S of the last one
    metrics.record(ix.settings, graph(ix), [])  # the nightly run (it counts clusters) always records
    past = metrics.history(ix.settings)
    assert len(past) == n and past[-1]["notes"] == 5 and past[-1]["date"] == date.today().isoformat()


def test_clusters_are_computed_once_per_version_of_the_graph(ix: FakeIndex, monkeypatch) -> None:
    first = metrics.cached_clusters(ix.settings, graph(ix))
    assert first and (ix.settings.state_dir / metrics.CLUSTERS_FILE).is_file()

    def not_again(*_a, **_k):
        raise AssertionError("computed again for an unchanged graph")

    monkeypatch.setattr(metrics, "clusters", not_again)
    assert metrics.cached_clusters(ix.settings, graph(ix)) == first
    write(ix.settings.vault, "Новая.md", "# Новая\n[[Старт]] и [[Одиночка]]\n")
    ix.run()  # graph.json changes: computed again
    with pytest.raises(AssertionError, match="computed again"):
        metrics.cached_clusters(ix.settings, graph(ix))


def test_a_line_cut_by_a_crash_costs_only_that_line(ix: FakeIndex) -> None:
    metrics.record(ix.settings, graph(ix))
    with metrics.path_of(ix.settings).open("a", encoding="utf-8") as f:
        f.write('{"date": "20')
    assert metrics.history(ix.settings)[-1]["notes"] == 4


def test_status_reports_the_figures_and_their_change(ix: FakeIndex) -> None:
    write(ix.settings.vault, "Сегодня.md", "# Сегодня\nНовая мысль про [[Старт]].\n")
    ix.run()
    metrics.record(ix.settings, graph(ix))
    figures = library.status(ix.settings)["metrics"]
    assert figures["notes"] == 5 and figures["orphan_share"] == 0.2
    assert figures["change"]["notes"] == 1 and figures["since"] < date.today().isoformat()
    json.dumps(figures)  # what --json prints


def test_the_audit_note_embeds_charts_written_beside_it(ix: FakeIndex) -> None:
    write(ix.settings.vault, "Сегодня.md", "# Сегодня\nСнова про [[Идеи]] и [[Старт]].\n")
    indexer = Indexer(ix.settings, embedder=ix.embedder, store_factory=lambda *_: ix.store)
    report = reindex(ix.settings, indexer=indexer).as_dict()
    note = ix.settings.vault / report["report_note"]
    text = note.read_text(encoding="utf-8")
    post = frontmatter.loads(text)
    assert "## Метрики мышления" in post.content
    embeds = [line[3:-2] for line in post.content.splitlines() if line.startswith("![[")]
    assert {e.rsplit(" - ", 1)[1] for e in embeds} >= {"growth.svg", "orphans.svg", "clusters.svg", "linked.svg"}
    for name in embeds:
        svg = note.with_name(name).read_text(encoding="utf-8")
        root = ET.fromstring(svg.split("?>", 1)[-1].strip())  # a well-formed drawing
        assert root.tag.endswith("svg") and svg.startswith("<?xml")
        if name.endswith("growth.svg"):
            assert "Рост хранилища" in svg  # text stays text (svg.fonttype none): Cyrillic, searchable
    assert "[[Идеи]] (1)" in post.content  # linked to most this month


def test_a_users_own_svg_of_that_name_is_left_alone(ix: FakeIndex) -> None:
    indexer = Indexer(ix.settings, embedder=ix.embedder, store_factory=lambda *_: ix.store)
    mine = write(ix.settings.vault, "Overlay/Vault audit - growth.svg", "<svg xmlns='http://www.w3.org/2000/svg'/>")
    report = reindex(ix.settings, indexer=indexer).as_dict()
    assert mine.read_text() == "<svg xmlns='http://www.w3.org/2000/svg'/>"
    assert "growth.svg" not in (ix.settings.vault / report["report_note"]).read_text(encoding="utf-8")
    second = reindex(ix.settings, indexer=indexer).as_dict()  # our own charts are rewritten night after night
    assert "orphans.svg" in (ix.settings.vault / second["report_note"]).read_text(encoding="utf-8")


def test_a_plotting_failure_costs_the_chart_not_the_audit(ix: FakeIndex, monkeypatch) -> None:
    from overlay.jobs import charts

    def broken(*_a, **_k):
        raise RuntimeError("no fonts")

    monkeypatch.setattr(charts, "growth", broken)
    indexer = Indexer(ix.settings, embedder=ix.embedder, store_factory=lambda *_: ix.store)
    report = reindex(ix.settings, indexer=indexer).as_dict()
    text = (ix.settings.vault / report["report_note"]).read_text(encoding="utf-8")
    assert "metrics of thinking: no fonts" in text
