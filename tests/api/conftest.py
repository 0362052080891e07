from __future__ import annotations

from typing import Any

import pytest

from ..reports import seeding  # the same clinic activity the reports are tested on


@pytest.fixture
def seeded(db_url: str, make_app: Any) -> Any:
    return seeding.seed(make_app(db_url))
