"""A small error tree, converted to one clear line (plus a hint) at the CLI edge."""

from __future__ import annotations


class OverlayError(Exception):
    """Base for errors shown to the user. `hint` says what to do about it."""

    hint: str | None = None

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        if hint:
            self.hint = hint


class VaultNotFound(OverlayError):
    hint = "pass --vault PATH, set OVERLAY_VAULT, or run inside a folder that holds .obsidian/"


class ConfigError(OverlayError):
    hint = "check <vault>/.overlay/config.toml and OVERLAY_* variables"


class IndexLocked(OverlayError):
    hint = "another `overlay index` or `overlay watch` is writing; wait for it or stop it"


class NotIndexed(OverlayError):
    hint = "run `overlay index` first"


class EmbeddingError(OverlayError):
    hint = "check the `embedding_model` setting (see README: Embedding models)"


class StoreError(OverlayError):
    hint = "check `chroma_url` / the state dir; `overlay index` repairs a missing local store"


class NoteNotFound(OverlayError):
    hint = "give a vault path such as \"Folder/Note.md\", or a note name or alias"


class LLMError(OverlayError):
    hint = "check model_path / llm_url (see README: Answering with your own model); `overlay doctor` checks them"


class WriteRefused(OverlayError):
    hint = "answers are written inside the vault, in `answers_folder`; check that setting"
