"""`overlay dataset export`: the vault's chats (and notes, and the user's edits of overlay's answers) as training
data for a LoRA. The library is overlay.dataset.export; README: From the vault to a LoRA."""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

import click
from rich.table import Table

from overlay.cli import emit_json, main, out, period_of, period_options, vault_options
from overlay.dataset.export import FORMATS, Options, export
from overlay.engine.models import model_file
from overlay.settings import Settings


@main.group("dataset")
def dataset_group() -> None:
    """Training data from the vault (for a LoRA of your own way of thinking)."""


@dataset_group.command("export")
@click.option("--out", "out_path", required=True, type=click.Path(path_type=Path, dir_okay=False),
              help="FILE.jsonl (train); FILE.val.jsonl, FILE.notes.jsonl, FILE.pairs.jsonl beside it.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="chat", show_default=True)
@click.option("--folders", default="", help="Only notes under these folders (comma-separated).")
@click.option("--min-chars", default=20, show_default=True, type=click.IntRange(0), help="Shortest reply kept.")
@click.option("--max-tokens", default=2048, show_default=True, type=click.IntRange(64),
              help="Longest example; earlier exchanges of the chat fill it as context, latest first.")
@click.option("--val", default=0.05, show_default=True, type=click.FloatRange(0, 1),
              help="Share of chats in the validation file (a chat is never on both sides).")
@click.option("--seed", default=0, show_default=True, type=int, help="Another seed, another (stable) split.")
@click.option("--system", default="", help="A system prompt put first in every example.")
@click.option("--notes", "with_notes", is_flag=True, help="Also your notes (not chats) as completion text.")
@click.option("--redact", is_flag=True, help="Replace e-mails, phone numbers, card-like numbers and URLs.")
@click.option("--tokenizer", default=None, metavar="GGUF",
              help="Count tokens with this model's tokenizer (\"bundled\" or a .gguf; default: an estimate).")
@period_options
@vault_options
def export_command(settings: Settings, as_json: bool, out_path: Path, fmt: str, folders: str, min_chars: int,
                   max_tokens: int, val: float, seed: int, system: str, with_notes: bool, redact: bool,
                   tokenizer: str | None, after, before) -> None:
    """Write the vault's chat exchanges as training examples, with a summary (--json for the figures)."""
    period = period_of(after, before) or ("", "")
    options = Options(fmt=fmt, after=period[0], before=period[1],
                      folders=tuple(f.strip() for f in folders.split(",") if f.strip()), min_chars=min_chars,
                      max_tokens=max_tokens, val=val, seed=seed, system=system, notes=with_notes, redact=redact)
    count = None
    if tokenizer:
        from overlay.engine.pooled import PooledModel

        vocab = PooledModel(settings, "vocab", str(model_file(dataclasses.replace(settings, model_path=tokenizer))))
        count = functools.lru_cache(maxsize=65536)(vocab.count)  # a chat's messages are counted once per example
    report = export(settings, out_path, options, count).as_dict()
    if as_json:
        emit_json(report)
        return
    table = Table("", "figure", title=f"dataset: {out_path}")
    for key in ("examples", "train", "val", "tokens", "chats", "notes", "pairs"):
        table.add_row(key, str(report[key]))
    table.add_row("tokens counted by", report["tokens_counted_by"])
    for group in ("by_month", "by_folder", "dropped", "redacted"):
        if report[group]:
            table.add_row(group.replace("_", " "), ", ".join(f"{k}: {v}" for k, v in report[group].items()))
    out.print(table)
