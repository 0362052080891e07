"""What every HTML page answer carries, the clinic's and the regional hub's alike: the security headers (a strict
content security policy: no inline script, no third-party origin, no framing) and the same-site return path after
a locale switch (never an open redirect).

Apart from :mod:`idverify.web.pages` so that the hub's pages can share them without importing the clinic's pages,
whose session dependency loads the clinic's context and biometric engines.
"""

from __future__ import annotations

from urllib.parse import urlsplit

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
        "connect-src 'self'; media-src 'self' blob:; object-src 'none'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def safe_return_path(referer: str | None, host: str | None) -> str:
    """The same-site path (with query) to return to after switching locale; ``/`` for anything else."""
    if not referer:
        return "/"
    parts = urlsplit(referer)
    if parts.netloc and parts.netloc != host:
        return "/"
    path = parts.path or "/"
    if not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return f"{path}?{parts.query}" if parts.query else path
