"""Indexing: scan → parse → chunk → embed → the stores (Chroma vectors, sqlite chunk texts, BM25 stems).

Owns the embedder and vector-store interfaces and their engines. Imports `vault_sync`, `graph`, and from overlay
only `settings`, `errors`, `lock`.
"""
