"""Search: hybrid retrieval (dense + BM25 + link graph) and its fusion, related notes, retrieval evaluation.

Reads what `overlay.index` wrote; never writes the index. Imports `overlay.index` and below.
"""
