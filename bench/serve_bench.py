"""Latency of the long-lived faces against the CLI, on a synthetic vault with the real engines (USE, embedded Chroma):
`POST /v1/search` and `POST /v1/related` on a running `overlay serve`, `search` through `overlay mcp` over stdio
(the MCP SDK's client), and one `overlay search` process for comparison.

    .venv/bin/python bench/serve_bench.py --notes 10000 [--dir DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from bench.synth import EN, RU, make_vault

TARGETS = {"http_search_p50_ms": 30.0, "http_related_p50_ms": 50.0, "mcp_search_p50_ms": 60.0}
EXE = Path(sys.executable).with_name("overlay")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def p50_p95(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered), ordered[int(0.95 * (len(ordered) - 1))]


def http_latency(vault: Path, queries: list[str], paths: list[str]) -> dict[str, float]:
    port = free_port()
    server = subprocess.Popen([str(EXE), "serve", "--vault", str(vault), "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        token = subprocess.run([str(EXE), "serve", "--print-token", "--vault", str(vault)], check=True,
                               capture_output=True, text=True).stdout.strip()
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"},
                              timeout=60)
        deadline = time.monotonic() + 120
        while True:
            try:
                if client.get("/health").status_code == 200:
                    break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        client.post("/v1/search", json={"query": "warm up", "k": 10})  # opens the index and loads the model
        client.post("/v1/related", json={"path": paths[0]})
        search = [_timed(lambda q=q: client.post("/v1/search", json={"query": q, "k": 10})) for q in queries]
        related = [_timed(lambda p=p: client.post("/v1/related", json={"path": p, "k": 10})) for p in paths]
    finally:
        server.terminate()
        server.wait(timeout=30)
    (s50, s95), (r50, r95) = p50_p95(search), p50_p95(related)
    return {"http_search_p50_ms": s50, "http_search_p95_ms": s95, "http_related_p50_ms": r50,
            "http_related_p95_ms": r95}


def mcp_latency(vault: Path, queries: list[str]) -> dict[str, float]:
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    async def run() -> list[float]:
        params = StdioServerParameters(command=str(EXE), args=["mcp", "--vault", str(vault)], env=dict(os.environ))
        async with stdio_client(params) as (read, send), ClientSession(read, send) as session:
            await session.initialize()
            await session.call_tool("search", {"query": "warm up", "k": 10})
            out = []
            for q in queries:
                t0 = time.perf_counter()
                await session.call_tool("search", {"query": q, "k": 10})
                out.append((time.perf_counter() - t0) * 1000)
            return out

    p50, p95 = p50_p95(asyncio.run(run()))
    return {"mcp_search_p50_ms": p50, "mcp_search_p95_ms": p95}


def _timed(fn) -> float:
    t0 = time.perf_counter()
    response = fn()
    response.raise_for_status()
    return (time.perf_counter() - t0) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--notes", type=int, default=2000)
    ap.add_argument("--queries", type=int, default=50)
    ap.add_argument("--dir", type=Path, default=None)
    args = ap.parse_args()
    vault = (args.dir or Path(tempfile.mkdtemp(prefix="overlay-serve-bench-"))) / "vault"
    if not (vault / ".overlay" / "manifest.sqlite").exists():
        paths = make_vault(vault, args.notes)
        subprocess.run([str(EXE), "index", "--vault", str(vault)], check=True, capture_output=True)
    else:
        paths = sorted(p.relative_to(vault).as_posix() for p in vault.rglob("*.md"))
    rng = random.Random(3)
    queries = [" ".join(rng.choice(RU if i % 2 else EN) for _ in range(5)) for i in range(args.queries)]
    sample = rng.sample(paths, min(args.queries, len(paths)))
    t0 = time.perf_counter()
    subprocess.run([str(EXE), "search", queries[0], "--vault", str(vault), "--json"], check=True, capture_output=True)
    figures = {"notes": len(paths), "cli_search_ms": (time.perf_counter() - t0) * 1000,
               **http_latency(vault, queries, sample), **mcp_latency(vault, queries)}
    print(json.dumps({k: round(v, 1) if isinstance(v, float) else v for k, v in figures.items()}, indent=2))
    for key, limit in TARGETS.items():
        print(f"target {key} <= {limit}: {figures[key]:.1f} {'ok' if figures[key] <= limit else 'MISSED'}")


if __name__ == "__main__":
    main()
