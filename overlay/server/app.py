"""The HTTP routes. JSON in and out; errors as {"error", "hint"} with a status code that says what went wrong;
`/v1/ask` streams Server-Sent Events. Every route but `GET /health` wants `Authorization: Bearer <token>`."""

from __future__ import annotations

import asyncio
import json
import queue
import secrets
import threading
from collections.abc import AsyncIterator
from typing import Any

from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field

from overlay.errors import IndexLocked, LLMError, NoteNotFound, NotIndexed, OverlayError, StoreError
from overlay.session import MAX_DEPTH, MAX_K, BadRequest, Session

ORIGINS = ["app://obsidian.md", "capacitor://localhost"]  # Obsidian desktop and mobile; nothing else
STATUS = {BadRequest: 400, NoteNotFound: 404, NotIndexed: 409, IndexLocked: 423, LLMError: 502, StoreError: 503}


class SearchBody(BaseModel):
    query: str
    k: int = Field(10, ge=1, le=MAX_K)
    mode: str = "hybrid"
    sections: bool = False
    after: str | None = None
    before: str | None = None


class PathBody(BaseModel):
    path: str
    k: int = Field(10, ge=1, le=MAX_K)


class AskBody(BaseModel):
    question: str
    k: int | None = Field(None, ge=1, le=MAX_K)
    write: bool = False
    placement: str = "note"  # "inline": into `note`, under its 1-based `line` (the block that asks)
    note: str | None = None
    line: int | None = None


def create_app(session: Session, token: str) -> FastAPI:
    app = FastAPI(title="overlay", version=_version(), docs_url=None, redoc_url=None)
    app.add_middleware(CORSMiddleware, allow_origins=ORIGINS, allow_methods=["GET", "POST"],
                       allow_headers=["Authorization", "Content-Type"])

    def authorised(authorization: str = Header("")) -> None:
        scheme, _, given = authorization.partition(" ")
        if scheme.lower() != "bearer" or not secrets.compare_digest(given.strip().encode(), token.encode()):
            raise _Unauthorised()

    @app.exception_handler(_Unauthorised)
    async def unauthorised(_: Request, __: _Unauthorised) -> JSONResponse:
        return JSONResponse({"error": "missing or wrong bearer token",
                             "hint": "send Authorization: Bearer <token>; `overlay serve --print-token` shows it"},
                            status_code=401, headers={"WWW-Authenticate": "Bearer"})

    @app.exception_handler(OverlayError)
    async def overlay_error(_: Request, exc: OverlayError) -> JSONResponse:
        code = next((c for kind, c in STATUS.items() if isinstance(exc, kind)), 400)
        return JSONResponse({"error": str(exc), "hint": exc.hint}, status_code=code)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        return JSONResponse({"error": f"{where or 'request'}: {first.get('msg', 'invalid')}",
                             "hint": "see README: overlay serve"}, status_code=422)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:  # never a traceback to a client
        return JSONResponse({"error": f"{exc.__class__.__name__}: {exc}", "hint": "the server log has more"},
                            status_code=500)

    guarded = [Depends(authorised)]

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return await _run(session.health)

    @app.get("/v1/status", dependencies=guarded)
    async def status() -> dict[str, Any]:
        return await _run(session.status)

    @app.post("/v1/search", dependencies=guarded)
    async def search(body: SearchBody) -> list[dict[str, Any]]:
        period = (body.after or "", body.before or "") if body.after or body.before else None
        return await _run(session.search, body.query, body.k, body.mode, sections=body.sections, period=period)

    @app.post("/v1/related", dependencies=guarded)
    async def related(body: PathBody) -> list[dict[str, Any]]:
        return await _run(session.related, body.path, body.k)

    @app.post("/v1/suggest-links", dependencies=guarded)
    async def suggest(body: PathBody) -> list[dict[str, Any]]:
        return await _run(session.suggest_links, body.path, min(body.k, 10))

    @app.get("/v1/note", dependencies=guarded)
    async def note(path: str = Query(...)) -> dict[str, Any]:
        return await _run(session.note, path)

    @app.get("/v1/graph/neighbors", dependencies=guarded)
    async def neighbors(path: str = Query(...), depth: int = Query(1, ge=1, le=MAX_DEPTH)) -> dict[str, Any]:
        return await _run(session.neighbors, path, depth)

    @app.post("/v1/ask", dependencies=guarded)
    async def ask(body: AskBody) -> StreamingResponse:
        session._query(body.question)  # a bad question is a 400 now, not an event later
        return StreamingResponse(_ask_events(session, body), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    return app


class _Unauthorised(Exception):
    pass


async def _run(fn, *args, **kwargs):
    """Library calls block (Chroma, sqlite, the model): a worker thread keeps the event loop free."""
    return await asyncio.to_thread(fn, *args, **kwargs)


async def _ask_events(session: Session, body: AskBody) -> AsyncIterator[str]:
    """SSE: `sources`, `section`, `delta` (answer text), `thinking`, `revise`, then `done` with the note path and
    the checks — or `error`."""
    events: queue.Queue[tuple[str, Any] | None] = queue.Queue()

    def work() -> None:
        try:
            result = session.ask(body.question, k=body.k, write=body.write, placement=body.placement,
                                 note=body.note, line=body.line,
                                 on_event=lambda kind, payload: events.put((_EVENT.get(kind, kind), payload)))
            data = result.as_dict()
            events.put(("sources", data["sources"]))
            events.put(("done", {k: data[k] for k in ("note_path", "checks", "distinct_notes", "model", "language",
                                                       "run_id", "timings", "answer")}))
        except OverlayError as exc:
            events.put(("error", {"error": str(exc), "hint": exc.hint}))
        except Exception as exc:  # reported as an event: the stream has already begun
            events.put(("error", {"error": f"{exc.__class__.__name__}: {exc}", "hint": "the server log has more"}))
        finally:
            events.put(None)

    threading.Thread(target=work, daemon=True).start()
    yield _sse("retrieval", {"question": body.question})
    while True:
        item = await asyncio.to_thread(events.get)
        if item is None:
            return
        yield _sse(*item)


_EVENT = {"text": "delta", "sources": "found"}


def _sse(event: str, data: Any) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False, default=str)}\n\n"


def _version() -> str:
    import overlay

    return overlay.__version__
