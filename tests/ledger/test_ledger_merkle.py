"""Merkle arithmetic against the public transparency-dev vectors and a brute-force RFC 6962 reference."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from idverify.ledger.merkle import (
    EMPTY_ROOT,
    CompactRange,
    ProofError,
    consistency_ranges,
    fold,
    inclusion_ranges,
    leaf_hash,
    node_hash,
    range_nodes,
    tree_root,
    verify_consistency,
    verify_inclusion,
)

VECTORS = Path(__file__).resolve().parents[1] / "data" / "transparency_dev"
# RFC 6962 reference leaves (transparency-dev testonly.LeafInputs).
LEAVES = [bytes.fromhex(h) for h in (
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f",
)]


def _mth(leaves: list[bytes]) -> bytes:
    """RFC 6962 §2.1 MTH, recursively, straight from the spec text."""
    if not leaves:
        return EMPTY_ROOT
    if len(leaves) == 1:
        return leaf_hash(leaves[0])
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return node_hash(_mth(leaves[:k]), _mth(leaves[k:]))


def _vectors(kind: str) -> list[Any]:
    files = sorted((VECTORS / kind).glob("*/*.json"))
    assert files, f"no {kind} vectors in {VECTORS}"
    return [pytest.param(json.loads(f.read_text()), id=f"{f.parent.name}/{f.stem}") for f in files]


def _d(value: str) -> bytes:
    return base64.b64decode(value)


@pytest.mark.parametrize("vector", _vectors("inclusion"))
def test_inclusion_vectors(vector: dict[str, Any]) -> None:
    proof = [_d(p) for p in vector["proof"] or []]
    args = (vector["leafIdx"], vector["treeSize"], _d(vector["leafHash"]), proof, _d(vector["root"]))
    if vector["wantErr"]:
        with pytest.raises(ProofError):
            verify_inclusion(*args)
    else:
        verify_inclusion(*args)


@pytest.mark.parametrize("vector", _vectors("consistency"))
def test_consistency_vectors(vector: dict[str, Any]) -> None:
    proof = [_d(p) for p in vector["proof"] or []]
    args = (vector["size1"], vector["size2"], _d(vector["root1"]), _d(vector["root2"]), proof)
    if vector["wantErr"]:
        with pytest.raises(ProofError):
            verify_consistency(*args)
    else:
        verify_consistency(*args)


def _tree_hashes(leaves: list[bytes]) -> dict[tuple[int, int], bytes]:
    """Every complete node of the tree over ``leaves`` (what the ledger stores)."""
    cr = CompactRange()
    nodes: dict[tuple[int, int], bytes] = {}
    for i, data in enumerate(leaves):
        lh = leaf_hash(data)
        nodes[(0, i)] = lh
        nodes.update(cr.append(lh))
    return nodes


def _range_root(nodes: dict[tuple[int, int], bytes], start: int, end: int) -> bytes:
    return fold([nodes[n] for n in range_nodes(start, end)])


def test_our_proofs_equal_the_happy_path_vectors() -> None:
    nodes = _tree_hashes(LEAVES)
    for f in sorted((VECTORS / "inclusion").glob("*/happy-path.json")):
        v = json.loads(f.read_text())
        leaves = LEAVES[: v["treeSize"]]
        assert _range_root(_tree_hashes(leaves), 0, len(leaves)) == _d(v["root"])
        ours = [_range_root(nodes, s, e) for s, e in inclusion_ranges(v["leafIdx"], v["treeSize"])]
        assert ours == [_d(p) for p in v["proof"] or []], f.parent.name
    for f in sorted((VECTORS / "consistency").glob("*/happy-path.json")):
        v = json.loads(f.read_text())
        ours = [_range_root(nodes, s, e) for s, e in consistency_ranges(v["size1"], v["size2"])]
        assert ours == [_d(p) for p in v["proof"] or []], f.parent.name


def test_reference_roots_match_the_rfc_recursion() -> None:
    assert tree_root([]) == EMPTY_ROOT
    for n in range(1, 9):
        assert tree_root(leaf_hash(x) for x in LEAVES[:n]) == _mth(LEAVES[:n])
    assert tree_root(leaf_hash(x) for x in LEAVES).hex() == (
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
    )


@settings(max_examples=60, deadline=None)
@given(size=st.integers(min_value=1, max_value=140), data=st.data())
def test_generated_proofs_verify_and_tampering_fails(size: int, data: st.DataObject) -> None:
    leaves = [i.to_bytes(4, "big") for i in range(size)]
    nodes = _tree_hashes(leaves)
    root = _mth(leaves)
    assert _range_root(nodes, 0, size) == root
    index = data.draw(st.integers(0, size - 1))
    proof = [_range_root(nodes, s, e) for s, e in inclusion_ranges(index, size)]
    verify_inclusion(index, size, leaf_hash(leaves[index]), proof, root)
    if size > 1:
        with pytest.raises(ProofError):
            verify_inclusion((index + 1) % size, size, leaf_hash(leaves[index]), proof, root)
    old = data.draw(st.integers(0, size))
    cons = [_range_root(nodes, s, e) for s, e in consistency_ranges(old, size)]
    old_root = _mth(leaves[:old])
    verify_consistency(old, size, old_root, root, cons)
    if 0 < old < size:
        with pytest.raises(ProofError):
            verify_consistency(old, size, leaf_hash(b"forged"), root, cons)
        with pytest.raises(ProofError):
            verify_consistency(old, size, old_root, root, cons[:-1])


def test_compact_range_creates_each_complete_node_once() -> None:
    cr = CompactRange()
    created = [n for i in range(16) for n, _ in cr.append(leaf_hash(bytes([i])))]
    assert len(created) == 15  # a perfect tree of 16 leaves has 15 interior nodes
    assert (4, 0) in created
    assert CompactRange.nodes_for(13) == [(3, 0), (2, 2), (0, 12)]


def test_impossible_parameters_are_refused() -> None:
    with pytest.raises(ProofError):
        inclusion_ranges(5, 5)
    with pytest.raises(ProofError):
        consistency_ranges(6, 5)
    with pytest.raises(ValueError, match="aligned"):
        range_nodes(1, 3)
