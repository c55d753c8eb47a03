"""Browser assets from npm: copy the files the pages load from ``node_modules`` into
``web/static/vendor/<package>/<path>``, where Flask's static route serves them.

``package.json`` pins the packages (with ``package-lock.json``) and lists, under its
``"vendor"`` key, the files of each package the pages need (globs allowed)::

    "vendor": {"barcode-detector": ["dist/es/*.js"],
               "zxing-wasm": ["dist/reader/zxing_reader.wasm"]}

``make install`` runs ``npm ci --omit=dev`` and then ``python -m web.assets`` whenever the
lockfile changes. Copying at install time (rather than a route reading ``node_modules``) puts
the files inside the ``web`` package, so a wheel built after ``make install`` ships them and an
installed app never reaches back into a checkout; ``web/static/vendor/`` is git-ignored, since
the lockfile already says exactly what it holds. Nothing is fetched from a CDN at run time.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

__all__ = ["VENDOR", "copy_vendor_assets", "main"]

REPO = Path(__file__).resolve().parents[1]
VENDOR = Path(__file__).resolve().parent / "static" / "vendor"


def copy_vendor_assets(repo: Path = REPO, dest: Path = VENDOR) -> list[Path]:
    """Replace ``dest`` by the files ``package.json`` lists under ``"vendor"``; return them.

    A package or pattern that matches nothing is an error: a page would otherwise 404 on it.
    """
    manifest = json.loads((repo / "package.json").read_text(encoding="utf-8"))
    wanted: dict[str, list[str]] = manifest.get("vendor", {})
    modules = repo / "node_modules"
    copied: list[Path] = []
    staging = dest.with_name(dest.name + ".new")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for package, patterns in wanted.items():
        root = modules / package
        if not root.is_dir():
            raise SystemExit(f"{root} is missing: run `npm ci --omit=dev` first")
        for pattern in patterns:
            matches = sorted(p for p in root.glob(pattern) if p.is_file())
            if not matches:
                raise SystemExit(f"{package}: {pattern!r} matches no file in {root}")
            for source in matches:
                target = staging / package / source.relative_to(root)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, target)
                copied.append(dest / package / source.relative_to(root))
    # The lockfile goes along: it says which versions these files are (and is make's stamp).
    shutil.copyfile(repo / "package-lock.json", staging / "package-lock.json")
    copied.append(dest / "package-lock.json")
    # Swapped in whole, so a page never sees half an upgrade's files.
    shutil.rmtree(dest, ignore_errors=True)
    staging.rename(dest)
    return copied


def main() -> None:
    """``python -m web.assets``: copy the vendored files and say what was copied."""
    copied = copy_vendor_assets()
    for path in copied:
        print(path.relative_to(REPO), file=sys.stdout)


if __name__ == "__main__":
    main()
