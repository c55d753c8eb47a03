"""TRACENET_CONSUMER_MIN_COSIGNATURES: 0 by default, and a policy no checkpoint could meet (more
than the distinct TRACENET_WITNESSES, a negative or non-numeric k) refused at start."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.log.cosignature import CosignerKey
from ledger.log.keys import generate_private_key
from web.settings import Settings, configuration


def _settings(tmp_path: Path, **environ: str) -> Settings:
    env = {f"TRACENET_{name}": value for name, value in environ.items()}
    return Settings.from_config(tmp_path, configuration(tmp_path, env))


def test_the_default_requires_no_cosignature(tmp_path: Path) -> None:
    assert _settings(tmp_path).consumer_min_cosignatures == 0


def test_k_of_the_configured_witnesses(tmp_path: Path) -> None:
    one = CosignerKey.of("w1.test", generate_private_key()).vkey
    two = CosignerKey.of("w2.test", generate_private_key()).vkey
    witnesses = f"{one} http://127.0.0.1:8001; {two} https://w2.example"
    assert _settings(tmp_path, WITNESSES=witnesses,
                     CONSUMER_MIN_COSIGNATURES="2").consumer_min_cosignatures == 2
    with pytest.raises(ValueError, match="only 2 TRACENET_WITNESSES"):
        _settings(tmp_path, WITNESSES=witnesses, CONSUMER_MIN_COSIGNATURES="3")
    # one key listed twice is one witness
    with pytest.raises(ValueError, match="only 1 TRACENET_WITNESSES"):
        _settings(tmp_path, WITNESSES=f"{one} http://a.test; {one} http://b.test",
                  CONSUMER_MIN_COSIGNATURES="2")
    with pytest.raises(ValueError, match="only 0"):
        _settings(tmp_path, CONSUMER_MIN_COSIGNATURES="1")


@pytest.mark.parametrize("value", ["-1", "two", "1.5"])
def test_a_bad_k_is_refused(tmp_path: Path, value: str) -> None:
    with pytest.raises(ValueError, match="TRACENET_CONSUMER_MIN_COSIGNATURES"):
        _settings(tmp_path, CONSUMER_MIN_COSIGNATURES=value)
