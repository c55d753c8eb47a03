"""Rules for spot-check draws (双随机抽查): a plan that publishes the frame and a commitment to
the seed, then the draw that reveals the seed and names what was chosen.

Who is in the frame and with what weight is decided in :mod:`ledger.risk` (credit grade,
category risk class, recent failures, exemptions); here the two entries are checked:

- ``spot_check_plan`` comes from an enterprise registered as a regulator, with a well-formed
  frame (each enterprise once, positive integer weights) and a ``sha256:`` commitment;
- ``spot_check_draw`` comes from the same regulator, in a later batch than its plan (so the
  commitment was on the ledger before the seed was shown), once per plan, with a seed whose
  SHA-256 is the commitment, and a selection equal to what :func:`sampling.draw` gives for
  that seed, salted with the plan entry's leaf hash. A draw that was not the seed's is
  refused, so every admitted draw is reproducible by anyone from the two entries.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ledger.accounts.roles import REGULATOR
from ledger.errors import EntryError, FieldPath, render_field
from ledger.log.entry import Entry
from ledger.log.storage import EnterpriseRow, EntryRow
from ledger.supervision.context import RecordContext
from ledger.supervision.models import SpotCheckPickRow, SpotCheckPlanRow
from ledger.supervision.rules import RuleViolation
from ledger.supervision.sampling import FrameEnterprise, commitment, draw

__all__ = ["MAX_LOTS_PER_ENTERPRISE", "read_frame", "spot_check_draw", "spot_check_plan"]

#: how many lots one enterprise may have drawn in a plan
MAX_LOTS_PER_ENTERPRISE = 20
_COMMITMENT = re.compile(r"sha256:[0-9a-f]{64}")
_SEED = re.compile(r"[0-9a-f]{64}")


def _count(a: RecordContext, name: str, low: int, high: int) -> int:
    value = a.payload.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise EntryError(f"payload.{name} must be an integer from {low} to {high}, got "
                         f"{value!r}", field=a.field(name))
    return value


def _weight(value: object, path: FieldPath) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise EntryError(f"{render_field(path)} must be a positive integer, got {value!r}",
                         field=path)
    return value


def read_frame(payload: Mapping[str, Any], at: FieldPath = ("payload",)
               ) -> list[FrameEnterprise]:
    """The frame of a ``spot_check_plan`` payload; EntryError naming the field when malformed."""
    frame = payload.get("frame")
    if not isinstance(frame, Mapping) or not isinstance(frame.get("enterprises"), list):
        raise EntryError("payload.frame.enterprises must be a list",
                         field=(*at, "frame", "enterprises"))
    units: list[FrameEnterprise] = []
    seen: set[str] = set()
    for index, unit in enumerate(frame["enterprises"]):
        where: FieldPath = (*at, "frame", "enterprises", index)
        if not isinstance(unit, Mapping) or not isinstance(unit.get("uscc"), str):
            raise EntryError(f"{render_field(where)} must be an object with a uscc",
                             field=where)
        uscc = unit["uscc"]
        if uscc in seen:
            raise RuleViolation("spot_check.frame_duplicate", (*where, "uscc"), uscc=uscc)
        seen.add(uscc)
        lots: list[tuple[tuple[str, str], int]] = []
        raw_lots = unit.get("lots", [])
        if not isinstance(raw_lots, list):
            raise EntryError(f"{render_field((*where, 'lots'))} must be a list",
                             field=(*where, "lots"))
        lot_keys: set[tuple[str, str]] = set()
        for position, lot in enumerate(raw_lots):
            lot_at: FieldPath = (*where, "lots", position)
            if not (isinstance(lot, Mapping) and isinstance(lot.get("gtin"), str)
                    and isinstance(lot.get("lot"), str)):
                raise EntryError(f"{render_field(lot_at)} must be an object with gtin and lot",
                                 field=lot_at)
            key = (lot["gtin"], lot["lot"])
            if key in lot_keys:
                raise RuleViolation("spot_check.frame_duplicate", lot_at,
                                    uscc=f"{key[0]}/{key[1]}")
            lot_keys.add(key)
            lots.append((key, _weight(lot.get("weight"), (*lot_at, "weight"))))
        units.append(FrameEnterprise(uscc, _weight(unit.get("weight"), (*where, "weight")),
                                     tuple(lots)))
    return units


def _is_regulator(a: RecordContext) -> bool:
    # A replay applies identity entries to the session without flushing; get() finds only
    # what was written, so write first (nothing of this entry's own is pending yet).
    a.rows.flush()
    registered = a.session.get(EnterpriseRow, a.enterprise)
    return registered is not None and REGULATOR in registered.roles.split(",")


def spot_check_plan(a: RecordContext) -> None:
    """Publish a plan: its frame and the commitment to the seed it will be drawn with."""
    if not _is_regulator(a):
        raise RuleViolation("spot_check.not_regulator", None, enterprise=a.enterprise)
    title = a.text("title")
    committed = a.text("commitment")
    if not _COMMITMENT.fullmatch(committed):
        raise EntryError("payload.commitment must be 'sha256:' and 64 lower-case hex digits",
                         field=a.field("commitment"))
    enterprises = _count(a, "enterprises", 1, 10_000)
    lots = _count(a, "lots_per_enterprise", 0, MAX_LOTS_PER_ENTERPRISE)
    frame = read_frame(a.payload)
    if not frame:
        raise RuleViolation("spot_check.empty_frame", a.field("frame", "enterprises"))
    exempt = a.payload.get("exempt", [])
    district = a.payload.get("district")
    a.rows.add(SpotCheckPlanRow(
        seq=a.entry.seq, enterprise=a.enterprise, title=title,
        district=district if isinstance(district, str) and district else None,
        commitment=committed, planned_at=a.entry.statement.event_time,
        enterprises=enterprises, lots_per_enterprise=lots, frame_size=len(frame),
        exempt=len(exempt) if isinstance(exempt, list) else 0,
        draw_seq=None, drawn_at=None, seed=None))


def spot_check_draw(a: RecordContext) -> None:
    """Reveal the seed of a plan and record what it draws; refused unless it is exactly that."""
    plan_seq = a.payload.get("plan")
    if not isinstance(plan_seq, int) or isinstance(plan_seq, bool):
        raise EntryError("payload.plan must be the seq of a spot_check_plan entry",
                         field=a.field("plan"))
    plan = a.rows.get(SpotCheckPlanRow, plan_seq)
    stored = a.session.get(EntryRow, plan_seq) if plan is not None else None
    if plan is None or stored is None:
        # The plan must already be on the ledger, in an earlier batch: a commitment shown in
        # the same breath as its seed commits to nothing.
        raise RuleViolation("spot_check.unknown_plan", a.field("plan"), plan=plan_seq)
    if plan.enterprise != a.enterprise:
        raise RuleViolation("spot_check.not_planner", a.field("plan"), plan=plan_seq,
                            planner=plan.enterprise)
    if plan.draw_seq is not None:
        raise RuleViolation("spot_check.already_drawn", a.field("plan"), plan=plan_seq,
                            draw=plan.draw_seq)
    seed_hex = a.text("seed")
    if not _SEED.fullmatch(seed_hex):
        raise EntryError("payload.seed must be 64 lower-case hex digits",
                         field=a.field("seed"))
    seed = bytes.fromhex(seed_hex)
    if commitment(seed) != plan.commitment:
        raise RuleViolation("spot_check.seed_mismatch", a.field("seed"), plan=plan_seq)
    planned = Entry.from_canonical(stored.body)
    expected = draw(seed, stored.leaf_hash, read_frame(planned.statement.payload),
                    plan.enterprises, plan.lots_per_enterprise)
    claimed = _selection(a)
    if claimed != expected:
        raise RuleViolation("spot_check.draw_mismatch", a.field("selected"), plan=plan_seq)
    plan.draw_seq, plan.drawn_at, plan.seed = a.entry.seq, a.entry.statement.event_time, seed_hex
    for uscc, lots in expected:
        if not lots:
            a.rows.add(SpotCheckPickRow(plan=plan_seq, enterprise=uscc, position=0,
                                        gtin=None, lot=None))
        for position, (gtin, lot) in enumerate(lots):
            a.rows.add(SpotCheckPickRow(plan=plan_seq, enterprise=uscc, position=position,
                                        gtin=gtin, lot=lot))


def _selection(a: RecordContext) -> list[tuple[str, list[tuple[str, str]]]]:
    selected = a.payload.get("selected")
    if not isinstance(selected, list):
        raise EntryError("payload.selected must be a list", field=a.field("selected"))
    found: list[tuple[str, list[tuple[str, str]]]] = []
    for index, item in enumerate(selected):
        where = a.field("selected", index)
        if not isinstance(item, Mapping) or not isinstance(item.get("uscc"), str) \
                or not isinstance(item.get("lots", []), list):
            raise EntryError(f"{render_field(where)} must be an object with a uscc and lots",
                             field=where)
        lots = []
        for lot in item.get("lots", []):
            if not (isinstance(lot, Mapping) and isinstance(lot.get("gtin"), str)
                    and isinstance(lot.get("lot"), str)):
                raise EntryError(f"{render_field(where)}.lots must hold gtin and lot",
                                 field=(*where, "lots"))
            lots.append((lot["gtin"], lot["lot"]))
        found.append((item["uscc"], lots))
    return found
