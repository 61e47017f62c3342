"""`overlay mcp`."""

from __future__ import annotations

from overlay.cli import main, vault_options
from overlay.settings import Settings


@main.command("mcp")
@vault_options
def mcp_command(settings: Settings, as_json: bool) -> None:
    """Serve the vault to AI agents over the Model Context Protocol (stdio): search, related, read_note,
    graph_neighbors, suggest_links, ask, status. Configure it in .mcp.json (see README)."""
    from overlay.mcp_server.stdio import run  # the MCP SDK loads only here
    from overlay.session import Session

    run(Session(settings))
