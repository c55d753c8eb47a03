"""The GS1 Digital Link resolver at the service root, and the shopper's page it sends people to.

Resolver (GS1 Digital Link URI syntax 1.4, GS1-Conformant Resolver 1.2):

- ``/.well-known/gs1resolver``: the resolver description file;
- ``/01/{gtin}``, ``/01/{gtin}/10/{lot}``, ``/01/{gtin}/10/{lot}/21/{serial}`` (and
  ``/01/{gtin}/21/{serial}``), and ``/c/{code}`` for the 20-digit supervision code: a 307
  redirect to the default link (the shopper's page on this service), the query string passed
  on (less ``linkType``); ``?linkType=linkset`` or ``all``, or ``Accept:
  application/linkset+json``, answer the item's links as an RFC 9264 linkset; ``?linkType=
  gs1:pip`` (``gs1:recallStatus``, ``gs1:traceability``, ``gs1:certificationInfo``) redirects
  to that link, 404 when the item has none. Every answer carries a ``Link`` header to the
  linkset, CORS headers, and works for HEAD and OPTIONS.
- A GTIN-8, -12 or -13 resolves as its 14-digit form; a bad check digit or a malformed path is
  a 400, an unknown GTIN a 404. An unknown lot walks up to the product's links. A serial never
  walks up on its own: every serial of a known lot has the same links (its page says whether
  the code was issued, and counts the query), so the resolver's answer tells a prober nothing
  about which serials exist. For the same reason every well-formed supervision code resolves.

The shopper's page (``/p/01/…``, ``/p/c/{code}``) is server-rendered and works without
JavaScript: product, category, maker and licence, lot dates, inspections, a recall banner, an
expired-lot notice, the unit's query count or a counterfeit warning; ``#verification`` holds
what the in-browser check of the ledger reads (``data-*``: the entries' seqs, the code and the
evidence URL, :func:`web.api.public.evidence`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlencode, urlsplit

from flask import (
    Blueprint,
    jsonify,
    redirect,
    request,
    url_for,
)
from sqlalchemy import select
from werkzeug.wrappers import Response as BaseResponse

from ledger.supervision.models import LotRow, ProductRow, RecordRow
from ledger.supervision.names import INSPECTION
from scanners import supervision_code
from scanners.codes import ParsedCode, gtin14
from scanners.errors import CodeError
from scanners.supervision_code import SupervisionCode
from web.db import get_session
from web.errors import ApiError

__all__ = ["LINKSET_TYPE", "ItemKey", "bp", "page_url", "parse_code_path", "parse_item_path",
           "request_path", "request_segments"]

bp = Blueprint("resolver", __name__)

LINKSET_TYPE = "application/linkset+json"
GS1_VOC = "https://gs1.org/voc/"
#: the link types this resolver may hold for an item, by their CURIE
LINK_TYPES = ("gs1:pip", "gs1:recallStatus", "gs1:traceability", "gs1:certificationInfo")
_CURIE = {f"{GS1_VOC}{name.removeprefix('gs1:')}": name
          for name in (*LINK_TYPES, "gs1:defaultLink")}
#: GS1 AI encodable character set 82 (GS1 General Specifications 7.11, figure 7.11-1)
_CSET82 = re.compile(r"[!\"%&'()*+,\-./0-9:;<=>?A-Z_a-z]{1,20}")
_CORS = {"Access-Control-Allow-Origin": "*",
         "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
         "Access-Control-Allow-Headers": "Accept, Accept-Language, Content-Type",
         "Access-Control-Expose-Headers": "Link, Location, Content-Type",
         "Access-Control-Max-Age": "86400"}


@dataclass(frozen=True)
class ItemKey:
    """What a resolver path names: a GTIN (14 digits), maybe a lot and a serial; or a
    supervision code. It reads like a parsed code to :func:`ledger.consumer.lookup_code`."""

    gtin: str | None = None
    lot: str | None = None
    serial: str | None = None
    supervision: SupervisionCode | None = None

    @property
    def kind(self) -> str:
        """As ``scanners.codes.ParsedCode.kind``."""
        return "supervision_code" if self.supervision is not None else "digital_link"

    def get(self, ai: str) -> str | None:
        """The value of Application Identifier ``ai`` (01, 10 or 21), if the path has it."""
        return {"01": self.gtin, "10": self.lot, "21": self.serial}.get(ai)

    @property
    def path(self) -> str:
        """The canonical path: ``/01/{gtin14}[/10/{lot}][/21/{serial}]`` or ``/c/{code}``."""
        if self.supervision is not None:
            return f"/c/{self.supervision.text}"
        path = f"/01/{self.gtin}"
        if self.lot is not None:
            path += f"/10/{_quote(self.lot)}"
        if self.serial is not None:
            path += f"/21/{_quote(self.serial)}"
        return path

    @classmethod
    def of(cls, parsed: ParsedCode) -> ItemKey:
        """The item a parsed code names (CodeError when it names no trade item: an SSCC…)."""
        if parsed.supervision is not None:
            return cls(supervision=parsed.supervision)
        gtin = parsed.get("01")
        if gtin is None:
            raise CodeError("code.no_gtin", "the code names no trade item (no GTIN, AI 01) "
                            "that this service can look up")
        return cls(gtin, parsed.get("10"), parsed.get("21"))

    def above(self) -> ItemKey:
        """The item one level up: the lot of a serial, the product of a lot."""
        if self.serial is not None and self.lot is not None:
            return ItemKey(self.gtin, self.lot)
        return ItemKey(self.gtin)


def _quote(value: str) -> str:
    return quote(value, safe="")


def _bad(message: str, field: str, code: str = "resolver.malformed_path") -> ApiError:
    return ApiError(400, code, message, field)


def request_path() -> str:
    """The request's path as the client sent it, percent-escapes kept (``RAW_URI`` /
    ``REQUEST_URI``, which gunicorn and Werkzeug set), else the routed path escaped again."""
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    if isinstance(raw, str) and raw:
        path = urlsplit(raw).path
        if path.startswith("/") and unquote(path).endswith(request.path):
            return path
    return quote(request.script_root + request.path, safe="/")


def request_segments(rest: str) -> list[str]:
    """``rest`` (a ``<path:rest>`` the router already percent-decoded) split into its segments
    at the slashes the client sent: a lot or serial holding ``/``, which GS1 Digital Link sends
    escaped as ``%2F``, stays one value instead of splitting the path in two."""
    raw = request_path().split("/")
    for count in range(1, len(raw) + 1):
        segments = [unquote(part) for part in raw[-count:]]
        if "/".join(segments) == rest:
            return segments
    return rest.split("/")


def parse_item_path(rest: str) -> ItemKey:
    """The key a path after ``/01/`` names: ``{gtin}[/22/{cpv}][/10/{lot}][/21/{serial}]``.

    The key qualifiers of a GTIN come in GS1's order (consumer product variant 22, lot 10,
    serial 21), each once. The ledger keeps no variants, so a 22 is read and checked, then
    left out: the item resolves as the one above it. Raises :class:`~web.errors.ApiError`
    (400) for a malformed path, and :class:`~scanners.errors.CodeError` (400) for a malformed
    GTIN or a bad check digit.
    """
    parts = request_segments(rest)
    gtin = gtin14(parts[0])
    qualifiers = parts[1:]
    if len(qualifiers) % 2:
        raise _bad("a GS1 Digital Link path goes /01/{gtin}[/10/{lot}][/21/{serial}]: "
                   f"{rest!r} has a key qualifier without its value", "path")
    values: dict[str, str] = {}
    order = ("22", "10", "21")
    last = -1
    for index in range(0, len(qualifiers), 2):
        ai, value = qualifiers[index], qualifiers[index + 1]
        if ai not in order:
            raise _bad(f"AI {ai!r} is not a key qualifier of a GTIN (22 variant, 10 lot, "
                       "21 serial)", "path")
        if order.index(ai) <= last:
            raise _bad(f"AI {ai} is out of order or repeated: variant (22), lot (10), serial "
                       "(21), in that order, each once", ai)
        last = order.index(ai)
        if not _CSET82.fullmatch(value):
            raise _bad(f"AI {ai} takes 1 to 20 characters of GS1's character set 82; got "
                       f"{value[:40]!r}", ai)
        values[ai] = value
    return ItemKey(gtin, values.get("10"), values.get("21"))


def parse_code_path(code: str) -> ItemKey:
    """The key ``/c/{code}`` names (ApiError 400 for a malformed supervision code)."""
    try:
        return ItemKey(supervision=supervision_code.parse(code))
    except CodeError as exc:
        raise ApiError(400, exc.code, exc.message, "code") from None


# --- resolving -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Link:
    """One link of an item: its GS1 link type (CURIE), target and title."""

    rel: str
    href: str
    title: str
    type: str


def page_url(key: ItemKey) -> str:
    if key.supervision is not None:
        return url_for("shopper.code_page", code=key.supervision.text, _external=True)
    # key.path has its values escaped already (a '/' in a lot as %2F); url_for would escape
    # the '%' again
    return url_for("shopper.home", _external=True).rstrip("/") + "/p" + key.path


def _links(key: ItemKey) -> tuple[ItemKey, list[Link]]:
    """The item whose links answer ``key`` (walked up from an unknown lot) and its links.

    NotFoundError-like 404 for an unknown GTIN. The default link is the ``gs1:pip`` one.
    """
    if key.supervision is not None:
        return key, [Link("gs1:pip", page_url(key), "商品信息与防伪查询 / Product information "
                          "and authenticity", "text/html")]
    session = get_session()
    if session.get(ProductRow, key.gtin) is None:
        raise ApiError(404, "resolver.unknown_item",
                       f"GTIN {key.gtin} is not registered on this ledger", "01")
    item = key
    if item.lot is not None and session.get(LotRow, (item.gtin, item.lot)) is None:
        item = ItemKey(item.gtin)  # walk up: an unknown lot (and its serial) to the product
    links = [Link("gs1:pip", page_url(item), "商品信息与防伪查询 / Product information and "
                  "authenticity", "text/html")]
    if item.lot is not None:
        lot_path = {"gtin": item.gtin, "lot": item.lot}
        links.append(Link("gs1:recallStatus", url_for(
            "recalls.lot_status", **lot_path, _external=True),
            "召回状态 / Recall status", "application/json"))
        links.append(Link("gs1:traceability", url_for(
            "public_api.evidence", **lot_path, **({"serial": item.serial} if item.serial
                                                 else {}), _external=True),
            "账本证据：记录、包含证明与签名检查点 / Ledger evidence: entries, inclusion proofs "
            "and the signed checkpoint", "application/json"))
        inspected = session.scalar(select(RecordRow.seq).where(
            RecordRow.type == INSPECTION, RecordRow.gtin == item.gtin,
            RecordRow.lot == item.lot, RecordRow.superseded_by.is_(None)).limit(1))
        if inspected is not None:
            links.append(Link("gs1:certificationInfo", page_url(item) + "#inspections",
                              "检验报告 / Inspection results", "text/html"))
    return item, links


def _anchor(key: ItemKey) -> str:
    return request.host_url.rstrip("/") + key.path


def _linkset(key: ItemKey, links: list[Link]) -> dict[str, Any]:
    """The RFC 9264 JSON linkset of ``key`` (GS1-Conformant Resolver 1.2, its schema)."""
    context: dict[str, Any] = {"anchor": _anchor(key)}
    name = None
    if key.gtin is not None:
        product = get_session().get(ProductRow, key.gtin)
        name = product.name if product is not None else None
    if name:
        context["description"] = name
        context["itemDescription"] = name
    default = links[0]
    for rel, link in [("gs1:defaultLink", default), *((link.rel, link) for link in links)]:
        context.setdefault(GS1_VOC + rel.removeprefix("gs1:"), []).append({
            "href": link.href, "title": link.title, "type": link.type,
            "hreflang": ["zh-CN", "en"]})
    return {"linkset": [context]}


def _link_header(key: ItemKey) -> str:
    return (f'<{_anchor(key)}?{urlencode({"linkType": "linkset"})}>; rel="linkset"; '
            f'type="{LINKSET_TYPE}"')


def _passed_on(target: str) -> str:
    """``target`` with the request's query string passed on (less ``linkType``)."""
    query = [(name, value) for name, value in request.args.items(multi=True)
             if name != "linkType"]
    if not query:
        return target
    base, _, fragment = target.partition("#")
    joined = base + ("&" if "?" in base else "?") + urlencode(query)
    return joined + (f"#{fragment}" if fragment else "")


def _wants_linkset() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", LINKSET_TYPE, "application/json"])
    return best in (LINKSET_TYPE, "application/json") and (
        request.accept_mimetypes[best] > request.accept_mimetypes["text/html"])


def _resolve(key: ItemKey) -> BaseResponse:
    item, links = _links(key)
    link_type = request.args.get("linkType") or None  # an empty one asks for the default
    response: BaseResponse
    if link_type in ("linkset", "all") or (link_type is None and _wants_linkset()):
        response = jsonify(_linkset(key, links))
        response.mimetype = LINKSET_TYPE
    else:
        wanted = _CURIE.get(link_type or "", link_type)
        if wanted in (None, "gs1:defaultLink"):
            target: Link | None = links[0]
        else:
            target = next((link for link in links if link.rel == wanted), None)
        if target is None:
            raise ApiError(404, "resolver.link_type_unavailable",
                           f"{key.path} has no link of type {link_type!r}; it has "
                           f"{', '.join(link.rel for link in links)}", "linkType")
        response = redirect(_passed_on(target.href), 307)
    response.headers["Link"] = _link_header(key)
    response.headers["Vary"] = "Accept"
    return response


@bp.after_request
def _cors(response: BaseResponse) -> BaseResponse:
    # Resolver answers are public and read by other sites' scanners: any origin may read them.
    if request.endpoint in _CORS_ENDPOINTS:
        response.headers.update(_CORS)
    return response


@bp.get("/.well-known/gs1resolver")
def description() -> BaseResponse:
    """The resolver description file (GS1-Conformant Resolver 1.2, section 6)."""
    root = request.host_url.rstrip("/")
    return jsonify({
        "name": "质监溯源网 Tracenet GS1 Digital Link resolver",
        "resolverRoot": root,
        "supportedPrimaryKeys": ["01"],
        "supportedLinkType": [{"namespace": GS1_VOC, "prefix": "gs1:"}],
        "linkTypeDefaultCanBeLinkset": False,
        "supportedContextValuesEnumerated": [],
        "validatingResolver": True,
        "linkTypes": list(LINK_TYPES),
        "supportsDigitalLinkAttributes": False,
        "supportedQualifiers": ["10", "21"],
        "supervisionCodePath": f"{root}/c/{{code}}",
    })


@bp.route("/01", methods=["GET"], defaults={"rest": ""})
@bp.route("/01/", methods=["GET"], defaults={"rest": ""})
@bp.get("/01/<path:rest>")
def resolve_gtin(rest: str) -> BaseResponse:
    """Resolve a GS1 Digital Link URI for a GTIN (with a lot and serial)."""
    if not rest:
        raise _bad("a GS1 Digital Link path goes /01/{gtin}[/10/{lot}][/21/{serial}]", "01")
    return _resolve(parse_item_path(rest))


@bp.get("/c/<code>")
def resolve_code(code: str) -> BaseResponse:
    """Resolve a 20-digit supervision code to its page."""
    return _resolve(parse_code_path(code))


_CORS_ENDPOINTS = frozenset({"resolver.description", "resolver.resolve_gtin",
                             "resolver.resolve_code"})
