"""The npm asset pipeline: package.json's "vendor" files copied into web/static/vendor/ and
served by the app itself (never a CDN)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from web.assets import VENDOR, copy_vendor_assets


def test_copy_takes_the_listed_files_and_the_lockfile(tmp_path: Path) -> None:
    (tmp_path / "node_modules/pkg/dist").mkdir(parents=True)
    (tmp_path / "node_modules/pkg/dist/a.js").write_text("export const a = 1;\n")
    (tmp_path / "node_modules/pkg/dist/b.js").write_text("export const b = 2;\n")
    (tmp_path / "node_modules/pkg/dist/skip.map").write_text("{}")
    (tmp_path / "package.json").write_text(json.dumps({"vendor": {"pkg": ["dist/*.js"]}}))
    (tmp_path / "package-lock.json").write_text("{}")
    dest = tmp_path / "vendor"
    (dest / "stale").mkdir(parents=True)
    copied = copy_vendor_assets(tmp_path, dest)
    assert sorted(p.relative_to(dest).as_posix() for p in copied) == [
        "package-lock.json", "pkg/dist/a.js", "pkg/dist/b.js"]
    assert sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file()) == [
        "package-lock.json", "pkg/dist/a.js", "pkg/dist/b.js"]


def test_a_pattern_matching_nothing_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "node_modules/pkg").mkdir(parents=True)
    (tmp_path / "package.json").write_text(json.dumps({"vendor": {"pkg": ["dist/x.wasm"]}}))
    (tmp_path / "package-lock.json").write_text("{}")
    with pytest.raises(SystemExit, match="matches no file"):
        copy_vendor_assets(tmp_path, tmp_path / "vendor")
    with pytest.raises(SystemExit, match="npm ci"):
        (tmp_path / "package.json").write_text(json.dumps({"vendor": {"gone": ["*"]}}))
        copy_vendor_assets(tmp_path, tmp_path / "vendor")


@pytest.mark.skipif(not (VENDOR / "package-lock.json").exists(),
                    reason="web/static/vendor/ is made by `make install`")
def test_the_app_serves_the_scanner_polyfill_and_its_wasm(client: FlaskClient) -> None:
    # Static responses stream their file: each is closed so the file is.
    with client.get("/static/vendor/zxing-wasm/dist/reader/zxing_reader.wasm") as wasm:
        assert wasm.status_code == 200
        assert wasm.mimetype == "application/wasm"
        assert wasm.data[:4] == b"\0asm"
    with client.get("/static/vendor/barcode-detector/dist/es/ponyfill.js") as module:
        assert module.status_code == 200 and module.mimetype == "text/javascript"
    # scan.js points the polyfill at this wasm, so nothing is fetched from a CDN.
    with client.get("/static/scan.js") as response:
        scan = response.get_data(as_text=True)
    assert "vendor/zxing-wasm/dist/reader/zxing_reader.wasm" in scan
    assert "jsdelivr" not in scan and "unpkg" not in scan
