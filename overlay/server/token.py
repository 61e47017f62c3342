"""The bearer token of `overlay serve`: random, made on first start, kept in the state dir readable by its owner
only (0600)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from overlay.settings import Settings

TOKEN_FILE = "server.token"


def token_path(settings: Settings) -> Path:
    return settings.state_dir / TOKEN_FILE


def read_token(settings: Settings) -> str | None:
    try:
        value = token_path(settings).read_text(encoding="ascii").strip()
    except (FileNotFoundError, UnicodeDecodeError):
        return None
    return value or None


def ensure_token(settings: Settings) -> str:
    existing = read_token(settings)
    if existing:
        return existing
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    path = token_path(settings)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, value.encode("ascii"))
    finally:
        os.close(fd)
    os.chmod(path, 0o600)  # also when the file was there, empty
    return value
