"""A real HTTP server on loopback that plays an embedding / rerank server (OpenAI-style `/v1/embeddings`,
`/v1/rerank`), scripted per test: answer normally, fail with a status a number of times, answer garbage, stall."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np

from tests.fakes import HashEmbedder

Reply = tuple[int, Any]


class Script:
    """What the server does with each request; tests change it between calls."""

    def __init__(self) -> None:
        self.embedder = HashEmbedder()
        self.fail_next: list[int] = []  # statuses to answer with before answering normally
        self.stall_s = 0.0
        self.vectors: Callable[[list[str]], Any] | None = None  # replaces the normal embeddings
        self.rerank_shape = "openai"  # or "tei": wants `texts`, answers a bare list
        self.requests: list[tuple[str, dict[str, Any]]] = []

    def embeddings(self, body: dict[str, Any]) -> Reply:
        texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
        vectors = self.vectors(texts) if self.vectors else self.embedder.embed_documents(texts).tolist()
        return 200, {"object": "list", "model": body.get("model"),
                     "data": [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)]}

    def rerank(self, body: dict[str, Any]) -> Reply:
        if self.rerank_shape == "tei" and "texts" not in body:
            return 422, {"error": "missing field `texts`"}
        passages = body.get("documents") or body.get("texts") or []
        q = self.embedder.embed_query(body["query"])
        scores = [float(np.dot(q, self.embedder.embed_query(p))) for p in passages]
        if self.rerank_shape == "tei":
            return 200, [{"index": i, "score": s} for i, s in enumerate(scores)]
        return 200, {"results": [{"index": i, "relevance_score": s} for i, s in enumerate(scores)]}


@contextmanager
def fake_server(script: Script) -> Iterator[str]:
    """The base URL (`http://127.0.0.1:PORT/v1`) of a server run by `script` until the block ends."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
            script.requests.append((self.path, body))
            if script.stall_s:
                time.sleep(script.stall_s)
            if script.fail_next:
                status, reply = script.fail_next.pop(0), {"error": "scripted failure"}
            elif self.path.endswith("/embeddings"):
                status, reply = script.embeddings(body)
            elif self.path.endswith("/rerank"):
                status, reply = script.rerank(body)
            else:
                status, reply = 404, {"error": "no such route"}
            payload = reply if isinstance(reply, bytes) else json.dumps(reply).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()
