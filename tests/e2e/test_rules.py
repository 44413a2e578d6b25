#!/usr/bin/env python3
"""Lua rules on a running server, with SCRIPTS_DIR a temporary copy of
scripts/ that the test edits live.

A saved script is live on both workers within 2 s; a broken one (syntax
error, missing function, failed self-check, endless loop or escape at load)
is refused with file:line in /api/rules, the log (once) and /metrics, and
the previous version stays.  Run-time failures of score() (nil index, wrong
type, endless loop even inside pcall, memory bomb, os/io/require/bytecode/
string.dump) leave search results in text-match order.  A deleted script
keeps its last good version; two saves a few ms apart end on the last one;
a broken script at start-up runs the built-in default.  After each case
other requests are still answered, no worker died, and the Lua stack is
empty.  Finally `freakinbeats rules check` on the same scripts and data."""
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from fbtest import CLI, REPO, TAP, base_env, listing  # noqa: E402

FIXTURES = os.path.join(REPO, "tests", "fixtures", "scripts")
LIVE_S = 2.0
ESCAPES = ("/tmp/freakinbeats-escaped-os", "/tmp/freakinbeats-escaped-io",
           "/tmp/freakinbeats-escaped-require")
WORDS = "dub loop boom mem escape escape2"


def fnv(data):
    """The version /api/rules shows: FNV-1a 64 of the file's bytes."""
    h = 14695981039346656037
    for b in data:
        h = ((h ^ b) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return "%016x" % h


def fixture(name):
    with open(os.path.join(FIXTURES, name), "rb") as f:
        return f.read()


class Rules:
    """The temporary SCRIPTS_DIR and the server using it."""

    def __init__(self, t, srv, scripts):
        self.t, self.srv, self.dir = t, srv, scripts

    def save(self, name, data):
        if isinstance(data, str):
            data = data.encode()
        with open(os.path.join(self.dir, name), "wb") as f:
            f.write(data)
        return fnv(data)

    def states(self):
        """/api/rules as each worker answers it: {pid: json}."""
        workers = self.srv.per_worker()
        try:
            return {pid: c.get("/api/rules").json() for pid, c in workers.items()}
        finally:
            for c in workers.values():
                c.close()

    def wait(self, pred, desc, timeout=LIVE_S):
        """Until pred(json) holds on every worker; one check per worker."""
        t0 = time.monotonic()
        seen = {}
        while True:
            workers = self.srv.per_worker()
            try:
                for pid, c in workers.items():
                    if pid not in seen and pred(c.get("/api/rules").json()):
                        seen[pid] = time.monotonic() - t0
            finally:
                for c in workers.values():
                    c.close()
            if len(seen) >= 2 or time.monotonic() - t0 > timeout + 3:
                break
            time.sleep(0.05)
        slowest = max(seen.values()) if len(seen) >= 2 else None
        self.t.ok(slowest is not None and slowest <= timeout,
                  "%s: on both workers within %.0f s" % (desc, timeout),
                  "seen %s" % seen)
        return slowest

    def live(self, name, version, desc):
        return self.wait(lambda j: j["scripts"][name]["version"] == version and
                         j["scripts"][name]["error"] is None, desc)

    def refused(self, name, pattern, desc):
        return self.wait(lambda j: j["scripts"][name]["error"] is not None and
                         re.search(pattern, j["scripts"][name]["error"]) is not None, desc)

    def search_ids(self, q, conn=None):
        r = (conn or self.srv).get("/api/search?q=%s&limit=50" % q)
        self.t.eq(r.status, 200, "search q=%s answers 200" % q)
        body = r.json_or_none() or []
        return [x["listing_id"] for x in body]

    def alive(self, desc):
        """Other requests are still answered; no worker died; empty stacks."""
        t = self.t
        t.eq(self.srv.get("/healthz").status, 200, "%s: /healthz answers" % desc)
        t.eq(self.srv.get("/api/data?limit=2").status, 200, "%s: /api/data answers" % desc)
        tops = [j["lua"]["stack_top"] for j in self.states().values()]
        t.eq(tops, [0, 0], "%s: the Lua stack is empty on both workers" % desc)
        t.no_crash(self.srv, "%s: no worker died" % desc)


def metric(srv, name, script):
    m = re.search(r'(?m)^%s\{script="%s"\} (\d+)$' % (name, re.escape(script)),
                  srv.get("/metrics").text)
    return int(m.group(1)) if m else None


def seed(srv):
    rows = [listing(1000 + i, release_title="Plate %d %s" % (i, WORDS),
                    price_value=100 + (i * 7919) % 5000,
                    image_uri=("https://img/%d.jpg" % i) if i % 2 else None)
            for i in range(40)]
    srv.seed(rows)
    return {str(r["listing_id"]): r["price_value"] for r in rows}


def test_startup_and_live(t, rules, prices):
    srv = rules.srv
    with t.step("start-up"):
        r = srv.get("/api/rules")
        t.eq(r.status, 200, "GET /api/rules is 200")
        j = r.json()
        for name in ("mapping.lua", "filter.lua", "ranking.lua"):
            s = j["scripts"][name]
            t.eq((s["state"], s["error"], s["defaults"]), ("ok", None, False),
                 "%s: ok, no error, not the default" % name)
            with open(os.path.join(rules.dir, name), "rb") as f:
                t.eq(s["version"], fnv(f.read()), "%s: version is the file's hash" % name)
            t.ok(s["file"].endswith("/" + name), "%s: file path shown" % name)
        t.eq(j["defaults_in_force"], False, "no defaults in force")
        t.eq(metric(srv, "fb_rules_errors_total", "ranking.lua"), 0, "no rule errors counted")
        t.eq(srv.request("POST", "/api/rules", headers={"Content-Length": "0"}).status,
             405, "POST /api/rules is 405")
        tag = r.header("etag")
        t.ok(tag, "GET /api/rules carries an ETag")
        t.eq(srv.get("/api/rules", headers={"If-None-Match": tag or "-"}).status, 304,
             "GET /api/rules with If-None-Match of it: 304")

    with t.step("a saved ranking is live on every worker"):
        text_order = {q: rules.search_ids(q) for q in WORDS.split()}
        t.eq(len(text_order["dub"]), 40, "40 matches for dub")
        v = rules.save("ranking.lua", fixture("by_price.lua"))
        rules.live("ranking.lua", v, "by_price.lua live")
        workers = srv.per_worker()
        for pid, c in workers.items():
            ids = rules.search_ids("dub", c)
            t.eq(ids, sorted(ids, key=lambda i: (prices[i], 0)),
                 "worker %d: search ranked cheapest first" % pid)
            c.close()
        rules.alive("by_price")
    return text_order


def test_refused(t, rules, good):
    """Load-time failures: the error everywhere, the good version stays."""
    srv = rules.srv
    cases = [
        ("syntax.lua", r"ranking\.lua:6: unexpected symbol", "a syntax error"),
        ("no_function.lua", r"ranking\.lua: must define function score", "no score()"),
        ("top_loop.lua", r"ranking\.lua:\d+: instruction budget exhausted",
         "an endless loop while loading"),
        ("gc.lua", r"ranking\.lua:2: setmetatable: __gc is not available", "a finalizer"),
    ]
    inline = [
        ("os.execute('touch /tmp/freakinbeats-escaped-os')\n"
         "function score(r, q, rel) return rel end\n",
         r"ranking\.lua:1: os\.execute is not available", "os.execute at load"),
        ("local f = io.open('/etc/passwd')\nfunction score(r, q, rel) return rel end\n",
         r"ranking\.lua:1: 'io' is not available", "io.open at load"),
        ("function score(row, q, rel) return row.nothing.here end\n",
         r"ranking\.lua:1: attempt to index a nil value \(field 'nothing'\).*self-check",
         "a nil index in the self-check"),
        ("function score(row, q, rel) return 'high' end\n",
         r"ranking\.lua: score must return a number, not string", "a wrong return type"),
    ]
    all_cases = [(fixture(f), p, d) for f, p, d in cases] + \
        [(s.encode(), p, d) for s, p, d in inline]
    for data, pattern, desc in all_cases:
        with t.step("refused: %s" % desc):
            before = metric(srv, "fb_rules_errors_total", "ranking.lua")
            rules.save("ranking.lua", data)
            rules.refused("ranking.lua", pattern, desc)
            for pid, j in rules.states().items():
                s = j["scripts"]["ranking.lua"]
                t.eq((s["state"], s["version"]), ("error", good),
                     "%s: worker %d keeps the good version" % (desc, pid))
                t.ok(s["traceback"] and ("stack traceback" in s["traceback"] or
                                         "must" in s["traceback"]),
                     "%s: a traceback (or the C check's message) is kept" % desc,
                     s["traceback"])
            time.sleep(0.6)
            t.eq(metric(srv, "fb_rules_errors_total", "ranking.lua"), before + 1,
                 "%s: fb_rules_errors_total rose by 1 (once per change)" % desc)
            rules.alive(desc)
    with t.step("the log names the error once per change"):
        log = srv.log()
        n = len([l for l in log.splitlines() if re.search(r"rules: .*ranking\.lua:6: unexpected", l)])
        t.eq(n, 1, "the syntax error is logged once, not per worker or tick")
    for p in ESCAPES:
        t.ok(not os.path.exists(p), "no escape created %s" % p)


def test_call_failures(t, rules, text_order):
    """Run-time failures of score(): the search keeps text-match order."""
    srv = rules.srv
    cases = [
        ("nil_index.lua", "boom", r"ranking\.lua:4: attempt to index a nil value"),
        ("wrong_type.lua", "boom", r"score must return a number, not string"),
        ("loop.lua", "loop", r"ranking\.lua:[45]: instruction budget exhausted"),
        ("loop_pcall.lua", "loop", r"ranking\.lua:\d+: instruction budget exhausted"),
        ("mem_bomb.lua", "mem", r"not enough memory"),
        ("mem_rep.lua", "mem", r"not enough memory"),
        ("uses_os.lua", "escape", r"ranking\.lua:4: os\.execute is not available"),
        ("uses_io.lua", "escape", r"ranking\.lua:4: 'io' is not available"),
        ("uses_require.lua", "escape", r"ranking\.lua:4: 'require' is not available"),
        ("load_bytecode.lua", "escape", r"ranking\.lua:7: attempt to load a binary chunk"),
        ("string_dump.lua", "escape", r"ranking\.lua:5: string\.dump is not available"),
        ("string_dump.lua", "escape2", r"ranking\.lua:9: attempt to call a nil value"),
    ]
    for name, q, pattern in cases:
        with t.step("score fails: %s q=%s" % (name, q)):
            v = rules.save("ranking.lua", fixture(name))
            rules.live("ranking.lua", v, "%s live" % name)
            before = metric(srv, "fb_rules_call_failures_total", "ranking.lua")
            workers = srv.per_worker()
            for pid, c in workers.items():
                t0 = time.monotonic()
                ids = rules.search_ids(q, c)
                took = time.monotonic() - t0
                t.eq(ids, text_order[q], "%s q=%s on worker %d: text-match order" % (name, q, pid))
                t.ok(took < 2.0, "%s: answered in %.2f s" % (name, took))
                t.eq(c.get("/healthz").status, 200, "%s: the same worker answers next" % name)
                c.close()
            after = metric(srv, "fb_rules_call_failures_total", "ranking.lua")
            t.eq(after - before, 2, "%s: each failed search counted" % name)
            errs = [j["scripts"]["ranking.lua"]["last_call_error"] for j in rules.states().values()]
            t.ok(all(e and re.search(pattern, e) for e in errs),
                 "%s: /api/rules shows the failure with file:line" % name, errs)
            rules.alive(name)
    for p in ESCAPES:
        t.ok(not os.path.exists(p), "no escape created %s" % p)


def test_files(t, rules, prices):
    srv = rules.srv
    path = os.path.join(rules.dir, "ranking.lua")
    with t.step("a deleted script keeps its last good version"):
        good = rules.save("ranking.lua", fixture("by_price.lua"))
        rules.live("ranking.lua", good, "by_price.lua live again")
        os.unlink(path)
        rules.wait(lambda j: j["scripts"]["ranking.lua"]["state"] == "missing",
                   "deleted ranking.lua reported missing")
        for pid, j in rules.states().items():
            s = j["scripts"]["ranking.lua"]
            t.eq(s["version"], good, "worker %d: the last good version stays" % pid)
            t.match(s["error"], r"missing", "worker %d: the error says missing" % pid)
        ids = rules.search_ids("dub")
        t.eq(ids, sorted(ids, key=lambda i: prices[i]), "search still ranked by it")
        rules.alive("deleted")
        rules.save("ranking.lua", fixture("by_price.lua"))
        rules.live("ranking.lua", good, "restored ranking.lua")

    with t.step("two saves a few ms apart: the last one wins"):
        a = "function score(row, q, rel) return 1 end -- first \n"
        b = "function score(row, q, rel) return 2 end -- second\n"
        t.eq(len(a), len(b), "both saves have the same size")
        rules.save("ranking.lua", a)
        time.sleep(0.005)
        vb = rules.save("ranking.lua", b)
        rules.live("ranking.lua", vb, "the second save")
        time.sleep(1.0)
        versions = [j["scripts"]["ranking.lua"]["version"] for j in rules.states().values()]
        t.eq(versions, [vb, vb], "and it stays the one in force")
        rules.alive("two saves")

    with t.step("an editor's save (write elsewhere, rename over)"):
        tmp = path + ".swp"
        with open(tmp, "wb") as f:
            f.write(fixture("by_price.lua"))
        os.rename(tmp, path)
        rules.live("ranking.lua", fnv(fixture("by_price.lua")), "renamed-over file")

    with t.step("mapping and filter are checked too"):
        v = rules.save("mapping.lua", "function map(l)\n"
                       "  return { listing_id = l.id, price_value = 'cheap' }\nend\n")
        rules.refused("mapping.lua", r"mapping\.lua: map: price_value must be a price",
                      "a mapping with a wrong type")
        v = rules.save("filter.lua", "function keep(row, listing)\n"
                       "  if row.price_value > 1000 then return false, 'dear' end\nend\n")
        rules.refused("filter.lua", r"filter\.lua: keep must return true or false, not nil",
                      "a filter that returns nothing")
        for name in ("mapping.lua", "filter.lua"):
            shutil.copy(os.path.join(REPO, "scripts", name), rules.dir)
            with open(os.path.join(rules.dir, name), "rb") as f:
                rules.live(name, fnv(f.read()), "the shipped %s back" % name)
        rules.alive("mapping and filter")


def test_broken_startup(t, scripts):
    with t.step("broken at start-up: built-in defaults, error reported"):
        d = t.tmpdir()
        broken = os.path.join(d, "scripts")
        shutil.copytree(scripts, broken)
        shutil.copy(os.path.join(FIXTURES, "syntax.lua"), os.path.join(broken, "ranking.lua"))
        os.unlink(os.path.join(broken, "filter.lua"))
        srv = t.server(name="broken", tls=False, env={"SCRIPTS_DIR": broken})
        j = srv.get("/api/rules").json()
        s = j["scripts"]["ranking.lua"]
        t.eq((s["state"], s["defaults"], s["version"]), ("error", True, "built-in"),
             "ranking.lua: error, the built-in default in force")
        t.match(s["error"], r"ranking\.lua:6: unexpected symbol", "the error has file:line")
        f = j["scripts"]["filter.lua"]
        t.eq((f["state"], f["defaults"]), ("missing", True), "filter.lua: missing, default")
        t.eq(j["defaults_in_force"], True, "defaults_in_force")
        t.eq(metric(srv, "fb_rules_errors_total", "ranking.lua"), 1,
             "counted once for both workers")
        t.match(srv.log(), r"rules: .*ranking\.lua:6: unexpected symbol", "and logged")
        srv.seed([listing(7, release_title="dub one")])
        t.eq(srv.get("/api/search?q=dub").status, 200, "search works on the defaults")
        shutil.copy(os.path.join(scripts, "ranking.lua"), broken)
        with open(os.path.join(broken, "ranking.lua"), "rb") as fh:
            v = fnv(fh.read())
        Rules(t, srv, broken).live("ranking.lua", v, "fixed without a restart")
        t.no_crash(srv)
        srv.stop()


def test_cli(t, rules):
    env = base_env(SCRIPTS_DIR=rules.dir, DATABASE_URL=rules.srv.db_path)

    def check(*args):
        p = subprocess.run([CLI, "rules"] + list(args), cwd=t.tmpdir(), env=env,
                           capture_output=True, timeout=60)
        return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode()

    with t.step("rules check"):
        rules.save("ranking.lua", fixture("by_price.lua"))
        rules.save("filter.lua", "function keep(row, listing)\n"
                   "  if row.price_value < 10 then return false, 'under 10' end\n"
                   "  return true\nend\n")
        rc, out, err = check("check")
        t.eq(rc, 0, "good rules: exit 0")
        t.match(out, r"ok +.*mapping\.lua", "mapping.lua ok")
        t.match(out, r"\d+ listings: \d+ kept, [1-9]\d* left out", "the listings keep() drops")
        t.match(out, r"out +listing \d+ .*: under 10", "with their reasons")
        t.match(out, r"q=\w+ \(\d+ matches\)", "sample searches, before and after")
        rules.save("filter.lua", "function keep(row, listing)\n  return row.x.y\nend\n")
        rc, out, err = check("check", "--db", "sqlite:///" + rules.srv.db_path)
        t.eq(rc, 1, "a broken filter: exit 1")
        t.match(out, r"filter\.lua:2: attempt to index a nil value", "with file:line")
        rc, out, err = check("frobnicate")
        t.eq(rc, 2, "usage error: exit 2")
        shutil.copy(os.path.join(REPO, "scripts", "filter.lua"), rules.dir)


def main(t):
    for p in ESCAPES:
        if os.path.exists(p):
            os.unlink(p)
    scripts = os.path.join(t.tmpdir(), "scripts")
    shutil.copytree(os.path.join(REPO, "scripts"), scripts)
    srv = t.server(name="rules", tls=False, env={"SCRIPTS_DIR": scripts})
    rules = Rules(t, srv, scripts)
    prices = seed(srv)
    text_order = test_startup_and_live(t, rules, prices)
    test_refused(t, rules, fnv(fixture("by_price.lua")))
    test_call_failures(t, rules, text_order)
    test_files(t, rules, prices)
    test_cli(t, rules)
    test_broken_startup(t, os.path.join(REPO, "scripts"))
    t.no_crash(srv)


if __name__ == "__main__":
    TAP.run(main)
