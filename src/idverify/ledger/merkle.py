"""RFC 6962 / RFC 9162 Merkle tree arithmetic: hashing, proof shapes, proof verification, compact ranges.

Pure functions over bytes and integers — no database, no I/O — so the daemon, the exporter and the offline
verifier share exactly one implementation, and the public transparency-dev vectors test it directly.

Vocabulary (as in transparency-dev): a *node* ``(level, index)`` is the root of the complete subtree over leaves
``[index·2^level, (index+1)·2^level)``; level 0 nodes are leaf hashes. Every subtree an RFC 6962 proof needs is a
range ``[start, end)`` whose start is aligned, so it is the fold of O(log n) complete nodes
(:func:`range_nodes`). The ledger stores every complete node once (≈ one per entry), which is what lets
a proof at a million entries read ~40 hashes instead of rehashing the log.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

HASH_SIZE = 32
_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"
EMPTY_ROOT = hashlib.sha256(b"").digest()

Node = tuple[int, int]
Range = tuple[int, int]


class ProofError(ValueError):
    """A proof does not verify, or its parameters are impossible. The message says which check failed."""


def leaf_hash(data: bytes) -> bytes:
    """SHA-256(0x00 ‖ data): the domain separation stops a leaf from posing as an interior node."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 ‖ left ‖ right)."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def _split(size: int) -> int:
    """The largest power of two strictly smaller than ``size`` (size ≥ 2): RFC 6962's ``k``."""
    return 1 << ((size - 1).bit_length() - 1)


def range_nodes(start: int, end: int) -> list[Node]:
    """Complete nodes whose fold (right to left) is MTH(D[start:end]).

    ``start`` must be a multiple of the largest power of two ≤ ``end - start`` rounded up — which holds for every
    range an RFC 6962 proof asks for and for every prefix ``[0, n)``.
    """
    if end <= start:
        raise ValueError(f"empty range [{start}, {end})")
    nodes: list[Node] = []
    pos = start
    remaining = end - start
    while remaining:
        level = remaining.bit_length() - 1
        if pos % (1 << level):
            raise ValueError(f"range [{start}, {end}) is not aligned")
        nodes.append((level, pos >> level))
        pos += 1 << level
        remaining -= 1 << level
    return nodes


def fold(hashes: Sequence[bytes]) -> bytes:
    """Combine the hashes of :func:`range_nodes` (left to right order) into the range's root."""
    if not hashes:
        return EMPTY_ROOT
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = node_hash(h, acc)
    return acc


def inclusion_ranges(index: int, size: int) -> list[Range]:
    """The subtrees, in proof order, whose roots form the RFC 9162 inclusion proof (PATH) of leaf ``index``."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is outside a tree of size {size}")
    out: list[Range] = []
    start, end = 0, size
    # PATH(m, D[start:end]) appends the sibling subtree after the recursive part: collect, then reverse.
    stack: list[Range] = []
    m = index
    while end - start > 1:
        k = _split(end - start)
        if m < k:
            stack.append((start + k, end))
            end = start + k
        else:
            stack.append((start, start + k))
            start += k
            m -= k
    out.extend(reversed(stack))
    return out


def consistency_ranges(old_size: int, new_size: int) -> list[Range]:
    """The subtrees whose roots form the RFC 9162 consistency proof between two tree sizes."""
    if not 0 <= old_size <= new_size:
        raise ProofError(f"no consistency proof from size {old_size} to {new_size}")
    if old_size in (0, new_size):
        return []
    stack: list[Range] = []
    m, start, end, whole = old_size, 0, new_size, True
    while True:
        size = end - start
        if m == size:
            if not whole:
                stack.append((start, end))
            break
        k = _split(size)
        if m <= k:
            stack.append((start + k, end))
            end = start + k
        else:
            stack.append((start, start + k))
            start += k
            m -= k
            whole = False
    return list(reversed(stack))


def _check_hashes(hashes: Sequence[bytes], what: str) -> None:
    for i, h in enumerate(hashes):
        if len(h) != HASH_SIZE:
            raise ProofError(f"{what}[{i}] is {len(h)} bytes, not {HASH_SIZE}")


def root_from_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """RFC 9162 §2.1.3.2: the root implied by ``leaf`` at ``index`` and its audit path."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is outside a tree of size {size}")
    _check_hashes([leaf], "leaf hash")
    _check_hashes(proof, "proof")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise ProofError("inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("inclusion proof is shorter than the tree is deep")
    return r


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes) -> None:
    """Raise :class:`ProofError` unless ``leaf`` is at ``index`` in the tree of ``size`` with ``root``."""
    if root_from_inclusion(index, size, leaf, proof) != root:
        raise ProofError(f"inclusion proof of leaf {index} does not lead to the root of size {size}")


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """RFC 9162 §2.1.4.2: raise :class:`ProofError` unless the tree ``old_root`` is a prefix of ``new_root``."""
    if not 0 <= old_size <= new_size:
        raise ProofError(f"old size {old_size} is larger than new size {new_size}")
    _check_hashes(proof, "proof")
    if old_size == new_size:
        if proof:
            raise ProofError("a proof between equal sizes must be empty")
        if old_root != new_root:
            raise ProofError("equal tree sizes with different roots")
        return
    if old_size == 0:
        if proof:
            raise ProofError("a proof from the empty tree must be empty")
        return
    if not proof:
        raise ProofError("empty consistency proof")
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # exact power of two: the old root is itself a node of the new tree
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof is too long")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("consistency proof is too short")
    if fr != old_root:
        raise ProofError(f"consistency proof does not reproduce the root of size {old_size}")
    if sr != new_root:
        raise ProofError(f"consistency proof does not reproduce the root of size {new_size}")


@dataclass
class CompactRange:
    """The right frontier of a tree: one complete node per set bit of ``size``, largest first.

    Appending a leaf merges equal-sized nodes like binary addition; :meth:`append` returns the nodes that became
    complete (the ledger stores those). Memory is O(log n), so the offline verifier streams a million entries.
    """

    size: int = 0
    hashes: list[bytes] = field(default_factory=list)

    def append(self, leaf: bytes) -> list[tuple[Node, bytes]]:
        """Add one leaf hash; return the new complete interior nodes ``((level, index), hash)``."""
        created: list[tuple[Node, bytes]] = []
        h, idx, level = leaf, self.size, 0
        while idx & 1:
            h = node_hash(self.hashes.pop(), h)
            idx >>= 1
            level += 1
            created.append(((level, idx), h))
        self.hashes.append(h)
        self.size += 1
        return created

    def extend(self, leaves: Iterable[bytes]) -> None:
        hashes = self.hashes
        size = self.size
        for leaf in leaves:
            h, idx = leaf, size
            while idx & 1:
                h = node_hash(hashes.pop(), h)
                idx >>= 1
            hashes.append(h)
            size += 1
        self.size = size

    def root(self) -> bytes:
        return fold(self.hashes)

    @staticmethod
    def nodes_for(size: int) -> list[Node]:
        """Which complete nodes make up the frontier of a tree of ``size`` (largest first)."""
        return range_nodes(0, size) if size else []


def tree_root(leaves: Iterable[bytes]) -> bytes:
    """MTH of a sequence of leaf hashes (streaming, O(log n) memory)."""
    cr = CompactRange()
    cr.extend(leaves)
    return cr.root()
