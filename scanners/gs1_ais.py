"""The GS1 Application Identifiers: what each one holds and how it may be combined.

Each row below is one AI (or a run of AIs that differ only in a decimal-point digit) as the GS1
General Specifications (section 3, "GS1 Application Identifier definitions", and 4.14, "Rules
for the combination of element strings") define it, written in this module's own notation:

- ``spec``: the value's components, left to right, separated by spaces. A component is a
  character set (``N`` digits, ``X`` the GS1 AI encodable character set 82, ``Y`` set 39,
  ``Z`` file-safe base64) and a length (``N14`` exactly 14, ``X..20`` 1 to 20), in brackets
  when optional, followed by the checks its content must pass, each after a ``:``
  (``N14:csum`` is 14 digits ending in a GS1 check digit). See :mod:`scanners.gs1_lint`.
- ``fixed``: the AI is in the General Specifications' table of predefined-length AIs, so no
  separator (FNC1 / GS) ends its value; every other AI's value ends with one unless it is last.
- ``attr``: the AI may be a GS1 Digital Link data attribute (a query parameter).
- ``key``: the AI is a GS1 Digital Link primary key; ``quals`` lists its key qualifiers in
  their path order (``22,10,21``), with alternatives after ``|``.
- ``req``: the AIs that must appear with it (4.14.2, mandatory associations): alternatives
  separated by ``,``, AIs that must all be present joined by ``+``, several requirements by
  ``;``. ``ex``: AIs that must not appear with it (4.14.1, invalid pairs). In both, ``n`` in
  an AI stands for any digit (``310n``: 3100 to 3109).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["AI_TABLE", "AIDef", "Component", "lookup", "matches", "predefined_length"]


@dataclass(frozen=True)
class Component:
    """One component of an AI's value: its character set, length and content checks."""

    cset: str  # "N", "X", "Y" or "Z"
    min: int
    max: int
    optional: bool
    checks: tuple[str, ...]


@dataclass(frozen=True)
class AIDef:
    """An Application Identifier: its value's components and its combination rules."""

    ai: str
    title: str
    components: tuple[Component, ...]
    fixed: bool  # predefined length: no separator needed after the value
    attr: bool  # permitted as a GS1 Digital Link data attribute
    key: bool  # a GS1 Digital Link primary key
    qualifiers: tuple[tuple[str, ...], ...]  # alternative ordered qualifier lists
    requires: tuple[tuple[tuple[str, ...], ...], ...]  # each: alternatives of AND-groups
    excludes: tuple[str, ...]

    @property
    def min_length(self) -> int:
        """The shortest value: the sum of the mandatory components' minimum lengths."""
        return sum(c.min for c in self.components if not c.optional)

    @property
    def max_length(self) -> int:
        """The longest value: the sum of every component's maximum length."""
        return sum(c.max for c in self.components)


def _component(text: str) -> Component:
    optional = text.startswith("[")
    head, *checks = text.replace("[", "").replace("]", "").split(":")
    cset, length = head[0], head[1:]
    if length.startswith(".."):
        low, high = 1, int(length[2:])
    else:
        low = high = int(length)
    return Component(cset, low, high, optional, tuple(checks))


def _groups(text: str) -> tuple[tuple[tuple[str, ...], ...], ...]:
    if not text:
        return ()
    return tuple(tuple(tuple(alt.split("+")) for alt in req.split(","))
                 for req in text.split(";"))


_ROWS: list[tuple[str, str, str, str, str]] = []


def _r(ais: str, spec: str, title: str, flags: str = "", rules: str = "") -> None:
    """Declare one AI or a run ``first-last`` of them (flags: ``fixed``, ``attr``)."""
    _ROWS.append((ais, spec, title, flags, rules))


# -- identification keys and their qualifiers -------------------------------------------
_r("00", "N18:csum:gcppos2", "SSCC", "fixed attr", "key")
_r("01", "N14:csum:gcppos2", "GTIN", "fixed attr", "ex=255,37 key=22,10,21|235")
_r("02", "N14:csum:gcppos2", "CONTENT", "fixed attr", "ex=01,03 req=37")
_r("03", "N14:csum:gcppos2", "MTO GTIN", "fixed", "ex=01,02,37")
_r("10", "X..20", "BATCH/LOT", "attr", "req=01,02,03,8006,8026")
_r("11", "N6:yymmd0", "PROD DATE", "fixed attr", "req=01,02,03,8006,8026")
_r("12", "N6:yymmd0", "DUE DATE", "fixed attr", "req=8020")
_r("13", "N6:yymmd0", "PACK DATE", "fixed attr", "req=01,02,03,8006,8026")
_r("15", "N6:yymmd0", "BEST BEFORE or BEST BY", "fixed attr", "req=01,02,03,8006,8026")
_r("16", "N6:yymmd0", "SELL BY", "fixed attr", "req=01,02,03,8006,8026")
_r("17", "N6:yymmd0", "USE BY or EXPIRY", "fixed attr", "req=01,02,03,255,8006,8026")
_r("20", "N2", "VARIANT", "fixed attr", "req=01,02,8006,8026")
_r("21", "X..20", "SERIAL", "", "req=01,03,8006 ex=235")
_r("22", "X..20", "CPV", "", "req=01")
_r("235", "X..28", "TPX", "", "req=01")
_r("240", "X..30", "ADDITIONAL ID", "attr", "req=01,02,8006,8026")
_r("241", "X..30", "CUST. PART No.", "attr", "req=01,02,8006,8026")
_r("242", "N..6", "MTO VARIANT", "attr", "req=01,02,8006,8026")
_r("243", "X..20", "PCN", "attr", "req=01")
_r("250", "X..30", "SECONDARY SERIAL", "attr", "req=01,8006;21")
_r("251", "X..30", "REF. TO SOURCE", "attr", "req=01,8006")
_r("253", "N13:csum:gcppos1 [X..17]", "GDTI", "attr", "key")
_r("254", "X..20", "GLN EXTENSION COMPONENT", "", "req=414")
_r("255", "N13:csum:gcppos1 [N..12]", "GCN", "attr", "key ex=01,02,415,8006,8020,8026")
_r("30", "N..8", "VAR. COUNT", "attr", "req=01,02")

# -- trade measures (the fourth digit places the decimal point) ---------------------------
_TRADE = "req=01,02"
_LOGISTIC = "req=00,01"
for _first, _title, _rule in (
    ("310", "NET WEIGHT (kg)", _TRADE), ("311", "LENGTH (m)", _TRADE),
    ("312", "WIDTH (m)", _TRADE), ("313", "HEIGHT (m)", _TRADE), ("314", "AREA (m²)", _TRADE),
    ("315", "NET VOLUME (l)", _TRADE), ("316", "NET VOLUME (m³)", _TRADE),
    ("320", "NET WEIGHT (lb)", _TRADE), ("321", "LENGTH (in)", _TRADE),
    ("322", "LENGTH (ft)", _TRADE), ("323", "LENGTH (yd)", _TRADE),
    ("324", "WIDTH (in)", _TRADE), ("325", "WIDTH (ft)", _TRADE), ("326", "WIDTH (yd)", _TRADE),
    ("327", "HEIGHT (in)", _TRADE), ("328", "HEIGHT (ft)", _TRADE),
    ("329", "HEIGHT (yd)", _TRADE),
    ("330", "GROSS WEIGHT (kg)", _LOGISTIC), ("331", "LENGTH (m), log", _LOGISTIC),
    ("332", "WIDTH (m), log", _LOGISTIC), ("333", "HEIGHT (m), log", _LOGISTIC),
    ("334", "AREA (m²), log", _LOGISTIC), ("335", "VOLUME (l), log", _LOGISTIC),
    ("336", "VOLUME (m³), log", _LOGISTIC), ("337", "KG PER m²", "req=01"),
    ("340", "GROSS WEIGHT (lb)", _LOGISTIC), ("341", "LENGTH (in), log", _LOGISTIC),
    ("342", "LENGTH (ft), log", _LOGISTIC), ("343", "LENGTH (yd), log", _LOGISTIC),
    ("344", "WIDTH (in), log", _LOGISTIC), ("345", "WIDTH (ft), log", _LOGISTIC),
    ("346", "WIDTH (yd), log", _LOGISTIC), ("347", "HEIGHT (in), log", _LOGISTIC),
    ("348", "HEIGHT (ft), log", _LOGISTIC), ("349", "HEIGHT (yd), log", _LOGISTIC),
    ("350", "AREA (in²)", _TRADE), ("351", "AREA (ft²)", _TRADE), ("352", "AREA (yd²)", _TRADE),
    ("353", "AREA (in²), log", _LOGISTIC), ("354", "AREA (ft²), log", _LOGISTIC),
    ("355", "AREA (yd²), log", _LOGISTIC), ("356", "NET WEIGHT (tr oz)", _TRADE),
    ("357", "NET VOLUME (oz)", _TRADE), ("360", "NET VOLUME (qt (US))", _TRADE),
    ("361", "NET VOLUME (gal.)", _TRADE), ("362", "VOLUME (qt (US)), log", _LOGISTIC),
    ("363", "VOLUME (gal (US)), log", _LOGISTIC), ("364", "NET VOLUME (in³)", _TRADE),
    ("365", "NET VOLUME (ft³)", _TRADE), ("366", "NET VOLUME (yd³)", _TRADE),
    ("367", "VOLUME (in³), log", _LOGISTIC), ("368", "VOLUME (ft³), log", _LOGISTIC),
    ("369", "VOLUME (yd³), log", _LOGISTIC),
):
    _r(f"{_first}0-{_first}5", "N6", _title, "fixed attr", f"{_rule} ex={_first}n")

_r("37", "N..8", "COUNT", "attr", "req=00;02,8026")
_PRICED = "30,31nn,32nn,35nn,36nn"
_r("3900-3909", "N..15", "AMOUNT", "attr", "req=255,8020 ex=390n,391n,394n,8111")
_r("3910-3919", "N3:iso4217 N..15", "AMOUNT", "attr", "req=8020 ex=391n")
_r("3920-3929", "N..15", "PRICE", "attr", f"req=01;{_PRICED} ex=392n,393n")
_r("3930-3939", "N3:iso4217 N..15", "PRICE", "attr", f"req={_PRICED} ex=393n")
_r("3940-3943", "N4", "PRCNT OFF", "attr", "req=255 ex=394n,8111")
_r("3950-3955", "N6", "PRICE/UoM", "attr", f"req={_PRICED} ex=392n,393n,395n,8005")

# -- references, locations and shipping ---------------------------------------------------
_r("400", "X..30", "ORDER NUMBER", "attr")
_r("401", "X..30:gcppos1", "GINC", "attr", "key")
_r("402", "N17:csum:gcppos1", "GSIN", "attr", "key")
_r("403", "X..30", "ROUTE", "attr", "req=00")
_r("410", "N13:csum:gcppos1", "SHIP TO LOC", "fixed attr")
_r("411", "N13:csum:gcppos1", "BILL TO", "fixed attr")
_r("412", "N13:csum:gcppos1", "PURCHASE FROM", "fixed attr")
_r("413", "N13:csum:gcppos1", "SHIP FOR LOC", "fixed attr")
_r("414", "N13:csum:gcppos1", "LOC No.", "fixed attr", "key=254|7040")
_r("415", "N13:csum:gcppos1", "PAY TO", "fixed attr", "req=8020 key=8020")
_r("416", "N13:csum:gcppos1", "PROD/SERV LOC", "fixed attr")
_r("417", "N13:csum:gcppos1", "PARTY", "fixed attr", "key=7040")
_r("420", "X..20", "SHIP TO POST", "attr", "ex=421")
_r("421", "N3:iso3166 X..9", "SHIP TO POST", "attr", "ex=4307")
_r("422", "N3:iso3166", "ORIGIN", "attr", "req=01,02,8006,8026 ex=426")
_COUNTRIES = "N3:iso3166 [N3:iso3166] [N3:iso3166] [N3:iso3166] [N3:iso3166]"
_r("423", _COUNTRIES, "COUNTRY - INITIAL PROCESS", "attr", "req=01,02 ex=426")
_r("424", "N3:iso3166", "COUNTRY - PROCESS", "attr", "req=01,02 ex=426")
_r("425", _COUNTRIES, "COUNTRY - DISASSEMBLY", "attr", "req=01,02 ex=426")
_r("426", "N3:iso3166", "COUNTRY - FULL PROCESS", "attr", "req=01,02")
_r("427", "X..3", "ORIGIN SUBDIVISION", "attr", "req=01,02;422")
for _ai, _spec, _title, _rule in (
    ("4300", "X..35:pcenc", "SHIP TO COMP", "req=00"),
    ("4301", "X..35:pcenc", "SHIP TO NAME", "req=00"),
    ("4302", "X..70:pcenc", "SHIP TO ADD1", "req=00"),
    ("4303", "X..70:pcenc", "SHIP TO ADD2", "req=4302"),
    ("4304", "X..70:pcenc", "SHIP TO SUB", "req=00"),
    ("4305", "X..70:pcenc", "SHIP TO LOC", "req=00"),
    ("4306", "X..70:pcenc", "SHIP TO REG", "req=00"),
    ("4307", "X2:iso3166alpha2", "SHIP TO COUNTRY", "req=00"),
    ("4308", "X..30", "SHIP TO PHONE", "req=00"),
    ("4309", "N10:latitude N10:longitude", "SHIP TO GEO", "req=00"),
    ("4310", "X..35:pcenc", "RTN TO COMP", "req=00"),
    ("4311", "X..35:pcenc", "RTN TO NAME", "req=00"),
    ("4312", "X..70:pcenc", "RTN TO ADD1", "req=00"),
    ("4313", "X..70:pcenc", "RTN TO ADD2", "req=4312"),
    ("4314", "X..70:pcenc", "RTN TO SUB", "req=00"),
    ("4315", "X..70:pcenc", "RTN TO LOC", "req=00"),
    ("4316", "X..70:pcenc", "RTN TO REG", "req=00"),
    ("4317", "X2:iso3166alpha2", "RTN TO COUNTRY", "req=00"),
    ("4318", "X..20", "RTN TO POST", "req=00"),
    ("4319", "X..30", "RTN TO PHONE", "req=00"),
    ("4320", "X..35:pcenc", "SRV DESCRIPTION", "req=00"),
    ("4321", "N1:yesno", "DANGEROUS GOODS", "req=00"),
    ("4322", "N1:yesno", "AUTH TO LEAVE", "req=00"),
    ("4323", "N1:yesno", "SIG REQUIRED", "req=00"),
    ("4324", "N6:yymmd0 N4:hhmi", "NOT BEF DEL DT", "req=00"),
    ("4325", "N6:yymmd0 N4:hhmi", "NOT AFT DEL DT", "req=00"),
    ("4326", "N6:yymmdd", "REL DATE", "req=00"),
    ("4330", "N6 [X1:hyphen]", "MAX TEMP F.", "req=00 ex=4331"),
    ("4331", "N6 [X1:hyphen]", "MAX TEMP C.", "req=00 ex=4330"),
    ("4332", "N6 [X1:hyphen]", "MIN TEMP F.", "req=00 ex=4333"),
    ("4333", "N6 [X1:hyphen]", "MIN TEMP C.", "req=00 ex=4332"),
):
    _r(_ai, _spec, _title, "attr", _rule)

# -- product, origin and regulatory attributes -------------------------------------------
_r("7001", "N13", "NSN", "attr", "req=01,02,8006,8026")
_r("7002", "X..30", "MEAT CUT", "attr", "req=01,02")
_r("7003", "N6:yymmdd N4:hhmi", "EXPIRY TIME", "attr", "req=01,02")
_r("7004", "N..4", "ACTIVE POTENCY", "attr", "req=01+10")
_r("7005", "X..12", "CATCH AREA", "attr", "req=01,02")
_r("7006", "N6:yymmdd", "FIRST FREEZE DATE", "attr", "req=01,02")
_r("7007", "N6:yymmdd [N6:yymmdd]", "HARVEST DATE", "attr", "req=01,02")
_r("7008", "X..3", "AQUATIC SPECIES", "attr", "req=01,02")
_r("7009", "X..10", "FISHING GEAR TYPE", "attr", "req=01,02")
_r("7010", "X..2", "PROD METHOD", "attr", "req=01,02")
_r("7011", "N6:yymmdd [N4:hhmi]", "TEST BY DATE", "attr", "req=01,02")
_r("7020", "X..20", "REFURB LOT", "attr", "req=01,8006;416")
_r("7021", "X..20", "FUNC STAT", "attr", "req=01,8006")
_r("7022", "X..20", "REV STAT", "attr", "req=7021")
_r("7023", "X..30:gcppos1", "GIAI - ASSEMBLY", "attr")
for _digit in range(10):
    _r(f"703{_digit}", "N3:iso3166999 X..27", f"PROCESSOR # {_digit}", "attr", "req=01,02")
_r("7040", "N1 X1 X1 X1:importeridx", "UIC+EXT")
_r("7041", "X..4:packagetype", "UFRGT UNIT TYPE", "", "req=00")
for _ai, _title in (("710", "NHRN PZN"), ("711", "NHRN CIP"), ("712", "NHRN CN"),
                    ("713", "NHRN DRN"), ("714", "NHRN AIM"), ("715", "NHRN NDC"),
                    ("716", "NHRN AIC"), ("717", "NHRN SRN")):
    _r(_ai, "X..20", _title, "attr", "req=01")
for _digit in range(10):
    _r(f"723{_digit}", "X2 X..28", f"CERT # {_digit + 1}", "attr", "req=01,8004")
_r("7240", "X..20", "PROTOCOL", "attr", "req=01,8006")
_r("7241", "N2:mediatype", "AIDC MEDIA TYPE", "attr", "req=8017,8018")
_r("7242", "X..25", "VCN", "attr", "req=8017,8018")
_r("7250", "N8:yyyymmdd", "DOB", "attr", "req=8018 ex=7251")
_r("7251", "N8:yyyymmdd N4:hhmi", "DOB TIME", "attr", "req=8018 ex=7250")
_r("7252", "N1:iso5218", "BIO SEX", "attr", "req=8018")
_r("7253", "X..40:pcenc", "FAMILY NAME", "attr", "req=8017,8018 ex=7256,7259")
_r("7254", "X..40:pcenc", "GIVEN NAME", "attr", "req=8017,8018 ex=7256,7259")
_r("7255", "X..10", "SUFFIX", "attr", "req=8017,8018 ex=7256,7259")
_r("7256", "X..90:pcenc", "FULL NAME", "attr", "req=8017,8018")
_r("7257", "X..70:pcenc", "PERSON ADDR", "attr", "req=8018")
_r("7258", "X3:posinseqslash", "BIRTH SEQUENCE", "attr", "req=8018+7259")
_r("7259", "X..40:pcenc", "BABY", "attr", "req=8018 ex=7256")

# -- the 8000s -----------------------------------------------------------------------------
_r("8001", "N4:nonzero N5:nonzero N3:nonzero N1:winding N1", "DIMENSIONS", "attr", "req=01")
_r("8002", "X..20", "CMT No.", "attr")
_r("8003", "N1:zero N13:csum:gcppos1 [X..16]", "GRAI", "attr", "key")
_r("8004", "X..30:gcppos1", "GIAI", "attr", "key=7040")
_r("8005", "N6", "PRICE PER UNIT", "attr", "req=01,02")
_r("8006", "N14:csum:gcppos2 N4:pieceoftotal", "ITIP", "attr", "ex=01,37 key=22,10,21")
_r("8007", "X..34:iban", "IBAN", "attr", "req=415")
_r("8008", "N6:yymmdd N2:hh [N2:mi] [N2:ss]", "PROD TIME", "attr", "req=01,02")
_r("8009", "X..50", "OPTSEN", "attr", "req=00,01")
_r("8010", "Y..30:gcppos1", "CPID", "attr", "key=8011")
_r("8011", "N..12:nozeroprefix", "CPID SERIAL", "", "req=8010")
_r("8012", "X..20", "VERSION", "attr", "req=01,8006")
_r("8013", "X..25:csumalpha:gcppos1", "GMN", "attr", "key")
_r("8014", "X..25:csumalpha:gcppos1:hasnondigit", "MUDI", "", "req=01")
_r("8017", "N18:csum:gcppos1", "GSRN - PROVIDER", "attr", "ex=8018 key=8019")
_r("8018", "N18:csum:gcppos1", "GSRN - RECIPIENT", "attr", "ex=8017 key=8019")
_r("8019", "N..10", "SRIN", "", "req=8017,8018")
_r("8020", "X..25", "REF No.", "", "req=415")
_r("8026", "N14:csum:gcppos2 N4:pieceoftotal", "ITIP CONTENT", "attr", "req=37 ex=02,8006")
_r("8030", "Z..90", "DIGSIG", "attr",
   "req=00,01+21,253,255,8003,8004,8006+21,8010+8011,8017,8018")
_r("8040", "N15", "IMEI", "", "req=01+21")
_r("8041", "N15", "IMEI2", "", "req=01+21+8040")
_r("8042", "N32", "ESIM", "", "req=01+21+8040")
_r("8043", "N18 [N..2]", "PSIM", "", "req=01+21+8040")
_r("8110", "X..70:couponcode", "COUPON", "attr")
_r("8111", "N4", "POINTS", "attr", "req=255")
_r("8112", "X..70:couponposoffer", "COUPON POSITIVE OFFER", "attr")
_r("8200", "X..70", "PRODUCT URL", "", "req=01")
_r("90", "X..30", "INTERNAL", "attr")
_r("91-99", "X..90", "INTERNAL", "attr")


def _build() -> dict[str, AIDef]:
    table: dict[str, AIDef] = {}
    for ais, spec, title, flags, rules in _ROWS:
        first, _, last = ais.partition("-")
        components = tuple(_component(part) for part in spec.split())
        key = False
        qualifiers: tuple[tuple[str, ...], ...] = ()
        requires: list[tuple[tuple[str, ...], ...]] = []
        excludes: tuple[str, ...] = ()
        for rule in rules.split():
            name, _, value = rule.partition("=")
            if name == "key":
                key = True
                qualifiers = tuple(tuple(q.split(",")) for q in value.split("|")) if value else ()
            elif name == "req":
                requires.extend(_groups(value))
            elif name == "ex":
                excludes = tuple(value.split(","))
            else:  # pragma: no cover - a typo in the table above
                raise ValueError(f"unknown rule {rule!r} for AI {ais}")
        for number in range(int(first), int(last or first) + 1):
            ai = str(number).zfill(len(first))
            table[ai] = AIDef(ai=ai, title=title, components=components,
                              fixed="fixed" in flags.split(), attr="attr" in flags.split(),
                              key=key, qualifiers=qualifiers, requires=tuple(requires),
                              excludes=excludes)
    return table


#: every known AI by its digits
AI_TABLE: dict[str, AIDef] = _build()


def lookup(ai: str) -> AIDef | None:
    """The definition of ``ai`` (its exact digits), or None when GS1 defines no such AI."""
    return AI_TABLE.get(ai)


def matches(pattern: str, ai: str) -> bool:
    """Whether ``ai`` fits ``pattern``, where ``n`` in the pattern stands for any digit."""
    return len(pattern) == len(ai) and all(p in ("n", a) for p, a in zip(pattern, ai, strict=True))


#: the AI length (digits) by the AI's first two digits, for AIs GS1 has not defined yet
#: (General Specifications 3.1, figure 3.1-1: each prefix fixes the length of its AIs)
def _length_by_prefix() -> dict[str, int]:
    lengths: dict[str, int] = {}
    for ai in AI_TABLE:
        lengths.setdefault(ai[:2], len(ai))
    return lengths


AI_LENGTH_BY_PREFIX: dict[str, int] = _length_by_prefix()

#: the predefined value lengths by AI prefix (General Specifications figure 7.8.5-2), which
#: hold even for AIs of these prefixes that are not allocated yet
_PREDEFINED: dict[str, int] = {
    "00": 18, "01": 14, "02": 14, "03": 14, "04": 16,
    **{str(p): 6 for p in range(11, 20)}, "20": 2,
    **{str(p): 6 for p in range(31, 37)}, "41": 13,
}


def predefined_length(prefix: str) -> int | None:
    """The predefined value length for AIs starting with these two digits, if there is one."""
    return _PREDEFINED.get(prefix)
