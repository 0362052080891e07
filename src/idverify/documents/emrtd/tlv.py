"""Minimal BER-TLV for the LDS (ICAO 9303-10): multi-byte tags, short and long definite lengths.

Enough for EF.COM, DG1, DG2, SM data objects and finding lengths of files being read. CMS (EF.SOD) is
parsed with asn1crypto instead (see :mod:`.passive_auth`). Raises ValueError on truncated or malformed input.
"""

from __future__ import annotations

from collections.abc import Iterator


def encode_length(length: int) -> bytes:
    if length < 0x80:
        return bytes([length])
    body = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def encode_tag(tag: int) -> bytes:
    return tag.to_bytes(max(1, (tag.bit_length() + 7) // 8), "big")


def tlv(tag: int, value: bytes) -> bytes:
    return encode_tag(tag) + encode_length(len(value)) + value


def read_header(data: bytes, offset: int = 0) -> tuple[int, int, int]:
    """(tag, value length, header length) of the TLV starting at ``offset``."""
    pos = offset
    if pos >= len(data):
        raise ValueError("TLV truncated in tag")
    tag = data[pos]
    pos += 1
    if tag & 0x1F == 0x1F:
        while True:
            if pos >= len(data):
                raise ValueError("TLV truncated in tag")
            tag = (tag << 8) | data[pos]
            pos += 1
            if not data[pos - 1] & 0x80:
                break
    if pos >= len(data):
        raise ValueError("TLV truncated in length")
    first = data[pos]
    pos += 1
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > 4 or pos + count > len(data):
            raise ValueError("unsupported or truncated TLV length")
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    return tag, length, pos - offset


def iter_tlv(data: bytes) -> Iterator[tuple[int, bytes, bytes]]:
    """Yield (tag, value, raw encoding) for consecutive TLVs filling ``data``."""
    pos = 0
    while pos < len(data):
        if data[pos] in (0x00, 0xFF) and pos + 1 >= len(data):
            break  # trailing filler
        tag, length, header = read_header(data, pos)
        end = pos + header + length
        if end > len(data):
            raise ValueError("TLV value truncated")
        yield tag, data[pos + header : end], data[pos:end]
        pos = end


def find(data: bytes, tag: int) -> bytes | None:
    """Value of the first TLV with ``tag`` at this nesting level, or None."""
    for found, value, _raw in iter_tlv(data):
        if found == tag:
            return value
    return None
