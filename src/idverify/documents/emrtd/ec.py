"""Affine elliptic-curve arithmetic for PACE generic mapping (ICAO 9303-11 §4.4.3.3.1).

PACE maps the generator to G' = s·G + H and then runs ECDH on G'. ``cryptography`` only does ECDH on a curve's
standard generator and exposes no point addition, so the few operations PACE needs are done here with plain
integers. Ephemeral keys only (fresh per session, on the terminal), so the missing constant-time guarantees
of this textbook double-and-add matter far less than for long-term keys; long-term keys never come here.

Curves: the standardized PACE domain parameters 12 (NIST P-256) and 13 (brainpoolP256r1), with their
constants checked against ``cryptography``'s own curves in the tests.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

Point = tuple[int, int] | None  # None is the point at infinity


@dataclass(frozen=True)
class Curve:
    name: str
    p: int
    a: int
    b: int
    gx: int
    gy: int
    n: int

    @property
    def g(self) -> tuple[int, int]:
        return self.gx, self.gy

    @property
    def size(self) -> int:
        return (self.p.bit_length() + 7) // 8

    def on_curve(self, point: Point) -> bool:
        if point is None:
            return False
        x, y = point
        return 0 <= x < self.p and 0 <= y < self.p and (y * y - (x * x * x + self.a * x + self.b)) % self.p == 0

    def add(self, p1: Point, p2: Point) -> Point:
        if p1 is None:
            return p2
        if p2 is None:
            return p1
        (x1, y1), (x2, y2) = p1, p2
        if x1 == x2 and (y1 + y2) % self.p == 0:
            return None
        if p1 == p2:
            slope = (3 * x1 * x1 + self.a) * pow(2 * y1, -1, self.p) % self.p
        else:
            slope = (y2 - y1) * pow(x2 - x1, -1, self.p) % self.p
        x3 = (slope * slope - x1 - x2) % self.p
        return x3, (slope * (x1 - x3) - y1) % self.p

    def multiply(self, k: int, point: Point) -> Point:
        result: Point = None
        addend = point
        k %= self.n
        while k:
            if k & 1:
                result = self.add(result, addend)
            addend = self.add(addend, addend)
            k >>= 1
        return result

    def encode(self, point: Point) -> bytes:
        """Uncompressed X9.62 encoding ``04 ‖ X ‖ Y``."""
        if point is None:
            raise ValueError("cannot encode the point at infinity")
        return b"\x04" + point[0].to_bytes(self.size, "big") + point[1].to_bytes(self.size, "big")

    def decode(self, data: bytes) -> tuple[int, int]:
        """Parse an uncompressed point and check it lies on the curve (rejects invalid-curve attacks)."""
        if len(data) != 1 + 2 * self.size or data[0] != 0x04:
            raise ValueError("not an uncompressed point of this curve")
        point = (int.from_bytes(data[1 : 1 + self.size], "big"), int.from_bytes(data[1 + self.size :], "big"))
        if not self.on_curve(point):
            raise ValueError("point is not on the curve")
        return point

    def keypair(self, generator: Point) -> tuple[int, tuple[int, int]]:
        private = secrets.randbelow(self.n - 1) + 1
        public = self.multiply(private, generator)
        assert public is not None
        return private, public


P256 = Curve(
    name="secp256r1",
    p=0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF,
    a=0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFC,
    b=0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B,
    gx=0x6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296,
    gy=0x4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5,
    n=0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
)
BRAINPOOL_P256R1 = Curve(
    name="brainpoolP256r1",
    p=0xA9FB57DBA1EEA9BC3E660A909D838D726E3BF623D52620282013481D1F6E5377,
    a=0x7D5A0975FC2C3057EEF67530417AFFE7FB8055C126DC5C6CE94A4B44F330B5D9,
    b=0x26DC5C6CE94A4B44F330B5D9BBD77CBF958416295CF7E1CE6BCCDC18FF8C07B6,
    gx=0x8BD2AEB9CB7E57CB2C4B482FFC81B7AFB9DE27E1E3BD23C23A4453BD9ACE3262,
    gy=0x547EF835C3DAC4FD97F8461A14611DC9C27745132DED8E545C1D54C72F046997,
    n=0xA9FB57DBA1EEA9BC3E660A909D838D718C397AA3B561A6F7901E0E82974856A7,
)
#: ICAO 9303-11 §9.5.1 standardized domain parameter identifiers supported here.
STANDARD_CURVES: dict[int, Curve] = {12: P256, 13: BRAINPOOL_P256R1}
