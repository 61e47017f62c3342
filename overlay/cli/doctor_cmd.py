"""`overlay doctor`."""

from __future__ import annotations

import sys

from rich.table import Table

from overlay import doctor
from overlay.cli import emit_json, main, out, vault_options
from overlay.settings import Settings


@main.command("doctor")
@vault_options
def doctor_command(settings: Settings, as_json: bool) -> None:
    """Check Python, llama-cpp-python (GPU offload?), the model, the embedding model, the state and the index."""
    checks = doctor.run(settings)
    if as_json:
        emit_json({"ok": all(c.ok for c in checks), "checks": doctor.as_dicts(checks)})
    else:
        table = Table("", "check", "detail", "fix", show_lines=True)
        for c in checks:
            table.add_row("[green]OK[/]" if c.ok else "[red]problem[/]", c.name, c.detail, c.fix)
        out.print(table)
    sys.exit(0 if all(c.ok for c in checks) else 1)
