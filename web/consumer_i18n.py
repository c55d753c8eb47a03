"""The shopper's pages' words in zh-CN (the default) and English.

A dict catalogue like the console's (:mod:`web.console.i18n`, which says why), with the same
locale selection: the session's ``lang``, set here by ``?lang=`` on a public page (so a
shopper switches language without an account) or by the console's switch.
"""

from __future__ import annotations

from typing import Any

from flask import request, session

from web.console import i18n

__all__ = ["MESSAGES", "licence_name", "remember_language", "t", "template_helpers"]

_ZH: dict[str, str] = {
    "title": "质监溯源网",
    "subtitle": "扫码查询",
    "footer": "查询结果出自只增不改、由企业签名的可验证账本。",
    "console": "企业登录",
    "switch": "English",
    "home.heading": "扫一扫，查真伪、查检验、查召回",
    "home.intro": "输入包装上的条码、二维码内容或 20 位监管码，或上传一张清晰的照片。",
    "home.code": "条码 / 监管码",
    "home.code_hint": "如 06927331000011 或 20 位电子监管码",
    "home.look_up": "查询",
    "home.photo": "拍照或上传图片",
    "home.upload": "识别并查询",
    "home.recalls": "产品召回公告",
    "home.bad_code": "无法识别该号码：{message}",
    "home.no_code_found": "图片中没有找到可识别的条码：{message}",
    "page.product": "产品",
    "page.category": "类别",
    "page.gtin": "商品条码",
    "page.spec": "规格",
    "page.standard": "执行标准",
    "page.maker": "生产企业",
    "page.district": "所在地",
    "page.licence": "许可证",
    "page.licensed": "许可证已登记",
    "page.unlicensed": "账本中没有该企业的生产许可证",
    "page.lot": "批次",
    "page.produced_at": "生产日期",
    "page.expiry": "保质期至",
    "page.serial": "序列号",
    "page.inspections": "检验记录",
    "page.no_inspections": "该批次尚无检验记录。",
    "page.no_lot": "未指定批次或账本中没有该批次：以下为产品信息。",
    "page.kind.self": "企业自检",
    "page.kind.third_party": "第三方检验",
    "page.kind.spot_check": "监督抽检",
    "page.kind.incoming": "进货检验",
    "page.pass": "合格",
    "page.fail": "不合格",
    "page.lab": "检验机构",
    "page.report": "报告编号",
    "page.recall_banner": "召回警告：该批次正在召回（{level}）",
    "page.recall_reason": "原因：{reason}",
    "page.recall_closed": "该批次曾被召回，召回已于 {date} 结束。",
    "page.expired": "该批次已过保质期（{date}），请勿食用或使用。",
    "page.failed": "该批次最近一次检验不合格。",
    "page.first_query": "您是第一次查询此码。",
    "page.queried": "此码已被查询 {count} 次，首次查询于 {date}。",
    "page.counterfeit.not_issued": "警告：此码从未发放，商品可能是假冒的。",
    "page.counterfeit.not_authentic": "警告：此监管码不是真码（校验不符），商品可能是假冒的。",
    "page.counterfeit.too_many_queries": "警告：此码已被查询 {count} 次（超过 {threshold} 次），"
                                         "可能被复制，请谨防假冒。",
    "page.genuine": "正品码：此码已在账本中登记。",
    "page.not_found": "账本中没有该商品。",
    "page.verification": "账本验证",
    "page.verification_pending": "正在浏览器中核对账本证明……",
    "page.verification_nojs": "需要 JavaScript 在手机上核对账本证明；也可用命令行自行核对。",
    "page.entries": "依据的账本记录：",
    "page.evidence": "证据（JSON）",
    "page.another": "再查一个",
    "licence.SC": "食品生产许可证",
    "licence.JY": "食品经营许可证",
    "licence.CCC": "强制性产品认证（3C）",
    "licence.XK": "工业产品生产许可证",
}

_EN: dict[str, str] = {
    "title": "Tracenet",
    "subtitle": "Scan and check",
    "footer": "Answers come from a verifiable, append-only ledger of records signed by the "
              "enterprises.",
    "console": "Enterprise sign-in",
    "switch": "中文",
    "home.heading": "Scan to check: genuine, inspected, not recalled",
    "home.intro": "Enter the barcode or QR content from the package, or its 20-digit "
                  "supervision code, or upload a clear photo.",
    "home.code": "Barcode / supervision code",
    "home.code_hint": "e.g. 06927331000011, or the 20-digit supervision code",
    "home.look_up": "Look up",
    "home.photo": "Take or upload a photo",
    "home.upload": "Read and look up",
    "home.recalls": "Product recall notices",
    "home.bad_code": "This code cannot be read: {message}",
    "home.no_code_found": "No readable code in the picture: {message}",
    "page.product": "Product",
    "page.category": "Category",
    "page.gtin": "GTIN",
    "page.spec": "Pack",
    "page.standard": "Standard",
    "page.maker": "Maker",
    "page.district": "Location",
    "page.licence": "Licence",
    "page.licensed": "licence on record",
    "page.unlicensed": "no production licence of this maker is on the ledger",
    "page.lot": "Lot",
    "page.produced_at": "Produced",
    "page.expiry": "Use by",
    "page.serial": "Serial",
    "page.inspections": "Inspections",
    "page.no_inspections": "No inspection of this lot is on record.",
    "page.no_lot": "No lot given, or the lot is not on the ledger: the product is shown.",
    "page.kind.self": "In-house test",
    "page.kind.third_party": "Third-party test",
    "page.kind.spot_check": "Regulator's spot check",
    "page.kind.incoming": "Incoming inspection",
    "page.pass": "pass",
    "page.fail": "FAIL",
    "page.lab": "Laboratory",
    "page.report": "Report no.",
    "page.recall_banner": "RECALL: this lot is being recalled ({level})",
    "page.recall_reason": "Reason: {reason}",
    "page.recall_closed": "This lot was recalled; the recall closed on {date}.",
    "page.expired": "This lot is past its use-by date ({date}): do not eat or use it.",
    "page.failed": "This lot failed its latest inspection.",
    "page.first_query": "This is the first time this code has been checked.",
    "page.queried": "This code has been checked {count} times, first on {date}.",
    "page.counterfeit.not_issued": "WARNING: this code was never issued; the product may be "
                                   "counterfeit.",
    "page.counterfeit.not_authentic": "WARNING: this supervision code is not genuine (its "
                                      "keyed digits are wrong); the product may be "
                                      "counterfeit.",
    "page.counterfeit.too_many_queries": "WARNING: this code has been checked {count} times "
                                         "(more than {threshold}); it may have been copied. "
                                         "Beware of counterfeits.",
    "page.genuine": "Genuine code: it is registered on the ledger.",
    "page.not_found": "This product is not on the ledger.",
    "page.verification": "Ledger check",
    "page.verification_pending": "Checking the ledger proofs in your browser…",
    "page.verification_nojs": "Checking the ledger proofs on the phone needs JavaScript; you "
                              "can also check them yourself with the command line.",
    "page.entries": "Ledger entries shown:",
    "page.evidence": "evidence (JSON)",
    "page.another": "Check another",
    "licence.SC": "Food production licence",
    "licence.JY": "Food business licence",
    "licence.CCC": "China Compulsory Certification (3C)",
    "licence.XK": "Industrial product production licence",
}

MESSAGES = {"zh_CN": _ZH, "en": _EN}


def t(key: str, **params: object) -> str:
    """The shopper's page string ``key`` in the current locale, ``{name}`` filled in."""
    text = MESSAGES[i18n.current_locale()].get(key, key)
    return text.format(**params) if params else text


def remember_language() -> None:
    """Keep ``?lang=`` (``zh_CN`` or ``en``) in the session, as the console's switch does."""
    chosen = request.args.get("lang")
    if chosen in i18n.LOCALES:
        session["lang"] = chosen


def licence_name(kind: str) -> str:
    """A licence kind as people know it (``SC`` -> 食品生产许可证), else the kind itself."""
    return MESSAGES[i18n.current_locale()].get(f"licence.{kind}", kind)


def template_helpers() -> dict[str, Any]:
    """What the shopper's templates call."""
    return {"t": t, "pick": i18n.pick, "format_moment": i18n.format_moment,
            "licence_name": licence_name, "locale": i18n.current_locale()}
