"""`overlay watch` with the real watchdog on a temp vault; fakes for the embedder, the store and the model."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import frontmatter
import pytest

from overlay.errors import IndexLocked
from overlay.index.indexer import Indexer
from overlay.jobs import triggers
from overlay.jobs.watch import Watcher
from overlay.jobs.watch_health import read_health
from overlay.settings import load_settings
from tests.conftest import FakeIndex, write
from tests.fakes import FakeLLM
from vault_sync import read_note

QUESTION = ("---\noverlay: ask\ntags: [вопрос]\n---\nСколько часов сна нужно спортсмену?\n\n"
            "Конец заметки без перевода строки")


class Running:
    """A Watcher on fakes in a background thread, like `overlay watch` in a terminal."""

    def __init__(self, vault: Path, **settings) -> None:
        self.fake = FakeIndex(load_settings(vault, ask_settle_s=0.3, watch_quiet_s=0.2, **settings))
        self.llm = FakeLLM()
        self.llm.default = "Восемь часов сна [^1]."
        indexer = Indexer(self.fake.settings, embedder=self.fake.embedder, store_factory=lambda *_: self.fake.store)
        self.watcher = Watcher(self.fake.settings, indexer=indexer, llm=self.llm,
                               retriever_factory=self.fake.retriever)
        self.thread = threading.Thread(target=self.watcher.run, daemon=True)

    def __enter__(self) -> Running:
        self.thread.start()
        wait_for(lambda: self.watcher.health.last_batch is not None, "the catch-up index")
        return self

    def __exit__(self, *_exc) -> None:
        self.watcher.stop()
        self.thread.join(timeout=30)
        assert not self.thread.is_alive()


def wait_for(condition: Callable[[], object], what: str, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def answers(vault: Path) -> list[Path]:
    folder = vault / "Overlay"
    return sorted(folder.glob("20*.md")) if folder.is_dir() else []


def searchable(run: Running, word: str) -> bool:
    return any(r.path for r in run.fake.retriever().search(word, 5, mode="sparse"))


def test_edits_renames_and_deletes_follow_into_the_index(vault: Path) -> None:
    write(vault, "Сон.md", "# Сон\nВосемь часов сна.\n")
    with Running(vault) as run:
        assert searchable(run, "сна")
        write(vault, "Папка/Новая.md", "# Новая\nквазиуникальное слово\n")
        wait_for(lambda: searchable(run, "квазиуникальное"), "a new note to be searchable")
        os.rename(vault / "Папка/Новая.md", vault / "Папка/Переименована.md")
        wait_for(lambda: run.fake.retriever().search("квазиуникальное", 5, mode="sparse")[0].path
                 == "Папка/Переименована.md", "the rename")
        (vault / "Папка/Переименована.md").unlink()
        wait_for(lambda: not searchable(run, "квазиуникальное"), "the delete")


def test_a_note_that_asks_gets_an_answer_and_is_marked_byte_for_byte(vault: Path) -> None:
    write(vault, "Сон.md", "# Сон\nВзрослому спортсмену нужно восемь часов сна.\n")
    with Running(vault) as run:
        path = write(vault, "Вопросы/Сон спортсмена.md", QUESTION)
        wait_for(lambda: answers(vault), "an answer note")
        wait_for(lambda: "answered" in path.read_text(encoding="utf-8"), "the asking note marked")
        assert answers(vault)[0].name.endswith(" Сон спортсмена.md")  # named after the asking note
        post = frontmatter.loads(answers(vault)[0].read_text(encoding="utf-8"))
        assert post["asked_from"] == "[[Сон спортсмена]]" and post["type"] == "overlay-answer"
        marked = path.read_text(encoding="utf-8")
        meta = frontmatter.loads(marked)
        assert meta["overlay"] == "answered" and meta["overlay_answer"] == f"[[Overlay/{answers(vault)[0].stem}]]"
        assert meta["tags"] == ["вопрос"]
        assert marked.endswith(QUESTION.split("---\n", 2)[2])  # the body, byte for byte
        time.sleep(1.5)  # the marked note and the answer note are indexed again: neither asks
        assert len(answers(vault)) == 1 and run.watcher.health.answered == 1
        assert "Сколько часов" in run.llm.calls[0][1]["content"]


@pytest.mark.parametrize("text", [
    "# Q\n> [!ask] Сколько часов сна нужно спортсмену?\n> Коротко.\n\nОстальное не вопрос.\n",
    "Сколько часов сна нужно спортсмену? #overlay/ask\n",
])
def test_callout_and_tag_triggers(vault: Path, text: str) -> None:
    write(vault, "Сон.md", "# Сон\nВосемь часов сна.\n")
    with Running(vault) as run:
        path = write(vault, "Q.md", text)
        wait_for(lambda: run.watcher.health.answered == 1, "the answer")
        question = run.llm.calls[0][1]["content"]
        assert "Сколько часов сна нужно спортсмену?" in question
        assert "Остальное не вопрос" not in question and "#overlay/ask" not in question
        assert path.read_text(encoding="utf-8").endswith(text)


def test_asking_again_answers_again_as_a_new_note(vault: Path) -> None:
    write(vault, "Сон.md", "# Сон\nВосемь часов сна.\n")
    with Running(vault) as run:
        path = write(vault, "Q.md", QUESTION)
        wait_for(lambda: run.watcher.health.answered == 1, "the first answer")
        wait_for(lambda: "answered" in path.read_text(encoding="utf-8"), "the mark")
        time.sleep(0.5)
        text = path.read_text(encoding="utf-8").replace("overlay: answered", "overlay: ask")
        path.write_text(text.replace("Сколько часов", "Сколько минут"), encoding="utf-8")
        wait_for(lambda: run.watcher.health.answered == 2, "the second answer")
        assert len(answers(vault)) == 2


def test_an_edit_during_the_answer_is_not_clobbered(vault: Path) -> None:
    write(vault, "Сон.md", "# Сон\nВосемь часов сна.\n")
    question = triggers.Question("Q.md", "q", "0" * 64)
    path = write(vault, "Q.md", "---\noverlay: ask\n---\nq\n")
    settings = load_settings(vault)
    read = triggers.question_of(read_note(vault, "Q.md")[0], settings)
    path.write_text("---\noverlay: ask\n---\nq, edited while the model was writing\n", encoding="utf-8")
    with pytest.raises(triggers.NoteChanged):
        triggers.mark_answered(settings, read, "[[Overlay/x]]")
    with pytest.raises(triggers.NoteChanged):
        triggers.mark_answered(settings, question, "[[Overlay/x]]")
    assert path.read_text(encoding="utf-8").endswith("edited while the model was writing\n")


def test_the_watcher_leaves_a_note_edited_mid_answer_alone_then_answers_the_new_text(vault: Path) -> None:
    write(vault, "Сон.md", "# Сон\nВосемь часов сна.\n")
    with Running(vault) as run:
        path = vault / "Q.md"
        edited = QUESTION.replace("Сколько часов", "Сколько именно часов")

        class EditingLLM(FakeLLM):
            def stream(self, messages, **kw):
                if not self.calls:  # the user types while the first answer is being written
                    path.write_text(edited, encoding="utf-8")
                yield from super().stream(messages, **kw)

        run.watcher._llm = EditingLLM()
        run.watcher._llm.default = "Восемь [^1]."
        write(vault, "Q.md", QUESTION)
        wait_for(lambda: run.watcher.health.answered >= 1, "an answer to the edited question", timeout=30)
        text = path.read_text(encoding="utf-8")
        assert "Сколько именно часов" in text and "overlay: answered" in text
        asked = [c[1]["content"] for c in run.watcher._llm.calls]
        assert any("Сколько именно часов" in q for q in asked)
        time.sleep(1.0)
        assert len(answers(vault)) == 1  # the answer to the outdated text was never written


def test_answer_notes_and_answered_notes_never_ask(vault: Path) -> None:
    from vault_sync import parse_note

    settings = load_settings(vault)
    for rel, text in {"Overlay/A.md": "---\noverlay: ask\n---\nq\n",
                      "B.md": "---\ntype: overlay-answer\noverlay: ask\n---\nq\n",
                      "C.md": "---\noverlay: answered\n---\nq #overlay/ask\n"}.items():
        assert triggers.question_of(parse_note(text, rel, checksum="x"), settings) is None


def test_restart_catches_up_and_answers_what_came_while_stopped(vault: Path) -> None:
    write(vault, "Сон.md", "# Сон\nВосемь часов сна.\n")
    with Running(vault):
        pass
    write(vault, "Пока спал.md", "# Пока\nзаписано пока наблюдатель спал\n")
    asked = write(vault, "Q.md", QUESTION)
    old = time.time() - 60
    os.utime(asked, (old, old))
    with Running(vault) as run:
        assert searchable(run, "наблюдатель")
        wait_for(lambda: run.watcher.health.answered == 1, "the answer to a note written while stopped")


def test_one_writer_a_second_watcher_or_index_is_told(vault: Path) -> None:
    write(vault, "Сон.md", "# Сон\nВосемь часов сна.\n")
    with Running(vault) as run:
        with pytest.raises(IndexLocked, match="overlay watch"):
            Indexer(run.fake.settings, embedder=run.fake.embedder, store_factory=lambda *_: run.fake.store).run()
        assert run.fake.retriever().search("сна", 3)  # reading goes on beside the writer


def test_health_is_saved_and_a_clean_stop_says_so(vault: Path) -> None:
    write(vault, "Сон.md", "# Сон\nВосемь часов сна.\n")
    with Running(vault) as run:
        wait_for(lambda: read_health(run.fake.settings).get("running"), "status.json")
        health = read_health(run.fake.settings)
        assert health["pid"] == os.getpid() and health["last_batch"]["why"] == "catch-up"
        assert set(health) >= {"running", "pid", "since", "last_batch", "queue", "answered", "errors"}
    assert read_health(run.fake.settings)["running"] is False


def test_one_failing_question_never_stops_the_watcher(vault: Path) -> None:
    write(vault, "Сон.md", "# Сон\nВосемь часов сна.\n")
    with Running(vault) as run:
        run.llm.default = None  # the model fails: FakeLLM raises with an empty queue
        run.watcher._llm = _Broken()
        write(vault, "Q.md", QUESTION)
        wait_for(lambda: run.watcher.health.errors, "the error to be recorded")
        assert run.watcher.health.errors[-1]["path"] == "Q.md"
        write(vault, "После.md", "# После\nпослеошибочное слово\n")
        wait_for(lambda: searchable(run, "послеошибочное"), "indexing to go on")


class _Broken(FakeLLM):
    def stream(self, messages, *, max_tokens: int, temperature: float):
        from overlay.errors import LLMError

        raise LLMError("the model server is down")


def _manifest_paths(settings) -> list[str]:
    from vault_sync import Manifest

    manifest = Manifest(settings.manifest_path)
    try:
        return [p for p, e in manifest.entries().items() if e.status == "ok"]
    finally:
        manifest.close()


def _state(settings, store) -> dict[str, object]:
    """Everything the index holds about the vault, comparable between two state dirs."""
    from graph import LinkGraph
    from overlay.index.chunk_store import ChunkStore
    from vault_sync import Manifest

    manifest = Manifest(settings.manifest_path)
    entries = {p: (e.checksum, e.chunk_ids) for p, e in manifest.entries().items()}
    manifest.close()
    texts = ChunkStore(settings.chunks_path)
    chunk_ids = sorted(texts.all_terms()[0])
    texts.close()
    graph = LinkGraph.load(settings.graph_path).g
    return {"manifest": entries, "chunk_texts": chunk_ids, "vectors": sorted(store.rows),
            "graph_nodes": sorted(graph.nodes), "graph_edges": sorted((u, v, k) for u, v, k in graph.edges(keys=True))}


def test_a_storm_of_1000_changes_ends_exactly_in_step(vault: Path, tmp_path: Path) -> None:
    """1,000 creates / edits / renames / deletes in a few seconds (Cyrillic names, nested folders) while the
    watcher runs; afterwards its index equals a clean index of the final vault: nothing missing, stale or doubled."""
    import dataclasses
    import random

    rng = random.Random(7)
    folders = ["", "Проекты/", "Проекты/Глубоко/Вложено/", "Notes/", "Чаты/2025/"]
    with Running(vault) as run:
        alive: list[str] = []
        started = time.monotonic()
        for i in range(1000):
            op = rng.random()
            if op < 0.45 or len(alive) < 10:
                rel = f"{rng.choice(folders)}Заметка {i} ёж.md"
                other = rng.choice(alive).rsplit("/", 1)[-1][:-3] if alive else "Нет"
                write(vault, rel, f"# Заметка {i}\nтекст {i} про [[{other}]] и #тег/{i % 7}\n")
                alive.append(rel)
            elif op < 0.7:
                rel = rng.choice(alive)
                write(vault, rel, f"# Правка {i}\nновый текст {i}, ссылка [[Заметка {rng.randrange(i)} ёж]]\n")
            elif op < 0.85:
                rel = alive.pop(rng.randrange(len(alive)))
                new = f"{rng.choice(folders)}Переименована {i}.md"
                (vault / new).parent.mkdir(parents=True, exist_ok=True)
                os.rename(vault / rel, vault / new)
                alive.append(new)
            else:
                (vault / alive.pop(rng.randrange(len(alive)))).unlink()
        storm_s = time.monotonic() - started
        on_disk = {p.relative_to(vault).as_posix() for p in vault.rglob("*.md")}
        wait_for(lambda: set(_manifest_paths(run.fake.settings)) == on_disk, "the index to catch up", timeout=120)
        time.sleep(1.0)
        wait_for(lambda: run.watcher.health.queue == 0, "the last batch", timeout=60)
    assert storm_s < 30
    clean = FakeIndex(dataclasses.replace(run.fake.settings, state_dir=tmp_path / "clean-state"))
    clean.run()
    watched, fresh = _state(run.fake.settings, run.fake.store), _state(clean.settings, clean.store)
    assert set(watched["manifest"]) == {p for p in fresh["manifest"]} == {
        p.relative_to(vault).as_posix() for p in vault.rglob("*.md")}
    for key in fresh:
        assert watched[key] == fresh[key], key


def test_nightly_reindex_runs_inside_the_watcher(vault: Path) -> None:
    from overlay.jobs.watch import next_time

    write(vault, "Сон.md", "# Сон\nВосемь часов сна. [[Нигде]]\n")
    with Running(vault) as run:
        # The nightly time is the minute that just passed, whatever the clock says (a fixed "03:30"
        # made this test fail when it ran between 02:30 and 03:30), so the next run is a day away.
        run.watcher.nightly = time.strftime("%H:%M", time.localtime(time.time() - 60))
        run.watcher.next_nightly = time.time() - 1  # as if that minute had just come
        wait_for(lambda: (vault / "Overlay" / "Vault audit.md").is_file(), "the audit note")
        wait_for(lambda: run.watcher.health.last_batch.get("why") == "nightly reindex", "the nightly run")
        assert run.watcher.next_nightly > time.time() + 20 * 3600
    due = next_time("03:30", after=time.mktime((2026, 11, 23, 4, 0, 0, 0, 0, -1)))
    assert time.localtime(due)[:5] == (2026, 11, 24, 3, 30)
    due = next_time("03:30", after=time.mktime((2026, 11, 23, 3, 3, 0, 0, 0, -1)))
    assert time.localtime(due)[:5] == (2026, 11, 23, 3, 30)


def test_an_asking_note_that_cannot_be_marked_is_answered_once_and_says_why(vault: Path) -> None:
    write(vault, "Сон.md", "# Сон\nВосемь часов сна.\n")
    broken = "---\ntags: [a, b\n---\nСколько часов сна нужно спортсмену? #overlay/ask\n"
    with Running(vault) as run:
        path = write(vault, "Q.md", broken)
        wait_for(lambda: run.watcher.health.errors, "the error")
        time.sleep(1.0)
        assert run.watcher.health.answered == 1 and len(answers(vault)) == 1
        assert "not marked answered" in run.watcher.health.errors[-1]["reason"]
        assert path.read_text(encoding="utf-8") == broken  # the user's note is untouched


class _Raising(FakeLLM):
    def __init__(self, exc: Exception) -> None:
        super().__init__()
        self.exc = exc

    def stream(self, messages, *, max_tokens: int, temperature: float):
        raise self.exc


def _once(real, exc: Exception):
    """`real`, except that its first call raises `exc`."""
    calls = {"n": 0}

    def wrapped(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise exc
        return real(*args, **kwargs)

    return wrapped


def test_no_exception_in_any_stage_stops_the_watcher(vault: Path, monkeypatch) -> None:
    """Exceptions that are not overlay's own (a llama.cpp ValueError, a sqlite or Chroma error, a full disk) in
    each stage: recorded in status.json with the path, and the loop goes on."""
    import sqlite3

    from overlay.jobs import handoff
    from overlay.jobs import watch as watch_module

    write(vault, "Сон.md", "# Сон\nВосемь часов сна.\n")
    with Running(vault) as run:
        w = run.watcher
        w.recheck_s = 0.5
        reasons = lambda: " | ".join(e["reason"] for e in read_health(run.fake.settings)["errors"])  # noqa: E731
        w.indexer.run = _once(w.indexer.run, sqlite3.OperationalError("database disk image is malformed"))
        write(vault, "A.md", "# A\nпервоеслово\n")
        wait_for(lambda: "malformed" in reasons(), "the failed index run recorded")
        wait_for(lambda: searchable(run, "первоеслово"), "the next index run after the back-off")

        monkeypatch.setattr(triggers, "question_of", _once(triggers.question_of, KeyError("frontmatter")))
        w._llm = _Raising(ValueError("Requested tokens (5000) exceed context window of 4096"))
        write(vault, "Q.md", QUESTION)
        wait_for(lambda: "exceed context window" in reasons(), "the failed answer recorded")
        assert "KeyError" in reasons()
        assert any(e["path"] == "Q.md" for e in read_health(run.fake.settings)["errors"])

        monkeypatch.setattr(triggers, "mark_answered", _once(triggers.mark_answered, RuntimeError("lock")))
        monkeypatch.setattr(handoff, "pending", _once(handoff.pending, PermissionError("requests/")))
        monkeypatch.setattr(watch_module, "recorded_reindex", _once(watch_module.recorded_reindex,
                                                                   MemoryError("nightly")))
        w.next_nightly = time.time() - 1
        w._llm = FakeLLM()
        w._llm.default = "Восемь [^1]."
        for item in w.pending.values():
            item.not_before = 0.0
        wait_for(lambda: w.health.answered == 1, "the question answered once the model works again", timeout=60)
        wait_for(lambda: "not marked answered" in reasons() and "requests/" in reasons() and "nightly" in reasons(),
                 "every injected failure recorded")
        real_write = watch_module.write_atomic
        monkeypatch.setattr(watch_module, "write_atomic", _once(real_write, OSError(28, "No space left on device")))
        write(vault, "B.md", "# B\nпоследнееслово\n")
        wait_for(lambda: searchable(run, "последнееслово"), "indexing to go on after all of it")
        assert run.thread.is_alive()


def test_reindex_while_the_watcher_runs_is_handed_to_it(vault: Path) -> None:
    import json

    from click.testing import CliRunner

    from overlay import library
    from overlay.cli import main

    write(vault, "Сон.md", "# Сон\nВосемь часов сна. [[Нигде]]\n")
    with Running(vault) as run:
        result = CliRunner().invoke(main, ["reindex", "--json", "--vault", str(vault)])
        assert result.exit_code == 0, result.output
        report = json.loads(result.output)
        assert report["via"] == "watcher" and report["report_note"] == "Overlay/Vault audit.md"
        assert (vault / "Overlay" / "Vault audit.md").is_file()
        status = library.status(run.fake.settings)
        assert status["nightly"]["ok"] and status["nightly"]["via"] == "watcher"
    assert not list((run.fake.settings.requests_dir).iterdir())  # nothing left behind


def test_a_failed_reindex_is_recorded_in_status_and_the_audit_note(vault: Path, monkeypatch) -> None:
    from overlay import library
    from overlay.jobs import reindex as reindex_module

    write(vault, "Сон.md", "# Сон\nВосемь часов сна.\n")
    fake = FakeIndex(load_settings(vault))
    fake.run()

    def broken(*_args, **_kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(reindex_module, "reindex", broken)
    outcome = reindex_module.reindex_now_or_hand_off(fake.settings)
    assert not outcome["ok"] and "No space left" in outcome["error"]
    assert "No space left" in library.status(fake.settings)["nightly"]["error"]
    audit = (vault / "Overlay" / "Vault audit.md").read_text(encoding="utf-8")
    assert "No space left on device" in audit and "failed: true" in audit


def test_a_question_indexed_by_a_manual_index_is_answered_when_the_watcher_starts(vault: Path) -> None:
    write(vault, "Сон.md", "# Сон\nВосемь часов сна.\n")
    path = write(vault, "Q.md", QUESTION)
    old = time.time() - 60
    os.utime(path, (old, old))
    FakeIndex(load_settings(vault)).run()  # `overlay index` while no watcher ran: the question sits in the index
    with Running(vault) as run:
        assert run.watcher.health.last_batch["new"] == 0  # nothing new for the watcher: it comes from the manifest
        wait_for(lambda: run.watcher.health.answered == 1, "the answer")


@pytest.mark.parametrize("mode", [0o644, 0o664, 0o600])
def test_marking_adds_two_lines_and_keeps_the_mode(vault: Path, mode: int) -> None:
    text = ("---\n# мой комментарий\ntime: 12:30\nzip: 0123\ndone: yes\ntags: [a, b]\noverlay: ask\n---\n"
            "Сколько часов сна нужно спортсмену?\n")
    path = write(vault, "Q.md", text)
    path.chmod(mode)
    settings = load_settings(vault)
    question = triggers.question_of(read_note(vault, "Q.md")[0], settings)
    triggers.mark_answered(settings, question, "[[Overlay/2026-11-30 Q]]")
    assert path.read_text(encoding="utf-8") == text.replace(
        "overlay: ask\n", 'overlay: answered\n').replace("---\nСколько", 'overlay_answer: "[[Overlay/2026-11-30 Q]]"\n'
                                                                     "---\nСколько")
    assert path.stat().st_mode & 0o777 == mode


def test_a_model_process_that_segfaults_mid_answer_leaves_the_watcher_running(vault: Path, tmp_path: Path,
                                                                               monkeypatch) -> None:
    """llama.cpp on an AMX CPU: the model process dies of SIGSEGV in the middle of the answer. The watcher lives,
    `overlay status` shows the death, and the question is answered on its retry by a fresh model process."""
    from overlay import library
    from overlay.answer.llm_gguf import WorkerLLM
    from overlay.jobs import watch
    from tests.fakes import fake_worker

    monkeypatch.setattr(watch, "RETRY_S", 0.5)
    marker = tmp_path / "crash-once"
    marker.write_text("")
    write(vault, "Сон.md", "# Сон\nВзрослому спортсмену нужно восемь часов сна.\n")
    with Running(vault, model_path="bundled") as run:
        llm = WorkerLLM(run.fake.settings, worker=fake_worker("--crash-once", str(marker)))
        run.watcher._llm = llm
        write(vault, "Q.md", QUESTION)
        wait_for(lambda: run.watcher.health.errors, "the crash to be recorded")
        assert "SIGSEGV" in run.watcher.health.errors[-1]["reason"] and run.thread.is_alive()
        wait_for(lambda: run.watcher.health.answered == 1, "the answer on the retry")
        assert llm.worker.starts == 2 and answers(vault)
        engine = library.status(run.fake.settings)["engine"]
        assert engine["total"] == 1 and engine["deaths"][0]["cause"].startswith("SIGSEGV")
        assert engine["deaths"][0]["stage"].startswith("generating")
    llm.worker.close()
