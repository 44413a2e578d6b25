#!/usr/bin/env python3
"""Plugins against the real server: the loader's verdicts on the fixture
plugins (tests/fixtures/plugins: wrong ABI major, newer minor, missing
file, no descriptor, wrong name, failing init, duplicate and core routes,
a route claimed after init, handlers that misbehave), GET /api/plugins,
the crash guard, and the shipped plugins: hello, stats and export (with
an export -> import round trip).  In every case the core routes answer.

Each server runs from its own working directory: symlinks to kore.conf,
build/ and scripts/, and a conf/ whose plugins.conf is the test's own."""
import csv
import io
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from fbtest import REPO, CLI, TAP, listing, parse_response, repo_cwd  # noqa: E402

FIXTURES = os.path.join(REPO, "build", "tests", "plugins")
FIXTURE_NAMES = ("ok", "abi_major", "abi_minor", "no_entry", "wrong_name",
                 "init_fails", "dup_route", "dup_core", "late_route", "errors",
                 "crash", "init_crash")
PASS = "plugin-test-passphrase"
ADMIN = {"Authorization": "Bearer " + PASS}

FIXTURE_CONF = """# the fixtures, in an order that makes dup_route collide with ok
plugin ok build/tests/plugins/ok.so
ok.color blue
plugin abi_major build/tests/plugins/abi_major.so
plugin abi_minor build/tests/plugins/abi_minor.so
plugin no_entry build/tests/plugins/no_entry.so
plugin wrong_name build/tests/plugins/wrong_name.so
plugin missing build/tests/plugins/missing.so
plugin init_fails build/tests/plugins/init_fails.so
plugin dup_route build/tests/plugins/dup_route.so
plugin dup_core build/tests/plugins/dup_core.so
plugin late_route build/tests/plugins/late_route.so
plugin errors build/tests/plugins/errors.so
this line is wrong
plugin stats build/plugins/stats.so
plugin export build/plugins/export.so
export.filename shop.csv
plugin hello build/plugins/hello.so
hello.greeting Hi from the test
"""

CRASH_CONF = """plugin init_crash build/tests/plugins/init_crash.so
plugin crash build/tests/plugins/crash.so
plugin hello build/plugins/hello.so
"""

# The importer's columns: every listing field but the shop's own state.
STATE = ("created_at", "updated_at", "is_active", "removed_at", "sold_at")


def ensure_fixtures(t):
    missing = [n for n in FIXTURE_NAMES
               if not os.path.exists(os.path.join(FIXTURES, n + ".so"))]
    if missing:
        subprocess.run(["make", "-s", "-C", REPO, "fixtures"], check=False,
                       stdout=subprocess.DEVNULL)
    missing = [n for n in FIXTURE_NAMES
               if not os.path.exists(os.path.join(FIXTURES, n + ".so"))]
    t.ok(not missing, "fixture plugins are built", "missing: %s (make fixtures)" % missing)


def plugin_cwd(t, conf_text):
    """A working directory like the repository's with its own plugins.conf
    (None: no plugins.conf at all)."""
    return repo_cwd(t, {"plugins.conf": conf_text})


def plugins_by_name(srv):
    r = srv.get("/api/plugins", headers=ADMIN)
    return {p["name"]: p for p in r.json()["plugins"]}


def core_answers(t, srv, what):
    """The core routes still answer, whatever the plugins did."""
    ok = all(srv.get(p).status == 200 for p in
             ("/healthz", "/api/data", "/api/search?q=record&limit=5", "/api/facets",
              "/metrics"))
    t.ok(ok, "%s: the core routes still answer" % what)


# --------------------------------------------------------------------------
# the loader's verdicts
# --------------------------------------------------------------------------

def check_startup_log(t, srv):
    log = srv.log()
    for text in ("plugin abi_major: ABI 2.0, host 1.0",
                 "plugin abi_minor: ABI 1.1, host 1.0",
                 "plugin missing: build/tests/plugins/missing.so: No such file",
                 "plugin no_entry: build/tests/plugins/no_entry.so exports no fb_plugin_entry",
                 "plugin wrong_name: build/tests/plugins/wrong_name.so calls itself 'somebody_else'",
                 "plugin init_fails: init failed",
                 "plugin dup_route: route /api/fixture is taken by plugin ok",
                 "plugin dup_core: route /api/data is taken by the core",
                 "conf/plugins.conf:14: unknown line 'this'"):
        t.ok(text in log, "start-up log: %s" % text, srv.log_tail(60))
    t.ok("init must never run" not in log, "refused plugins' init never ran")
    t.ok("init_fails: fini must not run" not in log, "a failed init gets no fini")
    t.ok("dup_route: fini ran" in log, "a plugin refused after init gets its fini")


def check_plugins_list(t, srv):
    r = srv.get("/api/plugins")
    t.json_error(r, 401, "/api/plugins without credentials")
    t.match(r.header("www-authenticate") or "", "^Bearer", "401 carries WWW-Authenticate")
    t.json_error(srv.get("/api/plugins", headers={"Authorization": "Bearer nope"}),
                 401, "/api/plugins with a wrong passphrase")
    t.json_error(srv.get("/api/plugins?x=1", headers=ADMIN), 400, "a stray parameter", ["x"])
    r = srv.get("/api/plugins", headers=ADMIN)
    t.eq(r.status, 200, "/api/plugins with the admin passphrase is 200")
    body = r.json()
    t.eq(body["host_abi"], "1.0", "host_abi")
    t.eq(body["conf_errors"], 1, "one bad conf line counted")
    p = {x["name"]: x for x in body["plugins"]}
    t.eq([x["name"] for x in body["plugins"]],
         ["ok", "abi_major", "abi_minor", "no_entry", "wrong_name", "missing", "init_fails",
          "dup_route", "dup_core", "late_route", "errors", "stats", "export", "hello"],
         "every listed plugin, in conf order")
    states = {n: x["state"] for n, x in p.items()}
    t.eq(sorted(n for n, s in states.items() if s == "loaded"),
         ["errors", "export", "hello", "late_route", "ok", "stats"], "the loaded ones")
    t.eq(p["abi_major"]["abi"], "2.0", "a refused plugin's ABI is shown")
    t.match(p["abi_major"]["reason"], r"ABI 2\.0, host 1\.0", "with the reason")
    t.match(p["dup_core"]["reason"], r"/api/data is taken by the core", "dup_core's reason")
    t.eq(p["stats"]["routes"], [{"path": "/api/stats", "methods": "GET, HEAD", "data": False,
                                 "cache": False}], "stats' route")
    t.eq(p["export"]["routes"], [{"path": "/api/export.csv", "methods": "GET, HEAD",
                                  "data": True, "cache": False}], "export's route")
    t.eq(sorted(x["path"] for x in p["ok"]["routes"]),
         ["/api/fixture", "/api/fixture-cached", "/api/fixture-healthz", "/api/fixture-stream",
          "/api/fixture/*"],
         "ok's routes, the prefix one with its star")
    t.eq(p["dup_route"]["routes"], [], "a refused plugin has no routes")


def check_refused_routes(t, srv):
    for path in ("/api/abi-major", "/api/abi-minor", "/api/init-fails", "/api/dup-free"):
        t.json_error(srv.get(path), 404, "%s of a refused plugin" % path)
    r = srv.get("/api/data")
    t.ok(r.status == 200 and isinstance(r.json(), list), "/api/data is still the core's")
    t.json_error(srv.get("/api/no-such-thing"), 404, "an unclaimed /api/ path", ["/api/no-such-thing"])
    r = srv.get("/api/late")
    t.eq(r.json(), {"route_add": -1}, "route_add after init fails")
    t.json_error(srv.get("/api/late-added"), 404, "the late route is not served")
    t.ok("route_add(/api/late-added) outside init" in srv.log(),
         "the late claim is logged", srv.log_tail(20))


# --------------------------------------------------------------------------
# misbehaving handlers
# --------------------------------------------------------------------------

def check_error_statuses(t, srv):
    body = t.json_error(srv.get("/api/errors/teapot"), 418, "a plugin's own 418")
    t.eq(body and body["error"], "short and stout", "its message")
    t.json_error(srv.get("/api/errors/unavailable"), 503, "a plugin's own 503")
    for case in ("fails", "silent", "bad-status"):
        t.json_error(srv.get("/api/errors/" + case), 500, "handler %s: a JSON 500" % case,
                     ["plugin errors"])
    r = srv.get("/api/errors/twice")
    t.ok(r.status == 200 and r.json() == {"first": True}, "a second answer is dropped", repr(r))
    r = srv.get("/api/errors/bad-header")
    t.eq(r.json(), {"crlf": -1, "framing": -1}, "bad and framing headers are refused")
    t.ok(r.header("x-evil") is None and r.header("set-cookie") is None,
         "no header was injected", repr(r.headers))
    before = count_listings(srv)
    r = srv.get("/api/errors/sql")
    t.eq(r.json(), {"refused": [True] * 10}, "writes, PRAGMA, ATTACH, BEGIN, two statements: refused")
    t.eq(count_listings(srv), before, "and the listings are untouched")
    core_answers(t, srv, "after the misbehaving handlers")


def check_streams(t, srv):
    raw = srv.raw(b"GET /api/fixture-stream?lines=20000 HTTP/1.1\r\nHost: x\r\n"
                  b"Connection: close\r\n\r\n", timeout=20)
    r = parse_response(raw)
    t.eq(r.status, 200, "a streamed answer")
    lines = r.body.decode().splitlines()
    t.ok(len(lines) == 20000 and lines[-1] == "line 19999", "has every line", repr(lines[-1:]))
    t.ok(r.chunks is not None and len(r.chunks) >= 3 and max(r.chunks) <= 1 << 20,
         "in several bounded chunks", repr(r.chunks and r.chunks[:5]))
    t.json_error(srv.get("/api/errors/stream-big"), 500,
                 "a part over FB_STREAM_CHUNK_MAX before any byte: a JSON 500")
    raw = srv.raw(b"GET /api/errors/stream-cut HTTP/1.1\r\nHost: x\r\n\r\n", timeout=5)
    t.ok(b"first part" in raw and not raw.endswith(b"0\r\n\r\n"),
         "a failure mid-stream cuts the connection (no final chunk)", repr(raw[-80:]))
    t.ok(srv.log().count("errors: stream done") >= 2, "done ran for both streams")


def check_statements(t, srv):
    pins = srv.per_worker()
    t.eq(len(pins), 2, "a connection on each worker")
    for p in pins.values():
        t.eq(p.get("/api/errors/leak").json(), {"step": 1}, "a plugin leaves a statement running")
    srv.seed([listing(777000001)])
    for pid, p in pins.items():
        t.eq(p.get("/api/data/777000001").status, 200,
             "worker %d still sees new data (its snapshot was not pinned)" % pid)
        p.close()
    t.ok("still running when its request ended; reset" in srv.log(),
         "the left-over statement is logged")
    start = time.monotonic()
    r = srv.get("/api/errors/slow", timeout=15)
    took = time.monotonic() - start
    t.ok(r.json() == {"step": -1} and took < 6, "a runaway query is interrupted (%.1fs)" % took)
    t.ok("db_step: interrupted after 2 s" in srv.log(), "and logged")


# --------------------------------------------------------------------------
# what a plugin sees
# --------------------------------------------------------------------------

def check_ok_fixture(t, srv):
    r = srv.get("/api/fixture?q=a%20b", headers={"X-Test": "hi"})
    b = r.json()
    t.eq((b["color"], b["q"], b["header"], b["path"], b["admin"]),
         ("blue", "a b", "hi", "/api/fixture", False),
         "settings, a decoded param, a header and the path")
    t.ok(isinstance(b["data_version"], int) and b["data_version"] > 0, "the data version")
    t.ok(b'"money":19.99' in r.body, "json_money is exact", r.body)
    t.eq(r.header("x-fixture"), "yes", "a plugin's own header")
    t.eq(srv.get("/api/fixture", headers=ADMIN).json()["admin"], True, "req_is_admin")
    t.json_error(srv.get("/api/fixture?zz=1"), 400, "an unknown parameter", ["zz"])
    r = srv.request("POST", "/api/fixture", body=b'{"a": [1, 2]}',
                    headers={"Content-Type": "application/json"})
    t.ok(r.status == 201 and r.json() == {"echo": {"a": [1, 2]}}, "POST: the JSON body", repr(r))
    r = srv.request("PUT", "/api/fixture", body=b"")
    t.json_error(r, 405, "PUT on a GET/POST route")
    t.eq(r.header("allow"), "GET, HEAD, POST", "405 with Allow")
    t.eq(srv.get("/api/fixture/a%20b/c").json(), {"rest": "a b/c"}, "a prefix route's rest")
    t.json_error(srv.get("/api/fixture/%01"), 400, "a bad rest", ["path"])
    t.json_error(srv.get("/api/fixture/"), 404, "a prefix needs a rest")


def check_route_cache(t, srv):
    p = list(srv.per_worker(n_workers=1).values())[0]
    first = p.get("/api/fixture-cached")
    again = p.get("/api/fixture-cached")
    t.eq(again.json(), first.json(), "FB_ROUTE_CACHE: a repeat is served from the cache")
    t.ok(first.header("etag") is not None, "with an ETag")
    t.eq(p.get("/api/fixture-cached", headers={"If-None-Match": first.header("etag")}).status,
         304, "If-None-Match: 304")
    srv.seed([listing(777000002)])
    t.eq(p.get("/api/fixture-cached").json()["calls"], first.json()["calls"] + 1,
         "a data change calls the handler again")
    p.close()


def check_hello(t, srv):
    t.eq(srv.get("/api/hello").json(), {"message": "Hi from the test", "name": None},
         "hello with its setting")
    t.eq(srv.get("/api/hello?name=Ann").json()["name"], "Ann", "hello?name=")
    t.json_error(srv.get("/api/hello?nmae=Ann"), 400, "hello: a typo", ["nmae"])
    r = srv.request("HEAD", "/api/hello")
    t.ok(r.status == 200 and r.body == b"", "HEAD", repr(r))
    r = srv.request("DELETE", "/api/hello")
    t.json_error(r, 405, "DELETE /api/hello")
    t.eq(r.header("allow"), "GET, HEAD", "Allow: GET, HEAD")


# --------------------------------------------------------------------------
# stats
# --------------------------------------------------------------------------

def stats_rows():
    return [
        listing(1001, price_value=1000, price_currency="USD", primary_format="Vinyl",
                condition="Mint (M)", genres="Jazz, Funk / Soul",
                updated_at="2024-03-01T00:00:00Z"),
        listing(1002, price_value=2001, price_currency="USD", primary_format="Vinyl",
                condition="Good (G)", genres="Jazz", updated_at="2024-03-02T00:00:00Z"),
        listing(1003, price_value=5, price_currency="USD", primary_format="CD",
                condition="Mint (M)", genres=None, updated_at="2024-03-03T00:00:00Z"),
        listing(1004, price_value=1999, price_currency="EUR", primary_format="Cassette",
                condition="Mint (M)", genres="Rock", updated_at="2024-03-04T00:00:00Z"),
        listing(1005, price_value=2500, price_currency="EUR", primary_format=None,
                condition=None, genres="Rock, Jazz", updated_at="2024-03-05T00:00:00Z"),
        listing(1006, price_value=99999, price_currency="USD", is_active=0,
                removed_at="2024-03-06T00:00:00Z", updated_at="2024-03-06T00:00:00Z"),
    ]


def check_stats(t, srv):
    srv.clear()
    srv.seed(stats_rows())
    r = srv.get("/api/stats")
    t.eq(r.status, 200, "GET /api/stats")
    s = r.json()
    t.eq((s["total_listings"], s["active"], s["removed"]), (5, 5, 1),
         "total_listings counts active ones; active and removed")
    t.eq(s["last_updated"], "2024-03-06T00:00:00Z", "last_updated: the newest updated_at")
    t.ok(b'"inventory_value":{"EUR":44.99,"USD":30.06}' in r.body,
         "inventory value per currency, exact", r.body)
    t.ok(b'"median_price":{"EUR":22.495,"USD":10.0}' in r.body,
         "median price per currency (even count: the mean of the middle two)", r.body)
    t.eq(s["by_format"], {"Vinyl": 2, "CD": 1, "Cassette": 1, "unknown": 1}, "by_format")
    t.eq(list(s["by_format"])[0], "Vinyl", "most frequent first")
    t.eq(s["by_condition"], {"Mint (M)": 3, "Good (G)": 1, "unknown": 1}, "by_condition")
    t.eq(s["by_genre"], {"Jazz": 3, "Rock": 2, "Funk / Soul": 1, "unknown": 1},
         "by_genre splits the list")
    t.eq(s["last_sync"], None, "last_sync is null before any sync run")
    etag = r.header("etag")
    t.ok(etag is not None, "an ETag")
    t.eq(srv.get("/api/stats", headers={"If-None-Match": etag}).status, 304, "304")
    t.json_error(srv.get("/api/stats?x=1"), 400, "a stray parameter", ["x"])
    check_stats_sync(t, srv, etag)


def check_stats_sync(t, srv, etag):
    """last_sync follows sync_runs even when no listing changes; a
    database without the table gives null."""
    run = ("INSERT INTO sync_runs (id, status, trigger, started_at, finished_at, added,"
           " updated, removed, error) VALUES (?, ?, 'timer', ?, ?, ?, ?, ?, ?)")
    with srv.db() as c:
        c.execute(run, (1, "failed", "a", "b", 0, 0, 0, "boom"))
        c.execute(run, (2, "held", "2024-04-01T00:00:00Z", "2024-04-01T00:01:00Z", 3, 2, 1,
                        "would remove 60% of the shop"))
        c.execute(run, (3, "running", "2024-04-02T00:00:00Z", None, 0, 0, 0, None))
    r = srv.get("/api/stats")
    t.eq(r.json()["last_sync"], {"id": 2, "status": "held", "started_at": "2024-04-01T00:00:00Z",
                                 "finished_at": "2024-04-01T00:01:00Z", "added": 3,
                                 "updated": 2, "removed": 1,
                                 "error": "would remove 60% of the shop"},
         "last_sync: the newest finished run, though no listing changed")
    t.ok(r.header("etag") not in (None, etag), "the ETag moved with it")
    t.eq(srv.get("/api/stats", headers={"If-None-Match": r.header("etag")}).status, 304,
         "and 304 on the new one")
    srv.seed([listing(1007, price_value=100, price_currency="GBP")])
    s2 = srv.get("/api/stats").json()
    t.eq(s2["total_listings"], 6, "a new data version rebuilds the counts")
    t.ok(b'"GBP":1.0' in srv.get("/api/stats").body, "with the new currency")
    with srv.db() as c:
        c.execute("DROP TABLE sync_changes")
        c.execute("DROP TABLE sync_runs")
    t.eq(srv.get("/api/stats").json()["last_sync"], None,
         "a database without sync_runs: last_sync is null")


# --------------------------------------------------------------------------
# export
# --------------------------------------------------------------------------

def export_rows():
    rows = [listing(9007199254740993, release_title='He said "hi", twice',
                    comments="line one\nline two, with comma", artist_names=" Björk ",
                    primary_artist="Björk", price_value=5, weight=0.1,
                    custom_metadata='{"shelf": "A1", "tags": ["x", "y"]}',
                    release_year=None, shipping_price=None, genres="Electronic, Pop",
                    posted="2025-06-01T00:00:00+00:00")]
    for i in range(1, 3000):
        rows.append(listing(5000000 + i, price_value=100 * i + i % 100,
                            artist_names="Artist %d" % (i % 7), primary_artist="Artist %d" % (i % 7),
                            genres="Jazz" if i % 3 else "Rock", release_year=1960 + i % 50,
                            posted="2024-01-%02dT12:00:00+00:00" % (1 + i % 28)))
    rows.append(listing(6000001, is_active=0, removed_at="2024-02-01T00:00:00Z"))
    return rows


def export_csv(srv, query=""):
    r = srv.get("/api/export.csv" + query, timeout=30)
    table = list(csv.reader(io.StringIO(r.body.decode("utf-8"), newline=""))) \
        if r.status == 200 else []
    return r, table


def check_export(t, srv):
    srv.clear()
    srv.seed(export_rows())
    r, table = export_csv(srv)
    t.eq(r.status, 200, "GET /api/export.csv")
    t.match(r.header("content-type") or "", r"^text/csv", "text/csv")
    t.eq(r.header("content-disposition"), 'attachment; filename="shop.csv"',
         "the file name comes from export.filename")
    t.ok(r.header("etag") is not None, "an ETag")
    fields = [k for k in srv.get("/api/data/5000001").json() if k not in STATE]
    t.eq(table[0], fields, "the header: every listing field but the state ones, in order")
    t.eq(len(table) - 1, 3000, "every active listing, no removed one")
    head = table[0]
    first = dict(zip(head, table[1]))
    t.eq(first["listing_id"], "9007199254740993", "the newest first; a 64-bit id exact")
    t.eq((first["release_title"], first["comments"], first["artist_names"]),
         ('He said "hi", twice', "line one\nline two, with comma", " Björk "),
         "quotes, commas, line breaks and edge spaces survive")
    t.eq((first["price_value"], first["weight"], first["release_year"], first["shipping_price"]),
         ("0.05", "0.1", "", ""), "exact money and reals; null is empty")
    t.eq(first["custom_metadata"], '{"shelf": "A1", "tags": ["x", "y"]}', "custom_metadata")
    check_export_filters(t, srv)
    return table


def check_export_filters(t, srv):
    for q in ("?artist=Artist%203", "?genre=Rock", "?q=record", "?min_price=10&max_price=20.5",
              "?year=1970", "?include_inactive=1", "?artist=Artist%201&genre=Jazz&sort=price"):
        # Only the count matters: one row of /api/search is enough.
        n = srv.get("/api/search" + q + "&limit=1").header("x-total-count")
        r, table = export_csv(srv, q)
        t.eq(len(table) - 1, int(n), "export%s: as many rows as /api/search finds (%s)" % (q, n))
    r, table = export_csv(srv, "?limit=5&offset=2")
    t.eq(len(table) - 1, 5, "limit and offset")
    r, table = export_csv(srv, "?limit=&offset=&year=")
    t.eq(len(table) - 1, 3000, "empty limit=, offset=, year=: not given, every listing")
    r, table = export_csv(srv, "?sort=price")
    prices = [float(row[table[0].index("price_value")]) for row in table[1:]]
    t.ok(prices == sorted(prices), "sort=price")
    t.json_error(srv.get("/api/export.csv?colour=red"), 400, "an unknown filter", ["colour"])
    t.json_error(srv.get("/api/export.csv?min_price=abc"), 400, "a bad price", ["min_price"])


def check_round_trip(t, srv, table):
    d = t.tmpdir()
    path = os.path.join(d, "export.csv")
    with open(path, "wb") as f:
        f.write(srv.get("/api/export.csv", timeout=30).body)
    env = dict(os.environ, DATABASE_URL=os.path.join(d, "copy.db"), DISCOGS_TOKEN="")
    p = subprocess.run([CLI, "import", path], env=env, capture_output=True, text=True, cwd=d)
    t.ok(p.returncode == 0, "build/freakinbeats import takes the export", p.stderr[-800:])
    cols = [c for c in table[0]]
    sel = "SELECT %s FROM listings WHERE is_active = 1 ORDER BY listing_id" % ",".join(cols)
    with srv.db() as c:
        want = c.execute(sel).fetchall()
    import sqlite3
    c2 = sqlite3.connect(os.path.join(d, "copy.db"))
    got = c2.execute(sel).fetchall()
    c2.close()
    t.eq(len(got), len(want), "round trip: every listing is back")
    diff = [(a, b) for a, b in zip(want, got) if a != b]
    t.ok(not diff, "round trip: every field is identical", repr(diff[:2]))
    env["DATABASE_URL"] = srv.db_path
    before = srv.get("/api/stats").header("etag")
    p = subprocess.run([CLI, "import", path], env=env, capture_output=True, text=True, cwd=d)
    t.ok(p.returncode == 0, "re-importing into the source database", p.stderr[-800:])
    t.eq(srv.get("/api/stats").header("etag"), before,
         "changes nothing (the data version does not move)")


# --------------------------------------------------------------------------
# servers
# --------------------------------------------------------------------------

def count_listings(srv):
    with srv.db() as c:
        return c.execute("SELECT count(*) FROM listings").fetchone()[0]


def fixtures_server(t):
    srv = t.server(cwd=plugin_cwd(t, FIXTURE_CONF), tls=False, name="fixtures",
                   env={"ADMIN_PASSPHRASE": PASS})
    srv.seed([listing(i) for i in range(1, 21)])
    with t.step("start-up verdicts"):
        check_startup_log(t, srv)
    with t.step("/api/plugins"):
        check_plugins_list(t, srv)
    with t.step("refused and late routes"):
        check_refused_routes(t, srv)
        core_answers(t, srv, "with refused plugins")
    with t.step("error statuses"):
        check_error_statuses(t, srv)
    with t.step("streams"):
        check_streams(t, srv)
    with t.step("statements"):
        check_statements(t, srv)
    with t.step("the ok fixture"):
        check_ok_fixture(t, srv)
    with t.step("FB_ROUTE_CACHE"):
        check_route_cache(t, srv)
    with t.step("hello"):
        check_hello(t, srv)
    with t.step("stats"):
        check_stats(t, srv)
    with t.step("export"):
        table = check_export(t, srv)
    with t.step("export -> import"):
        check_round_trip(t, srv, table)
    with t.step("at the end"):
        core_answers(t, srv, "at the end")
        t.no_crash(srv, "fixtures: no worker died")
    srv.stop()


def crash_server(t):
    srv = t.server(cwd=plugin_cwd(t, CRASH_CONF), tls=False, name="crash",
                   env={"ADMIN_PASSPHRASE": PASS})
    with t.step("crash guard"):
        t.eq(srv.get("/api/hello").status, 200, "hello loads next to crashing plugins")
        deaths = 0
        for _ in range(12):
            try:
                if srv.get("/api/crash", timeout=5).status == 404:
                    break
            except OSError:
                deaths += 1
                time.sleep(0.3)
        t.ok(deaths >= 3, "each call killed a worker (%d)" % deaths)
        time.sleep(1)
        t.json_error(srv.get("/api/crash"), 404, "after three crashes the plugin is gone")
        p = plugins_by_name(srv)
        t.ok(p["crash"]["crashes"] >= 3 and p["crash"]["state"] in ("disabled", "refused"),
             "/api/plugins shows it disabled with its crashes", repr(p["crash"]))
        t.match(p["init_crash"]["reason"] or "", "disabled: it crashed a worker",
                "a plugin that crashes in init is disabled at once")
        t.ok("plugin init_crash: disabled in every worker" in srv.log(), "logged")
        t.eq(srv.get("/api/hello").status, 200, "the other plugin still answers")
        core_answers(t, srv, "after the crashes")
    srv.stop()


def bare_server(t):
    srv = t.server(cwd=plugin_cwd(t, None), tls=False, name="no-plugins")
    with t.step("no plugins.conf"):
        t.ok("no conf/plugins.conf: no plugins" in srv.log(), "logged")
        t.json_error(srv.get("/api/stats"), 404, "no stats without the plugin")
        t.json_error(srv.get("/api/plugins", headers=ADMIN), 403,
                     "/api/plugins without ADMIN_PASSPHRASE set", ["ADMIN_PASSPHRASE"])
        core_answers(t, srv, "with no plugins")
        t.no_crash(srv)
    srv.stop()


def main(t):
    ensure_fixtures(t)
    fixtures_server(t)
    crash_server(t)
    bare_server(t)


if __name__ == "__main__":
    TAP.run(main)
