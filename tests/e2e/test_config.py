#!/usr/bin/env python3
"""Configuration: bad values stop start-up with one line naming the
variable; .env is read and the environment wins; database start-up errors;
several instances side by side; TLS_PORT=0; the token is never logged."""
import os
import re
import socket
import sqlite3
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from fbtest import REPO, TAP, free_port, listing, port_open, run_startup  # noqa: E402

BAD_VALUES = [
    ("PORT", "abc"),
    ("PORT", "0"),
    ("PORT", "70000"),
    ("TLS_PORT", "abc"),
    ("HOST", "not a host!"),
    ("SYNC_INTERVAL_HOURS", "-1"),
    ("SYNC_INTERVAL_HOURS", "abc"),
    ("ENABLE_AUTO_SYNC", "maybe"),
    ("LOG_LEVEL", "loud"),
    ("DATABASE_URL", "postgres://x"),
    ("SYNC_MAX_REMOVE_FRACTION", "2"),
    ("DISCOGS_MIN_INTERVAL_MS", "-5"),
]


def lines_naming(log, var):
    return [l for l in log.splitlines() if re.search(r"(?<![A-Z_])%s(?![A-Z_])" % var, l)]


def check_refused(t, what, var, rc, log):
    """rc: exit status (None: still running after the timeout)."""
    t.ok(rc is not None and 0 < rc < 128, "%s: start-up stops with a non-zero exit" % what,
         "exit status %r; log:\n%s" % (rc, log[-2000:]))
    named = lines_naming(log, var)
    t.eq(len(named), 1, "%s: exactly one line names %s" % (what, var))
    t.ok("worker 1 started" not in log and "wrk 1" not in log,
         "%s: no worker was started" % what, log[-2000:])
    bad = re.search(r"(?i)segmentation|core dumped|sanitizer|traceback|abort", log)
    t.ok(bad is None, "%s: no crash in the output" % what, log[-2000:])
    return named[0] if named else ""


def make_cwd(t, env_text):
    """A working directory like the repo's (kore.conf, conf/, build/ by
    symlink) with its own .env."""
    d = t.tmpdir()
    for name in ("kore.conf", "conf", "build", "scripts"):
        if os.path.exists(os.path.join(REPO, name)):
            os.symlink(os.path.join(REPO, name), os.path.join(d, name))
    with open(os.path.join(d, ".env"), "w") as f:
        f.write(env_text)
    return d


def main(t):
    # -- bad values --------------------------------------------------------
    for var, value in BAD_VALUES:
        with t.step("%s=%s" % (var, value)):
            rc, log = run_startup(env={var: value}, tmp=t.tmpdir())
            line = check_refused(t, "%s=%s" % (var, value), var, rc, log)
            t.ok(value in line, "%s=%s: the line quotes the bad value" % (var, value),
                 "line %r" % line)

    with t.step("TLS_PORT equal to PORT"):
        p = free_port()
        rc, log = run_startup(env={"PORT": p, "TLS_PORT": p}, tmp=t.tmpdir())
        check_refused(t, "TLS_PORT=PORT", "TLS_PORT", rc, log)

    with t.step("bad DISCOGS_TOKEN is not echoed"):
        rc, log = run_startup(env={"DISCOGS_TOKEN": "secret\x01tok-abc"}, tmp=t.tmpdir())
        check_refused(t, "DISCOGS_TOKEN with a control character", "DISCOGS_TOKEN", rc, log)
        t.ok("tok-abc" not in log and "secret" not in log,
             "a bad DISCOGS_TOKEN value is not echoed in the error", log[-1000:])

    with t.step("PORT already in use"):
        busy = socket.socket()
        busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        try:
            rc, log = run_startup(env={"PORT": busy.getsockname()[1]}, tmp=t.tmpdir())
            check_refused(t, "PORT in use", "PORT", rc, log)
        finally:
            busy.close()

    # -- the database ------------------------------------------------------
    with t.step("missing database folder"):
        rc, log = run_startup(env={"DATABASE_URL": "/nonexistent/x.db"}, tmp=t.tmpdir())
        line = check_refused(t, "DATABASE_URL=/nonexistent/x.db", "DATABASE_URL", rc, log)
        t.ok("/nonexistent" in line, "missing folder: the line names the path", "line %r" % line)

    with t.step("read-only database file"):
        d = t.tmpdir()
        path = os.path.join(d, "ro.db")
        c = sqlite3.connect(path)
        c.execute("CREATE TABLE t (x)")
        c.commit()
        c.close()
        os.chmod(path, 0o444)
        rc, log = run_startup(env={"DATABASE_URL": path}, tmp=d)
        line = check_refused(t, "read-only DATABASE_URL", "DATABASE_URL", rc, log)
        t.ok(path in line and re.search(r"(?i)read.?only", line) is not None,
             "read-only file: the line names the path and says read-only", "line %r" % line)

    with t.step("sqlite:/// form"):
        d = t.tmpdir()
        path = os.path.join(d, "url.db")
        srv = t.server(env={"DATABASE_URL": "sqlite:///" + path}, tmp=d, name="sqlite-url")
        t.ok(os.path.exists(path), "DATABASE_URL=sqlite:////abs/path creates that file")
        srv.seed([listing(4242)])
        t.eq(srv.get("/api/data/4242").status, 200, "sqlite:/// database serves its data")
        srv.stop()

    # -- .env --------------------------------------------------------------
    with t.step(".env is read, the environment wins"):
        p_env, tls_env, tls_real = free_port(), free_port(), free_port()
        db_dir = t.tmpdir()
        db_env = os.path.join(db_dir, "from-dotenv.db")
        d = make_cwd(t, "# test .env\nexport PORT=%d\nTLS_PORT='%d'\n"
                     "DATABASE_URL=\"sqlite:///%s\" # comment\n" % (p_env, tls_env, db_env))
        srv = t.server(start=False, cwd=d, env={"TLS_PORT": tls_real},
                       unset=("PORT", "DATABASE_URL"), name="dotenv", db_path=db_env)
        srv.port, srv.tls_port = p_env, tls_real
        srv.start()
        t.eq(srv.get("/healthz").status, 200, ".env PORT is honoured")
        t.eq(srv.get("/healthz", tls=True).status, 200,
             "TLS_PORT from the environment wins over .env")
        t.ok(not port_open(tls_env), "the .env TLS_PORT is not listened on")
        t.ok(os.path.exists(db_env), ".env DATABASE_URL (quoted, with a comment) is used")
        srv.stop()

    with t.step("a bad value in .env"):
        d = make_cwd(t, "SYNC_INTERVAL_HOURS=-1\n")
        rc, log = run_startup(cwd=d, tmp=t.tmpdir())
        check_refused(t, ".env SYNC_INTERVAL_HOURS=-1", "SYNC_INTERVAL_HOURS", rc, log)

    with t.step("a malformed .env line"):
        d = make_cwd(t, "PORT=%d\nthis is not an assignment\n" % free_port())
        rc, log = run_startup(cwd=d, tmp=t.tmpdir(), unset=("PORT",))
        check_refused(t, "malformed .env", r"\.env", rc, log)

    # -- instances side by side, TLS off -----------------------------------
    with t.step("two instances side by side"):
        a = t.server(name="instance-a")
        b = t.server(name="instance-b")
        a.seed([listing(111)])
        b.seed([listing(222)])
        t.ok(a.port != b.port and a.tls_port != b.tls_port, "instances use different ports")
        for s, mine, other in ((a, 111, 222), (b, 222, 111)):
            t.eq(s.get("/healthz").status, 200, "%s: plain /healthz" % s.name)
            t.eq(s.get("/healthz", tls=True).status, 200, "%s: TLS /healthz" % s.name)
            t.eq(s.get("/api/data/%d" % mine).status, 200, "%s: serves its own data" % s.name)
            t.eq(s.get("/api/data/%d" % other).status, 404, "%s: not the other's data" % s.name)
        rc = a.stop()
        t.eq(rc, 0, "instance-a stops cleanly on SIGTERM")
        t.eq(b.get("/healthz").status, 200, "instance-b still serves after instance-a stopped")
        b.stop()

    with t.step("HOST"):
        s = t.server(name="host", env={"HOST": "127.0.0.2"})
        t.eq(s.get("/healthz").status, 200, "HOST=127.0.0.2: plain HTTP on 127.0.0.2")
        t.eq(s.get("/healthz", tls=True).status, 200, "HOST=127.0.0.2: HTTPS on 127.0.0.2")
        t.ok(not port_open(s.port, "127.0.0.1") and not port_open(s.tls_port, "127.0.0.1"),
             "HOST=127.0.0.2: nothing listens on 127.0.0.1")
        s.stop()

    with t.step("TLS_PORT=0"):
        s = t.server(tls=False, name="no-tls")
        t.eq(s.env["TLS_PORT"], "0", "started with TLS_PORT=0")
        t.eq(s.get("/healthz").status, 200, "TLS_PORT=0: plain HTTP serves")
        t.ok("https://" not in s.log(), "TLS_PORT=0: no https listener announced",
             s.log_tail(20))
        t.ok(not os.path.exists(s.cert), "TLS_PORT=0: no certificate generated")
        s.stop()

    # -- the first run -------------------------------------------------------
    with t.step("demo inventory on a first run without a token"):
        s = t.server(name="demo", empty=False)
        r = s.get("/api/data")
        demo = r.json_or_none() or []
        t.ok(r.status == 200 and len(demo) > 0, "a fresh shop without a token serves listings",
             "%s, %d listings" % (r.status, len(demo)))
        t.ok(all("demo" in (x.get("comments") or "").lower() or
                 "demo" in (x.get("location") or "").lower() for x in demo),
             "every demo listing is marked as a demo")
        h = s.get("/healthz").json_or_none() or {}
        t.ok(h.get("demo") is True, "/healthz says the shop shows the demo inventory", _s(h))
        s.stop()
        again = t.server(name="demo-again", empty=False, tmp=s.tmp)
        t.eq(len(again.get("/api/data").json_or_none() or []), len(demo),
             "a restart does not load the demo twice")
        again.clear()
        t.eq(again.get("/api/data").json_or_none(), [], "clearing the demo empties the shop")
        again.stop()

    # -- the token never appears -------------------------------------------
    with t.step("token never logged"):
        token = "secret-token-xyz"
        s = t.server(name="token", empty=False, env={
            "DISCOGS_TOKEN": token, "DISCOGS_SELLER_USERNAME": "test-seller",
            "ENABLE_AUTO_SYNC": "true", "SYNC_INTERVAL_HOURS": "0.001",
            "LOG_LEVEL": "debug"})
        r = s.get("/api/data")
        t.eq((r.status, r.json_or_none()), (200, []), "with a token, a fresh shop has no demo")
        bodies = []
        for path in ("/healthz", "/metrics", "/api/data", "/api/data/1", "/api/nothing",
                     "/api/data?limit=abc"):
            bodies.append(s.get(path).body)
            bodies.append(s.get(path, tls=True).body)
        time.sleep(1.0)  # let a start-up sync attempt (and its failure) be logged
        rc = s.stop()
        t.eq(rc, 0, "server with a token stops cleanly")
        t.ok(token not in s.log(), "DISCOGS_TOKEN never appears in the log",
             "\n".join(l for l in s.log().splitlines() if token in l))
        t.ok(not any(token.encode() in b for b in bodies),
             "DISCOGS_TOKEN never appears in a response")


def _s(v):
    return repr(v)[:300]


if __name__ == "__main__":
    TAP.run(main)
