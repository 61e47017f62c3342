"""`overlay serve` for real: uvicorn on a free loopback port, talked to with httpx; the index on fakes."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import httpx
import pytest

from overlay.server.run import ServeRefused, serve_in_thread, server
from overlay.server.token import read_token, token_path
from overlay.session import Session
from tests.fakes import FakeLLM

NOTES = {
    "Сон.md": "# Сон\nСпортсмену нужно восемь часов сна. См. [[Интервалы]].\n",
    "Интервалы.md": "# Интервалы\nЧетыре интервала по восемь минут, после них важен сон.\n",
    "Питание.md": "# Питание\nПосле интервалов нужны углеводы, восстановление и сон.\n",
    "Обзор.md": "# Обзор\n- [[Сон]]\n- [[Питание]]\n",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def api(indexed):
    llm = FakeLLM()
    llm.default = "Спортсмену нужно восемь часов сна [^1]."
    yield from serving(indexed(NOTES), llm)


def serving(ix, llm):
    session = Session(ix.settings, embedder=ix.embedder, llm=llm, retriever=ix.retriever())
    port = free_port()
    srv = server(ix.settings, "127.0.0.1", port, session=session)
    serve_in_thread(srv)
    deadline = time.monotonic() + 20
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.02)
    token = read_token(ix.settings)
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"},
                          timeout=30)
    yield client, ix
    client.close()
    srv.should_exit = True


def test_health_is_open_everything_else_wants_the_token(api) -> None:
    client, ix = api
    bare = httpx.Client(base_url=str(client.base_url))
    health = bare.get("/health").json()
    assert health["ok"] and health["index"]["notes"] == 4 and health["vault"] == str(ix.settings.vault)
    assert bare.get("/v1/status").status_code == 401
    wrong = bare.get("/v1/status", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and set(wrong.json()) == {"error", "hint"}
    assert client.get("/v1/status").json()["notes"] == 4
    assert token_path(ix.settings).stat().st_mode & 0o777 == 0o600


def test_search_related_note_neighbors_and_suggestions(api) -> None:
    client, _ = api
    notes = client.post("/v1/search", json={"query": "сколько часов сна нужно", "k": 3}).json()
    assert notes[0]["path"] == "Сон.md" and notes[0]["sections"][0]["snippet"]
    flat = client.post("/v1/search", json={"query": "сон", "k": 3, "sections": True}).json()
    assert set(flat[0]) == {"path", "heading", "score", "snippet", "why", "ranked_by"}
    related = client.post("/v1/related", json={"path": "Сон.md"}).json()
    assert {r["path"] for r in related} >= {"Интервалы.md"} and all("linked" in r for r in related)
    note = client.get("/v1/note", params={"path": "Сон.md"}).json()
    assert note["links"] == ["Интервалы.md"] and note["backlinks"] == ["Обзор.md"] and "восемь" in note["text"]
    graph = client.get("/v1/graph/neighbors", params={"path": "Обзор.md", "depth": 2}).json()
    assert {n["path"] for n in graph["nodes"]} == {"Обзор.md", "Сон.md", "Питание.md", "Интервалы.md"}
    assert {"source": "Обзор.md", "target": "Сон.md"} in graph["edges"]
    suggestions = client.post("/v1/suggest-links", json={"path": "Питание.md", "k": 3}).json()
    assert suggestions and all(s["path"] != "Питание.md" and s["sentence"] for s in suggestions)


@pytest.mark.parametrize(("method", "url", "body", "code", "says"), [
    ("post", "/v1/search", {"query": "  "}, 400, "empty"),
    ("post", "/v1/search", {"query": "сон", "k": 100000}, 422, "k"),
    ("post", "/v1/search", {"query": "сон", "mode": "magic"}, 400, "mode"),
    ("post", "/v1/related", {"path": "Нет такой.md"}, 404, "no note"),
    ("post", "/v1/related", {"path": "../../etc/passwd"}, 400, "inside"),
    ("post", "/v1/related", {"path": "/etc/passwd"}, 400, "relative"),
    ("get", "/v1/note?path=Нет.md", None, 404, "no note"),
    ("get", "/v1/graph/neighbors?path=Сон.md&depth=9", None, 422, "depth"),
    ("post", "/v1/ask", {"question": ""}, 400, "empty"),
    ("post", "/v1/search", {"k": 3}, 422, "query"),
])
def test_bad_input_is_a_4xx_with_a_clear_message(api, method, url, body, code, says) -> None:
    client, _ = api
    response = client.request(method.upper(), url, json=body)
    assert response.status_code == code
    data = response.json()
    assert set(data) == {"error", "hint"} and says in data["error"] and "Traceback" not in response.text


def read_events(response: httpx.Response) -> list[tuple[str, object]]:
    events, name = [], None
    for line in response.iter_lines():
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            events.append((name, json.loads(line[6:])))
    return events


def test_ask_streams_events_to_the_end_and_writes_only_when_asked(api) -> None:
    client, ix = api
    with client.stream("POST", "/v1/ask", json={"question": "Сколько часов сна нужно?", "k": 3}) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = read_events(response)
    kinds = [k for k, _ in events]
    assert kinds[0] == "retrieval" and kinds[-1] == "done" and "delta" in kinds and "section" in kinds
    done = events[-1][1]
    assert done["note_path"] is None and done["checks"]["citations_valid"] >= 1
    assert not (ix.settings.vault / "Overlay").exists() or not list((ix.settings.vault / "Overlay").glob("20*.md"))
    with client.stream("POST", "/v1/ask", json={"question": "Сколько часов сна нужно?", "write": True}) as response:
        done = read_events(response)[-1][1]
    assert (ix.settings.vault / done["note_path"]).is_file()


def test_ask_inline_inserts_under_the_given_line_and_nothing_else(api) -> None:
    from vault_sync import inline_answers

    client, ix = api
    note = ix.settings.vault / "Обзор.md"
    before = note.read_text(encoding="utf-8")
    body = {"question": "Сколько часов сна нужно?", "placement": "inline", "note": "Обзор.md", "line": 2}
    with client.stream("POST", "/v1/ask", json=body) as response:
        done = read_events(response)[-1]
    assert done[0] == "done" and done[1]["note_path"] == "Обзор.md"
    (answer,) = inline_answers.find(note.read_text(encoding="utf-8"))
    assert answer.anchor == 1 and answer.intact
    assert inline_answers.remove(note.read_text(encoding="utf-8"), answer.run_id) == before
    with client.stream("POST", "/v1/ask", json={**body, "line": 99}) as response:
        assert read_events(response)[-1][0] == "error"
    legacy = before.encode("cp1251")  # a note that cannot take an answer as UTF-8: refused before the model runs
    note.write_bytes(legacy)
    with client.stream("POST", "/v1/ask", json=body) as response:
        events = read_events(response)
    assert [kind for kind, _ in events] == ["retrieval", "error"] and "Обзор.md is not UTF-8" in events[1][1]["error"]
    assert note.read_bytes() == legacy


def test_a_model_process_that_segfaults_mid_ask_ends_the_stream_with_an_error_and_the_server_answers_on(
        indexed, tmp_path: Path) -> None:
    from overlay.answer.llm_gguf import WorkerLLM
    from tests.fakes import fake_worker

    ix = indexed(NOTES, model_path="bundled")
    marker = tmp_path / "crash-once"
    marker.write_text("")
    llm = WorkerLLM(ix.settings, worker=fake_worker("--reply", "Спортсмену нужно восемь часов сна [^1].",
                                                    "--crash-once", str(marker), "--crash-after", "3"))
    for client, _ in serving(ix, llm):
        question = {"question": "Сколько часов сна нужно?", "k": 3}
        with client.stream("POST", "/v1/ask", json=question) as response:
            events = read_events(response)
        kinds = [k for k, _ in events]
        assert kinds[-1] == "error" and kinds.count("delta") == 3, kinds
        assert "SIGSEGV" in events[-1][1]["error"] and "cpu_repack" in events[-1][1]["hint"]
        assert client.get("/health").json()["ok"]
        status = client.get("/v1/status").json()
        assert status["engine"]["total"] == 1 and status["engine"]["deaths"][0]["cause"].startswith("SIGSEGV")
        with client.stream("POST", "/v1/ask", json=question) as response:
            events = read_events(response)
        assert events[-1][0] == "done" and events[-1][1]["checks"]["citations_valid"] >= 1
        assert llm.worker.starts == 2
    llm.worker.close()


def test_cors_answers_obsidian_only(api) -> None:
    client, _ = api
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"}
    ok = client.options("/v1/search", headers={"Origin": "app://obsidian.md", **preflight})
    assert ok.headers.get("access-control-allow-origin") == "app://obsidian.md"
    other = client.options("/v1/search", headers={"Origin": "https://evil.example", **preflight})
    assert "access-control-allow-origin" not in other.headers


def test_another_address_needs_a_token_made_beforehand(vault: Path) -> None:
    from overlay.settings import load_settings

    settings = load_settings(vault)
    with pytest.raises(ServeRefused, match="without a token"):
        server(settings, "0.0.0.0", free_port())
