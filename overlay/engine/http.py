"""Talking to a local inference server (llama.cpp's llama-server, Ollama, LM Studio, vLLM, text-embeddings-inference)
over its OpenAI-style JSON API: the base URL, and one POST with retries that ends in a clear error naming the URL.

Plain httpx rather than the `openai` SDK: one POST is all the embedding and rerank calls need.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from overlay.errors import OverlayError

RETRY_STATUS = (408, 425, 429, 500, 502, 503, 504)


def api_base(url: str) -> str:
    """`http://host:8080`, `…/`, `…/v1` → `http://host:8080/v1`: servers are given with or without the API root."""
    base = url.rstrip("/")
    return base if base.endswith("/v1") else base + "/v1"


def client(api_key: str | None, timeout_s: float) -> httpx.Client:
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    return httpx.Client(timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 10.0)), headers=headers)


def post_json(http: httpx.Client, url: str, body: dict[str, Any], *, error: type[OverlayError], what: str,
              retries: int = 2, hint: str = "") -> tuple[int, Any]:
    """(status, parsed JSON) of one POST. Connection errors, timeouts and 5xx/429 answers are tried again
    `retries` times (0.5 s, 1 s, 2 s apart); what still fails, or an answer that is not JSON, raises `error`
    naming the URL. A 4xx answer is returned for the caller to judge (a server may want another field name)."""
    last = ""
    for attempt in range(retries + 1):
        if attempt:
            time.sleep(0.5 * 2 ** (attempt - 1))
        try:
            response = http.post(url, json=body)
        except httpx.TimeoutException:
            last = f"no answer within {http.timeout.read:g} s"
            continue
        except httpx.HTTPError as exc:
            last = f"cannot connect ({exc.__class__.__name__}: {exc})"
            continue
        if response.status_code in RETRY_STATUS:
            last = f"answered {response.status_code}: {response.text[:200]}"
            continue
        try:
            return response.status_code, response.json()
        except ValueError:
            raise error(f"{what}: {url} answered something that is not JSON ({response.status_code}: "
                        f"{response.text[:200]!r})", hint=hint) from None
    tries = f" (tried {retries + 1} times)" if retries else ""
    raise error(f"{what}: {url} {last}{tries}", hint=hint)
