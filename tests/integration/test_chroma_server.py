"""The same store module against a real Chroma server on loopback (`chroma run`), as a multi-machine setup would."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from overlay import library
from overlay.settings import load_settings
from tests.conftest import write

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def chroma_server(tmp_path: Path):
    exe = Path(sys.executable).with_name("chroma")
    if not exe.exists():
        exe = Path(shutil.which("chroma") or "chroma")
    port = _free_port()
    proc = subprocess.Popen([str(exe), "run", "--path", str(tmp_path / "server-data"), "--host", "127.0.0.1",
                             "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("chroma server did not start")
                time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_index_and_search_through_a_chroma_server(vault: Path, chroma_server: str) -> None:
    write(vault, "Сон.md", "# Сон\nВзрослому спортсмену нужно 8–9 часов сна.")
    write(vault, "GPU.md", "# Memory\nThe card has 96 GB of video memory.")
    settings = load_settings(vault, chroma_url=chroma_server)
    report = library.index(settings)
    assert report.notes == 2 and report.chunks == 2
    assert not (settings.state_dir / "chroma").exists()  # vectors live on the server
    hits = library.search(settings, "сколько нужно спать", k=1)
    assert hits[0].path == "Сон.md"
    write(vault, "GPU.md", "# Memory\nThe card has 48 GB of video memory.")
    assert library.index(settings).embedded == 1
    assert library.search(settings, "video memory size", k=1)[0].path == "GPU.md"


def test_a_model_change_migrates_and_drops_the_old_collection_only_when_done(tmp_path: Path) -> None:
    """Real embedded Chroma, two stand-in models: the old collection survives until the new one is complete."""
    import chromadb

    from overlay.index.chroma_store import ChromaStore, collection_name
    from overlay.index.indexer import Indexer
    from overlay.jobs.reindex import reindex
    from tests.fakes import HashEmbedder

    class Old(HashEmbedder):
        name = "st:old-model"

    class New(HashEmbedder):
        name = "st:new-model"

    vault = tmp_path / "vault"
    for i in range(5):
        write(vault, f"Заметка {i}.md", f"# Заметка {i}\nтекст про сон и тренировки {i}\n")
    settings = load_settings(vault, embedding_model="old-model")
    Indexer(settings, embedder=Old(), store_factory=ChromaStore).run()

    def collections() -> list[str]:
        client = chromadb.PersistentClient(path=str(settings.chroma_path))
        return sorted(c if isinstance(c, str) else c.name for c in client.list_collections())

    assert [c.split("-")[0] for c in collections()] == ["chunks", "notes"]  # chunk and note vectors, one model
    new_settings = load_settings(vault, embedding_model="new-model")
    report = reindex(new_settings, indexer=Indexer(new_settings, embedder=New(), store_factory=ChromaStore))
    assert report.reembedded == report.checked["chunks"] > 0
    assert report.repaired["collections_dropped"] == 2  # the old model's chunk and note vectors
    assert all("new-model" in name for name in collections()) and len(collections()) == 2
    assert [p.name for p in settings.exact_path.iterdir()] == [collection_name("st:new-model")]  # snapshots too


def test_a_model_change_keeps_the_english_models_collection_and_drops_an_older_one(tmp_path: Path) -> None:
    import chromadb

    from overlay.index.chroma_store import ChromaStore

    vault = tmp_path / "vault"
    write(vault, "a.md", "text")
    settings = load_settings(vault)
    stores = {name: ChromaStore(settings, name, 4) for name in ("st:new", "latin:minilm", "latin:old", "st:old")}
    for store in stores.values():
        store.add(["c1"], np.ones((1, 4), dtype=np.float32), [{"path": "a.md", "text_hash": "h"}])
    dropped = stores["st:new"].drop_other_models(keep=["latin:minilm"])
    client = chromadb.PersistentClient(path=str(settings.chroma_path))
    left = sorted(c if isinstance(c, str) else c.name for c in client.list_collections())
    assert len(dropped) == 2 and all("old" in name for name in dropped)
    assert len(left) == 2 and any("latin-minilm" in name for name in left) and any("st-new" in name for name in left)
