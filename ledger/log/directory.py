"""The identity projection: the enterprises and keys the identity entries registered.

The :class:`~ledger.log.identity.KeyRing` decides whether an entry may be admitted; this
directory is what it remembers between batches, kept in the ``enterprises`` and ``keys``
tables and updated by the very entries it admits (and by ``replay``).
"""

from __future__ import annotations

import base64

from sqlalchemy import delete
from sqlalchemy.orm import Session

from ledger.log.entry import Entry
from ledger.log.identity import ENTERPRISE_REGISTERED, KEY_REGISTERED, KEY_REVOKED, KeyRecord
from ledger.log.keys import load_public_key
from ledger.log.storage import IDENTITY_TABLES, EnterpriseRow, KeyRow

__all__ = ["ProjectedDirectory"]


class ProjectedDirectory:
    """Keys and enterprises as the projection holds them, plus what this batch added."""

    def __init__(self, session: Session) -> None:
        self._session = session
        # Rows added in this batch: the session finds them only after a flush.
        self._keys: dict[str, KeyRow] = {}
        self._enterprises: set[str] = set()

    def find_key(self, key_id: str) -> KeyRecord | None:
        """The registered key ``key_id``, or None."""
        row = self._key_row(key_id)
        if row is None:
            return None
        return KeyRecord(row.key_id, row.enterprise, load_public_key(row.public_key),
                         row.registered_seq, row.revoked_seq)

    def enterprise_known(self, enterprise: str) -> bool:
        """Whether ``enterprise`` is registered."""
        return (enterprise in self._enterprises
                or self._session.get(EnterpriseRow, enterprise) is not None)

    def apply(self, entry: Entry) -> None:
        """Record what an identity entry (already admitted by the key ring) registered."""
        statement = entry.statement
        payload = statement.payload
        if statement.type == ENTERPRISE_REGISTERED:
            self._session.add(EnterpriseRow(
                uscc=payload["uscc"], name=str(payload.get("name", "")),
                roles=",".join(payload.get("roles", [])),
                district=str(payload.get("district", "")), registered_seq=entry.seq))
            self._enterprises.add(payload["uscc"])
        elif statement.type == KEY_REGISTERED:
            row = KeyRow(key_id=payload["key_id"], enterprise=payload["enterprise"],
                         public_key=base64.b64decode(payload["public_key"]),
                         registered_seq=entry.seq, revoked_seq=None)
            self._session.add(row)
            self._keys[row.key_id] = row
        elif statement.type == KEY_REVOKED:
            revoked = self._key_row(payload["key_id"])
            if revoked is not None:
                revoked.revoked_seq = entry.seq

    def clear(self) -> None:
        """Empty the projection, before a replay refills it."""
        for table in reversed(IDENTITY_TABLES):
            self._session.execute(delete(table))
        self._keys.clear()
        self._enterprises.clear()

    def _key_row(self, key_id: str) -> KeyRow | None:
        if key_id not in self._keys:
            row = self._session.get(KeyRow, key_id)
            if row is None:
                return None
            self._keys[key_id] = row
        return self._keys[key_id]
