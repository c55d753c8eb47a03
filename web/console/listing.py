"""Console listings: paged, searchable, sortable and filterable, with CSV/XLSX download.

Every table of rows in the console (lots, records, enterprises, recalls, alerts, the audit
trail) is one :class:`Listing`: its columns and filters, declared once, over a SQLAlchemy
``Select`` whose labelled columns carry the keys (the select already holds the caller's
scope: ``ledger.accounts.scope``). :func:`run` reads the request's query string — ``q`` (words
that must each appear in a searchable column), ``sort`` / ``dir``, one parameter per filter,
``page`` and ``per`` — into a :class:`ListingPage`; :func:`download` streams every matching
row, in the same order, as CSV or XLSX. ``_listing.html`` draws the search and filter bar,
the sortable headers, the pager and the download links from the page, so a page's template
writes only its rows.

Pages are counted (``OFFSET``/``LIMIT`` after a ``COUNT``): a person pages through a
listing by number and jumps to the last page, which a keyset cursor cannot do; a search or
filter keeps the count small, and the API keeps its keyset cursors for machines.

Unknown sort keys, filter values outside their choices and bad page numbers are ignored
(the default applies), never an error: they come from a hand-edited address, and the page
shows what it did apply.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from flask import Response, request, stream_with_context
from sqlalchemy import ColumnElement, Select, String, false, func, or_, select
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm import Session

from web.console.i18n import t
from web.db import get_runtime

__all__ = ["DOWNLOAD_LIMIT", "PER_PAGE", "Column", "Filter", "Listing", "ListingPage",
           "download", "run"]

#: rows per page a user may choose (the first is the default)
PER_PAGE = (50, 20, 100, 200)
#: a download holds at most this many rows (the page says so when there were more)
DOWNLOAD_LIMIT = 100_000
_CSV = "text/csv; charset=utf-8"
_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_MAX_TERMS = 8


@dataclass(frozen=True)
class Column:
    """A column of a listing: ``key`` names a labelled column of the select (or, with
    ``sortable=False`` and ``searchable=False``, a value the page adds to each item), ``label``
    a console message key. ``text`` turns an item into the cell text of a download (default:
    the value as it is)."""

    key: str
    label: str
    sortable: bool = True
    searchable: bool = False
    text: Callable[[Mapping[str, Any]], str] | None = None
    #: shown on the page; False for columns only the download carries
    shown: bool = True
    #: the select's column to order by, when not ``key`` (a quantity kept as text sorts by
    #: its number)
    sort_by: str | None = None


@dataclass(frozen=True)
class Filter:
    """A filter: the query parameter ``key`` narrows the select's column ``column`` (default
    ``key``) to the value chosen; with ``choices`` ((value, label message key), ...) only
    those values; ``prefix`` matches the beginning (a district names its sub-districts)."""

    key: str
    label: str
    choices: Sequence[tuple[str, str]] = ()
    column: str | None = None
    prefix: bool = False


@dataclass(frozen=True)
class Listing:
    """What a listing shows and lets people do with it."""

    name: str  #: the download's file name (no extension)
    columns: tuple[Column, ...]
    default_sort: str
    default_desc: bool = False
    #: a unique column key that breaks ties, so pages never repeat or skip a row
    tiebreak: str | None = None
    filters: tuple[Filter, ...] = ()

    def column(self, key: str) -> Column | None:
        """The column called ``key``, or None."""
        return next((c for c in self.columns if c.key == key), None)


@dataclass
class ListingPage:
    """One page of a listing as the request asked for it."""

    listing: Listing
    items: list[dict[str, Any]]
    total: int
    page: int
    per: int
    sort: str
    desc: bool
    q: str
    filters: dict[str, str]
    args: dict[str, str] = field(default_factory=dict)

    @property
    def pages(self) -> int:
        """How many pages there are (at least one)."""
        return max(1, -(-self.total // self.per))

    @property
    def first(self) -> int:
        """The 1-based number of the first row on this page (0 when there is none)."""
        return 0 if not self.items else (self.page - 1) * self.per + 1

    @property
    def last(self) -> int:
        """The number of the last row on this page."""
        return self.first + len(self.items) - 1 if self.items else 0

    def url(self, **changes: Any) -> str:
        """This page's address with ``changes`` to its parameters (None removes one)."""
        args = {**self.args, **{k: v for k, v in changes.items()}}
        kept = {k: str(v) for k, v in args.items() if v not in (None, "")}
        return f"{request.path}?{urlencode(kept)}" if kept else request.path

    def sort_url(self, key: str) -> str:
        """The address sorting by ``key``: ascending first, then flipping the direction."""
        desc = not self.desc if key == self.sort else False
        return self.url(sort=key, dir="desc" if desc else "asc", page=None)

    def download_url(self, fmt: str) -> str:
        """The address of the download of every matching row in ``fmt`` (csv or xlsx)."""
        return self.url(download=fmt, page=None, per=None)

    @property
    def columns(self) -> list[Column]:
        """The columns shown on the page."""
        return [c for c in self.listing.columns if c.shown]


def _clean(text: str) -> str:
    # Control characters match nothing anyone typed, and PostgreSQL refuses a NUL outright.
    return "".join(c for c in text if c >= " " and c != "\x7f")


def _args(listing: Listing, values: Mapping[str, str]) -> tuple[dict[str, str], str, str,
                                                                 bool, dict[str, str]]:
    q = " ".join(_clean(values.get("q", "")).split())[:200]
    sort = values.get("sort", "")
    column = listing.column(sort)
    if column is None or not column.sortable:
        sort = listing.default_sort
        desc = listing.default_desc
    else:
        desc = values.get("dir", "asc") == "desc"
    chosen: dict[str, str] = {}
    for spec in listing.filters:
        value = _clean(values.get(spec.key, "")).strip()[:200]
        if not value:
            continue
        if spec.choices and value not in {v for v, _label in spec.choices}:
            continue
        chosen[spec.key] = value
    kept = {"q": q, **chosen}
    if values.get("sort"):
        kept.update(sort=sort, dir="desc" if desc else "asc")
    if values.get("per"):
        kept["per"] = values["per"]
    return kept, q, sort, desc, chosen


def _python_type(column: Any) -> type:
    try:
        found: type = column.type.python_type
    except NotImplementedError:
        return str
    return found


def _narrowed(listing: Listing, query: Select[Any], q: str, sort: str, desc: bool,
              chosen: Mapping[str, str]) -> Select[Any]:
    columns = query.selected_columns
    conditions: list[ColumnElement[bool]] = []
    searchable = [columns[c.key] if _python_type(columns[c.key]) is str
                  else sql_cast(columns[c.key], String)  # a number is searched as text
                  for c in listing.columns if c.searchable]
    for term in q.split()[:_MAX_TERMS]:
        if searchable:
            needle = term.lower()
            conditions.append(or_(*(func.lower(func.coalesce(col, "")).contains(
                needle, autoescape=True) for col in searchable)))
    for spec in listing.filters:
        if spec.key in chosen:
            col = columns[spec.column or spec.key]
            value: Any = chosen[spec.key]
            if _python_type(col) is int:  # PostgreSQL compares no integer to text
                value = int(value) if value.lstrip("-").isdigit() and len(value) < 19 else None
                if value is None:
                    conditions.append(false())
                    continue
            conditions.append(col.startswith(value, autoescape=True) if spec.prefix
                              else col == value)
    if conditions:
        query = query.where(*conditions)
    sorted_by = listing.column(sort)
    ordered = columns[(sorted_by.sort_by if sorted_by is not None else None) or sort]
    order = [ordered.desc() if desc else ordered.asc()]
    if listing.tiebreak and listing.tiebreak != sort:
        tie = columns[listing.tiebreak]
        order.append(tie.desc() if desc else tie.asc())
    return query.order_by(None).order_by(*order)


def run(session: Session, listing: Listing, query: Select[Any],
        values: Mapping[str, str] | None = None) -> ListingPage:
    """The page of ``query`` the request (or ``values``) asks for."""
    values = request.args if values is None else values
    kept, q, sort, desc, chosen = _args(listing, values)
    narrowed = _narrowed(listing, query, q, sort, desc, chosen)
    total = session.scalar(select(func.count()).select_from(
        narrowed.order_by(None).subquery())) or 0
    try:
        per = int(values.get("per", PER_PAGE[0]))
    except ValueError:
        per = PER_PAGE[0]
    per = per if per in PER_PAGE else PER_PAGE[0]
    pages = max(1, -(-total // per))
    try:
        number = min(max(1, int(values.get("page", "1"))), pages)
    except ValueError:
        number = 1
    rows = session.execute(narrowed.limit(per).offset((number - 1) * per)).all()
    items = [dict(row._mapping) for row in rows]
    return ListingPage(listing, items, total, number, per, sort, desc, q, chosen, kept)


def wants_download() -> str | None:
    """``csv`` or ``xlsx`` when the request asks for the listing's download, else None."""
    fmt = request.args.get("download")
    return fmt if fmt in ("csv", "xlsx") else None


def _cell(column: Column, item: Mapping[str, Any]) -> str:
    if column.text is not None:
        return column.text(item)
    value = item.get(column.key)
    return "" if value is None else str(value)


def download(session: Session, listing: Listing, query: Select[Any], fmt: str,
             decorate: Callable[[list[dict[str, Any]]], None] | None = None,
             values: Mapping[str, str] | None = None) -> Response:
    """Every row the request's search and filters match, in its order, as ``fmt`` (``csv``:
    UTF-8 with a BOM, so Excel reads it; ``xlsx``), with the column labels in the user's
    language as the header. ``decorate`` adds what the page adds to its items, a chunk of
    rows at a time."""
    values = request.args if values is None else values
    _kept, q, sort, desc, chosen = _args(listing, values)
    narrowed = _narrowed(listing, query, q, sort, desc, chosen).limit(DOWNLOAD_LIMIT)
    header = [t(c.label) for c in listing.columns]
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%MZ")
    disposition = {"Content-Disposition":
                   f'attachment; filename="{listing.name}-{stamp}.{fmt}"',
                   "Cache-Control": "private, no-store"}

    sessions = get_runtime().sessions

    def rows() -> Iterator[list[str]]:
        chunk: list[dict[str, Any]] = []
        # A session of the download's own, closed when the body is, read or abandoned: a
        # streamed body outlives the request's session.
        with sessions() as own:
            for row in own.execute(narrowed.execution_options(yield_per=1000)):
                chunk.append(dict(row._mapping))
                if len(chunk) == 1000:
                    yield from _cells(chunk)
                    chunk = []
        if chunk:
            yield from _cells(chunk)

    def _cells(chunk: list[dict[str, Any]]) -> Iterator[list[str]]:
        if decorate is not None:
            decorate(chunk)
        for item in chunk:
            yield [_cell(c, item) for c in listing.columns]

    if fmt == "csv":
        def body() -> Iterator[bytes]:
            out = io.StringIO()
            writer = csv.writer(out)
            writer.writerow(header)
            yield out.getvalue().encode("utf-8-sig")
            for row in rows():
                out.seek(0)
                out.truncate()
                writer.writerow([_spreadsheet_safe(cell) for cell in row])
                yield out.getvalue().encode()

        return Response(stream_with_context(body()), content_type=_CSV, headers=disposition)
    from openpyxl import Workbook  # noqa: PLC0415 - only an XLSX download needs it

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(listing.name[:31])
    sheet.append(header)
    for row in rows():
        sheet.append([_spreadsheet_safe(cell) for cell in row])
    stream = io.BytesIO()
    workbook.save(stream)
    return Response(stream.getvalue(), mimetype=_XLSX, headers=disposition)


def _spreadsheet_safe(cell: str) -> str:
    # A cell starting with = + - @ (or a tab / CR) is a formula to Excel and LibreOffice: an
    # enterprise name or lot code chosen by someone else must not run as one (CSV injection,
    # OWASP). A leading apostrophe keeps it text.
    return "'" + cell if cell[:1] in ("=", "+", "-", "@", "\t", "\r") else cell
