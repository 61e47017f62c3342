"""Long-running and scheduled work: the watcher (`watch`), notes that ask (`triggers`), the nightly `reindex` with
its audit note, `schedule`, and the watcher's health file. Imports `overlay.answer` and below.
"""
