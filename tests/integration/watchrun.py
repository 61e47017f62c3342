"""Run `overlay watch` in this process on the real Chroma store with the hash embedder and a scripted model, so a
test can SIGKILL it at a chosen moment and start it again.

    python tests/integration/watchrun.py VAULT [--die-while-generating | --die-after-writing]

The scripted model answers "Восемь часов [^1]." at once. `--die-while-generating` kills the process as the model
starts writing; `--die-after-writing` kills it after the answer note is written, before the question log records
it. Each hook wraps a real function here, in the harness, not in the product.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def main() -> None:
    vault = Path(sys.argv[1])
    mode = sys.argv[2] if len(sys.argv) > 2 else ""
    from overlay.index.chroma_store import ChromaStore
    from overlay.index.indexer import Indexer
    from overlay.jobs.question_log import QuestionLog
    from overlay.jobs.watch import Watcher
    from overlay.settings import load_settings
    from tests.fakes import FakeLLM, HashEmbedder

    class Scripted(FakeLLM):
        def stream(self, messages, **kw):
            if mode == "--die-while-generating":
                (vault.parent / "generating").write_text("1")
                die()
            yield from super().stream(messages, **kw)

    if mode == "--die-after-writing":
        QuestionLog.answered = lambda *_args, **_kw: die()
    settings = load_settings(vault, ask_settle_s=0.2, watch_quiet_s=0.2)
    llm = Scripted()
    llm.default = "Восемь часов [^1]."
    indexer = Indexer(settings, embedder=HashEmbedder(), store_factory=ChromaStore)
    watcher = Watcher(settings, indexer=indexer, llm=llm, log=lambda line: print(line, flush=True))
    signal.signal(signal.SIGTERM, lambda *_: watcher.stop())
    watcher.run()


if __name__ == "__main__":
    main()
