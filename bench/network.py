"""Synthetic supply networks: seeded, sized by arguments, written through the submit door.

A :class:`Shape` says how many farms, processors, distributors and retailers trade for how
many days; :func:`plan_network` turns it (and its seed) into the enterprises and every
statement they sign, day by day, without touching a database; :func:`write_network` enrols
the enterprises with client-side keys (derived from the seed, so nothing needs storing) and
appends the plan through :func:`ledger.supervision.submit.submit`, so every rule applies and
every figure measured on a network is measured on real ledger data; :func:`cached_network`
keeps a built network in a SQLite file named after its shape and reuses it.

What a day holds:

- every farm milks a raw lot, inspects it and ships it to one or two processors (a split);
- processors take material lots in from suppliers off the ledger (``material_intake``),
  make lots of their products from several inputs (a merge: raw lots, materials and, for the
  second tier, an intermediate bought from a first-tier processor), inspect and ship them to
  distributors (and first-tier intermediates to second-tier processors); some lots of a gift
  pack are serialised and packed into cases and SSCC pallets;
- distributors pass on most of what they hold to retailers; now and then a shipment is
  corrected before it is received, re-routed to another retailer;
- retailers now and then return part of a delivery to the distributor, which ships it on
  again (a cycle in the graph);
- what was shipped the day before is received, sometimes in two partial receipts, and a few
  shipments of the last day stay in transit.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
from collections.abc import Callable, Container, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.orm import Session

from ledger import log
from ledger.accounts.custodial import KeyVault
from ledger.accounts.enrolment import enrol_enterprise
from ledger.db import create_ledger_engine, migrate
from ledger.log.entry import Statement
from ledger.supervision import names
from ledger.supervision.check_digits import gs1_check_digit, uscc_check_character
from ledger.supervision.quantity import format_quantity
from ledger.supervision.submit import submit

__all__ = ["GENERATOR", "Member", "Planned", "Plan", "Shape", "cached_network",
           "plan_network", "write_network"]

#: bumped whenever the planner changes what it plans, so cached networks are not reused
GENERATOR = 1
ORIGIN = "bench.tracenet.example/network"
START = datetime(2026, 1, 1, tzinfo=UTC)
VAULT = KeyVault("bench-network")  # no custodial keys: every statement is signed client side
BATCH = 1000
CASE, PALLET = 6, 4  # gift packs per case, cases per pallet


class _Everything:
    def __contains__(self, item: object) -> bool:
        return True


_EVERYTHING = _Everything()


@dataclass(frozen=True)
class Shape:
    """How big a network is and how it behaves; with ``seed``, it fixes every statement."""

    farms: int = 4
    processors: int = 3
    distributors: int = 2
    retailers: int = 6
    days: int = 4
    seed: int = 0
    #: of a distributor's deliveries, the share a retailer partly returns
    returns: float = 0.05
    #: of a distributor's shipments, the share corrected (re-routed) before receipt
    corrections: float = 0.02
    #: of processor lots, the share that are serialised gift packs on pallets
    gifts: float = 0.1

    @property
    def slug(self) -> str:
        """A file name for the network, unique to the shape and the generator."""
        digest = hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()
        return (f"network-g{GENERATOR}-f{self.farms}-p{self.processors}-d{self.distributors}"
                f"-r{self.retailers}-t{self.days}-s{self.seed}-{digest[:8]}")


@dataclass(frozen=True)
class Member:
    """An enterprise of the network."""

    uscc: str
    name: str
    kind: str  # farm / processor / distributor / retailer

    def key(self, seed: int) -> Ed25519PrivateKey:
        """Its signing key, derived from the seed: a network needs no key files."""
        digest = hashlib.sha256(f"tracenet-network:{seed}:{self.uscc}".encode()).digest()
        return Ed25519PrivateKey.from_private_bytes(digest)


class Planned(NamedTuple):
    """One statement of the plan, before signing: seq is where it will land in the ledger."""

    seq: int
    type: str
    enterprise: str
    event_time: str
    payload: dict[str, Any]


@dataclass
class Plan:
    """A network: its members and its statements, one list per day."""

    shape: Shape
    members: list[Member]
    days: list[list[Planned]]
    #: the lots each farm milked (the raw materials a trace starts from)
    raw_lots: list[tuple[str, str]] = field(default_factory=list)

    @property
    def entries(self) -> int:
        """Ledger entries once written: genesis, two per enrolment, then the statements."""
        return 1 + 2 * len(self.members) + sum(len(day) for day in self.days)

    def batches(self) -> Iterator[list[Planned]]:
        """The statements in appending order, at most :data:`BATCH` per batch."""
        for day in self.days:
            for start in range(0, len(day), BATCH):
                yield day[start:start + BATCH]


def _uscc(serial: int) -> str:
    first17 = f"91350100MB{serial:07d}"
    return first17 + uscc_check_character(first17)


def _gtin(company: int, item: int) -> str:
    body = f"06{company:06d}{item:05d}"
    return body + gs1_check_digit(body)


def _sscc(company: int, reference: int) -> str:
    digits = f"3{company:07d}{reference:09d}"  # extension digit, company prefix, reference
    return f"(00){digits}{gs1_check_digit(digits)}"


def _time(day: int, minute: int) -> str:
    return log.rfc3339(START + timedelta(days=day, minutes=minute))


class _Planner:
    """Plans day after day, keeping the stock the rules will see so every statement passes."""

    def __init__(self, shape: Shape) -> None:
        self.shape = shape
        self.rng = random.Random(shape.seed)
        serial = iter(range(1, 1 << 30))
        self.farms = [Member(_uscc(next(serial)), f"牧场{i + 1}号", "farm")
                      for i in range(shape.farms)]
        self.processors = [Member(_uscc(next(serial)), f"加工厂{i + 1}号", "processor")
                           for i in range(shape.processors)]
        self.distributors = [Member(_uscc(next(serial)), f"经销商{i + 1}号", "distributor")
                             for i in range(shape.distributors)]
        self.retailers = [Member(_uscc(next(serial)), f"超市{i + 1}号", "retailer")
                          for i in range(shape.retailers)]
        self.members = self.farms + self.processors + self.distributors + self.retailers
        self.suppliers = [_uscc(900_000 + i) for i in range(4)]  # off the ledger
        self.kind = {member.uscc: member.kind for member in self.members}
        self.next_seq = 1 + 2 * len(self.members)
        self.today = 0
        self.day: list[Planned] = []
        self.days: list[list[Planned]] = []
        self.raw_lots: list[tuple[str, str]] = []
        #: holder -> (gtin, lot) -> quantity the rules will find in its stock
        self.stock: dict[str, dict[tuple[str, str], Decimal]] = {m.uscc: {}
                                                                 for m in self.members}
        #: shipments to receive tomorrow: (receiver, shipper, gtin, lot, quantity, unit, doc)
        self.arriving: list[tuple[str, str, str, str, Decimal, str, str]] = []
        self.documents = self.sscc = self.serials = 0
        # each farm registers a raw milk; each processor a product and a gift pack, and the
        # first tier an intermediate (cream) the second tier buys; materials stay unregistered
        self.raw = {farm.uscc: _gtin(100 + i, 1) for i, farm in enumerate(self.farms)}
        first_tier = self.processors[:len(self.processors) // 3]
        self.second_tier = [p for p in self.processors if p not in first_tier]
        self.product = {p.uscc: _gtin(500 + i, 1) for i, p in enumerate(self.processors)}
        self.intermediate = {p.uscc: _gtin(500 + i, 2) for i, p in enumerate(self.processors)
                             if p in first_tier}
        self.gift = {p.uscc: _gtin(500 + i, 3) for i, p in enumerate(self.processors)}
        self.company = {p.uscc: 500 + i for i, p in enumerate(self.processors)}
        self.materials = [_gtin(800, i) for i in range(1, 4)]
        self.raw_gtins = set(self.raw.values())
        self.cream_gtins = set(self.intermediate.values())

    # -- emitting ---------------------------------------------------------------------------

    def emit(self, enterprise: str, type_: str, minute: int, payload: dict[str, Any]) -> int:
        seq = self.next_seq
        self.next_seq += 1
        self.day.append(Planned(seq, type_, enterprise, _time(self.today, minute), payload))
        return seq

    def take(self, holder: str, gtin: str, lot: str, amount: Decimal) -> None:
        held = self.stock[holder]
        held[(gtin, lot)] -= amount
        if held[(gtin, lot)] == 0:
            del held[(gtin, lot)]

    def put(self, holder: str, gtin: str, lot: str, amount: Decimal) -> None:
        held = self.stock[holder]
        held[(gtin, lot)] = held.get((gtin, lot), Decimal(0)) + amount

    def held(self, holder: str, gtins: Container[str]) -> list[tuple[str, str, Decimal]]:
        return sorted((gtin, lot, amount) for (gtin, lot), amount in self.stock[holder].items()
                      if gtin in gtins)

    def ship(self, shipper: str, receiver: str, gtin: str, lot: str, amount: Decimal,
             unit: str, minute: int, *, reroute_to: str | None = None) -> None:
        if amount <= 0:
            return
        self.take(shipper, gtin, lot, amount)
        self.documents += 1
        document = f"DN{self.documents:09d}"
        payload = {"gtin": gtin, "lot": lot, "quantity": format_quantity(amount), "unit": unit,
                   "counterparty": receiver, "document_no": document,
                   "shipped_at": _time(self.today, minute)}
        seq = self.emit(shipper, names.SHIPMENT, minute, payload)
        if reroute_to is not None:  # entered to the wrong customer, corrected at once
            self.emit(shipper, names.CORRECTION, minute + 1, {
                "seq": seq, "reason": "收货单位录入错误",
                "replacement": {**payload, "counterparty": reroute_to}})
            receiver = reroute_to
        self.arriving.append((receiver, shipper, gtin, lot, amount, unit, document))

    def inspect(self, enterprise: str, gtin: str, lot: str, minute: int) -> None:
        self.emit(enterprise, names.INSPECTION, minute, {
            "gtin": gtin, "lot": lot, "kind": "self", "lab": "企业化验室",
            "lab_uscc": enterprise, "verdict": "pass", "report_no": f"QC-{lot}",
            "inspected_at": _time(self.today, minute),
            "items": [{"name": "蛋白质", "value": "3.1", "limit": "≥2.8", "unit": "g/100g",
                       "pass": True}]})

    def produce(self, enterprise: str, gtin: str, lot: str, amount: Decimal, unit: str,
                inputs: Sequence[tuple[str, str, Decimal, str]], minute: int) -> None:
        for in_gtin, in_lot, need, _ in inputs:
            self.take(enterprise, in_gtin, in_lot, need)
        self.emit(enterprise, names.PRODUCTION, minute, {
            "gtin": gtin, "lot": lot, "quantity": format_quantity(amount), "unit": unit,
            "produced_at": _time(self.today, minute),
            "inputs": [{"gtin": g, "lot": lt, "quantity": format_quantity(q), "unit": u}
                       for g, lt, q, u in inputs], "additives_used": []})
        self.put(enterprise, gtin, lot, amount)
        self.inspect(enterprise, gtin, lot, minute + 5)

    # -- the days ---------------------------------------------------------------------------

    def run(self) -> Plan:
        self.register()
        for day in range(self.shape.days):
            self.today = day
            self.receive()
            self.milk()
            self.process()
            self.distribute()
            self.days.append(self.day)
            self.day = []
        return Plan(self.shape, self.members, self.days, self.raw_lots)

    def register(self) -> None:
        for enterprise, gtin, name, standard in (
                *((f, g, "生鲜乳", "GB 19301-2010") for f, g in self.raw.items()),
                *((p, g, "灭菌乳", "GB 25190-2010") for p, g in self.product.items()),
                *((p, g, "稀奶油", "GB 19646-2010") for p, g in self.intermediate.items()),
                *((p, g, "礼盒装纯牛奶", "GB 25190-2010") for p, g in self.gift.items())):
            # Registered under 08 (beverages), not 07 (dairy): dairy's counted lots ship only
            # once serialised (rule.unit.serialization_required), and a million-entry network
            # of unit codes would measure the units table rather than the lot graph.
            self.emit(enterprise, names.PRODUCT_REGISTERED, 0, {
                "gtin": gtin, "name": name, "category": "08", "standard": standard,
                "spec": "synthetic"})
        self.days.append(self.day)
        self.day = []

    def receive(self) -> None:
        """Yesterday's shipments arrive; a retailer now and then sends half of one back."""
        arriving, self.arriving = self.arriving, []
        for receiver, shipper, gtin, lot, amount, unit, document in arriving:
            if self.today == self.shape.days - 1 and self.rng.random() < 0.05:
                continue  # still on the road when the network ends
            parts = [amount]
            if amount >= 4 and self.rng.random() < 0.1:  # two partial receipts
                first = (amount / 2).to_integral_value()
                parts = [first, amount - first]
            for part in parts:
                self.emit(receiver, names.RECEIPT, 30, {
                    "gtin": gtin, "lot": lot, "quantity": format_quantity(part), "unit": unit,
                    "counterparty": shipper, "document_no": document,
                    "received_at": _time(self.today, 30)})
                self.put(receiver, gtin, lot, part)
            if (self.kind[receiver] == "retailer" and amount >= 2
                    and self.rng.random() < self.shape.returns):
                self.ship(receiver, shipper, gtin, lot, (amount / 2).to_integral_value(),
                          unit, 45)

    def milk(self) -> None:
        for farm in self.farms:
            gtin, lot = self.raw[farm.uscc], f"R{self.today:05d}"
            amount = Decimal(self.rng.randint(800, 1200))
            self.produce(farm.uscc, gtin, lot, amount, "kg", [], 60)
            self.raw_lots.append((gtin, lot))
            buyers = self.rng.sample(self.processors,
                                     min(len(self.processors), self.rng.choice((1, 2))))
            share = (amount / len(buyers)).to_integral_value()
            for index, buyer in enumerate(buyers):
                part = share if index < len(buyers) - 1 else amount - share * index
                self.ship(farm.uscc, buyer.uscc, gtin, lot, part, "kg", 120)

    def process(self) -> None:
        for processor in self.processors:
            who = processor.uscc
            if self.today % 3 == 0:  # material deliveries from suppliers off the ledger
                for gtin in self.materials:
                    amount = Decimal(self.rng.randint(2000, 4000))
                    self.emit(who, names.MATERIAL_INTAKE, 200, {
                        "gtin": gtin, "lot": f"M{self.today:05d}", "material": "白砂糖",
                        "supplier": self.rng.choice(self.suppliers),
                        "quantity": format_quantity(amount), "unit": "kg",
                        "received_at": _time(self.today, 200), "accepted": True})
                    self.put(who, gtin, f"M{self.today:05d}", amount)
            raw = self.held(who, self.raw_gtins)[:8]
            if not raw:
                continue
            inputs = [(gtin, lot, amount, "kg") for gtin, lot, amount in raw]
            milk = sum((amount for _, _, amount in raw), Decimal(0))
            material = self.held(who, self.materials)
            if material:
                gtin, lot, amount = self.rng.choice(material)
                inputs.append((gtin, lot, min(amount, Decimal(self.rng.randint(20, 60))), "kg"))
            inputs += [(gtin, lot, amount, "case")
                       for gtin, lot, amount in self.held(who, self.cream_gtins)]
            if who in self.intermediate:  # first tier: half the inputs become cream
                half = len(inputs) // 2 or 1
                lot = f"C{self.today:05d}"
                cream = (milk / 80).to_integral_value() or Decimal(1)
                self.produce(who, self.intermediate[who], lot, cream, "case", inputs[:half],
                             300)
                buyer = self.rng.choice(self.second_tier or self.processors)
                self.ship(who, buyer.uscc, self.intermediate[who], lot, cream, "case", 330)
                inputs = inputs[half:]
                if not inputs:
                    continue
            if self.rng.random() < self.shape.gifts:
                self.gift_pack(who, inputs)
            else:
                lot, amount = f"P{self.today:05d}", Decimal(max(10, int(milk // 4)))
                self.produce(who, self.product[who], lot, amount, "pcs", inputs, 360)
                self.ship_to_distributors(who, self.product[who], lot, amount)

    def gift_pack(self, who: str, inputs: list[tuple[str, str, Decimal, str]]) -> None:
        """A small lot serialised unit by unit, packed into cases and the cases onto pallets."""
        gtin, lot = self.gift[who], f"G{self.today:05d}"
        packs = CASE * PALLET * self.rng.randint(1, 2)
        self.produce(who, gtin, lot, Decimal(packs), "pcs", inputs, 360)
        serials = [f"{self.serials + n:010d}" for n in range(1, packs + 1)]
        self.serials += packs
        self.emit(who, names.SERIALIZATION, 370, {"gtin": gtin, "lot": lot,
                                                  "serials": serials})
        codes = [f"(01){gtin}(21){serial}" for serial in serials]
        cases = []
        for start in range(0, len(codes), CASE):
            self.sscc += 1
            cases.append(_sscc(self.company[who], self.sscc))
            self.emit(who, names.AGGREGATION, 375, {"parent": cases[-1],
                                                    "children": codes[start:start + CASE]})
        for start in range(0, len(cases), PALLET):
            self.sscc += 1
            self.emit(who, names.AGGREGATION, 380, {
                "parent": _sscc(self.company[who], self.sscc),
                "children": cases[start:start + PALLET]})
        self.ship_to_distributors(who, gtin, lot, Decimal(packs))

    def ship_to_distributors(self, who: str, gtin: str, lot: str, amount: Decimal) -> None:
        buyers = self.rng.sample(self.distributors,
                                 min(len(self.distributors), self.rng.randint(1, 3)))
        share = (amount * Decimal("0.9") / len(buyers)).to_integral_value()
        for index, buyer in enumerate(buyers):
            self.ship(who, buyer.uscc, gtin, lot, share, "pcs", 420 + index)

    def distribute(self) -> None:
        """Distributors pass most of what they hold to retailers (returns included)."""
        for distributor in self.distributors:
            for gtin, lot, amount in self.held(distributor.uscc, _EVERYTHING):
                if amount < 20:
                    stores, share = [self.rng.choice(self.retailers)], amount
                else:
                    stores = self.rng.sample(self.retailers,
                                             min(len(self.retailers), self.rng.randint(1, 4)))
                    share = (amount * Decimal("0.8") / len(stores)).to_integral_value()
                for index, store in enumerate(stores):
                    others = [r for r in self.retailers if r != store]
                    reroute = (self.rng.choice(others).uscc if others and self.rng.random()
                               < self.shape.corrections else None)
                    self.ship(distributor.uscc, store.uscc, gtin, lot, share, "pcs",
                              600 + index, reroute_to=reroute)


def plan_network(shape: Shape) -> Plan:
    """Every member and statement of the network ``shape`` describes (no database)."""
    return _Planner(shape).run()



def network_ledger(shape: Shape) -> log.Ledger:
    """The ledger identity a network is written with (its key derived from the seed)."""
    digest = hashlib.sha256(f"tracenet-network-ledger:{shape.seed}".encode()).digest()
    return log.Ledger(ORIGIN, Ed25519PrivateKey.from_private_bytes(digest))


def write_network(session: Session, ledger: log.Ledger, plan: Plan,
                  progress: Callable[[int], None] | None = None) -> None:
    """Enrol the plan's members with their keys and append its statements, signed client side,
    through ``submit``, committing each batch. The ledger must hold only its genesis entry.

    ``progress`` is called with the number of statements appended so far.
    """
    if log.ledger_size(session) != 1:
        raise ValueError("a network is written into a fresh ledger (its genesis entry only)")
    keys = {member.uscc: member.key(plan.shape.seed) for member in plan.members}
    key_ids = {}
    for member in plan.members:
        key_ids[member.uscc] = enrol_enterprise(session, ledger, VAULT, {
            "uscc": member.uscc, "name": member.name, "roles": ["producer"],
            "district": "福建省"}, keys[member.uscc].public_key())
        session.commit()
    done = 0
    for batch in plan.batches():
        signed = [Statement(p.type, p.enterprise, key_ids[p.enterprise], p.event_time,
                            p.payload).sign(keys[p.enterprise]) for p in batch]
        appended = submit(session, ledger, VAULT, signed)
        if appended[0].entry.seq != batch[0].seq:  # corrections name seqs the plan predicted
            raise RuntimeError(f"planned seq {batch[0].seq}, appended at "
                               f"{appended[0].entry.seq}")
        session.commit()
        done += len(batch)
        if progress is not None:
            progress(done)


#: where built networks are kept (bench/results/ is git-ignored)
CACHE = Path(__file__).resolve().parent / "results" / "networks"


def cached_network(shape: Shape, directory: Path | None = None,
                   progress: Callable[[int], None] | None = None) -> Path:
    """A migrated SQLite file holding the network ``shape``, built once and then reused.

    The file is named after the shape (:attr:`Shape.slug`) beside a JSON note of what it
    holds; a build that did not finish leaves neither, so it is never taken for a network.
    """
    directory = directory or CACHE
    directory.mkdir(parents=True, exist_ok=True)
    path, note = directory / f"{shape.slug}.db", directory / f"{shape.slug}.json"
    if path.exists() and note.exists():
        return path
    building = directory / f"{shape.slug}.building.db"
    for stale in directory.glob(f"{shape.slug}.building.db*"):
        stale.unlink()
    plan = plan_network(shape)
    engine = create_ledger_engine(f"sqlite:///{building}")
    started = datetime.now(UTC)
    try:
        migrate(engine)
        ledger = network_ledger(shape)
        with Session(engine) as session:
            log.initialise(session, ledger)
            session.commit()
            write_network(session, ledger, plan, progress)
            size = log.ledger_size(session)
    finally:
        engine.dispose()
    os.replace(building, path)
    for left in directory.glob(f"{shape.slug}.building.db*"):  # the writer's lock file
        left.unlink()
    seconds = (datetime.now(UTC) - started).total_seconds()
    note.write_text(json.dumps({"shape": asdict(shape), "entries": size,
                                "raw_lots": len(plan.raw_lots), "seconds": round(seconds, 1),
                                "built": log.rfc3339(started)}, indent=2) + "\n")
    return path
