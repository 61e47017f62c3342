"""`overlay eval retrieval FILE.jsonl` and `overlay eval links`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.table import Table

from overlay import library
from overlay.cli import emit_json, main, out, vault_options
from overlay.search.evaluation import Question, evaluate, links_as_labels, load_questions
from overlay.search.retrieval import MODES
from overlay.settings import Settings


@main.group("eval")
def eval_group() -> None:
    """Score retrieval on question sets with known answers."""


def _run(settings: Settings, questions: list[Question], k: int, mode: str) -> dict[str, Any]:
    retriever = library.open_retriever(settings)
    try:
        return evaluate(questions, lambda q, depth: [r.path for r in retriever.search(
            q.question, depth, mode=mode, exclude=q.exclude)], k)
    finally:
        retriever.texts.close()


def _render(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit_json(result)
        return
    table = Table("group", "n", "hit@1", "hit@5", "hit@10", "mrr")
    rows = [("all", result), *(("kind " + key, v) for key, v in result["by_kind"].items()),
            *(("lang " + key, v) for key, v in result["by_lang"].items())]
    for name, m in rows:
        table.add_row(name, str(m["n"]), *(f"{m[key]:.2f}" for key in ("hit@1", "hit@5", "hit@10", "mrr")))
    out.print(table)
    if result["misses"]:
        out.print(f"misses: {', '.join(result['misses'])}")


@eval_group.command("retrieval")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--k", default=10, show_default=True, type=click.IntRange(1, 100))
@click.option("--mode", type=click.Choice(MODES), default="hybrid", show_default=True)
@vault_options
def retrieval_command(settings: Settings, as_json: bool, file: Path, k: int, mode: str) -> None:
    """Score retrieval on FILE.jsonl ({"id","lang","question","gold","answer_facts","kind"} per line)."""
    _render({"mode": mode, **_run(settings, load_questions(file), k, mode)}, as_json)


@eval_group.command("links")
@click.option("--k", default=10, show_default=True, type=click.IntRange(1, 100))
@click.option("--mode", type=click.Choice(MODES), default="hybrid", show_default=True)
@click.option("--limit", default=200, show_default=True, type=click.IntRange(1, 100_000),
              help="How many linking notes to turn into questions.")
@vault_options
def links_command(settings: Settings, as_json: bool, k: int, mode: str, limit: int) -> None:
    """Score retrieval on your own vault: each note's text (link names removed) should find the notes it links to."""
    retriever = library.open_retriever(settings)
    try:
        if retriever.graph is None:
            raise click.ClickException("no link graph; run `overlay index` first")
        questions = links_as_labels(retriever.graph, retriever.texts, limit)
    finally:
        retriever.texts.close()
    if not questions:
        raise click.ClickException("no note links to another note with enough text to make a question")
    _render({"mode": mode, **_run(settings, questions, k, mode)}, as_json)
