"""The web UI served by the daemon itself: page shells (Jinja2), one stylesheet, plain scripts, zh-CN/en catalogues.

No build step and no CDN: everything under ``static/`` is committed and served at ``/static/``. Pages talk to the
JSON API with ``fetch``; this package never touches the database except to check who is logged in.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from idverify.web.pages import router

STATIC_DIR = Path(__file__).parent / "static"

__all__ = ["STATIC_DIR", "mount", "router"]


def mount(app: FastAPI) -> None:
    """Add the pages and ``/static`` to ``app`` (called once by the app factory)."""
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
