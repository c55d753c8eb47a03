import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.accounts.custodial import KeyVault
from ledger.errors import LedgerError
from ledger.log.keys import generate_private_key, key_id_for, load_private_key

# A fixed seed, so the raw-seed form of the same key can be loaded back.
KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))


def test_load_private_key_pem_and_raw() -> None:
    pem = KEY.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    for data in (pem, bytes(range(32))):
        loaded = load_private_key(data)
        assert loaded.public_key().public_bytes_raw() == KEY.public_key().public_bytes_raw()


def test_load_private_key_refuses_other_types() -> None:
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption())
    with pytest.raises(LedgerError, match="expected an Ed25519 private key, got EC"):
        load_private_key(pem)
    with pytest.raises(LedgerError, match="expected an unencrypted PKCS#8 PEM key"):
        load_private_key(b"not a key")
    encrypted = KEY.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.BestAvailableEncryption(b"pw"))
    with pytest.raises(LedgerError, match="expected an unencrypted PKCS#8 PEM key"):
        load_private_key(encrypted)




def test_key_id_is_derived_from_the_public_key() -> None:
    other = generate_private_key()
    assert key_id_for(KEY) == key_id_for(KEY.public_key())
    assert len(key_id_for(KEY)) == 16
    assert key_id_for(KEY) != key_id_for(other)


def test_vault_round_trip_and_wrong_secret() -> None:
    sealed = KeyVault("s3cret").seal(KEY)
    assert key_id_for(KeyVault("s3cret").open(sealed)) == key_id_for(KEY)
    assert b"PRIVATE" not in sealed
    with pytest.raises(LedgerError, match="cannot be opened with this secret"):
        KeyVault("other").open(sealed)
    with pytest.raises(LedgerError, match="non-empty secret"):
        KeyVault("")
