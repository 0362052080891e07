"""The repository reads on its own: no absolute paths of a development machine, and no citations of documents a
reader of the repository cannot open (an internal contracts file, private research notes). Cite the standard, the
datasheet or the README section instead."""

from __future__ import annotations

import re
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
TREES = ("src", "hardware_fixtures", "tests", "drivers", "models", "docs", ".ci")
FILES = ("README.md", "ARCHITECTURE.md", "Makefile", "Dockerfile", "pyproject.toml")
TEXT_SUFFIXES = {".py", ".md", ".json", ".toml", ".txt", ".html", ".js", ".css", ".rules", ".service", ".cfg", ""}
SKIP_DIRS = {"__pycache__", "data"}  # tests/data holds third-party vectors verbatim

FORBIDDEN = {
    "an absolute path of a development machine": re.compile(r"(?<![\w.~-])/(?:work|home|Users|mnt|srv)/"),
    "the internal contracts file (cite the README or the standard)": re.compile(r"\bSPEC\b|\bSPEC\.md\b"),
    "internal design notes": re.compile(r"\bDESIGN\.md\b"),
    "private research notes": re.compile(r"shared/research"),
}


def _text_files() -> list[Path]:
    found = [REPO_ROOT / name for name in FILES if (REPO_ROOT / name).is_file()]
    for tree in TREES:
        for path in (REPO_ROOT / tree).rglob("*"):
            skipped = SKIP_DIRS & set(path.relative_to(REPO_ROOT).parts)
            if path.is_file() and path.suffix in TEXT_SUFFIXES and not skipped:
                found.append(path)
    return [p for p in found if p.resolve() != Path(__file__).resolve()]


def test_no_machine_paths_or_unpublished_references() -> None:
    files = _text_files()
    assert len(files) > 300  # the walk found the source, not an empty tree
    hits = []
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for n, line in enumerate(text.splitlines(), 1):
            hits += [f"{path.relative_to(REPO_ROOT)}:{n}: {what}" for what, rx in FORBIDDEN.items() if rx.search(line)]
    assert not hits, "\n".join(hits)
