"""The one font of the printed reports: a TrueType CJK font, embedded (as a subset) in every PDF.

Why one embedded font and not PDF's built-in ones: a report filed with the health commission must render the same
on any machine and years later (PDF/A asks for every font embedded). Adobe's CID fonts (``STSong-Light``) and the
base-14 fonts (Helvetica) are *references* that the reader substitutes; on a Windows machine without the Adobe
Asian font pack the clinic's Chinese name and every Chinese heading would vanish. A TrueType CJK font carries
Latin glyphs too, so the whole report is set in it and reportlab embeds only the glyphs used.

The font is not shipped in the package (several MB); it comes from the operating system's packages. Debian's
``fonts-wqy-microhei`` (WenQuanYi Micro Hei, Apache-2.0, redistributable) is the default and is installed by
``make run``/``make test`` and the Dockerfile; ``IDVERIFY_REPORT_FONT`` points at another TrueType file (``.ttf`` or
``.ttc``; CFF-based ``.otf`` such as Noto Sans CJK cannot be embedded by reportlab). Missing: a clear error naming
the package and the setting, never a PDF that silently drops Chinese.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from matplotlib import font_manager
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont

from idverify.errors import ConfigError, ErrorCode

FONT_NAME = "IdverifyCJK"
# Redistributable TrueType CJK fonts from Debian packages, in order of preference.
CANDIDATES = (
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),  # fonts-wqy-microhei (Apache-2.0)
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),  # fonts-wqy-zenhei (GPL-2 with font exception)
    Path("/usr/share/fonts/truetype/arphic/uming.ttc"),  # fonts-arphic-uming (Arphic Public License)
)


def find_font(configured: Path | None) -> Path:
    """The configured font file, else the first installed candidate; ConfigError naming the fix otherwise."""
    if configured is not None:
        if not configured.is_file():
            raise ConfigError(f"IDVERIFY_REPORT_FONT: no such file ({configured})", code=ErrorCode.REPORT_FONT_MISSING,
                              status_code=503)
        return configured
    for path in CANDIDATES:
        if path.is_file():
            return path
    raise ConfigError("no CJK TrueType font for the PDF report: install the Debian package fonts-wqy-microhei "
                      "or set IDVERIFY_REPORT_FONT to a .ttf/.ttc file", code=ErrorCode.REPORT_FONT_MISSING,
                      status_code=503)


@cache
def register(path: Path) -> str:
    """Register ``path`` with reportlab (embedded, subset) and matplotlib; returns reportlab's font name."""
    try:
        pdfmetrics.registerFont(TTFont(FONT_NAME, str(path), subfontIndex=0))
    except TTFError as exc:
        raise ConfigError(f"the report font {path.name} cannot be embedded ({exc}); use a TrueType .ttf/.ttc",
                          code=ErrorCode.REPORT_FONT_MISSING, status_code=503) from None
    font_manager.fontManager.addfont(str(path))
    return FONT_NAME


def chart_family(path: Path) -> str:
    """The matplotlib family name of ``path`` (registered by :func:`register`)."""
    register(path)
    return font_manager.FontProperties(fname=str(path)).get_name()
