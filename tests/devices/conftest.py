"""Fixtures for device tests: the pty simulators from ``hardware_fixtures`` (not an installed package, so the
repository root is put on ``sys.path``)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from hardware_fixtures.ga467 import Ga467Simulator  # noqa: E402
from hardware_fixtures.synthetic import synthetic_images  # noqa: E402
from hardware_fixtures.zhiantec import ZhianTecSimulator  # noqa: E402


@pytest.fixture
def ga467_sim(tmp_path: Path) -> Iterator[Ga467Simulator]:
    with Ga467Simulator(link=tmp_path / "ga467") as sim:
        yield sim


@pytest.fixture(scope="session")
def synthetic_fingers(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synthetic_images(tmp_path_factory.mktemp("fingers"))


@pytest.fixture
def zhiantec_sim(tmp_path: Path, synthetic_fingers: Path) -> Iterator[ZhianTecSimulator]:
    with ZhianTecSimulator(synthetic_fingers, link=tmp_path / "zhiantec") as sim:
        yield sim
