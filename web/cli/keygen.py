"""``tracenet keygen``: a key for client-side signing.

A module of its own, apart from ``sign``: making a key needs only the key functions, so the
command starts without the schemas that ``sign`` validates with.
"""

from __future__ import annotations

import base64
from pathlib import Path

import click

from ledger.log.keys import key_id_for, load_or_create_private_key, public_key_bytes

__all__ = ["keygen"]


@click.command()
@click.option("--out", required=True, type=click.Path(dir_okay=False, exists=False),
              help="Where to write the new private key (PKCS#8 PEM, mode 0600).")
def keygen(out: str) -> None:
    """Make an Ed25519 key for client-side signing; prints what to register."""
    if Path(out).exists():
        raise click.ClickException(f"{out} exists; refusing to overwrite a key")
    key = load_or_create_private_key(Path(out))
    click.echo(f"key_id: {key_id_for(key)}")
    click.echo(f"public key (register with --public-key): "
               f"{base64.b64encode(public_key_bytes(key)).decode()}")
