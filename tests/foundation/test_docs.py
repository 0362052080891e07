"""The README is the front door: it must keep up with the settings and the two commands."""

from __future__ import annotations

from pathlib import Path

from idverify.config import Settings

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_readme_lists_every_setting_and_the_two_commands() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    missing = [name for name in Settings.model_fields if f"IDVERIFY_{name.upper()}" not in readme]
    assert not missing, f"README configuration table lacks {missing}"
    quick = readme.split("## Quick start", 1)[1].split("##", 1)[0]
    assert quick.index("make run") < quick.index("make test")


def test_ci_calls_make_test() -> None:
    assert "make test" in (REPO_ROOT / ".ci" / "run").read_text()
