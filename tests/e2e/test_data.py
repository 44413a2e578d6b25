#!/usr/bin/env python3
"""GET /api/data and /api/data/{id} against the real server: shape, order,
paging, exact ids and money, ETags, methods, errors, hostile input and the
streamed full dump."""
import datetime
import http.client
import json
import os
import random
import re
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from fbtest import TAP, listing, parse_response  # noqa: E402

BIG_ID = 3639550236                  # > 2^32
EXACT_ID = 9007199254740993          # 2^53 + 1: a double would make it ...992
MAX_ID = 9223372036854775807         # INT64_MAX

# The original's keys and their JSON types ("text" is a string or null).
KEYS = {
    "listing_id": "idstr", "status": "text", "condition": "text",
    "sleeve_condition": "text", "posted": "text", "uri": "text",
    "resource_url": "text", "price_value": "number", "price_currency": "text",
    "shipping_price": "number?", "shipping_currency": "text", "weight": "number?",
    "format_quantity": "int?", "external_id": "text", "location": "text",
    "comments": "text", "release_id": "idstr?", "release_title": "text",
    "release_year": "int?", "release_resource_url": "text", "release_uri": "text",
    "artist_names": "text", "primary_artist": "text", "label_names": "text",
    "primary_label": "text", "format_names": "text", "primary_format": "text",
    "genres": "text", "styles": "text", "country": "text", "catalog_number": "text",
    "barcode": "text", "master_id": "any", "master_url": "text", "image_uri": "text",
    "image_resource_url": "text", "release_community_have": "int?",
    "release_community_want": "int?", "export_timestamp": "text",
    "created_at": "str", "updated_at": "str", "is_active": "bool",
    "removed_at": "text", "sold_at": "text", "custom_metadata": "object?",
}


def type_ok(v, kind):
    nullable = kind.endswith("?") or kind in ("text", "any")
    kind = kind.rstrip("?")
    if v is None:
        return nullable
    if kind == "any":
        return True
    if kind in ("text", "str"):
        return isinstance(v, str)
    if kind == "idstr":
        return isinstance(v, str) and v.isdigit()
    if kind == "number":
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    if kind == "int":
        return isinstance(v, int) and not isinstance(v, bool)
    if kind == "bool":
        return isinstance(v, bool)
    if kind == "object":
        return isinstance(v, dict)
    raise ValueError(kind)


def instant(posted):
    if posted is None:
        return None
    return datetime.datetime.fromisoformat(posted.replace("Z", "+00:00")).timestamp()


def expected_order(rows, include_inactive=False):
    """Newest posted first (by the real instant), ties by id, no date last."""
    rows = [r for r in rows if include_inactive or r["is_active"]]
    dated = sorted((r for r in rows if r["posted"]),
                   key=lambda r: (-instant(r["posted"]), -r["listing_id"]))
    undated = sorted((r for r in rows if not r["posted"]), key=lambda r: -r["listing_id"])
    return [str(r["listing_id"]) for r in dated + undated]


def dataset():
    rows = []
    base = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
    # 24 ordinary listings, one hour apart, with assorted time zone offsets.
    offsets = ["+00:00", "-08:00", "+09:00", "+05:30", "Z", "-03:00"]
    for i in range(24):
        off = offsets[i % len(offsets)]
        tz = datetime.timezone.utc if off == "Z" else datetime.timezone(
            datetime.timedelta(hours=int(off[:3]), minutes=int(off[0] + off[4:])))
        when = (base + datetime.timedelta(hours=i)).astimezone(tz)
        posted = when.strftime("%Y-%m-%dT%H:%M:%S") + off
        rows.append(listing(1000 + i, posted=posted, price_value=1000 + i * 7))
    special = [
        # Lexically "2024-03-02T01:30" sorts first; by the instant it is last
        # of these three.
        listing(BIG_ID, posted="2024-03-01T10:00:00-08:00", price_value=109,
                shipping_price=99, release_id=EXACT_ID,
                release_title="Café del Mar — “Ÿ” 🎶", primary_artist="Björk",
                artist_names="Björk, Sigur Rós", comments='He said "hi" \\ and\nleft\ttab \x01',
                custom_metadata=json.dumps({"tags": ["rare", "ü"], "n": 3})),
        listing(EXACT_ID, posted="2024-03-01T17:00:00+00:00", price_value=1250,
                release_year=None, format_quantity=None, weight=None,
                comments="日本語のコメント"),
        listing(MAX_ID, posted="2024-03-02T01:30:00+09:00", price_value=10,
                shipping_price=0),
        listing(2000, posted="2023-06-01T00:00:00Z", price_value=6000),
        listing(2001, posted=None, price_value=1),
        listing(2002, posted="2023-06-01T00:00:00+00:00", price_value=123456789),
    ]
    rows += special
    # Removed listings, some of them the newest of all.
    for i, lid in enumerate((3000, 3001, 3002, 3003)):
        rows.append(listing(lid, posted="2025-0%d-01T00:00:00Z" % (i + 1), is_active=0,
                            removed_at="2025-06-01T00:00:00+00:00", status="Sold",
                            sold_at="2025-05-31T00:00:00+00:00" if i % 2 else None))
    return rows


def links(r):
    return {rel: url for url, rel in
            re.findall(r'<([^>]+)>\s*;\s*rel="?(\w+)"?', r.header("link") or "")}


def ids(body):
    return [x["listing_id"] for x in body] if isinstance(body, list) else body


def main(t):
    srv = t.server(name="data")
    rows = dataset()
    srv.seed(rows)
    by_id = {str(r["listing_id"]): r for r in rows}
    active = expected_order(rows)
    everything = expected_order(rows, include_inactive=True)

    def alive(desc):
        t.eq(srv.get("/healthz").status, 200, "%s: /healthz still answers 200" % desc)

    with t.step("GET /healthz"):
        r = srv.get("/healthz")
        t.eq(r.status, 200, "GET /healthz is 200")
        t.match(r.header("content-type"), r"^application/json", "/healthz is JSON")
        t.eq((r.json_or_none() or {}).get("status"), "ok", '/healthz says "status": "ok"')

    # -- the list ----------------------------------------------------------
    with t.step("GET /api/data"):
        r = srv.get("/api/data")
        t.eq(r.status, 200, "GET /api/data is 200")
        t.match(r.header("content-type"), r"^application/json", "GET /api/data is JSON")
        body = r.json()
        t.ok(isinstance(body, list), "GET /api/data is a bare JSON array", _t(body))
        t.eq(ids(body), active, "active listings only, newest posted first by the real instant")
        t.eq(r.header("x-total-count"), str(len(active)), "X-Total-Count is the active count")
        t.ok(r.header("etag") is not None, "GET /api/data has an ETag")
        if isinstance(body, list) and body:
            missing = sorted(set(KEYS) - set(body[0]))
            t.eq(missing, [], "every key of the listing object is present")
            bad = ["%s %s=%r" % (x.get("listing_id"), k, x.get(k)) for x in body
                   for k, kind in KEYS.items() if k in x and not type_ok(x[k], kind)]
            t.eq(bad, [], "every value has the listing object's JSON type")
            t.ok(all(x["is_active"] is True and x["removed_at"] is None for x in body),
                 "every listed listing is active")

    with t.step("exact ids and money"):
        r = srv.get("/api/data/%d" % EXACT_ID)
        t.eq(r.status, 200, "GET /api/data/9007199254740993 is 200")
        t.ok('"listing_id":"9007199254740993"' in r.text.replace(" ", ""),
             "2^53+1 comes back exactly, as a string", r.text[:200])
        t.match(r.text, r'"price_value":\s*12\.5[,}]', "12.50 comes back as 12.5")
        t.eq(r.json()["release_year"], None, "a missing release_year is null")
        t.eq(r.json()["comments"], "日本語のコメント", "unicode text round-trips")
        r = srv.get("/api/data/%d" % BIG_ID)
        x = r.json()
        t.eq(x["listing_id"], str(BIG_ID), "an id above 2^32 comes back exactly")
        t.eq(x["release_id"], str(EXACT_ID), "release_id is a string, exact above 2^53")
        t.match(r.text, r'"price_value":\s*1\.09[,}]', "1.09 comes back as 1.09")
        t.match(r.text, r'"shipping_price":\s*0\.99[,}]', "shipping 0.99 comes back as 0.99")
        t.eq(x["release_title"], by_id[str(BIG_ID)]["release_title"], "unicode title round-trips")
        t.eq(x["comments"], by_id[str(BIG_ID)]["comments"],
             "quotes, backslash, newline, tab and a control byte round-trip")
        t.eq(x["custom_metadata"], {"tags": ["rare", "ü"], "n": 3},
             "custom_metadata is the stored object")
        r = srv.get("/api/data/%d" % MAX_ID)
        t.eq(r.status, 200, "INT64_MAX id is served")
        t.ok(r.json_or_none() and r.json()["listing_id"] == str(MAX_ID),
             "INT64_MAX id comes back exactly", r.text[:120])
        t.match(r.text, r'"price_value":\s*0\.1[,}]', "0.10 comes back as 0.1")
        t.match(srv.get("/api/data/2000").text, r'"price_value":\s*60\.0[,}]',
                "60.00 comes back as 60.0")
        t.match(srv.get("/api/data/2002").text, r'"price_value":\s*1234567\.89[,}]',
                "1234567.89 comes back exactly")
        t.match(srv.get("/api/data/2001").text, r'"price_value":\s*0\.01[,}]',
                "0.01 comes back as 0.01")
        full = srv.get("/api/data").text
        for pat in (r'"price_value":\s*1\.09[,}]', r'"price_value":\s*12\.5[,}]',
                    r'"price_value":\s*0\.1[,}]', r'"price_value":\s*60\.0[,}]',
                    r'"listing_id":\s*"9007199254740993"'):
            t.match(full, pat, "the full list carries %s" % pat.replace("\\s*", ""))

    with t.step("include_inactive"):
        r = srv.get("/api/data?include_inactive=1")
        t.eq(r.status, 200, "include_inactive=1 is 200")
        t.eq(ids(r.json()), everything, "include_inactive=1 lists removed listings too, in order")
        t.eq(r.header("x-total-count"), str(len(everything)), "include_inactive X-Total-Count")
        removed = [x for x in r.json() if not x["is_active"]]
        t.ok(len(removed) == 4 and all(x["removed_at"] for x in removed),
             "removed listings carry is_active false and removed_at", _t(removed))
        t.eq(ids(srv.get("/api/data?include_inactive=0").json()), active,
             "include_inactive=0 is the active set")

    # -- single listings ---------------------------------------------------
    with t.step("GET /api/data/{id}"):
        r = srv.get("/api/data/1005")
        t.eq(r.status, 200, "a listing is 200")
        t.ok(isinstance(r.json_or_none(), dict) and r.json()["listing_id"] == "1005",
             "the listing object for that id", r.text[:200])
        t.ok(r.header("etag") is not None, "a listing has an ETag")
        r = srv.get("/api/data/424242")
        t.eq(r.status, 404, "an unknown id is 404")
        t.eq(r.json_or_none(), {"error": "Listing not found"}, 'body {"error": "Listing not found"}')
        t.match(r.header("content-type"), "application/json", "404 is JSON")
        r = srv.get("/api/data/3001")
        t.eq(r.status, 200, "a removed listing is 200")
        x = r.json_or_none() or {}
        t.eq(x.get("is_active"), False, "a removed listing has is_active false")
        t.ok(bool(x.get("removed_at")), "a removed listing has removed_at set", _t(x.get("removed_at")))

    # -- paging ------------------------------------------------------------
    with t.step("limit and offset"):
        r = srv.get("/api/data?limit=5")
        t.eq(r.status, 200, "limit=5 is 200")
        t.eq(ids(r.json()), active[:5], "limit=5 is the first five")
        t.eq(r.header("x-total-count"), str(len(active)), "limit=5 X-Total-Count is the total")
        l = links(r)
        t.ok({"first", "next", "last"} <= set(l) and "prev" not in l,
             "first page: Link has first, next, last and no prev", r.header("link"))
        r = srv.get("/api/data?limit=5&offset=5")
        t.eq(ids(r.json()), active[5:10], "offset=5 is the second page")
        l = links(r)
        t.ok({"first", "prev", "next", "last"} <= set(l), "middle page: Link has all four rels",
             r.header("link"))
        # Follow rel=next to the end: the pages make up the whole list.
        seen, url, pages = [], "/api/data?limit=7", 0
        while url and pages < 20:
            r = srv.get(url)
            seen += ids(r.json())
            url = links(r).get("next")
            pages += 1
        t.eq(seen, active, "following rel=next walks the whole list exactly once")
        r = srv.get(links(srv.get("/api/data?limit=7")).get("last", "/none"))
        t.eq(ids(r.json()), active[(len(active) - 1) // 7 * 7:], "rel=last is the last page")
        t.ok("next" not in links(r), "the last page has no rel=next", r.header("link"))

    with t.step("paging with include_inactive"):
        seen, url, pages = [], "/api/data?include_inactive=1&limit=7", 0
        while url and pages < 20:
            r = srv.get(url)
            seen += ids(r.json())
            url = links(r).get("next")
            pages += 1
        t.eq(seen, everything, "rel=next links keep include_inactive=1 (the walk covers every listing)")
        r = srv.get("/api/data?include_inactive=1&limit=7")
        t.eq(r.header("x-total-count"), str(len(everything)),
             "include_inactive=1&limit=7 X-Total-Count counts removed listings")

    with t.step("limit edge cases"):
        r = srv.get("/api/data?limit=1000000000")
        t.eq(r.status, 200, "limit=1000000000 is capped, not an error")
        t.eq(ids(r.json_or_none()), active, "limit=1000000000 on a small shop is everything")
        r = srv.get("/api/data?limit=99999999999999999999999")
        t.eq(r.status, 200, "a limit past 2^64 is capped too")
        r = srv.get("/api/data?limit=0")
        t.ok(r.status in (200, 400), "limit=0 is an empty page or a 400", "got %s" % r.status)
        if r.status == 200:
            t.eq(r.json_or_none(), [], "limit=0 is an empty array")
        for q in ("offset=1000&limit=5", "offset=1000", "offset=%d&limit=5" % len(active),
                  "offset=9223372036854775807&limit=1000000000"):
            r = srv.get("/api/data?" + q)
            t.eq((r.status, r.json_or_none()), (200, []), "%s is 200 []" % q)
            t.eq(r.header("x-total-count"), str(len(active)), "%s keeps X-Total-Count" % q)
        r = srv.get("/api/data?offset=3")
        t.eq(ids(r.json_or_none()), active[3:], "offset alone skips that many")

    with t.step("bad parameters"):
        for q, name in (("limit=-1", "limit"), ("limit=abc", "limit"),
                        ("limit=1.5", "limit"), ("limit=%2B5", "limit"), ("limit=5x", "limit"),
                        ("limit=%205", "limit"), ("offset=-1", "offset"), ("offset=abc", "offset"),
                        ("include_inactive=maybe", "include_inactive"), ("bogus=1", "bogus"),
                        ("limit=1&limit=2", "limit"), ("limit=%00", "limit"),
                        ("limit=%zz", "limit")):
            r = srv.get("/api/data?" + q)
            t.json_error(r, 400, "?%s" % q, [name])
        r = srv.get("/api/data/5?bogus=1")
        t.json_error(r, 400, "/api/data/5?bogus=1", ["bogus"])
        q = "&".join("p%d=%d" % (i, i) for i in range(40))
        t.json_error(srv.get("/api/data?" + q), range(400, 500), "40 query parameters")
        q = "&".join("limit%d=1" % i for i in range(40)) + "&limit=abc"
        t.json_error(srv.get("/api/data?" + q), range(400, 500), "40 parameters, then a bad one")
        r = srv.get("/api/data?limit=" + "9" * 5000)
        t.ok(r.status == 200 or 400 <= r.status < 500, "a 5 KB limit value: capped or 4xx",
             "got %s" % r.status)
        alive("bad parameters")

    with t.step("hostile query strings"):
        # (path, acceptable statuses, a name the error must carry)
        cases = [
            ("/api/data?limit", (200,), None),            # a name without "=":
            ("/api/data?offset", (200,), None),           # not given, as limit=
            ("/api/data?limit=&offset=", (200,), None),
            ("/api/data?bogus", (400,), "bogus"),
            ("/api/data?include_inactive", (200, 400), None),
            ("/api/data/1005?x", (400,), "x"),
            ("/healthz?x", (200, 400), None),
            ("/metrics?x", (200, 400), None),
            ("/api/data?limit=5&&&&offset=1&", (200,), None),
            ("/api/data?=5", (400,), None),
            ("/api/data?&", (200,), None),
            ("/api/data?%00=1", (400,), None),
            ("/api/data?limit=1%26offset=2", (400,), "limit"),
            ("/api/data?" + "a" * 5000 + "=1", (400, 414), None),
            ("/api/data?limit=" + "%41" * 2000, (400, 414), None),
            ("/api/data?limit=" + "%41" * 300, (400,), "limit"),
        ]
        for path, statuses, name in cases:
            label = "GET %s" % (path if len(path) < 60 else path[:40] + "...")
            try:
                r = srv.get(path)
            except Exception as e:  # a dead worker drops the connection
                t.ok(False, "%s: an answer" % label, "%s: %s" % (type(e).__name__, e))
                continue
            t.ok(r.status in statuses, "%s: status in %s" % (label, statuses),
                 "got %s %s" % (r.status, r.text[:200]))
            if r.status >= 400:
                t.json_error(r, r.status, label, [name] if name and r.status == 400 else None)
            elif not path.startswith("/metrics"):
                t.ok(r.json_or_none() is not None, "%s: a JSON answer" % label)
            alive(label)
        t.no_crash(srv, "no worker died from hostile query strings")

    with t.step("fuzzed queries and ids"):
        rnd = random.Random(20240101)
        atoms = ["limit", "offset", "include_inactive", "=", "=", "&", "%", "%0", "%00", "%zz",
                 "+", "1", "-1", "0", "9" * 25, "a", "%C3%A9", "%FF", "'", '"', ";", "%26", "%3D",
                 "/", "..", "x" * 100, "%20", "%23", "%2F", "%0A", "\\"]
        failures = []
        for _ in range(300):
            tail = "".join(rnd.choice(atoms) for _ in range(rnd.randint(1, 8)))
            tail = tail.replace("\\", "%5C")
            path = rnd.choice(["/api/data?", "/api/data/1005?", "/api/data/", "/healthz?"]) + tail
            try:
                r = srv.get(path, timeout=5)
            except Exception as e:
                failures.append("%s -> %s" % (path, type(e).__name__))
                continue
            body = r.json_or_none()
            if r.status >= 500 or body is None or (r.status >= 400 and not (
                    isinstance(body, dict) and "error" in body)):
                failures.append("%s -> %s %s" % (path, r.status, r.text[:80]))
        t.eq(failures, [], "300 fuzzed requests: each gets a JSON answer below 500")
        alive("fuzzed requests")
        t.no_crash(srv, "no worker died from fuzzed requests")

    # -- hostile ids ---------------------------------------------------------
    with t.step("hostile ids"):
        hostile = ["%00", "1%00", "%001", '"', "%22", "1%22", "%22%3B%20DROP%20TABLE%20listings%3B",
                   "1%20OR%201=1", "1'", "1%27%20OR%20%271%27=%271",
                   "a" * 5000, "1" * 5000, "%C3%A9", "1%C3%A9", "%E2%80%8B1", "%FF%FE",
                   "-1", "0", "00", "+1", "1.0", "1e3", "0x10", " 1".replace(" ", "%20"),
                   "99999999999999999999", "9223372036854775808", "18446744073709551617",
                   "%2e%2e", "..%2f..%2fetc%2fpasswd", "%25", "%", "%4", "abc", "null"]
        for h in hostile:
            r = srv.get("/api/data/" + h)
            label = "id %s" % (h if len(h) < 40 else "%s... (%d bytes)" % (h[:10], len(h)))
            t.json_error(r, range(400, 500), label)
            if h in ("abc", "-1", "1.0", "99999999999999999999", "%C3%A9"):
                t.eq((r.status, r.json_or_none()), (404, {"error": "Listing not found"}),
                     "%s: no such listing, as the contract words it" % label)
            t.eq(srv.get("/healthz").status, 200, "%s: /healthz still 200" % label)
        # Raw UTF-8 and raw control bytes in the path, as no client library sends them.
        for raw_path in (b"/api/data/\xc3\xa9", b"/api/data/1\x01", b"/api/data/\xff",
                         b"/api/data/1\t2"):
            buf = srv.raw(b"GET " + raw_path + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            label = "raw path %r" % raw_path
            try:
                r = parse_response(buf)
                t.json_error(r, range(400, 500), label)
            except ValueError as e:
                t.ok(False, "%s: a parsable HTTP answer" % label, str(e))
            alive(label)
        t.no_crash(srv, "no worker died from hostile ids")

    # -- request heads -------------------------------------------------------
    with t.step("request head over the limit"):
        big = b"GET /api/data/1005 HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n"
        buf = srv.raw(big)
        try:
            r = parse_response(buf)
            t.json_error(r, 431, "a 20 KB header")
        except ValueError as e:
            t.ok(False, "a 20 KB header: an HTTP answer (431 JSON)", "%s; got %r" % (e, buf[:200]))
        alive("a 20 KB header")
        buf = srv.raw(b"GET /api/data/" + b"1" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        try:
            r = parse_response(buf)
            t.json_error(r, range(400, 500), "a 20 KB request line")
        except ValueError as e:
            t.ok(False, "a 20 KB request line: an HTTP answer (4xx JSON)", "%s; got %r" % (e, buf[:200]))
        alive("a 20 KB request line")
        many = b"".join(b"X-H%d: v\r\n" % i for i in range(200))
        buf = srv.raw(b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + many + b"Connection: close\r\n\r\n")
        t.ok(buf.startswith(b"HTTP/1.1 "), "200 small headers (under the limit): an HTTP answer",
             repr(buf[:100]))
        for junk in (b"\r\n\r\n", b"GARBAGE\r\n\r\n", b"GET\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n",
                     b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64):
            srv.raw(junk, timeout=1)
        alive("junk requests")
        t.no_crash(srv, "no worker died from oversized or junk request heads")

    # -- methods, unknown paths ------------------------------------------------
    with t.step("wrong methods"):
        for path in ("/api/data", "/api/data/1005", "/healthz", "/metrics"):
            for method, body in (("POST", b""), ("DELETE", None), ("PUT", b"{}"), ("PATCH", b"{}")):
                hdrs = {"Content-Type": "application/json"} if body else {}
                if body is not None:
                    hdrs["Content-Length"] = str(len(body))
                r = srv.request(method, path, headers=hdrs, body=body)
                label = "%s %s" % (method, path)
                t.json_error(r, 405, label)
                t.ok("GET" in (r.header("allow") or ""), "%s: Allow names GET" % label,
                     "allow %r" % r.header("allow"))
        alive("wrong methods")

    with t.step("unknown /api paths"):
        for path in ("/api/whatever", "/api/", "/api", "/api/data/1005/extra", "/api/data/",
                     "/api/data//1005", "/api/DATA"):
            t.json_error(srv.get(path), 404, "GET %s" % path)

    # -- HEAD, ETag --------------------------------------------------------------
    with t.step("HEAD"):
        for path in ("/api/data", "/api/data/1005", "/api/data?limit=5", "/healthz"):
            buf = srv.raw(b"HEAD " + path.encode() + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                          timeout=3)
            try:
                r = parse_response(buf, head_only=True)
                t.eq(r.status, 200, "HEAD %s is 200" % path)
                t.eq(r.body, b"", "HEAD %s has no body" % path)
                t.match(r.header("content-type"), "json", "HEAD %s has the content type" % path)
            except ValueError as e:
                t.ok(False, "HEAD %s: an HTTP answer" % path, str(e))

    with t.step("ETag and If-None-Match"):
        for path in ("/api/data", "/api/data?limit=5", "/api/data/1005", "/api/data/3001"):
            r = srv.get(path)
            tag = r.header("etag")
            t.ok(tag is not None and tag.startswith('"') or (tag or "").startswith('W/"'),
                 "%s: a quoted ETag" % path, "etag %r" % tag)
            for inm in (tag, "W/%s" % tag if tag and not tag.startswith("W/") else tag,
                        '"nope", %s' % tag):
                r2 = srv.get(path, headers={"If-None-Match": inm})
                t.eq(r2.status, 304, "%s: If-None-Match %s is 304" % (path, inm))
                t.eq(r2.body, b"", "%s: 304 has no body" % path)
                t.eq(r2.header("etag"), tag, "%s: 304 carries the ETag" % path)
            r2 = srv.get(path, headers={"If-None-Match": '"something-else"'})
            t.eq(r2.status, 200, "%s: a different If-None-Match is 200" % path)
        r = srv.get("/api/data/424242", headers={"If-None-Match": "*"})
        t.ok(r.status in (404, 412, 304) and r.status != 200, "If-None-Match * on a 404 is not 200",
             "got %s" % r.status)

    with t.step("ETag moves when data changes"):
        workers = srv.per_worker()
        t.eq(len(workers), 2, "a connection on each of the 2 workers")
        # Warm every worker's caches at the current version.
        warm = {pid: (w.get("/api/data").header("etag"), w.get("/api/data?limit=3").status,
                      w.get("/api/data/1005").status) for pid, w in workers.items()}
        before = srv.get("/api/data")
        old_tag = before.header("etag")
        t.ok(all(v[0] == old_tag for v in warm.values()), "every worker sends the same ETag",
             str(warm))
        old_item_tag = srv.get("/api/data/1005").header("etag")
        newest = listing(777, posted="2030-01-01T00:00:00Z", price_value=4242)
        srv.seed([newest])
        for pid, w in sorted(workers.items()):
            r = w.get("/api/data", headers={"If-None-Match": old_tag})
            t.eq(r.status, 200, "worker %d: the old ETag no longer matches" % pid)
            t.ok(r.header("etag") not in (None, old_tag), "worker %d: a new ETag" % pid,
                 "etag %r" % r.header("etag"))
            t.eq(ids(r.json_or_none() or [])[:1], ["777"], "worker %d: the new listing is first" % pid)
            t.eq(ids(w.get("/api/data?limit=3").json_or_none() or [])[:1], ["777"],
                 "worker %d: its cached page is not served stale" % pid)
            t.eq(w.get("/api/data/777").status, 200, "worker %d: the new listing by id" % pid)
            r = w.get("/api/data", headers={"If-None-Match": r.header("etag") or "-"})
            t.eq(r.status, 304, "worker %d: the new ETag matches" % pid)
        tags = {w.get("/api/data").header("etag") for w in workers.values()}
        t.eq(len(tags), 1, "both workers agree on the new ETag")
        for w in workers.values():
            w.close()
        # Several fresh connections, so both workers answer at least once.
        results = [srv.get("/api/data", headers={"If-None-Match": old_tag}) for _ in range(8)]
        t.ok(all(r.status == 200 for r in results),
             "after an insert, the old ETag no longer matches on any worker",
             str([r.status for r in results]))
        t.ok(all(r.header("etag") and r.header("etag") != old_tag for r in results),
             "after an insert, the ETag changed on every worker",
             str([r.header("etag") for r in results]))
        t.ok(all(ids(r.json_or_none() or [None])[:1] == ["777"] for r in results),
             "after an insert, the new listing is first on every worker")
        t.ok(all(r.header("x-total-count") == str(len(active) + 1) for r in results),
             "after an insert, X-Total-Count moved on every worker")
        items = [srv.get("/api/data/777") for _ in range(6)]
        t.ok(all(r.status == 200 for r in items), "the new listing is served by id on every worker")
        t.ok(srv.get("/api/data/1005").header("etag") != old_item_tag,
             "a listing's ETag changes with the data version")
        pages = [srv.get("/api/data?limit=3") for _ in range(6)]
        t.ok(all(ids(p.json())[0] == "777" for p in pages),
             "cached pages are not served stale on any worker")
        # Deleting and updating rows move it too.
        tag1 = srv.get("/api/data").header("etag")
        with srv.db() as c:
            c.execute("UPDATE listings SET price_value = 4343 WHERE listing_id = 777")
        rs = [srv.get("/api/data/777") for _ in range(6)]
        t.ok(all(re.search(r'"price_value":\s*43\.43[,}]', r.text) for r in rs),
             "an update is visible on every worker")
        t.ok(srv.get("/api/data").header("etag") != tag1, "an update moves the ETag")
        with srv.db() as c:
            c.execute("DELETE FROM listings WHERE listing_id = 777")
        rs = [srv.get("/api/data/777") for _ in range(6)]
        t.ok(all(r.status == 404 for r in rs), "a deleted listing is gone on every worker")
        t.eq(ids(srv.get("/api/data").json()), active, "after the delete the list is as before")

    # -- the streamed dump ------------------------------------------------------
    with t.step("streamed full dump"):
        many = [listing(5000000000 + i, posted="2022-%02d-%02dT%02d:%02d:00Z" % (
            1 + i % 12, 1 + i % 28, i % 24, i % 60), price_value=i,
            comments="x" * (i % 300)) for i in range(3000)]
        srv.seed(many)
        rows_all = rows + many
        active_all = expected_order(rows_all)
        buf = srv.raw(b"GET /api/data HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", timeout=30)
        r = parse_response(buf)
        t.eq(r.status, 200, "full dump of %d listings is 200" % len(active_all))
        t.eq((r.header("transfer-encoding") or "").lower(), "chunked", "the full dump is chunked")
        t.ok(r.chunks is not None and len(r.chunks) > 1, "the dump spans several chunks",
             "chunks %r" % (r.chunks[:10] if r.chunks else r.chunks))
        t.eq(r.header("content-length"), None, "a chunked dump has no Content-Length")
        body = r.json()
        t.eq(ids(body), active_all, "the dump is valid JSON with every active listing, in order")
        t.eq(r.header("x-total-count"), str(len(active_all)), "the dump's X-Total-Count")
        # HTTP/1.0 has no chunks: the body ends when the connection closes.
        buf = srv.raw(b"GET /api/data HTTP/1.0\r\nHost: x\r\n\r\n", timeout=30)
        r = parse_response(buf)
        t.eq(r.status, 200, "HTTP/1.0 full dump is 200")
        t.ok("chunked" not in (r.header("transfer-encoding") or ""), "HTTP/1.0 dump is not chunked")
        try:
            t.eq(ids(json.loads(r.body)), active_all, "HTTP/1.0 dump is the whole JSON array")
        except ValueError as e:
            t.ok(False, "HTTP/1.0 dump is valid JSON", "%s; %d bytes" % (e, len(r.body)))
        # Keep-alive: a request after a stream on the same connection.
        conn = http.client.HTTPConnection(srv.host, srv.port, timeout=30)
        conn.request("GET", "/api/data")
        first = conn.getresponse().read()
        conn.request("GET", "/api/data/1005")
        second = conn.getresponse()
        t.ok(len(json.loads(first)) == len(active_all) and second.status == 200 and
             json.loads(second.read())["listing_id"] == "1005",
             "the connection serves another request after a streamed dump")
        conn.close()
        r = srv.get("/api/data?include_inactive=1", timeout=30)
        t.eq(len(r.json()), len(rows_all), "include_inactive=1 dump has every listing")
        # Clients that leave mid-stream.
        for _ in range(5):
            s = socket.create_connection((srv.host, srv.port), timeout=10)
            s.sendall(b"GET /api/data HTTP/1.1\r\nHost: x\r\n\r\n")
            s.recv(1000)
            s.close()
        alive("clients leaving mid-stream")
        t.eq(len(srv.get("/api/data", timeout=30).json()), len(active_all),
             "a full dump still works after clients left mid-stream")
        # Clients that read nothing only hold themselves up.
        slow = []
        try:
            for _ in range(4):
                so = socket.socket()
                so.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                so.connect((srv.host, srv.port))
                so.sendall(b"GET /api/data HTTP/1.1\r\nHost: x\r\n\r\n")
                slow.append(so)
            time.sleep(0.3)
            t0 = time.monotonic()
            ok = srv.get("/healthz", timeout=5).status == 200 and \
                len(srv.get("/api/data", timeout=10).json()) == len(active_all)
            took = time.monotonic() - t0
            t.ok(ok and took < 5, "4 stalled dump readers do not hold up other requests",
                 "ok %s, took %.2fs" % (ok, took))
        finally:
            for so in slow:
                so.close()
        # Caps on a large shop.
        r = srv.get("/api/data?limit=1000000000", timeout=30)
        page = r.json_or_none() or []
        t.eq(r.status, 200, "limit=1000000000 on %d listings is 200" % len(active_all))
        t.ok(0 < len(page) <= len(active_all) and ids(page) == active_all[:len(page)],
             "limit=1000000000: a prefix of the list", "len %d" % len(page))
        t.eq(r.header("x-total-count"), str(len(active_all)), "capped page keeps X-Total-Count")
        if len(page) < len(active_all):
            t.ok("next" in links(r), "a capped page links to the next one", r.header("link"))
        r = srv.get("/api/data?limit=50&offset=%d" % (len(active_all) - 10))
        t.eq(ids(r.json()), active_all[-10:], "a deep offset gives the last ten")
        t.ok("next" not in links(r), "no rel=next on the deep last page", r.header("link"))
        t.no_crash(srv, "no worker died while streaming")


def _t(v, n=300):
    s = repr(v)
    return s if len(s) <= n else s[:n] + "..."


if __name__ == "__main__":
    TAP.run(main)
