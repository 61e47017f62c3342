"""Read one vault file into a `Note`, or say precisely why it was skipped."""

from __future__ import annotations

import hashlib
from pathlib import Path

from vault_sync.blobs import bytes_beside_data_uris
from vault_sync.decode import UndecodableFile, decode_bytes
from vault_sync.note import Note
from vault_sync.parser import CanvasError, parse_canvas, parse_note

DEFAULT_MAX_BYTES = 5 * 1024 * 1024
# A file past the limit is still read when most of it is inline images (data URIs, blanked by the parser): its text
# besides them is what the limit weighs. Beyond this many times the limit it is not even read.
INLINE_IMAGES_FACTOR = 10


class SkipFile(Exception):
    """The file is not indexed; `str(exc)` is the reason shown to the user."""


def read_note(root: Path, rel: str, *, max_bytes: int = DEFAULT_MAX_BYTES) -> tuple[Note, str]:
    """-> (note, encoding). Raises SkipFile for anything that cannot be indexed and FileNotFoundError if the file
    vanished meanwhile."""
    path = root / rel
    try:
        size = path.stat().st_size
        if size > max_bytes * INLINE_IMAGES_FACTOR:
            raise SkipFile(f"too large: {size:,} bytes > limit {max_bytes:,} (setting max_file_bytes)")
        raw = path.read_bytes()
        if size > max_bytes and (text_size := bytes_beside_data_uris(raw)) > max_bytes:
            besides = " besides inline images" if text_size < size else ""
            raise SkipFile(f"too large: {text_size:,} bytes{besides} > limit {max_bytes:,} (setting max_file_bytes)")
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise SkipFile(f"unreadable: {exc.strerror or exc}") from None
    if not raw.strip():
        raise SkipFile("empty file")
    checksum = hashlib.sha256(raw).hexdigest()
    try:
        decoded = decode_bytes(raw)
    except (UndecodableFile, UnicodeDecodeError) as exc:
        raise SkipFile(str(exc)) from None
    warnings = (f"encoding: {decoded.note}",) if decoded.note else ()
    try:
        if rel.lower().endswith(".canvas"):
            return parse_canvas(decoded.text, rel, checksum=checksum), decoded.encoding
        return parse_note(decoded.text, rel, checksum=checksum, warnings=warnings), decoded.encoding
    except CanvasError as exc:
        raise SkipFile(str(exc)) from None
    except Exception as exc:  # a parser bug must cost one file, never the run; the reason names it
        raise SkipFile(f"could not parse ({exc.__class__.__name__}: {exc}); please report") from None
