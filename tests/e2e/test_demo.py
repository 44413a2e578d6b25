#!/usr/bin/env python3
"""The demo store: an empty database without DISCOGS_TOKEN loads the bundled
demo inventory (a few hundred listings, /healthz says "demo": true, one log
line says so); with a token the empty shop stays empty; a database that
holds listings (even only removed ones) is never touched by the demo load.

These servers are started with empty=False: the harness' default deletes
the demo listings right after start-up, which is what is under test here."""
import csv
import os
import re
import sqlite3
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from fbtest import CLI, REPO, TAP, base_env  # noqa: E402

DEMO_CSV = os.path.join(REPO, "conf", "demo", "inventory.csv")
DEMO_LINE = re.compile(r"(?i)\bdemo\b")


def demo_rows():
    """The listing ids of the bundled demo file (part of the repository)."""
    with open(DEMO_CSV, encoding="utf-8-sig", newline="") as f:
        return [r["listing_id"] for r in csv.DictReader(f)]


def demo_log_lines(srv):
    return [l for l in srv.log().splitlines() if DEMO_LINE.search(l)]


def import_csv(t, db, text):
    d = t.tmpdir("fb-demo-csv-")
    path = os.path.join(d, "shop.csv")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    p = subprocess.run([CLI, "import", path], cwd=d,
                       env=base_env(DATABASE_URL=db, DISCOGS_TOKEN=""),
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    return p.returncode, p.stderr.decode("utf-8", "replace")


def ids(r):
    body = r.json_or_none()
    return sorted(x["listing_id"] for x in body) if isinstance(body, list) else body


SHOP = ("listing_id,release_title,primary_artist,price_value,posted,comments\n"
        "7001,Real Record,Real Artist,12.50,2024-05-01T00:00:00Z,our own stock\n"
        "7002,Another,Real Artist,8.00,2024-05-02T00:00:00Z,our own stock\n")


def main(t):
    expected = demo_rows()

    # -- an empty database, no token ---------------------------------------------
    with t.step("empty database without DISCOGS_TOKEN: the demo inventory"):
        srv = t.server(name="demo", empty=False)
        r = srv.get("/api/data")
        body = r.json_or_none() or []
        t.eq(r.status, 200, "GET /api/data is 200")
        t.ok(100 <= len(body) <= 1000, "GET /api/data has a few hundred listings",
             "%d listings" % len(body))
        t.eq(len(body), len(expected), "every listing of the bundled demo file is served")
        t.eq(sorted(x["listing_id"] for x in body), sorted(expected),
             "the served ids are the demo file's ids")
        t.eq(r.header("x-total-count"), str(len(expected)), "X-Total-Count counts the demo")
        h = srv.get("/healthz")
        t.eq(h.status, 200, "/healthz is 200")
        t.eq((h.json_or_none() or {}).get("demo"), True, '/healthz says "demo": true')
        lines = demo_log_lines(srv)
        t.ok(len(lines) == 1, "the log has exactly one line about the demo inventory",
             "\n".join(lines) or srv.log_tail(20))
        t.ok(lines and str(len(expected)) in lines[0],
             "the log line gives the number of demo listings", "\n".join(lines))
        # The demo is a usable shop: search, filter and facets work on it.
        r = srv.get("/api/facets")
        f = r.json_or_none() or {}
        t.eq(r.status, 200, "/api/facets on the demo is 200")
        t.eq(sum(e.get("count", 0) for e in f.get("price_bands", [])), len(expected),
             "the demo's price bands cover every demo listing")
        r = srv.get("/api/search?limit=5")
        t.eq((r.status, len(r.json_or_none() or [])), (200, 5), "/api/search pages the demo")
        one = body[0] if body else {}
        r = srv.get("/api/data/%s" % one.get("listing_id"))
        t.eq(r.status, 200, "a demo listing is served by id")
        srv.stop()
        # A restart of the same database: still one load, not two.
        again = t.server(name="demo-again", empty=False, tmp=srv.tmp)
        t.eq(len(again.get("/api/data").json_or_none() or []), len(expected),
             "a restart serves the same demo, not twice over")
        t.eq(demo_log_lines(again), [],
             "a restart does not load (or log) the demo again")
        t.eq((again.get("/healthz").json_or_none() or {}).get("demo"), True,
             '/healthz still says "demo": true after a restart')
        t.no_crash(again)
        again.stop()

    with t.step("an import into the demo shop: the real listings are served"):
        srv = t.server(name="demo-import", empty=False)
        n0 = len(srv.get("/api/data").json_or_none() or [])
        rc, err = import_csv(t, srv.db_path, SHOP)
        t.eq(rc, 0, "importing into the demo database: exit 0")
        got = srv.get("/api/data").json_or_none() or []
        t.ok({"7001", "7002"} <= {x["listing_id"] for x in got},
             "the imported listings are served", "%d listings" % len(got))
        t.ok(len(got) >= n0, "the import itself removes nothing", "%d -> %d" % (n0, len(got)))
        srv.stop()

    # -- a token: no demo ---------------------------------------------------------
    with t.step("empty database with DISCOGS_TOKEN: stays empty, no demo"):
        srv = t.server(name="token", empty=False, env={
            "DISCOGS_TOKEN": "test-token-not-real", "DISCOGS_SELLER_USERNAME": "test-seller",
            "ENABLE_AUTO_SYNC": "false"})
        r = srv.get("/api/data")
        t.eq((r.status, r.json_or_none()), (200, []), "GET /api/data is 200 []")
        t.eq(r.header("x-total-count"), "0", "X-Total-Count 0")
        t.eq(srv.get("/api/data?include_inactive=1").json_or_none(), [],
             "nothing hidden either (include_inactive=1 is [])")
        t.eq((srv.get("/healthz").json_or_none() or {}).get("demo"), False,
             '/healthz says "demo": false')
        t.eq(demo_log_lines(srv), [], "no log line about a demo inventory")
        with sqlite3.connect("file:%s?mode=ro" % srv.db_path, uri=True) as c:
            t.eq(c.execute("SELECT count(*) FROM listings").fetchone()[0], 0,
                 "the database holds no listings")
        srv.stop()
        # Restarted without the token, the still-empty shop gets the demo.
        later = t.server(name="token-later", empty=False, tmp=srv.tmp)
        t.eq(len(later.get("/api/data").json_or_none() or []), len(expected),
             "the same empty database, later without a token: the demo loads")
        later.stop()

    # -- a database with listings is never touched --------------------------------
    with t.step("a database with listings is never touched by the demo load"):
        srv = t.server(name="own", empty=False, start=False)
        rc, err = import_csv(t, srv.db_path, SHOP)
        t.eq(rc, 0, "the shop's own listings imported before the first start")
        srv.start()
        r = srv.get("/api/data")
        t.eq(ids(r), ["7001", "7002"], "only the shop's own two listings are served")
        t.eq((srv.get("/healthz").json_or_none() or {}).get("demo"), False,
             '/healthz says "demo": false')
        t.eq(demo_log_lines(srv), [], "no log line about a demo inventory")
        t.match(srv.get("/api/data/7001").text, r'"price_value":\s*12\.5[,}]',
                "the shop's own listing is as imported")
        srv.stop()

    with t.step("a database whose listings were all removed is not refilled either"):
        srv = t.server(name="removed", empty=False, start=False)
        rc, err = import_csv(t, srv.db_path, SHOP)
        t.eq(rc, 0, "the shop's listings imported")
        c = sqlite3.connect(srv.db_path)
        with c:
            c.execute("UPDATE listings SET is_active = 0, removed_at = '2024-06-01T00:00:00Z'")
        c.close()
        srv.start()
        t.eq(ids(srv.get("/api/data")), [], "no active listing is served (no demo)")
        t.eq(ids(srv.get("/api/data?include_inactive=1")), ["7001", "7002"],
             "the removed listings are still there, and nothing else")
        t.eq((srv.get("/healthz").json_or_none() or {}).get("demo"), False,
             '/healthz says "demo": false')
        t.eq(demo_log_lines(srv), [], "no log line about a demo inventory")
        t.no_crash(srv)
        srv.stop()


if __name__ == "__main__":
    TAP.run(main)
