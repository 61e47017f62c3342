"""overlay: a local-first AI overlay for Obsidian vaults."""

__version__ = "0.1.0"
