#!/usr/bin/env python3
"""SIGTERM during a sync: the database stays exactly as it was before the
run, and the run is marked failed ("interrupted") at the next start.  The
fake Discogs answers slowly so the run is surely in flight."""
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
sys.path.insert(0, HERE)
from fbtest import TAP  # noqa: E402
from fake_discogs import FakeDiscogs  # noqa: E402

TOKEN, SELLER, ADMIN = "test-token", "shop", "admin-pass"
AUTH = {"Authorization": "Bearer " + ADMIN, "Content-Length": "0"}


def env(fake):
    return {"DISCOGS_TOKEN": TOKEN, "DISCOGS_SELLER_USERNAME": SELLER,
            "DISCOGS_API_URL": fake.url, "DISCOGS_MIN_INTERVAL_MS": "20",
            "ENABLE_AUTO_SYNC": "false", "ADMIN_PASSPHRASE": ADMIN}


def wait_status(srv, pred, timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        st = srv.get("/api/sync/status").json_or_none() or {}
        if pred(st):
            return st
        time.sleep(0.1)
    return None


def dump(srv):
    return sorted((l["listing_id"], l["price_value"]) for l in
                  srv.get("/api/data?include_inactive=1").json())


def main(t):
    fake = FakeDiscogs(listings=250, token=TOKEN, seller=SELLER)
    fake.start()
    srv = t.server(env=env(fake), tls=False, empty=False)
    with t.step("a first, clean sync"):
        srv.request("POST", "/api/sync", headers=AUTH)
        st = wait_status(srv, lambda s: not s.get("running") and
                         (s.get("last_run") or {}).get("status") == "succeeded")
        t.ok(st is not None, "the first sync succeeded")
        before = dump(srv)
        t.eq(len(before), 250, "250 listings stored")
    with t.step("SIGTERM in the middle of the second"):
        for lid in fake.ids()[:40]:
            fake.reprice(lid, 99.99)
        fake.set_delay("inventory", 1.0)
        r = srv.request("POST", "/api/sync", headers=AUTH)
        run_id = (r.json_or_none() or {}).get("run_id")
        st = wait_status(srv, lambda s: (s.get("last_run") or {}).get("pages", 0) >= 1)
        t.ok(st is not None and st.get("running"), "the run is in flight")
        srv.stop()
        fake.set_delay("inventory", 0)
    with t.step("after a restart"):
        srv.start()
        t.eq(dump(srv), before, "the listings are exactly as before the run")
        run = srv.get("/api/sync/runs/%s" % run_id).json_or_none() or {}
        t.eq(run.get("status"), "failed", "the interrupted run is recorded failed")
        t.ok("interrupted" in (run.get("error") or ""),
             "its error says it was interrupted", run.get("error"))
        srv.request("POST", "/api/sync", headers=AUTH)
        st = wait_status(srv, lambda s: not s.get("running") and
                         (s.get("last_run") or {}).get("status") == "succeeded")
        t.ok(st is not None and st["last_run"]["updated"] == 40,
             "a clean run afterwards applies the 40 new prices",
             st and st.get("last_run"))
    fake.stop()


if __name__ == "__main__":
    TAP.run(main)
