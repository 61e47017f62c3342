"""Retrieval evaluation: a JSONL of questions with gold notes in, hit@k / MRR by kind and language out.

hit@k: any gold path among the first k distinct note paths of the results. MRR: 1 / rank of the first gold path.
nDCG@5: every gold path found in the first 5, each by 1 / log2(rank + 1), over the best order possible (how peer
golden sets are reported). all_gold@10 (multi-hop): every gold path among the first 10. "Links as labels" turns a
vault's own links into questions (a note's text, its link names removed -> the notes it links to), so anyone can
score their own vault.
"""

from __future__ import annotations

import dataclasses
import json
import math
import random
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graph import LinkGraph
from overlay.errors import OverlayError
from overlay.index.chunk_store import ChunkStore
from overlay.index.chunking import chunk_body
from overlay.search.grouping import best_notes
from overlay.search.layout import other_layout
from overlay.search.names import heading_stems, note_names
from overlay.search.retrieval import Retriever
from vault_sync.script import cyrillic_letters

KINDS = ("lookup", "paraphrase", "multi-hop", "link", "cross-lingual")  # shown first; any other label is kept too
CUTOFFS = (1, 5, 10)
NDCG_AT = 5


class EvalFileError(OverlayError):
    hint = 'each line: {"id", "lang", "question", "gold": ["path/Note.md"], "answer_facts": [], "kind"}'


@dataclass(frozen=True)
class Question:
    id: str
    lang: str
    question: str
    gold: tuple[str, ...]
    kind: str = "lookup"
    answer_facts: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()  # e.g. the note a question is asked from


def load_questions(path: Path) -> list[Question]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise EvalFileError(f"cannot read {path}: {exc.strerror or exc}") from None
    questions = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            q = Question(str(row["id"]), str(row.get("lang", "")), str(row["question"]), tuple(row["gold"]),
                         str(row.get("kind", "lookup")), tuple(row.get("answer_facts", ())))
        except (ValueError, KeyError, TypeError) as exc:
            raise EvalFileError(f"{path}:{number}: not a question line ({exc.__class__.__name__}: {exc})") from None
        if not q.kind.strip() or not q.gold:
            raise EvalFileError(f"{path}:{number}: a question needs a kind label and at least one gold note")
        questions.append(q)
    if not questions:
        raise EvalFileError(f"{path}: no questions")
    return questions


def distinct_paths(paths: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(paths))


def score(questions: list[Question], ranked: dict[str, list[str]], k: int = 10) -> dict[str, Any]:
    """`ranked[id]` = the distinct note paths retrieved for that question, best first."""
    per = {q.id: _metrics(q, ranked.get(q.id, []), k) for q in questions}
    out = {"n": len(questions), **_mean(per.values(), k)}
    present = {q.kind for q in questions}
    kinds = [*(k for k in KINDS if k in present), *sorted(present - set(KINDS))]  # any label; known ones first
    for field, values in (("by_kind", kinds), ("by_lang", sorted({q.lang for q in questions}))):
        groups = {v: [per[q.id] for q in questions if getattr(q, field[3:]) == v] for v in values}
        out[field] = {v: {"n": len(m), **_mean(m, k)} for v, m in groups.items() if m}
    multi = [per[q.id]["all_gold@10"] for q in questions if q.kind == "multi-hop"]
    if multi:
        out["all_gold@10"] = round(sum(multi) / len(multi), 4)
        out["by_kind"]["multi-hop"]["all_gold@10"] = out["all_gold@10"]
    out["misses"] = [q.id for q in questions if not per[q.id][f"hit@{k}"]]
    out["ranks"] = {q.id: _rank(q, ranked.get(q.id, [])[:k]) for q in questions}  # which questions a change moved
    return out


def _rank(q: Question, paths: list[str]) -> int | None:
    """1-based rank of the first gold note in `paths`, None when none is there."""
    gold = set(q.gold)
    return next((i for i, p in enumerate(paths, 1) if p in gold), None)


def _metrics(q: Question, paths: list[str], k: int) -> dict[str, float]:
    gold = set(q.gold)
    rank = _rank(q, paths)
    m = {f"hit@{c}": float(rank is not None and rank <= c) for c in sorted({*CUTOFFS, k})}
    m["mrr"] = 1.0 / rank if rank and rank <= k else 0.0
    m[f"ndcg@{NDCG_AT}"] = _ndcg(gold, paths, NDCG_AT)
    m["all_gold@10"] = float(gold <= set(paths[:10]))
    return m


def _ndcg(gold: set[str], paths: list[str], at: int) -> float:
    """Binary relevance: a gold path at rank r counts 1 / log2(r + 1); divided by the same for the gold paths
    ranked first."""
    found = sum(1.0 / math.log2(r + 1) for r, p in enumerate(paths[:at], 1) if p in gold)
    best = sum(1.0 / math.log2(r + 1) for r in range(1, min(len(gold), at) + 1))
    return found / best if best else 0.0


def _mean(metrics: Iterable[dict[str, float]], k: int) -> dict[str, float]:
    rows = list(metrics)
    keys = [f"hit@{c}" for c in sorted({*CUTOFFS, k})] + ["mrr", f"ndcg@{NDCG_AT}"]
    return {key: round(sum(r[key] for r in rows) / len(rows), 4) if rows else 0.0 for key in keys}


def evaluate(questions: list[Question], search: Callable[[Question, int], list[str]], k: int = 10) -> dict:
    depth = max(k, max(CUTOFFS))
    return score(questions, {q.id: distinct_paths(search(q, depth)) for q in questions}, k)


def evaluate_search(retriever: Retriever, questions: list[Question], k: int = 10, mode: str = "hybrid") -> dict:
    """Scores exactly the note list `overlay search --json` returns for each question (one code path: what is
    measured is what users get)."""
    return evaluate(questions, lambda q, depth: [n.path for n in best_notes(retriever, q.question, depth, mode=mode,
                                                                             exclude=q.exclude)], k)


def links_as_labels(graph: LinkGraph, texts: ChunkStore, limit: int = 200, seed: int = 0,
                    min_chars: int = 80) -> list[Question]:
    """A question per note that links to other notes: its own text with every link name and alias taken out;
    gold = the notes it links to. The note itself is excluded from its results."""
    g = graph.g
    candidates = [n for n in sorted(graph.notes()) if graph.outlinks(n)]
    random.Random(seed).shuffle(candidates)
    questions = []
    ids = texts.ids_for_paths(candidates)
    for path in candidates:
        if len(questions) >= limit:
            break
        rows = texts.get(ids.get(path, []))
        text = " ".join(chunk_body(rows[c].text) for c in ids.get(path, []) if c in rows)
        names = {link.get("alias") or "" for link in g.nodes[path].get("links", [])}
        names |= {link["target"].rsplit("/", 1)[-1].removesuffix(".md") for link in g.nodes[path].get("links", [])}
        for target in graph.outlinks(path):
            names |= {g.nodes[target].get("title", ""), *g.nodes[target].get("aliases", [])}
        for name in sorted((n for n in names if n), key=len, reverse=True):
            text = re.sub(re.escape(name), " ", text, flags=re.I)
        text = " ".join(text.split())[:600]
        if len(text) < min_chars:
            continue
        lang = "ru" if cyrillic_letters(text) > len(text) / 10 else "en"
        questions.append(Question(f"link:{path}", lang, text, tuple(graph.outlinks(path)), "link", (), (path,)))
    return questions


def names_as_queries(graph: LinkGraph, texts: ChunkStore, limit: int = 300, seed: int = 0) -> list[Question]:
    """Navigational queries, as someone looking for a note or a section types them: each note's title (kind
    "title"; gold: every note answering to that name — title, alias or file name), the same asked about ("что такое
    …" / "what is …", kind "definition"), the same typed with a slip of the finger (kind "typo": see `with_typo`)
    or with the other keyboard layout on (kind "layout": see `on_wrong_layout`), and each heading of two or more
    words that one note alone has (kind "heading"; gold: that note); a fixed sample of `limit` titles and `limit`
    headings. Left out: titles without a letter (a timestamp, a Zettelkasten id: nobody asks for a note by a name
    they do not read), chat exchanges and the overlay's own notes (search leaves them out)."""
    g = graph.g
    firsts = texts.first_chunks(graph.notes())  # notes with text: a note of nothing cannot be found
    own = texts.answer_paths()
    by_name: dict[str, set[str]] = {}
    for path in (p for p in graph.notes() if p not in own):
        for name in note_names(graph, path):
            by_name.setdefault(name.casefold(), set()).add(path)
    notes = [p for p in sorted(graph.notes()) if p in firsts and p not in own
             and re.search(r"[^\W\d_]", g.nodes[p].get("title", ""))]
    random.Random(seed).shuffle(notes)
    questions = [_named_question("title", g.nodes[path]["title"].strip(), by_name) for path in notes[:limit]]
    questions += [dataclasses.replace(q, id=f"definition:{q.id}", kind="definition",
                                      question=("что такое " if q.lang == "ru" else "what is ") + q.question)
                  for q in questions]
    rng = random.Random(seed)
    slips = [(q, with_typo(q.question, rng)) for q in questions if q.kind == "title"]
    questions += [dataclasses.replace(q, id=f"typo:{q.id}", kind="typo", question=slip) for q, slip in slips if slip]
    questions += [dataclasses.replace(q, id=f"layout:{q.id}", kind="layout", question=on_wrong_layout(q.question))
                  for q in questions if q.kind == "title"]
    by_heading: dict[str, set[str]] = {}
    written: dict[str, str] = {}  # as the note writes it
    for path, heading in texts.user_headings():
        if heading_stems(heading):
            by_heading.setdefault(heading.strip().casefold(), set()).add(path)
            written.setdefault(heading.strip().casefold(), heading.strip())
    headings = sorted(written[h] for h, paths in by_heading.items() if len(paths) == 1)
    random.Random(seed).shuffle(headings)
    return questions + [_named_question("heading", heading, by_heading) for heading in headings[:limit]]


def with_typo(name: str, rng: random.Random) -> str | None:
    """`name` with one slip in its longest word of 6+ letters: a letter left out or two neighbours swapped, never
    the first letter (the slips a quick typist makes; a word that short is rarely mistyped). None when no word
    is that long."""
    words = re.split(r"(\W+)", name)
    long = [i for i, word in enumerate(words) if len(word) >= 6 and word.isalpha()]
    if not long:
        return None
    i = max(long, key=lambda j: len(words[j]))
    word, at = words[i], rng.randrange(1, len(words[i]) - 1)
    swap = rng.random() >= 0.5 and word[at] != word[at + 1]  # swapping two equal letters would change nothing
    words[i] = word[:at] + word[at + 1] + word[at] + word[at + 2:] if swap else word[:at] + word[at + 1:]
    return "".join(words)


def on_wrong_layout(name: str) -> str:
    """`name` typed with the other keyboard layout on: a Cyrillic name's Cyrillic words on the Latin keys, a Latin
    name's Latin words on the Russian keys (the words of the other script come out right); a name of both scripts
    goes by the script of most of its letters."""
    cyrillic = cyrillic_letters(name) * 2 > len(re.findall(r"[^\W\d_]", name))
    return re.sub(r"[^\W\d_]+", lambda m: other_layout(m.group(0)) if bool(cyrillic_letters(m.group(0))) == cyrillic
                  else m.group(0), name)


def _named_question(kind: str, name: str, gold: dict[str, set[str]]) -> Question:
    paths = tuple(sorted(gold[name.casefold()]))
    return Question(f"{kind}:{paths[0]}:{name}", "ru" if cyrillic_letters(name) else "en", name, paths, kind)
