"""The shopper's pages: the public scan page at ``/`` and what a code shows (``/p/…``).

Server-rendered and usable without JavaScript: ``/`` takes a typed code (``/scan``) or a photo
(``/scan/photo``, decoded by ``scanners.images``) and sends the shopper to the code's page;
``/p/01/{gtin}[/10/{lot}][/21/{serial}]`` and ``/p/c/{code}`` (the resolver's default links,
:mod:`web.resolver`) show product, category, maker and licence, lot dates, inspections, a recall
banner, an expired-lot notice and, for a unit, its query count or a counterfeit warning. The
``#verification`` section (``public/_phone.html``) checks the page's entries in the browser
against the evidence (``GET /api/v1/public/evidence``). ``?lang=en`` (or ``zh_CN``) switches
the language, and such a request does not count as another query of the code.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, redirect, render_template, request, url_for

from ledger.consumer import DEFAULT_WARNING_THRESHOLD, Lookup, lookup_code
from ledger.log.checkpoint import verifier_key
from ledger.log.cosignature import CosignerKey
from ledger.log.cosigning import parse_witnesses
from ledger.recall import DEFAULT_ADVICE
from scanners.codes import parse_code
from scanners.errors import CodeError
from scanners.images import decode_image
from web import consumer_i18n
from web.console import i18n
from web.consumer_i18n import t as t_
from web.db import get_ledger, get_runtime, get_session
from web.errors import ApiError
from web.resolver import ItemKey, page_url, parse_code_path, parse_item_path, request_path

__all__ = ["bp", "cosignature_policy", "look_up", "photo_bp"]

bp = Blueprint("shopper", __name__)
#: the photo upload apart, so the abuse limits give decoding its own, tighter rate
photo_bp = Blueprint("shopper_photo", __name__)


def _threshold() -> int:
    """``TRACENET_QUERY_WARNING_THRESHOLD``, else :data:`DEFAULT_WARNING_THRESHOLD`."""
    configured = current_app.config.get("QUERY_WARNING_THRESHOLD")
    return int(configured) if configured not in (None, "") else DEFAULT_WARNING_THRESHOLD


def cosignature_policy() -> tuple[list[CosignerKey], int]:
    """The witnesses (``TRACENET_WITNESSES``) and the k of them that must have cosigned the
    checkpoint a shopper's page is checked against (``TRACENET_CONSUMER_MIN_COSIGNATURES``);
    no witnesses and 0 when none is required."""
    settings = get_runtime().settings
    k = settings.consumer_min_cosignatures
    if k <= 0:
        return [], 0
    keys = {w.key.public_key: w.key for w in parse_witnesses(settings.witnesses or "")}
    return list(keys.values()), k


def look_up(key: ItemKey, *, count: bool = True) -> Lookup:
    """:func:`ledger.consumer.lookup_code` for ``key``, committed (the count is a write)."""
    session = get_session()
    found = lookup_code(session, key, code_secret=get_runtime().code_secret, count=count,
                        threshold=_threshold())
    session.commit()
    return found


def _render(key: ItemKey) -> tuple[str, int]:
    # A language switch shows the same answer again: it is not another query of the code.
    found = look_up(key, count=request.method == "GET" and "lang" not in request.args)
    status = 200
    if found.level != "unit" and not found.product.found:
        status = 404
    evidence = url_for("public_api.evidence", **_evidence_args(key))
    ledger = get_ledger()
    inspection_types = {entry.seq: entry.type for entry in found.entries
                        if entry.role == "inspection"}
    witnesses, min_cosignatures = cosignature_policy()
    return render_template("consumer/item.html", found=found, key=key,
                           evidence_url=evidence, inspection_types=inspection_types,
                           witness_keys=[w.vkey for w in witnesses],
                           min_cosignatures=min_cosignatures,
                           verifier_key=verifier_key(ledger.origin,
                                                     ledger.signing_key.public_key())), status


def _evidence_args(key: ItemKey) -> dict[str, Any]:
    if key.supervision is not None:
        return {"code": key.supervision.text}
    args: dict[str, Any] = {"gtin": key.gtin or ""}
    if key.lot is not None:
        args["lot"] = key.lot
    if key.serial is not None:
        args["serial"] = key.serial
    return args


@bp.get("/p/01/<path:rest>")
def shopper_page(rest: str) -> tuple[str, int]:
    """What a shopper sees of a product, lot or unit (counting a unit code's query)."""
    try:
        key = parse_item_path(rest)
    except (ApiError, CodeError) as exc:
        return _unreadable(exc)
    return _render(key)


@bp.get("/p/c/<code>")
def code_page(code: str) -> tuple[str, int]:
    """What a shopper sees of a supervision code (counting its query)."""
    try:
        key = parse_code_path(code)
    except (ApiError, CodeError) as exc:
        return _unreadable(exc)
    return _render(key)


def _unreadable(exc: ApiError | CodeError) -> tuple[str, int]:
    # A person's page: a mistyped address gets the scan page saying what is wrong, with the
    # status the resolver gives the same path (400), not the API's JSON.
    status = exc.status if isinstance(exc, ApiError) else 400
    return render_template("consumer/home.html", code=None,
                           error=t_("home.bad_code", message=exc.message)), status


@bp.context_processor
def _template_helpers() -> dict[str, Any]:
    return consumer_i18n.template_helpers() | {"request_path": request_path,
                                                "recall_advice": _recall_advice}


def _recall_advice(advice: str | None) -> str:
    """What a recall tells consumers to do, in the page's language when it is the default
    advice (a recall that gives none gets :data:`ledger.recall.DEFAULT_ADVICE`, in Chinese)."""
    if advice is None or advice == DEFAULT_ADVICE[0]:
        return i18n.pick(*DEFAULT_ADVICE)
    return advice


photo_bp.context_processor(_template_helpers)


# --- the public scan page ----------------------------------------------------------------------


@bp.before_request
def _language() -> None:
    consumer_i18n.remember_language()


def _page_for(text: str) -> str:
    """The shopper's page of a code typed or read off a package: anything
    :func:`scanners.codes.parse_code` reads (CodeError when it cannot, or names no GTIN)."""
    return page_url(ItemKey.of(parse_code(text.strip())))


@bp.get("/")
def home() -> str:
    """The public scan page: a code box, a photo upload, and the way to the console."""
    return render_template("consumer/home.html", error=None, code=None)


@bp.get("/scan")
def scan() -> Any:
    """Look a typed code up: to its page, or back to the scan page saying what is wrong."""
    code = request.args.get("code", "")
    try:
        target = _page_for(code)
    except CodeError as exc:  # the form is for people: show the problem on the page
        return render_template("consumer/home.html", code=code,
                               error=t_("home.bad_code", message=exc.message)), 400
    return redirect(target, 303)


@photo_bp.post("/scan/photo")
def scan_photo() -> Any:
    """Read the codes in an uploaded photo and go to the page of the first readable one."""
    upload = request.files.get("image")
    data = upload.read() if upload is not None else b""
    try:
        decoded = decode_image(data)
    except CodeError as exc:
        return render_template("consumer/home.html", code=None,
                               error=t_("home.no_code_found", message=exc.message)), 400
    problems = []
    for code in decoded:
        try:
            return redirect(_page_for(code.text), 303)
        except CodeError as exc:
            problems.append(exc.message)
    message = problems[0] if problems else "no barcode or QR code was found"
    return render_template("consumer/home.html", code=None,
                           error=t_("home.no_code_found", message=message)), 400
