"""The web UI served by the daemon itself: page shells (Jinja2), one stylesheet, plain scripts, zh-CN/en catalogues.

No build step and no CDN: everything under ``static/`` is committed and served at ``/static/``. Pages talk to the
JSON API with ``fetch``; this package never touches the database except to check who is logged in.
:func:`idverify.web.pages.mount` adds the pages and ``/static`` to the daemon's app. This module itself stays
light (the regional hub serves the same static files and imports it without the clinic's pages).
"""

from __future__ import annotations

from pathlib import Path

STATIC_DIR = Path(__file__).parent / "static"

__all__ = ["STATIC_DIR"]
