"""Reference data: supervised product categories, the standards registry and additive limits.

This is the one module that knows the supervised product kinds ("9 classes, 69 kinds"), the
national standards Tracenet can warn about and the permitted additive levels. Everything else
asks a :class:`ReferenceData` loaded from ``data/*.csv`` instead of hard-coding codes, so that
replacing the shipped indicative tables with the complete official ones is a data change, not a
code change. The loader therefore validates every row strictly (a bad row in a regulatory table
must stop start-up with a message naming file, line and column, not surface later as a wrong
decision) but assumes nothing about how many rows there are.

The CSV columns are fixed (see ``data/README.md`` in the shared data set):

* ``categories.csv``: code, class_code, class_zh, class_en, name_zh, name_en,
  needs_additive_filing, needs_lot_inspection_before_shipment, unit_serialization
* ``standards.csv``: number, title_zh, title_en, status, replaced_by, effective_from,
  applies_to_categories
* ``additive_limits.csv``: additive_zh, additive_en, ins, food_category_code,
  food_category_note, max_level, unit, expressed_as
"""

from __future__ import annotations

import csv
import functools
import io
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import MappingProxyType
from typing import Literal

from ledger.errors import EntryError, LedgerError

__all__ = [
    "ADDITIVE_UNITS",
    "DEFAULT_DIRECTORY",
    "FOOD_CLASS",
    "STANDARD_STATUSES",
    "AdditiveLimit",
    "Category",
    "ReferenceData",
    "ReferenceDataError",
    "Standard",
    "StandardWarning",
    "Violation",
    "convert_level",
    "load_reference",
    "normalise_standard_number",
]

#: the project's own data folder; found relative to the package so it works from any cwd
DEFAULT_DIRECTORY = Path(__file__).resolve().with_name("data")

CATEGORIES_FILE = "categories.csv"
STANDARDS_FILE = "standards.csv"
ADDITIVES_FILE = "additive_limits.csv"

CATEGORY_COLUMNS = ("code", "class_code", "class_zh", "class_en", "name_zh", "name_en",
                    "needs_additive_filing", "needs_lot_inspection_before_shipment",
                    "unit_serialization")
STANDARD_COLUMNS = ("number", "title_zh", "title_en", "status", "replaced_by",
                    "effective_from", "applies_to_categories")
ADDITIVE_COLUMNS = ("additive_zh", "additive_en", "ins", "food_category_code",
                    "food_category_note", "max_level", "unit", "expressed_as")

#: class code of the food class in categories.csv; additive rules apply to food only
FOOD_CLASS = "F"

CURRENT = "current"
#: published but not yet effective (the file's word for it)
PUBLISHED = "published"
WITHDRAWN = "withdrawn"
STANDARD_STATUSES = frozenset({CURRENT, PUBLISHED, WITHDRAWN})

#: unit_serialization values the record rules know how to apply
UNIT_SERIALIZATION_VALUES = frozenset({"optional", "required"})

#: additive level units: what the amount is "per" and the additive mass in milligrams, so that
#: g/kg <-> mg/kg (and g/L <-> mg/L) convert exactly; per-kg and per-L never convert to each
#: other because that needs the food's density, which a filing does not carry.
ADDITIVE_UNITS: Mapping[str, tuple[str, int]] = MappingProxyType({
    "g/kg": ("kg", 1000),
    "mg/kg": ("kg", 1),
    "g/L": ("L", 1000),
    "mg/L": ("L", 1),
})

# Category codes end up in ';'-separated lists and in URLs, so keep them to plain tokens.
_CODE = re.compile(r"[0-9A-Za-z]+(?:[.-][0-9A-Za-z]+)*")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# INS numbers: 3-4 digits, an optional letter and an optional roman sub-number, e.g. 160a(ii).
_INS = re.compile(r"\d{3,4}[a-z]?(?:\([ivx]+\))?")
# GB 2760 prints "—" where an additive has no INS number.
_NO_INS = frozenset({"", "-", "—"})
_STANDARD_PREFIX = re.compile(r"([A-Z]+(?:/[A-Z]+)?)(\d.*)")
_DASHES = str.maketrans({"‐": "-", "‑": "-", "‒": "-", "–": "-", "—": "-", "−": "-"})


class ReferenceDataError(LedgerError):
    """A reference table is missing or malformed; the message names file, line and column."""

    code = "invalid_reference_data"

    def __init__(self, file: Path, line: int | None, column: str | None, problem: str) -> None:
        where = str(file)
        if line is not None:
            where += f" line {line}"
        if column is not None:
            where += f", column {column}"
        super().__init__(f"{where}: {problem}", field=column)
        self.file = file
        self.line = line
        self.column = column


@dataclass(frozen=True)
class Category:
    """One supervised product kind (one row of categories.csv)."""

    code: str
    class_code: str
    class_zh: str
    class_en: str
    name_zh: str
    name_en: str
    needs_additive_filing: bool
    needs_lot_inspection_before_shipment: bool
    unit_serialization: str


@dataclass(frozen=True)
class Standard:
    """One registered national standard; ``number`` and ``replaced_by`` are normalised."""

    number: str
    title_zh: str
    title_en: str
    status: str
    replaced_by: str | None
    effective_from: date | None
    applies_to_categories: tuple[str, ...]


@dataclass(frozen=True)
class AdditiveLimit:
    """One permitted additive use: the maximum level of an additive in a food category."""

    additive_zh: str
    additive_en: str
    ins: tuple[str, ...]
    food_category_code: str
    food_category_note: str
    max_level: Decimal
    unit: str
    expressed_as: str


@dataclass(frozen=True)
class StandardWarning:
    """Why a cited standard deserves attention on a given date.

    ``kind`` is ``withdrawn`` (severity ``warning``: no longer in force, ``replaced_by`` names
    the successor when one is recorded), ``being_replaced`` (``notice``: still in force on that
    date, but a successor is published) or ``not_yet_effective`` (``notice``: published but not
    in force until ``effective_from``).
    """

    number: str
    severity: Literal["warning", "notice"]
    kind: Literal["withdrawn", "being_replaced", "not_yet_effective"]
    message: str
    replaced_by: str | None = None
    #: when the cited standard (not_yet_effective) or its successor (otherwise) takes effect
    effective_from: date | None = None


@dataclass(frozen=True)
class Violation:
    """An additive filing that breaks the limits table.

    ``max_level`` is the most permissive applicable limit converted to the filing's ``unit``;
    it and ``limit`` are None for ``not_permitted``.
    """

    kind: Literal["not_permitted", "above_limit"]
    food_category_code: str
    additive: str
    level: Decimal
    unit: str
    message: str
    max_level: Decimal | None = None
    limit: AdditiveLimit | None = None


def normalise_standard_number(number: str) -> str:
    """The canonical spelling of a standard number: ``gb19301—2010`` -> ``GB 19301-2010``.

    Full-width characters, dash variants, case and spacing all vary in how people type standard
    numbers on labels and reports; they name the same standard, so lookups must agree on them.
    """
    text = unicodedata.normalize("NFKC", number).translate(_DASHES).upper()
    text = "".join(text.split())
    match = _STANDARD_PREFIX.fullmatch(text)
    return f"{match[1]} {match[2]}" if match else text


def convert_level(value: Decimal, from_unit: str, to_unit: str) -> Decimal:
    """Convert an additive level between units of the same kind (g/kg <-> mg/kg, g/L <-> mg/L).

    Raises :class:`EntryError` (field ``unit``) for an unknown unit or for per-kg <-> per-L,
    which would need the food's density.
    """
    source = _additive_unit(from_unit)
    target = _additive_unit(to_unit)
    if source[0] != target[0]:
        raise EntryError(f"a level in {from_unit} cannot be compared with one in {to_unit} "
                         "without the food's density", field="unit")
    # Multiply first and divide by a power of ten last, so the result is exact.
    return value * source[1] / target[1]


def _additive_unit(unit: str) -> tuple[str, int]:
    try:
        return ADDITIVE_UNITS[unit]
    except KeyError:
        allowed = ", ".join(ADDITIVE_UNITS)
        raise EntryError(f"unknown additive level unit {unit!r} (expected one of {allowed})",
                         field="unit") from None


def _name_key(name: str) -> str:
    # Filings mix full-width and ASCII brackets, case and spacing in additive names.
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def _ins_key(value: str) -> str | None:
    text = "".join(unicodedata.normalize("NFKC", value).casefold().split())
    text = text.removeprefix("ins")
    return text if _INS.fullmatch(text) else None


def _plain(value: Decimal) -> str:
    """A Decimal without exponent or trailing zeros, for messages (1.5E+2 -> 150)."""
    return format(value.normalize(), "f")


@dataclass(frozen=True)
class ReferenceData:
    """The three reference tables, read-only, with the lookups the record rules need.

    ``categories`` is keyed by category code, ``standards`` by normalised standard number and
    ``additives`` by food category code (rows in file order).
    """

    categories: Mapping[str, Category]
    standards: Mapping[str, Standard]
    additives: Mapping[str, tuple[AdditiveLimit, ...]]

    @property
    def classes(self) -> dict[str, tuple[str, str]]:
        """Class code -> (Chinese name, English name), in file order."""
        return {c.class_code: (c.class_zh, c.class_en) for c in self.categories.values()}

    def category(self, code: str, *, field: str = "category") -> Category:
        """The category with this code; :class:`EntryError` naming ``field`` if unknown."""
        try:
            return self.categories[code]
        except (KeyError, TypeError):
            raise EntryError(f"unknown product category {code!r}", field=field) from None

    def is_food(self, code: str) -> bool:
        """Whether the category is in the food class; unknown codes raise :class:`EntryError`."""
        return self.category(code).class_code == FOOD_CLASS

    def standard(self, number: str) -> Standard | None:
        """The registered standard, matching spacing/case/dash variants; None if unregistered.

        Unlike categories, the registry is an open subset of all standards, so an unknown
        number is not an error.
        """
        return self.standards.get(normalise_standard_number(number))

    def standard_warning(self, number: str, on: date) -> StandardWarning | None:
        """What to tell someone who cites ``number`` for a product made or inspected ``on``.

        * withdrawn, or replaced by a successor in force on ``on``: a ``warning`` naming the
          replacement;
        * a successor is published but only takes effect after ``on``: a ``notice``;
        * not in force until after ``on`` (status ``published``, or any status with a later
          ``effective_from``): a ``notice``;
        * current, or not in the registry: None. The registry is a subset, so an unknown
          number says nothing about the standard; callers that must insist on registered
          standards can check :meth:`standard` themselves.

        Dates come from the table, so a table that is behind the calendar (a ``published``
        standard whose date has passed) still gives the right answer for ``on``.
        """
        found = self.standard(number)
        if found is None:
            return None
        if found.status == PUBLISHED and found.effective_from is None:
            return StandardWarning(found.number, "notice", "not_yet_effective",
                                   f"{found.number} is published but not yet in force")
        if found.effective_from is not None and on < found.effective_from:
            return StandardWarning(
                found.number, "notice", "not_yet_effective",
                f"{found.number} is not in force until {found.effective_from.isoformat()}",
                effective_from=found.effective_from)
        if found.replaced_by is not None:
            successor = self.standard(found.replaced_by)
            switch = successor.effective_from if successor is not None else None
            in_force = switch is not None and on >= switch
            # A withdrawn standard whose successor has no known date is simply withdrawn.
            if in_force or (found.status == WITHDRAWN and switch is None):
                return StandardWarning(
                    found.number, "warning", "withdrawn",
                    f"{found.number} is withdrawn; cite its replacement {found.replaced_by}",
                    replaced_by=found.replaced_by, effective_from=switch)
            when = f" from {switch.isoformat()}" if switch is not None else ""
            return StandardWarning(
                found.number, "notice", "being_replaced",
                f"{found.number} is being replaced by {found.replaced_by}{when}",
                replaced_by=found.replaced_by, effective_from=switch)
        if found.status == WITHDRAWN:
            return StandardWarning(found.number, "warning", "withdrawn",
                                   f"{found.number} is withdrawn (no replacement recorded)")
        return None

    def additive_limits(self, food_category_code: str, additive: str) -> list[AdditiveLimit]:
        """The permitted uses of an additive (Chinese or English name, or INS number such as
        ``211`` or ``INS 211``) in a food category; empty when it is not permitted there.

        Unknown category codes raise :class:`EntryError`.
        """
        self.category(food_category_code, field="food_category_code")
        return self._matching(food_category_code, additive, None)

    def _matching(self, food_category_code: str, additive: str,
                  ins: str | None) -> list[AdditiveLimit]:
        name = _name_key(additive)
        numbers = {key for key in (_ins_key(additive), _ins_key(ins or "")) if key is not None}
        return [limit for limit in self.additives.get(food_category_code, ())
                if name in (_name_key(limit.additive_zh), _name_key(limit.additive_en))
                or numbers.intersection(limit.ins)]

    def check_additive(self, food_category_code: str, additive: str, ins: str | None,
                       level: Decimal, unit: str) -> Violation | None:
        """Check one additive filing against the limits table; None when it is within limits.

        The table is read as a positive list, as GB 2760 itself is: an additive with no row for
        the food category (matched by name or by INS number) is ``not_permitted``. When several
        rows apply (the table's food categories are finer than ours, see food_category_note),
        the filing is flagged only if it exceeds all of them, so every flag is a certain
        violation rather than a guess about the sub-category. Levels are converted between
        g/kg and mg/kg (g/L and mg/L) as needed.

        Raises :class:`EntryError` for an unknown or non-food category, a negative or
        non-finite level, an unknown unit, or a unit that cannot be compared with any
        applicable limit (per-kg against per-L).
        """
        category = self.category(food_category_code, field="food_category_code")
        if category.class_code != FOOD_CLASS:
            raise EntryError(f"category {food_category_code} ({category.name_en}) is not food; "
                             "additive limits apply to food only", field="food_category_code")
        if not level.is_finite() or level < 0:
            raise EntryError(f"additive level must be a non-negative number, got {level}",
                             field="level")
        _additive_unit(unit)
        ins_number = None
        if ins is not None and ins.strip() not in _NO_INS:
            ins_number = _ins_key(ins)
            if ins_number is None:
                raise EntryError(f"{ins!r} is not an INS number (e.g. 211, 160a(ii))",
                                 field="ins")
        label = f"{additive} (INS {ins_number})" if ins_number else additive
        where = f"category {food_category_code} ({category.name_zh} {category.name_en})"
        limits = self._matching(food_category_code, additive, ins)
        if not limits:
            return Violation("not_permitted", food_category_code, additive, level, unit,
                             f"{label} is not permitted in {where}")
        comparable = [(convert_level(limit.max_level, limit.unit, unit), limit)
                      for limit in limits
                      if ADDITIVE_UNITS[limit.unit][0] == ADDITIVE_UNITS[unit][0]]
        if not comparable:
            raise EntryError(f"the limits for {label} in {where} are in {limits[0].unit}; "
                             f"a level in {unit} cannot be compared without the food's density",
                             field="unit")
        most, limit = max(comparable, key=lambda pair: pair[0])
        if level <= most:
            return None
        return Violation(
            "above_limit", food_category_code, additive, level, unit,
            f"{label} at {_plain(level)} {unit} exceeds the maximum {_plain(most)} {unit} "
            f"in {where}", max_level=most, limit=limit)


# --- loading -------------------------------------------------------------------------------


def load_reference(directory: Path | None = None) -> ReferenceData:
    """Read and validate the three tables from ``directory`` (default: the project's data/).

    The default folder is read once per process (the tables ship with the code and do not
    change while it runs); an explicit folder is read on every call. Raises
    :class:`ReferenceDataError` naming file, line and column on the first bad value.
    """
    if directory is None:
        return _load_default()
    return _load(Path(directory))


@functools.cache
def _load_default() -> ReferenceData:
    return _load(DEFAULT_DIRECTORY)


def _load(directory: Path) -> ReferenceData:
    categories = _load_categories(directory / CATEGORIES_FILE)
    standards = _load_standards(directory / STANDARDS_FILE, categories)
    additives = _load_additives(directory / ADDITIVES_FILE, categories)
    return ReferenceData(MappingProxyType(categories), MappingProxyType(standards),
                         MappingProxyType(additives))


class _Row:
    """One data row with its position, so every check can say where it failed."""

    def __init__(self, path: Path, line: int, values: dict[str, str]) -> None:
        self.path = path
        self.line = line
        self.values = values

    def error(self, column: str | None, problem: str) -> ReferenceDataError:
        return ReferenceDataError(self.path, self.line, column, problem)

    def text(self, column: str, *, required: bool = True) -> str:
        value = self.values[column]
        if required and not value:
            raise self.error(column, "value is empty")
        return value

    def code(self, column: str) -> str:
        value = self.text(column)
        if not _CODE.fullmatch(value):
            raise self.error(column, f"{value!r} is not a valid code (letters and digits, "
                                     "optionally joined by '.' or '-')")
        return value

    def flag(self, column: str) -> bool:
        value = self.values[column]
        if value not in ("yes", "no"):
            raise self.error(column, f"expected yes or no, got {value!r}")
        return value == "yes"

    def one_of(self, column: str, allowed: frozenset[str]) -> str:
        value = self.values[column]
        if value not in allowed:
            raise self.error(column, f"expected one of {', '.join(sorted(allowed))}, "
                                     f"got {value!r}")
        return value

    def optional_date(self, column: str) -> date | None:
        value = self.values[column]
        if not value:
            return None
        if not _ISO_DATE.fullmatch(value):
            raise self.error(column, f"expected a date as YYYY-MM-DD, got {value!r}")
        try:
            return date.fromisoformat(value)
        except ValueError as exc:
            raise self.error(column, f"{value!r} is not a real date ({exc})") from None

    def decimal(self, column: str) -> Decimal:
        value = self.text(column)
        try:
            number = Decimal(value)
        except InvalidOperation:
            raise self.error(column, f"expected a number, got {value!r}") from None
        if not number.is_finite() or number < 0:
            raise self.error(column, f"expected a non-negative number, got {value!r}")
        return number

    def items(self, column: str) -> list[str]:
        value = self.values[column]
        return [item.strip() for item in value.split(";")] if value else []


def _rows(path: Path, columns: tuple[str, ...]) -> list[_Row]:
    try:
        # utf-8-sig: official tables exported from spreadsheets often start with a BOM.
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ReferenceDataError(path, None, None, "file not found") from None
    except UnicodeDecodeError as exc:
        raise ReferenceDataError(path, None, None, f"not UTF-8 text ({exc})") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[_Row] = []
    try:
        header = [name.strip() for name in next(reader, [])]
        if not header:
            raise ReferenceDataError(path, 1, None, "no header line")
        missing = [name for name in columns if name not in header]
        if missing:
            raise ReferenceDataError(path, 1, missing[0], "column is missing from the header")
        duplicated = [name for name in header if header.count(name) > 1]
        if duplicated:
            raise ReferenceDataError(path, 1, duplicated[0], "column appears twice")
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue  # blank lines are layout, not rows
            if len(cells) != len(header):
                raise ReferenceDataError(path, reader.line_num, None,
                                         f"expected {len(header)} values, got {len(cells)}")
            # Extra columns are ignored: a fuller official table may carry notes.
            rows.append(_Row(path, reader.line_num,
                             {name: cell.strip() for name, cell in zip(header, cells, strict=True)
                              if name in columns}))
    except csv.Error as exc:
        raise ReferenceDataError(path, reader.line_num, None, f"not valid CSV ({exc})") from None
    return rows


def _load_categories(path: Path) -> dict[str, Category]:
    categories: dict[str, Category] = {}
    classes: dict[str, tuple[str, str]] = {}
    names: dict[str, str] = {}
    for row in _rows(path, CATEGORY_COLUMNS):
        code = row.code("code")
        if code in categories:
            raise row.error("code", f"duplicate category code {code!r}")
        class_code = row.code("class_code")
        class_names = (row.text("class_zh"), row.text("class_en"))
        # A class's names live on every row; they must agree or the class list is ambiguous.
        known = classes.setdefault(class_code, class_names)
        if known != class_names:
            column = "class_zh" if known[0] != class_names[0] else "class_en"
            raise row.error(column, f"class {class_code} is named {known[0]} / {known[1]} on "
                                    f"an earlier line, here {class_names[0]} / {class_names[1]}")
        name_zh = row.text("name_zh")
        if name_zh in names:
            raise row.error("name_zh", f"{name_zh!r} is already category {names[name_zh]}")
        names[name_zh] = code
        categories[code] = Category(
            code=code,
            class_code=class_code,
            class_zh=class_names[0],
            class_en=class_names[1],
            name_zh=name_zh,
            name_en=row.text("name_en"),
            needs_additive_filing=row.flag("needs_additive_filing"),
            needs_lot_inspection_before_shipment=row.flag(
                "needs_lot_inspection_before_shipment"),
            unit_serialization=row.one_of("unit_serialization", UNIT_SERIALIZATION_VALUES),
        )
    if not categories:
        raise ReferenceDataError(path, None, None, "no categories")
    return categories


def _load_standards(path: Path, categories: Mapping[str, Category]) -> dict[str, Standard]:
    standards: dict[str, Standard] = {}
    for row in _rows(path, STANDARD_COLUMNS):
        number = normalise_standard_number(row.text("number"))
        if number in standards:
            raise row.error("number", f"duplicate standard {number}")
        replaced_by = normalise_standard_number(row.text("replaced_by", required=False)) or None
        if replaced_by == number:
            raise row.error("replaced_by", f"{number} cannot replace itself")
        applies = row.items("applies_to_categories")
        for code in applies:
            if code not in categories:
                raise row.error("applies_to_categories", f"unknown category code {code!r}")
        if len(set(applies)) != len(applies):
            raise row.error("applies_to_categories", "a category code is listed twice")
        standards[number] = Standard(
            number=number,
            title_zh=row.text("title_zh"),
            title_en=row.text("title_en"),
            status=row.one_of("status", STANDARD_STATUSES),
            replaced_by=replaced_by,
            effective_from=row.optional_date("effective_from"),
            applies_to_categories=tuple(applies),
        )
    return standards


def _load_additives(path: Path,
                    categories: Mapping[str, Category]) -> dict[str, tuple[AdditiveLimit, ...]]:
    additives: dict[str, list[AdditiveLimit]] = {}
    seen: set[tuple[str, str, str]] = set()
    for row in _rows(path, ADDITIVE_COLUMNS):
        additive_zh = row.text("additive_zh")
        ins: list[str] = []
        for item in row.items("ins"):
            if item in _NO_INS:
                continue
            key = _ins_key(item)
            if key is None:
                raise row.error("ins", f"{item!r} is not an INS number (e.g. 211, 160a(ii))")
            ins.append(key)
        code = row.text("food_category_code")
        category = categories.get(code)
        if category is None:
            raise row.error("food_category_code", f"unknown category code {code!r}")
        if category.class_code != FOOD_CLASS:
            raise row.error("food_category_code",
                            f"category {code} ({category.name_en}) is not food")
        note = row.text("food_category_note", required=False)
        if (additive_zh, code, note) in seen:
            raise row.error("additive_zh", f"{additive_zh} already has a limit for category "
                                           f"{code} ({note or 'no note'})")
        seen.add((additive_zh, code, note))
        unit = row.text("unit")
        if unit not in ADDITIVE_UNITS:
            raise row.error("unit", f"expected one of {', '.join(ADDITIVE_UNITS)}, "
                                    f"got {unit!r}")
        additives.setdefault(code, []).append(AdditiveLimit(
            additive_zh=additive_zh,
            additive_en=row.text("additive_en"),
            ins=tuple(ins),
            food_category_code=code,
            food_category_note=note,
            max_level=row.decimal("max_level"),
            unit=unit,
            expressed_as=row.text("expressed_as", required=False),
        ))
    return {code: tuple(limits) for code, limits in additives.items()}
