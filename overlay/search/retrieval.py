"""Hybrid retrieval over the whole vault: dense (Chroma) + sparse (BM25, Russian/English stems) + the link graph
(links, backlinks, typed relations of the top notes), fused by relative score (or reciprocal rank); one result per
note section.

Fusion is written out here (a few lines) rather than through llama-index's QueryFusionRetriever, which wants
llama-index nodes and an async retriever per source; our sources already return ranked chunk ids.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from graph import GraphFileError, LinkGraph
from overlay.index.bm25 import SparseIndex
from overlay.index.chunk_store import ChunkRow, ChunkStore
from overlay.index.chunking import chunk_body
from overlay.index.embedding import Embedder
from overlay.index.indexer import file_stamp
from overlay.index.latin import Latin, is_latin
from overlay.index.stems import STOP_WORDS, tokenize, unmark
from overlay.index.vectors import VectorStore
from overlay.search.context import ContextQuestion, read_context
from overlay.search.layout import Letters, relayout
from overlay.search.names import NameIndex, named_headings
from overlay.search.rerank import Reranker, blend
from vault_sync.script import language

MODES = ("hybrid", "dense", "sparse", "graph")
RRF_K = 60
SEED_NOTES = 5  # top notes whose links and backlinks are followed
EDGE_WEIGHT = {"property": 1.0, "embed": 0.9, "link": 0.8, "markdown": 0.8, "canvas": 0.5}
BACKLINK = 0.7  # a note that links to a hit is evidence, a little weaker than a note the hit links to
# Graph expansion joins the hybrid fusion only with a weight > 0 (setting `graph_weight`). On the example vault's
# 48 questions every weight tried (0.1-1.0) lowered hit@1 or hit@5 against dense+BM25, so it is off by default
# until it is measured on a large vault; `--mode graph` shows what it finds.
SOURCE_WEIGHT = {"dense": 1.0, "bm25": 1.0, "dense-en": 1.0}

Section = tuple[str, str]  # (path, heading)
Period = tuple[str, str] | None  # (after, before) as YYYY-MM-DD, either may be "": only text dated within it

SNIPPET_CHARS = 240
RARE_NOTES, RARE_WEIGHT = 2, 2.0  # see _rare_terms
NOTE_CANDIDATES = 50  # whole-note matches fetched per query: beyond these they add nothing to the top results
# Candidates fetched per source, whatever k is asked for, and the rank whose score is each list's zero in relative
# fusion. Both fixed, so the top results do not depend on k: min-max scaling over a pool that grew with k moved
# every score (top 5 of `search --k 10` and `--k 40` differed in 7 of 12 queries on a real vault). A larger k
# fetches deeper, and what lies beyond the pool adds nothing from that list.
POOL = 120
DENSE_STANDOUT = 0.3  # a dense list whose best hit is this much (relatively) above its 10th is trusted fully
STANDOUT_AT = 10
# The rankers that judge a query independently: two embedding models and BM25 (note vectors are the main model's
# judgement again). Where all three ran and agree on the section they put first, it leads (see _consensus).
JUDGES = ("dense", "dense-en", "bm25")
PART_OF = 2 / 3  # a note one link from the note a question names is a part of it when at most this share of its size
MAX_PARTS = 300  # a named note linked with more notes than this is a map: its parts are not weighed


def snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    """The chunk text without its breadcrumb line, on one line, cut at a word boundary."""
    flat = " ".join(chunk_body(text).split())
    return flat if len(flat) <= limit else flat[:limit].rsplit(" ", 1)[0] + "…"


@dataclass(frozen=True, slots=True)
class SearchResult:
    path: str
    heading: str
    score: float
    snippet: str
    why: tuple[str, ...] = ()
    chunk_id: str = ""  # the chunk standing for the section (its full text is in the ChunkStore)
    similarity: float | None = None  # cosine to the query when the dense list found it: an absolute relevance
    ranked_by: str = ""  # the stage that put it where it is: "rerank", "consensus", "fusion", or the mode's source

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        del data["chunk_id"], data["similarity"]
        return {**data, "why": list(self.why)}


@dataclass
class _Ranked:
    """One source's sections in rank order, with the chunk that represents each and why it is there."""

    order: list[Section] = field(default_factory=list)
    chunk: dict[Section, str] = field(default_factory=dict)
    score: dict[Section, float] = field(default_factory=dict)
    why: dict[Section, str] = field(default_factory=dict)
    source: str = ""  # "dense" | "dense-en" (the English model, overlay.index.latin) | "bm25" | "note" | "graph"
    similarity: dict[Section, float] = field(default_factory=dict)  # cosine to the query, where known
    evidence: dict[Section, float] = field(default_factory=dict)  # a 0..1 trust in each hit (BM25: term coverage)
    weight: float = 1.0  # × the source's weight for this query (BM25: its terms are rare, see _rare_terms)
    floor: float | None = None  # the score that scales to 0 in relative fusion: the POOL-th hit's (else the lowest)

    def add(self, section: Section, chunk_id: str, score: float, why: str) -> None:
        if section not in self.chunk:
            self.order.append(section)
            self.chunk[section], self.score[section], self.why[section] = chunk_id, score, why


class Retriever:
    """Searches one index. Given `bm25_path` and `graph_path` it stays current for a long-lived process (the
    watcher, a server): BM25 is reloaded when the chunk texts changed, the graph when graph.json did."""

    def __init__(self, *, embedder: Embedder, store: VectorStore, texts: ChunkStore, sparse: SparseIndex | None,
                 graph: LinkGraph | None, graph_weight: float = 0.0, fusion: str = "relative",
                 note_evidence: float = 0.6, bm25_coverage: float = 1.0, note_weight: float = 0.0,
                 link_boost: float = 0.0, hub_penalty: float = 0.0, dense_standout: float = DENSE_STANDOUT,
                 consensus: bool = False, title_weight: float = 0.0, context_questions: bool = False,
                 bm25_path: Path | None = None,
                 graph_path: Path | None = None,
                 reranker: Reranker | None = None, rerank_top: int = 30,
                 latin: Callable[[], Latin | None] | None = None) -> None:
        """`latin`: opens the English model and its collection (overlay.index.latin) on the first English question
        that needs it (loading it costs seconds; most questions never do)."""
        self.embedder, self.store, self.texts, self.sparse, self.graph = embedder, store, texts, sparse, graph
        self.graph_weight, self.fusion, self.note_evidence = graph_weight, fusion, note_evidence
        self.bm25_coverage, self.note_weight, self.link_boost = bm25_coverage, note_weight, link_boost
        self.hub_penalty, self.dense_standout, self.consensus = hub_penalty, dense_standout, consensus
        self.title_weight, self.context_questions = title_weight, context_questions
        self.bm25_path, self.graph_path = bm25_path, graph_path
        self.reranker, self.rerank_top = reranker, rerank_top
        self._latin_opener, self._latin = latin, None
        self.rerank_s = 0.0  # time the reranker took in the last search
        self._graph_stamp = file_stamp(graph_path) if graph_path and graph is not None else None
        self._rows: dict[str, ChunkRow] = {}
        self._names: tuple[LinkGraph, int, NameIndex] | None = None  # built from this graph at this names_revision
        self._letters_of: tuple[SparseIndex, Letters] | None = None  # built from this BM25 index

    def use_graph(self, graph: LinkGraph | None, stamp: tuple[int, int] | None) -> None:
        """A graph the caller already holds in memory (the watcher's indexer), current as of `stamp`."""
        self.graph, self._graph_stamp = graph, stamp

    def refresh(self) -> None:
        """Catch up with what an index run wrote since the last search (cheap when nothing changed: one sqlite
        read and one stat)."""
        if self.bm25_path is not None and (self.sparse is None or self.sparse.built_for != self.texts.generation()):
            self.sparse = SparseIndex.current(self.texts, self.bm25_path)
        if self.graph_path is not None:
            stamp = file_stamp(self.graph_path)
            if stamp is not None and stamp != self._graph_stamp:
                try:
                    self.graph, self._graph_stamp = LinkGraph.load(self.graph_path), stamp
                except (FileNotFoundError, GraphFileError):
                    pass  # being replaced right now: the next search loads it

    def search(self, query: str, k: int = 10, *, mode: str = "hybrid", include_answers: bool = False,
               exclude: Collection[str] = (), period: Period = None) -> list[SearchResult]:
        """`period`: only text dated within it (a chat exchange's date, a daily note's, a note's `date:`)."""
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}")
        if not query.strip():
            return []
        n = max(POOL, k) * (4 if period else 1)  # a period drops most candidates: fetch more
        self.refresh()
        query = self.spelled(query)
        self._rows = {}  # per query: a warm Retriever must not serve texts an index run has since replaced
        keep = _Filter(include_answers, set(exclude), period)
        lists = self._lists(query, n, mode, keep)
        if mode in ("dense", "sparse", "graph"):
            return self._results(lists[:1] if lists else [], k, raw=True, ranked_by=mode)
        return self._results(lists, k, raw=False, query=query, keep=keep)

    def _lists(self, query: str, n: int, mode: str, keep: _Filter) -> list[_Ranked]:
        """What each source ranks for the query, n candidates each (hybrid: every source; else the mode's own)."""
        include_answers = keep.include_answers
        vector = self.embedder.embed_query(query) if mode != "sparse" else None
        lists: list[_Ranked] = []
        if vector is not None:
            hits = self.store.query(vector, n, include_own=include_answers)
            lists.append(self._ranked([(h.id, h.score) for h in hits], keep, "dense"))
            lists[0].weight = _dense_trust([h.score for h in hits], self.dense_standout)
        if mode == "hybrid" and lists and self._latin_opener is not None and language(query) == "en":
            english = self._english(query, n, lists[0], keep)
            if english is not None:
                lists.append(english)
        if mode in ("hybrid", "sparse") and self.sparse is not None:
            bm25 = self._ranked(self.sparse.search(query, n, include_own=include_answers), keep, "bm25")
            self._weigh_term_coverage(bm25, query)
            bm25.weight = _rare_terms(bm25)
            lists.append(bm25)
        if mode == "hybrid" and self.note_weight > 0 and vector is not None:
            lists.append(self._notes(vector, n, lists[0], keep))
            lists[-1].weight = lists[0].weight  # the same model's judgement
        if mode == "hybrid" and self.title_weight > 0 and lists and lists[0].source == "dense":
            named = self._named(query, lists, keep)
            if named is not None:
                lists.append(named)
        expand = mode == "graph" or (mode == "hybrid" and self.graph_weight > 0)
        if expand and self.graph is not None and vector is not None:
            seeds = [path for path, _ in list(_fuse(lists, self._weight, self.fusion))[: 3 * SEED_NOTES]]
            seeds = list(dict.fromkeys(seeds))[:SEED_NOTES]
            expanded = self._expand(seeds, vector, keep)
            lists = [expanded] if mode == "graph" else [*lists, expanded]
        return lists

    def spelled(self, query: str) -> str:
        """The query as every list then reads it: words typed on the wrong keyboard layout read on the right one
        (overlay.search.layout), then a slip in a word of a note's name mended (overlay.search.names); composed
        and unmarked as the notes are indexed (overlay.index.stems.unmark)."""
        query = unmark(query)
        if self.sparse is None:
            return query
        names = self._note_names() if self.graph is not None and self.title_weight > 0 else None

        def known(stem: str) -> bool:  # in some note's text, or in some note's name
            return self.sparse.knows(stem) or (names is not None and names.has(stem))

        query = relayout(query, known, self._letters)
        return names.spelled(query, known) if names is not None else query

    def _letters(self) -> Letters:
        """The letter triples of the vault's words (overlay.search.layout), built again for a new BM25 index."""
        if self._letters_of is None or self._letters_of[0] is not self.sparse:
            self._letters_of = (self.sparse, Letters([*self.sparse.vocabulary(), *STOP_WORDS]))
        return self._letters_of[1]

    def linked(self, seeds: list[str], query: str, k: int, *, include_answers: bool = False,
               exclude: Collection[str] = (), period: Period = None) -> list[SearchResult]:
        """Notes one link away from `seeds` (either direction, typed relations included), each by the section the
        link names or else its section closest to the query; best first (edge weight × seed rank × cosine). The
        answer loop fills its sources with these: the user's own links are evidence (the KAG side)."""
        self.refresh()
        self._rows = {}
        if self.graph is None or not seeds:
            return []
        query = self.spelled(query)
        ranked = self._expand(seeds, self.embedder.embed_query(query), _Filter(include_answers, set(exclude), period))
        out = []
        for section in ranked.order[:k]:
            cid = ranked.chunk[section]
            row = self._rows_for([cid])[cid]
            out.append(SearchResult(section[0], section[1], round(ranked.score[section], 5), snippet(row.text),
                                    (ranked.why[section],), cid, round(ranked.similarity[section], 4)))
        return out

    # ---- sources --------------------------------------------------------------------------------------------
    def _rows_for(self, ids: Iterable[str]) -> dict[str, ChunkRow]:
        missing = [i for i in ids if i not in self._rows]
        if missing:
            self._rows.update(self.texts.get(missing))
        return self._rows

    def _ranked(self, hits: list[tuple[str, float]], keep: _Filter, why: str) -> _Ranked:
        rows = self._rows_for(cid for cid, _ in hits)
        ranked = _Ranked(source=why, floor=min((score for _, score in hits[:POOL]), default=None))
        for cid, score in hits:
            row = rows.get(cid)
            if row is not None and keep(row):
                ranked.add((row.path, row.heading), cid, score, why)
        return ranked

    def _notes(self, vector: np.ndarray, n: int, dense: _Ranked, keep: _Filter) -> _Ranked:
        """Whole-note matches (note vectors: the note's names and opening), each standing on its best section."""
        hits = self.store.query_notes(vector, min(n, NOTE_CANDIDATES))
        standing = self._standing([path for path, _ in hits], dense, keep)
        ranked = _Ranked(source="note")
        for path, cosine in hits:
            if path in standing:
                ranked.add(*standing[path], cosine, "note")
        return ranked

    def _named(self, query: str, lists: list[_Ranked], keep: _Filter) -> _Ranked | None:
        """Notes the query names, each standing on its best section, and sections whose heading it names, among the
        candidates of the lists so far (overlay.search.names); each counts × (the share of the query its name
        covers)²: a query that is a note's name or a section's heading asks for that note or section."""
        named = self._note_names().named(query) if self.graph is not None else {}
        dense = lists[0]
        standing = self._standing(list(named), dense, keep)
        ranked = _Ranked(source="title", floor=0.0)
        for path, share in named.items():
            if path in standing:
                section, cid = standing[path]
                ranked.add(section, cid, 1.0, "title")
                ranked.evidence[section] = share
        chunk = _section_chunks(lists)
        for section, share in named_headings(query, chunk).items():
            if share > ranked.evidence.get(section, 0.0):
                ranked.add(section, chunk[section], 1.0, "title")
                ranked.evidence[section] = share
        return ranked if ranked.order else None

    def _note_names(self) -> NameIndex:
        """The index of the user's notes' names, built again when the graph was replaced or a note came, went or was
        renamed (an answer note the overlay writes is such a note: its chunks are stored by then)."""
        built = self._names
        if built is None or built[0] is not self.graph or built[1] != self.graph.names_revision:
            self._names = (self.graph, self.graph.names_revision, NameIndex(self.graph, self.texts.answer_paths()))
        return self._names[2]

    def _standing(self, paths: list[str], dense: _Ranked, keep: _Filter) -> dict[str, tuple[Section, str]]:
        """The section (and its chunk) that stands for each note in a whole-note list: the one dense search ranked
        best within the pool every k shares, else the note's first chunk; none for notes the filter leaves out."""
        best: dict[str, tuple[Section, str]] = {}
        for section in dense.order[:POOL]:
            best.setdefault(section[0], (section, dense.chunk[section]))
        firsts = self.texts.first_chunks([p for p in paths if p not in best])
        rows = self._rows_for(firsts.values())
        for path, cid in firsts.items():
            if cid in rows and keep(rows[cid]):
                best[path] = ((rows[cid].path, rows[cid].heading), cid)
        return {path: best[path] for path in paths if path in best}

    def _english(self, query: str, n: int, dense: _Ranked, keep: _Filter) -> _Ranked | None:
        """The English model's list for an English question, weighted by the share of English text in the main
        model's top 10 (× its own dense trust): an English question about Russian notes leaves it out — and then
        the model is not even loaded."""
        top = dense.order[:STANDOUT_AT]
        share = sum(is_latin(self._rows[dense.chunk[s]].text) for s in top) / len(top) if top else 0.0
        if share == 0.0:
            return None
        if self._latin is None:
            self._latin = self._latin_opener()  # type: ignore[misc]  # None: not filled yet, asked again next time
        if self._latin is None:
            return None
        hits = self._latin.store.query(self._latin.embedder.embed_query(query), n)
        ranked = self._ranked([(h.id, h.score) for h in hits], keep, "dense-en")
        ranked.weight = share * _dense_trust([h.score for h in hits], self.dense_standout)
        return ranked

    def _weigh_term_coverage(self, ranked: _Ranked, query: str) -> None:
        """How much of the question each BM25 hit contains. Relative fusion scales every list to 0..1, so a hit that
        shares one incidental word (an English question on Russian notes matching "model" or "Qwen") would count as
        much as one that contains the whole question; weighting by coverage lets dense search lead when BM25's
        evidence is thin or foreign to the text it matched."""
        asked = set(tokenize(query))
        if not asked or not self.bm25_coverage:
            return
        for section in ranked.order:
            terms = set(self._rows[ranked.chunk[section]].terms.split())
            ranked.evidence[section] = (len(asked & terms) / len(asked)) ** self.bm25_coverage

    def _expand(self, seeds: list[str], vector: np.ndarray, keep: _Filter) -> _Ranked:
        """Notes one link away from the seeds (either direction), weighted by edge kind and seed rank; for each,
        the section the link names, else the note's section closest to the query."""
        weight: dict[str, float] = defaultdict(float)
        heading: dict[str, str] = {}
        reason: dict[str, str] = {}
        for rank, seed in enumerate(seeds):
            for neighbour, attrs, why in self._neighbours(seed):
                if neighbour in seeds and seeds.index(neighbour) < rank:
                    continue  # a better-ranked hit needs no boost from a worse one
                gain = EDGE_WEIGHT.get(attrs.get("kind", "link"), 0.5) / (rank + 1)
                if why.startswith("links to"):
                    gain *= BACKLINK
                weight[neighbour] += gain
                if attrs.get("heading") and neighbour not in heading:
                    heading[neighbour] = attrs["heading"]
                reason.setdefault(neighbour, why)
        notes = sorted(weight, key=lambda p: -weight[p])[: 4 * SEED_NOTES]
        best = self._best_chunks(notes, vector, heading)
        relevance = {p: weight[p] * max(cos, 0.0) for p, (cos, _) in best.items()}  # linked AND on topic
        ranked = _Ranked(source="graph")
        rows = self._rows_for(cid for _, cid in best.values())
        for path in sorted(relevance, key=lambda p: -relevance[p]):
            row = rows.get(best[path][1])
            if row is not None and keep(row):
                ranked.add((row.path, row.heading), row.id, relevance[path], reason[path])
                ranked.similarity[(row.path, row.heading)] = best[path][0]
        return ranked

    def _neighbours(self, seed: str):
        g = self.graph.g
        if not g.has_node(seed):
            return
        for _, target, attrs in g.out_edges(seed, data=True):
            if g.nodes[target].get("kind") == "note" and target != seed:
                prop = attrs.get("property")
                yield target, attrs, (f"{prop} of {seed}" if prop and attrs["kind"] == "property"
                                      else f"link from {seed}")
        for source, _, attrs in g.in_edges(seed, data=True):
            if g.nodes[source].get("kind") == "note" and source != seed:
                yield source, attrs, f"links to {seed}"

    def _best_chunks(self, notes: list[str], vector: np.ndarray,
                     heading: dict[str, str]) -> dict[str, tuple[float, str]]:
        """Per note: (cosine to the query, chunk id) of the section the link names, else of its closest section."""
        ids = self.texts.ids_for_paths(notes)
        rows = self._rows_for(cid for cids in ids.values() for cid in cids)
        vectors = self.store.embeddings([cid for cids in ids.values() for cid in cids])
        best: dict[str, tuple[float, str]] = {}
        for path in notes:
            scored = [(float(np.dot(vectors[c], vector)), c) for c in ids.get(path, []) if c in vectors]
            named = [sc for sc in scored if rows[sc[1]].heading == heading.get(path)]
            if named or scored:
                best[path] = max(named or scored)
        return best

    # ---- fusion ---------------------------------------------------------------------------------------------
    def _weight(self, ranked: _Ranked) -> float:
        source = ranked.source
        if source == "note":
            return self.note_weight * ranked.weight
        if source == "title":
            return self.title_weight * ranked.weight
        return SOURCE_WEIGHT.get(source, self.graph_weight if source == "graph" else 1.0) * ranked.weight

    def _hub_penalty(self, scores: dict[Section, float], lists: list[_Ranked]) -> dict[Section, float]:
        """A hub — a section most of whose lines are links — is a map of where answers are, not an answer: it
        matches a question's topic words while the note it links to holds the answer. Its score is lowered by up
        to `hub_penalty`, in proportion to how far beyond half of its lines carry links. Unless the query is the
        hub's name: then the map is what is asked for (title lookups on ru-vault 0.936 → 0.989, no question moved)."""
        if not self.hub_penalty:
            return scores
        chunk = _section_chunks(lists)
        rows = self._rows_for(chunk[s] for s in scores if s in chunk)
        named = {s for r in lists if r.source == "title" for s in r.order if r.evidence[s] >= 1.0}
        out = {}
        for section, value in scores.items():
            if section in named:
                out[section] = value
                continue
            share = rows[chunk[section]].link_share if section in chunk and chunk[section] in rows else 0.0
            out[section] = value * (1.0 - self.hub_penalty * min(max((share - 0.5) / 0.5, 0.0), 1.0))
        return dict(sorted(out.items(), key=lambda item: -item[1]))

    def _link_boost(self, scores: dict[Section, float]) -> dict[Section, float]:
        """Notes one link away from the strongest hits gain a bounded share of their evidence: at most
        `link_boost` × min(the seed's score, their own), divided by √ of the seed's link count (a hub linking to
        everything lends each neighbour little). Only candidates with their own evidence gain, and by no more than
        what they already have, so a weak neighbour of a strong hit never jumps a strong direct match."""
        if not self.link_boost or self.graph is None or not scores:
            return scores
        seeds: dict[str, float] = {}
        for (path, _), value in scores.items():
            if path not in seeds:
                seeds[path] = value
            if len(seeds) == SEED_NOTES:
                break
        gain: dict[str, float] = defaultdict(float)
        for seed, seed_score in seeds.items():
            linked = set(self.graph.outlinks(seed)) | set(self.graph.backlinks(seed))
            linked.discard(seed)
            for other in linked:
                gain[other] += seed_score / max(len(linked), 1) ** 0.5
        boosted = {section: value + self.link_boost * min(gain.get(section[0], 0.0), value)
                   for section, value in scores.items()}
        return dict(sorted(boosted.items(), key=lambda item: -item[1]))

    def _consensus(self, scores: dict[Section, float], lists: list[_Ranked],
                   stage: dict[Section, str]) -> dict[Section, float]:
        """The section that every independent ranker put first leads (`ranked_by` "consensus"). Note evidence and the
        link boost are priors (long notes, linked notes); they may decide between candidates the rankers disagree on,
        not overrule three different models that agree. Only an English question on English text gets three judges
        (overlay.index.latin); with two (USE and BM25), agreement alone moved 12 dev questions and lost."""
        judges = [r.order[0] for r in lists if r.source in JUDGES and r.order]
        if not self.consensus or len(judges) < len(JUDGES) or len(set(judges)) != 1:
            return scores
        first, (top, lead) = judges[0], next(iter(scores.items()))  # every listed section is scored; best first
        if first != top:
            stage[first] = "consensus"
        return {first: lead, **{section: value for section, value in scores.items() if section != first}}

    def _results(self, lists: list[_Ranked], k: int, *, raw: bool, query: str = "", keep: _Filter | None = None,
                 ranked_by: str = "fusion") -> list[SearchResult]:
        """Single-source modes keep that source's own scores (cosine, BM25, graph weight); hybrid the fused one,
        its top `rerank_top` re-scored and blended when a reranker is configured."""
        self.rerank_s = 0.0
        stage: dict[Section, str] = {}
        if raw:
            scores = {s: lists[0].score[s] for s in lists[0].order} if lists else {}
            scores = dict(sorted(scores.items(), key=lambda item: -item[1]))
        else:
            scores, stage = self._scored(lists, query, rerank=True)
            if self.context_questions and keep is not None:
                scores = self._within_named_note(query, scores, lists, keep, stage)
        out: list[SearchResult] = []
        for section, score in list(scores.items())[:k]:
            sources = [r for r in lists if section in r.chunk]
            chunk_id = sources[0].chunk[section]
            row = self._rows_for([chunk_id])[chunk_id]
            dense = next((r.score[section] for r in sources if r.source == "dense"), None)
            out.append(SearchResult(section[0], section[1], round(score, 5), snippet(row.text),
                                    tuple(dict.fromkeys(r.why[section] for r in sources)), chunk_id,
                                    None if dense is None else round(float(dense), 4),
                                    stage.get(section, ranked_by)))
        return out

    def _scored(self, lists: list[_Ranked], query: str, *, rerank: bool) -> tuple[dict[Section, float],
                                                                               dict[Section, str]]:
        """The hybrid lists fused and adjusted, best first; with which stage put a section where it is."""
        stage: dict[Section, str] = {}
        scores = _note_evidence(_fuse(lists, self._weight, self.fusion), self.note_evidence)
        scores = self._consensus(self._hub_penalty(self._link_boost(scores), lists), lists, stage)
        if rerank and self.reranker is not None and scores:
            scores, stage = self._rerank(query, scores, lists)
        return scores, stage

    def _within_named_note(self, query: str, scores: dict[Section, float], lists: list[_Ranked], keep: _Filter,
                           stage: dict[Section, str]) -> dict[Section, float]:
        """A question that names the note it is about (overlay.search.context): what it asks is in a part of that
        note (_part_of_first) or, where it says the note links somewhere, in a note it links to (_linked_from). The
        note found leads with the lead's score (README, "a question that names its note")."""
        if self.graph is None or not scores:
            return scores
        asked, found = read_context(query), None
        if asked is not None and asked.target is not None:
            found = self._linked_from(asked, keep)
            if found is None:  # its subject names no one note: read it as "in the note about …" where it can be
                asked = read_context(query, links=False)
        if found is None and asked is not None:
            found = self._part_of_first(asked, scores, query)
        if found is None:
            return scores
        (section, chunk_id), why = found
        row = self._rows_for([chunk_id]).get(chunk_id)
        if row is None or not keep(row) or section == next(iter(scores)):
            return scores
        lead = next(iter(scores.values()))
        named_by = _Ranked(source="context")
        named_by.add(section, chunk_id, lead, why)
        lists.append(named_by)
        stage[section] = "context"
        return {section: lead, **{s: value for s, value in scores.items() if s != section}}

    def _part_of_first(self, asked: ContextQuestion, scores: dict[Section, float],
                       query: str) -> tuple[tuple[Section, str], str] | None:
        """"In the book about X, …": the first result is the note so named; of it and its parts, the one whose best
        section is closest in meaning to what is asked (the question without the naming words)."""
        named = next(iter(scores))[0]
        parts = self._parts(named, language(query))
        if not parts:
            return None
        best = self._best_chunks([named, *parts], self.embedder.embed_query(asked.ask), {})
        answer = max(best, key=lambda path: best[path][0], default=named)
        if answer == named:
            return None
        row = self._rows_for([best[answer][1]]).get(best[answer][1])  # None: an index run just replaced it
        return None if row is None else (((row.path, row.heading), row.id), f"in {named}, the note the question names")

    def _linked_from(self, asked: ContextQuestion, keep: _Filter) -> tuple[tuple[Section, str], str] | None:
        """"The roadmap links to a model note: how do I …": the note whose name is the subject (every word of it,
        the kind of note aside: "the npm ci page"), one alone; of the notes it links to, the one hybrid search ranks
        first for the target and what is asked ("a model note how do I turn its thinking off")."""
        names = {path for path, share in self._note_names().named(asked.names).items() if share >= 1.0}
        if len(names) != 1:
            return None
        named = names.pop()
        linked = set(self.graph.outlinks(named)) if self.graph is not None else set()
        if not linked:
            return None
        question = f"{asked.target} {asked.ask}"
        inner = self._lists(question, POOL * (4 if keep.period else 1), "hybrid", keep)
        scores, _ = self._scored(inner, question, rerank=False)
        section = next((s for s in scores if s[0] in linked), None)
        if section is None:
            return None
        return (section, _section_chunks(inner)[section]), f"link from {named}, which the question names"

    def _parts(self, named: str, asked_in: str) -> list[str]:
        """The notes one link from `named` at most PART_OF its size (a part, not another whole: on openbox the parts
        that answered were 0.05–0.51 of their book note; a card of 0.86 beside another card was not). When the named
        note is in another language than the question, not those in the question's language: the model's cosine
        runs higher within a language, so theirs would win by language alone (openbox ob-06: an English quote over
        the Russian book note that holds the answer)."""
        neighbours = list(dict.fromkeys(path for path, _, _ in self._neighbours(named)))
        if len(neighbours) > MAX_PARTS:
            return []  # a map of hundreds of notes, not a whole with parts (and reading them all would be slow)
        ids = self.texts.ids_for_paths([named, *neighbours])
        rows = self._rows_for(cid for cids in ids.values() for cid in cids)
        text = {path: " ".join(chunk_body(rows[c].text) for c in cids if c in rows) for path, cids in ids.items()}
        own = text.get(named, "")
        crossing = language(own) != asked_in
        return [path for path in neighbours if path in text and len(text[path]) <= PART_OF * len(own)
                and not (crossing and language(text[path]) == asked_in)]

    def _rerank(self, query: str, scores: dict[Section, float],
                lists: list[_Ranked]) -> tuple[dict[Section, float], dict[Section, str]]:
        """The first `rerank_top` sections re-scored by the reranker (their chunk's text, breadcrumb included) and
        blended by position (overlay.search.rerank.blend); they stay ahead of the rest, which keep their order."""
        head = list(scores.items())[: self.rerank_top]
        chunk = {section: next(r.chunk[section] for r in lists if section in r.chunk) for section, _ in head}
        rows = self._rows_for(chunk.values())
        started = time.perf_counter()
        reranked = self.reranker.score(query, [rows[chunk[section]].text for section, _ in head])  # type: ignore[union-attr]
        self.rerank_s = time.perf_counter() - started
        blended = blend([value for _, value in head], reranked)
        out = dict(sorted(zip((section for section, _ in head), blended, strict=True), key=lambda item: -item[1]))
        tail = list(scores.items())[self.rerank_top:]
        if tail:  # below the last reranked one, in their fused order and proportions
            floor, first = min(blended), tail[0][1]
            out.update((section, value * floor / first if first > 0 else 0.0) for section, value in tail)
        return out, dict.fromkeys(chunk, "rerank")


def _section_chunks(lists: list[_Ranked]) -> dict[Section, str]:
    """The chunk that stands for each section of the lists: the first list's that has it (as in the results)."""
    return {section: r.chunk[section] for r in reversed(lists) for section in r.order}


def _dense_trust(scores: list[float], standout: float = DENSE_STANDOUT) -> float:
    """Dense search's weight for this query: how far its best hit stands out from its 10th, relative to the best,
    as a share of `standout` (capped at 1; 0 turns it off). Min-max scaling stretches any list to 0..1, so a model
    that does not understand the query — an English-only model on Russian text puts every chunk near the same
    cosine — would weigh like one that does; a flat list then lends little and BM25 leads. Measured (hit@1, dev
    sets): USE npm docs 0.54 → 0.61 (hit@5 0.83 → 0.87), example vault and ru-vault unchanged; MiniLM ru-vault
    0.29 → 0.48 (hit@5 0.49 → 0.76), example vault 0.58 → 0.67, npm unchanged. 0.45 and 0.6 gained more on MiniLM
    but cost a question at hit@5 on some subsets."""
    if standout <= 0 or len(scores) < STANDOUT_AT or scores[0] <= 0:
        return 1.0
    stand_out = (scores[0] - scores[STANDOUT_AT - 1]) / scores[0]
    return max(0.0, min(1.0, stand_out / standout))


def _rare_terms(bm25: _Ranked) -> float:
    """BM25's weight for this query: doubled when the query's words occur in at most RARE_NOTES notes. A word found
    almost nowhere else (a name, an identifier, a word just written) is decisive, while min-max scaling gives the
    best of a dense list that matches nothing well the same 1.0 as that exact match — and note vectors and links
    then lift the dense side past it. Found by the watcher benchmark: a note saved with a new word was indexed but
    not in the top three, the dense guesses winning; measured on the dev sets: no change there."""
    notes = {path for path, _ in bm25.order}
    return RARE_WEIGHT if 0 < len(notes) <= RARE_NOTES else 1.0


def _fuse(lists: list[_Ranked], weight: Callable[[_Ranked], float], method: str = "relative") -> dict[Section, float]:
    """Fused scores, best first. "relative": each list's own scores scaled to 0..1 (min-max over its candidates)
    and summed with the list's weight; "rrf": reciprocal rank fusion, sum of w / (60 + rank).

    Relative scores keep how *much* better a hit is: measured on the npm docs dev set, an exact BM25 match that
    dense search ranked 20th lost under RRF (hit@1 0.45) and wins with relative scores (0.55); on the example vault
    hit@5 0.94 -> 0.98 and the "link" kind 0.1 -> 0.4 hit@1, the rest equal."""
    score: dict[Section, float] = defaultdict(float)
    for ranked in lists:
        if method == "rrf":
            for rank, section in enumerate(ranked.order):
                score[section] += weight(ranked) / (RRF_K + 1 + rank)
            continue
        values = np.array([ranked.score[s] for s in ranked.order], dtype=np.float64)
        if not len(values):
            continue
        lo, hi = (values.min() if ranked.floor is None else ranked.floor), values.max()
        norm = np.clip((values - lo) / (hi - lo), 0.0, None) if hi > lo else np.ones_like(values)
        for section, value in zip(ranked.order, norm, strict=True):
            score[section] += weight(ranked) * float(value) * ranked.evidence.get(section, 1.0)
    return dict(sorted(score.items(), key=lambda item: -item[1]))


def _note_evidence(scores: dict[Section, float], weight: float) -> dict[Section, float]:
    """Each section's fused score plus `weight` × the scores of its note's two best other sections, best first.

    Several sections of one note matching is stronger evidence for that note than one slightly better section
    elsewhere (passage-level evidence summed per document). Sections stay separate results, so the note's best
    section leads and other notes still interleave. Measured: hit@1 0.73 → 0.81 on the example vault and
    0.55 → 0.61 on the npm docs (hit@5 0.98 → 0.98, 0.82 → 0.86); 0.3-1.0 all helped, 0.6 best on both."""
    if not weight:
        return scores
    by_note: dict[str, list[float]] = defaultdict(list)
    for (path, _), value in scores.items():  # scores come best first, so each list is sorted
        by_note[path].append(value)
    boosted = {}
    for section, value in scores.items():
        top = list(by_note[section[0]][:3])
        if value in top:
            top.remove(value)  # the others, not this section itself
        boosted[section] = value + weight * sum(top[:2])
    return dict(sorted(boosted.items(), key=lambda item: -item[1]))


@dataclass(frozen=True)
class _Filter:
    include_answers: bool
    exclude: set[str]
    period: Period = None

    def __call__(self, row: ChunkRow) -> bool:
        if not (self.include_answers or not row.answer) or row.path in self.exclude:
            return False
        if self.period is None:
            return True
        after, before = self.period
        return bool(row.date) and (not after or row.date >= after) and (not before or row.date <= before)
