"""overlay: a local-first AI overlay for Obsidian vaults.

Layers, each importing only those below it (tests/test_layout.py keeps this true):
  faces     overlay.cli (and the HTTP / MCP servers)   thin: parse, call the library, render
  library   overlay.library, overlay.doctor           the calls every face makes
  jobs      overlay.jobs     watch, triggers, reindex, audit note, schedule
  answer    overlay.answer   sources, LLM back-ends, the loop, checks, the answer note, write-back
  search    overlay.search   hybrid retrieval, related notes, evaluation
  index     overlay.index    chunking, embedding, Chroma, chunk texts, BM25, the indexer
  base      overlay.settings, overlay.errors, overlay.lock
`vault_sync` (files) and `graph` (links) sit below all of them.
"""

__version__ = "0.1.0"
