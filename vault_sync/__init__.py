"""Files of an Obsidian vault: parse, scan, diff, write. Imports nothing else of this project."""

from vault_sync.atomic import FileExistsRefused, write_atomic
from vault_sync.changes import ChangeSet, diff, file_checksum
from vault_sync.decode import Decoded, UndecodableFile, decode_bytes, editable_utf8, repair_mojibake
from vault_sync.manifest import Entry, Manifest
from vault_sync.note import Callout, Heading, Link, Note
from vault_sync.parser import PARSER_VERSION, CanvasError, parse_canvas, parse_note
from vault_sync.reader import DEFAULT_MAX_BYTES, SkipFile, read_note
from vault_sync.scan import FileStat, ScanResult, is_ignored, scan_vault

__all__ = [
    "DEFAULT_MAX_BYTES", "PARSER_VERSION", "Callout", "CanvasError", "ChangeSet", "Decoded", "Entry",
    "FileExistsRefused", "FileStat",
    "Heading", "Link", "Manifest", "Note", "ScanResult", "SkipFile", "UndecodableFile", "decode_bytes", "diff",
    "editable_utf8",
    "file_checksum", "is_ignored", "parse_canvas", "parse_note", "read_note", "repair_mojibake", "scan_vault",
    "write_atomic",
]
