"""The vault audit note: what is wrong in the vault itself (links to nowhere, ambiguous links, orphans, unreadable
files) and what the nightly run changed and repaired. One note, rewritten in place atomically; every [[link]] in it
resolves (a target that does not exist is shown as code, not as a link)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

import prompts
from graph import LinkGraph
from overlay.answer.writeback import answers_dir, vault_relative, vault_writes
from overlay.errors import WriteRefused
from overlay.index.indexer import IndexReport
from overlay.jobs import metrics
from overlay.settings import Settings
from vault_sync import Manifest, SkipFile, read_note, write_atomic
from vault_sync.frontmatter_edit import new_note_text
from vault_sync.markdown import LINK_UNSAFE
from vault_sync.script import has_cyrillic

AUDIT_TYPE = "overlay-audit"
CHART_MARK = "<!-- overlay-audit chart: rewritten by each nightly audit -->"
LIST_LIMIT = 200  # per section: a 100k-note vault must still get a readable note


def write_audit_note(settings: Settings, graph: LinkGraph, index: IndexReport, reindex: dict[str, Any]) -> str | None:
    """Write the note; returns its vault path, or None when a note of the user's own holds that name."""
    path = audit_path(settings)
    if not _ours_or_absent(settings, path):
        reindex["messages"].append(f"{vault_relative(settings, path)} is the user's own note; no audit written")
        return None
    manifest = Manifest(settings.manifest_path)
    try:
        skipped = manifest.skipped()
        warnings = manifest.warnings()
        counts = manifest.counts()
    finally:
        manifest.close()
    lang = _language(settings, graph)
    words = prompts.table("audit.toml")[lang]
    mind = _thinking(settings, graph, words, warnings)
    rows = skipped + [{"warning": "1", **w} for w in warnings]
    charts = {name: path.with_name(f"{path.stem} - {name}.svg") for name in mind.charts}
    charts = {name: chart for name, chart in charts.items() if _chart_ours_or_absent(chart)}
    render = _Render(settings, graph, words)
    text = render.note(index, reindex, rows, counts, render.thinking(mind, {k: p.name for k, p in charts.items()}))
    with vault_writes(settings):
        if not _ours_or_absent(settings, path):  # the user made a note of that name while the audit ran
            return None
        for name, chart in charts.items():
            write_atomic(chart, mind.charts[name].replace("<svg ", f"{CHART_MARK}\n<svg ", 1))
        write_atomic(path, text)
    return vault_relative(settings, path)


def _chart_ours_or_absent(path: Path) -> bool:
    """A chart file is rewritten only when an earlier audit wrote it (it carries our mark)."""
    try:
        with path.open("rb") as f:
            return CHART_MARK.encode() in f.read(4096)
    except FileNotFoundError:
        return True
    except OSError:
        return False


def write_failure_note(settings: Settings, error: str) -> str | None:
    """A failed nightly run says so where the user reads the audit: the note becomes the failure and its error."""
    if not settings.audit_note:
        return None
    path = audit_path(settings)
    lang = "en" if settings.answer_language == "en" else "ru"
    w = prompts.table("audit.toml")[lang]
    when = datetime.now().astimezone().isoformat(timespec="seconds")
    body = f"# {w['title']}\n\n> [!danger] {w['failed_title']}\n> " + prompts.fill(w["failed_line"], when=when) + \
        f"\n>\n> `{error.replace('`', '')}`\n"
    meta = {"type": AUDIT_TYPE, "updated": when, "failed": True}
    with vault_writes(settings):
        if not _ours_or_absent(settings, path):
            return None
        write_atomic(path, new_note_text(meta, body))
    return vault_relative(settings, path)


def audit_path(settings: Settings) -> Path:
    """`<answers folder>/<audit_note>.md`, refused unless it stays inside the answers folder."""
    folder = answers_dir(settings)
    path = (folder / f"{settings.audit_note}.md").resolve()
    if path.parent != folder:
        raise WriteRefused(f"audit_note {settings.audit_note!r} must be a note name inside {folder}")
    return path


def _ours_or_absent(settings: Settings, path: Path) -> bool:
    """True when no file is there or it is an audit note we wrote. A note we cannot read, or whose frontmatter
    is broken, is the user's: never overwritten."""
    if not path.exists():
        return True
    try:
        note, _ = read_note(settings.vault, vault_relative(settings, path))
    except (SkipFile, OSError):
        return False
    return note.frontmatter.get("type") == AUDIT_TYPE


def _language(settings: Settings, graph: LinkGraph) -> str:
    if settings.answer_language in ("ru", "en"):
        return settings.answer_language
    titles = [a.get("title", "") for _, a in graph.g.nodes(data=True) if a.get("kind") == "note"]
    return "ru" if sum(has_cyrillic(t) for t in titles) * 2 >= len(titles) > 0 else "en"


def _thinking(settings: Settings, graph: LinkGraph, words: dict[str, str],
              warnings: list[dict[str, str]]) -> metrics.Thinking:
    """The metrics section; when it cannot be made the rest of the audit still is, and says why."""
    try:
        return metrics.thinking(settings, graph, words)
    except Exception as exc:  # a plotting or history failure must not cost the night its audit note
        warnings.append({"path": str(metrics.path_of(settings)), "reason": f"metrics of thinking: {exc}"})
        return metrics.Thinking({})


class _Render:
    def __init__(self, settings: Settings, graph: LinkGraph, words: dict[str, str]) -> None:
        self.s, self.graph, self.w = settings, graph, words
        self.ours = settings.answers_folder.strip("/").lower() + "/"

    def note(self, index: IndexReport, reindex: dict[str, Any], skipped: list[dict[str, str]],
             counts: dict[str, int], thinking: str = "") -> str:
        w, stats = self.w, self.graph.stats()
        parts = [prompts.fill(w["intro"], when=datetime.now().astimezone().isoformat(timespec="seconds")),
                 f"## {w['size']}\n\n" + prompts.fill(
                     w["size_line"], notes=counts["notes"], chunks=counts["chunks"], links=stats["links"],
                     unresolved=stats["unresolved_links"], seconds=round(reindex["seconds"], 1)),
                 *([thinking] if thinking else []),
                 self._repairs(reindex), self._changes(index), self._unresolved(), self._ambiguous(),
                 self._orphans(), self._stale(reindex.get("stale_answers", [])), self._skipped(skipped)]
        meta = {"type": AUDIT_TYPE, "updated": datetime.now().astimezone().isoformat(timespec="seconds")}
        body = f"# {w['title']}\n\n" + "\n\n".join(parts) + "\n"
        return new_note_text(meta, body)

    # ---- links ------------------------------------------------------------------------------------------------
    def link(self, path: str) -> str:
        """A [[link]] when it resolves, else the path as code."""
        text = self.graph.resolver.link_text(path)
        if LINK_UNSAFE.search(text) or self.graph.resolver.resolve(text, "").path != path:
            return f"`{path}`"
        return f"[[{text}]]"

    def _mine(self, path: str) -> bool:
        return path.lower().startswith(self.ours)

    def _listing(self, title: str, lines: list[str]) -> str:
        shown = lines[:LIST_LIMIT] or [self.w["none"]]
        more = [prompts.fill(self.w["more"], n=len(lines) - LIST_LIMIT)] if len(lines) > LIST_LIMIT else []
        return f"## {title} ({len(lines)})\n\n" + "\n".join(f"- {line}" for line in shown + more)

    # ---- sections ---------------------------------------------------------------------------------------------
    def _repairs(self, reindex: dict[str, Any]) -> str:
        done = {k: v for k, v in reindex["repaired"].items() if v}
        lines = [f"{k}: {v}" for k, v in done.items()] + reindex["messages"]
        return f"## {self.w['repairs']}\n\n" + ("\n".join(f"- {x}" for x in lines) if lines else self.w["repairs_none"])

    def _changes(self, index: IndexReport) -> str:
        head = prompts.fill(self.w["changes_line"], new=index.new, modified=index.modified, moved=index.moved,
                            deleted=index.deleted)
        lines = [self.link(p) for p in index.changed_paths if not self._mine(p)]
        lines += [f"`{p}` ({self.w['deleted']})" for p in index.deleted_paths if not self._mine(p)]
        return self._listing(self.w["changes"], lines).replace("\n\n", f"\n\n{head}\n\n", 1)

    def _unresolved(self) -> str:
        sources: dict[str, set[str]] = defaultdict(set)
        for source, title in self.graph.unresolved_edges():
            if not self._mine(source):
                sources[title].add(source)
        lines = [prompts.fill(self.w["unresolved_line"], target=f"`[[{t}]]`",
                              sources=", ".join(self.link(p) for p in sorted(srcs)))
                 for t, srcs in sorted(sources.items(), key=lambda item: (-len(item[1]), item[0]))]
        return self._listing(self.w["unresolved"], lines)

    def _ambiguous(self) -> str:
        lines = []
        for source, target, attrs in self.graph.g.edges(data=True):
            if attrs.get("ambiguous") and not self._mine(source):
                lines.append(prompts.fill(self.w["ambiguous_line"], source=self.link(source), target=self.link(target),
                                          candidates=", ".join(self.link(c) for c in attrs["ambiguous"])))
        return self._listing(self.w["ambiguous"], sorted(set(lines)))

    def _orphans(self) -> str:
        g = self.graph.g
        notes = {p for p, a in g.nodes(data=True) if a.get("kind") == "note" and not self._mine(p)}
        linked: set[str] = set()
        for source, target in g.edges():  # one pass: a note with any link to or from another of the user's notes
            if source != target and source in notes and target in notes:
                linked.update((source, target))
        return self._listing(self.w["orphans"], [self.link(p) for p in sorted(notes - linked)])

    def thinking(self, mind: metrics.Thinking, files: dict[str, str]) -> str:
        """Metrics of thinking: growth, orphans, new clusters and the most linked notes of the month, with charts."""
        f, w = mind.figures, self.w
        if not f:
            return ""
        change = f.get("change", {})
        lines = [prompts.fill(w["thinking_line"], notes=f["notes"], links=f["links"], dn=_signed(change.get("notes")),
                              dl=_signed(change.get("links")), since=f.get("since", "?"),
                              orphans=round(100 * (f.get("orphan_share") or 0)), clusters=f.get("clusters") or "?")]
        if mind.new_clusters:
            lines.append(prompts.fill(w["thinking_new"], names="; ".join(mind.new_clusters[:5])))
        if mind.most_linked:
            lines.append(prompts.fill(w["thinking_linked"],
                                      notes=", ".join(f"{self.link(p)} ({n})" for p, n in mind.most_linked[:5])))
        embeds = [f"![[{name}]]" for name in files.values()]
        return f"## {w['thinking']}\n\n" + "\n".join(f"- {x}" for x in lines) + (
            "\n\n" + "\n\n".join(embeds) if embeds else "")

    def _stale(self, answers: list[dict[str, Any]]) -> str:
        """Answer notes whose sources changed or vanished, with the command that answers them again."""
        lines = []
        for answer in answers:
            parts = [prompts.fill(self.w[f"stale_{kind}"], sources=", ".join(_inert(s) for s in answer[kind]))
                     for kind in ("changed", "vanished") if answer[kind]]
            refresh = f'`overlay ask --refresh "{answer["path"]}"`'
            lines.append(f"{self.link(answer['path'])} — {'; '.join(parts)}; {refresh}")
        return self._listing(self.w["stale"], lines)

    def _skipped(self, rows: list[dict[str, str]]) -> str:
        """Unreadable files (as code: they are not notes), then notes read with a caveat (as links)."""
        skipped = [f"`{r['path']}` — {r['reason']}" for r in rows if "warning" not in r]
        caveats = [f"{self.link(r['path'])} — {r['reason']}" for r in rows if "warning" in r]
        return (self._listing(self.w["skipped"], skipped) + "\n\n"
                + self._listing(self.w["caveats"], caveats))


def _inert(link: str) -> str:
    """A source as the answer note links it, shown as code: it may be gone, and the audit note links only what
    resolves."""
    return f"`{link.replace('`', '')}`"


def _signed(value: int | None) -> str:
    return "±0" if not value else f"{value:+d}"
