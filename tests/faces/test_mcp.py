"""`overlay mcp` for real: the server in a subprocess over stdio, driven by the MCP SDK's own client."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import write

pytestmark = pytest.mark.integration
RUNNER = Path(__file__).resolve().parents[1] / "integration" / "crashrun.py"  # the CLI with the hash embedder
NOTES = {
    "Сон.md": "# Сон\nСпортсмену нужно восемь часов сна. См. [[Интервалы]].\n",
    "Интервалы.md": "# Интервалы\nЧетыре интервала по восемь минут, после них важен сон.\n",
    "Питание.md": "# Питание\nПосле интервалов нужны углеводы и сон.\n",
}
TOOLS = {"search", "related", "read_note", "graph_neighbors", "suggest_links", "ask", "status"}


@pytest.fixture
def indexed(vault: Path) -> Path:
    for rel, text in NOTES.items():
        write(vault, rel, text)
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False", "HF_HUB_OFFLINE": "1"}
    subprocess.run([sys.executable, str(RUNNER), "index", "--vault", str(vault)], check=True, env=env,
                   capture_output=True)
    return vault


async def _session(vault: Path, body):
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    params = StdioServerParameters(command=sys.executable, args=[str(RUNNER), "mcp", "--vault", str(vault)],
                                   env={**os.environ, "ANONYMIZED_TELEMETRY": "False", "HF_HUB_OFFLINE": "1"})
    async with stdio_client(params) as (read, send), ClientSession(read, send) as session:
        await session.initialize()
        return await body(session)


def call(vault: Path, body):
    return asyncio.run(asyncio.wait_for(_session(vault, body), timeout=120))


def payload(result) -> object:
    if result.structured_content is not None:
        content = result.structured_content
        return content.get("result", content) if isinstance(content, dict) and set(content) == {"result"} else content
    return json.loads(result.content[0].text)


def test_every_tool_is_listed_and_answers(indexed: Path) -> None:
    async def body(session):
        tools = {t.name: t for t in (await session.list_tools()).tools}
        out = {"tools": tools}
        out["search"] = payload(await session.call_tool("search", {"query": "сколько часов сна нужно", "k": 3}))
        out["related"] = payload(await session.call_tool("related", {"path": "Сон.md"}))
        out["note"] = payload(await session.call_tool("read_note", {"path": "Сон.md"}))
        out["graph"] = payload(await session.call_tool("graph_neighbors", {"path": "Сон.md", "depth": 1}))
        out["suggest"] = payload(await session.call_tool("suggest_links", {"path": "Питание.md"}))
        out["ask"] = payload(await session.call_tool("ask", {"question": "Сколько часов сна нужно?"}))
        out["status"] = payload(await session.call_tool("status", {}))
        return out

    out = call(indexed, body)
    assert set(out["tools"]) == TOOLS
    search_tool = out["tools"]["search"]
    assert search_tool.annotations.read_only_hint is True and "read_note" in search_tool.description
    assert out["search"][0]["path"] == "Сон.md"
    assert any(r["path"] == "Интервалы.md" for r in out["related"])
    assert out["note"]["links"] == ["Интервалы.md"] and "восемь" in out["note"]["text"]
    assert {n["path"] for n in out["graph"]["nodes"]} == {"Сон.md", "Интервалы.md"}
    assert isinstance(out["suggest"], list)
    assert out["ask"]["model"] == "extractive" and out["ask"]["note_path"] is None and out["ask"]["sources"]
    assert out["status"]["notes"] == 3
    assert not (indexed / "Overlay").exists()  # nothing was written: `write` was not asked for


def test_a_bad_argument_is_an_error_result_and_the_server_lives_on(indexed: Path) -> None:
    async def body(session):
        missing = await session.call_tool("read_note", {"path": "Нет такой.md"})
        outside = await session.call_tool("related", {"path": "../../etc/passwd"})
        wrong_type = await session.call_tool("search", {"query": "сон", "k": "many"})
        after = payload(await session.call_tool("search", {"query": "сон", "k": 2}))
        return missing, outside, wrong_type, after

    missing, outside, wrong_type, after = call(indexed, body)
    assert missing.is_error and "no note" in missing.content[0].text
    assert outside.is_error and "inside" in outside.content[0].text
    assert wrong_type.is_error
    assert after  # still serving
