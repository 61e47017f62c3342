"""`overlay ask`: stream the answer live, then show the verified note body as Markdown and its sources."""

from __future__ import annotations

import dataclasses

import click
from rich.live import Live
from rich.markdown import Markdown
from rich.table import Table

from overlay.answer.ask import AskResult, ask, refresh
from overlay.cli import emit_json, err, main, out, period_of, period_options, vault_options
from overlay.errors import OverlayError
from overlay.index.stems import unmark
from overlay.settings import Settings


class LiveAnswer:
    """What the model writes, rendered as Markdown while it streams (transient: the checked text replaces it)."""

    def __init__(self, show_thinking: bool) -> None:
        self.text = ""
        self.show_thinking = show_thinking
        self.live = Live(Markdown(""), console=out, refresh_per_second=8, transient=True,
                         vertical_overflow="visible")

    def __call__(self, kind: str, payload: str) -> None:
        if kind == "section":
            self.text += f"\n\n### {payload}\n\n"
        elif kind == "text":
            self.text += payload
        elif kind == "thinking" and self.show_thinking:
            self.text += payload.replace("\n", " ")
        elif kind == "revise":
            err.print(f"[yellow]revising “{payload}”: some citations or links did not check out[/]")
            self.text += "\n\n*(revising…)*\n\n"
        elif kind == "sources":
            err.print(f"[dim]{payload} sources found; answering…[/]")
        self.live.update(Markdown(self.text))


@main.command("ask")
@click.argument("question", required=False)
@click.option("--k", default=None, type=click.IntRange(1, 50), help="Note sections given as sources (default: ask_k).")
@click.option("--no-write", is_flag=True, help="Print the answer only; write no note.")
@click.option("--from", "asked_from", default=None, metavar="NOTE",
              help="The note the question comes from: linked as asked_from, left out of its sources.")
@click.option("--thinking", "show_thinking", is_flag=True, help="Show the model's reasoning while it streams.")
@click.option("--extractive", is_flag=True, help="Quote the notes' own sentences; no model runs (answer_mode).")
@click.option("--refresh", "refresh_note", default=None, metavar="NOTE",
              help="Answer an answer note's question again: in place if you have not edited it, else as a new note.")
@period_options
@vault_options
def ask_command(settings: Settings, as_json: bool, question: str | None, k: int | None, no_write: bool,
                asked_from: str | None, show_thinking: bool, extractive: bool, refresh_note: str | None,
                after, before) -> None:
    """Answer QUESTION from the vault's notes, with checked [[links]], and write it as a new note."""
    if extractive:
        settings = dataclasses.replace(settings, answer_mode="extractive")
    if bool(question) == bool(refresh_note):
        raise OverlayError("give a QUESTION, or --refresh NOTE (an answer note to answer again), not both",
                           hint='overlay ask "Сколько часов сна нужно?"  or  overlay ask --refresh "Overlay/…"')

    def run(on_event=None) -> AskResult:
        if refresh_note:
            return refresh(settings, refresh_note, k=k, on_event=on_event)
        return ask(settings, question, k=k, write=not no_write, asked_from=asked_from, on_event=on_event,
                   period=period_of(after, before))

    if as_json:
        emit_json(run().as_dict())
        return
    live = LiveAnswer(show_thinking)
    with live.live:
        result = run(live)
    render(result)
    if question and result.draft.question != unmark(question.strip()):  # the wrong layout, a slip in a name
        out.print(f"asked as: {result.draft.question}", highlight=False)


def render(result: AskResult) -> None:
    body = result.answer.split("\n> [!thinking]-", 1)[0]
    out.print(Markdown(body))
    if result.draft.sources:
        table = Table("#", "note", "section", "score", title="sources")
        for s in result.draft.sources:
            table.add_row(str(s.n), s.path, s.heading, f"{s.score:.4f}")
        out.print(table)
    data = result.as_dict()
    checks, timings = data["checks"], data["timings"]
    out.print(f"{data['distinct_notes']} notes; citations {checks['citations_valid']}/{checks['citations_total']} "
              f"valid, {checks['supported']}/{checks['cited_sentences']} cited sentences supported, "
              f"links {checks['links_resolved']}/{checks['links_total']} resolved, "
              f"{checks['revised']} section(s) revised"
              + (f", removed: {', '.join(checks['removed'])}" if checks["removed"] else ""), highlight=False)
    if timings["gen_tokens"]:
        out.print(f"[dim]{data['model']}: {timings['gen_tokens']} tokens at {timings['gen_tok_s']} tok/s, "
                  f"first token {timings['ttft_s']} s, retrieval {timings['retrieve_s']} s[/]", highlight=False)
    if result.note_path:
        how = f" ({result.refreshed})" if result.refreshed else ""
        out.print(f"[green]wrote[/] {result.note_path}{how}", highlight=False)
