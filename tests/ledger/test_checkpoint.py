"""Tests for signed checkpoints (c2sp.org/signed-note, c2sp.org/tlog-checkpoint)."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.errors import CheckpointError
from ledger.log.checkpoint import (
    MAX_NOTE_SIZE,
    MAX_SIGNATURES,
    Checkpoint,
    _open_note,
    key_hash,
    open_checkpoint,
    parse_verifier_key,
    sign_checkpoint,
    verifier_key,
)

# The published example of golang.org/x/mod/sumdb/note (note_test.go, example_test.go).
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
GO_TEXT = ("If you think cryptography is the answer to your problem,\n"
           "then you don't know what your problem is.\n")
GO_PETER_SIG = ("— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvq"
                "fqdngotpRZb6KE6RyyBwJnAM=\n")
GO_ENOCH_SIG = ("— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oO"
                "TGwnWLox33WWd1RvMc+QQ=\n")

NAME = "example.com/ledger"
KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
OTHER_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
ROOT = hashlib.sha256(b"root").digest()
CHECKPOINT = Checkpoint(NAME, 42, ROOT)
ROOT_B64 = base64.b64encode(ROOT).decode()


def spec_hash(name: str, key: Ed25519PrivateKey) -> bytes:
    """The key hash, straight from the spec formula (independent of the module)."""
    raw = key.public_key().public_bytes(serialization.Encoding.Raw,
                                        serialization.PublicFormat.Raw)
    return hashlib.sha256(name.encode() + b"\x0a" + b"\x01" + raw).digest()[:4]


def sig_line(name: str, blob: bytes) -> str:
    return f"\u2014 {name} {base64.b64encode(blob).decode()}\n"


def spec_note(text: str, *, name: str = NAME, key: Ed25519PrivateKey = KEY,
              key_id: bytes | None = None) -> str:
    """A signed note built by hand from the spec, for texts `sign_checkpoint` would refuse."""
    blob = (spec_hash(name, key) if key_id is None else key_id) + key.sign(text.encode())
    return text + "\n" + sig_line(name, blob)


def open_(note: str | bytes, origin: str | None = None) -> Checkpoint:
    return open_checkpoint(note, key_name=NAME, public_key=KEY.public_key(), origin=origin)


# --- known answers -----------------------------------------------------------------------------


def go_private_key() -> Ed25519PrivateKey:
    # PRIVATE+KEY+<name>+<hash>+base64(0x01 || 32-byte seed)
    raw = base64.b64decode(GO_SKEY.split("+", 4)[4])
    assert raw[0] == 1
    return Ed25519PrivateKey.from_private_bytes(raw[1:])


def test_key_hash_matches_spec_formula() -> None:
    assert key_hash(NAME, KEY.public_key()) == spec_hash(NAME, KEY)
    assert key_hash(NAME, KEY.public_key()) != key_hash(NAME + "x", KEY.public_key())


def test_go_vector_key_hash_and_verifier_key() -> None:
    key = go_private_key()
    assert key_hash("PeterNeumann", key.public_key()).hex() == "c74f20a3"
    assert verifier_key("PeterNeumann", key.public_key()) == GO_VKEY
    name, public = parse_verifier_key(GO_VKEY)
    assert name == "PeterNeumann"
    assert public.public_bytes_raw() == key.public_key().public_bytes_raw()


def test_go_vector_signature_reproduced() -> None:
    # Ed25519 is deterministic, so the spec construction must give Go's note byte for byte,
    # and sign_checkpoint must agree with the spec construction.
    key = go_private_key()
    assert spec_note(GO_TEXT, name="PeterNeumann", key=key) == GO_TEXT + "\n" + GO_PETER_SIG
    cp = Checkpoint("PeterNeumann", 7, ROOT)
    assert (sign_checkpoint(cp, key_name="PeterNeumann", private_key=key)
            == spec_note(cp.body().decode(), name="PeterNeumann", key=key))


@pytest.mark.parametrize("vkey", [GO_VKEY, GO_ENOCH_VKEY])
def test_go_vector_notes_verify(vkey: str) -> None:
    # Go's two-signer note: each key finds its own line and ignores the other's.
    name, public = parse_verifier_key(vkey)
    note = GO_TEXT + "\n" + GO_PETER_SIG + GO_ENOCH_SIG
    assert _open_note(note, key_name=name, public_key=public) == GO_TEXT


@pytest.mark.parametrize("note", [
    GO_TEXT,
    GO_TEXT + "\n",
    GO_TEXT + "\n" + GO_PETER_SIG[:-1],
    "\x01" + GO_TEXT + "\n" + GO_PETER_SIG,
    b"\xff" + (GO_TEXT + "\n" + GO_PETER_SIG).encode(),
    GO_TEXT + "\n" + "— Bad Name" + GO_PETER_SIG[len("— PeterNeumann"):],
    GO_TEXT + "\n" + GO_PETER_SIG + "Unexpected line.\n",
    GO_TEXT + "\n" + GO_PETER_SIG[:60] + "ABCD" + GO_PETER_SIG[60:],
])
def test_go_vector_bad_notes_rejected(note: str | bytes) -> None:
    # Go's TestOpen table of malformed notes, plus its corrupted-signature case.
    name, public = parse_verifier_key(GO_VKEY)
    with pytest.raises(CheckpointError):
        _open_note(note, key_name=name, public_key=public)


def test_go_vector_mangled_verifier_keys_rejected() -> None:
    # Ported from Go's TestNewVerifier: every proper substring and every bumped byte fails.
    for i in range(len(GO_VKEY)):
        for j in range(i + 1, len(GO_VKEY) + 1):
            if (i, j) != (0, len(GO_VKEY)):
                with pytest.raises(CheckpointError):
                    parse_verifier_key(GO_VKEY[i:j])
        with pytest.raises(CheckpointError):
            parse_verifier_key(GO_VKEY[:i] + chr(ord(GO_VKEY[i]) + 1) + GO_VKEY[i + 1:])


def test_verifier_key_round_trip() -> None:
    vkey = verifier_key(NAME, KEY.public_key())
    assert vkey.startswith(f"{NAME}+{spec_hash(NAME, KEY).hex()}+")
    name, public = parse_verifier_key(vkey)
    assert name == NAME
    assert public.public_bytes_raw() == KEY.public_key().public_bytes_raw()


def test_verifier_key_wrong_type_byte() -> None:
    raw = base64.b64encode(b"\x02" + KEY.public_key().public_bytes_raw()).decode()
    with pytest.raises(CheckpointError, match=r"expected signature type 0x01 \(\w+\), got 0x02"):
        parse_verifier_key(f"{NAME}+00000000+{raw}")


# --- format ------------------------------------------------------------------------------------


def test_body_format() -> None:
    assert CHECKPOINT.body() == f"{NAME}\n42\n{ROOT_B64}\n".encode()


def test_signed_note_format() -> None:
    note = sign_checkpoint(CHECKPOINT, key_name=NAME, private_key=KEY)
    assert note == spec_note(CHECKPOINT.body().decode())
    assert note.split("\n")[4].startswith("\u2014 example.com/ledger ")


def test_round_trip() -> None:
    note = sign_checkpoint(CHECKPOINT, key_name=NAME, private_key=KEY)
    assert open_(note) == CHECKPOINT
    assert open_(note.encode(), origin=NAME) == CHECKPOINT


def test_empty_tree() -> None:
    cp = Checkpoint(NAME, 0, hashlib.sha256(b"").digest())
    assert open_(sign_checkpoint(cp, key_name=NAME, private_key=KEY)) == cp


def test_extension_lines_ignored() -> None:
    note = spec_note(f"{NAME}\n42\n{ROOT_B64}\nextension one\nextension two\n")
    assert open_(note) == CHECKPOINT


def test_unknown_signer_line_ignored() -> None:
    note = sign_checkpoint(CHECKPOINT, key_name=NAME, private_key=KEY)
    witness = sig_line("witness.example", spec_hash("witness.example", OTHER_KEY)
                       + OTHER_KEY.sign(CHECKPOINT.body()))
    assert open_(note + witness) == CHECKPOINT
    assert open_(note.replace("\n\n", "\n\n" + witness)) == CHECKPOINT


# --- failure modes -----------------------------------------------------------------------------


def tampered(old: str, new: str) -> str:
    note = sign_checkpoint(CHECKPOINT, key_name=NAME, private_key=KEY)
    assert old in note
    return note.replace(old, new, 1)


def test_tampered_size() -> None:
    with pytest.raises(CheckpointError, match="does not verify"):
        open_(tampered("\n42\n", "\n43\n"))


def test_tampered_root() -> None:
    other = base64.b64encode(hashlib.sha256(b"other").digest()).decode()
    with pytest.raises(CheckpointError, match="does not verify"):
        open_(tampered(ROOT_B64, other))


def test_tampered_origin() -> None:
    with pytest.raises(CheckpointError, match="does not verify"):
        open_(tampered(f"{NAME}\n42", f"{NAME}2\n42"))


def test_origin_mismatch() -> None:
    note = sign_checkpoint(CHECKPOINT, key_name=NAME, private_key=KEY)
    with pytest.raises(CheckpointError, match="expected origin 'other.example', got"):
        open_(note, origin="other.example")


def test_signature_by_another_key() -> None:
    # Same name, different key: the key hash differs, so the line is someone else's.
    note = sign_checkpoint(CHECKPOINT, key_name=NAME, private_key=OTHER_KEY)
    with pytest.raises(CheckpointError, match=f"expected a signature by {NAME}\\+[0-9a-f]{{8}}, "
                                              "got none"):
        open_(note)


def test_signature_by_another_key_claiming_our_hash() -> None:
    note = spec_note(CHECKPOINT.body().decode(), key=OTHER_KEY, key_id=spec_hash(NAME, KEY))
    with pytest.raises(CheckpointError, match="does not verify"):
        open_(note)


def test_key_name_mismatch() -> None:
    note = sign_checkpoint(CHECKPOINT, key_name="other.example", private_key=KEY)
    with pytest.raises(CheckpointError, match="expected a signature by .*, got none"):
        open_(note)


def test_key_hash_mismatch() -> None:
    note = spec_note(CHECKPOINT.body().decode(), key_id=b"\0\0\0\0")
    with pytest.raises(CheckpointError, match="expected a signature by .*, got none"):
        open_(note)


def test_truncated_signature() -> None:
    blob = spec_hash(NAME, KEY) + KEY.sign(CHECKPOINT.body())[:32]
    note = CHECKPOINT.body().decode() + "\n" + sig_line(NAME, blob)
    with pytest.raises(CheckpointError, match="expected a 64-byte Ed25519 signature, got 32"):
        open_(note)


def test_truncated_note() -> None:
    note = sign_checkpoint(CHECKPOINT, key_name=NAME, private_key=KEY)
    with pytest.raises(CheckpointError, match="expected canonical base64 signature"):
        open_(note[:-3] + "\n")
    with pytest.raises(CheckpointError, match="expected the note to end with a newline"):
        open_(note[:-1])


def test_missing_blank_line() -> None:
    with pytest.raises(CheckpointError, match="expected a blank line"):
        open_(tampered("\n\n", "\n"))


def test_no_signature_lines() -> None:
    with pytest.raises(CheckpointError, match="expected at least one signature line, got none"):
        open_(CHECKPOINT.body().decode() + "\n")


def test_line_after_signatures() -> None:
    note = sign_checkpoint(CHECKPOINT, key_name=NAME, private_key=KEY)
    with pytest.raises(CheckpointError, match="expected a signature line starting with"):
        open_(note + "Unexpected line.\n")


def test_bad_key_name_in_signature_line() -> None:
    with pytest.raises(CheckpointError, match="expected a non-empty key name"):
        open_(tampered(f"\u2014 {NAME} ", "\u2014 a+b "))


def test_non_canonical_size() -> None:
    with pytest.raises(CheckpointError, match="expected a decimal tree size without leading "
                                              "zeros, got '007'"):
        open_(spec_note(f"{NAME}\n007\n{ROOT_B64}\n"))


@pytest.mark.parametrize("size", ["-1", "+1", "1.0", "", "٣", "18446744073709551616"])
def test_bad_size(size: str) -> None:
    with pytest.raises(CheckpointError, match="tree size"):
        open_(spec_note(f"{NAME}\n{size}\n{ROOT_B64}\n"))


def test_root_of_31_bytes() -> None:
    short = base64.b64encode(ROOT[:31]).decode()
    with pytest.raises(CheckpointError, match="expected a 32-byte root hash, got 31 bytes"):
        open_(spec_note(f"{NAME}\n42\n{short}\n"))
    with pytest.raises(CheckpointError, match="expected a 32-byte root hash, got 31 bytes"):
        Checkpoint(NAME, 42, ROOT[:31])


def test_root_not_canonical_base64() -> None:
    # Same 32 bytes, but the unused low bits of the last character are set.
    assert ROOT_B64.endswith("=")
    last = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    i = last.index(ROOT_B64[-2])
    mangled = ROOT_B64[:-2] + last[i ^ 1] + "="
    assert base64.b64decode(mangled) == ROOT
    with pytest.raises(CheckpointError, match="expected canonical base64 root hash"):
        open_(spec_note(f"{NAME}\n42\n{mangled}\n"))


def test_missing_body_lines() -> None:
    with pytest.raises(CheckpointError, match="expected origin, size and root hash lines, got 2"):
        open_(spec_note(f"{NAME}\n42\n"))


def test_empty_extension_line() -> None:
    with pytest.raises(CheckpointError, match="expected non-empty extension lines"):
        open_(spec_note(f"{NAME}\n42\n{ROOT_B64}\n\next\n"))


def test_control_character() -> None:
    with pytest.raises(CheckpointError, match=r"expected no control characters, got '\\x01'"):
        open_(spec_note(f"{NAME}\x01\n42\n{ROOT_B64}\n"))


def test_bad_utf8() -> None:
    note = sign_checkpoint(CHECKPOINT, key_name=NAME, private_key=KEY).encode()
    with pytest.raises(CheckpointError, match="expected a note of valid UTF-8"):
        open_(b"\xff" + note)
    with pytest.raises(CheckpointError, match="expected a note of valid UTF-8"):
        open_("\ud800" + note.decode())


def test_note_too_large() -> None:
    note = sign_checkpoint(CHECKPOINT, key_name=NAME, private_key=KEY)
    with pytest.raises(CheckpointError, match=f"at most {MAX_NOTE_SIZE} bytes"):
        open_(" " * MAX_NOTE_SIZE + note)


def test_too_many_signatures() -> None:
    note = sign_checkpoint(CHECKPOINT, key_name=NAME, private_key=KEY)
    line = note.split("\n\n")[1]
    assert open_(note + line * (MAX_SIGNATURES - 1)) == CHECKPOINT
    with pytest.raises(CheckpointError, match=f"expected at most {MAX_SIGNATURES} signature "
                                              f"lines, got {MAX_SIGNATURES + 1}"):
        open_(note + line * MAX_SIGNATURES)


@pytest.mark.parametrize("origin", ["", "a\nb", "tab\there", "\ud800"])
def test_invalid_origin_refused(origin: str) -> None:
    with pytest.raises(CheckpointError, match="expected a non-empty origin"):
        Checkpoint(origin, 1, ROOT)


@pytest.mark.parametrize("size", [-1, 1 << 64])
def test_invalid_size_refused(size: int) -> None:
    with pytest.raises(CheckpointError, match=r"expected a tree size in \[0, 2\*\*64\)"):
        Checkpoint(NAME, size, ROOT)


@pytest.mark.parametrize("name", ["", "a b", "a+b", "a\u00a0b"])
def test_invalid_key_name_refused(name: str) -> None:
    with pytest.raises(CheckpointError, match="expected a non-empty key name"):
        sign_checkpoint(CHECKPOINT, key_name=name, private_key=KEY)
    with pytest.raises(CheckpointError, match="expected a non-empty key name"):
        verifier_key(name, KEY.public_key())


# --- properties --------------------------------------------------------------------------------

origins = st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=40)
sizes = st.integers(min_value=0, max_value=(1 << 64) - 1)
roots = st.binary(min_size=32, max_size=32)


@given(origin=origins, size=sizes, root=roots)
def test_round_trip_property(origin: str, size: int, root: bytes) -> None:
    cp = Checkpoint(origin, size, root)
    assert open_(sign_checkpoint(cp, key_name=NAME, private_key=KEY), origin=origin) == cp


@settings(max_examples=300)
@given(origin=origins, size=sizes, root=roots, data=st.data())
def test_any_flipped_byte_is_rejected(origin: str, size: int, root: bytes,
                                      data: st.DataObject) -> None:
    note = bytearray(sign_checkpoint(Checkpoint(origin, size, root), key_name=NAME,
                                     private_key=KEY).encode())
    i = data.draw(st.integers(min_value=0, max_value=len(note) - 1), label="index")
    note[i] ^= data.draw(st.integers(min_value=1, max_value=255), label="mask")
    with pytest.raises(CheckpointError):
        open_(bytes(note))
