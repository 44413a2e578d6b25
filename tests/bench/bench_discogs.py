#!/usr/bin/env python3
"""
The fake Discogs of tests/e2e/fake_discogs.py, fast enough for a
100,000-listing shop: for `make bench` only.

    python3 tests/bench/bench_discogs.py --listings 100000 --seed 1 \\
        --token T --seller S [--port 0] [--cache build/bench]

The listings are the fake's own (fake_discogs.make_listing(i, seed)), so
a sync sees exactly what it would see from fake_discogs.py, but:

  * They are generated once per (count, seed, seller) on every core and
    kept in CACHE/discogs-N-sSEED-SELLER.jsonl, one listing's JSON per
    line in served order (newest first), with https://api.discogs.com in
    the URLs; a cache older than fake_discogs.py is built again.
  * Each listing stays serialized: an inventory page is the pagination
    object plus a join of 100 ready lines, with no sort and no deep copy
    per request (at 100k, fake_discogs.py takes about 37 s and 2.1 GB to
    start, then sorts the whole shop and copies the page on every request:
    about 0.3 s a page, 5 minutes a sync).
  * The inventory is fixed: the control API still shows the state, the
    log, the listings and ids, and sets delays, the rate limit, the token
    and the seller, and injects faults that only change the status
    (429, 5xx, drop, ...); what would edit listings or rewrite a page
    body answers 400.

It prints the same first line as fake_discogs.py ("fake Discogs at URL
...") once it is ready, then serves until SIGTERM or SIGINT.
"""

import argparse
import json
import multiprocessing
import os
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
import fake_discogs  # noqa: E402
from fake_discogs import FakeDiscogs, listing_id, make_listing  # noqa: E402

PLACEHOLDER = b"https://api.discogs.com"
STATUS_FAULTS = {"429", "429-no-retry-after", "500", "502", "503", "html-500",
                 "timeout", "slow", "drop", "reset", "401", "403", "404"}
CHUNK = 2000


def _lines(args):
    """Served-order lines for generator indexes hi-1 down to lo."""
    lo, hi, seed, seller = args
    return b"".join(
        json.dumps(make_listing(i, seed=seed, seller=seller),
                   ensure_ascii=False, separators=(", ", ": ")).encode("utf-8") + b"\n"
        for i in range(hi - 1, lo - 1, -1))


def build_cache(path, n, seed, seller):
    """Generated listings n-1 .. 0 (newest posted first), one per line.
    make_listing posts listing i at EPOCH + 37 i minutes (+ < 60 s), so
    descending index is descending `posted`, the order Discogs serves."""
    t0 = time.monotonic()
    tmp = "%s.%d.tmp" % (path, os.getpid())
    jobs = [(max(0, hi - CHUNK), hi, seed, seller) for hi in range(n, 0, -CHUNK)]
    procs = max(1, min(os.cpu_count() or 1, 4))
    with open(tmp, "wb") as f:
        if procs > 1 and len(jobs) > 1:
            with multiprocessing.Pool(procs) as pool:
                for chunk in pool.imap(_lines, jobs):
                    f.write(chunk)
        else:
            for job in jobs:
                f.write(_lines(job))
    os.replace(tmp, path)
    return time.monotonic() - t0


def load_lines(cache_dir, n, seed, seller):
    """(list of bytes, seconds spent building the cache or 0.0)."""
    safe = "".join(c if c.isalnum() else "_" for c in seller)
    path = os.path.join(cache_dir, "discogs-%d-s%d-%s.jsonl" % (n, seed, safe))
    built = 0.0
    if not (os.path.exists(path) and
            os.path.getmtime(path) > os.path.getmtime(fake_discogs.__file__)):
        os.makedirs(cache_dir, exist_ok=True)
        built = build_cache(path, n, seed, seller)
    with open(path, "rb") as f:
        data = f.read()
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    if len(lines) != n:
        os.unlink(path)
        raise SystemExit("bench_discogs: %s has %d lines, not %d; removed, "
                         "run again" % (path, len(lines), n))
    return lines, built


class _Sized:
    """Stands for the inventory dict where only its size is read."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n


class BenchDiscogs(FakeDiscogs):
    """FakeDiscogs serving pre-serialized listings (see the module doc)."""

    def __init__(self, lines, **kw):
        self._lines = []
        self._n_listings = 0
        super().__init__(listings=0, **kw)
        self._raw = lines

    def start(self):
        super().start()
        url = self.url.encode()
        self._lines = [l.replace(PLACEHOLDER, url) for l in self._raw]
        self._raw = None
        self._n_listings = len(self._lines)
        self._ids = None
        self._listings = _Sized(self._n_listings)  # for GET /_control
        return self

    # -- what is served ------------------------------------------------------
    def _page(self, query):
        try:
            page = int(query.get("page", "1"))
            per_page = int(query.get("per_page", str(fake_discogs.PER_PAGE_DEFAULT)))
        except ValueError:
            return 400, {"message": "Invalid pagination parameters."}
        if page < 1 or per_page < 1:
            return 400, {"message": "Invalid pagination parameters."}
        per_page = min(per_page, fake_discogs.PER_PAGE_MAX)
        status = query.get("status")
        items = self._n_listings if status in (None, "", "For Sale") else 0
        pages = max(1, (items + per_page - 1) // per_page)
        if page > pages and items:
            return 404, {"message": "Page %d does not exist." % page}
        lo, hi = (page - 1) * per_page, min(items, page * per_page)
        if query.get("sort_order", "desc") == "asc":
            chunk = self._lines[items - hi:items - lo][::-1] if lo < items else []
        else:
            chunk = self._lines[lo:hi]
        pag = json.dumps(self._pagination(query, page, pages, per_page, items),
                         ensure_ascii=False).encode("utf-8")
        return 200, (b'{"pagination": ' + pag + b', "listings": [' +
                     b", ".join(chunk) + b"]}")

    def listings(self):
        return [json.loads(l) for l in self._lines]

    def ids(self):
        if self._ids is None:
            self._ids = [listing_id(self._n_listings - 1 - k)
                         for k in range(self._n_listings)]
        return list(self._ids)

    def get(self, lid):
        lid = int(lid)
        step = fake_discogs.ID_STEP
        i = (lid - fake_discogs.ID_BASE) // step
        if lid < fake_discogs.ID_BASE or (lid - fake_discogs.ID_BASE) % step or \
                not 0 <= i < self._n_listings:
            return None
        return json.loads(self._lines[self._n_listings - 1 - i])

    # -- the control API: no edits of the fixed inventory ----------------------
    def _fixed(self, *a, **kw):
        raise ValueError("the bench fake serves a fixed inventory")

    add_listing = add_listings = remove = reprice = update = _fixed

    def set_listings(self, listings):
        if listings == 0 and self._n_listings == 0:    # from __init__
            self._listings = {}
            return 0
        return self._fixed()

    def inject(self, kind, fault, count=1, page=None, release_id=None, **opts):
        if str(fault) not in STATUS_FAULTS:
            raise ValueError("the bench fake only injects %s" %
                             ", ".join(sorted(STATUS_FAULTS)))
        return super().inject(kind, fault, count, page, release_id, **opts)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--listings", type=int, default=100000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--token", default=fake_discogs.TOKEN)
    ap.add_argument("--seller", default=fake_discogs.SELLER)
    ap.add_argument("--rate-limit", type=int, default=1000000,
                    help="the X-Discogs-Ratelimit budget (default: never low)")
    ap.add_argument("--cache", default=os.path.join(HERE, "..", "..", "build", "bench"))
    ap.add_argument("--prepare", action="store_true",
                    help="only build the cache, then exit")
    a = ap.parse_args(argv)
    lines, built = load_lines(a.cache, a.listings, a.seed, a.seller)
    if a.prepare:
        print("bench_discogs: %d listings, seed %d: %s" % (
            len(lines), a.seed, "built in %.1f s" % built if built else "cached"))
        return
    fake = BenchDiscogs(lines, token=a.token, seller=a.seller, host=a.host,
                        port=a.port, rate_limit=a.rate_limit, seed=a.seed)
    del lines
    fake.start()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("fake Discogs at %s (seller %s, %d listings, seed %d%s); control: POST %s/_control"
          % (fake.url, fake.seller, fake._n_listings, a.seed,
             ", cache built in %.1f s" % built if built else "", fake.url), flush=True)
    try:
        while True:
            time.sleep(3600)
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
