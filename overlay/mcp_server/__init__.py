"""`overlay mcp`: the library as a Model Context Protocol server over stdio, for agents (Claude Code, Qwen Code,
LM Studio, …). A face, like the CLI and `overlay serve`: every tool calls `overlay.session.Session`."""
