"""Fixtures for the eMRTD tests: the virtual chip from ``hardware_fixtures.emrtd`` with a freshly generated test
PKI."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hardware_fixtures.emrtd import EmrtdChip, Faults, TestIdentity, TestPki, build_files
from hardware_fixtures.emrtd.card import CardPulled, PaceConfig

from idverify.documents.emrtd.reader import CardError
from idverify.documents.mrz import BacKeys
from idverify.errors import ErrorCode


class DirectChannel:
    """An APDU channel straight into the chip object (no pcscd): the protocol logic without the transport."""

    def __init__(self, chip: EmrtdChip) -> None:
        self.chip = chip
        self.log: list[bytes] = []

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        self.log.append(apdu)
        try:
            response = self.chip.process(apdu)
        except CardPulled:
            raise CardError("card left the field", code=ErrorCode.CARD_REMOVED) from None
        return response[:-2], int.from_bytes(response[-2:], "big")


@pytest.fixture(scope="session")
def pki() -> TestPki:
    return TestPki.generate()


@pytest.fixture
def identity() -> TestIdentity:
    return TestIdentity()


def keys_of(identity: TestIdentity) -> BacKeys:
    return BacKeys(identity.document_number, identity.birth_date, identity.expiry_date)


@pytest.fixture
def make_channel(pki: TestPki) -> Callable[..., DirectChannel]:
    def factory(identity: TestIdentity, *, tamper_dg: int | None = None, faults: Faults | None = None,
                with_sod: bool = True, pace: PaceConfig | None = None, bac: bool = True) -> DirectChannel:
        files = build_files(identity, pki if with_sod else None, tamper_dg=tamper_dg)
        return DirectChannel(EmrtdChip(files, keys_of(identity), faults=faults, pace=pace, bac=bac))

    return factory


@pytest.fixture
def csca_dir(tmp_path: Path, pki: TestPki) -> Path:
    directory = tmp_path / "csca"
    pki.write_csca(directory)
    return directory
