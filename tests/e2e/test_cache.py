#!/usr/bin/env python3
"""The response cache keeps working once it is full: older answers make
room (a bug: a full cache refused every new answer, so search fell from
~14k to ~200 req/s in make bench).  Observed through the cache counters
of /metrics on one pinned worker."""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from fbtest import TAP, Pinned, listing  # noqa: E402


def counters(srv):
    text = srv.get("/metrics").text
    return {k: int(v) for k, v in
            re.findall(r'fb_cache_events_total\{event="(\w+)"\} (\d+)', text)}


def main(t):
    srv = t.server(tls=False)
    srv.seed([listing(5000000000 + i, comments="x" * 1200)
              for i in range(3000)])
    c = Pinned(srv.host, srv.port)
    with t.step("fill the cache past its 16 MB budget"):
        for off in range(0, 2400, 80):
            r = c.get("/api/data?limit=300&offset=%d" % off)
            t.ok(r.status == 200 and len(r.body) > 300 * 1000,
                 "page at offset %d: 200, %d bytes" % (off, len(r.body)))
        before = counters(srv)
        t.ok(before.get("evict", 0) > 0, "older answers were evicted",
             before)
    with t.step("a new answer is still cached"):
        c.get("/api/data?limit=300&offset=2999")
        c.get("/api/data?limit=300&offset=2999")
        after = counters(srv)
        t.ok(after.get("store", 0) > before.get("store", 0),
             "the new answer was stored", (before, after))
        t.ok(after.get("hit", 0) > before.get("hit", 0),
             "and the repeat was answered from the cache", (before, after))


if __name__ == "__main__":
    TAP.run(main)
