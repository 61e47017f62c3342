"""`overlay serve`: the library over local HTTP (FastAPI + uvicorn) for the Obsidian plugin and other local tools.
A face, like the CLI: every route calls `overlay.session.Session`; nothing here searches or answers by itself."""
