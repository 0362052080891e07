"""Reading an eMRTD over any APDU channel: PACE or BAC, secure messaging, EF.COM/DG1/DG2/EF.SOD, passive auth.

Owns the command sequence of ICAO 9303-11 (EF.CardAccess and PACE when offered, else SELECT application,
GET CHALLENGE, EXTERNAL AUTHENTICATE; then protected SELECT/READ BINARY) and turning the files into an
:class:`IdentityDocument`. It does not know how APDUs travel: :mod:`idverify.devices.pcsc` supplies a
PC/SC channel, tests supply the simulated chip directly. Nothing here logs file contents; log lines carry
only step names, sizes and status words.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from datetime import time as dt_time
from typing import Protocol

import structlog
from cryptography import x509

from idverify.documents.emrtd import lds, pace, passive_auth
from idverify.documents.emrtd.bac import BacFailed, DocumentKeys, authentication_cryptogram, complete_authentication
from idverify.documents.emrtd.ec import Curve
from idverify.documents.emrtd.sm import SecureMessaging
from idverify.documents.emrtd.tlv import read_header
from idverify.documents.model import DocumentChecks, DocumentType, IdentityDocument, Sex
from idverify.documents.mrz import BacKeys, MrzData, mrz_date
from idverify.errors import DeviceError, DeviceTimeout, ErrorCode

log = structlog.get_logger(__name__)

SW_OK = 0x9000
SW_END_OF_FILE = 0x6282
SW_SECURITY_NOT_SATISFIED = 0x6982
SW_FILE_NOT_FOUND = 0x6A82
#: Largest READ BINARY Le that keeps a 3DES-SM response inside a short R-APDU (as JMRTD does).
MAX_READ = 0xDF
FIRST_READ = 8


class ApduChannel(Protocol):
    """One connected card. ``transmit`` returns (response data, SW1SW2) or raises a DeviceError."""

    def transmit(self, apdu: bytes) -> tuple[bytes, int]: ...


class CardError(DeviceError):
    """The card answered, but not like an eMRTD should (not an eMRTD, file missing, bad structure)."""

    code = ErrorCode.DEVICE_ERROR
    status_code = 422


@dataclass
class ReadResult:
    """Everything read, kept for callers that want more than the summary (benchmarks, diagnostics)."""

    document: IdentityDocument
    mrz: MrzData
    files: dict[str, bytes] = field(repr=False)
    passive_auth_detail: str
    apdus: int
    seconds: float
    access_control: str = "BAC"  # "BAC", "PACE-AES" or "PACE-3DES"


class _Session:
    def __init__(self, channel: ApduChannel, deadline: float) -> None:
        self.channel = channel
        self.deadline = deadline
        self.apdus = 0
        self.sm: SecureMessaging | None = None
        self.access = "none"

    def plain(self, apdu: bytes) -> tuple[bytes, int]:
        if time.monotonic() > self.deadline:
            raise DeviceTimeout("reading the document took too long; hold it still on the reader and retry")
        self.apdus += 1
        return self.channel.transmit(apdu)

    def protected(self, ins: int, p1: int, p2: int, data: bytes = b"", le: int | None = None) -> tuple[bytes, int]:
        assert self.sm is not None
        response, sw = self.plain(self.sm.protect(0x00, ins, p1, p2, data, le))
        return self.sm.unprotect(response, sw)

    def select_file(self, fid: int) -> bool:
        _data, sw = self.protected(0xA4, 0x02, 0x0C, fid.to_bytes(2, "big"))
        if sw == SW_FILE_NOT_FOUND:
            return False
        if sw != SW_OK:
            raise CardError(f"the document refused to select a file (status {sw:04X})")
        return True

    def read_binary(self, offset: int, length: int) -> bytes:
        data, sw = self.protected(0xB0, (offset >> 8) & 0x7F, offset & 0xFF, le=length)
        if sw not in (SW_OK, SW_END_OF_FILE):
            raise CardError(f"the document refused to read a file (status {sw:04X})")
        return data

    def read_file(self, fid: int) -> bytes | None:
        """The whole elementary file, sized from its outer TLV header; None when the file does not exist."""
        if not self.select_file(fid):
            return None
        head = self.read_binary(0, FIRST_READ)
        try:
            _tag, length, header = read_header(head)
        except ValueError as exc:
            raise CardError("a file on the document has a malformed header") from exc
        total = header + length
        if total > 0x7FFF:
            raise CardError("a file on the document is larger than short READ BINARY can address")
        content = bytearray(head[:total])
        while len(content) < total:
            chunk = self.read_binary(len(content), min(MAX_READ, total - len(content)))
            if not chunk:
                raise CardError("the document returned a short file")
            content += chunk
        return bytes(content)


def _read_card_access(session: _Session) -> bytes | None:
    """EF.CardAccess from the master file, read in plain before any authentication; None when absent."""
    _data, sw = session.plain(b"\x00\xa4\x02\x0c\x02" + pace.FID_CARD_ACCESS.to_bytes(2, "big"))
    if sw != SW_OK:
        return None
    head, sw = session.plain(b"\x00\xb0\x00\x00\x04")
    if sw not in (SW_OK, SW_END_OF_FILE) or len(head) < 2:
        return None
    try:
        _tag, length, header = read_header(head)
    except ValueError:
        return None
    total = min(header + length, 0x7FFF)
    content = bytearray(head[:total])
    while len(content) < total:
        offset = len(content)
        chunk, sw = session.plain(bytes([0x00, 0xB0, offset >> 8, offset & 0xFF, min(MAX_READ, total - offset)]))
        if sw not in (SW_OK, SW_END_OF_FILE) or not chunk:
            return None
        content += chunk
    return bytes(content)


def _try_pace(session: _Session, keys: BacKeys, scalar: Callable[[Curve], int] | None) -> bool:
    """PACE when EF.CardAccess offers a supported PACEInfo. False (use BAC) when it does not or the chip
    refuses to start it; wrong keys raise BacFailed (trying BAC with the same keys would only fail again)."""
    card_access = _read_card_access(session)
    if card_access is None:
        return False
    try:
        info = pace.choose(pace.parse_card_access(card_access))
        if info is None:
            return False
        session.sm = SecureMessaging(pace.establish(session.plain, keys, info, scalar=scalar))
    except pace.PaceError as exc:
        log.warning("emrtd_pace_unavailable_falling_back_to_bac", reason=exc.message)
        session.sm = None
        return False
    _data, sw = session.protected(0xA4, 0x04, 0x0C, lds.AID_EMRTD)
    if sw != SW_OK:
        raise CardError(f"the card is not an ICAO eMRTD (select application: status {sw:04X})")
    session.access = f"PACE-{pace.PACE_PROTOCOLS[info.oid][0].upper()}"
    return True


def authenticate(
    session: _Session,
    keys: BacKeys,
    rng: Callable[[int], bytes],
    *,
    use_pace: bool = True,
    scalar: Callable[[Curve], int] | None = None,
) -> None:
    """Open the eMRTD application under secure messaging: PACE when offered (ICAO's preference), else BAC."""
    if use_pace and _try_pace(session, keys, scalar):
        return
    _data, sw = session.plain(b"\x00\xa4\x04\x0c" + bytes([len(lds.AID_EMRTD)]) + lds.AID_EMRTD)
    if sw != SW_OK:
        raise CardError(f"the card is not an ICAO eMRTD (select application: status {sw:04X})")
    rnd_ic, sw = session.plain(b"\x00\x84\x00\x00\x08")
    if sw != SW_OK or len(rnd_ic) != 8:
        raise CardError(f"the document gave no BAC challenge (status {sw:04X}) and no usable PACE")
    doc_keys = DocumentKeys.from_bac_keys(keys)
    rnd_ifd, k_ifd = rng(8), rng(16)
    cryptogram = authentication_cryptogram(doc_keys, rnd_ic, rnd_ifd, k_ifd)
    response, sw = session.plain(b"\x00\x82\x00\x00\x28" + cryptogram + b"\x28")
    if sw != SW_OK:
        raise BacFailed("the document rejected the access keys: check document number, birth and expiry dates")
    session.sm = SecureMessaging(complete_authentication(doc_keys, rnd_ic, rnd_ifd, k_ifd, response))
    session.access = "BAC"


def _document_type(code: str) -> DocumentType:
    if code.startswith("P"):
        return "passport"
    if code.startswith("C"):
        return "travel_permit"
    return "other"


def _sex(value: str) -> Sex:
    return "M" if value == "M" else "F" if value == "F" else "X"


def read_document(
    channel: ApduChannel,
    keys: BacKeys,
    anchors: list[x509.Certificate],
    *,
    data_groups: tuple[int, ...] = (1, 2),
    timeout: float = 30.0,
    rng: Callable[[int], bytes] = secrets.token_bytes,
    today: date | None = None,
    source: str | None = None,
    use_pace: bool = True,
) -> ReadResult:
    """Read DG1 (+ DG2 when present) under PACE or BAC and passive-authenticate them.

    Raises BacFailed (wrong keys), DeviceTimeout (over ``timeout`` seconds), CardError (not an eMRTD or
    malformed files) and whatever the channel raises (``card_removed``, ``device_unavailable``)."""
    started = time.monotonic()
    session = _Session(channel, started + timeout)
    authenticate(session, keys, rng, use_pace=use_pace)
    files: dict[str, bytes] = {}
    com = session.read_file(lds.FID_COM)
    present = set(data_groups)
    if com is not None:
        files["COM"] = com
        try:
            present = set(lds.parse_ef_com(com).data_groups)
        except lds.LdsError as exc:
            raise CardError("EF.COM on the document is malformed") from exc
    dg_bytes: dict[int, bytes] = {}
    for number in data_groups:
        if number not in present:
            continue
        content = session.read_file(lds.DATA_GROUPS[number][0])
        if content is not None:
            dg_bytes[number] = content
            files[f"DG{number}"] = content
    if 1 not in dg_bytes:
        raise CardError("the document has no DG1 (MRZ)")
    sod = session.read_file(lds.FID_SOD)
    try:
        mrz = lds.parse_dg1(dg_bytes[1])
        photo, photo_format = lds.parse_dg2(dg_bytes[2]) if 2 in dg_bytes else (None, None)
    except (lds.LdsError, ValueError) as exc:
        raise CardError("the document's data groups are malformed") from exc
    today = today or date.today()
    valid_to = mrz_date(mrz.expiry_date, kind="expiry", today=today)
    if sod is None:
        pa = passive_auth.PassiveAuthResult("failed", "the document has no EF.SOD")
    else:
        files["SOD"] = sod
        at = None
        if valid_to is not None and valid_to < today:
            at = datetime.combine(valid_to, dt_time(12, 0), tzinfo=UTC)
        pa = passive_auth.verify(sod, dg_bytes, anchors, now=at)
    document = IdentityDocument(
        document_type=_document_type(mrz.document_code),
        document_number=mrz.document_number,
        name=mrz.full_name or None,
        sex=_sex(mrz.sex),
        birth_date=mrz_date(mrz.birth_date, kind="birth", today=today),
        nationality=mrz.nationality or None,
        issuer=mrz.issuer or None,
        valid_to=valid_to,
        photo=photo,
        photo_format=photo_format,
        checks=DocumentChecks(
            checksum=mrz.checksum_ok,
            expired=valid_to is None or valid_to < today,
            passive_auth=pa.status,
            detail=pa.detail,
        ),
        source=source,
    )
    seconds = time.monotonic() - started
    log.info("emrtd_read", access=session.access, apdus=session.apdus, seconds=round(seconds, 3),
             passive_auth=pa.status, data_groups=sorted(dg_bytes), photo_format=photo_format)
    return ReadResult(document=document, mrz=mrz, files=files, passive_auth_detail=pa.detail,
                      apdus=session.apdus, seconds=seconds, access_control=session.access)
