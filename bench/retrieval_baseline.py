"""Our retrieval against the plain LlamaIndex pipeline a user would build, on the same questions and model.

    .venv/bin/pip install -e ".[baseline]"      # llama-index-readers-obsidian (brings openai, pandas, pypdf)
    .venv/bin/python bench/retrieval_baseline.py [--vault DIR] [--questions FILE.jsonl] [--model minilm]

Baseline: ObsidianReader(vault).load_data() -> VectorStoreIndex (default settings: SentenceSplitter, in-memory
store) with the same embedding model (USE multilingual v3, or `--model minilm` / a path) ->
as_retriever(similarity_top_k=k). Ours: a fresh `overlay index` of a copy of the vault, then each search mode. Also
scores "links as labels" on the same vault.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from overlay import library
from overlay.search.evaluation import Question, evaluate, links_as_labels, load_questions
from overlay.search.grouping import best_notes
from overlay.settings import load_settings

ROOT = Path(__file__).resolve().parents[1]


def baseline_search(vault: Path, settings):
    from llama_index.core import Settings, VectorStoreIndex
    from llama_index.core.embeddings import BaseEmbedding
    from llama_index.readers.obsidian import ObsidianReader

    from overlay.index.embedding import make_embedder

    use = make_embedder(settings)  # the same model as ours, whichever `--model` names

    class UseForLlamaIndex(BaseEmbedding):
        def _get_query_embedding(self, query: str) -> list[float]:
            return use.embed_query(query).tolist()

        def _get_text_embedding(self, text: str) -> list[float]:
            return use.embed_documents([text])[0].tolist()

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return use.embed_documents(texts).tolist()

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

    Settings.llm = None
    Settings.embed_model = UseForLlamaIndex(model_name=use.name)
    docs = ObsidianReader(str(vault)).load_data()
    for doc in docs:
        # ObsidianReader lists a note's wikilinks as list(set(...)): their order, embedded with the text, changed
        # with Python's hash seed, and the baseline moved by a question or two between runs of the same command
        # (example hit@5 0.917 / 0.938, ru-vault hit@1 0.629 / 0.640). Sorted, it is the same in every run.
        for key in ("wikilinks", "backlinks"):
            if isinstance(doc.metadata.get(key), list):
                doc.metadata[key] = sorted(doc.metadata[key])
        # a hub's link lists outgrow the 1,024-token chunk and the splitter refuses the whole vault
        # ("Metadata length (1285) is longer than chunk size", openbox): what a user does then is keep them out
        # of the embedded text, where they add little
        if len(doc.get_metadata_str()) > 1500:
            doc.excluded_embed_metadata_keys = [*doc.excluded_embed_metadata_keys, "wikilinks", "backlinks"]
            doc.excluded_llm_metadata_keys = [*doc.excluded_llm_metadata_keys, "wikilinks", "backlinks"]
    index = VectorStoreIndex.from_documents(docs)

    def search(q: Question, depth: int) -> list[str]:
        nodes = index.as_retriever(similarity_top_k=depth * 3).retrieve(q.question)
        paths = [os.path.relpath(Path(n.metadata["folder_path"]) / n.metadata["file_name"], vault) for n in nodes]
        return [p for p in paths if p not in q.exclude]

    return search, len(docs)


def ours(settings, mode: str):
    """The note list `overlay search --json` returns (as `overlay eval retrieval` scores it)."""
    retriever = library.open_retriever(settings)
    return lambda q, depth: [n.path for n in best_notes(retriever, q.question, depth, mode=mode, exclude=q.exclude)]


def row(name: str, result: dict, kinds: list[str]) -> str:
    cells = [f"{result['hit@1']:.2f}", f"{result['hit@5']:.2f}", f"{result['hit@10']:.2f}", f"{result['mrr']:.2f}"]
    for key in ("ru", "en"):
        m = result["by_lang"].get(key)
        cells.append(f"{m['hit@1']:.2f} / {m['hit@5']:.2f}" if m else "–")
    for key in kinds:
        m = result["by_kind"].get(key)
        cells.append(f"{m['hit@1']:.2f} / {m['hit@5']:.2f}" if m else "–")
    return f"| {name} | " + " | ".join(cells) + " |"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vault", type=Path, default=ROOT / "examples" / "vault")
    ap.add_argument("--questions", type=Path, default=ROOT / "examples" / "eval" / "examples-vault.jsonl")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--model", default=None, help="embedding_model for both sides (default: the setting's default)")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="overlay-eval-")) / "vault"
    shutil.copytree(args.vault, work, ignore=shutil.ignore_patterns(".overlay"))
    settings = load_settings(work, **({"embedding_model": args.model} if args.model else {}))
    library.index(settings)
    retriever = library.open_retriever(settings)
    sets = {"dev set": load_questions(args.questions),
            "links as labels": links_as_labels(retriever.graph, retriever.texts, 500)}
    base, ndocs = baseline_search(work, settings)
    results = {}
    for set_name, questions in sets.items():
        kinds = list(dict.fromkeys(q.kind for q in questions))
        print(f"\n{set_name}: {len(questions)} questions on {args.vault.name} ({ndocs} documents for the baseline)")
        print("| system | hit@1 | hit@5 | hit@10 | MRR | RU hit@1 / @5 | EN hit@1 / @5 | " + " | ".join(kinds) + " |")
        print("|---" * (7 + len(kinds)) + "|")
        for name, fn in (("LlamaIndex baseline", base), *((f"overlay {m}", ours(settings, m))
                                                         for m in ("dense", "sparse", "hybrid"))):
            results[(set_name, name)] = evaluate(questions, fn, args.k)
            print(row(name, results[(set_name, name)], kinds))
    Path(work.parent / "results.json").write_text(json.dumps({f"{a} / {b}": r for (a, b), r in results.items()},
                                                             ensure_ascii=False, indent=1))
    print(f"\nfull results: {work.parent / 'results.json'}")


if __name__ == "__main__":
    main()
