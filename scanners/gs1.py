"""GS1 data: element strings, scanner output and GS1 Digital Link URIs, read and validated.

Three ways of writing the same Application Identifier (AI) data are read here:

- the bracketed human-readable form ``(01)09521234543213(10)ABC123``, a ``(`` inside a value
  written ``\\(``;
- the unbracketed form barcode scanners deliver (GS1-128, GS1 DataMatrix, GS1 QR Code, GS1
  DotCode, GS1 DataBar): AIs run into one another, and a GS (ASCII 29, the symbol's FNC1)
  ends each value whose length is not predefined, unless it is the last;
- GS1 Digital Link URIs (GS1 Digital Link standard 1.4, section 4 "URI syntax"):
  ``https://any.domain/any/stem/01/09521234543213/10/ABC123?17=251231``.

Whatever the form, the result is checked as the GS1 General Specifications require: each
value against its AI's format (length, character set, check digits, dates… see
:mod:`scanners.gs1_ais` and :mod:`scanners.gs1_lint`) and the AIs against one another (4.14:
required associations, invalid pairs, repeated AIs with different values, a digital signature
only on a serialised key). Everything is read in one pass, in time linear in the input's
length, without recursion; input longer than :data:`MAX_LENGTH` is refused before it is read.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache

from scanners import gs1_ais, gs1_lint
from scanners.errors import CodeError
from scanners.gs1_ais import AIDef, Component

__all__ = [
    "DEFAULT_OPTIONS", "GS", "MAX_LENGTH", "GS1Data", "Options", "digital_link",
    "element_string", "parse_bracketed", "parse_digital_link", "parse_scan_data",
    "parse_unbracketed", "validate",
]

#: the group separator that stands for FNC1 in scanner output
GS = "\x1d"
#: the longest code text read at all (a GS1 QR Code holds at most 7,089 characters)
MAX_LENGTH = 8192


@dataclass(frozen=True)
class Options:
    """Departures from the GS1 defaults, for reading legacy data (all off by default)."""

    permit_unknown_ais: bool = False
    permit_zero_suppressed_gtin: bool = False  # GTIN-8/12/13 in a Digital Link URI
    permit_convenience_alphas: bool = False  # /gtin/… instead of /01/…
    unknown_ai_not_dl_attr: bool = True  # an unknown AI may not be a DL query parameter
    validate_requisites: bool = True  # 4.14.2 mandatory associations


DEFAULT_OPTIONS = Options()


@dataclass(frozen=True)
class GS1Data:
    """AI data as read: ``ais`` in the order read; for a Digital Link URI, the first
    ``dl_path`` of them came from its path (in path order), the rest from its query."""

    ais: tuple[tuple[str, str], ...]
    dl_path: int = 0
    ignored_query_params: tuple[str, ...] = field(default=())
    symbology: str | None = None


def _field(ai: str) -> str:
    return f"ai.{ai}"


# --- the AI table, as this reader sees it ------------------------------------------------

def _unknown(ai: str) -> AIDef:
    """An AI GS1 has not allocated, read under ``permit_unknown_ais``: any X..90 value, or the
    predefined length its prefix has."""
    predefined = gs1_ais.predefined_length(ai[:2])
    if predefined:
        component = Component("X", predefined, predefined, False, ())
    else:
        component = Component("X", 1, 90, False, ())
    return AIDef(ai=ai, title="UNKNOWN", components=(component,), fixed=predefined is not None,
                 attr=True, key=False, qualifiers=(), requires=(), excludes=())


def _definition(ai: str, options: Options) -> AIDef:
    known = gs1_ais.lookup(ai)
    if known:
        return known
    if options.permit_unknown_ais and ai.isascii() and ai.isdigit() and 2 <= len(ai) <= 4:
        return _unknown(ai)
    raise CodeError("code.ai.unknown", f"({ai}) is not a GS1 Application Identifier",
                    _field(ai))


def _is_unknown(definition: AIDef) -> bool:
    return definition.title == "UNKNOWN"


# --- one value ---------------------------------------------------------------------------

def _check_length(definition: AIDef, value: str, *, separated: bool = False) -> None:
    ai = definition.ai
    if not value:
        raise CodeError("code.ai.empty", f"({ai}) has no value", _field(ai))
    if len(value) < definition.min_length:
        raise CodeError("code.ai.too_short",
                        f"({ai}) needs at least {definition.min_length} characters; "
                        f"got {len(value)}", _field(ai))
    if len(value) > definition.max_length:
        hint = (": a GS separator (FNC1) is probably missing after it"
                if separated and not definition.fixed else "")
        raise CodeError("code.ai.too_long",
                        f"({ai}) holds at most {definition.max_length} characters; "
                        f"got {len(value)}{hint}", _field(ai))


_CHECK_WORDS = {
    "incorrect_check_digit": "its check digit is wrong",
    "non_digit_character": "it may hold digits only",
    "invalid_cset82_character": "it holds a character outside the GS1 character set 82",
    "invalid_cset39_character": "it holds a character outside the GS1 character set 39",
    "invalid_cset64_character": "it holds a character outside file-safe base64",
    "illegal_month": "its month is not 01-12",
    "illegal_day": "its day does not exist in that month",
}


def _validate_value(definition: AIDef, value: str) -> None:
    """Check a value against its AI's components, raising :class:`CodeError` on the first flaw."""
    ai = definition.ai
    _check_length(definition, value)
    if "^" in value:
        raise CodeError("code.ai.charset", f"({ai}) holds a '^', which is not GS1 data",
                        _field(ai))
    pos = 0
    for component in definition.components:
        piece = value[pos:pos + component.max]
        if component.optional and not piece:
            continue
        if len(piece) < component.min:
            raise CodeError("code.ai.too_short",
                            f"({ai}) is too short for its components", _field(ai))
        checks = (gs1_lint.CSET_CHECKS[component.cset],
                  *(gs1_lint.CHECKS[name] for name in component.checks))
        for check in checks:
            flaw = check(piece)
            if flaw:
                at = pos + flaw.pos
                words = _CHECK_WORDS.get(flaw.name, flaw.name.replace("_", " "))
                code = ("code.check_digit" if flaw.name == "incorrect_check_digit"
                        else f"code.ai.{flaw.name}")
                shown = value[:at] + "|" + value[at:at + flaw.length] + "|" + \
                    value[at + flaw.length:]
                raise CodeError(code, f"({ai}){value}: {words} ({ai}){shown}", _field(ai))
        pos += len(piece)


# --- the AIs together --------------------------------------------------------------------

def _patterns(ai: str) -> Iterable[str]:
    """The patterns an AI matches: itself and itself with trailing digits as ``n``."""
    for keep in range(len(ai), 0, -1):
        yield ai[:keep] + "n" * (len(ai) - keep)


def validate(ais: Sequence[tuple[str, str]], options: Options = DEFAULT_OPTIONS) -> None:
    """Check every value and the rules between AIs (General Specifications 4.14)."""
    definitions: dict[str, AIDef] = {}
    values: dict[str, str] = {}
    for ai, value in ais:
        definition = definitions.get(ai) or _definition(ai, options)
        definitions[ai] = definition
        if ai in values:
            if values[ai] != value:
                raise CodeError("code.ai.repeated",
                                f"({ai}) appears twice with different values", _field(ai))
            continue
        values[ai] = value
        _validate_value(definition, value)
    # pattern -> the distinct AIs present that match it, so each rule is one lookup
    present: dict[str, set[str]] = defaultdict(set)
    for ai in values:
        for pattern in _patterns(ai):
            present[pattern].add(ai)

    def exists(pattern: str, other_than: str) -> bool:
        return bool(present.get(pattern, set()) - {other_than})

    for ai, definition in definitions.items():
        for pattern in definition.excludes:
            if exists(pattern, ai):
                other = sorted(present[pattern] - {ai})[0]
                raise CodeError("code.ai.exclusive",
                                f"({ai}) and ({other}) may not appear together", _field(ai))
        if options.validate_requisites:
            for requirement in definition.requires:
                if not any(all(exists(p, ai) for p in group) for group in requirement):
                    wanted = " or ".join("+".join(f"({p})" for p in group)
                                         for group in requirement)
                    raise CodeError("code.ai.requires",
                                    f"({ai}) needs {wanted} with it", _field(ai))
    if "8030" in values:
        # a digital signature signs a serialised item (General Specifications 3.9.15)
        for ai in ("253", "255", "8003"):
            if ai in values and len(values[ai]) == definitions[ai].min_length:
                raise CodeError("code.ai.digsig_serial",
                                f"(8030) signs a serialised key, but ({ai}) has no serial "
                                "component", _field(ai))


# --- element strings ---------------------------------------------------------------------

def _check_size(text: str) -> None:
    if len(text) > MAX_LENGTH:
        raise CodeError("code.too_long",
                        f"a code is at most {MAX_LENGTH} characters; got {len(text)}")


def parse_bracketed(text: str, options: Options = DEFAULT_OPTIONS) -> GS1Data:
    """Read ``(01)09521234543213(10)ABC123`` (``\\(`` stands for a ``(`` in a value)."""
    _check_size(text)
    if not text.startswith("("):
        raise CodeError("code.element_string.format",
                        "a bracketed element string starts with an AI in brackets, e.g. (01)")
    ais: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        close = text.find(")", pos + 1)
        if close < 0:
            raise CodeError("code.element_string.format",
                            f"the AI at character {pos + 1} is not closed with ')'")
        ai = text[pos + 1:close]
        if not (ai.isascii() and ai.isdigit() and 2 <= len(ai) <= 4):
            raise CodeError("code.element_string.format",
                            f"({ai}) is not an AI: an AI is 2 to 4 digits")
        definition = _definition(ai, options)
        # the value runs to the next unescaped "("
        chars: list[str] = []
        pos = close + 1
        while pos < len(text) and text[pos] != "(":
            if text.startswith("\\(", pos):
                chars.append("(")
                pos += 2
            else:
                chars.append(text[pos])
                pos += 1
        value = "".join(chars)
        _check_length(definition, value)
        ais.append((ai, value))
    validate(ais, options)
    return GS1Data(tuple(ais))


def _ai_at(data: str, pos: int, options: Options) -> AIDef:
    for length in (2, 3, 4):
        candidate = data[pos:pos + length]
        if len(candidate) == length and candidate.isascii() and candidate.isdigit():
            known = gs1_ais.lookup(candidate)
            if known:
                return known
    prefix = data[pos:pos + 2]
    if options.permit_unknown_ais and len(prefix) == 2 and prefix.isascii() and prefix.isdigit():
        ai_length = gs1_ais.AI_LENGTH_BY_PREFIX.get(prefix, 0)
        ai = data[pos:pos + ai_length]
        if ai_length and len(ai) == ai_length and ai.isdigit():
            return _unknown(ai)
    shown = data[pos:pos + 4].replace(GS, "<GS>")
    raise CodeError("code.ai.unknown",
                    f"no GS1 Application Identifier starts the data at '{shown}…'")


def parse_unbracketed(data: str, options: Options = DEFAULT_OPTIONS) -> GS1Data:
    """Read scanner output after its symbology identifier: AIs and values run together, a GS
    after each value whose length is not predefined (a trailing GS is tolerated)."""
    _check_size(data)
    if not data:
        raise CodeError("code.element_string.empty", "the code carries no GS1 data")
    if "^" in data:
        raise CodeError("code.element_string.format",
                        "'^' is not GS1 data (it is sometimes written for FNC1; send GS)")
    ais: list[tuple[str, str]] = []
    pos = 0
    while pos < len(data):
        definition = _ai_at(data, pos, options)
        ai = definition.ai
        pos += len(ai)
        end = data.find(GS, pos)
        if end < 0:
            end = len(data)
        if definition.fixed:
            end = min(end, pos + definition.max_length)
        value = data[pos:end]
        _check_length(definition, value, separated=True)
        if not definition.fixed:
            try:
                _validate_value(definition, value)
            except CodeError as error:
                # a value that ran on into the next AI reads as a bad value: say so
                raise CodeError(error.code, f"{error.message}; if another AI follows "
                                f"({ai}), the GS separator (FNC1) after its value is missing",
                                error.field) from None
        ais.append((ai, value))
        pos = end
        if pos < len(data) and data[pos] == GS:
            pos += 1
    validate(ais, options)
    return GS1Data(tuple(ais))


def element_string(ais: Iterable[tuple[str, str]]) -> str:
    """The bracketed element string, a ``(`` in a value written ``\\(``."""
    return "".join(f"({ai}){value.replace('(', chr(92) + '(')}" for ai, value in ais)


# --- GS1 Digital Link --------------------------------------------------------------------

_URI_CHARACTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
                            "-._~:/?#[]@!$&'()*+,;=%")
_BAD_DOMAIN = frozenset("_~?#@!$&'()*+,;=%")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_SCHEMES = ("https://", "HTTPS://", "http://", "HTTP://")
_HEX = frozenset("0123456789abcdefABCDEF")

#: the short names of keys and qualifiers that GS1 Digital Link 1.0 allowed in paths
_CONVENIENCE_ALPHAS = {
    "gtin": "01", "itip": "8006", "cpv": "22", "lot": "10", "ser": "21", "tpx": "235",
    "sscc": "00", "gdti": "253", "gcn": "255", "gln": "414", "glnx": "254", "party": "417",
    "grai": "8003", "giai": "8004", "ginc": "401", "gsin": "402", "cpid": "8010",
    "cpsn": "8011", "gmn": "8013", "gsrnp": "8017", "gsrn": "8018", "srin": "8019",
    "refno": "8020", "payto": "415",
}


def is_digital_link(text: str) -> bool:
    """Whether the text is written as an HTTP(S) URI the way GS1 Digital Link allows."""
    return text.startswith(_SCHEMES)


def _unescape(text: str, *, query: bool, ai: str) -> str:
    out = bytearray()
    pos = 0
    raw = text.encode("utf-8")
    while pos < len(raw):
        byte = raw[pos]
        if byte == 0x25 and pos < len(raw) - 2:
            pair = raw[pos + 1:pos + 3].decode("ascii", "replace")
            if not all(c in _HEX for c in pair):  # a lone '%' stands for itself
                out.append(byte)
                pos += 1
                continue
            decoded = int(pair, 16)
            if decoded == 0:
                raise CodeError("code.dl.null", f"the value of ({ai}) decodes to a NUL character",
                                _field(ai))
            out.append(decoded)
            pos += 3
            continue
        out.append(0x20 if query and byte == 0x2B else byte)
        pos += 1
    return out.decode("utf-8", "replace")


def _escape(value: str, *, query: bool) -> str:
    out: list[str] = []
    for char in value:
        if char in _UNRESERVED:
            out.append(char)
        elif query and char == " ":
            out.append("+")
        else:
            out.extend(f"%{byte:02X}" for byte in char.encode("utf-8"))
    return "".join(out)


def _path_sequences(definition: AIDef) -> Iterable[tuple[str, ...]]:
    """Every valid path after the key: an ordered subset of one list of its qualifiers."""
    yield ()
    for qualifiers in definition.qualifiers:
        for mask in range(1, 1 << len(qualifiers)):
            yield tuple(q for i, q in enumerate(qualifiers) if mask >> i & 1)


@cache
def _qualifier_paths(key: str) -> frozenset[tuple[str, ...]]:
    definition = gs1_ais.lookup(key)
    if definition is None or not definition.key:
        return frozenset()
    return frozenset(_path_sequences(definition))


def _valid_path(path: Sequence[str]) -> bool:
    return bool(path) and tuple(path[1:]) in _qualifier_paths(path[0])


def _zero_suppressed(ai: str, value: str, options: Options) -> str:
    if options.permit_zero_suppressed_gtin and ai == "01" and len(value) in (8, 12, 13):
        return value.zfill(14)
    return value


def parse_digital_link(uri: str, options: Options = DEFAULT_OPTIONS) -> GS1Data:
    """Read a GS1 Digital Link URI on any domain and under any path stem: the primary key and
    its qualifiers from the path, data attributes from the query (other parameters ignored)."""
    _check_size(uri)
    bad = next((c for c in uri if c not in _URI_CHARACTERS), None)
    if bad is not None:
        raise CodeError("code.dl.character", f"a URI may not contain {bad!r} unescaped")
    scheme = next((s for s in _SCHEMES if uri.startswith(s)), None)
    if scheme is None:
        raise CodeError("code.dl.scheme", "a GS1 Digital Link URI starts with https:// or http://")
    rest = uri[len(scheme):]
    slash = rest.find("/")
    domain = rest if slash < 0 else rest[:slash]
    if any(c in _BAD_DOMAIN for c in domain):
        raise CodeError("code.dl.domain", f"{domain!r} is not a domain name or address")
    if slash < 1:
        raise CodeError("code.dl.path", "the URI has no domain and path")
    path = rest[slash:].split("#", 1)[0]
    path, _, query = path.partition("?")
    segments = path.split("/")  # segments[0] is the empty text before the leading "/"
    # the rightmost "/AI/value" pair whose AI is a primary key starts the GS1 path
    start = None
    index = len(segments) - 2
    while index >= 1:
        definition = _path_ai(segments[index], options)
        if definition is None:
            break
        if definition.key:
            start = index
            break
        index -= 2
    if start is None:
        raise CodeError("code.dl.no_key", "the URI path holds no GS1 primary key such as /01/…")
    ais: list[tuple[str, str]] = []
    for index in range(start, len(segments), 2):
        definition = _path_ai(segments[index], options)
        assert definition is not None  # noqa: S101 - walked over just above
        raw = segments[index + 1]
        if not raw:
            raise CodeError("code.ai.empty", f"({definition.ai}) has no value in the path",
                            _field(definition.ai))
        value = _zero_suppressed(definition.ai, _unescape(raw, query=False, ai=definition.ai),
                                 options)
        _check_length(definition, value)
        ais.append((definition.ai, value))
    path_ais = [ai for ai, _ in ais]
    ignored: list[str] = []
    for param in query.split("&"):
        if not param:
            continue
        name, equals, raw = param.partition("=")
        if not equals:
            ignored.append(param)
            continue
        if not (name.isascii() and name.isdigit()) and name:
            ignored.append(param)
            continue
        definition = _definition(name, options)
        if not raw:
            raise CodeError("code.ai.empty", f"({name}) has no value in the query", _field(name))
        value = _zero_suppressed(name, _unescape(raw, query=True, ai=name), options)
        _check_length(definition, value)
        ais.append((name, value))
    if not _valid_path(path_ais):
        shown = "/".join(path_ais)
        raise CodeError("code.dl.qualifiers",
                        f"/{shown} is not a primary key followed by its qualifiers in order")
    seen: set[str] = set()
    for ai, _ in ais:
        if ai in seen:
            raise CodeError("code.dl.duplicate", f"({ai}) appears twice in the URI", _field(ai))
        seen.add(ai)
    for ai, _ in ais[len(path_ais):]:
        definition = _definition(ai, options)
        _check_attribute(definition, options)
        for at in range(1, len(path_ais) + 1):
            if _valid_path([*path_ais[:at], ai, *path_ais[at:]]):
                raise CodeError("code.dl.belongs_in_path",
                                f"({ai}) qualifies the key and belongs in the path, not the "
                                "query", _field(ai))
    validate(ais, options)
    return GS1Data(tuple(ais), dl_path=len(path_ais), ignored_query_params=tuple(ignored))


def _path_ai(segment: str, options: Options) -> AIDef | None:
    if options.permit_convenience_alphas and 3 <= len(segment) <= 5 \
            and not segment[:1].isdigit() and segment in _CONVENIENCE_ALPHAS:
        return gs1_ais.lookup(_CONVENIENCE_ALPHAS[segment])
    if segment.isascii() and segment.isdigit():
        known = gs1_ais.lookup(segment)
        if known:
            return known
        if options.permit_unknown_ais and 2 <= len(segment) <= 4:
            return _unknown(segment)
    return None


def _check_attribute(definition: AIDef, options: Options) -> None:
    if _is_unknown(definition):
        allowed = not options.unknown_ai_not_dl_attr
    else:
        allowed = definition.attr
    if not allowed:
        raise CodeError("code.dl.not_attribute",
                        f"({definition.ai}) may not be a GS1 Digital Link data attribute",
                        _field(definition.ai))


def _choose_path(ais: Sequence[tuple[str, str]]) -> list[int]:
    """Indices of the AIs that make the path: the first primary key, and the longest run of
    its qualifiers the data holds (ties going to the first in GS1's sorted order)."""
    first_index: dict[str, int] = {}
    for index, (ai, _) in enumerate(ais):
        first_index.setdefault(ai, index)
    for index, (ai, _) in enumerate(ais):
        definition = gs1_ais.lookup(ai)
        if definition is not None and definition.key:
            candidates = sorted(" ".join((ai, *seq)) for seq in _path_sequences(definition))
            best: list[str] = [ai]
            for candidate in candidates:
                parts = candidate.split(" ")
                if len(parts) > len(best) and all(p in first_index for p in parts):
                    best = parts
            return [index, *(first_index[q] for q in best[1:])]
    raise CodeError("code.dl.no_key",
                    "a GS1 Digital Link URI needs a primary key (01, 00, 414, 8004…) in the data")


def digital_link(data: GS1Data, base: str, options: Options = DEFAULT_OPTIONS) -> str:
    """The GS1 Digital Link URI of the data under ``base`` (e.g. ``https://id.gs1.org``):
    the key and qualifiers in the path, the other AIs as query parameters, fixed-length ones
    first, each in the order read."""
    ais = data.ais
    path_indices = list(range(data.dl_path)) if data.dl_path else _choose_path(ais)
    emitted: set[str] = set()
    parts = [base.rstrip("/")]
    for index in path_indices:
        ai, value = ais[index]
        parts.append(f"/{ai}/{_escape(value, query=False)}")
        emitted.add(ai)
    params: list[str] = []
    for fixed in (True, False):
        for ai, value in ais:
            definition = _definition(ai, options)
            if ai in emitted or definition.fixed != fixed:
                continue
            _check_attribute(definition, options)
            params.append(f"{ai}={_escape(value, query=True)}")
            emitted.add(ai)
    return "".join(parts) + ("?" + "&".join(params) if params else "")


# --- scanner output ----------------------------------------------------------------------

#: symbology identifiers (ISO/IEC 15424) that announce GS1 AI data
_GS1_SYMBOLOGIES = {"C1": "GS1-128", "e0": "GS1 DataBar", "d2": "GS1 DataMatrix",
                    "Q3": "GS1 QR Code", "J1": "GS1 DotCode"}
#: … that announce plain data (which may be a GS1 Digital Link URI)
_PLAIN_SYMBOLOGIES = {"d1": "DataMatrix", "Q1": "QR Code", "J0": "DotCode"}
#: … of EAN/UPC: a GTIN-13 (or UPC-A) or GTIN-8
_EAN_SYMBOLOGIES = {"E0": ("EAN-13", 13), "E4": ("EAN-8", 8)}


@dataclass(frozen=True)
class PlainData:
    """Scanner output whose symbology carries plain data rather than GS1 AI data."""

    symbology: str
    text: str


def parse_scan_data(text: str, options: Options = DEFAULT_OPTIONS) -> GS1Data | PlainData:
    """Read scanner output that starts with a symbology identifier (``]C1``, ``]d2``…)."""
    _check_size(text)
    if not text.startswith("]") or len(text) < 3:
        raise CodeError("code.symbology.missing",
                        "scanner output starts with a symbology identifier such as ]C1 or ]d2")
    identifier, data = text[1:3], text[3:]
    if identifier in _GS1_SYMBOLOGIES:
        parsed = parse_unbracketed(data, options)
        return GS1Data(parsed.ais, symbology=_GS1_SYMBOLOGIES[identifier])
    if identifier in _EAN_SYMBOLOGIES:
        name, length = _EAN_SYMBOLOGIES[identifier]
        primary, composite = data[:length], None
        if len(data) < length:
            raise CodeError("code.symbology.ean", f"{name} data is {length} digits; "
                            f"got {len(data)}")
        if len(data) > length:
            if not data.startswith("|]e0", length):
                raise CodeError("code.symbology.ean", f"{name} data is {length} digits; "
                                f"got {len(data)}")
            composite = data[length + 4:]
        if not (primary.isascii() and primary.isdigit()):
            raise CodeError("code.symbology.ean", f"{name} data may hold digits only")
        if gs1_lint.gs1_check_digit(primary[:-1]) != primary[-1]:
            raise CodeError("code.check_digit", f"the {name} check digit is wrong", "ai.01")
        ais: tuple[tuple[str, str], ...] = (("01", primary.zfill(14)),)
        if composite is not None:
            ais += parse_unbracketed(composite, options).ais
            validate(ais, options)
        return GS1Data(ais, symbology=name)
    if identifier in _PLAIN_SYMBOLOGIES:
        # plain data, often a GS1 Digital Link URI: the caller reads it as typed text
        return PlainData(_PLAIN_SYMBOLOGIES[identifier], data)
    raise CodeError("code.symbology.unsupported",
                    f"]{identifier} is not a symbology identifier of a GS1 barcode")
