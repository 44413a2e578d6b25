#!/usr/bin/env python3
"""/metrics: Prometheus text with requests by route and status (shared by
every worker), a latency histogram and the active listing count."""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from fbtest import TAP, listing  # noqa: E402

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)'
                    r'(\{((?:[^"}]|"(?:[^"\\]|\\.)*")*)\})? (\S+)( -?\d+)?$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
REQS = "fb_http_requests_total"
HIST = "fb_http_request_duration_seconds"


def parse(text):
    """{(name, frozenset(labels)): float}, and the lines that do not parse."""
    out, bad = {}, []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            if line.startswith("#") and not re.match(r"^# (HELP|TYPE) \S+", line):
                bad.append(line)
            continue
        m = SAMPLE.match(line)
        if not m:
            bad.append(line)
            continue
        labels = frozenset(LABEL.findall(m.group(3) or ""))
        try:
            out[(m.group(1), labels)] = float(m.group(4))
        except ValueError:
            bad.append(line)
    return out, bad


def val(m, name, **labels):
    return m.get((name, frozenset(labels.items())), 0.0)


def main(t):
    srv = t.server(name="metrics")
    rows = [listing(100 + i) for i in range(7)] + \
        [listing(200 + i, is_active=0, removed_at="2025-01-01T00:00:00Z") for i in range(3)]
    srv.seed(rows)

    with t.step("format"):
        r = srv.get("/metrics")
        t.eq(r.status, 200, "GET /metrics is 200")
        t.match(r.header("content-type"), r"^text/plain", "content type is text/plain")
        m, bad = parse(r.text)
        t.eq(bad, [], "every line is Prometheus text (comment or sample)")
        t.match(r.text, r"(?m)^# TYPE %s counter$" % REQS, "%s is a counter" % REQS)
        t.match(r.text, r"(?m)^# TYPE %s histogram$" % HIST, "%s is a histogram" % HIST)
        t.match(r.text, r"(?m)^# TYPE fb_listings_active gauge$", "fb_listings_active is a gauge")
        t.eq(val(m, "fb_listings_active"), 7.0, "fb_listings_active is the seeded active count")

    with t.step("counts by route and status"):
        before, _ = parse(srv.get("/metrics").text)
        plan = [  # (method, path, route label, status, times)
            ("GET", "/healthz", "/healthz", 200, 5),
            ("GET", "/api/data/101", "/api/data/{listing_id}", 200, 3),
            ("GET", "/api/data/999", "/api/data/{listing_id}", 404, 2),
            ("GET", "/api/data/abc", "/api/data/{listing_id}", 404, 1),
            ("GET", "/api/data?limit=2", "/api/data", 200, 4),
            ("GET", "/api/data?limit=abc", "/api/data", 400, 2),
            ("POST", "/api/data", "/api/data", 405, 3),
            ("GET", "/api/nothing-here", "unknown", 404, 2),
        ]
        for method, path, _, _, times in plan:
            for _ in range(times):
                srv.request(method, path, headers={"Content-Length": "0"} if method == "POST" else None)
        tag = srv.get("/api/data?limit=2").header("etag")
        srv.get("/api/data?limit=2", headers={"If-None-Match": tag})
        # Several scrapes on fresh connections: whichever worker answers,
        # it sees the same totals.
        scrapes = [parse(srv.get("/metrics").text)[0] for _ in range(6)]
        after = scrapes[0]
        expect = {("/api/data", 200): 1, ("/api/data", 304): 1}
        for method, path, route, status, times in plan:
            expect[(route, status)] = expect.get((route, status), 0) + times
        for (route, status), want in expect.items():
            got = val(after, REQS, route=route, status=str(status)) - \
                val(before, REQS, route=route, status=str(status))
            t.eq(got, float(want), "%s{route=%s,status=%d} rose by %d" % (REQS, route, status, want))
        base = val(before, REQS, route="/metrics", status="200")
        seen = [val(s, REQS, route="/metrics", status="200") - base for s in scrapes]
        t.eq(seen, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
             "each scrape, from any worker, counts every earlier scrape (shared counters)")
        others = [val(s, REQS, route="/healthz", status="200") for s in scrapes]
        t.eq(len(set(others)), 1, "every scrape shows the same /healthz count")

    with t.step("counters shared by both workers"):
        workers = srv.per_worker()
        t.eq(len(workers), 2, "a connection on each of the 2 workers")
        if len(workers) == 2:
            (pa, a), (pb, b) = sorted(workers.items())
            before = parse(a.get("/metrics").text)[0]
            for _ in range(3):
                a.get("/api/data/999")
            for _ in range(2):
                b.get("/api/data/999")
            b.request("DELETE", "/api/data")
            on_a = parse(a.get("/metrics").text)[0]
            on_b = parse(b.get("/metrics").text)[0]
            for pid, m in ((pa, on_a), (pb, on_b)):
                d404 = val(m, REQS, route="/api/data/{listing_id}", status="404") - \
                    val(before, REQS, route="/api/data/{listing_id}", status="404")
                t.eq(d404, 5.0, "worker %d sees the 404s of both workers (3 + 2)" % pid)
                d405 = val(m, REQS, route="/api/data", status="405") - \
                    val(before, REQS, route="/api/data", status="405")
                t.eq(d405, 1.0, "worker %d sees the other's 405" % pid)
            t.eq(val(on_b, REQS, route="/metrics", status="200") -
                 val(before, REQS, route="/metrics", status="200"), 2.0,
                 "worker %d counts the scrapes made on worker %d" % (pb, pa))
            srv.seed([listing(400)])
            t.eq([val(parse(w.get("/metrics").text)[0], "fb_listings_active") for w in (a, b)],
                 [8.0, 8.0], "both workers report the new active count")
            with srv.db() as c:
                c.execute("DELETE FROM listings WHERE listing_id = 400")
            a.close()
            b.close()

    with t.step("latency histogram"):
        m, _ = parse(srv.get("/metrics").text)
        for route in ("/healthz", "/api/data", "/api/data/{listing_id}", "unknown"):
            buckets = sorted(((float("inf") if dict(k[1])["le"] == "+Inf" else float(dict(k[1])["le"])), v)
                             for k, v in m.items()
                             if k[0] == HIST + "_bucket" and dict(k[1]).get("route") == route)
            inf = val(m, HIST + "_bucket", route=route, le="+Inf")
            count = val(m, HIST + "_count", route=route)
            total = sum(v for k, v in m.items() if k[0] == REQS and dict(k[1]).get("route") == route)
            t.ok(len(buckets) >= 2 and buckets[-1][0] == float("inf"),
                 "%s: buckets up to le=\"+Inf\"" % route, str(buckets))
            t.ok(all(a[1] <= b[1] for a, b in zip(buckets, buckets[1:])),
                 "%s: buckets are cumulative" % route, str(buckets))
            t.eq(inf, count, "%s: le=+Inf bucket equals _count" % route)
            t.eq(count, total, "%s: _count equals the route's requests" % route)
            t.ok((HIST + "_sum", frozenset({("route", route)})) in m, "%s: _sum is present" % route)

    with t.step("fb_listings_active follows the data"):
        srv.seed([listing(300 + i) for i in range(5)])
        vals = [val(parse(srv.get("/metrics").text)[0], "fb_listings_active") for _ in range(4)]
        t.eq(vals, [12.0] * 4, "fb_listings_active is 12 on every worker after 5 more")
        with srv.db() as c:
            c.execute("UPDATE listings SET is_active = 0, removed_at = '2025-02-02T00:00:00Z' "
                      "WHERE listing_id IN (100, 101)")
        vals = [val(parse(srv.get("/metrics").text)[0], "fb_listings_active") for _ in range(4)]
        t.eq(vals, [10.0] * 4, "fb_listings_active drops when listings are removed")

    with t.step("HEAD /metrics"):
        r = srv.request("HEAD", "/metrics")
        t.eq((r.status, r.body), (200, b""), "HEAD /metrics is 200 without a body")
    t.no_crash(srv)


if __name__ == "__main__":
    TAP.run(main)
