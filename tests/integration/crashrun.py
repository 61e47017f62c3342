"""Run the overlay CLI in this process with the hash embedder, optionally SIGKILLed at one point of the index run.

    python tests/integration/crashrun.py [--crash POINT:N] overlay-args...

POINT is where the N-th call dies: `embed` (while embedding), `upsert` (after half a Chroma add), `texts` (in the
chunk-store transaction), `graph` (half-way through writing graph.json, as a non-atomic writer would leave it),
`manifest` (inside the manifest transaction, before it commits), `delete` (after half a Chroma
delete). The hooks live here, in the test harness, not in
the product: they wrap the real functions.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def install(point: str, nth: int) -> None:
    calls = {"n": 0}

    def due() -> bool:
        calls["n"] += 1
        return calls["n"] == nth

    if point == "embed":
        from tests.fakes import HashEmbedder

        real = HashEmbedder.embed_documents
        HashEmbedder.embed_documents = lambda self, texts: die() if due() else real(self, texts)
    elif point == "upsert":
        from overlay.index.chroma_store import ChromaStore

        real_add = ChromaStore.add

        def add(self, ids, vectors, metadatas):
            if due():
                half = max(len(ids) // 2, 1)
                real_add(self, ids[:half], vectors[:half], metadatas[:half])
                die()
            real_add(self, ids, vectors, metadatas)

        ChromaStore.add = add
    elif point == "delete":
        from overlay.index.chroma_store import ChromaStore

        real_delete = ChromaStore.delete

        def delete(self, ids):
            if due() and ids:
                real_delete(self, ids[: max(len(ids) // 2, 1)])
                die()
            real_delete(self, ids)

        ChromaStore.delete = delete
    elif point == "texts":
        from overlay.index.chunk_store import ChunkStore

        real_replace = ChunkStore.replace_paths

        def replace_paths(self, paths, chunks, answers=(), notes=None):
            if due():
                self._db.execute("BEGIN")
                self._db.executemany("DELETE FROM chunks WHERE path = ?", [(p,) for p in set(paths)])
                die()
            real_replace(self, paths, chunks, answers, notes)

        ChunkStore.replace_paths = replace_paths
    elif point == "graph":
        from graph import LinkGraph

        real_save = LinkGraph.save

        def save(self, path):
            if due():
                import json

                data = json.dumps({"version": 1, "graph": {"nodes": ["x"] * 5000}}).encode()
                path.write_bytes(data[: len(data) // 2])
                die()
            real_save(self, path)

        LinkGraph.save = save
    elif point == "manifest":
        from vault_sync import Manifest

        real_commit = Manifest.commit

        def commit(self, upserts, deletes, meta=None):
            if due():
                self._db.execute("BEGIN")
                self._db.executemany("DELETE FROM files WHERE path = ?", [(p,) for p in deletes])
                self._db.executemany("DELETE FROM files WHERE path = ?", [(e.path,) for e in upserts])
                die()
            real_commit(self, upserts, deletes, meta)

        Manifest.commit = commit
    else:
        raise SystemExit(f"unknown crash point {point}")


def main() -> None:
    args = sys.argv[1:]
    if args and args[0] == "--crash":
        point, nth = args[1].split(":")
        install(point, int(nth))
        args = args[2:]
    import overlay.index.embedding
    from tests.fakes import HashEmbedder

    embedder = HashEmbedder()
    embedder.name = "st:fake-hash"  # what embedder_name() says for OVERLAY_EMBEDDING_MODEL=fake-hash
    os.environ["OVERLAY_EMBEDDING_MODEL"] = "fake-hash"
    overlay.index.embedding.make_embedder = lambda _settings: embedder
    import overlay.index.indexer

    overlay.index.indexer.make_embedder = overlay.index.embedding.make_embedder
    from overlay.cli import main as cli

    sys.argv = ["overlay", *args]
    cli()


if __name__ == "__main__":
    main()
