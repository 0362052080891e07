"""The fast RFC 8785 path agrees byte for byte with the reference implementation (rfc8785 package)."""

from __future__ import annotations

from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from idverify.errors import ValidationFailed
from idverify.ledger.canonical import canonical_bytes, es6_number

_text = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=12)
_json: Any = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_text, children, max_size=4),
    max_leaves=25,
)


@settings(max_examples=400, deadline=None)
@given(_json)
def test_fast_path_equals_reference(document: Any) -> None:
    assert canonical_bytes(document) == bytes(rfc8785.dumps(document))


@settings(max_examples=400, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_es6_number_formatting(value: float) -> None:
    assert es6_number(value).encode() == bytes(rfc8785.dumps(value))


@pytest.mark.parametrize(
    ("value", "text"),
    [(1.0, "1"), (-0.0, "0"), (1e21, "1e+21"), (1e20, "100000000000000000000"), (1e-7, "1e-7"),
     (0.000001, "0.000001"), (123.456, "123.456"), (-5e-324, "-5e-324")],
)
def test_es6_number_known_values(value: float, text: str) -> None:
    assert es6_number(value) == text


def test_refusals() -> None:
    for bad in ({"x": float("nan")}, {"x": 2**53}, {"x": object()}, {1: "non-string key"}):
        with pytest.raises(ValidationFailed):
            canonical_bytes(bad)
    assert canonical_bytes({"\U0001f600": 1, "\ue000": 2}) == bytes(rfc8785.dumps({"\U0001f600": 1, "\ue000": 2}))


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2**40), st.dictionaries(_text, _json, max_size=4))
def test_leaf_bytes_equal_the_canonical_leaf_document(index: int, event: dict[str, Any]) -> None:
    from idverify.ledger.canonical import leaf_bytes, leaf_document

    recorded = "2026-11-23T14:00:00.123456Z"
    assert leaf_bytes(index, recorded, canonical_bytes(event)) == canonical_bytes(leaf_document(index, recorded, event))
