"""``tracenet check-lot``: a third party's check of what a shopper's page shows, over HTTP.

It needs no database and no account: it fetches the evidence a Tracenet server publishes for a
product, lot or unit (``/api/v1/public/evidence``) and checks it against the operator's
verifier key with :func:`ledger.log.evidence.verify_evidence`, as the page's own script does
in the browser. With ``--witness VKEY`` (repeatable) and ``--min-cosignatures k``, the
checkpoint must also carry valid cosignatures by k of those witnesses, as the page requires
when its server sets ``TRACENET_CONSUMER_MIN_COSIGNATURES``.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import click

from ledger.errors import LedgerError
from ledger.log.evidence import verify_evidence
from web.cli.terminal import fail
from web.cli.witness import parse_witness_keys, witness_keys_option

__all__ = ["check_lot"]

_TIMEOUT = 30  # seconds per request


def _get(url: str) -> bytes:
    """GET ``url`` (http or https only); a failure ends the command with its reason."""
    if urllib.parse.urlsplit(url).scheme not in {"http", "https"}:
        fail(f"expected an http(s) URL, got {url!r}")
    request = urllib.request.Request(url, headers={"Accept": "application/json, text/plain"})  # noqa: S310 - scheme checked above
    try:
        with urllib.request.urlopen(request, timeout=_TIMEOUT) as response:  # noqa: S310 - scheme checked above
            body: bytes = response.read()
            return body
    except urllib.error.HTTPError as exc:
        fail(f"{url}: HTTP {exc.code}: {exc.read()[:300].decode(errors='replace')}")
    except (urllib.error.URLError, TimeoutError) as exc:
        fail(f"{url}: {exc}")


@click.command("check-lot")
@click.option("--url", "base", required=True, help="The Tracenet server, e.g. https://trace.example.cn")
@click.option("--gtin", help="The product's GTIN.")
@click.option("--lot", help="The lot number (AI 10).")
@click.option("--serial", help="A unit's serial (AI 21).")
@click.option("--code", help="A 20-digit supervision code instead of --gtin/--lot/--serial.")
@click.option("--key", "pinned", help="The operator's verifier key (name+hash+key), obtained "
              "out of band. Without it the server's own /api/v1/ledger/key is used, which "
              "proves only that the server is consistent with itself.")
@click.option("--json", "as_json", is_flag=True, help="Print the verified entries as JSON.")
@witness_keys_option
def check_lot(base: str, gtin: str | None, lot: str | None, serial: str | None,
              code: str | None, pinned: str | None, as_json: bool,
              witness_keys: tuple[str, ...], min_cosignatures: int) -> None:
    """Check a server's evidence for a product, lot or unit against the operator key.

    With --min-cosignatures k, k of the --witness keys must also have cosigned its checkpoint.
    """
    if (code is None) == (gtin is None):
        fail("give --gtin (with --lot and --serial as needed) or --code")
    witnesses = parse_witness_keys(witness_keys, min_cosignatures)
    base = base.rstrip("/")
    query = {"code": code} if code else {k: v for k, v in
                                         {"gtin": gtin, "lot": lot, "serial": serial}.items()
                                         if v is not None}
    if pinned is None:
        pinned = _get(f"{base}/api/v1/ledger/key").decode().strip()
        click.secho(f"warning: key taken from the server itself: {pinned}", err=True,
                    fg="yellow")
    url = f"{base}/api/v1/public/evidence?{urllib.parse.urlencode(query)}"
    try:
        evidence: Any = json.loads(_get(url))
    except ValueError:
        fail(f"{url}: expected JSON")
    if not isinstance(evidence, dict):
        fail(f"{url}: expected a JSON object")
    try:
        report = verify_evidence(evidence, verifier_key=pinned, witnesses=witnesses,
                                 min_cosignatures=min_cosignatures)
    except LedgerError as exc:
        fail(f"FAILED: {exc.message}")
    checkpoint = report.checkpoint
    if as_json:
        click.echo(json.dumps({
            "verified": True, "origin": checkpoint.origin, "size": checkpoint.size,
            "root": checkpoint.root_hash.hex(), "time": report.time,
            "verifier_key": report.verifier_key,
            "cosigned_by": [w.vkey for w in report.cosigners],
            "entries": [{"seq": e.seq, "leaf_hash": e.leaf_hash.hex(),
                         "proof_length": e.proof_length, "entry": e.body}
                        for e in report.entries]}, ensure_ascii=False, indent=2))
        return
    click.echo(f"OK: {len(report.entries)} entries in checkpoint {checkpoint.origin} "
               f"size {checkpoint.size} root {checkpoint.root_hash.hex()}, "
               f"signed by {report.verifier_key}"
               + (f", its last entry integrated at {report.time}" if report.time else "")
               + (f", cosigned by {len(report.cosigners)} of {len(witnesses)} witnesses ("
                  + ", ".join(str(w) for w in report.cosigners) + ")" if witnesses else ""))
    for entry in report.entries:
        kind = entry.body.get("type", "?") if entry.body is not None else "(private)"
        click.echo(f"  seq {entry.seq:>8}  {kind:<22} leaf {entry.leaf_hash.hex()}  "
                   f"proof {entry.proof_length} hashes")
