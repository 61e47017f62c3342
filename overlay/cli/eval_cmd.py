"""`overlay eval retrieval FILE.jsonl`, `overlay eval links` and `overlay eval names`."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from overlay import library
from overlay.answer.ask import ask
from overlay.answer.evaluation import evaluate as evaluate_answers
from overlay.cli import emit_json, main, out, vault_options
from overlay.search.evaluation import Question, evaluate_search, links_as_labels, load_questions, names_as_queries
from overlay.search.retrieval import MODES, Retriever
from overlay.settings import Settings


@main.group("eval")
def eval_group() -> None:
    """Score retrieval on question sets with known answers."""


def _ranking_options(command: Callable[..., None]) -> Callable[..., None]:
    """--k and --mode, as every retrieval score takes them."""
    command = click.option("--mode", type=click.Choice(MODES), default="hybrid", show_default=True)(command)
    return click.option("--k", default=10, show_default=True, type=click.IntRange(1, 100))(command)


def _run(settings: Settings, questions: list[Question], k: int, mode: str) -> dict[str, Any]:
    retriever = library.open_retriever(settings)
    try:
        return evaluate_search(retriever, questions, k, mode)
    finally:
        retriever.texts.close()


def _render(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit_json(result)
        return
    table = Table("group", "n", "hit@1", "hit@5", "hit@10", "mrr", "ndcg@5")
    rows = [("all", result), *(("kind " + key, v) for key, v in result["by_kind"].items()),
            *(("lang " + key, v) for key, v in result["by_lang"].items())]
    for name, m in rows:
        table.add_row(name, str(m["n"]), *(f"{m[key]:.2f}" for key in ("hit@1", "hit@5", "hit@10", "mrr", "ndcg@5")))
    out.print(table)
    if result["misses"]:
        out.print(f"misses: {', '.join(result['misses'])}")


@eval_group.command("retrieval")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@_ranking_options
@vault_options
def retrieval_command(settings: Settings, as_json: bool, file: Path, k: int, mode: str) -> None:
    """Score retrieval on FILE.jsonl ({"id","lang","question","gold","answer_facts","kind"} per line)."""
    _render({"mode": mode, **_run(settings, load_questions(file), k, mode)}, as_json)


def _from_the_vault(settings: Settings, make: Callable[[Retriever], list[Question]], none: str) -> list[Question]:
    """Questions made from the vault's own index (its graph and chunk texts); `none`: the error when there are none."""
    retriever = library.open_retriever(settings)
    try:
        if retriever.graph is None:
            raise click.ClickException("no link graph; run `overlay index` first")
        questions = make(retriever)
    finally:
        retriever.texts.close()
    if not questions:
        raise click.ClickException(none)
    return questions


@eval_group.command("links")
@_ranking_options
@click.option("--limit", default=200, show_default=True, type=click.IntRange(1, 100_000),
              help="How many linking notes to turn into questions.")
@vault_options
def links_command(settings: Settings, as_json: bool, k: int, mode: str, limit: int) -> None:
    """Score retrieval on your own vault: each note's text (link names removed) should find the notes it links to."""
    questions = _from_the_vault(settings, lambda r: links_as_labels(r.graph, r.texts, limit),
                                "no note links to another note with enough text to make a question")
    _render({"mode": mode, **_run(settings, questions, k, mode)}, as_json)


@eval_group.command("names")
@_ranking_options
@click.option("--limit", default=300, show_default=True, type=click.IntRange(1, 100_000),
              help="How many titles, and how many headings, to search for (a fixed sample of each).")
@vault_options
def names_command(settings: Settings, as_json: bool, k: int, mode: str, limit: int) -> None:
    """Score navigational search on your own vault: a note's title, or a heading only one note has, typed as the
    query, should find that note."""
    questions = _from_the_vault(settings, lambda r: names_as_queries(r.graph, r.texts, limit),
                                "no note has a title with a letter in it or a heading of two words to search for")
    _render({"mode": mode, **_run(settings, questions, k, mode)}, as_json)


@eval_group.command("answers")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--k", default=None, type=click.IntRange(1, 50), help="Sources per answer (default: ask_k).")
@click.option("--extractive", is_flag=True, help="Score the extractive mode (no model runs).")
@click.option("--limit", default=None, type=click.IntRange(1, 100_000), help="Only the first N questions.")
@vault_options
def answers_command(settings: Settings, as_json: bool, file: Path, k: int | None, extractive: bool,
                    limit: int | None) -> None:
    """Score whole answers on FILE.jsonl: gold note among the sources, distinct notes, citations, support, echoes,
    language and the share of `answer_facts` stated. Writes no notes."""
    if extractive:
        settings = dataclasses.replace(settings, answer_mode="extractive")
    questions = load_questions(file)[:limit]
    retriever = library.open_retriever(settings)
    try:
        result = evaluate_answers(questions, lambda q: ask(settings, q.question, k=k, write=False, log=False,
                                                           retriever=retriever))
    finally:
        retriever.texts.close()
    if as_json:
        emit_json(result)
        return
    table = Table("group", "n", *ANSWER_COLUMNS, title=f"answers by {result['model']}")
    rows = [("all", result), *(("kind " + key, v) for key, v in result["by_kind"].items()),
            *(("lang " + key, v) for key, v in result["by_lang"].items())]
    for name, m in rows:
        table.add_row(name, str(m["n"]), *("–" if m[c] is None else f"{m[c]:.2f}" for c in ANSWER_COLUMNS))
    out.print(table)
    for failure in result["failed"]:
        out.print(f"[red]failed[/] {failure['id']}: {failure['error']}")


ANSWER_COLUMNS = ("gold_in_sources", "distinct_notes", "facts", "supported", "citations_valid", "links_resolved",
                  "echo_removed", "language_match", "seconds")
