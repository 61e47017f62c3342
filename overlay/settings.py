"""Settings, read in one place: defaults < <state>/config.toml < OVERLAY_* environment < CLI flags."""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from overlay.errors import ConfigError, VaultNotFound

DEFAULT_EMBEDDING = "use-multilingual-v3"


@dataclass(frozen=True)
class Settings:
    vault: Path
    state_dir: Path
    embedding_model: str = DEFAULT_EMBEDDING  # or "minilm", a sentence-transformers id / folder, a .gguf file, or
    # with embedding_url the model name that server knows
    embedding_batch: int = 64
    embedding_device: str | None = None  # sentence-transformers device ("cuda", "cpu"); None = auto
    embedding_url: str | None = None  # an OpenAI-compatible /v1/embeddings server (llama-server, Ollama, vLLM, TEI)
    embedding_api_key: str | None = None
    embedding_timeout_s: float = 60.0
    embedding_retries: int = 2  # tries after the first, on a timeout, a refused connection or a 5xx answer
    embedding_window: int = 0  # a GGUF embedder reads at most this many tokens of a text; 0 = its trained context
    embedding_query_prefix: str = "auto"  # put before each query: "auto" (by model: e5, Qwen3-Embedding, nomic), "none"
    embedding_doc_prefix: str = "auto"  # ... before each indexed text
    latin_model: str = "auto"  # English (Latin-script) chunks embedded again by an English model, searched for
    # English questions: "auto" (MiniLM beside the default USE model, off with any other), "none", "minilm", or a
    # sentence-transformers folder
    # ---- the reranker (off unless configured) ----
    rerank_model: str | None = None  # a reranking .gguf (bge-reranker-v2-m3, Qwen3-Reranker), a sentence-transformers
    # CrossEncoder folder, or with rerank_url the model name that server knows
    rerank_url: str | None = None  # a /v1/rerank server (llama-server --reranking, TEI, vLLM)
    rerank_api_key: str | None = None
    rerank_top: int = 30  # how many fused candidates (note sections) the reranker scores
    max_file_bytes: int = 5 * 1024 * 1024
    ignore: tuple[str, ...] = ()  # globs relative to the vault, e.g. "Templates/", "*.excalidraw.md"
    chunk_tokens: int = 384
    chunk_overlap: int = 48
    chroma_url: str | None = None  # "http://host:port" uses a Chroma server instead of the embedded store
    exact_max: int = 150_000  # vectors per collection searched exactly, the same on every build (overlay.index.exact);
    # above it Chroma's HNSW, approximate; 0 = always HNSW
    answers_folder: str = "Overlay"
    graph_weight: float = 0.0  # weight of graph expansion in hybrid search fusion (dense and BM25 weigh 1.0)
    fusion: str = "relative"  # how hybrid search fuses its lists: "relative" (scores scaled 0..1) or "rrf" (ranks)
    note_evidence: float = 0.6  # hybrid: a section gains this × its note's two best other sections; 0 = off
    bm25_coverage: float = 1.0  # hybrid: a BM25 hit counts × (share of query terms it contains)^this; 0 = off
    note_weight: float = 1.0  # hybrid: weight of whole-note matches (note vectors) beside dense and BM25; 0 = off
    link_boost: float = 0.3  # hybrid: share of a strong hit's score its linked notes may gain (bounded); 0 = off
    hub_penalty: float = 0.5  # hybrid: how much a hub (a section of mostly links) is lowered; 0 = off
    dense_standout: float = 0.3  # hybrid: dense weighs fully when its best hit is this far above its 10th; 0 = off
    consensus: bool = True  # hybrid: a section both embedding models and BM25 put first leads; false = off
    title_weight: float = 1.0  # hybrid: weight of the notes a query names (title, alias, file name); 0 = off
    context_questions: bool = True  # hybrid: "in the book about X, …": a smaller note it links may lead; false = off
    # ---- answering (`overlay ask`, `overlay watch`) ----
    answer_mode: str = "auto"  # "auto" (llm when model_path or llm_url is set, else extractive), "llm", "extractive"
    model_path: str | None = None  # a GGUF file; "bundled" = the SmolLM2-135M smoke-test model (also llm's default)
    llm_url: str | None = None  # an OpenAI-compatible server ("http://127.0.0.1:8080/v1") instead of in-process
    llm_model: str = "local"  # the model name sent to that server
    llm_api_key: str | None = None  # sent as a Bearer token to that server, if it wants one
    n_ctx: int = 4096  # context window; raise it for Qwen3 (e.g. 32768) if memory allows
    n_gpu_layers: int = -1  # -1 = all layers when llama.cpp has GPU offload compiled in, else CPU; 0 = CPU
    n_threads: int = 0  # 0 = llama.cpp's choice
    flash_attn: str = "auto"  # "auto" (on when offloading to a GPU), "on", "off"
    cpu_repack: str = "auto"  # llama.cpp's repacked CPU weights: "auto" (off on AMX CPUs: they crash), "on", "off"
    lora_path: str | None = None  # a LoRA adapter (GGUF) applied on load; `overlay doctor` checks it fits the model
    lora_scale: float = 1.0  # how strongly the adapter applies (llama.cpp's --lora-scaled)
    chat_format: str | None = None  # None = the chat template inside the GGUF
    max_answer_tokens: int = 512  # per answer section, thinking included
    temperature: float = 0.2
    repeat_penalty: float = 1.1  # in-process model only; small models loop without it
    answer_language: str = "auto"  # "auto" (the question's language), "ru", "en"
    thinking: bool = True  # False appends Qwen3's `/no_think` switch (and asks a server to disable thinking)
    ask_k: int = 8  # note sections given to the model as numbered sources
    min_similarity: float = 0.2  # a source needs this cosine to the question, or a BM25 word match
    audit_note: str = "Vault audit"  # the report note `reindex` keeps in answers_folder; "" = none
    # ---- the watcher (`overlay watch`) ----
    ask_value: str = "ask"  # frontmatter `overlay: ask` asks
    ask_tag: str = "overlay/ask"  # ... as does this tag
    ask_callout: str = "ask"  # ... or a `> [!ask]` callout (its text is the question)
    answer_placement: str = "note"  # "note": a new note in answers_folder; "inline": inside the asking note, under
    # the block that asks (per question: `> [!ask|inline]` / `> [!ask|note]`, or frontmatter `overlay_placement`)
    chat_asks: str = "tagged"  # in an exported chat: "tagged" (a user turn with the ask tag asks), "last" (also the
    # last user turn while no reply follows it)
    ask_settle_s: float = 2.0  # an asking note must be still this long before it is answered
    watch_quiet_s: float = 0.4  # a batch of file events is indexed once the vault is quiet this long

    @property
    def manifest_path(self) -> Path:
        return self.state_dir / "manifest.sqlite"

    @property
    def chunks_path(self) -> Path:
        return self.state_dir / "chunks.sqlite"

    @property
    def bm25_path(self) -> Path:
        return self.state_dir / "bm25"

    @property
    def exact_path(self) -> Path:
        return self.state_dir / "exact"

    @property
    def graph_path(self) -> Path:
        return self.state_dir / "graph.json"

    @property
    def chroma_path(self) -> Path:
        return self.state_dir / "chroma"

    @property
    def watcher_status_path(self) -> Path:
        return self.state_dir / "status.json"

    @property
    def runs_path(self) -> Path:
        return self.state_dir / "runs.jsonl"

    @property
    def lock_path(self) -> Path:
        return self.state_dir / "writer.lock"

    @property
    def vault_lock_path(self) -> Path:
        return self.state_dir / "vault.lock"

    @property
    def questions_path(self) -> Path:
        return self.state_dir / "questions.sqlite"

    @property
    def requests_dir(self) -> Path:
        """Jobs handed to a running watcher (`overlay reindex` while `overlay watch` holds the writer lock)."""
        return self.state_dir / "requests"

    @property
    def nightly_path(self) -> Path:
        """The last `overlay reindex` run: when, how it ended, its error if it failed."""
        return self.state_dir / "reindex.json"


_FIELDS = {f.name: f for f in dataclasses.fields(Settings) if f.name not in ("vault", "state_dir")}
CHOICES = {
    "fusion": ("relative", "rrf"),
    "flash_attn": ("auto", "on", "off"),
    "cpu_repack": ("auto", "on", "off"),
    "answer_language": ("auto", "ru", "en"),
    "answer_mode": ("auto", "llm", "extractive"),
    "answer_placement": ("note", "inline"),
    "chat_asks": ("tagged", "last"),
}
POSITIVE = ("embedding_batch", "max_file_bytes", "chunk_tokens", "n_ctx", "max_answer_tokens", "ask_k", "rerank_top",
            "embedding_timeout_s")


def find_vault(start: Path | None = None) -> Path:
    """--vault, else OVERLAY_VAULT, else the nearest parent folder holding .obsidian/."""
    if start is None and os.environ.get("OVERLAY_VAULT"):
        start = Path(os.environ["OVERLAY_VAULT"])
    if start is not None:
        vault = start.expanduser().resolve()
        if not vault.is_dir():
            raise VaultNotFound(f"vault folder not found: {vault}")
        return vault
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / ".obsidian").is_dir():
            return folder
    raise VaultNotFound(f"no vault given and no .obsidian/ folder in {here} or its parents")


def load_settings(vault: Path | None = None, **overrides: Any) -> Settings:
    root = find_vault(vault)
    state = Path(os.environ.get("OVERLAY_STATE_DIR") or root / ".overlay").expanduser().resolve()
    values: dict[str, Any] = {}
    values.update(_read_toml(state / "config.toml"))
    values.update(_read_env())
    values.update({k: v for k, v in overrides.items() if v is not None})
    unknown = sorted(set(values) - set(_FIELDS))
    if unknown:
        raise ConfigError(f"unknown setting(s): {', '.join(unknown)}; known: {', '.join(sorted(_FIELDS))}")
    settings = Settings(vault=root, state_dir=state, **{k: _coerce(k, v) for k, v in values.items()})
    _check(settings)
    return settings


def _check(settings: Settings) -> None:
    """Values of the right type that still cannot work: a clear error now, not a strange one later."""
    for name, allowed in CHOICES.items():
        if getattr(settings, name) not in allowed:
            raise ConfigError(f"setting {name}: {getattr(settings, name)!r} is not one of {', '.join(allowed)}")
    for name in POSITIVE:
        if getattr(settings, name) <= 0:
            raise ConfigError(f"setting {name}: must be positive, not {getattr(settings, name)}")
    if settings.exact_max < 0:
        raise ConfigError(f"setting exact_max: must be 0 or more, not {settings.exact_max}")
    if not 0 <= settings.chunk_overlap < settings.chunk_tokens:
        raise ConfigError(f"setting chunk_overlap: must be 0 or more and below chunk_tokens ({settings.chunk_tokens})")
    if settings.embedding_url and settings.embedding_model == DEFAULT_EMBEDDING:
        raise ConfigError("setting embedding_url: also set embedding_model to the name the server knows the model by "
                          "(e.g. bge-m3)")
    if settings.rerank_url and not settings.rerank_model:
        raise ConfigError("setting rerank_url: also set rerank_model to the name the server knows the model by")
    audit = settings.audit_note
    if audit and (audit != audit.strip() or any(c in audit for c in '/\\<>:"|?*#^[]') or audit.startswith(".")):
        raise ConfigError(f"setting audit_note: {audit!r} must be a plain note name (no folders, no leading dot, "
                          "none of / \\ < > : \" | ? * # ^ [ ])")


def parse_assignments(pairs: tuple[str, ...]) -> dict[str, str]:
    """`--set name=value` flags -> overrides (validated and coerced by `load_settings` like any other source)."""
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise ConfigError(f"--set {pair!r}: expected NAME=VALUE, e.g. --set ask_k=5")
        out[name.strip()] = value.strip()
    return out


def _read_toml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    return data.get("overlay", data)


def _read_env() -> dict[str, Any]:
    return {name: os.environ[f"OVERLAY_{name.upper()}"] for name in _FIELDS if f"OVERLAY_{name.upper()}" in os.environ}


def _coerce(name: str, value: Any) -> Any:
    default = _FIELDS[name].default
    try:
        if isinstance(default, bool):
            return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes", "on")
        if isinstance(default, int):
            return int(value)
        if isinstance(default, float):
            return float(value)
        if isinstance(default, tuple):
            items = value if isinstance(value, list | tuple) else str(value).split(",")
            return tuple(str(v).strip() for v in items if str(v).strip())
        return None if value in ("", None) else str(value)
    except (TypeError, ValueError):
        raise ConfigError(f"setting {name}: cannot use {value!r} (expected {type(default).__name__})") from None
