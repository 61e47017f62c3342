"""Metrics of thinking: how the vault grows and connects. One snapshot a day in `<state>/metrics.jsonl` (notes,
links, unresolved links, orphans, clusters, notes per top folder, answer notes), written by index runs (at most
every ten minutes) and by the nightly reindex (which also counts clusters). The first time, the history is rebuilt
from what the vault itself says: a note's date (frontmatter `created`/`date`, a daily note's name), else its file
time, month by month."""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from graph import LinkGraph
from graph.clusters import Cluster, clusters, named
from overlay.index.chunk_store import ChunkStore
from overlay.index.indexer import graph_stamp
from overlay.settings import Settings
from vault_sync import write_atomic

MIN_GAP_S = 600.0
RECENT_DAYS = 30
FILE = "metrics.jsonl"
CLUSTERS_FILE = "clusters.json"


def path_of(settings: Settings) -> Path:
    return settings.state_dir / FILE


def history(settings: Settings) -> list[dict[str, Any]]:
    try:
        lines = path_of(settings).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    out = []
    for line in lines:
        try:
            out.append(json.loads(line))
        except ValueError:
            continue  # a line cut by a crash: the rest still counts
    return out


def snapshot(settings: Settings, graph: LinkGraph, groups: list[Cluster] | None = None) -> dict[str, Any]:
    notes = [n for n in graph.notes() if not _own(settings, n)]
    mine = set(notes)
    links = [(s, t) for s, t, a in graph.g.edges(data=True) if s in mine and a.get("kind") != "tag" and s != t]
    linked = {x for s, t in links if t in mine for x in (s, t)}
    unresolved = sum(1 for _, t in links if graph.g.nodes[t].get("kind") == "unresolved")
    folders = Counter(n.split("/", 1)[0] if "/" in n else "/" for n in notes)
    answers = len(graph.notes()) - len(notes)
    return {"date": date.today().isoformat(), "time": time.time(), "notes": len(notes), "links": len(links),
            "unresolved": unresolved, "orphans": len(mine - linked),
            "clusters": len(groups) if groups is not None else None, "answer_notes": answers,
            "folders": dict(folders.most_common(12))}


def record(settings: Settings, graph: LinkGraph, groups: list[Cluster] | None = None,
           born: dict[str, date] | None = None) -> dict[str, Any]:
    """Today's snapshot, replacing an earlier one of today; a history is rebuilt first if there is none. `groups`
    (the nightly run's clusters) are counted; an index run's snapshot keeps the last count."""
    past = history(settings)
    if past and groups is None and time.time() - past[-1].get("time", 0) < MIN_GAP_S:
        return past[-1]
    if not past:
        past = rebuild(settings, graph, born)
    now = snapshot(settings, graph, groups)
    if now["clusters"] is None:
        now["clusters"] = next((p["clusters"] for p in reversed(past) if p.get("clusters") is not None), None)
    past = [p for p in past if p.get("date") != now["date"]] + [now]
    write_atomic(path_of(settings), "".join(json.dumps(p, ensure_ascii=False) + "\n" for p in past))
    return now


def after_index(settings: Settings, graph: LinkGraph | None) -> dict[str, Any] | None:
    """The snapshot an index run leaves (at most one every MIN_GAP_S; the graph read from disk when the run did not
    load it, which happens only when there is a snapshot to take)."""
    past_time = _last_time(settings)
    if past_time is not None and time.time() - past_time < MIN_GAP_S:
        return None
    if graph is None:
        if not settings.graph_path.is_file():
            return None
        graph = LinkGraph.load(settings.graph_path)
    return record(settings, graph)


def _last_time(settings: Settings) -> float | None:
    past = history(settings)
    return past[-1].get("time", 0.0) if past else None


def rebuild(settings: Settings, graph: LinkGraph, born: dict[str, date] | None = None) -> list[dict[str, Any]]:
    """Month-end snapshots from the notes' own dates: what the vault looked like as it grew."""
    born = born if born is not None else birth_dates(settings, graph)
    if not born:
        return []
    months = _months(min(born.values()), date.today())
    out = []
    for month_end in months[:-1]:  # the current month is today's live snapshot
        alive = {n for n, d in born.items() if d <= month_end}
        links = [(s, t) for s, t, a in graph.g.edges(data=True)
                 if s in alive and s != t and a.get("kind") != "tag"
                 and (t in alive or graph.g.nodes[t].get("kind") == "unresolved")]
        linked = {x for s, t in links if t in alive for x in (s, t)}
        out.append({"date": month_end.isoformat(), "time": 0, "notes": len(alive), "links": len(links),
                    "unresolved": sum(1 for _, t in links if t not in alive), "orphans": len(alive - linked),
                    "clusters": None, "answer_notes": None, "folders": {}, "rebuilt": True})
    return out


def birth_dates(settings: Settings, graph: LinkGraph) -> dict[str, date]:
    """A note's date as the vault states it (the earliest dated text of it: frontmatter, daily-note name, a chat's
    turns), else the older of its file's change and modification times."""
    notes = [n for n in graph.notes() if not _own(settings, n)]
    stated = _stated_dates(settings, notes)
    out = {}
    for note in notes:
        if note in stated:
            out[note] = stated[note]
            continue
        try:
            st = os.stat(settings.vault / note)
        except OSError:
            continue
        out[note] = datetime.fromtimestamp(min(st.st_mtime, st.st_ctime)).date()
    return out


def _stated_dates(settings: Settings, notes: list[str]) -> dict[str, date]:
    texts = ChunkStore(settings.chunks_path)
    try:
        earliest = texts.earliest_dates()
    finally:
        texts.close()
    out: dict[str, date] = {}
    for path in notes:
        try:
            out[path] = date.fromisoformat(earliest[path])
        except (KeyError, ValueError):
            continue  # undated, or a date the parser kept but the calendar has not
    return out


def _months(start: date, end: date) -> list[date]:
    """The last day of every month from start's to end's."""
    out, year, month = [], start.year, start.month
    while (year, month) <= (end.year, end.month):
        nxt = date(year + (month == 12), month % 12 + 1, 1)
        out.append(date.fromordinal(nxt.toordinal() - 1))
        year, month = nxt.year, nxt.month
    return out


def _own(settings: Settings, path: str) -> bool:
    folder = settings.answers_folder.strip("/")
    return bool(folder) and path.startswith(folder + "/")



@dataclass
class Thinking:
    """What the audit note shows: figures and their change over RECENT_DAYS, and the charts (SVG text by name)."""

    figures: dict[str, Any]
    charts: dict[str, str] = field(default_factory=dict)
    new_clusters: list[str] = field(default_factory=list)
    most_linked: list[tuple[str, int]] = field(default_factory=list)


def thinking(settings: Settings, graph: LinkGraph, words: dict[str, str]) -> Thinking:
    """Today's snapshot (clusters counted), the history, and the four charts."""
    from overlay.jobs import charts

    born = birth_dates(settings, graph)
    groups = cached_clusters(settings, graph)
    record(settings, graph, groups, born)
    past = history(settings)
    out = Thinking(summary(past))
    if len(past) >= 2:
        out.charts["growth"] = charts.growth(past, words)
        out.charts["orphans"] = charts.orphans(past, words)
    if groups:
        out.charts["clusters"], fresh = charts.new_clusters(groups, born, words)
        out.new_clusters = [c.name for c in fresh]
    chart, out.most_linked = charts.most_linked(graph, born, words)
    if out.most_linked:
        out.charts["linked"] = chart
    return out


def cached_clusters(settings: Settings, graph: LinkGraph) -> list[Cluster]:
    """The clusters of the graph as saved in graph.json, computed once per version of that file (seconds at 10,000
    notes; a night with no change pays nothing) and kept in `<state>/clusters.json`."""
    stamp = list(graph_stamp(settings.graph_path) or ())
    cache = settings.state_dir / CLUSTERS_FILE
    try:
        saved = json.loads(cache.read_text(encoding="utf-8"))
        if stamp and saved.get("stamp") == stamp and all(m in graph.g for c in saved["clusters"] for m in c):
            return named(graph, [tuple(c) for c in saved["clusters"]])
    except (OSError, ValueError, KeyError, TypeError):
        pass  # absent, cut short or from another version: computed again
    groups = clusters(graph)
    if stamp:
        write_atomic(cache, json.dumps({"stamp": stamp, "clusters": [list(c.members) for c in groups]},
                                       ensure_ascii=False))
    return groups


def summary(past: list[dict[str, Any]]) -> dict[str, Any]:
    """The latest snapshot and how it changed since the snapshot RECENT_DAYS before it (for `overlay status`)."""
    if not past:
        return {}
    now = past[-1]
    cutoff = (date.fromisoformat(now["date"]) - timedelta(days=RECENT_DAYS)).isoformat()
    before = next((p for p in reversed(past) if p["date"] <= cutoff), past[0])
    change = {k: now[k] - before[k] for k in ("notes", "links", "unresolved", "orphans")
              if isinstance(now.get(k), int) and isinstance(before.get(k), int)}
    return {**{k: v for k, v in now.items() if k != "time"}, "since": before["date"], "change": change,
            "orphan_share": round(now["orphans"] / now["notes"], 3) if now.get("notes") else None}
