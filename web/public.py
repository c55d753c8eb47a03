"""Public pages (阳光行政): recall notices anyone may read, without signing in.

``/recalls`` (HTML, zh-CN by default, English on the console's language switch),
``/recalls.json`` (paged like the API) and ``/recalls.atom`` (an Atom 1.0 feed, RFC 4287).
They show what :func:`ledger.recall.public_recalls` gives: level, product, lots, reason,
hazard, dates and what consumers should do, and never quantities, prices or customers.
"""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree

from flask import Blueprint, Response, jsonify, render_template, request, url_for

from ledger.log import rfc3339
from ledger.recall import public_recalls
from ledger.supervision.recall_levels import parse_moment
from schemas.recalls import PublicRecallPageSchema
from web.api.pagination import PageQuery, page_body
from web.console import i18n
from web.db import get_ledger, get_session

__all__ = ["bp"]

bp = Blueprint("public", __name__)

#: the HTML page and the feed show this many recalls, newest first
FEED_LIMIT = 100
_ATOM = "http://www.w3.org/2005/Atom"

_WORDS: dict[str, dict[str, str]] = {
    "zh_CN": {
        "app.subtitle": "公开信息",
        "app.footer": "公告出自可验证的哈希链账本：每条记录都经企业签名，只增不改。",
        "recalls.title": "产品召回公告",
        "recalls.intro": "依据《食品召回管理办法》公开的缺陷产品召回信息。"
                         "如您购买了下列批次的产品，请按“消费者须知”处理。",
        "recalls.empty": "目前没有召回公告。",
        "recalls.feeds": "订阅：",
        "recalls.open": "召回中",
        "recalls.closed": "已结束",
        "recalls.voluntary": "主动召回",
        "recalls.ordered": "责令召回",
        "recalls.producer": "召回企业",
        "recalls.products": "产品",
        "recalls.lots": "批次",
        "recalls.reason": "召回原因",
        "recalls.hazard": "可能的危害",
        "recalls.advice": "消费者须知",
        "recalls.initiated_at": "发布时间",
        "recalls.complete_by": "完成期限",
        "recalls.closed_at": "结束时间",
        "recalls.more": "仅显示最近 {limit} 条",
    },
    "en": {
        "app.subtitle": "Public notices",
        "app.footer": "These notices come from a verifiable, append-only, hash-chained ledger of "
                      "records signed by the enterprises.",
        "recalls.title": "Product recall notices",
        "recalls.intro": "Defective product recalls published under the Food Recall Measures. If "
                         "you bought a product of one of these lots, do what the notice tells "
                         "consumers to do.",
        "recalls.empty": "There are no recall notices.",
        "recalls.feeds": "Subscribe:",
        "recalls.open": "Recall under way",
        "recalls.closed": "Closed",
        "recalls.voluntary": "Voluntary recall",
        "recalls.ordered": "Ordered recall",
        "recalls.producer": "Recalled by",
        "recalls.products": "Products",
        "recalls.lots": "Lots",
        "recalls.reason": "Reason",
        "recalls.hazard": "Possible harm",
        "recalls.advice": "What consumers should do",
        "recalls.initiated_at": "Published",
        "recalls.complete_by": "To be completed by",
        "recalls.closed_at": "Closed",
        "recalls.more": "showing the latest {limit}",
    },
}


#: a word of these pages in the current locale, else the console's
t = i18n.page_words(_WORDS)


@bp.context_processor
def _template_helpers() -> dict[str, Any]:
    return i18n.public_page_helpers(t)


@bp.get("/recalls")
def recalls_page() -> str:
    """The recall notices as a page, newest first."""
    page = public_recalls(get_session(), limit=FEED_LIMIT)
    return render_template("public/recalls.html", recalls=page.items,
                           truncated=page.after is not None, limit=FEED_LIMIT)


@bp.get("/recalls.json")
def recalls_json() -> Response:
    """The recall notices as JSON, paged with ``limit`` and ``cursor`` as the API pages."""
    query = PageQuery().load(request.args)
    page = public_recalls(get_session(), limit=query["limit"], after=query["cursor"])
    return jsonify(PublicRecallPageSchema().dump(page_body(page)))


@bp.get("/recalls.atom")
def recalls_atom() -> Response:
    """The recall notices as an Atom 1.0 feed (RFC 4287), newest first."""
    items = public_recalls(get_session(), limit=FEED_LIMIT).items
    authority = get_ledger().origin.split("/")[0].split(":")[0]
    page_url = url_for("public.recalls_page", _external=True)
    ElementTree.register_namespace("", _ATOM)
    feed = ElementTree.Element(f"{{{_ATOM}}}feed")
    feed.set("{http://www.w3.org/XML/1998/namespace}lang", "zh-CN")

    def add(parent: ElementTree.Element, tag: str, text: str | None = None,
            **attributes: str) -> ElementTree.Element:
        element = ElementTree.SubElement(parent, f"{{{_ATOM}}}{tag}", attributes)
        element.text = text
        return element

    add(feed, "id", f"tag:{authority},2026:recalls")
    add(feed, "title", "质监溯源网 产品召回公告 / Tracenet product recall notices")
    updated = [_updated(item) for item in items]
    add(feed, "updated", max(updated, key=parse_moment) if updated
        else rfc3339(get_ledger().clock()))
    author = add(feed, "author")
    add(author, "name", "质监溯源网 Tracenet")
    add(feed, "link", rel="self", type="application/atom+xml",
        href=url_for("public.recalls_atom", _external=True))
    add(feed, "link", rel="alternate", type="text/html", href=page_url)
    for item, when in zip(items, updated, strict=True):
        entry = add(feed, "entry")
        # A tag URI dated by the recall's own start never changes, wherever the feed is served.
        add(entry, "id", f"tag:{authority},{item['initiated_at'][:10]}:recall/{item['id']}")
        products = "、".join(p["name"] or p["gtin"] for p in item["products"])
        add(entry, "title", f"{item['level_name_zh']}：{products}"
                            f"{'（已结束）' if item['status'] == 'closed' else ''}")
        add(entry, "published", item["initiated_at"])
        add(entry, "updated", when)
        add(entry, "link", rel="alternate", type="text/html",
            href=f"{page_url}#recall-{item['id']}")
        add(entry, "category", term=f"level-{item['level']}", label=item["level_name_zh"])
        lots = "、".join(f"{lot['gtin']}/{lot['lot']}" for lot in item["lots"])
        advice = item["consumer_advice"] or item["consumer_advice_default_zh"]
        add(entry, "summary", f"召回原因：{item['reason']}\n可能的危害：{item['hazard']}\n"
                              f"批次：{lots}\n消费者须知：{advice}\n"
                              f"{item['level_name_en']}: {item['reason']}", type="text")
    body = ElementTree.tostring(feed, encoding="utf-8", xml_declaration=True)
    return Response(body, mimetype="application/atom+xml")


def _updated(item: dict[str, Any]) -> str:
    """When a notice last changed: its closure, else its start."""
    return str(item["closed_at"] or item["initiated_at"])
