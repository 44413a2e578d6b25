#!/usr/bin/env python3
"""HTTPS on TLS_PORT: TLS 1.2 and 1.3 only, HSTS on HTTPS answers only, a
self-signed pair made on first run and kept afterwards."""
import json
import os
import socket
import ssl
import stat
import sys
import warnings

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from fbtest import TAP, insecure_context, listing, parse_response, run_startup  # noqa: E402

warnings.filterwarnings("ignore", category=DeprecationWarning)

LID = 3639550236


def tls_exchange(srv, ctx, request):
    """(negotiated version, raw answer bytes) for one request over TLS."""
    sock = socket.create_connection((srv.host, srv.tls_port), timeout=10)
    with ctx.wrap_socket(sock) as s:
        version = s.version()
        s.sendall(request)
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except (ssl.SSLError, OSError):
                break
            if not chunk:
                break
            out += chunk
    return version, out


def only(v, seclevel0=False):
    ctx = insecure_context(minimum=v, maximum=v)
    if seclevel0:
        # Let the client offer old protocols, so any refusal is the server's.
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    return ctx


def main(t):
    srv = t.server(start=False, name="tls")
    with t.step("self-signed pair on first run"):
        t.ok(not os.path.exists(srv.cert) and not os.path.exists(srv.key),
             "no TLS_CERT/TLS_KEY before the first run")
        srv.start()
        t.ok(os.path.isfile(srv.cert), "TLS_CERT was generated at its path")
        t.ok(os.path.isfile(srv.key), "TLS_KEY was generated at its path")
        with open(srv.cert) as f:
            t.ok("BEGIN CERTIFICATE" in f.read(), "TLS_CERT is a PEM certificate")
        with open(srv.key) as f:
            t.ok("PRIVATE KEY" in f.read(), "TLS_KEY is a PEM private key")
        mode = stat.S_IMODE(os.stat(srv.key).st_mode)
        t.eq(mode & 0o077, 0, "TLS_KEY is readable by its owner only (mode %04o)" % mode)
        pem = ssl.get_server_certificate((srv.host, srv.tls_port))
        with open(srv.cert) as f:
            t.eq(ssl.PEM_cert_to_DER_cert(pem), ssl.PEM_cert_to_DER_cert(f.read()),
                 "the server presents the generated certificate")

    srv.seed([listing(LID, price_value=109, release_title="Café")] +
             [listing(10 + i) for i in range(400)])
    plain = srv.get("/api/data/%d" % LID)

    with t.step("TLS versions"):
        req = ("GET /api/data/%d HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
               % LID).encode()
        for v, name in ((ssl.TLSVersion.TLSv1_2, "TLSv1.2"), (ssl.TLSVersion.TLSv1_3, "TLSv1.3")):
            version, buf = tls_exchange(srv, only(v), req)
            t.eq(version, name, "%s handshake succeeds" % name)
            r = parse_response(buf)
            t.eq(r.status, 200, "%s: GET /api/data/{id} is 200" % name)
            t.eq(r.body, plain.body, "%s: the same listing as over plain HTTP" % name)
            t.ok(r.header("strict-transport-security") is not None,
                 "%s: the answer carries Strict-Transport-Security" % name)
        for v, name in ((ssl.TLSVersion.TLSv1_1, "TLSv1.1"), (ssl.TLSVersion.TLSv1, "TLSv1.0")):
            try:
                version, buf = tls_exchange(srv, only(v, seclevel0=True), req)
                t.ok(False, "%s is refused" % name, "handshake succeeded with %s" % version)
            except ssl.SSLError as e:
                if "NO_PROTOCOLS_AVAILABLE" in str(e) or "NO_CIPHERS" in str(e):
                    # This client's OpenSSL cannot even offer the old protocol.
                    t.ok(True, "%s is refused # SKIP the client cannot offer %s" % (name, name))
                else:
                    t.ok(True, "%s is refused by the server (%s)" % (name, e.reason or e))
            except (ConnectionError, OSError) as e:
                t.ok(True, "%s is refused by the server (%s)" % (name, type(e).__name__))
        t.eq(srv.get("/healthz", tls=True).status, 200, "HTTPS still serves after refused handshakes")

    with t.step("HSTS"):
        cases = [("GET", "/api/data/%d" % LID, 200), ("GET", "/api/data", 200),
                 ("GET", "/api/data/424242", 404), ("GET", "/api/nothing", 404),
                 ("DELETE", "/api/data", 405), ("GET", "/api/data?limit=abc", 400),
                 ("GET", "/healthz", 200), ("GET", "/metrics", 200)]
        for method, path, status in cases:
            r = srv.request(method, path, tls=True)
            t.eq(r.status, status, "HTTPS %s %s is %d" % (method, path, status))
            hsts = r.header("strict-transport-security") or ""
            t.ok("max-age=" in hsts, "HTTPS %s %s has Strict-Transport-Security" % (method, path),
                 "got %r" % hsts)
            r = srv.request(method, path)
            t.eq(r.header("strict-transport-security"), None,
                 "plain %s %s has no Strict-Transport-Security" % (method, path))
        tag = srv.get("/api/data", tls=True).header("etag")
        r = srv.get("/api/data", tls=True, headers={"If-None-Match": tag})
        t.eq(r.status, 304, "HTTPS If-None-Match is 304")
        r = srv.get("/api/data", headers={"If-None-Match": tag})
        t.eq((r.status, r.header("strict-transport-security")), (304, None), "plain 304 has no HSTS")

    with t.step("streamed dump over TLS"):
        r = srv.get("/api/data", tls=True, timeout=30)
        t.eq(r.status, 200, "HTTPS full dump is 200")
        t.eq((r.header("transfer-encoding") or "").lower(), "chunked", "HTTPS full dump is chunked")
        t.eq(len(json.loads(r.body)), 401, "HTTPS full dump has every listing")

    with t.step("a large answer in one piece over TLS and plain HTTP"):
        # Kore writes up to 256 KB of a send buffer at once (our patch 05),
        # so one SSL_write spans many TLS records and may be retried.
        plain = srv.get("/api/data?limit=400&offset=1")
        tls = srv.get("/api/data?limit=400&offset=1", tls=True, timeout=30)
        t.eq((plain.status, tls.status), (200, 200), "limit=400: 200 on both")
        t.ok(len(tls.body) > 300000, "the page is large (%d bytes)" % len(tls.body))
        t.ok(tls.body == plain.body, "HTTPS gives the same bytes as HTTP")
        t.eq(len(json.loads(tls.body)), 400, "400 listings over HTTPS")

    with t.step("protocol confusion"):
        # Plain HTTP to the TLS port and a TLS handshake to the plain port.
        try:
            with socket.create_connection((srv.host, srv.tls_port), timeout=1) as s:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                s.recv(1000)
        except OSError:
            pass
        try:
            with socket.create_connection((srv.host, srv.port), timeout=1) as s:
                insecure_context().wrap_socket(s).close()
        except (OSError, ssl.SSLError):
            pass
        t.eq(srv.get("/healthz", tls=True).status, 200, "HTTPS serves after protocol confusion")
        t.eq(srv.get("/healthz").status, 200, "HTTP serves after protocol confusion")
        t.no_crash(srv)

    with t.step("an existing pair is kept"):
        with open(srv.cert, "rb") as f:
            cert = f.read()
        with open(srv.key, "rb") as f:
            key = f.read()
        t.eq(srv.stop(), 0, "first server stops cleanly")
        again = t.server(name="tls-again", tmp=srv.tmp)
        t.eq(again.get("/healthz", tls=True).status, 200, "second run serves HTTPS")
        with open(srv.cert, "rb") as f:
            t.ok(f.read() == cert, "second run keeps TLS_CERT")
        with open(srv.key, "rb") as f:
            t.ok(f.read() == key, "second run keeps TLS_KEY")
        again.stop()

    with t.step("half a pair"):
        d = t.tmpdir()
        os.makedirs(os.path.join(d, "cert"))
        with open(os.path.join(d, "cert", "server.pem"), "wb") as f:
            f.write(cert)
        rc, log = run_startup(tmp=d)
        t.ok(rc is not None and 0 < rc < 128, "a cert without its key stops start-up",
             "rc %r; %s" % (rc, log[-800:]))
        t.ok(any("TLS_KEY" in l for l in log.splitlines()), "the error names TLS_KEY", log[-800:])
        t.ok(not os.path.exists(os.path.join(d, "cert", "key.pem")),
             "the existing certificate is not replaced with a new pair")


if __name__ == "__main__":
    TAP.run(main)
