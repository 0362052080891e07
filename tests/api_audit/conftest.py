from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest


def _load_seeding() -> Any:
    """The seeding module of tests/reports (importlib mode has no package path)."""
    name = "idverify_test_seeding"
    if name not in sys.modules:
        path = Path(__file__).parents[1] / "reports" / "seeding.py"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


seeding = _load_seeding()


@pytest.fixture
def seeded(db_url: str, make_app: Any) -> Any:
    return seeding.seed(make_app(db_url))
