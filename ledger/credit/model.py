"""The grading model, pure: what each ledger fact counts for, the score, the grade with
hysteresis, and the explanation of a change. No database; :mod:`.engine` feeds it.

In the spirit of the national 企业质量信用评价规范, an enterprise's score starts at 80 points
(grade B) and each fact of the last 365 days (by the time the ledger recorded it) moves it:

============================  ===============================================================
factor                        points (a factor's total is bounded as said)
============================  ===============================================================
``inspection``                a passing inspection of a lot it made: spot check +3, third
                              party +1.5, self or incoming +0.5 (the factor's total at most
                              +15); a failing one: spot check -6, third party -5, incoming
                              -4, self -3 — spot checks count most
``spot_check_failed``         each failed supervisory spot check a further -20
``recall``                    a recall of its products: 一级 -30, 二级 -15, 三级 -8; halved
                              when the enterprise recalled voluntarily (主动召回)
``violation``                 a violation a regulator recorded (``enforcement``: shipping
                              without inspection, rejected material, over-limit additives …)
                              -10 each
``late_filing``               a record entered more than 72 h after the event it records
                              -1 each (at most -10)
``missing_filing``            a lot it produced with no inspection on the ledger 30 days on
                              -2 each (at most -20)
``unreceived_shipment``       a shipment to it not received on the ledger 30 days on: it
                              never filed its 流向登记 -2 each (at most -20)
``licence``                   it made a food product with no SC licence on record (any other
                              product with no licence at all): -15, while it stands (the
                              ledger's enterprise entries carry licence numbers, not terms)
============================  ===============================================================

The score is bounded to 0..100. Grades move with hysteresis, so results hovering around a
threshold do not make a grade flap: an enterprise *enters* B at 70 and C at 50, but *leaves*
B only below 65 and C only below 45. A (信用免检) is not reached by the score alone: the city
panel grants it on application (the score must be at least 90 to apply) for three years, and
the grading takes it back when the score falls below 85 or the term ends. Refused appends
leave no trace on the ledger (a rejected request changes nothing), so a violation counts once
a regulator records it as an ``enforcement`` entry.

Points are kept in tenths so sums are exact.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = [
    "A_ELIGIBLE",
    "A_HOLD",
    "A_TERM",
    "BASE",
    "DEADLINE",
    "ENTER",
    "FACTORS",
    "FILING_GRACE",
    "LEAVE",
    "WINDOW",
    "Decision",
    "Fact",
    "Factor",
    "explain",
    "factor_totals",
    "format_points",
    "inspection_facts",
    "late_filing_fact",
    "licence_fact",
    "missed_deadline_fact",
    "next_grade",
    "recall_fact",
    "score",
    "score_totals",
    "violation_fact",
]

#: how long a fact counts
WINDOW = timedelta(days=365)
#: 信用免检: how long an A grade the panel grants lasts
A_TERM = timedelta(days=3 * 365)
#: a record entered later than this after its event is a late filing
FILING_GRACE = timedelta(hours=72)
#: a produced lot's inspection, a shipment's receipt: due this long after the record
DEADLINE = timedelta(days=30)

#: in tenths of a point
BASE = 800
A_ELIGIBLE = 900
A_HOLD = 850
#: the score at which an enterprise enters a grade from below, and below which it leaves it
ENTER = {"B": 700, "C": 500}
LEAVE = {"B": 650, "C": 450}
_RANK = {"A": 0, "B": 1, "C": 2, "D": 3}


@dataclass(frozen=True)
class Factor:
    """One kind of fact, named in both languages, with the bounds of its total (tenths)."""

    name: str
    zh: str
    en: str
    floor: int | None = None
    ceiling: int | None = None


FACTORS: dict[str, Factor] = {f.name: f for f in (
    Factor("inspection", "检验结果", "inspection result", ceiling=150),
    Factor("spot_check_failed", "监督抽检不合格", "failed spot check"),
    Factor("recall", "产品召回", "recall"),
    Factor("violation", "违法违规", "violation"),
    Factor("late_filing", "迟报", "late filing", floor=-100),
    Factor("missing_filing", "漏报检验记录", "missing inspection record", floor=-200),
    Factor("unreceived_shipment", "未登记收货", "shipment never received", floor=-200),
    Factor("licence", "许可证缺失", "no licence on record"),
)}

_INSPECTION_POINTS = {  # kind -> (pass, fail), tenths
    "spot_check": (30, -60), "third_party": (15, -50), "self": (5, -30), "incoming": (5, -40)}
_INSPECTION_NAMES = {"spot_check": ("监督抽检", "spot check"),
                     "third_party": ("第三方检验", "third-party inspection"),
                     "self": ("自检", "self-inspection"),
                     "incoming": ("进货检验", "incoming inspection")}
_RECALL_POINTS = {1: -300, 2: -150, 3: -80}
_RECALL_NAMES = {1: ("一级召回", "level 1 recall"), 2: ("二级召回", "level 2 recall"),
                 3: ("三级召回", "level 3 recall")}


@dataclass(frozen=True)
class Fact:
    """What one entry (or one missed deadline) counts for an enterprise, until it expires."""

    seq: int
    enterprise: str
    factor: str
    points: int
    at: datetime
    expires_at: datetime | None
    zh: str
    en: str

    def counts_at(self, moment: datetime) -> bool:
        """Whether the fact still counts at ``moment``."""
        return self.at <= moment and (self.expires_at is None or moment < self.expires_at)


def _fact(seq: int, enterprise: str, factor: str, points: int, at: datetime, zh: str,
          en: str, *, lasting: bool = False) -> Fact:
    return Fact(seq, enterprise, factor, points, at, None if lasting else at + WINDOW, zh, en)


def inspection_facts(seq: int, at: datetime, maker: str, kind: str, verdict: str) -> list[Fact]:
    """An inspection of a lot ``maker`` made: its outcome weighted by kind, and a failed spot
    check's further penalty."""
    if kind not in _INSPECTION_POINTS or verdict not in ("pass", "fail"):
        return []
    passed = verdict == "pass"
    points = _INSPECTION_POINTS[kind][0 if passed else 1]
    zh, en = _INSPECTION_NAMES[kind]
    facts = [_fact(seq, maker, "inspection", points, at, f"{zh}{'合格' if passed else '不合格'}",
                   f"{en} {'passed' if passed else 'failed'}")]
    if kind == "spot_check" and not passed:
        facts.append(_fact(seq, maker, "spot_check_failed", -200, at, "监督抽检不合格（加扣）",
                           "failed spot check (further penalty)"))
    return facts


def recall_fact(seq: int, at: datetime, producer: str, level: int, voluntary: bool
                ) -> Fact | None:
    """A recall of ``producer``'s products, by level; a voluntary one counts half."""
    if level not in _RECALL_POINTS:
        return None
    points = _RECALL_POINTS[level] // (2 if voluntary else 1)
    zh, en = _RECALL_NAMES[level]
    return _fact(seq, producer, "recall", points, at,
                 f"{zh}（{'主动' if voluntary else '责令'}）",
                 f"{en} ({'voluntary' if voluntary else 'ordered'})")


def violation_fact(seq: int, at: datetime, enterprise: str, zh: str, en: str) -> Fact:
    """A violation a regulator recorded against ``enterprise``."""
    return _fact(seq, enterprise, "violation", -100, at, f"违法违规：{zh}", f"violation: {en}")


def late_filing_fact(seq: int, recorded_at: datetime, enterprise: str,
                     event_time: datetime) -> Fact | None:
    """A record entered more than :data:`FILING_GRACE` after its event, else None."""
    late = recorded_at - event_time
    if late <= FILING_GRACE:
        return None
    return _fact(seq, enterprise, "late_filing", -10, recorded_at,
                 f"迟报 {late.days} 天", f"filed {late.days} days late")


def missed_deadline_fact(seq: int, due_at: datetime, enterprise: str, kind: str, gtin: str,
                         lot: str) -> Fact:
    """A filing still missing at its deadline: a lot's inspection, a shipment's receipt."""
    if kind == "missing_filing":
        return _fact(seq, enterprise, kind, -20, due_at, f"批次 {gtin}/{lot} 30 天内无检验记录",
                     f"lot {gtin}/{lot} has no inspection 30 days on")
    return _fact(seq, enterprise, "unreceived_shipment", -20, due_at,
                 f"批次 {gtin}/{lot} 发货 30 天未登记收货",
                 f"shipment of lot {gtin}/{lot} not received 30 days on")


def licence_fact(seq: int, at: datetime, enterprise: str, food: bool,
                 licences: Iterable[str]) -> Fact | None:
    """Making a product without the licence it needs on record (SC for food), else None."""
    kinds = set(licences)
    if (food and "SC" in kinds) or (not food and kinds):
        return None
    zh, en = (("生产食品无 SC 食品生产许可证", "made food with no SC food production licence")
              if food else ("生产产品无任何许可证", "made products with no licence on record"))
    return _fact(seq, enterprise, "licence", -150, at, zh, en, lasting=True)


def score(facts: Iterable[Fact], moment: datetime) -> int:
    """The score at ``moment`` in tenths (0..1000): the base plus each factor's bounded total
    of the facts that count then."""
    totals: dict[str, int] = {}
    for fact in facts:
        if fact.counts_at(moment):
            totals[fact.factor] = totals.get(fact.factor, 0) + fact.points
    return score_totals(totals)


def score_totals(totals: Mapping[str, int]) -> int:
    """The score in tenths (0..1000) from each factor's raw total of the facts counting."""
    total = BASE
    for name, value in totals.items():
        factor = FACTORS[name]
        if factor.floor is not None:
            value = max(value, factor.floor)
        if factor.ceiling is not None:
            value = min(value, factor.ceiling)
        total += value
    return max(0, min(1000, total))


def format_points(tenths: int) -> str:
    """Tenths of a point as text: ``-26.0``, ``+3.0``, ``55.0``."""
    sign = "-" if tenths < 0 else ""
    return f"{sign}{abs(tenths) // 10}.{abs(tenths) % 10}"


def _signed(tenths: int) -> str:
    return format_points(tenths) if tenths < 0 else f"+{format_points(tenths)}"


def _band(points: int, bounds: dict[str, int]) -> str:
    if points >= bounds["B"]:
        return "B"
    return "C" if points >= bounds["C"] else "D"


@dataclass(frozen=True)
class Decision:
    """The grade the model gives, and why, in both languages."""

    grade: str
    zh: str
    en: str


def next_grade(current: str, points: int, exempt_until: datetime | None,
               moment: datetime) -> Decision:
    """The grade at ``moment`` of an enterprise graded ``current`` with score ``points``.

    Hysteresis: up to B at 70, to C at 50; down from B below 65, from C below 45. An A grade
    (granted by the panel, never reached by the score) holds while the score is at least 85
    and its term runs; then the enterprise is graded as from B.
    """
    zh, en = "", ""
    if current == "A":
        if exempt_until is not None and moment >= exempt_until:
            zh, en = "信用免检期满；", "the credit exemption term ended; "
        elif points < A_HOLD:
            zh, en = (f"评分低于 A 级保持线 {format_points(A_HOLD)}；",
                      f"the score fell below A's hold line {format_points(A_HOLD)}; ")
        else:
            return Decision("A", "保持 A 级", "stays A")
    held = "B" if current == "A" else current
    up, down = _band(points, ENTER), _band(points, LEAVE)
    if _RANK[up] < _RANK[held]:
        line = ENTER[up]
        return Decision(up, f"{zh}评分达到 {up} 级线 {format_points(line)}，升为 {up} 级",
                        f"{en}the score reached {up}'s line {format_points(line)}: up to {up}")
    if _RANK[down] > _RANK[held]:
        line = LEAVE[held] if held in LEAVE else 0
        return Decision(down, f"{zh}评分低于 {held} 级保持线 {format_points(line)}，降为 {down} 级",
                        f"{en}the score fell below {held}'s hold line {format_points(line)}: "
                        f"down to {down}")
    if held != current:
        return Decision(held, f"{zh}改为 {held} 级", f"{en}now {held}")
    return Decision(held, "等级不变", "unchanged")


def factor_totals(facts: Iterable[Fact]) -> dict[str, tuple[int, int]]:
    """Each factor's (number of facts, bounded total in tenths), in :data:`FACTORS` order."""
    found: dict[str, list[int]] = {}
    for fact in facts:
        found.setdefault(fact.factor, []).append(fact.points)
    totals: dict[str, tuple[int, int]] = {}
    for name, factor in FACTORS.items():
        if name in found:
            value = sum(found[name])
            if factor.floor is not None:
                value = max(value, factor.floor)
            if factor.ceiling is not None:
                value = min(value, factor.ceiling)
            totals[name] = (len(found[name]), value)
    return totals


def explain(previous: str, decision: Decision, points: int, counted: Sequence[Fact],
            triggers: Sequence[Fact], expired: Sequence[Fact], *, limit: int = 10,
            per_factor: int = 3) -> tuple[list[int], str, str]:
    """The evidence seqs of a change and its explanation in zh-CN and English, which name
    every one of them: the facts that moved the grade now (``triggers``), the facts that
    stopped counting (``expired``) and the heaviest of those still counting (at most
    ``per_factor`` of a factor, ``limit`` in all), then each factor's count and total."""
    heaviest: list[Fact] = []
    taken: dict[str, int] = {}
    for fact in sorted(counted, key=lambda f: (-abs(f.points), f.seq)):
        if len(heaviest) < limit and taken.get(fact.factor, 0) < per_factor:
            heaviest.append(fact)
            taken[fact.factor] = taken.get(fact.factor, 0) + 1
    zh = [f"{previous} → {decision.grade}：{decision.zh}。评分 {format_points(points)}"
          f"（基准 {format_points(BASE)}）。"]
    en = [f"{previous} → {decision.grade}: {decision.en}. Score {format_points(points)} "
          f"(base {format_points(BASE)})."]
    evidence: list[int] = []

    def name(facts: Sequence[Fact], head_zh: str, head_en: str) -> None:
        if not facts:
            return
        zh.append(head_zh + "；".join(f"seq {f.seq} {f.zh} {_signed(f.points)}"
                                      for f in facts) + "。")
        en.append(head_en + "; ".join(f"seq {f.seq} {f.en} {_signed(f.points)}"
                                      for f in facts) + ".")
        evidence.extend(f.seq for f in facts)

    name([f for f in triggers if f not in heaviest], "本次：", " Now: ")
    name(heaviest, "计分依据：", " Counted: ")
    name(expired, "已满 365 天不再计分：", " No longer counted (over 365 days): ")
    totals = factor_totals(counted)
    if totals:
        zh.append("各因素合计：" + "；".join(
            f"{FACTORS[n].zh} {count} 条 {_signed(total)}" for n, (count, total)
            in totals.items()) + "。")
        en.append(" By factor: " + "; ".join(
            f"{FACTORS[n].en} {count} {_signed(total)}" for n, (count, total)
            in totals.items()) + ".")
    return list(dict.fromkeys(evidence)), "".join(zh), "".join(en)
