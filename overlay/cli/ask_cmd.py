"""`overlay ask`: stream the answer live, then show the verified note body as Markdown and its sources."""

from __future__ import annotations

import click
from rich.live import Live
from rich.markdown import Markdown
from rich.table import Table

from overlay.answer.ask import AskResult, ask
from overlay.cli import emit_json, err, main, out, vault_options
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
            err.print(f"[dim]{payload} sources found; generating…[/]")
        self.live.update(Markdown(self.text))


@main.command("ask")
@click.argument("question")
@click.option("--k", default=None, type=click.IntRange(1, 50), help="Note sections given as sources (default: ask_k).")
@click.option("--no-write", is_flag=True, help="Print the answer only; write no note.")
@click.option("--from", "asked_from", default=None, metavar="NOTE",
              help="The note the question comes from: linked as asked_from, left out of its sources.")
@click.option("--thinking", "show_thinking", is_flag=True, help="Show the model's reasoning while it streams.")
@vault_options
def ask_command(settings: Settings, as_json: bool, question: str, k: int | None, no_write: bool,
                asked_from: str | None, show_thinking: bool) -> None:
    """Answer QUESTION from the vault's notes, with checked [[links]], and write it as a new note."""
    if as_json:
        emit_json(ask(settings, question, k=k, write=not no_write, asked_from=asked_from).as_dict())
        return
    live = LiveAnswer(show_thinking)
    with live.live:
        result = ask(settings, question, k=k, write=not no_write, asked_from=asked_from, on_event=live)
    render(result)


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
    out.print(f"citations {checks['citations_valid']}/{checks['citations_total']} valid, "
              f"links {checks['links_resolved']}/{checks['links_total']} resolved, "
              f"{checks['revised']} section(s) revised"
              + (f", removed: {', '.join(checks['removed'])}" if checks["removed"] else ""), highlight=False)
    if timings["gen_tokens"]:
        out.print(f"[dim]{data['model']}: {timings['gen_tokens']} tokens at {timings['gen_tok_s']} tok/s, "
                  f"first token {timings['ttft_s']} s, retrieval {timings['retrieve_s']} s[/]", highlight=False)
    if result.note_path:
        out.print(f"[green]wrote[/] {result.note_path}", highlight=False)
