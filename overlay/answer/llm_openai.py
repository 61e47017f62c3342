"""Any OpenAI-compatible chat server (llama.cpp server, llama_cpp.server, vLLM, Ollama) by base URL.

Plain httpx with server-sent events rather than the `openai` SDK: one POST and a line parser is all we use, and it
keeps a large dependency out of the install.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx

from overlay.answer.llm import Message, Usage
from overlay.engine.http import api_base
from overlay.errors import LLMError
from overlay.settings import Settings


class OpenAICompatibleLLM:
    def __init__(self, settings: Settings, *, timeout: float = 600.0) -> None:
        self.base = api_base(settings.llm_url or "")
        self.model = settings.llm_model
        self.name = f"{settings.llm_model}@{self.base}"
        self.n_ctx = settings.n_ctx
        self.thinking = settings.thinking
        self.usage = Usage()
        headers = {"Authorization": f"Bearer {settings.llm_api_key}"} if settings.llm_api_key else {}
        self._client = httpx.Client(timeout=httpx.Timeout(timeout, connect=10.0), headers=headers)

    def count_tokens(self, text: str) -> int:
        """An upper estimate (servers share no tokenizer endpoint): ~3 UTF-8 bytes per token or fewer holds for
        Qwen/Llama tokenizers on English (4+) and Russian (2 bytes a letter, ~2.5 letters a token)."""
        return len(text.encode("utf-8")) // 3 + 1

    def stream(self, messages: list[Message], *, max_tokens: int, temperature: float) -> Iterator[str]:
        self.usage = Usage()
        body: dict[str, Any] = {"model": self.model, "messages": messages, "max_tokens": max_tokens,
                                "temperature": temperature, "stream": True}
        if not self.thinking:
            body["chat_template_kwargs"] = {"enable_thinking": False}  # Qwen3 on llama.cpp server / vLLM
        pieces: list[str] = []
        prompt = sum(self.count_tokens(m["content"]) for m in messages)
        try:
            with self._client.stream("POST", f"{self.base}/chat/completions", json=body) as response:
                if response.status_code >= 400:
                    response.read()
                    raise LLMError(f"{self.base} answered {response.status_code}: {response.text[:300]}")
                for event in _events(response.iter_lines()):
                    if event.get("usage"):
                        self.usage = Usage(event["usage"].get("prompt_tokens", 0),
                                           event["usage"].get("completion_tokens", 0))
                    for choice in event.get("choices") or []:
                        delta = (choice.get("delta") or {}).get("content")
                        if delta:
                            pieces.append(delta)
                            yield delta
        except httpx.HTTPError as exc:
            raise LLMError(f"cannot reach the model server at {self.base}: {exc}",
                           hint="is the server running? check llm_url") from None
        finally:
            if not self.usage.completion_tokens:  # servers that send no usage: one delta is about one token
                self.usage = Usage(prompt, len(pieces))


def _events(lines: Iterator[str]) -> Iterator[dict[str, Any]]:
    for line in lines:
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            return
        try:
            yield json.loads(data)
        except json.JSONDecodeError:
            raise LLMError(f"the model server sent something that is not JSON: {data[:200]!r}") from None
