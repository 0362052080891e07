"""Whole reads over PACE against the virtual chip (no pcscd): AES and 3DES, both standard curves,
PACE-only chips, wrong keys, fallback to BAC, tampering still caught by passive authentication."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hardware_fixtures.emrtd import TestIdentity
from hardware_fixtures.emrtd.card import PaceConfig

from idverify.documents.emrtd.bac import BacFailed
from idverify.documents.emrtd.passive_auth import load_trust_store
from idverify.documents.emrtd.reader import read_document
from idverify.documents.mrz import BacKeys

from .conftest import DirectChannel, keys_of

AES_128 = "0.4.0.127.0.7.2.2.4.2.2"
AES_256 = "0.4.0.127.0.7.2.2.4.2.4"
TDES = "0.4.0.127.0.7.2.2.4.2.1"


@pytest.mark.parametrize(("oid", "parameter_id", "access"), [
    (AES_128, 13, "PACE-AES"), (AES_256, 12, "PACE-AES"), (TDES, 13, "PACE-3DES"),
])
def test_pace_only_chip_reads_and_passes(identity: TestIdentity, make_channel: Callable[..., DirectChannel],
                                         csca_dir: Path, oid: str, parameter_id: int, access: str) -> None:
    channel = make_channel(identity, pace=PaceConfig(oid, parameter_id), bac=False)
    result = read_document(channel, keys_of(identity), load_trust_store(csca_dir))
    assert result.access_control == access
    assert result.document.document_number == identity.document_number
    assert result.document.photo == identity.photo_bytes()[0]
    assert result.document.checks.passive_auth == "passed"
    assert not any(apdu[:2] == b"\x00\x84" for apdu in channel.log)  # no BAC GET CHALLENGE was needed


def test_pace_wrong_keys_is_bac_failed(identity: TestIdentity, make_channel: Callable[..., DirectChannel]) -> None:
    channel = make_channel(identity, pace=PaceConfig(), bac=False)
    with pytest.raises(BacFailed) as info:
        read_document(channel, BacKeys(identity.document_number, identity.birth_date, "301231"), [])
    assert info.value.code == "bac_failed"


def test_bac_when_pace_disabled_on_the_terminal(identity: TestIdentity,
                                                make_channel: Callable[..., DirectChannel]) -> None:
    channel = make_channel(identity, pace=PaceConfig())
    assert read_document(channel, keys_of(identity), [], use_pace=False).access_control == "BAC"


def test_unsupported_pace_falls_back_to_bac(identity: TestIdentity,
                                            make_channel: Callable[..., DirectChannel]) -> None:
    channel = make_channel(identity, pace=PaceConfig(parameter_id=14))  # brainpoolP320r1: not supported here
    assert read_document(channel, keys_of(identity), []).access_control == "BAC"


def test_tampered_dg_under_pace_fails_passive_auth(identity: TestIdentity,
                                                  make_channel: Callable[..., DirectChannel], csca_dir: Path) -> None:
    channel = make_channel(identity, pace=PaceConfig(), tamper_dg=2)
    doc = read_document(channel, keys_of(identity), load_trust_store(csca_dir)).document
    assert doc.checks.passive_auth == "failed"
