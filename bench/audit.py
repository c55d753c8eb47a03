"""The audit trail's cost: an authenticated ``GET /api/v1/lots`` with and without the
after-request hook that writes its ``audit_log`` row (web/audit.py), in this process, on a
fresh SQLite file (WAL), measured in the same run and printed as a ratio.

Run ``.venv/bin/python bench/audit.py`` (``--quick``: fewer requests).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from flask.testing import FlaskClient

if __package__ in (None, ""):  # run as a script: the repository, not bench/, first
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ledger.accounts.tokens import issue_token  # noqa: E402
from ledger.log import rfc3339  # noqa: E402
from web import audit, create_app  # noqa: E402
from web.db import get_ledger, get_session  # noqa: E402

#: the goal: the audit row at most doubles the cost of the cheapest authenticated read
LIMIT = 2.0


def _per_request(client: FlaskClient, headers: dict[str, str], count: int) -> float:
    start = time.perf_counter()
    for _ in range(count):
        if client.get("/api/v1/lots", headers=headers).status_code != 200:
            raise SystemExit("GET /api/v1/lots failed")
    return (time.perf_counter() - start) / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    count, rounds = (50, 3) if args.quick else (300, 5)
    folder = Path(tempfile.mkdtemp(prefix="bench-audit-"))
    app = create_app({"DATABASE_URL": f"sqlite:///{folder / 'tracenet.db'}",
                      "LEDGER_KEY": str(folder / "ledger_key.pem"), "SECRET_KEY": "bench",
                      "CODE_SECRET": "bench", "RATELIMIT_ENABLED": False})
    from click.testing import CliRunner  # noqa: PLC0415

    from web.cli import main as cli  # noqa: PLC0415

    runner = CliRunner()
    env = {"TRACENET_DATABASE_URL": app.config["DATABASE_URL"],
           "TRACENET_LEDGER_KEY": app.config["LEDGER_KEY"], "TRACENET_SECRET_KEY": "bench",
           "TRACENET_INSTANCE": str(folder)}
    if runner.invoke(cli, ["init"], env=env).exit_code != 0:
        raise SystemExit("tracenet init failed")
    with app.app_context():
        token = issue_token(get_session(), "operator", "admin", rfc3339(get_ledger().clock()))
        get_session().commit()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    hooks = app.after_request_funcs[None]
    _per_request(client, headers, 20)  # warm up
    pairs = []
    for _ in range(rounds):
        with_audit = _per_request(client, headers, count)
        hooks.remove(audit._write)
        try:
            without = _per_request(client, headers, count)
        finally:
            hooks.append(audit._write)
        pairs.append((with_audit, without))
    audited = statistics.median(p[0] for p in pairs)
    bare = statistics.median(p[1] for p in pairs)
    ratio = audited / bare
    print(f"authenticated GET /api/v1/lots: {audited * 1000:.2f} ms with the audit row, "
          f"{bare * 1000:.2f} ms without = {ratio:.2f}x "
          f"(limit <= {LIMIT:.1f}: {'met' if ratio <= LIMIT else 'MISSED'}), "
          f"{count} requests x {rounds} rounds")
    sys.exit(0 if ratio <= LIMIT else 1)


if __name__ == "__main__":
    main()
