"""Fixtures for device tests: the pty simulators from ``hardware_fixtures``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hardware_fixtures.ga467 import Ga467Simulator
from hardware_fixtures.synthetic import synthetic_images
from hardware_fixtures.zhiantec import ZhianTecSimulator


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
