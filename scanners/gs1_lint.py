"""Content checks of one component of a GS1 AI value ("linters").

Each check takes the component's text and returns None when it passes, or a :class:`Flaw`
naming what is wrong (``incorrect_check_digit``, ``illegal_month``…) and where (offset and
length within the text). The names are those of the GS1 Barcode Syntax Tests, lower-cased, so
a flaw can be told to a person and compared with GS1's own test vectors. Every check runs in
time linear in its input and never recurses.

The rules are those of the GS1 General Specifications: 7.9 (check digits), 7.9.5 (the check
character pair of AI 8013), 7.11 (character sets 82, 39 and 64), 7.12 (dates), ISO 3166,
ISO 4217, ISO 13616 (IBAN), ISO 5218, and the GS1 US coupon guideline for AIs 8110 and 8112.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass

from ledger.supervision.check_digits import gs1_check_digit as _ledger_check_digit

__all__ = ["CHECKS", "Flaw", "gs1_check_digit", "run"]


@dataclass(frozen=True)
class Flaw:
    """What a check found wrong: its name, and the offending span of the text."""

    name: str
    pos: int
    length: int


Check = Callable[[str], "Flaw | None"]

CSET82 = frozenset("!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_"
                   "abcdefghijklmnopqrstuvwxyz")
CSET39 = frozenset("#-/0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")
CSET64 = frozenset("-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz")
_DIGITS = frozenset("0123456789")


def _first_outside(text: str, allowed: frozenset[str]) -> int:
    for pos, char in enumerate(text):
        if char not in allowed:
            return pos
    return -1


def _charset(name: str, allowed: frozenset[str]) -> Check:
    def check(text: str) -> Flaw | None:
        pos = _first_outside(text, allowed)
        return Flaw(name, pos, 1) if pos >= 0 else None
    return check


csetnumeric = _charset("non_digit_character", _DIGITS)
cset82 = _charset("invalid_cset82_character", CSET82)
cset39 = _charset("invalid_cset39_character", CSET39)


def cset64(text: str) -> Flaw | None:
    """File-safe base64 (RFC 4648 section 5), with at most two ``=`` of padding."""
    stripped = text.rstrip("=")
    pads = len(text) - len(stripped)
    if pads > 2 or (pads and len(text) % 3):
        return Flaw("invalid_cset64_padding", len(stripped), pads)
    pos = _first_outside(stripped, CSET64)
    return Flaw("invalid_cset64_character", pos, 1) if pos >= 0 else None


def gs1_check_digit(digits: str) -> str:
    """The GS1 mod-10 check digit for ``digits`` (weights 3, 1, 3… from the right); the
    ledger's own function, which refuses an empty body (whose check digit is 0)."""
    return _ledger_check_digit(digits) if digits else "0"


def csum(text: str) -> Flaw | None:
    """A GS1 check digit in last place (GTIN, SSCC, GLN, GSIN, GDTI, GSRN…)."""
    if not text:
        return Flaw("too_short_for_check_digit", 0, 0)
    pos = _first_outside(text, _DIGITS)
    if pos >= 0:
        return Flaw("non_digit_character", pos, 1)
    if gs1_check_digit(text[:-1]) != text[-1]:
        return Flaw("incorrect_check_digit", len(text) - 1, 1)
    return None


_CSET82_WEIGHTS = {c: i for i, c in enumerate(
    "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz")}
_CSET32 = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"


def _primes(count: int) -> tuple[int, ...]:
    found: list[int] = []
    candidate = 2
    while len(found) < count:
        if all(candidate % p for p in found if p * p <= candidate):
            found.append(candidate)
        candidate += 1
    return tuple(found)


_PRIMES = _primes(97)


def csumalpha(text: str) -> Flaw | None:
    """The check character pair of a GMN (General Specifications 7.9.5): the weighted sum
    (primes, from the right) of the characters before it, mod 1021, as two characters of a
    32-character set."""
    if len(text) > len(_PRIMES) + 2:
        return Flaw("too_long_for_check_pair_implementation", 0, len(text))
    if len(text) < 2:
        return Flaw("too_short_for_check_pair", 0, len(text))
    body = text[:-2]
    total = 0
    for pos, char in enumerate(body):
        weight = _CSET82_WEIGHTS.get(char)
        if weight is None:
            return Flaw("invalid_cset82_character", pos, 1)
        total += weight * _PRIMES[len(body) - 1 - pos]
    total %= 1021
    if text[-2:] != _CSET32[total >> 5] + _CSET32[total & 31]:
        return Flaw("incorrect_check_pair", len(text) - 2, 2)
    return None


# The GS1 Company Prefix starts a key: without GS1's prefix register, all that can be checked
# is that its shortest possible length (4 digits, after any leading indicator) is digits.
_GCP_MIN = 4


def gcppos1(text: str) -> Flaw | None:
    """A GS1 Company Prefix at the start of the text."""
    if len(text) < _GCP_MIN:
        return Flaw("too_short_for_gcp", 0, len(text))
    pos = _first_outside(text[:_GCP_MIN], _DIGITS)
    return Flaw("invalid_gcp_prefix", pos, 1) if pos >= 0 else None


def gcppos2(text: str) -> Flaw | None:
    """A GS1 Company Prefix after a leading indicator digit."""
    if len(text) < 2:
        return Flaw("too_short_for_gcp", 0, len(text))
    flaw = gcppos1(text[1:])
    return Flaw(flaw.name, flaw.pos + 1, flaw.length) if flaw else None


def _digits_flaw(text: str) -> Flaw | None:
    pos = _first_outside(text, _DIGITS)
    return Flaw("non_digit_character", pos, 1) if pos >= 0 else None


def _yyyymmdd(text: str, *, day_zero: bool) -> Flaw | None:
    if len(text) != 8:
        return Flaw("date_too_short" if len(text) < 8 else "date_too_long", 0, len(text))
    flaw = _digits_flaw(text)
    if flaw:
        return flaw
    year, month, day = int(text[:4]), int(text[4:6]), int(text[6:])
    if not 1 <= month <= 12:
        return Flaw("illegal_month", 4, 2)
    if month == 2:
        leap = (year % 4 == 0 and year % 100 != 0) or year % 400 == 0
        last = 29 if leap else 28
    else:
        last = (31, 0, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)[month - 1]
    if day > last or (day == 0 and not day_zero):
        return Flaw("illegal_day", 6, 2)
    return None


def _century(yy: int, today: datetime.date | None = None) -> int:
    """The century of a two-digit year (General Specifications 7.12): within 49 years back and
    50 years forward of the current year."""
    current = (today or datetime.date.today()).year
    difference = yy - current % 100
    if difference >= 51:
        return current // 100 - 1
    if difference > -50:
        return current // 100
    return current // 100 + 1


def _yymmdd(text: str, *, day_zero: bool) -> Flaw | None:
    if len(text) != 6:
        return Flaw("date_too_short" if len(text) < 6 else "date_too_long", 0, len(text))
    flaw = _digits_flaw(text)
    if flaw:
        return flaw
    full = f"{_century(int(text[:2])):02d}{text}"
    flaw = _yyyymmdd(full, day_zero=day_zero)
    return Flaw(flaw.name, flaw.pos - 2, flaw.length) if flaw else None


def yymmdd(text: str) -> Flaw | None:
    """A date YYMMDD."""
    return _yymmdd(text, day_zero=False)


def yymmd0(text: str) -> Flaw | None:
    """A date YYMMDD where day 00 means the end of the month (General Specifications 3.4)."""
    return _yymmdd(text, day_zero=True)


def yyyymmdd(text: str) -> Flaw | None:
    """A date YYYYMMDD."""
    return _yyyymmdd(text, day_zero=False)


def yyyymmd0(text: str) -> Flaw | None:
    """A date YYYYMMDD, day 00 allowed."""
    return _yyyymmdd(text, day_zero=True)


def _two_digits(text: str, limit: int, unit: str) -> Flaw | None:
    if len(text) != 2:
        return Flaw(f"{unit}_too_short" if len(text) < 2 else f"{unit}_too_long", 0, len(text))
    flaw = _digits_flaw(text)
    if flaw:
        return flaw
    return Flaw(f"illegal_{unit}", 0, 2) if int(text) >= limit else None


def hh(text: str) -> Flaw | None:
    """An hour 00-23."""
    return _two_digits(text, 24, "hour")


def mi(text: str) -> Flaw | None:
    """A minute 00-59."""
    return _two_digits(text, 60, "minute")


def ss(text: str) -> Flaw | None:
    """A second 00-59."""
    return _two_digits(text, 60, "second")


def hhmi(text: str) -> Flaw | None:
    """A time of day HHMM."""
    if len(text) != 4:
        name = "hour_with_minute_too_short" if len(text) < 4 else "hour_with_minute_too_long"
        return Flaw(name, 0, len(text))
    flaw = _digits_flaw(text)
    if flaw:
        return flaw
    if int(text[:2]) > 23:
        return Flaw("illegal_hour", 0, 2)
    if int(text[2:]) > 59:
        return Flaw("illegal_minute", 2, 2)
    return None


def nonzero(text: str) -> Flaw | None:
    """Digits that are not all zero."""
    flaw = _digits_flaw(text)
    if flaw:
        return flaw
    return Flaw("illegal_zero_value", 0, len(text)) if not text.strip("0") else None


def zero(text: str) -> Flaw | None:
    """Only zeros."""
    return Flaw("not_zero", 0, len(text)) if not text or text.strip("0") else None


def nozeroprefix(text: str) -> Flaw | None:
    """Digits without a leading zero."""
    flaw = _digits_flaw(text)
    if flaw:
        return flaw
    return Flaw("illegal_zero_prefix", 0, 1) if text.startswith("0") else None


def hasnondigit(text: str) -> Flaw | None:
    """At least one character that is not a digit."""
    if _first_outside(text, _DIGITS) < 0:
        return Flaw("requires_non_digit_character", 0, len(text))
    return None


def yesno(text: str) -> Flaw | None:
    """0 or 1."""
    return None if text in ("0", "1") else Flaw("not_zero_or_one", 0, len(text))


def winding(text: str) -> Flaw | None:
    """A winding direction: 0 face out, 1 face in, 9 undetermined."""
    return None if text in ("0", "1", "9") else Flaw("invalid_winding_direction", 0, len(text))


def hyphen(text: str) -> Flaw | None:
    """Hyphens only (a minus sign)."""
    return None if text and not text.strip("-") else Flaw("not_hyphen", 0, len(text))


def iso5218(text: str) -> Flaw | None:
    """A biological sex code of ISO/IEC 5218: 0, 1, 2 or 9."""
    if text in ("0", "1", "2", "9"):
        return None
    return Flaw("invalid_biological_sex_code", 0, len(text))


def pieceoftotal(text: str) -> Flaw | None:
    """A piece number and the total number of pieces, each of half the digits."""
    if not text or len(text) % 2:
        return Flaw("invalid_length_for_piece_of_total", 0, len(text))
    flaw = _digits_flaw(text)
    if flaw:
        return flaw
    half = len(text) // 2
    piece, total = int(text[:half]), int(text[half:])
    if piece == 0:
        return Flaw("zero_piece_number", 0, half)
    if total == 0:
        return Flaw("zero_total_pieces", half, half)
    if piece > total:
        return Flaw("piece_number_exceeds_total", 0, len(text))
    return None


def posinseqslash(text: str) -> Flaw | None:
    """A position in a sequence, ``position/end`` (AI 7258)."""
    position, slash, end = text.partition("/")
    if (not slash or not position or not end or not position.isascii()
            or not position.isdigit() or not end.isascii() or not end.isdigit()):
        return Flaw("position_in_sequence_malformed", 0, len(text))
    if position.startswith("0"):
        return Flaw("illegal_zero_prefix", 0, len(position))
    if end.startswith("0"):
        return Flaw("illegal_zero_prefix", len(position) + 1, len(end))
    if int(position) > int(end):
        return Flaw("position_exceeds_end", 0, len(text))
    return None


def pcenc(text: str) -> Flaw | None:
    """Percent-encoding where ``%`` is used: always followed by two hexadecimal digits."""
    pos = text.find("%")
    while pos >= 0:
        if pos + 2 >= len(text):
            return Flaw("invalid_percent_sequence", pos, len(text) - pos)
        if not all(c in "0123456789abcdefABCDEF" for c in text[pos + 1:pos + 3]):
            return Flaw("invalid_percent_sequence", pos, 3)
        pos = text.find("%", pos + 3)
    return None


def _coordinate(text: str, limit: int, name: str) -> Flaw | None:
    if len(text) != 10:
        return Flaw(f"{name}_invalid_length", 0, len(text))
    flaw = _digits_flaw(text)
    if flaw:
        return flaw
    return Flaw(f"invalid_{name}", 0, 10) if int(text) > limit else None


def latitude(text: str) -> Flaw | None:
    """A latitude of AI 4309: degrees north + 90, to four decimal places... times 10**7."""
    return _coordinate(text, 1_800_000_000, "latitude")


def longitude(text: str) -> Flaw | None:
    """A longitude of AI 4309: degrees east + 180, times 10**7."""
    return _coordinate(text, 3_600_000_000, "longitude")


# ISO 3166-1: numeric code and alpha-2 code of every country and territory.
_ISO3166 = dict(pair.split(":") for pair in """
004:AF 008:AL 010:AQ 012:DZ 016:AS 020:AD 024:AO 028:AG 031:AZ 032:AR 036:AU 040:AT 044:BS
048:BH 050:BD 051:AM 052:BB 056:BE 060:BM 064:BT 068:BO 070:BA 072:BW 074:BV 076:BR 084:BZ
086:IO 090:SB 092:VG 096:BN 100:BG 104:MM 108:BI 112:BY 116:KH 120:CM 124:CA 132:CV 136:KY
140:CF 144:LK 148:TD 152:CL 156:CN 158:TW 162:CX 166:CC 170:CO 174:KM 175:YT 178:CG 180:CD
184:CK 188:CR 191:HR 192:CU 196:CY 203:CZ 204:BJ 208:DK 212:DM 214:DO 218:EC 222:SV 226:GQ
231:ET 232:ER 233:EE 234:FO 238:FK 239:GS 242:FJ 246:FI 248:AX 250:FR 254:GF 258:PF 260:TF
262:DJ 266:GA 268:GE 270:GM 275:PS 276:DE 288:GH 292:GI 296:KI 300:GR 304:GL 308:GD 312:GP
316:GU 320:GT 324:GN 328:GY 332:HT 334:HM 336:VA 340:HN 344:HK 348:HU 352:IS 356:IN 360:ID
364:IR 368:IQ 372:IE 376:IL 380:IT 384:CI 388:JM 392:JP 398:KZ 400:JO 404:KE 408:KP 410:KR
414:KW 417:KG 418:LA 422:LB 426:LS 428:LV 430:LR 434:LY 438:LI 440:LT 442:LU 446:MO 450:MG
454:MW 458:MY 462:MV 466:ML 470:MT 474:MQ 478:MR 480:MU 484:MX 492:MC 496:MN 498:MD 499:ME
500:MS 504:MA 508:MZ 512:OM 516:NA 520:NR 524:NP 528:NL 531:CW 533:AW 534:SX 535:BQ 540:NC
548:VU 554:NZ 558:NI 562:NE 566:NG 570:NU 574:NF 578:NO 580:MP 581:UM 583:FM 584:MH 585:PW
586:PK 591:PA 598:PG 600:PY 604:PE 608:PH 612:PN 616:PL 620:PT 624:GW 626:TL 630:PR 634:QA
638:RE 642:RO 643:RU 646:RW 652:BL 654:SH 659:KN 660:AI 662:LC 663:MF 666:PM 670:VC 674:SM
678:ST 682:SA 686:SN 688:RS 690:SC 694:SL 702:SG 703:SK 704:VN 705:SI 706:SO 710:ZA 716:ZW
724:ES 728:SS 729:SD 732:EH 740:SR 744:SJ 748:SZ 752:SE 756:CH 760:SY 762:TJ 764:TH 768:TG
772:TK 776:TO 780:TT 784:AE 788:TN 792:TR 795:TM 796:TC 798:TV 800:UG 804:UA 807:MK 818:EG
826:GB 831:GG 832:JE 833:IM 834:TZ 840:US 850:VI 854:BF 858:UY 860:UZ 862:VE 876:WF 882:WS
887:YE 894:ZM
""".split())
_ISO3166_ALPHA2 = frozenset(_ISO3166.values())

# ISO 4217: numeric codes of the currencies and funds in the current list.
_ISO4217 = frozenset("""
008 012 032 036 044 048 050 051 052 060 064 068 072 084 090 096 104 108 116 124 132 136 144
152 156 170 174 188 192 203 208 214 222 230 232 238 242 262 270 292 320 324 328 332 340 344
348 352 356 360 364 368 376 388 392 396 398 400 404 408 410 414 417 418 422 426 430 434 446 454
458 462 480 484 496 498 504 512 516 524 532 533 548 554 558 566 578 586 590 598 600 604 608
634 643 646 654 682 690 702 704 706 710 728 748 752 756 760 764 776 780 784 788 800 807
818 826 834 840 858 860 882 886 901 924 925 926 927 928 929 930 933 934 936 938 940
941 943 944 946 947 948 949 950 951 952 953 955 956 957 958 959 960 961 962 963 964 965 967
968 969 970 971 972 973 975 976 977 978 979 980 981 984 985 986 990 994 997 999
""".split())

def iso3166(text: str) -> Flaw | None:
    """An ISO 3166-1 numeric country code."""
    return None if text in _ISO3166 else Flaw("not_iso3166", 0, len(text))


def iso3166999(text: str) -> Flaw | None:
    """An ISO 3166-1 numeric country code, or 999 (unknown)."""
    return None if text in _ISO3166 or text == "999" else Flaw("not_iso3166_or_999", 0, len(text))


def iso3166alpha2(text: str) -> Flaw | None:
    """An ISO 3166-1 alpha-2 country code."""
    return None if text in _ISO3166_ALPHA2 else Flaw("not_iso3166_alpha2", 0, len(text))


def iso4217(text: str) -> Flaw | None:
    """An ISO 4217 numeric currency code."""
    return None if text in _ISO4217 else Flaw("not_iso4217", 0, len(text))


def iban(text: str) -> Flaw | None:
    """An International Bank Account Number (ISO 13616): an ISO 3166 country, two check digits
    (mod 97) and the account, in upper-case letters and digits."""
    if len(text) < 4:
        return Flaw("iban_too_short", 0, len(text))
    if text[:2] not in _ISO3166_ALPHA2:
        return Flaw("illegal_iban_country_code", 0, 2)
    if len(text) > 34:
        return Flaw("iban_too_long", 0, len(text))
    if len(text) == 4:
        return Flaw("iban_too_short", 0, len(text))
    allowed = _DIGITS | frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    pos = _first_outside(text, allowed)
    if pos >= 0:
        return Flaw("invalid_iban_character", pos, 1)
    rearranged = text[4:] + text[:4]
    remainder = 0
    for char in rearranged:
        value = int(char, 36)
        remainder = (remainder * (100 if value > 9 else 10) + value) % 97
    return None if remainder == 1 else Flaw("incorrect_iban_checksum", 2, 2)


def importeridx(text: str) -> Flaw | None:
    """The importer index of AI 7040: one character of file-safe base64."""
    if len(text) != 1:
        return Flaw("importer_idx_must_be_one_character", 0, len(text))
    return None if text in CSET64 else Flaw("invalid_import_idx_character", 0, 1)


def mediatype(text: str) -> Flaw | None:
    """An AIDC media type (AI 7241): 01-10 assigned by ICCBBA, 80-99 for national use."""
    valid = len(text) == 2 and text.isdigit() and (1 <= int(text) <= 10 or int(text) >= 80)
    return None if valid else Flaw("invalid_media_type", 0, len(text))


def packagetype(text: str) -> Flaw | None:
    """A package type code of UN/ECE Recommendation 21 (AI 7041): one to three upper-case
    letters or digits. (The full code list is not held here; its shape is checked.)"""
    valid = 1 <= len(text) <= 3 and _first_outside(
        text, _DIGITS | frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")) < 0
    return None if valid else Flaw("invalid_package_type", 0, len(text))


class _Cursor:
    """Reads a coupon code's fields left to right, reporting the first flaw."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def left(self) -> int:
        return len(self.text) - self.pos

    def flaw(self, name: str, length: int = 1) -> Flaw:
        return Flaw(name, self.pos, length)

    def missing(self, name: str) -> Flaw:
        return Flaw(name, 0, len(self.text))

    def truncated(self, name: str) -> Flaw:
        if self.left() == 0:
            return Flaw(name, 0, len(self.text))
        return Flaw(name, self.pos, self.left())


def _vli_field(cur: _Cursor, what: str, allowed: str, offset: int,
               nine_is_none: bool = False) -> Flaw | None:
    """A variable length indicator digit (one of ``allowed``), then that many digits plus
    ``offset`` (none at all for a 9 when ``nine_is_none``)."""
    if cur.left() == 0:
        return cur.missing(f"coupon_missing_{what}_vli")
    digit = cur.text[cur.pos]
    if digit not in allowed:
        return cur.flaw(f"coupon_invalid_{what}_length")
    length = 0 if nine_is_none and digit == "9" else int(digit) + offset
    cur.pos += 1
    if cur.left() < length:
        return cur.truncated(f"coupon_truncated_{what}")
    cur.pos += length
    return None


def _purchase(cur: _Cursor, nth: str, with_gcp: bool) -> Flaw | None:
    flaw = _vli_field(cur, f"{nth}_purchase_requirement", "12345", 0)
    if flaw:
        return flaw
    if cur.left() == 0:
        return cur.missing(f"coupon_missing_{nth}_purchase_requirement_code")
    if cur.text[cur.pos] not in "012349":
        return cur.flaw(f"coupon_invalid_{nth}_purchase_requirement_code")
    cur.pos += 1
    if cur.left() < 3:
        return cur.truncated(f"coupon_truncated_{nth}_purchase_family_code")
    cur.pos += 3
    if with_gcp:
        return _vli_field(cur, f"{nth}_purchase_gcp", "01234569", 6, nine_is_none=True)
    return None


def _coupon_date(cur: _Cursor, short: str, invalid: str) -> tuple[Flaw | None, str]:
    cur.pos += 1
    if cur.left() < 6:
        return cur.truncated(short), ""
    date = cur.text[cur.pos:cur.pos + 6]
    if yymmdd(date):
        return cur.flaw(invalid, 6), ""
    cur.pos += 6
    return None, date


def couponcode(text: str) -> Flaw | None:
    """A North American coupon code (AI 8110), field by field as the GS1 US Coupon
    Application Guideline lays it out."""
    flaw = _digits_flaw(text)
    if flaw:
        return flaw
    cur = _Cursor(text)
    flaw = (_vli_field(cur, "gcp", "0123456", 6))
    if flaw:
        return flaw
    if cur.left() < 6:
        return cur.truncated("coupon_truncated_offer_code")
    cur.pos += 6
    flaw = (_vli_field(cur, "save_value", "12345", 0)
            or _purchase(cur, "1st", with_gcp=False))
    if flaw:
        return flaw
    expiry = ""
    if cur.left() and cur.text[cur.pos] == "1":  # second qualifying purchase
        cur.pos += 1
        if cur.left() == 0:
            return cur.missing("coupon_missing_additional_purchase_rules_code")
        if cur.text[cur.pos] not in "0123":
            return cur.flaw("coupon_invalid_additional_purchase_rules_code")
        cur.pos += 1
        flaw = _purchase(cur, "2nd", with_gcp=True)
        if flaw:
            return flaw
    if cur.left() and cur.text[cur.pos] == "2":  # third qualifying purchase
        cur.pos += 1
        flaw = _purchase(cur, "3rd", with_gcp=True)
        if flaw:
            return flaw
    if cur.left() and cur.text[cur.pos] == "3":  # expiration date
        flaw, expiry = _coupon_date(cur, "coupon_too_short_for_expiration_date",
                                    "coupon_invalid_exipiration_date")
        if flaw:
            return flaw
    if cur.left() and cur.text[cur.pos] == "4":  # start date
        start_pos = cur.pos + 1
        flaw, start = _coupon_date(cur, "coupon_too_short_for_start_date",
                                   "coupon_invalid_start_date")
        if flaw:
            return flaw
        if expiry and start > expiry:
            return Flaw("coupon_expiration_before_start", start_pos - 8, 14)
    if cur.left() and cur.text[cur.pos] == "5":  # serial number
        cur.pos += 1
        flaw = _vli_field(cur, "serial_number", "0123456789", 6)
        if flaw:
            return flaw
    if cur.left() and cur.text[cur.pos] == "6":  # retailer GCP or GLN
        cur.pos += 1
        flaw = _vli_field(cur, "retailer_gcp_or_gln", "1234567", 6)
        if flaw:
            return flaw
    if cur.left() and cur.text[cur.pos] == "9":  # miscellaneous
        cur.pos += 1
        for what, allowed in (("save_value_code", "01256"), ("save_value_applies_to_item", "012"),
                              ("store_coupon_flag", "0123456789"),
                              ("dont_multiply_flag", "01")):
            if cur.left() == 0:
                return cur.missing(f"coupon_missing_{what}")
            if cur.text[cur.pos] not in allowed:
                return cur.flaw(f"coupon_invalid_{what}")
            cur.pos += 1
    if cur.left():
        return cur.truncated("coupon_excess_data")
    return None


def couponposoffer(text: str) -> Flaw | None:
    """A positive offer file coupon code (AI 8112)."""
    flaw = _digits_flaw(text)
    if flaw:
        return flaw
    cur = _Cursor(text)
    if cur.left() == 0:
        return cur.missing("coupon_missing_format_code")
    if cur.text[0] not in "01":
        return cur.flaw("coupon_invalid_format_code")
    cur.pos += 1
    flaw = _vli_field(cur, "funder", "0123456", 6)
    if flaw:
        return flaw
    if cur.left() < 6:
        return cur.truncated("coupon_truncated_offer_code")
    cur.pos += 6
    flaw = _vli_field(cur, "serial_number", "0123456789", 6)
    if flaw:
        return flaw
    return cur.truncated("coupon_excess_data") if cur.left() else None


#: every check by the name the AI table uses for it
CHECKS: dict[str, Check] = {
    "csetnumeric": csetnumeric, "cset82": cset82, "cset39": cset39, "cset64": cset64,
    "csum": csum, "csumalpha": csumalpha, "gcppos1": gcppos1, "gcppos2": gcppos2,
    "yymmdd": yymmdd, "yymmd0": yymmd0, "yyyymmdd": yyyymmdd, "yyyymmd0": yyyymmd0,
    "hh": hh, "mi": mi, "ss": ss, "hhmi": hhmi, "nonzero": nonzero, "zero": zero,
    "nozeroprefix": nozeroprefix, "hasnondigit": hasnondigit, "yesno": yesno,
    "winding": winding, "hyphen": hyphen, "iso5218": iso5218, "pieceoftotal": pieceoftotal,
    "posinseqslash": posinseqslash, "pcenc": pcenc, "latitude": latitude,
    "longitude": longitude, "iso3166": iso3166, "iso3166999": iso3166999,
    "iso3166alpha2": iso3166alpha2, "iso4217": iso4217, "iban": iban,
    "importeridx": importeridx, "mediatype": mediatype, "packagetype": packagetype,
    "couponcode": couponcode, "couponposoffer": couponposoffer,
}

#: the character-set check of each component type
CSET_CHECKS: dict[str, Check] = {"N": csetnumeric, "X": cset82, "Y": cset39, "Z": cset64}


def run(name: str, text: str) -> Flaw | None:
    """Run the check called ``name`` on ``text``."""
    return CHECKS[name](text)
