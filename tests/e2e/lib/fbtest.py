"""
Helpers for the end-to-end tests: a TAP reporter, the real server under
test, a way to seed its SQLite database, and HTTP/HTTPS/raw-socket clients.

Standard library only.  A test file looks like:

    import os, sys
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
    from fbtest import TAP, Server

    def main(t):
        srv = t.server()            # started, stopped by t at the end
        with t.step("healthz"):
            r = srv.get("/healthz")
            t.eq(r.status, 200, "GET /healthz is 200")

    if __name__ == "__main__":
        TAP.run(main)

Every server gets its own temporary directory (database, TLS pair, log)
and free ports, so tests never touch conf/cert, the user's database or
each other.
"""

import http.client
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import time
import traceback
from decimal import Decimal

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
KORE = os.path.join(REPO, "build", "kore")
CLI = os.path.join(REPO, "build", "freakinbeats")

# Every variable of DESIGN.md: none leaks in from the caller's environment.
CONFIG_VARS = (
    "PORT", "HOST", "TLS_PORT", "TLS_CERT", "TLS_KEY", "DATABASE_URL",
    "DISCOGS_TOKEN", "DISCOGS_SELLER_USERNAME", "DISCOGS_API_URL",
    "DISCOGS_USER_AGENT", "DISCOGS_MIN_INTERVAL_MS", "SYNC_INTERVAL_HOURS",
    "ENABLE_AUTO_SYNC", "SYNC_MAX_REMOVE_FRACTION", "ADMIN_PASSPHRASE",
    "SCRIPTS_DIR", "LOG_LEVEL",
)


# --------------------------------------------------------------------------
# TAP
# --------------------------------------------------------------------------

class TAP:
    """ok/eq print TAP lines; step() turns an exception into `not ok`."""

    def __init__(self):
        self.n = 0
        self.failed = 0
        self.servers = []
        self.tmpdirs = []
        self.name = os.path.basename(sys.argv[0])

    # -- assertions ------------------------------------------------------
    def ok(self, cond, desc, diag=None):
        self.n += 1
        desc = _one_line(desc)
        if cond:
            print("ok %d - %s" % (self.n, desc), flush=True)
        else:
            self.failed += 1
            print("not ok %d - %s" % (self.n, desc), flush=True)
            if diag:
                self.diag(diag)
        return bool(cond)

    def eq(self, got, expected, desc):
        return self.ok(got == expected, desc,
                       "got %s expected %s" % (_short(got), _short(expected)))

    def match(self, text, pattern, desc):
        return self.ok(text is not None and re.search(pattern, text) is not None,
                       desc, "got %s, expected to match /%s/" % (_short(text), pattern))

    def diag(self, text):
        for line in str(text).splitlines() or [""]:
            print("# " + line, flush=True)

    def step(self, name):
        return _Step(self, name)

    def no_crash(self, srv, desc=None):
        """No worker died since the previous no_crash() on this server."""
        lines = srv.crash_lines()
        new, srv.crashes_seen = lines[srv.crashes_seen:], len(lines)
        return self.ok(not new, desc or "%s: no worker died" % srv.name, "\n".join(new[:20]))

    def json_error(self, r, status, desc, names=None):
        """r is a JSON error: the status (an int, or a range such as
        range(400, 500)), a JSON content type and {"error": "..."} naming
        every string in names."""
        good_status = r.status in status if isinstance(status, range) else r.status == status
        self.ok(good_status, "%s: status %s" % (desc, status if isinstance(status, int)
                                                 else "%d-%d" % (status.start, status.stop - 1)),
                "got %s %s, body %s" % (r.status, r.reason, _short(r.body)))
        ctype = r.header("content-type") or ""
        body = r.json_or_none()
        ok = "application/json" in ctype and isinstance(body, dict) and \
            isinstance(body.get("error"), str) and body["error"] != ""
        self.ok(ok, "%s: JSON body with an error" % desc,
                "content-type %r, body %s" % (ctype, _short(r.body)))
        for n in names or ():
            self.ok(ok and n in body["error"], "%s: error names %s" % (desc, n),
                    "body %s" % _short(r.body))
        return body

    # -- resources -------------------------------------------------------
    def tmpdir(self, prefix="fb-e2e-"):
        d = tempfile.mkdtemp(prefix=prefix)
        self.tmpdirs.append(d)
        return d

    def server(self, start=True, **kw):
        """A Server in its own temporary directory, stopped at the end."""
        kw.setdefault("tmp", self.tmpdir())
        s = Server(**kw)
        self.servers.append(s)
        if start:
            s.start()
        return s

    def finish(self):
        for s in self.servers:
            try:
                s.stop()
            except Exception:  # pragma: no cover - best effort
                self.diag("stopping %s: %s" % (s.name, traceback.format_exc()))
        if self.failed:
            for s in self.servers:
                if s.started:
                    self.diag("---- last lines of %s (%s) ----" % (s.name, s.log_path))
                    self.diag(s.log_tail(40))
        if os.environ.get("FB_KEEP_TMP") != "1":
            for d in self.tmpdirs:
                shutil.rmtree(d, ignore_errors=True)
        print("1..%d" % self.n, flush=True)
        print("# %s: %d passed, %d failed" % (self.name, self.n - self.failed, self.failed),
              flush=True)

    @classmethod
    def run(cls, main):
        t = cls()
        try:
            main(t)
        except BaseException as e:  # KeyboardInterrupt included: still clean up
            t.ok(False, "%s: uncaught %s: %s" % (t.name, type(e).__name__, e),
                 traceback.format_exc())
        finally:
            t.finish()
        sys.exit(1 if t.failed or t.n == 0 else 0)


class _Step:
    def __init__(self, t, name):
        self.t, self.name = t, name

    def __enter__(self):
        self.t0 = time.monotonic()
        return self

    def __exit__(self, et, ev, tb):
        if os.environ.get("FB_TIMING") == "1":
            print("# step %r took %.2fs" % (self.name, time.monotonic() - self.t0), flush=True)
        if et is None:
            return False
        if et is KeyboardInterrupt:
            return False
        self.t.ok(False, "%s: raised %s: %s" % (self.name, et.__name__, _one_line(str(ev))),
                  "".join(traceback.format_exception(et, ev, tb)))
        return True


def _one_line(s):
    s = str(s).replace("\n", " ").replace("\r", " ")
    return s if len(s) <= 200 else s[:197] + "..."


def _short(v, n=300):
    s = repr(v)
    return s if len(s) <= n else s[:n] + "...(%d chars)" % len(s)


# --------------------------------------------------------------------------
# ports, processes
# --------------------------------------------------------------------------

_given_ports = set()


def free_port():
    """A TCP port nothing listens on right now (and not handed out before)."""
    for _ in range(50):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        finally:
            s.close()
        if port not in _given_ports:
            _given_ports.add(port)
            return port
    raise RuntimeError("no free port")


def port_open(port, host="127.0.0.1", timeout=1.0):
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def base_env(**overrides):
    """The caller's environment minus every config variable, plus overrides.
    A value of None removes the variable."""
    env = {k: v for k, v in os.environ.items() if k not in CONFIG_VARS}
    for k, v in overrides.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = str(v)
    return env


class Server:
    """build/kore -f -n -r -c kore.conf, as `make run` starts it."""

    def __init__(self, tmp, env=None, tls=True, cwd=None, name="server",
                 unset=(), ready_timeout=30, empty=True, db_path=None):
        self.tmp = tmp
        self.empty = empty
        self.name = name
        self.cwd = cwd or REPO
        self.port = free_port()
        self.tls_port = free_port() if tls else 0
        self.host = "127.0.0.1"
        self.db_path = os.path.join(tmp, "freakinbeats.db")
        self.cert = os.path.join(tmp, "cert", "server.pem")
        self.key = os.path.join(tmp, "cert", "key.pem")
        self.log_path = os.path.join(tmp, "%s.log" % name)
        self.ready_timeout = ready_timeout
        defaults = {
            "PORT": self.port,
            "TLS_PORT": self.tls_port,
            "HOST": self.host,
            "DATABASE_URL": self.db_path,
            "TLS_CERT": self.cert,
            "TLS_KEY": self.key,
            "LOG_LEVEL": "info",
            # Empty beats a token in a developer's ./.env: no sync.
            "DISCOGS_TOKEN": "",
            # Nothing may ever reach the real Discogs from a test.
            "DISCOGS_API_URL": "http://127.0.0.1:%d" % free_port(),
        }
        defaults.update(env or {})
        for k in unset:
            defaults[k] = None
        self.env = base_env(**defaults)
        self.host = self.env.get("HOST", self.host)
        url = self.env.get("DATABASE_URL")
        if db_path:
            self.db_path = db_path
        elif url:
            path = url[len("sqlite:///"):] if url.startswith("sqlite:///") else url
            self.db_path = os.path.join(self.cwd, path)
        if "PORT" in self.env:
            self.port = int(self.env["PORT"]) if self.env["PORT"].isdigit() else self.port
        if "TLS_PORT" in self.env and self.env["TLS_PORT"].isdigit():
            self.tls_port = int(self.env["TLS_PORT"])
        self.proc = None
        self.crashes_seen = 0
        self.started = False
        self._log = None

    # -- life ------------------------------------------------------------
    def spawn(self):
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [KORE, "-f", "-n", "-r", "-c", "kore.conf"],
            cwd=self.cwd, env=self.env, stdin=subprocess.DEVNULL,
            stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        self.started = True
        return self.proc

    def start(self):
        """Start and wait for /healthz.  With empty=True (the default) the
        demo inventory a first run loads without a token is deleted, so a
        test sees only the listings it seeds."""
        self.spawn()
        self.wait_ready()
        if self.empty:
            self.clear()
        return self

    def wait_ready(self):
        deadline = time.monotonic() + self.ready_timeout
        last = None
        plain_ok = False
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited with %s during start-up; log:\n%s"
                                   % (self.name, self.proc.returncode, self.log_tail(30)))
            try:
                if not plain_ok:
                    plain_ok = self.get("/healthz", timeout=2).status == 200
                if plain_ok and self.tls_port:
                    if self.get("/healthz", tls=True, timeout=2).status == 200:
                        return
                elif plain_ok:
                    return
            except (OSError, http.client.HTTPException, ssl.SSLError) as e:
                last = e
            time.sleep(0.05)
        raise RuntimeError("%s not ready after %ss (last error: %r); log:\n%s"
                           % (self.name, self.ready_timeout, last, self.log_tail(30)))

    def wait_exit(self, timeout=15):
        """For start-up failures: the exit status, or None if still running."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, sig=signal.SIGTERM, timeout=15):
        """SIGTERM the Kore parent and wait; kill the group if it hangs.
        Returns the exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(sig)
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except OSError:
                    pass
                self.proc.wait(5)
        # Workers and keymgr are in the session we created: wait for them.
        for _ in range(100):
            try:
                os.killpg(self.proc.pid, 0)
            except OSError:
                break
            time.sleep(0.05)
        if self._log:
            self._log.close()
            self._log = None
        return self.proc.returncode

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def log_tail(self, n=40):
        return "\n".join(self.log().splitlines()[-n:])

    CRASH_RE = re.compile(r"restarting worker|\(hdlr: [^)]*\) gone|sandbox violation|"
                          r"AddressSanitizer|runtime error:|Segmentation fault")

    def crash_lines(self):
        """Log lines saying a worker died (Kore restarts it silently)."""
        return [l for l in self.log().splitlines() if self.CRASH_RE.search(l)]

    # -- data ------------------------------------------------------------
    def seed(self, rows):
        """Insert listing rows (dicts of column -> DB value) into the live
        database.  The triggers bump meta.data_version; workers see it on
        their next request."""
        seed_db(self.db_path, rows)

    def clear(self):
        """Delete every listing (the triggers move the data version)."""
        with self.db() as c:
            c.execute("DELETE FROM listings")
            try:
                c.execute("UPDATE meta SET value = 0 WHERE key = 'demo_inventory'")
            except sqlite3.Error:
                pass

    def db(self):
        c = sqlite3.connect("file:%s?mode=rw" % self.db_path, uri=True, timeout=10)
        c.execute("PRAGMA busy_timeout = 10000")
        return c

    # -- HTTP ------------------------------------------------------------
    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def request(self, method, path, headers=None, body=None, tls=False,
                context=None, timeout=10):
        port = self.tls_port if tls else self.port
        return request(self.host, port, method, path, headers, body, tls,
                       context, timeout)

    def worker_pids(self):
        return child_pids(self.proc.pid) if self.proc else []

    def per_worker(self, n_workers=2, tls=False, rounds=60):
        """One keep-alive connection held by each worker: {pid: Pinned}.

        Kore passes its accept lock to another worker when the holder
        accepts worker_accept_threshold (16) connections in one go, so
        bursts of idle connections move the lock around; a probe request
        after each burst lands on whichever worker holds it.  /proc tells
        which worker holds a connection."""
        pids = self.worker_pids()
        port = self.tls_port if tls else self.port
        found, filler = {}, []
        try:
            for _ in range(rounds):
                p = Pinned(self.host, port, tls)
                p.request("GET", "/healthz")
                owner = connection_owner(port, p.local_port(), pids)
                if owner is not None and owner not in found:
                    found[owner] = p
                else:
                    p.close()
                if len(found) >= n_workers:
                    break
                for c in filler:
                    c.close()
                filler = _burst(self.host, port, 64 + 16 * len(filler) // 64)
        finally:
            for c in filler:
                c.close()
        return found

    def raw(self, data, tls=False, timeout=10, context=None):
        port = self.tls_port if tls else self.port
        return raw_request(self.host, port, data, tls, timeout, context)


def repo_cwd(t, files, skip=()):
    """A working directory like the repository's: kore.conf, build/,
    scripts/ and src/ linked, conf/ a folder of links to the repository's
    conf/ files except those named in files or skip, then each name of
    files written into conf/ with its text (None: left out)."""
    d = t.tmpdir()
    for name in ("kore.conf", "build", "scripts", "src"):
        if os.path.exists(os.path.join(REPO, name)):
            os.symlink(os.path.join(REPO, name), os.path.join(d, name))
    os.mkdir(os.path.join(d, "conf"))
    for name in os.listdir(os.path.join(REPO, "conf")):
        if name not in files and name not in skip:
            os.symlink(os.path.join(REPO, "conf", name), os.path.join(d, "conf", name))
    for name, text in files.items():
        if text is not None:
            with open(os.path.join(d, "conf", name), "w") as f:
                f.write(text)
    return d


def run_startup(tmp, env=None, cwd=None, unset=(), timeout=20):
    """Start the server expecting start-up to fail.  Returns (exit status,
    or None if it was still running after timeout seconds, and the log)."""
    s = Server(tmp, env=env, cwd=cwd, unset=unset, name="startup")
    s.spawn()
    rc = s.wait_exit(timeout)
    s.stop()
    return rc, s.log()


# --------------------------------------------------------------------------
# seeding
# --------------------------------------------------------------------------

def cents(text):
    """'12.50' -> 1250, exactly."""
    d = Decimal(str(text)) * 100
    if d != d.to_integral_value():
        raise ValueError("%s is not a whole number of hundredths" % text)
    return int(d)


def listing(listing_id, **cols):
    """A full listing row with plausible values; cols override (DB values)."""
    now = "2024-01-01T00:00:00+00:00"
    row = {
        "listing_id": listing_id,
        "status": "For Sale",
        "condition": "Very Good Plus (VG+)",
        "sleeve_condition": "Very Good (VG)",
        "posted": "2024-01-01T12:00:00-08:00",
        "uri": "https://www.discogs.com/sell/item/%d" % listing_id,
        "resource_url": "https://api.discogs.com/marketplace/listings/%d" % listing_id,
        "price_value": 1500,
        "price_currency": "USD",
        "shipping_price": 500,
        "shipping_currency": "USD",
        "weight": 230.0,
        "format_quantity": 1,
        "external_id": None,
        "location": "A1",
        "comments": "Plays fine",
        "release_id": 1000 + listing_id % 100000,
        "release_title": "Record %d" % listing_id,
        "release_year": 1977,
        "release_resource_url": "https://api.discogs.com/releases/1",
        "release_uri": "https://www.discogs.com/release/1",
        "artist_names": "Some Artist",
        "primary_artist": "Some Artist",
        "label_names": "Some Label",
        "primary_label": "Some Label",
        "format_names": "Vinyl, LP",
        "primary_format": "Vinyl",
        "genres": "Electronic",
        "styles": "House",
        "country": "US",
        "catalog_number": "CAT-1",
        "barcode": None,
        "master_id": None,
        "master_url": None,
        "image_uri": None,
        "image_resource_url": None,
        "release_community_have": 10,
        "release_community_want": 20,
        "export_timestamp": None,
        "created_at": now,
        "updated_at": now,
        "is_active": 1,
        "removed_at": None,
        "sold_at": None,
        "custom_metadata": None,
    }
    row.update(cols)
    return row


def seed_db(path, rows, retries=50):
    rows = list(rows)
    if not rows:
        return
    for attempt in range(retries):
        try:
            c = sqlite3.connect("file:%s?mode=rw" % path, uri=True, timeout=10)
            try:
                c.execute("PRAGMA busy_timeout = 10000")
                with c:
                    for r in rows:
                        cols = list(r.keys())
                        c.execute("INSERT INTO listings (%s) VALUES (%s)" % (
                            ",".join(cols), ",".join("?" * len(cols))),
                            [r[k] for k in cols])
                return
            finally:
                c.close()
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) and "busy" not in str(e):
                raise
            time.sleep(0.1)
    raise RuntimeError("database stayed locked")


# --------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------

def insecure_context(minimum=None, maximum=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if minimum is not None:
        ctx.minimum_version = minimum
    if maximum is not None:
        ctx.maximum_version = maximum
    return ctx


class Response:
    def __init__(self, status, reason, headers, body, version=None, chunks=None):
        self.status = status
        self.reason = reason
        self.headers = headers          # list of (name, value), as received
        self.body = body                # bytes, de-chunked
        self.version = version
        self.chunks = chunks            # chunk sizes when parsed from raw bytes

    def header(self, name):
        vals = [v for k, v in self.headers if k.lower() == name.lower()]
        return ", ".join(vals) if vals else None

    def header_count(self, name):
        return sum(1 for k, _ in self.headers if k.lower() == name.lower())

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def json_or_none(self):
        try:
            return self.json()
        except (ValueError, UnicodeDecodeError):
            return None

    def __repr__(self):
        return "<Response %s %s, %d bytes: %s>" % (
            self.status, self.reason, len(self.body), _short(self.body, 120))


def request(host, port, method, path, headers=None, body=None, tls=False,
            context=None, timeout=10):
    if tls:
        conn = http.client.HTTPSConnection(host, port, timeout=timeout,
                                           context=context or insecure_context())
    else:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        data = r.read()
        return Response(r.status, r.reason, r.getheaders(), data,
                        version=r.version)
    finally:
        conn.close()


def _burst(host, port, n):
    """n connections opened at once (non-blocking connects), so the server
    finds many waiting in one accept round."""
    import select
    socks = []
    for _ in range(n):
        c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        c.setblocking(False)
        c.connect_ex((host, port))
        socks.append(c)
    pending = list(socks)
    deadline = time.monotonic() + 5
    while pending and time.monotonic() < deadline:
        _, w, _ = select.select([], pending, [], 0.5)
        pending = [c for c in pending if c not in w]
    return socks


class Pinned:
    """A keep-alive connection; every request goes to the same worker."""

    def __init__(self, host, port, tls=False, timeout=10):
        if tls:
            self.conn = http.client.HTTPSConnection(host, port, timeout=timeout,
                                                    context=insecure_context())
        else:
            self.conn = http.client.HTTPConnection(host, port, timeout=timeout)

    def request(self, method, path, headers=None, body=None):
        self.conn.request(method, path, body=body, headers=headers or {})
        r = self.conn.getresponse()
        data = r.read()
        if r.will_close:
            raise RuntimeError("the server closed a keep-alive connection")
        return Response(r.status, r.reason, r.getheaders(), data, version=r.version)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def local_port(self):
        return self.conn.sock.getsockname()[1]

    def close(self):
        self.conn.close()


def raw_request(host, port, data, tls=False, timeout=10, context=None):
    """Send bytes as they are; read until the server closes or one whole
    response has arrived.  Returns the raw bytes."""
    sock = socket.create_connection((host, port), timeout=timeout)
    try:
        if tls:
            sock = (context or insecure_context()).wrap_socket(sock)
        try:
            sock.sendall(data)
        except OSError:
            pass  # the server may answer and close before reading it all
        out = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except socket.timeout:
                break
            except OSError:
                break
            if not chunk:
                break
            out += chunk
            if _complete(out):
                break
        return out
    finally:
        sock.close()


def _complete(buf):
    head_end = buf.find(b"\r\n\r\n")
    if head_end < 0:
        return False
    head = buf[:head_end].decode("latin-1").lower()
    body = buf[head_end + 4:]
    m = re.search(r"^content-length:\s*(\d+)", head, re.M)
    if m:
        return len(body) >= int(m.group(1))
    if re.search(r"^transfer-encoding:\s*chunked", head, re.M):
        return body.endswith(b"0\r\n\r\n")
    first = head.split("\r\n", 1)[0]
    return " 304 " in first + " " or " 204 " in first + " "


def parse_response(buf, head_only=False):
    """Parse raw response bytes (one response) into a Response; chunked
    bodies are decoded and their chunk sizes kept in .chunks."""
    head_end = buf.find(b"\r\n\r\n")
    if head_end < 0:
        raise ValueError("no complete response head in %r" % buf[:200])
    lines = buf[:head_end].decode("latin-1").split("\r\n")
    m = re.match(r"HTTP/(\d\.\d) (\d{3}) ?(.*)", lines[0])
    if not m:
        raise ValueError("bad status line %r" % lines[0])
    headers = []
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers.append((k.strip(), v.strip()))
    rest = buf[head_end + 4:]
    r = Response(int(m.group(2)), m.group(3), headers, b"", version=m.group(1))
    if head_only:
        r.body = rest
        return r
    te = (r.header("transfer-encoding") or "").lower()
    if "chunked" in te:
        body, sizes, pos = b"", [], 0
        while True:
            eol = rest.index(b"\r\n", pos)
            size = int(rest[pos:eol].split(b";")[0], 16)
            pos = eol + 2
            if size == 0:
                break
            sizes.append(size)
            body += rest[pos:pos + size]
            if rest[pos + size:pos + size + 2] != b"\r\n":
                raise ValueError("chunk of %d bytes not followed by CRLF" % size)
            pos += size + 2
        r.body, r.chunks = body, sizes
    elif r.header("content-length") is not None:
        r.body = rest[:int(r.header("content-length"))]
    else:
        r.body = rest
    return r


# --------------------------------------------------------------------------
# which worker holds a connection (Linux /proc)
# --------------------------------------------------------------------------

def child_pids(pid):
    kids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                stat = f.read()
        except OSError:
            continue
        # pid (comm) state ppid ...; comm may contain spaces
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid:
            kids.append(int(d))
    return kids


def connection_owner(server_port, client_port, pids):
    """The pid among pids whose socket is the server side of the TCP
    connection 127.0.0.1:client_port -> :server_port, or None."""
    want_local = "%04X" % server_port
    want_remote = "%04X" % client_port
    inode = None
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    parts = line.split()
                    if parts[1].endswith(":" + want_local) and parts[2].endswith(":" + want_remote):
                        inode = parts[9]
        except OSError:
            continue
    if inode is None:
        return None
    target = "socket:[%s]" % inode
    for pid in pids:
        fd_dir = "/proc/%d/fd" % pid
        try:
            for fd in os.listdir(fd_dir):
                try:
                    if os.readlink(os.path.join(fd_dir, fd)) == target:
                        return pid
                except OSError:
                    pass
        except OSError:
            pass
    return None
