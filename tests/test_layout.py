"""The architecture as a rule: each layer imports only the layers below it, and each engine has one importer."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# module prefix -> rank; a module may import modules of its own rank or lower, never higher.
RANKS = {
    "vault_sync": 0, "graph": 1, "prompts": 1,
    "overlay": 2, "overlay.settings": 2, "overlay.errors": 2, "overlay.lock": 2,
    "overlay.engine": 3, "overlay.index": 3, "overlay.search": 4, "overlay.answer": 5, "overlay.jobs": 6,
    "overlay.dataset": 6, "overlay.library": 7, "overlay.doctor": 7, "overlay.session": 7,
    "overlay.cli": 8, "overlay.server": 8, "overlay.mcp_server": 8, "overlay.__main__": 8,
}
ENGINES = {"chromadb": "overlay.index.chroma_store", "sentence_transformers": "overlay.index.embed_st",
           "llama_cpp": "overlay.engine.llama", "bm25s": "overlay.index.bm25s_lib"}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def rank(module: str) -> int | None:
    best = None
    for prefix, value in RANKS.items():
        if (module == prefix or module.startswith(prefix + ".")) and (best is None or len(prefix) > len(best[0])):
            best = (prefix, value)
    return best[1] if best else None


def imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def sources() -> list[Path]:
    return [p for pkg in ("vault_sync", "graph", "prompts", "overlay") for p in sorted((ROOT / pkg).rglob("*.py"))]


def test_every_module_has_a_layer() -> None:
    assert [module_name(p) for p in sources() if rank(module_name(p)) is None] == []


def test_imports_point_down() -> None:
    upward = []
    for path in sources():
        me = module_name(path)
        for target in imports(path):
            theirs = rank(target)
            if theirs is not None and theirs > rank(me):
                upward.append(f"{me} imports {target}")
    assert upward == []


def test_each_engine_has_one_importer() -> None:
    for engine, owner in ENGINES.items():
        users = sorted({module_name(p) for p in sources()
                        if any(t == engine or t.startswith(engine + ".") for t in imports(p))})
        assert users == [owner], f"{engine} imported by {users}"


def test_vault_sync_and_graph_import_nothing_above_them() -> None:
    for path in sources():
        me = module_name(path)
        if me.startswith(("vault_sync", "graph")):
            ours = {t for t in imports(path) if t.split(".")[0] in ("overlay", "graph", "vault_sync", "prompts")}
            allowed = ("vault_sync",) if me.startswith("vault_sync") else ("vault_sync", "graph")
            assert all(t.split(".")[0] in allowed for t in ours), f"{me}: {ours}"


def test_yaml_is_serialised_in_one_place_only() -> None:
    """A user's note is edited as text (frontmatter_edit.set_keys); dumping YAML turns `12:30` into 750 and drops
    comments, so it is allowed only in `new_note_text`, for notes the overlay itself creates."""
    dumps = {"dump", "dumps", "safe_dump", "dump_all", "safe_dump_all"}
    found = []
    for path in sources():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            func = node.func if isinstance(node, ast.Call) else None
            if (isinstance(func, ast.Attribute) and func.attr in dumps and isinstance(func.value, ast.Name)
                    and func.value.id in ("frontmatter", "yaml")):
                found.append(f"{module_name(path)}:{node.lineno}")
    assert [f.split(":")[0] for f in found] == ["vault_sync.frontmatter_edit"], found
