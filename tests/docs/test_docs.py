"""The README is the front door: it must keep up with the settings and the two commands."""

from __future__ import annotations

import re
from pathlib import Path

from idverify.config import Settings

REPO_ROOT = Path(__file__).resolve().parents[2]


def _section(readme: str, title: str) -> str:
    return readme.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_readme_lists_every_setting_and_the_two_commands() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    rows = re.findall(r"^\| `(IDVERIFY_[A-Z0-9_]+)` \|", _section(readme, "Configuration"), flags=re.MULTILINE)
    missing = [name for name in Settings.model_fields if f"IDVERIFY_{name.upper()}" not in rows]
    assert not missing, f"README configuration table lacks a row for {missing}"
    quick = _section(readme, "Quick start")
    assert quick.index("make run") < quick.index("make test")


def test_readme_devices_table_has_one_row_per_device() -> None:
    """Each row of the devices table has its three cells (a stray settings row once split the table)."""
    rows = [line for line in _section((REPO_ROOT / "README.md").read_text(), "Devices").splitlines()
            if line.startswith("|")]
    assert len(rows) >= 6  # header, rule, and the four device kinds
    for row in rows:
        cells = re.split(r"(?<!\\)\|", row.strip())[1:-1]
        assert len(cells) == 3, row


def test_ci_calls_make_test() -> None:
    assert "make test" in (REPO_ROOT / ".ci" / "run").read_text()
