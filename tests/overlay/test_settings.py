from __future__ import annotations

from pathlib import Path

import pytest

from overlay.errors import ConfigError, VaultNotFound
from overlay.settings import find_vault, load_settings


def test_precedence_defaults_file_env_flags(vault: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (vault / ".overlay").mkdir()
    (vault / ".overlay" / "config.toml").write_text(
        'embedding_model = "minilm"\nchunk_tokens = 200\nignore = ["Templates/"]\nanswers_folder = "AI"\n')
    monkeypatch.setenv("OVERLAY_CHUNK_TOKENS", "300")
    s = load_settings(vault, answers_folder="Ответы")
    assert (s.embedding_model, s.chunk_tokens, s.ignore, s.answers_folder) == ("minilm", 300, ("Templates/",), "Ответы")
    assert s.max_file_bytes == 5 * 1024 * 1024
    assert s.state_dir == vault / ".overlay"


def test_state_dir_override_for_synced_vaults(vault: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OVERLAY_STATE_DIR", str(tmp_path / "elsewhere"))
    assert load_settings(vault).state_dir == tmp_path / "elsewhere"


def test_vault_discovery(vault: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (vault / "deep" / "er").mkdir(parents=True)
    monkeypatch.chdir(vault / "deep" / "er")
    assert find_vault() == vault
    monkeypatch.setenv("OVERLAY_VAULT", str(vault / "deep"))
    assert find_vault() == vault / "deep"
    monkeypatch.delenv("OVERLAY_VAULT")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(VaultNotFound, match=r"no \.obsidian"):
        find_vault()
    with pytest.raises(VaultNotFound, match="not found"):
        find_vault(tmp_path / "nope")


@pytest.mark.parametrize(("toml", "match"), [
    ("chunk_tokens = 'many'", "chunk_tokens"),
    ("no_such_setting = 1", "unknown setting"),
    ("broken = [", "config.toml"),
])
def test_bad_config_is_a_clear_error(vault: Path, toml: str, match: str) -> None:
    (vault / ".overlay").mkdir()
    (vault / ".overlay" / "config.toml").write_text(toml)
    with pytest.raises(ConfigError, match=match):
        load_settings(vault)


@pytest.mark.parametrize(("name", "value", "match"), [
    ("fusion", "weighted", "fusion"),
    ("flash_attn", "maybe", "flash_attn"),
    ("answer_language", "de", "answer_language"),
    ("ask_k", "0", "must be positive"),
    ("chunk_overlap", "500", "chunk_overlap"),
    ("audit_note", "../outside", "plain note name"),
    ("audit_note", "Sub/Audit", "plain note name"),
    ("audit_note", ".hidden", "plain note name"),
])
def test_values_that_cannot_work_are_refused(vault: Path, name: str, value: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        load_settings(vault, **{name: value})


def test_set_flags_override_every_source(vault: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from click.testing import CliRunner

    from overlay.cli import main

    (vault / ".overlay").mkdir()
    (vault / ".overlay" / "config.toml").write_text('answers_folder = "AI"\n')
    monkeypatch.setenv("OVERLAY_ANSWERS_FOLDER", "FromEnv")
    runner = CliRunner()
    result = runner.invoke(main, ["doctor", "--json", "--vault", str(vault), "--set", "answers_folder=FromFlag",
                                  "--set", "llm_url=http://127.0.0.1:9/v1"])
    checks = {c["name"]: c for c in json.loads(result.output)["checks"]}
    assert checks["answers folder"]["detail"].endswith("FromFlag")
    bad = runner.invoke(main, ["status", "--vault", str(vault), "--set", "fusion"])
    assert bad.exit_code == 1 and "NAME=VALUE" in bad.output
