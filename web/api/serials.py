"""Unit codes for a lot (单品赋码): serialising its units, and their printable labels.

Only the lot's maker serialises it and prints its labels: a label's serial and supervision
code are what a genuine package carries, so they are not for anyone else to read.
"""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from ledger.supervision.serials import serialize_lot
from schemas.codes import GTINField, LotField
from schemas.serials import SerializedSchema, SerializeSchema
from web.api.recalls import _path_part as path_part
from web.api.security import BEARER
from web.auth import require_principal
from web.db import get_ledger, get_runtime, get_session, get_vault
from web.idempotency import commit_remembering, replay

blp = Blueprint("serials", __name__, url_prefix="/api/v1",
                description="Unit codes (serials and supervision codes) and their labels")


@blp.post("/lots/<gtin>/<lot>/serials")
@blp.arguments(SerializeSchema)
@blp.response(201, SerializedSchema)
@blp.doc(security=BEARER)
def serialize(body: dict[str, Any], gtin: str, lot: str) -> Any:
    """Serialise ``count`` units of a lot, as its maker: each gets a random serial (GS1 AI 21:
    12 characters, 60 random bits) and a 20-digit supervision code with the product's next
    unit number, recorded in one ``serialization`` entry. ``Idempotency-Key`` makes a retry
    safe (the same units come back, none are added)."""
    session = get_session()
    principal = require_principal(session)
    replayed = replay(session, principal.enterprise)
    if replayed is not None:
        return replayed
    ledger = get_ledger()
    done = serialize_lot(session, ledger, get_vault(), enterprise=principal.enterprise,
                         gtin=path_part(GTINField(), gtin, "gtin"),
                         lot=path_part(LotField(), lot, "lot"), count=body["count"],
                         code_secret=get_runtime().code_secret)
    answer = {"gtin": done.gtin, "lot": done.lot, "seq": done.seq, "count": len(done.serials),
              "units": [{"serial": serial, "supervision_code": code}
                        for serial, code in zip(done.serials, done.codes, strict=True)]}
    return commit_remembering(session, principal.enterprise, 201, answer, ledger.clock)
