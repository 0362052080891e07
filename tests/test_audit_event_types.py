"""Every event type the sources record is in ``audit.EVENT_TYPES`` (the inspector's filter offers that list), and
each type and family has its label in both catalogues (issue 17.10)."""

from __future__ import annotations

import re
from pathlib import Path

from idverify.audit import EVENT_TYPES
from idverify.i18n import catalogue

SRC = Path(__file__).resolve().parents[1] / "src" / "idverify"
RECORDED = re.compile(r"""(?:audit\.)?record\(\s*\w+,\s*[^,]+?,\s*"([a-z_]+\.[a-z_]+)\"""", re.S)


def test_every_recorded_type_is_listed() -> None:
    found: set[str] = set()
    for path in SRC.rglob("*.py"):
        if "hub" in path.relative_to(SRC).parts[:1]:
            continue  # the hub records into its own log
        found.update(RECORDED.findall(path.read_text(encoding="utf-8")))
    found.update(f"enrollment.{s}" for s in re.findall(r'_finish\(db, actor, patient, "([a-z_]+)"',
                                                        (SRC / "workflow" / "enrolment.py").read_text()))
    assert len(found) > 20
    assert found <= set(EVENT_TYPES), sorted(found - set(EVENT_TYPES))


def test_every_type_and_family_is_translated() -> None:
    for lang in ("en", "zh-CN"):
        texts = catalogue(lang)
        for event_type in EVENT_TYPES:
            assert f"inspector.event_type.{event_type}" in texts, (lang, event_type)
        for family in {t.split(".")[0] for t in EVENT_TYPES}:
            assert f"inspector.event_group.{family}" in texts, (lang, family)
