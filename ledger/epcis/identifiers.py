"""GS1 identifiers in EPCIS events, brought to one form: the constrained canonical GS1 Digital
Link URI that the CBV 2.0 event hash ID hashes (CBV 2.0, "Event hash ID", rules on EPC URIs and
GS1 Digital Link URIs).

:func:`canonical_gs1_uri` takes an EPC URI (``urn:epc:id:...``), an EPC class URI
(``urn:epc:class:lgtin:...``), an EPC pattern URI (``urn:epc:idpat:...``) or a GS1 Digital Link
URI on any host, and returns

- ``https://id.gs1.org/`` + the primary key's AI and value (a GTIN always as 14 digits),
- with only the finest level of identification: ``01``/``8006`` with a serial (``21``) drop the
  lot (``10``); the CPV (``22``) is dropped; ``414`` keeps ``254``, ``8010`` keeps ``8011``,
  ``01`` keeps ``235``;
- no query string and no fragment, AI numbers instead of the short names (``gtin``, ``lot``,
  ...), and every value percent-encoded one way: the characters URIs reserve or forbid that
  GS1's character set 82 allows (``! " % & ( ) * + , / : < > ?`` and ``#``) as ``%XX`` in
  upper case, everything else as it is.

Anything else — another URI, text, a malformed EPC — gives ``None``, and the caller hashes the
value as it came. Check digits are computed (an EPC URI has none) but never verified: the hash
names what the event says, right or wrong.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import unquote

from ledger.supervision.check_digits import gs1_check_digit

__all__ = ["canonical_gs1_uri", "dl_encode"]

CANONICAL_HOST = "https://id.gs1.org"

#: characters of GS1 character set 82 that a URI path segment must (or, for DL, should) escape
_ESCAPED = frozenset('!"%&()*+,/:<>?#')


def dl_encode(value: str) -> str:
    """Percent-encode a raw GS1 value for a Digital Link path segment, the one canonical way."""
    if _ESCAPED.isdisjoint(value):
        return value
    return "".join(f"%{ord(char):02X}" if char in _ESCAPED else char for char in value)


def _check(digits: str) -> str:
    return digits + gs1_check_digit(digits)


# --- EPC URIs (GS1 EPC Tag Data Standard, section 6) ---------------------------------------

_URN = re.compile(r"urn:epc:(id|class|idpat):([a-z]+):(.+)")
_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_CHARS_82 = re.compile(r"""[!"%&'()*+,\-./0-9:;<=>?A-Z_a-z]+""")


_CHARS_39 = re.compile(r"[#/0-9A-Z-]+")  # GS1 character set 39, of component / part numbers


def _raw(component: str, limit: int, alphabet: re.Pattern[str] = _CHARS_82) -> str | None:
    """The raw value of an escaped EPC URI component, if it is one of at most ``limit``."""
    if not component or _ESCAPE.search(component):
        return None
    raw = unquote(component)
    if len(raw) > limit or not alphabet.fullmatch(raw):
        return None
    return raw


def _split(body: str, parts: int) -> list[str] | None:
    fields = body.split(".", parts - 1)
    return fields if len(fields) == parts else None


def _prefix_and(fields: list[str], total: int) -> str | None:
    """Company prefix + reference, ``total`` digits together, the prefix 6 to 12 of them."""
    prefix, reference = fields[0], fields[1]
    if not (6 <= len(prefix) <= 12 and (prefix + reference).isdigit()
            and len(prefix) + len(reference) == total and (prefix + reference).isascii()):
        return None
    return prefix + reference


def _gtin(fields: list[str]) -> str | None:
    digits = _prefix_and(fields, 13)  # indicator digit first in the item reference
    if digits is None:
        return None
    prefix_length = len(fields[0])
    return _check(digits[prefix_length] + digits[:prefix_length] + digits[prefix_length + 1:])


def _sgtin(body: str) -> str | None:
    fields = _split(body, 3)
    gtin = _gtin(fields) if fields else None
    serial = _raw(fields[2], 20) if fields else None
    return f"/01/{gtin}/21/{dl_encode(serial)}" if gtin and serial else None


def _sscc(body: str) -> str | None:
    fields = _split(body, 2)
    digits = _prefix_and(fields, 17) if fields else None
    if digits is None or fields is None:
        return None
    cut = len(fields[0])  # the extension digit leads the SSCC, before the company prefix
    return f"/00/{_check(digits[cut] + digits[:cut] + digits[cut + 1:])}"


def _sgln(body: str) -> str | None:
    fields = _split(body, 3)
    gln = _prefix_and(fields, 12) if fields else None
    extension = _raw(fields[2], 20) if fields else None
    if gln is None or extension is None:
        return None
    return f"/414/{_check(gln)}" + ("" if extension == "0" else f"/254/{dl_encode(extension)}")


def _grai(body: str) -> str | None:
    fields = _split(body, 3)
    digits = _prefix_and(fields, 12) if fields else None
    serial = _raw(fields[2], 16) if fields else None
    return f"/8003/{_check('0' + digits)}{dl_encode(serial)}" if digits and serial else None


def _serial_reference(ai: str) -> Callable[[str], str | None]:
    """GIAI and GINC: company prefix and a reference of up to 30 characters together."""
    def convert(body: str) -> str | None:
        fields = _split(body, 2)
        if fields is None or not (6 <= len(fields[0]) <= 12 and fields[0].isdigit()
                                  and fields[0].isascii()):
            return None
        reference = _raw(fields[1], 30 - len(fields[0]))
        return f"/{ai}/{fields[0]}{dl_encode(reference)}" if reference else None
    return convert


def _fixed(ai: str, total: int) -> Callable[[str], str | None]:
    def convert(body: str) -> str | None:
        fields = _split(body, 2)
        digits = _prefix_and(fields, total) if fields else None
        return f"/{ai}/{_check(digits)}" if digits else None
    return convert


def _gdti(body: str) -> str | None:
    fields = _split(body, 3)
    digits = _prefix_and(fields, 12) if fields else None
    serial = _raw(fields[2], 17) if fields else None
    return f"/253/{_check(digits)}{dl_encode(serial)}" if digits and serial else None


def _sgcn(body: str) -> str | None:
    fields = _split(body, 3)
    digits = _prefix_and(fields, 12) if fields else None
    if not digits or fields is None or not re.fullmatch(r"[0-9]{1,12}", fields[2]):
        return None
    return f"/255/{_check(digits)}{fields[2]}"


def _cpi(body: str) -> str | None:
    fields = body.split(".")
    if len(fields) != 3 or not (6 <= len(fields[0]) <= 12 and fields[0].isdigit()
                                and fields[0].isascii()):
        return None
    reference = _raw(fields[1], 30 - len(fields[0]), _CHARS_39)
    if reference is None or not re.fullmatch(r"[0-9]{1,12}", fields[2]):
        return None
    return f"/8010/{fields[0]}{dl_encode(reference)}/8011/{fields[2]}"


def _itip(body: str) -> str | None:
    fields = _split(body, 5)
    gtin = _gtin(fields) if fields else None
    if gtin is None or fields is None or not re.fullmatch(r"[0-9]{2}", fields[2]) \
            or not re.fullmatch(r"[0-9]{2}", fields[3]):
        return None
    serial = _raw(fields[4], 20)
    return f"/8006/{gtin}{fields[2]}{fields[3]}/21/{dl_encode(serial)}" if serial else None


def _upui(body: str) -> str | None:
    fields = _split(body, 3)
    gtin = _gtin(fields) if fields else None
    tpx = _raw(fields[2], 28) if fields else None
    return f"/01/{gtin}/235/{dl_encode(tpx)}" if gtin and tpx else None


def _lgtin(body: str) -> str | None:
    fields = _split(body, 3)
    gtin = _gtin(fields) if fields else None
    lot = _raw(fields[2], 20) if fields else None
    return f"/01/{gtin}/10/{dl_encode(lot)}" if gtin and lot else None


def _pattern(convert: Callable[[str], str | None], parts: int,
             dummy: str) -> Callable[[str], str | None]:
    """An ID pattern ``...*`` names the class: convert with a dummy last part, cut it off."""
    def pattern(body: str) -> str | None:
        fields = body.split(".")
        if len(fields) != parts or fields[-1] != "*":
            return None
        converted = convert(".".join([*fields[:-1], dummy]))
        if converted is None:
            return None
        if converted.startswith(("/01/", "/8006/")):  # drop the serial: /01/{gtin}/21/0
            return "/".join(converted.split("/")[:3])
        if converted.startswith("/8010/"):
            return converted.rsplit("/8011/", 1)[0]
        return converted[: len(converted) - len(dummy)]
    return pattern


_SCHEMES: dict[tuple[str, str], Callable[[str], str | None]] = {
    ("id", "sgtin"): _sgtin,
    ("id", "sscc"): _sscc,
    ("id", "sgln"): _sgln,
    ("id", "grai"): _grai,
    ("id", "giai"): _serial_reference("8004"),
    ("id", "gsrn"): _fixed("8018", 17),
    ("id", "gsrnp"): _fixed("8017", 17),
    ("id", "gdti"): _gdti,
    ("id", "cpi"): _cpi,
    ("id", "sgcn"): _sgcn,
    ("id", "ginc"): _serial_reference("401"),
    ("id", "gsin"): _fixed("402", 16),
    ("id", "itip"): _itip,
    ("id", "upui"): _upui,
    ("id", "pgln"): _fixed("417", 12),
    ("class", "lgtin"): _lgtin,
    ("idpat", "sgtin"): _pattern(_sgtin, 3, "0"),
    ("idpat", "grai"): _pattern(_grai, 3, "0"),
    ("idpat", "gdti"): _pattern(_gdti, 3, "0"),
    ("idpat", "sgcn"): _pattern(_sgcn, 3, "0"),
    ("idpat", "cpi"): _pattern(_cpi, 3, "0"),
    ("idpat", "itip"): _pattern(_itip, 5, "0"),
    ("idpat", "upui"): _pattern(_upui, 3, "0"),
}


def _from_urn(text: str) -> str | None:
    match = _URN.fullmatch(text)
    if match is None:
        return None
    convert = _SCHEMES.get((match.group(1), match.group(2)))
    path = convert(match.group(3)) if convert else None
    return CANONICAL_HOST + path if path else None


# --- GS1 Digital Link URIs (GS1 Digital Link: URI syntax 1.2) -------------------------------

_SHORT_NAMES = {"gtin": "01", "itip": "8006", "cpid": "8010", "gln": "414", "party": "417",
                "gsrnp": "8017", "gsrn": "8018", "gcn": "255", "sscc": "00", "gdti": "253",
                "ginc": "401", "gsin": "402", "grai": "8003", "giai": "8004", "cpv": "22",
                "lot": "10", "ser": "21"}

#: primary key -> (its value's syntax, the qualifiers kept, finest first)
_KEYS: dict[str, tuple[str, tuple[str, ...]]] = {
    "00": (r"[0-9]{18}", ()),
    "01": (r"[0-9]{8}|[0-9]{12,14}", ("21", "235", "10")),
    "253": (r"[0-9]{13}.{0,17}", ()),
    "255": (r"[0-9]{13}[0-9]{0,12}", ()),
    "401": (r".{1,30}", ()),
    "402": (r"[0-9]{17}", ()),
    "414": (r"[0-9]{13}", ("254",)),
    "417": (r"[0-9]{13}", ()),
    "8003": (r"[0-9]{14}.{0,16}", ()),
    "8004": (r".{1,30}", ()),
    "8006": (r"[0-9]{18}", ("21", "10")),
    "8010": (r"[0-9A-Z#/-]{1,30}", ("8011",)),
    "8017": (r"[0-9]{18}", ()),
    "8018": (r"[0-9]{18}", ()),
}
_QUALIFIERS = {"21": r".{1,20}", "10": r".{1,20}", "235": r".{1,28}", "254": r".{1,20}",
               "8011": r"[0-9]{1,12}", "22": r".{1,20}"}
_DL = re.compile(r"https?://[^/?#]+(/[^?#]*)(?:\?[^#]*)?(?:#.*)?")


def _from_digital_link(text: str) -> str | None:
    match = _DL.fullmatch(text)
    if match is None:
        return None
    segments = match.group(1).split("/")
    if segments and segments[-1] == "":
        segments.pop()  # a trailing slash
    # the primary key is the first key whose value starts with four digits (GS1 DL 1.2: a
    # path may sit under a prefix of the resolver's own, /some/path/01/...); a short name
    # (gtin, ser, cpid …) stands for its AI in a key's place only, never as a value (a serial
    # "cpid" stays "cpid")
    start = next((index for index in range(len(segments) - 1)
                  if _SHORT_NAMES.get(segments[index], segments[index]) in _KEYS
                  and re.match(r"[0-9]{4}", segments[index + 1])), None)
    if start is None or (len(segments) - start) % 2:
        return None
    pairs = [(_SHORT_NAMES.get(segments[index], segments[index]), unquote(segments[index + 1]))
             for index in range(start, len(segments), 2)]
    key, value = pairs[0]
    syntax, kept = _KEYS[key]
    if not re.fullmatch(syntax, value) or not (_CHARS_39 if key == "8010" else _CHARS_82
                                               ).fullmatch(value):
        return None
    qualifiers = dict(pairs[1:])
    if len(qualifiers) != len(pairs) - 1 or any(
            ai not in _QUALIFIERS or ai not in (*kept, "22")
            or not re.fullmatch(_QUALIFIERS[ai], raw) or not _CHARS_82.fullmatch(raw)
            for ai, raw in qualifiers.items()):
        return None
    if key == "01":
        value = value.zfill(14)
    path = f"/{key}/{dl_encode(value)}"
    finest = next((ai for ai in kept if ai in qualifiers), None)
    if finest is not None:
        path += f"/{finest}/{dl_encode(qualifiers[finest])}"
    return CANONICAL_HOST + path


def canonical_gs1_uri(text: str) -> str | None:
    """The constrained canonical GS1 Digital Link URI of an EPC or GS1 Digital Link URI, or None
    when ``text`` is neither (see the module's docstring for the form)."""
    if text.startswith("urn:epc:"):
        return _from_urn(text)
    if text.startswith(("https://", "http://")):
        return _from_digital_link(text)
    return None
