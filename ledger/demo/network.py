"""The demo supply network: sixty days of a Fujian dairy chain and a child-car-seat chain.

``tracenet demo`` loads it so that a fresh install has something real to look at: ranches
(牧场) milking every day, a dairy (乳业公司) turning their raw milk into 鲜牛奶 / 纯牛奶 / 酸奶
and a 乳酸菌饮品 with filed additives, a co-packer making serialised gift boxes on pallets, two
distributors (经销商) and five supermarkets (超市) in Fujian districts, and a car-seat maker with
its material intake ledger, 3C-type tests and retailers. Every record goes through
:func:`ledger.supervision.submit.submit`, so each supervision rule really applies to it.

One raw-milk lot carries the incident regulators are meant to trace: ranch C's milk of
2026-11-02 passed the ranch's and the dairy's checks, was made into 鲜牛奶 and 酸奶 and reached
the shelves, and only then did a supervisory spot check find melamine (三聚氰胺) above its limit.
That evening the provincial bureau orders a class I recall (一级召回, 责令召回) of the lot and
everything made from it, carried out by the dairy; the next two days two holders in Xiamen
report what they took off the shelves and destroyed, and the rest have not reported by the
end of the period, so the recall is open, with holders past its deadline, when the demo is
served.

The data are deterministic for a seed: :func:`plan_demo` builds every statement (unsigned)
without touching the database, and :func:`load_demo` enrols the enterprises with custodial keys
and appends the plan, one simulated day per batch. Keys, signatures and ``recorded_at`` are
real and so differ between loads; the records themselves do not.
"""

from __future__ import annotations

import heapq
import math
import random
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_DOWN, Decimal
from functools import partial
from typing import Any

from ledger.errors import LedgerError
from ledger.log.entry import Statement
from ledger.supervision import names
from ledger.supervision.check_digits import USCC_ALPHABET, gs1_check_digit, uscc_check_character
from ledger.supervision.quantity import SINGLE_ITEMS, format_quantity
from ledger.supervision.reference import load_reference

__all__ = [
    "DEFAULT_SEED",
    "DEMO_DAYS",
    "DEMO_PASSWORD",
    "DEMO_START",
    "DEMO_DISTRICTS",
    "DEMO_USERS",
    "MELAMINE_FOUND",
    "MELAMINE_LIMIT",
    "DemoAlreadyLoaded",
    "DemoEnterprise",
    "DemoPlan",
    "DemoProgress",
    "DemoRecall",
    "demo_enterprises",
    "plan_demo",
]

DEFAULT_SEED = 2026
#: the simulated period: sixty days ending 2026-11-25, all of it in the past when written
DEMO_START = date(2026, 9, 27)
DEMO_DAYS = 60
CST = timezone(timedelta(hours=8), "Asia/Shanghai")
_END = datetime.combine(DEMO_START + timedelta(days=DEMO_DAYS), datetime.min.time(), CST)
#: the melamine incident: ranch C's lot of day 36 (2026-11-02), result known on day 40
_INCIDENT_DAY = 36
_INCIDENT_RESULT_DAY = 40
#: what the spot check found (mg/kg) against the 2.5 mg/kg limit for milk
MELAMINE_FOUND = "3.8"
MELAMINE_LIMIT = "≤2.5"
#: the recall the bureau orders once the result is known (texts in zh-CN, as filed); the
#: limit is the one the 2011 announcement of the Ministry of Health and four other
#: departments (卫生部等五部门公告 2011年第10号) sets for milk and other foods
_RECALL_LEVEL = 1
_RECALL_REASON = (f"监督抽检发现生乳三聚氰胺检出值 {MELAMINE_FOUND} mg/kg，超过限量值 "
                  f"{MELAMINE_LIMIT.lstrip('≤')} mg/kg（卫生部等五部门公告 2011年第10号）；"
                  "用该批生乳生产的产品已销往福州、厦门、泉州超市")
_RECALL_HAZARD = "三聚氰胺可导致泌尿系统结石，婴幼儿、孕妇及肾功能不全者风险尤高"
#: one simulated day per batch, split so no batch grows unwieldy
_BATCH_LIMIT = 300
#: the console accounts the demo creates: (username, enterprise key, role), all with
#: DEMO_PASSWORD. No admin account: a well-known password must not open the operator's powers.
DEMO_PASSWORD = "demo1234"  # noqa: S105 - published on purpose: `tracenet demo` prints it
DEMO_USERS = (("dairy", "dairy", "producer"), ("ranch", "ranch_c", "producer"),
              ("market", "market_gl", "producer"), ("carseat", "carseat", "producer"),
              ("regulator", "regulator", "regulator"), ("xmbureau", "regulator", "regulator"))
#: the district of the demo's district-bureau accounts (ledger/accounts/scope.py): ``xmbureau``
#: sees Xiamen's enterprises only; ``regulator`` (no district) is the city bureau
DEMO_DISTRICTS = {"xmbureau": "厦门市"}


class DemoAlreadyLoaded(LedgerError):
    """The demo network is already on this ledger; loading it twice would only be refused
    record by record (duplicate enterprises, GTINs and lots)."""

    code = "demo_already_loaded"


# --- identifiers -----------------------------------------------------------------------------

_GB11714_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def _organisation_check(first8: str) -> str:
    """The GB 11714 check character of an organisation code (the USCC's characters 9-17)."""
    total = sum((int(char) if char.isdigit() else ord(char) - 55) * weight
                for char, weight in zip(first8, _GB11714_WEIGHTS, strict=True))
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


def _uscc(registration: str, division: str, organisation: str) -> str:
    """A 统一社会信用代码: registration authority and type (e.g. 91 = company, 93 = farmers'
    co-operative, 11 = government organ, 12 = public institution), GB/T 2260 division code,
    GB 11714 organisation code with its check, and the GB 32100 check character."""
    assert all(char in USCC_ALPHABET for char in organisation)  # noqa: S101 - fixed data
    first17 = registration + division + organisation + _organisation_check(organisation)
    return first17 + uscc_check_character(first17)


def _gtin(company_prefix: str, item: int) -> str:
    """A GTIN-13 under a Chinese GS1 company prefix, as the 14 digits the ledger stores."""
    body = f"{company_prefix}{item:0{12 - len(company_prefix)}d}"
    return "0" + body + gs1_check_digit(body)


def _sscc(extension: int, company_prefix: str, reference: int) -> str:
    """An SSCC (GS1 AI 00) for a case or pallet, in element-string form."""
    body = f"{extension}{company_prefix}{reference:0{16 - len(company_prefix)}d}"
    return f"(00){body}{gs1_check_digit(body)}"


def _rfc3339(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _day(day: int) -> date:
    return DEMO_START + timedelta(days=day)


def _next_morning(moment: datetime) -> datetime:
    """06:30 the next day: when distributors send the day's deliveries to the stores."""
    return datetime.combine(moment.date() + timedelta(days=1), datetime.min.time(),
                            CST).replace(hour=6, minute=30)


def _at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(_day(day), datetime.min.time(), CST) + timedelta(hours=hour,
                                                                             minutes=minute)


# --- the network -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoEnterprise:
    """One enterprise of the demo network, as it is registered on the ledger."""

    key: str  #: short handle used by the demo (``ranch_a``, ``dairy``, ``market_gl`` …)
    kind: str  #: what it is, in Chinese (牧场, 乳业公司, 经销商, 超市 …)
    uscc: str
    name: str
    district: str
    roles: tuple[str, ...] = ("producer",)
    licences: Mapping[str, str] = field(default_factory=dict)
    #: its GS1 company prefix (GTINs, SSCCs) and the letters of its document numbers
    prefix: str = ""
    code: str = ""

    def registration(self) -> dict[str, Any]:
        """The ``enterprise_registered`` payload."""
        return {"uscc": self.uscc, "name": self.name, "roles": list(self.roles),
                "district": self.district, "licences": dict(self.licences)}


def demo_enterprises() -> tuple[DemoEnterprise, ...]:
    """The sixteen enterprises of the demo network (the same for every seed)."""
    e = DemoEnterprise
    return (
        e("regulator", "监管部门", _uscc("11", "350000", "MB014302"), "福建省市场监督管理局",
          "福州市鼓楼区", ("regulator",), code="FJSC"),
        e("ranch_a", "牧场", _uscc("91", "350723", "MA2Y8K01"), "南平闽北云谷牧业有限公司",
          "南平市光泽县", licences={"生鲜乳收购许可证": "闽（2025）生鲜乳收购证第350723001号",
                              "动物防疫条件合格证": "（闽）动防合字第350723000031号"},
          prefix="6941201", code="YG"),
        e("ranch_b", "牧场", _uscc("91", "350424", "MA31C5T7"), "三明翠屏山奶牛养殖有限公司",
          "三明市宁化县", licences={"生鲜乳收购许可证": "闽（2025）生鲜乳收购证第350424003号",
                              "动物防疫条件合格证": "（闽）动防合字第350424000112号"},
          prefix="6941202", code="CP"),
        e("ranch_c", "牧场", _uscc("93", "350821", "MA2XQ6L4"), "长汀县汀江源奶牛养殖专业合作社",
          "龙岩市长汀县", licences={"生鲜乳收购许可证": "闽（2024）生鲜乳收购证第350821002号",
                              "动物防疫条件合格证": "（闽）动防合字第350821000208号"},
          prefix="6941203", code="TJ"),
        e("ranch_d", "牧场", _uscc("93", "350923", "MA34HD9R"), "屏南县鹫峰山生态牧场专业合作社",
          "宁德市屏南县", licences={"生鲜乳收购许可证": "闽（2025）生鲜乳收购证第350923001号",
                              "动物防疫条件合格证": "（闽）动防合字第350923000057号"},
          prefix="6941204", code="JF"),
        e("dairy", "乳业公司", _uscc("91", "350121", "MA2YB7N3"), "福建闽榕乳业有限公司",
          "福州市闽侯县", licences={"SC": "SC10535012100053"}, prefix="6927331", code="MR"),
        e("packager", "包装企业", _uscc("91", "350104", "MA32F0W6"), "福州鑫禾食品包装服务有限公司",
          "福州市仓山区", licences={"SC": "SC10535010400128"}, prefix="6935520", code="XH"),
        e("dist_fz", "经销商", _uscc("91", "350104", "MA2YK3P8"), "福州闽运食品贸易有限公司",
          "福州市仓山区", licences={"JY": "JY13501040031627"}, code="MY"),
        e("dist_xm", "经销商", _uscc("91", "350206", "MA33EU2A"), "厦门鹭岛冷链食品配送有限公司",
          "厦门市湖里区", licences={"JY": "JY13502060048815"}, code="LD"),
        e("market_gl", "超市", _uscc("91", "350102", "MA2Y4G5C"), "福州三坊七巷惠民超市有限公司",
          "福州市鼓楼区", licences={"JY": "JY13501020012093"}, code="HM"),
        e("market_ja", "超市", _uscc("91", "350111", "MA31RW7E"), "福州晋安新万家超市有限公司",
          "福州市晋安区", licences={"JY": "JY13501110027340"}, code="WJ"),
        e("market_sm", "超市", _uscc("91", "350203", "MA2XN8A1"), "厦门思明鹭江百货超市有限公司",
          "厦门市思明区", licences={"JY": "JY13502030019562"}, code="LJ"),
        e("market_jm", "超市", _uscc("91", "350211", "MA32DT4H"), "厦门集美嘉庚便民超市有限公司",
          "厦门市集美区", licences={"JY": "JY13502110036201"}, code="JG"),
        e("market_fz", "超市", _uscc("91", "350503", "MA33LX6K"), "泉州丰泽东海湾超市有限公司",
          "泉州市丰泽区", licences={"JY": "JY13505030020774"}, code="DH"),
        e("babystore", "母婴用品店", _uscc("91", "350103", "MA2YQ9B5"),
          "福州台江宝贝港湾母婴用品有限公司", "福州市台江区", code="BB"),
        e("carseat", "儿童安全座椅制造商", _uscc("91", "350211", "MA31HG2M"),
          "厦门安途儿童安全用品有限公司", "厦门市集美区", licences={"CCC": "2025011119384627"},
          prefix="6952218", code="AT"),
    )


@dataclass(frozen=True)
class _Lab:
    name: str
    uscc: str
    code: str


_FOOD_LAB = _Lab("福建省产品质量检验研究院", _uscc("12", "350000", "48801937"), "FJQI")
_SEAT_LAB = _Lab("厦门市产品质量监督检验院", _uscc("12", "350200", "42660329"), "XMQI")


@dataclass(frozen=True)
class _Material:
    """A raw or auxiliary material bought from a supplier outside the network."""

    key: str
    name: str
    gtin: str
    supplier: str
    supplier_code: str
    unit: str
    reorder_at: Decimal
    order: Decimal


def _materials() -> dict[str, _Material]:
    m = _Material
    sugar = _uscc("91", "450100", "MA5KT302")
    culture = _uscc("91", "310115", "MA1FP8Q2")
    carton = _uscc("91", "320500", "MA1N6B4C")
    cups = _uscc("91", "350182", "MA2XW5R9")
    additives = _uscc("91", "320600", "MA1MK0E3")
    resin = _uscc("91", "350505", "MA2Y0C7D")
    fabric = _uscc("91", "350582", "MA2XA4N6")
    foam = _uscc("91", "350212", "MA31UB8P")
    belts = _uscc("91", "330200", "MA2GL7T5")
    fittings = _uscc("91", "320583", "MA1X93H2")
    giftbox = _uscc("91", "350128", "MA33C1Y0")
    d = Decimal
    return {item.key: item for item in (
        m("sugar", "一级白砂糖", _gtin("6901547", 101), sugar, "GX", "kg", d(2000), d(6000)),
        m("culture", "直投式酸奶发酵剂（保加利亚乳杆菌+嗜热链球菌）50U/包",
          _gtin("6903318", 2050), culture, "SH", "pcs", d(30), d(120)),
        m("brick", "250mL无菌砖纸基复合包装材料", _gtin("6902176", 250), carton, "SZ", "pcs",
          d(160000), d(480000)),
        m("gable", "950mL巴氏奶屋顶盒", _gtin("6902176", 950), carton, "SZ", "pcs",
          d(60000), d(240000)),
        m("cup", "200g聚苯乙烯酸奶杯", _gtin("6904402", 200), cups, "FQ", "pcs",
          d(80000), d(240000)),
        m("bottle", "100mL乳酸菌饮品PS瓶", _gtin("6904402", 100), cups, "FQ", "pcs",
          d(120000), d(320000)),
        m("sorbate", "山梨酸钾（食品添加剂）", _gtin("6905260", 202), additives, "NT", "kg",
          d(6), d(25)),
        m("acesulfame", "乙酰磺胺酸钾（安赛蜜，食品添加剂）", _gtin("6905260", 950), additives,
          "NT", "kg", d(3), d(20)),
        m("giftbox", "纯牛奶礼盒外包装（瓦楞纸印刷）", _gtin("6906613", 24), giftbox, "YX", "pcs",
          d(1200), d(3000)),
        m("resin", "聚丙烯（PP）改性粒子 K8003", _gtin("6908120", 8003), resin, "RF", "kg",
          d(2500), d(8000)),
        m("fabric", "阻燃涤纶复合面料", _gtin("6908342", 31), fabric, "JJ", "kg", d(400), d(1200)),
        m("foam", "EPS吸能泡沫件", _gtin("6909011", 12), foam, "TA", "pcs", d(700), d(2000)),
        m("harness", "五点式安全带总成", _gtin("6907735", 5), belts, "NB", "pcs", d(700), d(2000)),
        m("isofix", "ISOFIX刚性连接器", _gtin("6908856", 180), fittings, "KS", "pcs", d(600),
          d(1600)),
    )}


@dataclass(frozen=True)
class _Product:
    """A product the demo registers, with what one unit of it takes to make."""

    key: str
    owner: str
    gtin: str
    name: str
    category: str
    standard: str
    spec: str
    unit: str
    shelf_days: int | None
    #: raw milk per unit (kg) and other materials per unit, by material key
    raw_milk: Decimal = Decimal(0)
    recipe: Mapping[str, Decimal] = field(default_factory=dict)
    additives: tuple[str, ...] = ()
    #: ex-factory price per unit (CNY): a production records quantity x price as its 产值
    price: Decimal = Decimal(0)

    def registration(self) -> dict[str, Any]:
        return {"gtin": self.gtin, "name": self.name, "category": self.category,
                "standard": self.standard, "spec": self.spec}


_RAW_MILK_STANDARD = "GB 19301-2010"
_SORBATE = "山梨酸钾"
_ACESULFAME = "乙酰磺胺酸钾(安赛蜜)"


def _products(network: Mapping[str, DemoEnterprise]) -> dict[str, _Product]:
    p, d = _Product, Decimal
    ranches = {"ranch_a": "云谷牧业", "ranch_b": "翠屏山牧场", "ranch_c": "汀江源合作社",
               "ranch_d": "鹫峰山牧场"}
    products = [
        p(f"raw_{ranch[-1]}", ranch, _gtin(network[ranch].prefix, 1),
          f"生乳（荷斯坦牛）· {short}", "07", _RAW_MILK_STANDARD, "散装，冷藏罐车运输（0-4℃）",
          "kg", 2, price=d("4.2"))
        for ranch, short in ranches.items()]
    dairy = network["dairy"].prefix
    products += [
        p("uht", "dairy", _gtin(dairy, 101), "闽榕纯牛奶 250mL×24盒", "07", "GB 25190-2010",
          "250mL×24盒/箱，超高温灭菌", "case", 180, d("6.3"), {"brick": d(24)}, price=d(62)),
        # Sold to the shops by the case of 12: cases are logistic units, so the lots need no
        # unit codes (rule.unit.serialization_required codes single items; 600,000 cartons in
        # sixty days would make the demo about its units table).
        p("fresh", "dairy", _gtin(dairy, 102), "闽榕鲜牛奶 950mL×12盒", "07", "GB 19645-2010",
          "950mL×12盒/箱，巴氏杀菌，2-6℃冷藏", "case", 7, d("12.0"), {"gable": d(12)}, price=d(96)),
        p("yoghurt", "dairy", _gtin(dairy, 201), "闽榕原味风味发酵乳 200g×12杯", "07",
          "GB 19302-2010", "200g×12杯/箱，2-6℃冷藏", "case", 21, d("2.2"),
          {"sugar": d("0.16"), "cup": d(12)}, price=d(45)),
        p("lactic", "dairy", _gtin(dairy, 301), "闽榕乳酸菌饮品（杀菌型）100mL×20瓶", "08",
          "GB 7101-2022", "100mL×20瓶/箱", "case", 180, d("0.7"),
          {"sugar": d("0.24"), "bottle": d(20), "sorbate": d("0.0005"),
           "acesulfame": d("0.00024")}, (_SORBATE, _ACESULFAME), price=d(28)),
        p("gift", "packager", _gtin(network["packager"].prefix, 11),
          "闽榕纯牛奶礼盒 250mL×12盒×2提", "07", "GB 25190-2010",
          "250mL×24盒/礼盒（组合包装）", "pcs", 180, recipe={"giftbox": d(1)}, price=d(88)),
    ]
    seat = network["carseat"].prefix
    products += [
        p("seat_q7", "carseat", _gtin(seat, 70), "安途 AT-Q7 ISOFIX儿童安全座椅", "62",
          "GB 27887-2024", "i-Size 76-150cm，ISOFIX+上拉带，约9个月-12岁", "pcs", None,
          recipe={"resin": d("4.6"), "fabric": d("0.65"), "foam": d(1), "harness": d(1),
                  "isofix": d(1)}, price=d(1280)),
        p("seat_b1", "carseat", _gtin(seat, 10), "安途 AT-B1 提篮式婴儿安全座椅", "62",
          "GB 27887-2024", "40-87cm，约0-15个月，可配ISOFIX底座", "pcs", None,
          recipe={"resin": d("2.8"), "fabric": d("0.45"), "foam": d(1), "harness": d(1)},
          price=d(860)),
        # An older booster still citing the withdrawn GB 27887-2011: the standard-warning rule
        # flags it, so the demo shows a 标准预警 too.
        p("seat_s3", "carseat", _gtin(seat, 30), "安途 AT-S3 儿童增高坐垫（旧款）", "62",
          "GB 27887-2011", "III组 22-36kg，约6-12岁", "pcs", None,
          recipe={"resin": d("1.9"), "fabric": d("0.3")}, price=d(190)),
    ]
    return {product.key: product for product in products}


# --- inspection items ------------------------------------------------------------------------


def _item(name: str, value: str, limit: str | None, unit: str | None,
          passed: bool = True) -> dict[str, Any]:
    return {"name": name, "value": value, "limit": limit, "unit": unit, "pass": passed}


def _output_value(quantity: Decimal, product: _Product) -> str:
    """A lot's 产值: its quantity at the product's ex-factory price, to the yuan."""
    return format_quantity((quantity * product.price).quantize(Decimal(1)))


def _value(rng: random.Random, low: float, high: float, digits: int) -> str:
    return f"{rng.uniform(low, high):.{digits}f}"


def _count(rng: random.Random, low: float, high: float) -> str:
    """A colony count as labs write it, e.g. 3.2×10^4."""
    exponent = math.floor(math.log10(low))
    mantissa = rng.uniform(low, high) / 10 ** exponent
    while mantissa >= 10:
        mantissa, exponent = mantissa / 10, exponent + 1
    return f"{mantissa:.1f}×10^{exponent}"


def _raw_milk_basics(rng: random.Random) -> list[dict[str, Any]]:
    return [
        _item("脂肪", _value(rng, 3.55, 4.15, 2), "≥3.1", "g/100g"),
        _item("蛋白质", _value(rng, 3.02, 3.38, 2), "≥2.8", "g/100g"),
        _item("非脂乳固体", _value(rng, 8.35, 8.95, 2), "≥8.1", "g/100g"),
        _item("酸度", _value(rng, 13.0, 16.5, 1), "12~18", "°T"),
        _item("相对密度（20℃/4℃）", _value(rng, 1.028, 1.032, 3), "≥1.027", None),
    ]


def _raw_self_items(rng: random.Random) -> list[dict[str, Any]]:
    return [_item("感官", "乳白色，具有乳固有香味，无异味", "色泽、滋味、气味正常", None),
            *_raw_milk_basics(rng),
            _item("抗生素残留（β-内酰胺类、四环素类快速检测）", "阴性", "阴性", None)]


def _raw_incoming_items(rng: random.Random) -> list[dict[str, Any]]:
    return [_item("到厂温度", _value(rng, 2.1, 4.0, 1), "≤6", "℃"),
            *_raw_milk_basics(rng),
            _item("掺碱（溴麝香草酚蓝法）", "阴性", "阴性", None),
            _item("抗生素残留（β-内酰胺类、四环素类快速检测）", "阴性", "阴性", None)]


def _raw_lab_items(rng: random.Random, melamine: str | None = None) -> list[dict[str, Any]]:
    failed = melamine is not None
    return [
        _item("蛋白质", _value(rng, 3.02, 3.30, 2), "≥2.8", "g/100g"),
        _item("菌落总数", _count(rng, 8e4, 6e5), "≤2×10^6", "CFU/mL"),
        _item("三聚氰胺", melamine or "未检出（<0.05）", MELAMINE_LIMIT, "mg/kg", not failed),
        _item("黄曲霉毒素M1", _value(rng, 0.05, 0.12, 2), "≤0.5", "μg/kg"),
        _item("铅（以Pb计）", _value(rng, 0.005, 0.012, 3), "≤0.05", "mg/kg"),
    ]


def _finished_items(rng: random.Random, product: str, *, full: bool) -> list[dict[str, Any]]:
    """Release (出厂) items, or with ``full`` the type-test (型式检验) items as well."""
    items: list[dict[str, Any]] = []
    if product in ("uht", "gift"):
        items = [_item("蛋白质", _value(rng, 3.05, 3.30, 2), "≥2.9", "g/100g"),
                 _item("脂肪", _value(rng, 3.65, 4.00, 2), "≥3.1", "g/100g"),
                 _item("非脂乳固体", _value(rng, 8.35, 8.80, 2), "≥8.1", "g/100g"),
                 _item("酸度", _value(rng, 12.5, 14.5, 1), "12~18", "°T"),
                 _item("商业无菌", "符合商业无菌要求", "商业无菌", None)]
        if product == "gift":
            items = [_item("净含量（单盒）", _value(rng, 250.5, 253.0, 1), "≥250（允许短缺9）",
                           "mL"),
                     _item("标签标识", "符合", "GB 7718-2011", None),
                     _item("外包装完好性", "完好，无胀包、漏包", "完好", None),
                     *items[-1:]]
    elif product == "fresh":
        items = [_item("蛋白质", _value(rng, 3.05, 3.35, 2), "≥2.9", "g/100g"),
                 _item("脂肪", _value(rng, 3.60, 4.05, 2), "≥3.1", "g/100g"),
                 _item("非脂乳固体", _value(rng, 8.35, 8.85, 2), "≥8.1", "g/100g"),
                 _item("酸度", _value(rng, 12.5, 15.0, 1), "12~18", "°T"),
                 _item("菌落总数", _count(rng, 2e2, 8e3), "n=5,c=2,m=5×10^4,M=10^5",
                       "CFU/mL"),
                 _item("大肠菌群", "<1", "n=5,c=2,m=1,M=5", "CFU/mL")]
    elif product == "yoghurt":
        items = [_item("蛋白质", _value(rng, 2.35, 2.70, 2), "≥2.3", "g/100g"),
                 _item("脂肪", _value(rng, 2.90, 3.30, 2), "≥2.5", "g/100g"),
                 _item("酸度", _value(rng, 72, 88, 1), "≥70.0", "°T"),
                 _item("乳酸菌数", _count(rng, 2e7, 9e8), "≥1×10^6", "CFU/g"),
                 _item("大肠菌群", "<1", "n=5,c=2,m=1,M=5", "CFU/g")]
    elif product == "lactic":
        items = [_item("蛋白质", _value(rng, 0.72, 0.90, 2), "≥0.7", "g/100g"),
                 _item("山梨酸（以山梨酸计）", _value(rng, 0.18, 0.24, 2), "≤0.5", "g/kg"),
                 _item("乙酰磺胺酸钾（安赛蜜）", _value(rng, 0.09, 0.12, 2), "≤0.3", "g/kg"),
                 _item("菌落总数", _count(rng, 1e1, 5e2), "n=5,c=2,m=10^2,M=10^4", "CFU/mL")]
    if full:
        items += [_item("三聚氰胺", "未检出（<0.05）", MELAMINE_LIMIT, "mg/kg"),
                  _item("黄曲霉毒素M1", _value(rng, 0.02, 0.08, 2), "≤0.5", "μg/kg"),
                  _item("铅（以Pb计）", _value(rng, 0.004, 0.010, 3), "≤0.05", "mg/kg")]
    return items


def _seat_items(rng: random.Random, product: str, *, full: bool) -> list[dict[str, Any]]:
    items = [_item("外观及标识", "符合", "GB 27887 标志要求", None),
             _item("带扣开启力（无负荷）", _value(rng, 45, 68, 0), "40~80", "N"),
             _item("织带断裂强度", _value(rng, 9.6, 11.8, 1), "≥3.6", "kN"),
             _item("阻燃性能（燃烧速率）", _value(rng, 28, 70, 0), "≤100", "mm/min")]
    if product != "seat_s3":
        items.append(_item("调节装置可靠性（5000次）", "无失效", "无失效", None))
    if product == "seat_q7":
        items.append(_item("ISOFIX连接件静态强度", "8kN无断裂", "8kN无断裂", None))
    if full:
        items += [_item("正面碰撞 头部位移", _value(rng, 430, 520, 0), "≤550", "mm"),
                  _item("正面碰撞 胸部合成加速度（3ms）", _value(rng, 38, 52, 1), "≤55", "g"),
                  _item("侧面碰撞 头部包容", "符合", "头部不得越过侧翼", None),
                  _item("邻苯二甲酸酯（DBP+BBP+DEHP）", _value(rng, 0.005, 0.03, 3), "≤0.1",
                        "%")]
    return items


# --- the plan ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoRecall:
    """The ordered recall (责令召回) a regulator starts once the melamine result is known.

    Its scope is computed from the ledger when the loader starts it (every lot made from the
    melamine lot and every holder of any), so the plan holds only what the regulator decides.
    """

    moment: datetime
    regulator: str  #: enterprise key of the regulator ordering it
    producer: str  #: enterprise key of the producer ordered to carry it out
    level: int
    reason: str
    hazard: str
    consumer_advice: str
    #: the loader starts it after appending ``batches[after_batch]``
    after_batch: int


@dataclass(frozen=True)
class DemoProgress:
    """A holder's report on the demo recall: for each lot it held when the recall reached it,
    the whole quantity counted under each of ``activities`` (withdrawn, destroyed …)."""

    moment: datetime
    enterprise: str  #: enterprise key of the holder reporting
    activities: tuple[str, ...]
    evidence: tuple[str, ...]
    note: str
    complete: bool
    after_batch: int


@dataclass(frozen=True)
class DemoPlan:
    """Everything the demo appends, built without the database.

    ``batches`` hold unsigned statements (``key_id`` is left empty: the custodial key fills
    it when the statement is signed); ``entries`` counts them plus the two registration
    entries per enterprise.
    """

    seed: int
    enterprises: tuple[DemoEnterprise, ...]
    batches: tuple[tuple[Statement, ...], ...]
    lots: int
    units: int
    melamine: tuple[str, str]
    #: the recall the loader starts, and the holders' reports after it, in time order
    recall: DemoRecall
    progress: tuple[DemoProgress, ...]

    @property
    def entries(self) -> int:
        return (2 * len(self.enterprises) + sum(len(batch) for batch in self.batches)
                + 1 + len(self.progress))


@dataclass
class _Stock:
    gtin: str
    lot: str
    remaining: Decimal


class _Planner:
    """A small discrete-event simulation: actions run in time order and emit statements."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.rng = random.Random(seed)  # noqa: S311 - demo data, not a secret
        self.enterprises = demo_enterprises()
        self.by_key = {enterprise.key: enterprise for enterprise in self.enterprises}
        self.materials = _materials()
        self.products = _products(self.by_key)
        self.statements: list[tuple[datetime, int, Statement]] = []
        self.actions: list[tuple[datetime, int, Callable[[], None]]] = []
        self.counter = 0
        self.documents: dict[str, int] = {}
        self.serials: dict[str, int] = {}
        self.reference = load_reference()
        self.lots = 0
        self.units = 0
        self.raw_milk: deque[_Stock] = deque()
        self.stores: dict[tuple[str, str], deque[_Stock]] = {}
        self.suspended: set[str] = set()
        self.tainted: set[tuple[str, str]] = set()
        self.melamine: tuple[str, str] | None = None
        self.on_shelf: dict[str, list[tuple[str, str]]] = {}

    # -- machinery -----------------------------------------------------------------------------

    def at(self, moment: datetime, action: Callable[[], None]) -> None:
        """Schedule ``action``; what would happen after the demo period never happens."""
        if moment < _END:
            self.counter += 1
            heapq.heappush(self.actions, (moment, self.counter, action))

    def emit(self, moment: datetime, enterprise: str, type_: str,
             payload: Mapping[str, Any]) -> None:
        """Record a statement; one dated after the demo period has not happened yet."""
        if moment >= _END:
            return
        if type_ in (names.PRODUCTION, names.MATERIAL_INTAKE):
            self.lots += 1
        elif type_ == names.SERIALIZATION:
            self.units += len(payload["serials"])
        elif type_ == names.AGGREGATION:
            self.units += 1  # the parent: a case or pallet
        self.counter += 1
        statement = Statement(type_, self.by_key[enterprise].uscc, "", _rfc3339(moment),
                              dict(payload))
        self.statements.append((moment, self.counter, statement))

    def document(self, enterprise: str, kind: str, moment: datetime) -> str:
        stem = f"{self.by_key[enterprise].code}-{kind}-{moment:%Y%m%d}"
        self.documents[stem] = self.documents.get(stem, 0) + 1
        return f"{stem}-{self.documents[stem]:03d}"

    def run(self) -> DemoPlan:
        self.register(_at(-1, 9))
        for day in range(DEMO_DAYS):
            self.schedule_day(day)
        while self.actions:
            _moment, _counter, action = heapq.heappop(self.actions)
            action()
        if self.melamine is None:
            raise LedgerError("the demo plan lost its melamine incident")
        # Every statement is dated after the ones it depends on (a lot is inspected after it
        # is made, received after it is shipped ...), so time order is also a valid order.
        self.statements.sort(key=lambda item: (item[0], item[1]))
        batches: list[tuple[Statement, ...]] = []
        current: list[Statement] = []
        current_day: date | None = None
        for moment, _counter, statement in self.statements:
            if current and (moment.date() != current_day or len(current) >= _BATCH_LIMIT):
                batches.append(tuple(current))
                current = []
            current_day = moment.date()
            current.append(statement)
        if current:
            batches.append(tuple(current))
        recall, progress = self.recall_story(batches)
        return DemoPlan(self.seed, self.enterprises, tuple(batches), self.lots, self.units,
                        self.melamine, recall, progress)

    def recall_story(self, batches: Sequence[tuple[Statement, ...]]
                     ) -> tuple[DemoRecall, tuple[DemoProgress, ...]]:
        """The recall ordered the evening the result is known, and two holders' reports.

        Each step runs after the last batch of its day, so it sees every record of that day:
        the recall reaches whoever received goods of the lots by then.
        """
        days = [datetime.fromisoformat(batch[0].event_time).date() for batch in batches]

        def after(moment: datetime) -> int:
            return max(index for index, day in enumerate(days) if day <= moment.date())

        ordered = _at(_INCIDENT_RESULT_DAY, 17, 30)
        names_by_gtin = {product.gtin: product.name for product in self.products.values()}
        made = "、".join(f"{names_by_gtin[gtin]}（批号 {lot}）"
                        for gtin, lot in sorted(self.tainted))
        advice = (f"请立即停止食用{made}，凭购物凭证或产品包装到购买超市退货退款；"
                  "已食用并出现不适者请及时就医。")
        recall = DemoRecall(ordered, "regulator", "dairy", _RECALL_LEVEL, _RECALL_REASON,
                            _RECALL_HAZARD, advice, after(ordered))
        reports = []
        for moment, key, activities, evidence, note, complete in (
                (_at(_INCIDENT_RESULT_DAY + 1, 11), "market_sm", ("withdrawn",), "XJ",
                 "已全部下架封存，张贴召回公告，开始受理消费者退货", False),
                (_at(_INCIDENT_RESULT_DAY + 1, 15), "dist_xm", ("withdrawn",), "XJ",
                 "库存已全部封存，停止配送", False),
                (_at(_INCIDENT_RESULT_DAY + 2, 10), "dist_xm", ("destroyed",), "XH",
                 "封存产品在市场监管人员见证下无害化销毁", True)):
            reports.append(DemoProgress(
                moment, key, activities, (self.document(key, evidence, moment),), note,
                complete, after(moment)))
        return recall, tuple(reports)

    # -- set-up ----------------------------------------------------------------------------------

    def register(self, moment: datetime) -> None:
        for index, product in enumerate(self.products.values()):
            self.emit(moment + timedelta(minutes=index), product.owner, names.PRODUCT_REGISTERED,
                      product.registration())
        lactic = self.products["lactic"]
        filings = ((_SORBATE, "202", "防腐剂", "0.25"), (_ACESULFAME, "950", "甜味剂", "0.12"))
        for index, (additive, ins, function, level) in enumerate(filings):
            self.emit(moment + timedelta(hours=1, minutes=index), "dairy", names.ADDITIVE_FILING,
                      {"gtin": lactic.gtin, "additive": additive, "ins": ins,
                       "function": function, "level": level, "unit": "g/kg"})
        for index, material in enumerate(self.materials.values()):
            owner = self.material_owner(material.key)
            self.at(_at(0, 7, index), partial(self.intake, owner, material, _at(0, 7)))

    def material_owner(self, key: str) -> str:
        if key == "giftbox":
            return "packager"
        if key in ("resin", "fabric", "foam", "harness", "isofix"):
            return "carseat"
        return "dairy"

    def schedule_day(self, day: int) -> None:
        ranches = [("ranch_a", 8200, 9400), ("ranch_b", 5200, 6300)]
        if day % 2 == 0:  # the two co-operatives collect every other day
            ranches += [("ranch_c", 6100, 7000), ("ranch_d", 4200, 5100)]
        for index, (ranch, low, high) in enumerate(ranches):
            self.at(_at(day, 4, 30 + 5 * index), partial(self.milk, day, ranch, low, high, index))
        for material in self.materials.values():
            owner = self.material_owner(material.key)
            self.at(_at(day, 8), partial(self.restock, day, owner, material))
        self.at(_at(day, 12, 30), lambda: self.dairy_day(day))
        weekday = _day(day).weekday()
        if weekday in (0, 3):
            self.at(_at(day, 9), lambda: self.seat_lot(day, "seat_q7", 260, 340))
        if weekday == 1:
            self.at(_at(day, 9), lambda: self.seat_lot(day, "seat_b1", 180, 240))
        if weekday == 4 and day % 14 < 7:
            self.at(_at(day, 9), lambda: self.seat_lot(day, "seat_s3", 120, 160))
        if day == 20:  # a sugar delivery fails its intake check and is turned away
            self.at(_at(day, 9, 40), lambda: self.intake(
                "dairy", self.materials["sugar"], _at(day, 9, 40), accepted=False))
        if day in (12, 26, 47, 55):
            self.at(_at(day, 10), lambda: self.shelf_spot_check(day))

    # -- materials -------------------------------------------------------------------------------

    def available(self, owner: str, key: str) -> Decimal:
        return sum((s.remaining for s in self.stores.get((owner, key), ())), Decimal(0))

    def intake(self, owner: str, material: _Material, moment: datetime, *,
               accepted: bool = True, quantity: Decimal | None = None) -> None:
        amount = quantity if quantity is not None else material.order
        stem = f"{material.supplier_code}{moment:%y%m%d}"
        self.documents[stem] = self.documents.get(stem, 0) + 1
        lot = f"{stem}{self.documents[stem]:02d}"
        self.emit(moment, owner, names.MATERIAL_INTAKE, {
            "gtin": material.gtin, "lot": lot, "material": material.name,
            "supplier": material.supplier, "quantity": format_quantity(amount),
            "unit": material.unit, "received_at": _rfc3339(moment),
            "certificate": f"COA-{lot}", "accepted": accepted})
        if accepted:
            self.stores.setdefault((owner, material.key), deque()).append(
                _Stock(material.gtin, lot, amount))

    def restock(self, day: int, owner: str, material: _Material) -> None:
        if self.available(owner, material.key) < material.reorder_at:
            self.intake(owner, material, _at(day, 8, 10 + list(self.materials).index(
                material.key)))

    def draw(self, owner: str, key: str, need: Decimal, moment: datetime,
             unit: str) -> list[dict[str, Any]]:
        """Take ``need`` from the owner's oldest lots first; the production inputs."""
        queue = self.stores.setdefault((owner, key), deque())
        if self.available(owner, key) < need:  # an urgent delivery before the shift
            material = self.materials[key]
            self.intake(owner, material, moment - timedelta(minutes=40),
                        quantity=max(material.order, need))
        return self.take(queue, need, unit)

    @staticmethod
    def take(queue: deque[_Stock], need: Decimal, unit: str) -> list[dict[str, Any]]:
        inputs: list[dict[str, Any]] = []
        while need > 0:
            head = queue[0]
            used = min(head.remaining, need)
            inputs.append({"gtin": head.gtin, "lot": head.lot,
                           "quantity": format_quantity(used), "unit": unit})
            head.remaining -= used
            need -= used
            if head.remaining == 0:
                queue.popleft()
        return inputs

    # -- ranches ---------------------------------------------------------------------------------

    def milk(self, day: int, ranch: str, low: int, high: int, order: int) -> None:
        if ranch in self.suspended:
            return
        product = self.products[f"raw_{ranch[-1]}"]
        start = _at(day, 4, 30 + 5 * order)
        lot = f"SR{_day(day):%Y%m%d}"
        quantity = Decimal(f"{self.rng.uniform(low, high):.1f}")
        self.emit(start, ranch, names.PRODUCTION, {
            "gtin": product.gtin, "lot": lot, "quantity": format_quantity(quantity),
            "unit": "kg", "produced_at": _rfc3339(start),
            "expiry": (_day(day) + timedelta(days=2)).isoformat(), "inputs": [],
            "additives_used": [], "output_value": _output_value(quantity, product)})
        self.inspect(start + timedelta(minutes=45), ranch, product.gtin, lot, "self",
                     _raw_self_items(self.rng), _RAW_MILK_STANDARD)
        shipped = start + timedelta(minutes=90)
        document = self.document(ranch, "FH", shipped)
        self.emit(shipped, ranch, names.SHIPMENT, self.movement(
            product.gtin, lot, quantity, "kg", self.by_key["dairy"].uscc, document,
            "shipped_at", shipped))
        arrival = _at(day, 8, 20 + 10 * order)
        self.emit(arrival, "dairy", names.RECEIPT, self.movement(
            product.gtin, lot, quantity, "kg", self.by_key[ranch].uscc, document,
            "received_at", arrival))
        self.inspect(arrival + timedelta(minutes=25), "dairy", product.gtin, lot, "incoming",
                     _raw_incoming_items(self.rng), _RAW_MILK_STANDARD)
        self.raw_milk.append(_Stock(product.gtin, lot, quantity))
        if ranch == "ranch_c" and day == _INCIDENT_DAY:
            self.melamine = (product.gtin, lot)
            self.at(_at(_INCIDENT_RESULT_DAY, 16), lambda: self.melamine_result(lot))
        elif day % 7 == order:  # the ranch's weekly third-party test
            self.at(_at(day + 3, 15), lambda: self.inspect(
                _at(day + 3, 15), ranch, product.gtin, lot, "third_party",
                _raw_lab_items(self.rng), _RAW_MILK_STANDARD, lab=_FOOD_LAB))

    def melamine_result(self, lot: str) -> None:
        gtin = self.products["raw_c"].gtin
        if any((stock.gtin, stock.lot) == (gtin, lot) for stock in self.raw_milk):
            # The story (and the rules) need the lot used up before the result is known.
            raise LedgerError(f"demo raw-milk lot {lot} is not fully used before day "
                              f"{_INCIDENT_RESULT_DAY}")
        self.inspect(_at(_INCIDENT_RESULT_DAY, 16), "regulator", gtin, lot, "spot_check",
                     _raw_lab_items(self.rng, melamine=MELAMINE_FOUND), _RAW_MILK_STANDARD,
                     lab=_FOOD_LAB, verdict="fail")
        # 停产整顿: the co-operative delivers nothing more in the demo period.
        self.suspended.add("ranch_c")

    def inspect(self, moment: datetime, enterprise: str, gtin: str, lot: str, kind: str,
                items: list[dict[str, Any]], standard: str | None, *, lab: _Lab | None = None,
                verdict: str = "pass") -> None:
        if lab is None:
            own = self.by_key[enterprise]
            lab_name, lab_uscc, report = f"{own.name}质检中心", own.uscc, f"{own.code}-QC"
        else:
            lab_name, lab_uscc, report = lab.name, lab.uscc, lab.code
        if kind == "spot_check":
            report = f"{self.by_key['regulator'].code}-CJ"
        self.emit(moment, enterprise, names.INSPECTION, {
            "gtin": gtin, "lot": lot, "kind": kind, "lab": lab_name, "lab_uscc": lab_uscc,
            "standard": standard, "items": items, "verdict": verdict,
            "report_no": self.document_for(report, moment), "inspected_at": _rfc3339(moment)})

    def document_for(self, stem: str, moment: datetime) -> str:
        key = f"{stem}-{moment:%Y}"
        self.documents[key] = self.documents.get(key, 0) + 1
        return f"{key}{moment:%m%d}{self.documents[key]:04d}"

    @staticmethod
    def movement(gtin: str, lot: str, quantity: Decimal, unit: str, counterparty: str,
                 document: str, time_field: str, moment: datetime) -> dict[str, Any]:
        return {"gtin": gtin, "lot": lot, "quantity": format_quantity(quantity), "unit": unit,
                "counterparty": counterparty, "document_no": document,
                time_field: _rfc3339(moment)}

    def ship(self, shipper: str, receiver: str, gtin: str, lot: str, quantity: Decimal,
             unit: str, shipped: datetime, transit: timedelta) -> None:
        if quantity <= 0:
            return
        document = self.document(shipper, "FH", shipped)
        self.emit(shipped, shipper, names.SHIPMENT, self.movement(
            gtin, lot, quantity, unit, self.by_key[receiver].uscc, document, "shipped_at",
            shipped))
        arrival = shipped + transit
        self.emit(arrival, receiver, names.RECEIPT, self.movement(
            gtin, lot, quantity, unit, self.by_key[shipper].uscc, document, "received_at",
            arrival))

    # -- the dairy -------------------------------------------------------------------------------

    def dairy_day(self, day: int) -> None:
        runs = ["fresh" if day % 2 == 0 else "uht"]
        if day % 3 == 0:
            runs.append("yoghurt")
        if day % 4 == 2:
            runs.append("lactic")
        weights = {"fresh": 8, "uht": 8, "yoghurt": 2, "lactic": 1}
        total = sum(weights[run] for run in runs)
        available = sum((s.remaining for s in self.raw_milk), Decimal(0))
        for index, run in enumerate(runs):
            product = self.products[run]
            share = available * weights[run] / total
            quantity = (share / product.raw_milk).to_integral_value(ROUND_DOWN)
            if quantity <= 0:
                continue
            moment = _at(day, 13 + 2 * index)
            self.produce(day, moment, product, quantity)

    def produce(self, day: int, moment: datetime, product: _Product,
                quantity: Decimal) -> None:
        owner = product.owner
        lot = f"{_day(day):%Y%m%d}{product.key[0].upper()}{self.rng.randint(1, 3)}"
        inputs: list[dict[str, Any]] = []
        if product.raw_milk:
            inputs += self.take(self.raw_milk, quantity * product.raw_milk, "kg")
        for key, per_unit in product.recipe.items():
            need = quantity * per_unit
            material = self.materials[key]
            if material.unit == "pcs":
                need = need.to_integral_value(ROUND_DOWN) or Decimal(1)
            inputs += self.draw(owner, key, need, moment, material.unit)
        if product.key == "yoghurt":
            packs = Decimal(math.ceil(quantity * product.raw_milk / 500))
            inputs += self.draw(owner, "culture", packs, moment, "pcs")
        self.emit_production(moment, product, lot, quantity, inputs)
        if any((source["gtin"], source["lot"]) == self.melamine for source in inputs):
            self.tainted.add((product.gtin, lot))
        release = {"fresh": (1, 7, 30), "uht": (7, 9, 30), "yoghurt": (2, 9, 0),
                   "lactic": (3, 9, 0)}[product.key]
        released = _at(day + release[0], release[1], release[2])
        self.at(released, lambda: self.release(day, released, product, lot, quantity))
        if day in (14, 15, 44, 45):  # monthly type tests by the provincial institute
            self.at(_at(day + 5, 14), lambda: self.inspect(
                _at(day + 5, 14), owner, product.gtin, lot, "third_party",
                _finished_items(self.rng, product.key, full=True), product.standard,
                lab=_FOOD_LAB))
        if product.key == "uht" and day % 24 == 3:
            self.at(moment + timedelta(hours=3), lambda: self.palletise(
                "dairy", product, lot, int(quantity), per_case=None, per_pallet=60,
                moment=moment + timedelta(hours=3)))
        elif self.must_serialise(product):  # single items of 乳制品 are coded before they ship
            self.serialise(owner, product, lot, int(quantity), moment + timedelta(hours=1))

    def emit_production(self, moment: datetime, product: _Product, lot: str,
                        quantity: Decimal, inputs: list[dict[str, Any]]) -> None:
        expiry = (None if product.shelf_days is None
                  else (moment.date() + timedelta(days=product.shelf_days)).isoformat())
        self.emit(moment, product.owner, names.PRODUCTION, {
            "gtin": product.gtin, "lot": lot, "quantity": format_quantity(quantity),
            "unit": product.unit, "produced_at": _rfc3339(moment), "expiry": expiry,
            "inputs": inputs, "additives_used": list(product.additives),
            "output_value": _output_value(quantity, product)})

    def release(self, day: int, moment: datetime, product: _Product, lot: str,
                quantity: Decimal) -> None:
        """出厂检验, then the lot leaves for the distributors (and the co-packer)."""
        self.inspect(moment, "dairy", product.gtin, lot, "self",
                     _finished_items(self.rng, product.key, full=False), product.standard)
        shares = {"dist_fz": Decimal("0.45"), "dist_xm": Decimal("0.40")}
        if product.key == "uht" and day % 6 == 1:
            shares = {"packager": Decimal("0.25"), "dist_fz": Decimal("0.35"),
                      "dist_xm": Decimal("0.30")}
        for index, (receiver, share) in enumerate(shares.items()):
            shipped = moment + timedelta(minutes=60 + 20 * index)
            amount = (quantity * share).to_integral_value(ROUND_DOWN)
            self.ship("dairy", receiver, product.gtin, lot, amount, product.unit, shipped,
                      timedelta(hours=3 if receiver == "dist_xm" else 2))
            arrival = shipped + timedelta(hours=3 if receiver == "dist_xm" else 2)
            if receiver == "packager":
                self.at(arrival + timedelta(hours=14), partial(self.gift_lot, arrival, lot, amount))
            else:
                morning = _next_morning(arrival)
                self.at(morning, partial(self.distribute, receiver, product, lot, amount, morning))

    # -- the co-packer -------------------------------------------------------------------------

    def gift_lot(self, received: datetime, uht_lot: str, cases: Decimal) -> None:
        gift = self.products["gift"]
        start = received + timedelta(hours=14)
        lot = f"LH{start:%Y%m%d}"
        inputs = self.take(deque([_Stock(self.products["uht"].gtin, uht_lot, cases)]), cases,
                           "case")
        inputs += self.draw("packager", "giftbox", cases, start, "pcs")
        self.emit_production(start, gift, lot, cases, inputs)
        self.palletise("packager", gift, lot, int(cases), per_case=6, per_pallet=20,
                       moment=start + timedelta(hours=4))
        released = start + timedelta(hours=5)
        self.inspect(released, "packager", gift.gtin, lot, "self",
                     _finished_items(self.rng, "gift", full=False), gift.standard)
        for index, (receiver, share) in enumerate((("dist_fz", Decimal("0.5")),
                                                   ("dist_xm", Decimal("0.4")))):
            shipped = released + timedelta(hours=15, minutes=30 * index)
            amount = (cases * share).to_integral_value(ROUND_DOWN)
            self.ship("packager", receiver, gift.gtin, lot, amount, "pcs", shipped,
                      timedelta(hours=3))
            morning = _next_morning(shipped + timedelta(hours=3))
            self.at(morning, partial(self.distribute, receiver, gift, lot, amount, morning))

    def must_serialise(self, product: _Product) -> bool:
        """Whether the product's category requires unit codes on its single items."""
        return (product.unit == SINGLE_ITEMS and self.reference.category(
            product.category).unit_serialization == "required")

    def serialise(self, owner: str, product: _Product, lot: str, count: int,
                  moment: datetime) -> list[str]:
        """Serialise every unit of the lot; return their GS1 unit codes."""
        start = self.serials.get(product.gtin, 0)
        serials = [f"{start + n:08d}" for n in range(1, count + 1)]
        self.serials[product.gtin] = start + count
        self.emit(moment, owner, names.SERIALIZATION,
                  {"gtin": product.gtin, "lot": lot, "serials": serials})
        return [f"(01){product.gtin}(21){serial}" for serial in serials]

    def palletise(self, owner: str, product: _Product, lot: str, count: int, *,
                  per_case: int | None, per_pallet: int, moment: datetime) -> None:
        """Serialise every unit of the lot, pack them into cases (when ``per_case``) and the
        cases or units onto SSCC-labelled pallets, one aggregation entry per parent."""
        codes = self.serialise(owner, product, lot, count, moment)
        prefix = self.by_key[owner].prefix
        if per_case is not None:
            codes = self.aggregate(owner, prefix, 1, codes, per_case, moment)
        self.aggregate(owner, prefix, 3, codes, per_pallet, moment + timedelta(minutes=20))

    def aggregate(self, owner: str, prefix: str, extension: int, children: Sequence[str],
                  size: int, moment: datetime) -> list[str]:
        parents = []
        for start in range(0, len(children), size):
            reference = self.serials.get(prefix, 0) + 1
            self.serials[prefix] = reference
            parent = _sscc(extension, prefix, reference)
            self.emit(moment, owner, names.AGGREGATION,
                      {"parent": parent, "children": list(children[start:start + size])})
            parents.append(parent)
        return parents

    # -- distribution ----------------------------------------------------------------------------

    _STORES = {"dist_fz": ("market_gl", "market_ja"),
               "dist_xm": ("market_sm", "market_jm", "market_fz")}

    def distribute(self, distributor: str, product: _Product, lot: str, quantity: Decimal,
                   moment: datetime) -> None:
        stores = self._STORES[distributor]
        share = Decimal("0.42") if len(stores) == 2 else Decimal("0.3")
        for index, store in enumerate(stores):
            amount = (quantity * share).to_integral_value(ROUND_DOWN)
            shipped = moment + timedelta(minutes=25 * index)
            self.ship(distributor, store, product.gtin, lot, amount, product.unit, shipped,
                      timedelta(hours=2, minutes=10))
            self.on_shelf.setdefault(store, []).append((product.key, lot))

    def shelf_spot_check(self, day: int) -> None:
        """A supervisory sample from a supermarket shelf (all of these pass)."""
        stores = sorted(self.on_shelf)
        store = stores[day % len(stores)]
        candidates = [(key, lot) for key, lot in self.on_shelf[store]
                      if key in ("fresh", "yoghurt", "uht")
                      and (self.products[key].gtin, lot) not in self.tainted]
        key, lot = candidates[-1]
        product = self.products[key]
        self.inspect(_at(day, 10), "regulator", product.gtin, lot, "spot_check",
                     _finished_items(self.rng, key, full=True), product.standard,
                     lab=_FOOD_LAB)

    # -- child car seats -----------------------------------------------------------------------

    def seat_lot(self, day: int, key: str, low: int, high: int) -> None:
        product = self.products[key]
        moment = _at(day, 9)
        quantity = Decimal(self.rng.randrange(low, high, 4))
        lot = f"{key[-2:].upper()}{_day(day):%y%m%d}"
        inputs: list[dict[str, Any]] = []
        for material, per_unit in product.recipe.items():
            inputs += self.draw("carseat", material, quantity * per_unit, moment,
                                self.materials[material].unit)
        self.emit_production(moment, product, lot, quantity, inputs)
        self.palletise("carseat", product, lot, int(quantity), per_case=None, per_pallet=16,
                       moment=moment + timedelta(hours=8))
        self.at(_at(day + 1, 10), lambda: self.seat_release(day, product, lot, quantity))

    def seat_release(self, day: int, product: _Product, lot: str, quantity: Decimal) -> None:
        self.inspect(_at(day + 1, 10), "carseat", product.gtin, lot, "self",
                     _seat_items(self.rng, product.key, full=False), product.standard)
        if _day(day).day <= 7:  # the monthly 3C follow-up test of a production sample
            self.inspect(_at(day + 1, 16), "carseat", product.gtin, lot, "third_party",
                         _seat_items(self.rng, product.key, full=True), product.standard,
                         lab=_SEAT_LAB)
        # (store, share, hours on the road from Xiamen)
        shares = (("market_ja", Decimal("0.3"), 5), ("market_sm", Decimal("0.3"), 2),
                  ("babystore", Decimal("0.25"), 5))
        for index, (store, share, hours) in enumerate(shares):
            self.ship("carseat", store, product.gtin, lot,
                      (quantity * share).to_integral_value(ROUND_DOWN), "pcs",
                      _at(day + 2, 9, 30 * index), timedelta(hours=hours))


def plan_demo(seed: int = DEFAULT_SEED) -> DemoPlan:
    """Build the demo's statements for ``seed`` (pure: no database, same seed same plan)."""
    return _Planner(seed).run()


# --- loading ----------------------------------------------------------------------------------


