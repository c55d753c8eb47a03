"""The canonical encoder: its fast path must equal the RFC 8785 reference byte for byte."""

from __future__ import annotations

from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.errors import EntryError
from ledger.log.canonical import canonical_bytes

# Text from the whole of Unicode (astral planes, controls, quotes, backslashes) except lone
# surrogates, which neither path can encode.
text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
scalars = st.none() | st.booleans() | text | st.integers(-(2**53) + 1, 2**53 - 1)
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=25)


@settings(max_examples=500)
@given(st.dictionaries(text, json_values, max_size=6))
def test_matches_the_reference_implementation(value: dict[str, Any]) -> None:
    assert canonical_bytes(value) == rfc8785.dumps(value)


@given(st.dictionaries(text, st.floats(allow_nan=False, allow_infinity=False), max_size=4))
def test_floats_take_the_reference_path(value: dict[str, float]) -> None:
    assert canonical_bytes(value) == rfc8785.dumps(value)


def test_known_answer() -> None:
    value = {"b": [1, "二", None, True], "a": {"é": "\u0007\n\"\\", "\U0001f600": 0}, "": -5}
    assert canonical_bytes(value) == (
        '{"":-5,"a":{"é":"\\u0007\\n\\"\\\\","\U0001f600":0},"b":[1,"二",null,true]}'
    ).encode()


@pytest.mark.parametrize("value", [{"n": float("nan")}, {"big": 2**60}, {1: "key"},
                                   {"s": "\ud800"}])
def test_values_without_a_canonical_form(value: dict[Any, Any]) -> None:
    with pytest.raises(EntryError, match="no canonical JSON form"):
        canonical_bytes(value)
