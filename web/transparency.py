"""``/transparency`` (阳光行政): the ledger's latest signed checkpoint, the operator key that
signs it, the witnesses that cosign it, and how anyone can check all three, without signing in.

The page serves what ``GET /api/v1/ledger/checkpoint`` and ``/api/v1/ledger/key`` serve, read
the same way (:func:`ledger.log.cosigning.published_checkpoint`), and checks the signature
itself before showing it as signed; ``/transparency.json`` is the same for machines.
"""

from __future__ import annotations

import base64
import re
from typing import Any

from flask import Blueprint, Response, jsonify, render_template, request, url_for

from ledger import log
from ledger.errors import CheckpointError
from ledger.log.checkpoint import open_checkpoint, parse_note, verifier_key
from ledger.log.cosigning import published_checkpoint
from web.console import i18n
from web.db import get_ledger, get_runtime, get_session

__all__ = ["bp"]

bp = Blueprint("transparency", __name__)

_WORDS: dict[str, dict[str, str]] = {
    "zh_CN": {
        "app.subtitle": "公开信息",
        "app.footer": "账本只增不改：任何人都可以核对检查点的签名，并要求证明新旧检查点一致。",
        "title": "账本透明度",
        "intro": "质监溯源网的每一条记录都写入一个只增不改的哈希链账本（RFC 6962 默克尔树）。"
                 "运营方定期用下面的公钥签署“检查点”——账本当时的条数和树根哈希。"
                 "保存一个检查点，以后任何时候都能验证账本没有被删改、截断或分叉。",
        "checkpoint": "最新签名检查点",
        "origin": "账本名称（origin）",
        "size": "记录条数（树大小）",
        "root": "树根哈希（SHA-256）",
        "signed": "运营方签名：已用下方公钥验证通过",
        "unsigned": "运营方签名未能验证",
        "cosignatures": "见证方联署",
        "cosigned_by": "{count} 个见证方联署了此检查点",
        "no_cosignatures": "此检查点暂无见证方联署。",
        "operator_key": "运营方公钥（验证密钥）",
        "operator_key.hint": "C2SP 签名注记格式的验证密钥："
                             "名称+密钥哈希+Base64(0x01‖Ed25519 公钥)。"
                             "请与监管部门在其他渠道（公告、官网）公布的密钥核对。",
        "witnesses": "见证方",
        "witnesses.none": "本账本未配置见证方。",
        "how": "如何验证",
        "how.1": "核对公钥：把上面的运营方公钥与监管部门另行公布的密钥逐字比较。",
        "how.2": "验证检查点签名：下载检查点文本，用公钥验证签名"
                 "（兼容 Go 的 golang.org/x/mod/sumdb/note，"
                 "或用下面的 Python 代码）。",
        "how.3": "持续监督：保存这次的检查点，以后用 tracenet monitor 或一致性证明接口"
                 "核对新检查点是否由旧检查点延续而来（账本被改写、截断或分叉时会失败并指出第一条不同的记录）。",
        "how.4": "见证方联署：独立的见证方只在新检查点与其见过的旧检查点一致时才联署；"
                 "可要求至少 k 个见证方联署。",
        "downloads": "机器可读：",
    },
    "en": {
        "app.subtitle": "Public notices",
        "app.footer": "The ledger is append-only: anyone can check a checkpoint's signature and "
                      "ask for proof that a newer one extends it.",
        "title": "Ledger transparency",
        "intro": "Every Tracenet record is an entry in an append-only, hash-chained ledger (an "
                 "RFC 6962 Merkle tree). The operator regularly signs a checkpoint — the "
                 "ledger's size and tree root at that moment — with the key below. Keep a "
                 "checkpoint, and at any later time you can prove the ledger was not altered, "
                 "truncated or forked since.",
        "checkpoint": "Latest signed checkpoint",
        "origin": "Log name (origin)",
        "size": "Entries (tree size)",
        "root": "Root hash (SHA-256)",
        "signed": "Operator signature: verified with the key below",
        "unsigned": "The operator signature did not verify",
        "cosignatures": "Witness cosignatures",
        "cosigned_by": "{count} witnesses cosigned this checkpoint",
        "no_cosignatures": "No witness has cosigned this checkpoint yet.",
        "operator_key": "Operator key (verifier key)",
        "operator_key.hint": "A C2SP signed-note verifier key: name+key hash+base64(0x01 || "
                             "Ed25519 public key). Compare it with the key the bureau "
                             "publishes elsewhere (its gazette, its website).",
        "witnesses": "Witnesses",
        "witnesses.none": "No witness is configured for this ledger.",
        "how": "How to verify",
        "how.1": "Check the key: compare the operator key above, character by character, with "
                 "the one the bureau publishes elsewhere.",
        "how.2": "Check the checkpoint's signature: download the checkpoint and verify it with "
                 "the key (Go's golang.org/x/mod/sumdb/note reads it as is, or use the Python "
                 "below).",
        "how.3": "Keep watching: save this checkpoint; later, tracenet monitor or the "
                 "consistency-proof API proves the newer checkpoint extends it (a rewrite, "
                 "truncation or fork fails, naming the first entry that differs).",
        "how.4": "Witness cosignatures: independent witnesses cosign a checkpoint only if it "
                 "extends the one they saw before; a client may require k of them.",
        "downloads": "For machines:",
    },
}

#: a short Python check of a checkpoint note against a verifier key (the page shows it)
VERIFY_SNIPPET = '''import base64, hashlib, urllib.request
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

base = "{base}"
note = urllib.request.urlopen(base + "/api/v1/ledger/checkpoint").read().decode()
vkey = "{vkey}"
name, key_hash, key = vkey.split("+", 2)
public = base64.b64decode(key)[1:]            # drop the 0x01 (Ed25519) type byte
body, signatures = note.split("\\n\\n", 1)
for line in signatures.splitlines():
    signer, blob = line.removeprefix("\\u2014 ").rsplit(" ", 1)
    blob = base64.b64decode(blob)
    if signer == name and blob[:4].hex() == key_hash:
        Ed25519PublicKey.from_public_bytes(public).verify(blob[4:], (body + "\\n").encode())
        print("checkpoint verified:", body.splitlines()[1], "entries")'''


#: a word of this page in the current locale, else the console's
t = i18n.page_words(_WORDS)


@bp.context_processor
def _template_helpers() -> dict[str, Any]:
    return i18n.public_page_helpers(t)


def _facts() -> dict[str, Any]:
    """The checkpoint, its signatures, the operator key and the witnesses, checked."""
    session = get_session()
    ledger = get_ledger()
    note = published_checkpoint(session, lambda: log.latest_checkpoint(session, ledger))
    session.commit()  # reading the latest may have signed a due one
    public_key = ledger.signing_key.public_key()
    vkey = verifier_key(ledger.origin, public_key)
    try:
        checkpoint = open_checkpoint(note, key_name=ledger.origin, public_key=public_key,
                                     origin=ledger.origin)
        verified = True
    except CheckpointError:
        checkpoint, verified = None, False
    signed = parse_note(note)
    cosigners = [name for name, _ in signed.signatures if name != ledger.origin]
    settings = get_runtime().settings
    witnesses = [item.split()[0] for item in re.split(r"[;\n]", settings.witnesses or "")
                 if item.split()]
    body = signed.text.splitlines()
    return {"note": note, "origin": body[0], "size": int(body[1]), "root_base64": body[2],
            "root_hex": base64.b64decode(body[2]).hex(), "verified": verified and
            checkpoint is not None, "vkey": vkey, "cosigners": cosigners,
            "witnesses": witnesses, "min_cosignatures": settings.consumer_min_cosignatures}


@bp.get("/transparency")
def transparency_page() -> str:
    """The page: checkpoint, operator key, witnesses and how to verify them."""
    facts = _facts()
    base = request.host_url.rstrip("/")
    return render_template("public/transparency.html", facts=facts, base=base,
                           snippet=VERIFY_SNIPPET.format(base=base, vkey=facts["vkey"]))


@bp.get("/transparency.json")
def transparency_json() -> Response:
    """The same facts as JSON."""
    facts = _facts()
    return jsonify({
        "checkpoint": facts["note"], "origin": facts["origin"], "size": facts["size"],
        "root_hash": facts["root_base64"], "operator_key": facts["vkey"],
        "signature_verified": facts["verified"], "cosigned_by": facts["cosigners"],
        "witnesses": facts["witnesses"], "min_cosignatures": facts["min_cosignatures"],
        "checkpoint_url": request.host_url + "api/v1/ledger/checkpoint",
        "key_url": request.host_url + "api/v1/ledger/key",
        "page": url_for("transparency.transparency_page", _external=True)})
