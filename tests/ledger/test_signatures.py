"""Ed25519 verification: libsodium (ours) against cryptography (OpenSSL), and strictness.

``ledger.log.keys.verify_signature`` checks with libsodium. These tests hold it to the same
answers as ``cryptography`` on the 151 Wycheproof Ed25519 vectors and on generated edge cases
(mutated bits, wrong lengths, non-canonical S, small-order and mixed-order points), and pin the
one place they part: OpenSSL accepts signatures under small-order keys, ours never does.
"""

from __future__ import annotations

import base64
import json
from functools import cache

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.errors import EntryError, IdentityError
from ledger.log.entry import Entry, Statement
from ledger.log.identity import KEY_REGISTERED, OPERATOR, KeyRing
from ledger.log.keys import check_public_key, key_id_for, public_key_bytes, verify_signature
from tests.conftest import SHARED

WYCHEPROOF = SHARED / "vectors" / "wycheproof-ed25519" / "ed25519_test.json"

# --- a little edwards25519 arithmetic, enough to build torsion points (affine, slow, exact)
P = 2**255 - 19
D = -121665 * pow(121666, -1, P) % P
L = 2**252 + 27742317777372353535851937790883648493
SQRT_M1 = pow(2, (P - 1) // 4, P)

Point = tuple[int, int]


def _add(a: Point, b: Point) -> Point:
    (x1, y1), (x2, y2) = a, b
    t = D * x1 * x2 * y1 * y2 % P
    return ((x1 * y2 + x2 * y1) * pow(1 + t, -1, P) % P,
            (y1 * y2 + x1 * x2) * pow(1 - t, -1, P) % P)


def _mul(k: int, point: Point) -> Point:
    result: Point = (0, 1)
    while k:
        if k & 1:
            result = _add(result, point)
        point, k = _add(point, point), k >> 1
    return result


def _decode(raw: bytes) -> Point | None:
    y = int.from_bytes(raw, "little") & ((1 << 255) - 1)
    sign = raw[31] >> 7
    if y >= P:
        return None
    u, v = (y * y - 1) % P, (D * y * y + 1) % P
    x = u * pow(v, 3, P) * pow(u * pow(v, 7, P), (P - 5) // 8, P) % P
    if v * x * x % P == (-u) % P:
        x = x * SQRT_M1 % P
    if v * x * x % P != u:
        return None
    if x & 1 != sign:
        x = (-x) % P
    return x, y


def _encode(point: Point) -> bytes:
    x, y = point
    return (y | (x & 1) << 255).to_bytes(32, "little")


@cache
def torsion() -> list[Point]:
    """The eight points of order dividing 8, from [L] times a point of order 8L."""
    seed = 2
    while True:
        found = _decode(seed.to_bytes(32, "little"))
        if found is not None:
            t8 = _mul(L, found)
            points = [_mul(k, t8) for k in range(8)]
            if len(set(points)) == 8:
                return points
        seed += 1


@cache
def small_order_encodings() -> list[bytes]:
    """Every encoding of a small-order point: canonical, y + p, and x = 0 with the sign set."""
    encodings = {_encode(point) for point in torsion()}
    for point in torsion():
        x, y = point
        if y + P < 2**255:
            encodings.add((y + P | (x & 1) << 255).to_bytes(32, "little"))
        if x == 0:
            encodings.add((y | 1 << 255).to_bytes(32, "little"))
    return sorted(encodings)


def openssl_accepts(public_key: bytes, signature: bytes, message: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def _vectors() -> list[tuple[int, str, bytes, bytes, bytes, bool]]:
    data = json.loads(WYCHEPROOF.read_text())
    return [(test["tcId"], test["comment"], bytes.fromhex(group["publicKey"]["pk"]),
             bytes.fromhex(test["sig"]), bytes.fromhex(test["msg"]), test["result"] == "valid")
            for group in data["testGroups"] for test in group["tests"]]


VECTORS = _vectors()


def test_wycheproof_file_holds_151_vectors() -> None:
    assert len(VECTORS) == 151 == json.loads(WYCHEPROOF.read_text())["numberOfTests"]
    assert sum(valid for *_, valid in VECTORS) > 0 < sum(not valid for *_, valid in VECTORS)


@pytest.mark.parametrize(("tc_id", "comment", "public_key", "signature", "message", "valid"),
                         VECTORS, ids=[f"tc{vector[0]}" for vector in VECTORS])
def test_wycheproof_both_verifiers_agree(tc_id: int, comment: str, public_key: bytes,
                                         signature: bytes, message: bytes, valid: bool) -> None:
    assert verify_signature(public_key, signature, message) is valid, comment
    assert openssl_accepts(public_key, signature, message) is valid, comment


seeds = st.binary(min_size=32, max_size=32)
messages = st.binary(max_size=300)


def _signed(seed: bytes, message: bytes) -> tuple[bytes, bytes]:
    key = Ed25519PrivateKey.from_private_bytes(seed)
    return public_key_bytes(key), key.sign(message)


@given(seeds, messages)
def test_honest_signatures_verify_in_both(seed: bytes, message: bytes) -> None:
    public_key, signature = _signed(seed, message)
    assert verify_signature(public_key, signature, message)
    assert openssl_accepts(public_key, signature, message)


@given(seeds, st.binary(min_size=1, max_size=300), st.sampled_from(["key", "signature", "message"]),
       st.data())
def test_mutated_bits_are_refused_by_both(seed: bytes, message: bytes, part: str,
                                          data: st.DataObject) -> None:
    public_key, signature = _signed(seed, message)
    parts = {"key": public_key, "signature": signature, "message": message}
    target = bytearray(parts[part])
    bit = data.draw(st.integers(0, 8 * len(target) - 1), label="bit")
    target[bit // 8] ^= 1 << bit % 8
    parts[part] = bytes(target)
    args = parts["key"], parts["signature"], parts["message"]
    ours = verify_signature(*args)
    assert ours == openssl_accepts(*args)
    assert not ours


@given(seeds, messages, st.integers(0, 80), st.integers(0, 80))
def test_wrong_lengths_are_refused_by_both(seed: bytes, message: bytes, key_length: int,
                                           signature_length: int) -> None:
    public_key, signature = _signed(seed, message)
    key = (public_key * 3)[:key_length]
    sig = (signature * 2)[:signature_length]
    if (key_length, signature_length) == (32, 64):
        return
    assert not verify_signature(key, sig, message)
    assert not openssl_accepts(key, sig, message)


@given(seeds, messages, st.integers(1, 15))
def test_non_canonical_s_is_refused_by_both(seed: bytes, message: bytes, k: int) -> None:
    # S + kL is the same scalar mod L, so a lenient verifier would accept it: malleability.
    public_key, signature = _signed(seed, message)
    s = int.from_bytes(signature[32:], "little") + k * L
    forged = signature[:32] + s.to_bytes(32, "little")
    assert not verify_signature(public_key, forged, message)
    assert not openssl_accepts(public_key, forged, message)


@given(st.sampled_from(small_order_encodings()), st.sampled_from(small_order_encodings()),
       st.sampled_from([0, 1, 8, L - 1]) | st.integers(0, L - 1), messages)
@settings(max_examples=300)
def test_small_order_keys_and_r_are_refused(public_key: bytes, r: bytes, s: int,
                                            message: bytes) -> None:
    signature = r + s.to_bytes(32, "little")
    assert not verify_signature(public_key, signature, message)
    # Where OpenSSL parts from us it is only ever more lenient, never stricter.


@given(messages)
def test_openssl_accepts_one_signature_for_every_message_under_the_identity_key(
        message: bytes) -> None:
    # The documented disagreement: A = identity, R = identity, S = 0 satisfies the cofactorless
    # equation [S]B = R + [k]A for every message. We refuse it (libsodium's small-order check).
    identity = _encode((0, 1))
    signature = identity + bytes(32)
    assert openssl_accepts(identity, signature, message)
    assert not verify_signature(identity, signature, message)


@given(seeds, messages, st.integers(1, 7))
def test_mixed_order_keys_agree(seed: bytes, message: bytes, k: int) -> None:
    # A + T (T a torsion point) hashes differently from A, so the honest signature fails in
    # both; signing with a mixed-order key is impossible without its discrete log.
    public_key, signature = _signed(seed, message)
    point = _decode(public_key)
    assert point is not None
    mixed = _encode(_add(point, torsion()[k]))
    assert verify_signature(mixed, signature, message) == openssl_accepts(
        mixed, signature, message)
    with pytest.raises(EntryError, match="prime-order subgroup"):
        check_public_key(mixed)


@given(seeds)
def test_check_public_key_accepts_generated_keys(seed: bytes) -> None:
    check_public_key(public_key_bytes(Ed25519PrivateKey.from_private_bytes(seed)))


@pytest.mark.parametrize("encoding", small_order_encodings(), ids=lambda raw: raw.hex()[:8])
def test_check_public_key_refuses_small_order_points(encoding: bytes) -> None:
    with pytest.raises(EntryError, match="prime-order subgroup"):
        check_public_key(encoding)


def test_a_small_order_key_cannot_be_registered() -> None:
    # Genesis registers the operator's key; a key for which every message has one valid
    # signature must never become a signer.
    operator = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))

    genesis = Statement(KEY_REGISTERED, OPERATOR, key_id_for(operator), "2024-01-01T00:00:00Z", {
        "enterprise": OPERATOR, "key_id": key_id_for(operator),
        "public_key": base64.b64encode(public_key_bytes(operator)).decode()})
    ring = KeyRing()
    ring.admit(Entry.create(seq=0, signed=genesis.sign(operator),
                            recorded_at="2024-01-01T00:00:00Z", prev=bytes(32)))
    weak = _encode((0, 1))
    bad = Statement(KEY_REGISTERED, OPERATOR, key_id_for(operator), "2024-01-01T00:00:00Z", {
        "enterprise": OPERATOR, "key_id": key_id_for(weak),
        "public_key": base64.b64encode(weak).decode()})
    with pytest.raises((EntryError, IdentityError), match="prime-order subgroup"):
        ring.admit(Entry.create(seq=1, signed=bad.sign(operator),
                                recorded_at="2024-01-01T00:00:01Z", prev=bytes(32)))


def _non_canonical_points() -> list[bytes]:
    """Encodings with y >= p (only y < 19 can be written so) of points on the curve."""
    found = []
    for y in range(19):
        for sign in (0, 1):
            point = _decode((y | sign << 255).to_bytes(32, "little"))
            if point is not None and (point[0] & 1) == sign:
                found.append((y + P | sign << 255).to_bytes(32, "little"))
    return found


@pytest.mark.parametrize("encoding", _non_canonical_points(), ids=lambda raw: raw.hex()[:8])
def test_non_canonical_keys_are_refused(encoding: bytes) -> None:
    with pytest.raises(EntryError, match="prime-order subgroup"):
        check_public_key(encoding)
    # No one can sign for these (that needs the point's discrete log), so a signature made up
    # of small-order parts is the only kind to try: ours refuses it.
    signature = _encode((0, 1)) + bytes(32)
    assert not verify_signature(encoding, signature, b"message")
