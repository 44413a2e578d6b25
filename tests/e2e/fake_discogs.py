#!/usr/bin/env python3
"""
A fake of the Discogs API for the sync tests.  Standard library only.

It serves the two calls Freakinbeats makes, shaped like the real thing:

    GET /users/{seller}/inventory?status=For%20Sale&page=P&per_page=100
        &sort=listed&sort_order=desc
    GET /releases/{id}

with real pagination, the `X-Discogs-Ratelimit`, `-Used` and `-Remaining`
headers from a moving window of requests, token and User-Agent checks, and
Discogs' own error bodies.  Tests script faults and inspect every request.

As a module (the fake runs in threads of the test process):

    from fake_discogs import FakeDiscogs
    fake = FakeDiscogs(listings=250)        # token "test-token", seller "shop"
    fake.start()
    fake.url                                # http://127.0.0.1:PORT
    fake.inject("inventory", "503", count=2, page=2)
    fake.reprice(fake.ids()[0], 15.0)
    ...
    fake.log                                # every request, in arrival order
    fake.stop()

Standalone, for manual runs:

    python3 tests/e2e/fake_discogs.py --port 8099 --listings 250
    curl -H 'Authorization: Discogs token=test-token' -A me \\
        'http://127.0.0.1:8099/users/shop/inventory?page=2&per_page=100'
    curl -d '{"op": "inject", "kind": "inventory", "fault": "429", "retry_after": 2}' \\
        http://127.0.0.1:8099/_control
    curl http://127.0.0.1:8099/_control/log

The control API: methods of FakeDiscogs, and the same operations over HTTP
as `POST /_control {"op": NAME, ARG: VALUE, ...}` with the arguments
named as below (answer: {"ok": true, "result": ...}).  `GET /_control`
shows the state, `GET /_control/log?since=N` the log from entry N,
`GET /_control/listings` the inventory.

    make_listing(i)              generated listing number i: deterministic
                                 (seeded), newer as i grows, id > 2^32
                                 (module functions make_listing(i, seed)
                                 and make_release(rid, seed) too)
    set_listings(listings)       replace the inventory: a count n
                                 (generated listings 0..n-1) or dicts
    listings()                   the inventory as served (newest first)
    ids()                        its listing ids, in that order
    get(lid)                     one listing (a copy)
    add_listing(listing=None)    add one (default: the next generated one,
                                 newest of all); returns it
    add_listings(n)              add n generated ones; returns them
    remove(ids)                  take listings out (sold); returns them
    reprice(lid, value, currency=None)
                                 change price.value (and original_price)
    update(lid, **fields)        set top-level fields of a listing
    set_release(rid, detail)     override GET /releases/{rid}
    set_missing_releases(ids)    those releases answer 404
    set_token(token), set_seller(seller)
    set_delay(kind, seconds)     delay every answer of a kind (0: none)
    set_rate_limit(limit, window=None, enforce=None)
                                 enforce: answer 429 past the limit
    inject(kind, fault, count=1, page=None, release_id=None, **opts)
                                 the next `count` matching requests get
                                 the fault (count=None: all of them);
                                 returns a fault id
    faults(), clear_faults()     pending faults
    clear_log(), requests(kind=None, since=0.0)
    reset()                      faults, delays, log, token, seller and
                                 rate limit back to how they started

kind is "inventory", "release" or "any".  Faults (FAULTS):

    429                 429 with Retry-After: opts retry_after (default 1)
    429-no-retry-after  429 without Retry-After
    500, 502, 503       server errors (500 and 503 JSON, 502 an HTML page)
    html-500            500 with an HTML error page
    timeout             answer only after opts delay seconds (default
                        timeout_delay, 35 s: past the client's timeout)
    slow                answer after opts delay seconds (default 2)
    drop                close the connection without answering
    reset               close it with a TCP reset
    truncated           full Content-Length, then half the body and close
    truncated-json      Content-Length of the cut body: a complete HTTP
                        answer whose JSON stops in the middle
    invalid-json        a complete 200 whose body is not JSON
    bad-shape           valid JSON without "listings"/"pagination"
    empty-page          a 200 page with no listings while pagination says
                        there are some
    duplicate-id        a 200 page whose second listing carries the first
                        listing's id (one listing id twice in the page)
    shift               before answering, opts n (default 3) new listings
                        appear at the top, so later pages shift down
    sold                before answering, opts n (default 3) listings at
                        the top are sold, so later pages shift up
    pages-change        pagination.pages and .items differ from the truth
                        (opts pages, items; default one page more)
    401                 the token is refused
    403                 forbidden
    404                 the seller (or release) does not exist

Every request is logged in `fake.log` as a Request, which unpacks as
(t, method, path, query, headers, status): t is time.monotonic() on
arrival, query a dict of first values, headers a dict with lower-case
names, status the answer's status (0 when none was sent, None while the
request is in progress).  It also carries .kind, .page, .release_id,
.fault and .done (monotonic time the answer was sent).  Control requests
are not logged and do not count against the rate limit.  Over HTTP the
log gives t relative to the first request and mono, time.monotonic() of
the fake's process (CLOCK_MONOTONIC: comparable across processes).
"""

import argparse
import collections
import datetime
import http.server
import itertools
import json
import random
import socket
import struct
import sys
import threading
import time
import urllib.parse

TOKEN = "test-token"
SELLER = "shop"
PER_PAGE_DEFAULT = 50          # what Discogs uses when per_page is absent
PER_PAGE_MAX = 100

FAULTS = (
    "429", "429-no-retry-after", "500", "502", "503", "html-500", "timeout", "slow",
    "drop", "reset", "truncated", "truncated-json", "invalid-json", "bad-shape",
    "empty-page", "duplicate-id", "shift", "sold", "pages-change", "401", "403", "404",
)
KINDS = ("inventory", "release", "any")

MSG_AUTH = "You must authenticate to access this resource."
MSG_USER = "User does not exist or may have been deleted."
MSG_RELEASE = "Release not found."
MSG_RATE = "You are making requests too quickly."
MSG_UA = "A User-Agent header is required."

HTML_500 = (b"<html>\r\n<head><title>500 Internal Server Error</title></head>\r\n<body>\r\n"
            b"<center><h1>500 Internal Server Error</h1></center>\r\n<hr><center>nginx"
            b"</center>\r\n</body>\r\n</html>\r\n")
HTML_502 = (b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
            b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>cloudflare"
            b"</center>\r\n</body>\r\n</html>\r\n")

# --------------------------------------------------------------------------
# deterministic data
# --------------------------------------------------------------------------

ID_BASE = 4300000000           # listing ids are above 2^32, as on Discogs
ID_STEP = 9973
RELEASE_BASE = 1000000
EPOCH = datetime.datetime(2024, 3, 1, 18, 0, 5, tzinfo=datetime.timezone.utc)

ARTISTS = [
    "Aphex Twin", "Björk", "Sigur Rós", "坂本龍一", "Prince (2)", "Cluster & Eno",
    "The Durutti Column", "Moodymann", "Alice Coltrane", "Fela Kuti", "Can",
    "Drexciya", "Nina Simone", "Kraftwerk", "Boards Of Canada", "Sun Ra",
    "Les Rallizes Dénudés", "Basic Channel", "Beverly Glenn-Copeland", "Various",
]
WORDS = [
    "Selected", "Ambient", "Works", "Night", "Music", "For", "Airports", "Blue",
    "Motion", "Lost", "Tapes", "Journey", "In", "Satchidananda", "Remixes", "Dub",
    "Séance", "Heat", "Océan", "Red", "Garden", "Signals", "Moon", "Exit",
]
LABELS = [
    "Warp Records", "One Little Indian", "Smalltown Supersound", "Midi Inc.",
    "Paisley Park", "Sky", "Factory Benelux", "KDJ", "Impulse!", "Knitting Factory",
    "Spoon Records", "Underground Resistance", "Philips", "Kling Klang", "Not On Label",
]
FORMATS = [
    ('Vinyl, 12", 33 ⅓ RPM', "Vinyl", ['12"', "33 ⅓ RPM"]),
    ("Vinyl, LP, Album", "Vinyl", ["LP", "Album"]),
    ('Vinyl, 7", 45 RPM, Single', "Vinyl", ['7"', "45 RPM", "Single"]),
    ("Vinyl, LP, Album, Reissue", "Vinyl", ["LP", "Album", "Reissue"]),
    ("CD, Album", "CD", ["Album"]),
    ("Cassette, Album", "Cassette", ["Album"]),
    ("Vinyl, 2×LP, Compilation", "Vinyl", ["LP", "Compilation"]),
]
GENRES = [
    (["Electronic"], ["Ambient", "IDM"]),
    (["Electronic", "Pop"], ["Synth-pop"]),
    (["Jazz"], ["Spiritual Jazz", "Free Jazz"]),
    (["Funk / Soul"], ["Afrobeat"]),
    (["Rock"], ["Krautrock", "Experimental"]),
    (["Electronic"], ["Deep House", "Techno"]),
    (["Rock", "Electronic"], ["Post-Punk"]),
    (["Classical", "Electronic"], ["Modern Classical"]),
]
COUNTRIES = ["UK", "US", "Japan", "Germany", "Iceland", "Nigeria", "France", "Europe"]
CONDITIONS = [
    "Mint (M)", "Near Mint (NM or M-)", "Very Good Plus (VG+)", "Very Good (VG)",
    "Good Plus (G+)", "Good (G)", "Fair (F)", "Poor (P)",
]
SLEEVES = CONDITIONS + ["Generic", "Not Graded", "No Cover"]
COMMENTS = [
    "Plays great, light marks.", "", "Shrink still on. Hype sticker.",
    'Corner ding, "Promo" stamp on back.', "Nagaoka inner sleeve\nCleaned on a VPI.",
    "Japanese press with obi — 帯付き", "Seam split 3 cm", "Tab\tseparated notes",
]
# Prices in cents: edge cases first, so small shops still see them.
PRICE_CENTS = [1250, 109, 10, 6000, 799, 123456, 1, 2000, 1999, 4550, 35, 999]


def _rng(*parts):
    """A Random seeded by integers, the same on every run and platform."""
    seed = 0
    for p in parts:
        seed = (seed * 1000003 + int(p)) & 0xFFFFFFFFFFFF
    return random.Random(seed)


def _money(cents):
    """Cents as the float Discogs sends (12.5, 0.1, 60.0)."""
    return cents / 100.0


def _formatted(cents, currency):
    sym = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}.get(currency, currency + " ")
    return "%s%d.%02d" % (sym, cents // 100, cents % 100)


def _iso(dt):
    """Discogs' style: local time with the seller's UTC offset, no fraction
    (Pacific: -08:00 in winter, -07:00 otherwise, close enough to DST)."""
    off = -8 if dt.month in (11, 12, 1, 2) else -7
    local = dt.astimezone(datetime.timezone(datetime.timedelta(hours=off)))
    return local.strftime("%Y-%m-%dT%H:%M:%S%z")[:-2] + ":" + local.strftime("%z")[-2:]


def parse_posted(text):
    """The instant of a `posted` value, as a UTC-aware datetime."""
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def listing_id(i):
    return ID_BASE + i * ID_STEP


def release_id_for(i):
    """Every 25th listing is a second copy of the previous one's release."""
    if i % 25 == 24:
        i -= 1
    return RELEASE_BASE + i * 31


def release_core(rid, seed=1):
    """What a release is (artist, title, year, ...), from its id alone."""
    r = _rng(seed, 7, rid)
    artist = r.choice(ARTISTS)
    title = " ".join(r.choice(WORDS) for _ in range(r.randint(1, 4)))
    fmt = r.choice(FORMATS)
    genres, styles = r.choice(GENRES)
    year = r.choice([0] + list(range(1968, 2025)))   # 0: Discogs does not know
    label = r.choice(LABELS)
    catno = "none" if label == "Not On Label" else "%s-%03d" % (
        "".join(w[0] for w in label.split()).upper(), r.randint(1, 999))
    barcode = None if r.random() < 0.2 else "".join(str(r.randint(0, 9)) for _ in range(12))
    master = None if r.random() < 0.25 else 10000 + r.randint(0, 999999)
    return {
        "id": rid, "artist": artist, "title": title, "format": fmt, "genres": genres,
        "styles": styles, "year": year, "label": label, "catno": catno,
        "country": r.choice(COUNTRIES), "barcode": barcode, "master_id": master,
        "have": r.randint(0, 5000), "want": r.randint(0, 5000),
    }


def _images(rid):
    return [{
        "type": "primary",
        "uri": "https://i.discogs.com/fake/R-%d-primary.jpg" % rid,
        "resource_url": "https://i.discogs.com/fake/R-%d-primary.jpg" % rid,
        "uri150": "https://i.discogs.com/fake/R-150-%d-primary.jpg" % rid,
        "width": 600, "height": 600,
    }]


def make_release(rid, seed=1, api="https://api.discogs.com"):
    """GET /releases/{rid} as Discogs answers it."""
    c = release_core(rid, seed)
    fmt_text, fmt_name, descriptions = c["format"]
    rel = {
        "id": rid,
        "status": "Accepted",
        "year": c["year"],
        "resource_url": "%s/releases/%d" % (api, rid),
        "uri": "https://www.discogs.com/release/%d" % rid,
        "artists": [{"name": c["artist"], "anv": "", "join": "", "role": "", "tracks": "",
                     "id": 100 + rid % 9999,
                     "resource_url": "%s/artists/%d" % (api, 100 + rid % 9999)}],
        "artists_sort": c["artist"],
        "labels": [{"name": c["label"], "catno": c["catno"], "entity_type": "1",
                    "entity_type_name": "Label", "id": 500 + rid % 777,
                    "resource_url": "%s/labels/%d" % (api, 500 + rid % 777)}],
        "series": [],
        "companies": [],
        "formats": [{"name": fmt_name, "qty": "2" if "2×" in fmt_text else "1",
                     "descriptions": descriptions}],
        "data_quality": "Needs Vote",
        "community": {
            "have": c["have"], "want": c["want"],
            "rating": {"count": 12, "average": 4.25},
            "submitter": {"username": "someone",
                          "resource_url": "%s/users/someone" % api},
            "contributors": [], "data_quality": "Needs Vote", "status": "Accepted",
        },
        "format_quantity": 2 if "2×" in fmt_text else 1,
        "date_added": "2010-05-11T08:15:53-07:00",
        "date_changed": "2023-01-02T03:04:05-08:00",
        "num_for_sale": 7,
        "lowest_price": 9.99,
        "title": c["title"],
        "country": c["country"],
        "released": str(c["year"]) if c["year"] else "",
        "notes": "Made in the fake pressing plant.",
        "released_formatted": str(c["year"]) if c["year"] else "",
        "identifiers": ([{"type": "Barcode", "value": c["barcode"], "description": "Text"}]
                        if c["barcode"] else []) +
                       [{"type": "Matrix / Runout", "value": "FAKE-%d-A" % rid}],
        "videos": [],
        "genres": list(c["genres"]),
        "styles": list(c["styles"]),
        "tracklist": [{"position": "A1", "type_": "track", "title": "Side A", "duration": "4:20"},
                      {"position": "B1", "type_": "track", "title": "Side B", "duration": ""}],
        "extraartists": [],
        "images": _images(rid),
        "thumb": "https://i.discogs.com/fake/R-150-%d.jpg" % rid,
        "estimated_weight": 230,
        "blocked_from_sale": False,
    }
    if c["master_id"]:
        rel["master_id"] = c["master_id"]
        rel["master_url"] = "%s/masters/%d" % (api, c["master_id"])
    return rel


def make_listing(i, seed=1, seller=SELLER, api="https://api.discogs.com", currency="USD"):
    """Listing number i of the fake shop: deterministic, newer as i grows
    (37 minutes apart), id above 2^32.  Shaped like one entry of
    /users/{seller}/inventory seen by its owner."""
    r = _rng(seed, 11, i)
    lid = listing_id(i)
    rid = release_id_for(i)
    c = release_core(rid, seed)
    fmt_text = c["format"][0]
    cents = PRICE_CENTS[i] if i < len(PRICE_CENTS) else r.choice(
        PRICE_CENTS + [r.randint(100, 20000)])
    ship = r.choice([500, 0, 350, 1299])
    posted = EPOCH + datetime.timedelta(minutes=37 * i, seconds=r.randint(0, 59))
    return {
        "id": lid,
        "resource_url": "%s/marketplace/listings/%d" % (api, lid),
        "uri": "https://www.discogs.com/sell/item/%d" % lid,
        "status": "For Sale",
        "condition": r.choice(CONDITIONS[:6]),
        "sleeve_condition": r.choice(SLEEVES),
        "comments": COMMENTS[i % len(COMMENTS)],
        "ships_from": "United States",
        "posted": _iso(posted),
        "allow_offers": r.random() < 0.5,
        "offer_submitted": False,
        "audio": False,
        "price": {"value": _money(cents), "currency": currency},
        "original_price": {"curr_abbr": currency, "curr_id": 1,
                           "formatted": _formatted(cents, currency), "value": _money(cents)},
        "shipping_price": {"value": _money(ship), "currency": currency},
        "original_shipping_price": {"curr_abbr": currency, "curr_id": 1,
                                    "formatted": _formatted(ship, currency),
                                    "value": _money(ship)},
        "seller": {
            "username": seller, "id": 4242, "uid": 4242,
            "resource_url": "%s/users/%s" % (api, seller),
            "url": "%s/users/%s" % (api, seller),
            "html_url": "https://www.discogs.com/user/%s" % seller,
            "avatar_url": "https://i.discogs.com/fake/avatar.jpg",
            "stats": {"rating": "100.0", "stars": 5.0, "total": 321},
            "min_order_total": 0.0, "payment": "PayPal Commerce", "shipping": "Ships Mondays.",
        },
        "release": {
            "id": rid,
            "description": "%s - %s (%s)" % (c["artist"], c["title"], fmt_text),
            "resource_url": "%s/releases/%d" % (api, rid),
            "thumbnail": "https://i.discogs.com/fake/R-150-%d.jpg" % rid,
            "images": _images(rid),
            "artist": c["artist"],
            "format": fmt_text,
            "title": c["title"],
            "year": c["year"],
            "label": c["label"],
            "catalog_number": c["catno"],
            "stats": {"community": {"in_wantlist": c["want"], "in_collection": c["have"]}},
        },
        "weight": r.choice([230, 180.0, 460, 0]),
        "format_quantity": 2 if "2×" in fmt_text else 1,
        "external_id": None if i % 3 == 0 else "EXT-%05d" % i,
        "location": r.choice(["Crate A", "Crate B", "Wall", "", "Back room 3"]),
        "in_cart": False,
    }


def _index_of(lid):
    """The generator index of a generated listing id, or None."""
    if lid >= ID_BASE and (lid - ID_BASE) % ID_STEP == 0:
        return (lid - ID_BASE) // ID_STEP
    return None


def _sort_key(listing):
    try:
        t = parse_posted(listing["posted"]).timestamp()
    except (KeyError, TypeError, ValueError):
        t = float("-inf")
    return (t, listing.get("id", 0))


# --------------------------------------------------------------------------
# the log
# --------------------------------------------------------------------------

class Request:
    """One logged request; unpacks as (t, method, path, query, headers, status)."""
    __slots__ = ("t", "method", "path", "query", "headers", "status", "kind", "page",
                 "release_id", "fault", "done")

    def __init__(self, t, method, path, query, headers):
        self.t, self.method, self.path, self.query, self.headers = t, method, path, query, headers
        self.status = None
        self.kind = None
        self.page = None
        self.release_id = None
        self.fault = None
        self.done = None

    def __iter__(self):
        return iter((self.t, self.method, self.path, self.query, self.headers, self.status))

    def __getitem__(self, i):
        return tuple(self)[i]

    def __len__(self):
        return 6

    def as_dict(self, t0=0.0):
        return {"t": round(self.t - t0, 4), "mono": self.t, "method": self.method, "path": self.path,
                "query": self.query, "headers": self.headers, "status": self.status,
                "kind": self.kind, "page": self.page, "release_id": self.release_id,
                "fault": self.fault,
                "done": None if self.done is None else round(self.done - t0, 4)}

    def __repr__(self):
        return "<%s %s%s -> %s%s>" % (
            self.method, self.path,
            "?" + urllib.parse.urlencode(self.query) if self.query else "", self.status,
            " (%s)" % self.fault if self.fault else "")


class _Fault:
    _ids = itertools.count(1)

    def __init__(self, kind, fault, count, page, release_id, opts):
        if kind not in KINDS:
            raise ValueError("kind must be one of %s, not %r" % (", ".join(KINDS), kind))
        if fault not in FAULTS:
            raise ValueError("unknown fault %r (known: %s)" % (fault, ", ".join(FAULTS)))
        if count is not None and int(count) < 1:
            raise ValueError("count must be >= 1 or None (forever)")
        self.id = next(self._ids)
        self.kind, self.fault, self.page, self.opts = kind, fault, page, opts
        self.count = None if count is None else int(count)
        self.release_id = None if release_id is None else int(release_id)
        self.fired = 0

    def matches(self, kind, page, release_id):
        if self.kind != "any" and self.kind != kind:
            return False
        if self.page is not None and (kind != "inventory" or page != int(self.page)):
            return False
        if self.release_id is not None and release_id != self.release_id:
            return False
        return True

    def as_dict(self):
        return {"id": self.id, "kind": self.kind, "fault": self.fault, "count": self.count,
                "page": self.page, "release_id": self.release_id, "opts": self.opts,
                "fired": self.fired}


# --------------------------------------------------------------------------
# the fake
# --------------------------------------------------------------------------

class FakeDiscogs:
    def __init__(self, listings=0, token=TOKEN, seller=SELLER, host="127.0.0.1", port=0,
                 rate_limit=60, window=60.0, enforce_rate_limit=False, seed=1,
                 timeout_delay=35.0, missing_releases=(), currency="USD"):
        self.host, self.port = host, port
        self.seed = seed
        self.currency = currency
        self.timeout_delay = float(timeout_delay)
        self.log = []
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._httpd = None
        self._thread = None
        self._initial = (token, seller, rate_limit, float(window), bool(enforce_rate_limit))
        self.token, self.seller = token, seller
        self.rate_limit, self.window, self.enforce_rate_limit = rate_limit, float(window), \
            bool(enforce_rate_limit)
        self._window = collections.deque()
        self._faults = []
        self._delays = {}
        self._releases = {}
        self._missing = set(int(x) for x in missing_releases)
        self._listings = {}
        self._next_i = 0
        self.set_listings(listings)

    # -- life ----------------------------------------------------------------
    @property
    def url(self):
        return "http://%s:%d" % (self.host, self.port)

    @property
    def api(self):
        """The base URL the listings' resource_url values point at."""
        return self.url if self._httpd else "https://api.discogs.com"

    def start(self):
        fake = self

        class Handler(_Handler):
            pass
        Handler.fake = fake
        self._httpd = _Server((self.host, self.port), Handler)
        self.port = self._httpd.server_address[1]
        # resource_url values point at the fake once its port is known.
        with self._lock:
            for lid, l in list(self._listings.items()):
                self._listings[lid] = self._rebase(l)
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name="fake-discogs", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread:
            self._thread.join(5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _rebase(self, listing):
        text = json.dumps(listing, ensure_ascii=False)
        text = text.replace('"https://api.discogs.com/', '"%s/' % self.url)
        return json.loads(text)

    # -- inventory -----------------------------------------------------------
    def make_listing(self, i):
        l = make_listing(i, seed=self.seed, seller=self.seller, api="https://api.discogs.com",
                         currency=self.currency)
        return self._rebase(l) if self._httpd else l

    def set_listings(self, listings):
        """Replace the inventory: a count n (generated listings 0..n-1) or a
        list of listing dicts (or generator indexes)."""
        with self._lock:
            self._listings = {}
            if isinstance(listings, int):
                listings = range(listings)
            for l in listings:
                self._put(l)
            return len(self._listings)

    def _put(self, l):
        if isinstance(l, int):
            l = self.make_listing(l)
        l = json.loads(json.dumps(l))
        self._listings[int(l["id"])] = l
        i = _index_of(int(l["id"]))
        if i is not None:
            self._next_i = max(self._next_i, i + 1)
        return l

    def listings(self):
        """The inventory as served: newest posted first (copies)."""
        with self._lock:
            out = sorted(self._listings.values(), key=_sort_key, reverse=True)
            return json.loads(json.dumps(out))

    def ids(self):
        return [l["id"] for l in self.listings()]

    def get(self, lid):
        with self._lock:
            l = self._listings.get(int(lid))
            return None if l is None else json.loads(json.dumps(l))

    def add_listing(self, listing=None):
        """Add a listing (default: the next generated one, the newest of all)."""
        with self._lock:
            if listing is None:
                listing = self._next_i
            return self._put(listing)

    def add_listings(self, n):
        return [self.add_listing() for _ in range(int(n))]

    def remove(self, ids):
        """Take listings out of the inventory (sold); returns them."""
        if isinstance(ids, (int, str)):
            ids = [ids]
        with self._lock:
            return [self._listings.pop(int(x)) for x in ids if int(x) in self._listings]

    def reprice(self, lid, value, currency=None):
        with self._lock:
            l = self._listings[int(lid)]
            cur = currency or l["price"]["currency"]
            l["price"] = {"value": value, "currency": cur}
            cents = int(round(float(value) * 100))
            l["original_price"] = {"curr_abbr": cur, "curr_id": 1,
                                   "formatted": _formatted(cents, cur), "value": value}
            return json.loads(json.dumps(l))

    def update(self, lid, **fields):
        with self._lock:
            l = self._listings[int(lid)]
            l.update(json.loads(json.dumps(fields)))
            return json.loads(json.dumps(l))

    # -- releases ------------------------------------------------------------
    def release(self, rid):
        """GET /releases/{rid}, or None when it answers 404."""
        rid = int(rid)
        with self._lock:
            if rid in self._missing:
                return None
            if rid in self._releases:
                return json.loads(json.dumps(self._releases[rid]))
        return make_release(rid, self.seed, self.api)

    def set_release(self, rid, detail):
        with self._lock:
            self._releases[int(rid)] = detail

    def set_missing_releases(self, ids):
        with self._lock:
            self._missing = set(int(x) for x in ids)

    # -- behaviour -----------------------------------------------------------
    def set_token(self, token):
        with self._lock:
            self.token = token

    def set_seller(self, seller):
        with self._lock:
            self.seller = seller

    def set_delay(self, kind, seconds):
        """Delay every answer of a kind ("inventory", "release", "any")."""
        if kind not in KINDS:
            raise ValueError("kind must be one of %s" % ", ".join(KINDS))
        with self._lock:
            if seconds:
                self._delays[kind] = float(seconds)
            else:
                self._delays.pop(kind, None)

    def set_rate_limit(self, limit, window=None, enforce=None):
        with self._lock:
            self.rate_limit = int(limit)
            if window is not None:
                self.window = float(window)
            if enforce is not None:
                self.enforce_rate_limit = bool(enforce)

    def inject(self, kind, fault, count=1, page=None, release_id=None, **opts):
        """Make the next `count` matching requests (None: all of them) fail
        with `fault`.  page: only that inventory page; release_id: only
        that release.  opts: retry_after, delay, n, pages, items."""
        f = _Fault(kind, str(fault), count, page, release_id, opts)
        with self._lock:
            self._faults.append(f)
        return f.id

    def faults(self):
        with self._lock:
            return [f.as_dict() for f in self._faults]

    def clear_faults(self):
        with self._lock:
            self._faults = []

    def clear_log(self):
        with self._lock:
            del self.log[:]

    def reset(self):
        """Faults, delays, log, token, seller and rate limit back to the start."""
        with self._lock:
            self._faults = []
            self._delays = {}
            del self.log[:]
            self._window.clear()
            (self.token, self.seller, self.rate_limit, self.window,
             self.enforce_rate_limit) = self._initial

    def requests(self, kind=None, since=0.0):
        """Logged requests of a kind (None: all) that arrived at or after
        `since` (a time.monotonic() value), in arrival order."""
        with self._lock:
            out = [r for r in self.log if r.t >= since and (kind is None or r.kind == kind)]
        return sorted(out, key=lambda r: r.t)

    # -- serving (called from handler threads) --------------------------------
    def _take_fault(self, kind, page, release_id):
        with self._lock:
            for f in self._faults:
                if f.matches(kind, page, release_id):
                    f.fired += 1
                    if f.count is not None:
                        f.count -= 1
                        if f.count <= 0:
                            self._faults.remove(f)
                    return f
        return None

    def _ratelimit(self, now):
        """Count this request in the moving window; (limit, used, remaining)."""
        with self._lock:
            while self._window and self._window[0] <= now - self.window:
                self._window.popleft()
            self._window.append(now)
            used = len(self._window)
            return self.rate_limit, used, max(0, self.rate_limit - used)

    def _sleep(self, seconds):
        """Interruptible by stop()."""
        self._stop.wait(max(0.0, seconds))

    def _page(self, query):
        """(status, body dict) for an inventory request."""
        try:
            page = int(query.get("page", "1"))
            per_page = int(query.get("per_page", str(PER_PAGE_DEFAULT)))
        except ValueError:
            return 400, {"message": "Invalid pagination parameters."}
        if page < 1 or per_page < 1:
            return 400, {"message": "Invalid pagination parameters."}
        per_page = min(per_page, PER_PAGE_MAX)
        with self._lock:
            rows = sorted(self._listings.values(), key=_sort_key,
                          reverse=query.get("sort_order", "desc") != "asc")
            status = query.get("status")
            if status:
                rows = [l for l in rows if l.get("status") == status]
            items = len(rows)
            chunk = json.loads(json.dumps(rows[(page - 1) * per_page: page * per_page]))
        pages = max(1, (items + per_page - 1) // per_page)
        if page > pages and items:
            return 404, {"message": "Page %d does not exist." % page}
        return 200, {"pagination": self._pagination(query, page, pages, per_page, items),
                     "listings": chunk}

    def _pagination(self, query, page, pages, per_page, items):
        def link(p):
            q = dict(query)
            q["page"] = str(p)
            q["per_page"] = str(per_page)
            q.pop("token", None)
            return "%s/users/%s/inventory?%s" % (
                self.url, urllib.parse.quote(self.seller),
                urllib.parse.urlencode(q, quote_via=urllib.parse.quote))
        urls = {}
        if page > 1:
            urls["first"] = link(1)
            urls["prev"] = link(page - 1)
        if page < pages:
            urls["next"] = link(page + 1)
            urls["last"] = link(pages)
        return {"page": page, "pages": pages, "per_page": per_page, "items": items,
                "urls": urls}


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def handle_error(self, request, client_address):
        # A client that went away mid-answer is part of the game.
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, BrokenPipeError, socket.timeout, OSError)):
            return
        super().handle_error(request, client_address)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeDiscogs/1.0"
    sys_version = ""
    fake = None

    def log_message(self, fmt, *args):   # quiet
        pass

    def version_string(self):
        return self.server_version

    def parse_request(self):
        # The arrival time, taken as soon as the request line is in.
        self.arrived = time.monotonic()
        return super().parse_request()

    # -- plumbing ------------------------------------------------------------
    def _send(self, status, body, ctype="application/json", extra=(), rl=None,
              cut=None, length=None):
        if isinstance(body, (dict, list)):
            body = json.dumps(body, ensure_ascii=False).encode("utf-8")
        elif isinstance(body, str):
            body = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", ctype + ("; charset=utf-8" if "json" in ctype or
                                                  "html" in ctype else ""))
        if rl:
            self.send_header("X-Discogs-Ratelimit", str(rl[0]))
            self.send_header("X-Discogs-Ratelimit-Used", str(rl[1]))
            self.send_header("X-Discogs-Ratelimit-Remaining", str(rl[2]))
        for k, v in extra:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        if cut is not None:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body if cut is None else body[:cut])
        self.wfile.flush()
        if cut is not None:
            self.close_connection = True

    def _read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def do_PUT(self):
        self._dispatch("PUT")

    def do_DELETE(self):
        self._dispatch("DELETE")

    def _dispatch(self, method):
        split = urllib.parse.urlsplit(self.path)
        path = urllib.parse.unquote(split.path)
        if path == "/_control" or path.startswith("/_control/"):
            return self._control(method, path, split.query)
        try:
            self._api(method, path, split.query)
        except (ConnectionError, BrokenPipeError, socket.timeout):
            self.close_connection = True

    # -- the Discogs API -----------------------------------------------------
    def _api(self, method, path, rawq):
        fake = self.fake
        now = getattr(self, "arrived", None) or time.monotonic()
        query = {k: v[0] for k, v in urllib.parse.parse_qs(rawq, keep_blank_values=True).items()}
        headers = {k.lower(): v for k, v in self.headers.items()}
        req = Request(now, method, path, query, headers)
        with fake._lock:
            fake.log.append(req)
        if self.headers.get("Content-Length"):
            self._read_body()
        rl = fake._ratelimit(now)

        parts = [p for p in path.split("/") if p]
        kind = None
        if len(parts) == 3 and parts[0] == "users" and parts[2] == "inventory":
            kind = "inventory"
            try:
                req.page = int(query.get("page", "1"))
            except ValueError:
                req.page = None
        elif len(parts) == 2 and parts[0] == "releases":
            kind = "release"
            try:
                req.release_id = int(parts[1])
            except ValueError:
                kind = None
        req.kind = kind

        def answer(status, body, **kw):
            req.status = status
            try:
                self._send(status, body, rl=rl, **kw)
            finally:
                req.done = time.monotonic()

        if kind is None or method != "GET":
            return answer(404, {"message": "The requested resource was not found."})

        # Who is asking.
        with fake._lock:
            token, seller = fake.token, fake.seller
            delay = fake._delays.get(kind, 0.0) + fake._delays.get("any", 0.0)
        auth = self.headers.get("Authorization", "")
        given = None
        if auth.startswith("Discogs token="):
            given = auth[len("Discogs token="):].strip()
        elif "token" in query:
            given = query["token"]
        if not (self.headers.get("User-Agent") or "").strip():
            return answer(403, {"message": MSG_UA})
        if given is None or given != token:
            return answer(401, {"message": MSG_AUTH})

        # Over the limit: Discogs answers 429, here without Retry-After.
        if fake.enforce_rate_limit and rl[1] > rl[0]:
            return answer(429, {"message": MSG_RATE})

        fault = fake._take_fault(kind, req.page, req.release_id)
        if delay:
            fake._sleep(delay)
        if fault is not None:
            req.fault = fault.fault
            done = self._fault(fault, kind, query, parts, answer, req)
            if done:
                return

        if kind == "inventory":
            if urllib.parse.unquote(parts[1]).lower() != seller.lower():
                return answer(404, {"message": MSG_USER})
            status, body = fake._page(query)
            if fault is not None and fault.fault in ("pages-change", "empty-page",
                                                     "duplicate-id"):
                p = body.get("pagination", {})
                if fault.fault == "empty-page":
                    body["listings"] = []
                elif fault.fault == "duplicate-id":
                    rows = body.get("listings") or []
                    if len(rows) >= 2:
                        rows[1]["id"] = rows[0]["id"]
                else:
                    pages = fault.opts.get("pages")
                    p["pages"] = int(pages) if pages is not None else p["pages"] + 1
                    items = fault.opts.get("items")
                    p["items"] = int(items) if items is not None else p["items"] + p["per_page"]
            return answer(status, body)

        rel = fake.release(req.release_id)
        if rel is None:
            return answer(404, {"message": MSG_RELEASE})
        return answer(200, rel)

    def _fault(self, f, kind, query, parts, answer, req):
        """Serve fault f.  True when the answer is done; False to go on with
        the normal answer (shift/sold/pages-change/empty-page/duplicate-id/
        slow)."""
        fake = self.fake
        name, opts = f.fault, f.opts
        if name == "429":
            ra = opts.get("retry_after", 1)
            answer(429, {"message": MSG_RATE}, extra=[("Retry-After", str(ra))])
        elif name == "429-no-retry-after":
            answer(429, {"message": MSG_RATE})
        elif name == "500":
            answer(500, {"message": "An internal server error occurred."})
        elif name == "502":
            answer(502, HTML_502, ctype="text/html")
        elif name == "503":
            answer(503, {"message": "Service temporarily unavailable."})
        elif name == "html-500":
            answer(500, HTML_500, ctype="text/html")
        elif name == "401":
            answer(401, {"message": MSG_AUTH})
        elif name == "403":
            answer(403, {"message": "You don't have permission to access this resource."})
        elif name == "404":
            answer(404, {"message": MSG_USER if kind == "inventory" else MSG_RELEASE})
        elif name in ("timeout", "slow"):
            fake._sleep(float(opts.get("delay", fake.timeout_delay if name == "timeout" else 2)))
            return False
        elif name == "drop":
            req.status = 0
            req.done = time.monotonic()
            self.close_connection = True
        elif name == "reset":
            req.status = 0
            req.done = time.monotonic()
            try:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
            except OSError:
                pass
            self.close_connection = True
        elif name in ("truncated", "truncated-json", "invalid-json", "bad-shape"):
            status, body = self._normal(kind, query, parts)
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
            if name == "truncated":
                answer(status, data, cut=len(data) // 2)
            elif name == "truncated-json":
                answer(status, data[:len(data) // 2])
            elif name == "invalid-json":
                key = b'"listings"' if kind == "inventory" else b'"genres"'
                answer(status, data.replace(key, key[1:-1], 1) + b"\n<!-- -->")
            else:
                answer(200, {"message": "OK", "results": []})
        elif name in ("shift", "sold"):
            n = int(opts.get("n", 3))
            if name == "shift":
                fake.add_listings(n)
            else:
                fake.remove(fake.ids()[:n])
            return False
        elif name in ("pages-change", "empty-page", "duplicate-id"):
            return False
        return True

    def _normal(self, kind, query, parts):
        fake = self.fake
        if kind == "inventory":
            if urllib.parse.unquote(parts[1]).lower() != fake.seller.lower():
                return 404, {"message": MSG_USER}
            return fake._page(query)
        rel = fake.release(int(parts[1]))
        return (404, {"message": MSG_RELEASE}) if rel is None else (200, rel)

    # -- the control endpoint ------------------------------------------------
    def _control(self, method, path, rawq):
        fake = self.fake
        try:
            if method == "GET" and path in ("/_control/log", "/_control/log/"):
                q = dict(urllib.parse.parse_qsl(rawq))
                since = int(q.get("since", "0"))
                with fake._lock:
                    t0 = fake.log[0].t if fake.log else 0.0
                    rows = [r.as_dict(t0) for r in fake.log[since:]]
                return self._send(200, {"count": len(rows), "requests": rows})
            if method == "GET" and path in ("/_control", "/_control/state"):
                with fake._lock:
                    state = {"url": fake.url, "token": fake.token, "seller": fake.seller,
                             "listings": len(fake._listings), "faults": fake.faults(),
                             "delays": dict(fake._delays), "missing_releases":
                             sorted(fake._missing), "rate_limit": fake.rate_limit,
                             "window": fake.window, "enforce_rate_limit":
                             fake.enforce_rate_limit, "requests": len(fake.log)}
                return self._send(200, state)
            if method == "GET" and path == "/_control/listings":
                return self._send(200, fake.listings())
            if method != "POST":
                return self._send(405, {"error": "POST a JSON object {\"op\": ...}"},
                                  extra=[("Allow", "GET, POST")])
            body = json.loads(self._read_body() or b"{}")
            op = body.pop("op", None)
            if op not in CONTROL_OPS:
                return self._send(400, {"error": "unknown op %r" % op,
                                        "ops": sorted(CONTROL_OPS)})
            result = getattr(fake, op)(**body)
            return self._send(200, {"ok": True, "result": result})
        except (TypeError, ValueError, KeyError) as e:
            return self._send(400, {"error": "%s: %s" % (type(e).__name__, e)})


CONTROL_OPS = {
    "set_listings", "listings", "ids", "get", "add_listing", "add_listings", "remove",
    "reprice", "update", "set_release", "set_missing_releases", "set_token", "set_seller",
    "set_delay", "set_rate_limit", "inject", "faults", "clear_faults", "clear_log", "reset",
}


# --------------------------------------------------------------------------
# standalone
# --------------------------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser(description="A fake Discogs API for manual runs.")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="0: a free port (printed)")
    ap.add_argument("--listings", type=int, default=250)
    ap.add_argument("--token", default=TOKEN)
    ap.add_argument("--seller", default=SELLER)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rate-limit", type=int, default=60)
    ap.add_argument("--window", type=float, default=60.0, help="seconds")
    ap.add_argument("--enforce-rate-limit", action="store_true",
                    help="answer 429 past the limit")
    ap.add_argument("--missing-releases", default="",
                    help="comma-separated release ids that answer 404")
    ap.add_argument("--delay", type=float, default=0.0, help="seconds before every answer")
    ap.add_argument("--timeout-delay", type=float, default=35.0)
    a = ap.parse_args(argv)
    fake = FakeDiscogs(
        listings=a.listings, token=a.token, seller=a.seller, host=a.host, port=a.port,
        rate_limit=a.rate_limit, window=a.window, enforce_rate_limit=a.enforce_rate_limit,
        seed=a.seed, timeout_delay=a.timeout_delay,
        missing_releases=[int(x) for x in a.missing_releases.split(",") if x.strip()])
    if a.delay:
        fake.set_delay("any", a.delay)
    fake.start()
    print("fake Discogs at %s (seller %s, token %s, %d listings); control: POST %s/_control"
          % (fake.url, fake.seller, fake.token, len(fake.ids()), fake.url), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
