#!/usr/bin/env python3
"""The storefront and admin login at the HTTP level (src/pages.c,
src/admin.c, src/auth.c): security headers on every page, a CSP without
inline script, static files with caching headers and no path traversal,
conf/shop.json, the session cookie's flags over HTTP and HTTPS, wrong
passphrases slowed down and counted, logout, sessions shared by the
workers and ended by a new passphrase, cross-site requests refused for
cookie calls while the Bearer passphrase still works."""
import json
import os
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
from fbtest import REPO, TAP, Pinned, listing, parse_response, repo_cwd, run_startup  # noqa: E402,E501

ADMIN = "pages-admin-pass"
PAGES = ("/", "/detail/4100000001", "/cart", "/admin")
LID = 4100000001
GONE = 4100000002
TRAVERSALS = (
    "/static/../kore.conf", "/static/%2e%2e/kore.conf", "/static/..%2fkore.conf",
    "/static/%2e%2e%2fkore.conf", "/static/v/../../kore.conf", "/static/x/%2e%2e/%2e%2e/kore.conf",
    "/static/.gitignore", "/static/../src/pages.c", "/static//etc/passwd", "/static/%00app.css",
    "/static/app.css%00.js", "/static/..\\kore.conf", "/static/shop.html", "/static/../conf/shop.json",
)


def make_cwd(t, shop_json):
    """A working directory like the repository's with its own shop.json
    (None: none at all)."""
    return repo_cwd(t, {"shop.json": shop_json}, skip=("cert",))


def csp_directives(value):
    out = {}
    for part in (value or "").split(";"):
        words = part.split()
        if words:
            out[words[0].lower()] = words[1:]
    return out


def cookie_of(r):
    return r.header("set-cookie") or ""


def session_cookie(r):
    m = re.match(r"fb_session=([0-9a-f]{64});", cookie_of(r))
    return m.group(1) if m else None


def metric(srv, name):
    text = srv.get("/metrics").text
    m = re.search(r"^%s (\d+)$" % re.escape(name), text, re.M)
    return int(m.group(1)) if m else None


class Admin:
    def __init__(self, srv, tls=False, pinned=False):
        self.srv, self.tls = srv, tls
        port = srv.tls_port if tls else srv.port
        self.origin = "%s://127.0.0.1:%d" % ("https" if tls else "http", port)
        # A keep-alive connection: no accept hand-off between the tries
        # of a timing check.
        self.conn = Pinned(srv.host, port, tls) if pinned else None

    def _request(self, method, path, headers, body):
        if self.conn is not None:
            return self.conn.request(method, path, headers=headers, body=body)
        return self.srv.request(method, path, headers=headers, body=body, tls=self.tls)

    def login(self, passphrase, origin=True, body=None, headers=None):
        h = {"Content-Type": "application/json"}
        if origin:
            h["Origin"] = self.origin if origin is True else origin
        h.update(headers or {})
        if body is None:
            body = json.dumps({"passphrase": passphrase})
        return self._request("POST", "/api/admin/login", h, body.encode())

    def call(self, method, path, cookie, origin=True, extra=None):
        h = {"Cookie": "fb_session=%s" % cookie}
        if origin:
            h["Origin"] = self.origin if origin is True else origin
        h.update(extra or {})
        body = b"{}" if method == "POST" else None
        if body is not None:
            h["Content-Type"] = "application/json"
        return self.srv.request(method, path, headers=h, body=body, tls=self.tls)


def check_headers(t, r, what, html=True):
    csp = r.header("content-security-policy")
    d = csp_directives(csp)
    t.ok(csp is not None, "%s: has a Content-Security-Policy" % what)
    scripts = d.get("script-src", d.get("default-src", []))
    t.ok(scripts == ["'self'"], "%s: script-src is 'self' only (no inline script)" % what, csp)
    t.ok("'unsafe-inline'" not in (csp or "") and "'unsafe-eval'" not in (csp or ""),
         "%s: the CSP allows no unsafe-inline or unsafe-eval" % what, csp)
    t.eq(d.get("frame-ancestors"), ["'none'"], "%s: frame-ancestors 'none'" % what)
    t.eq(d.get("default-src"), ["'none'"], "%s: default-src 'none'" % what)
    t.eq(r.header("x-content-type-options"), "nosniff", "%s: X-Content-Type-Options nosniff" % what)
    t.ok(r.header("referrer-policy") in ("same-origin", "no-referrer", "strict-origin-when-cross-origin"),
         "%s: a Referrer-Policy" % what, r.header("referrer-policy"))
    t.eq(r.header("x-frame-options"), "DENY", "%s: X-Frame-Options DENY" % what)
    if html:
        t.match(r.header("content-type") or "", r"^text/html; charset=utf-8$", "%s: HTML, UTF-8" % what)


def check_pages(t, srv):
    with t.step("pages"):
        for path in PAGES:
            r = srv.get(path)
            t.eq(r.status, 200, "GET %s: 200" % path)
            check_headers(t, r, path)
            html = r.text
            t.ok(re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html) is None,
                 "%s: no inline <script>" % path)
            t.ok(re.search(r"\son[a-z]+\s*=", html) is None, "%s: no inline event handler" % path)
            t.ok(re.search(r"\sstyle\s*=", html) is None, "%s: no inline style" % path)
            t.ok(re.search(r"https?://", html) is None,
                 "%s: no external script, style or font (no absolute URL at all)" % path)
            t.match(html, r'<html lang="en">', "%s: the page names its language" % path)
            t.match(html, r'<meta name="viewport"', "%s: a viewport for phones" % path)
            t.eq(r.header("cache-control"), "no-cache", "%s: pages are revalidated" % path)
            etag = r.header("etag")
            r2 = srv.get(path, headers={"If-None-Match": etag or "x"})
            t.eq(r2.status, 304, "%s: If-None-Match gives 304" % path)
            h = srv.request("HEAD", path)
            t.ok(h.status == 200 and h.body == b"", "HEAD %s: 200 without a body" % path)
            r = srv.request("POST", path, body=b"")
            t.eq(r.status, 405, "POST %s: 405" % path)
            t.eq(r.header("allow"), "GET, HEAD", "POST %s: Allow GET, HEAD" % path)
        html = srv.get("/").text
        t.match(html, r"<title>Freakinbeats</title>", "/: the title is the shop name from conf/shop.json")
        refs = re.findall(r'(?:src|href)="(/static/[^"]+)"', html)
        t.ok(len(refs) >= 3, "/: links its script, style and icon under /static/", refs)
        total = len(srv.get("/").body)
        for ref in refs:
            r = srv.get(ref)
            t.eq(r.status, 200, "%s: 200" % ref)
            total += len(r.body)
        t.ok(total < 60 * 1024, "/: the page, its CSS and scripts weigh %d bytes (< 60 KB, data aside)" % total)

    with t.step("detail pages"):
        t.eq(srv.get("/detail/%d" % LID).status, 200, "/detail of a listing for sale: 200")
        t.eq(srv.get("/detail/%d" % GONE).status, 200, "/detail of a removed listing: 200, not an error")
        for bad in ("/detail/999", "/detail/abc", "/detail/%2e%2e", "/detail/1%20OR%201=1",
                    "/detail/99999999999999999999999"):
            r = srv.get(bad)
            t.eq(r.status, 404, "%s: 404" % bad)
            check_headers(t, r, bad)


def check_static(t, srv):
    with t.step("static files"):
        html = srv.get("/").text
        ref = re.search(r'href="(/static/([0-9a-f]{16})/app\.css)"', html)
        t.ok(ref is not None, "/: the stylesheet is under a versioned folder")
        if ref is None:
            return
        path, version = ref.group(1), ref.group(2)
        r = srv.get(path)
        t.eq(r.status, 200, "%s: 200" % path)
        t.eq(r.header("content-type"), "text/css; charset=utf-8", "app.css: text/css")
        cc = r.header("cache-control") or ""
        t.ok("max-age=31536000" in cc and "immutable" in cc,
             "a versioned static file is cached for a year, immutable", cc)
        check_headers(t, r, "app.css", html=False)
        etag = r.header("etag")
        t.match(etag or "", r'^"[0-9a-f]{16}"$', "static files carry a strong ETag")
        r2 = srv.get(path, headers={"If-None-Match": etag})
        t.ok(r2.status == 304 and r2.body == b"", "If-None-Match on a static file: 304, no body")
        js = srv.get("/static/%s/common.js" % version)
        t.eq(js.header("content-type"), "text/javascript; charset=utf-8", "common.js: text/javascript")
        svg = srv.get("/static/%s/favicon.svg" % version)
        t.eq(svg.header("content-type"), "image/svg+xml", "favicon.svg: image/svg+xml")
        plain = srv.get("/static/app.css")
        t.ok(plain.status == 200 and plain.header("cache-control") == "no-cache",
             "an unversioned static URL works and is revalidated", plain.header("cache-control"))
        old = srv.get("/static/0123456789abcdef/app.css")
        t.ok(old.status == 200 and old.header("cache-control") == "no-cache",
             "an old version still gets the file, revalidated, not cached for a year")
        t.eq(srv.get("/static/%s/nope.js" % version).status, 404, "a missing static file: 404")
        t.eq(srv.get("/static/").status, 404, "/static/ alone: 404")
        t.eq(srv.request("POST", path, body=b"").status, 405, "POST to a static file: 405")
        secret = open(os.path.join(REPO, "kore.conf"), "rb").read()[:60]
        for bad in TRAVERSALS:
            raw = srv.raw(("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
                           % bad).encode("latin-1"))
            try:
                r = parse_response(raw)
            except ValueError:
                t.ok(False, "%s: an answer" % bad, raw[:200])
                continue
            t.ok(r.status in (400, 404) and secret not in r.body and b"fb_pages" not in r.body,
                 "%s: %d, and nothing outside src/web/static is read" % (bad, r.status))


def check_login(t, srv):
    a = Admin(srv)
    with t.step("admin session route"):
        r = srv.get("/api/admin/session")
        t.eq(r.status, 200, "/api/admin/session: 200")
        t.eq(r.json(), {"enabled": True, "admin": False, "via": None, "expires_at": None},
             "/api/admin/session: enabled, not admin")
        r = srv.get("/api/admin/session", headers={"Authorization": "Bearer " + ADMIN})
        t.eq((r.json() or {}).get("via"), "bearer", "/api/admin/session knows a Bearer caller")
        r = srv.get("/api/admin/login")
        t.eq(r.status, 405, "GET /api/admin/login: 405")
        t.eq(r.header("allow"), "POST", "GET /api/admin/login: Allow POST")

    with t.step("login"):
        r = a.login(ADMIN, origin=False)
        t.json_error(r, 403, "login without Origin or Sec-Fetch-Site", names=("cross-site",))
        r = a.login(ADMIN, origin="http://evil.example")
        t.json_error(r, 403, "login from another site", names=("cross-site",))
        r = a.login(ADMIN, headers={"Sec-Fetch-Site": "cross-site"})
        t.json_error(r, 403, "login with Sec-Fetch-Site: cross-site")
        r = a.login(None, body="{not json")
        t.json_error(r, 400, "login with a body that is not JSON")
        r = a.login(None, body='{"passphrase": 5}')
        t.json_error(r, 400, "login with a passphrase that is not a string", names=("passphrase",))
        r = a.login(ADMIN)
        t.eq(r.status, 200, "login with the passphrase: 200")
        ck = cookie_of(r)
        t.match(ck, r"^fb_session=[0-9a-f]{64}; ", "the session cookie holds a 256-bit token")
        for attr in ("HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"):
            t.ok(("; %s" % attr) in ck, "the cookie has %s" % attr, ck)
        t.match(ck, r"; Expires=\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT", "the cookie has an Expires date")
        t.ok("Secure" not in ck, "no Secure flag over plain HTTP (the browser would drop it)", ck)
        t.ok("Domain=" not in ck, "no Domain: the cookie stays on this host", ck)
        t.eq(r.header("cache-control"), "no-store", "the login answer is not cached")
        body = r.json_or_none() or {}
        t.ok(body.get("admin") is True and isinstance(body.get("expires_at"), str),
             "the login answers admin and expires_at", body)
        token = session_cookie(r)
        rows = srv.db().execute("SELECT token_hash FROM admin_sessions").fetchall()
        t.ok(token and rows and all(token not in r0[0] for r0 in rows),
             "sessions are stored, but never the token itself")
    return token


def check_cookie_calls(t, srv, token):
    a = Admin(srv)
    with t.step("the cookie on admin calls"):
        r = a.call("GET", "/api/plugins", token)
        t.eq(r.status, 200, "GET /api/plugins with the session cookie: 200")
        r = a.call("GET", "/api/plugins", token, origin=False)
        t.eq(r.status, 200, "GET /api/plugins with the cookie, no Origin (a navigation): 200")
        r = a.call("GET", "/api/admin/session", token)
        body = r.json_or_none() or {}
        t.ok(body.get("via") == "cookie" and body.get("expires_at"), "/api/admin/session: via cookie", body)
        r = a.call("POST", "/api/sync", token)
        t.json_error(r, 409, "POST /api/sync with the cookie from our page passes auth (no token: 409)",
                     names=("DISCOGS_TOKEN",))
        r = a.call("POST", "/api/sync", token, extra={"Sec-Fetch-Site": "same-origin"})
        t.eq(r.status, 409, "the cookie with Sec-Fetch-Site: same-origin passes auth")
        for what, origin, extra in (
                ("another site's Origin", "http://evil.example", None),
                ("a look-alike Origin", "http://127.0.0.1:%d.evil.example" % srv.port, None),
                ("the HTTPS Origin on plain HTTP", "https://127.0.0.1:%d" % srv.port, None),
                ("Origin null", "null", None),
                ("Sec-Fetch-Site: cross-site", True, {"Sec-Fetch-Site": "cross-site"}),
                ("Sec-Fetch-Site: same-site", True, {"Sec-Fetch-Site": "same-site"}),
                ("no Origin and no Sec-Fetch-Site", False, None)):
            r = a.call("POST", "/api/sync", token, origin=origin, extra=extra)
            t.json_error(r, 403, "POST /api/sync with the cookie and %s" % what, names=("cross-site",))
        r = a.call("GET", "/api/plugins", token, origin="http://evil.example")
        t.eq(r.status, 403, "GET /api/plugins with the cookie from another site: 403")
        r = srv.request("POST", "/api/sync", headers={"Authorization": "Bearer " + ADMIN,
                                                       "Origin": "http://evil.example"})
        t.eq(r.status, 409, "the Bearer passphrase works without any Origin check")
        r = srv.request("POST", "/api/sync", headers={"Authorization": "Bearer wrong",
                                                       "Cookie": "fb_session=%s" % token,
                                                       "Origin": a.origin})
        t.eq(r.status, 401, "a wrong Bearer is refused even with a good cookie")
        for bad in ("0" * 64, token[:-1], token + "0", token.upper(), ""):
            r = a.call("GET", "/api/plugins", bad)
            t.eq(r.status, 401, "a forged or damaged cookie (%d chars): 401" % len(bad))
        r = srv.get("/api/plugins", headers={"Cookie": "x=1; fb_session=%s; y=2" % token,
                                             "Origin": a.origin})
        t.eq(r.status, 200, "the session cookie among other cookies")

    with t.step("sessions on every worker"):
        conns = srv.per_worker()
        if len(conns) < 2:          # a busy machine: try harder once
            for c in conns.values():
                c.close()
            conns = srv.per_worker(rounds=200)
        t.eq(len(conns), 2, "a connection on each of the two workers")
        for pid, c in conns.items():
            r = c.get("/api/plugins", headers={"Cookie": "fb_session=%s" % token})
            t.eq(r.status, 200, "worker %d accepts the session" % pid)
            c.close()


def check_throttle(t, srv):
    a = Admin(srv, pinned=True)
    with t.step("wrong passphrases are slowed down and counted"):
        f0 = metric(srv, "fb_admin_login_failures_total")
        th0 = metric(srv, "fb_admin_login_throttled_total")
        t.ok(f0 is not None and th0 is not None, "/metrics has the login counters")
        r = a.login("wrong one")
        t.json_error(r, 401, "a wrong passphrase")
        t.ok("set-cookie" not in [k.lower() for k, _ in r.headers], "no cookie for a wrong passphrase")
        r = a.login("wrong two")
        t.json_error(r, 429, "a second try at once must wait")
        t.eq(r.header("retry-after"), "1", "429 after one failure: Retry-After 1")
        r = a.login(ADMIN)
        t.eq(r.status, 429, "even the right passphrase waits its turn")
        time.sleep(1.1)
        r = a.login("wrong three")
        t.eq(r.status, 401, "after the wait, a try is heard again")
        r = a.login("wrong four")
        t.eq(r.status, 429, "the second failure in a row waits longer")
        t.eq(r.header("retry-after"), "2", "Retry-After doubles to 2")
        t.eq(metric(srv, "fb_admin_login_failures_total"), (f0 or 0) + 2, "failures are counted")
        t.eq(metric(srv, "fb_admin_login_throttled_total"), (th0 or 0) + 3, "refused early tries are counted")
        text = srv.get("/metrics").text
        t.match(text, r'fb_http_requests_total\{route="/api/admin/login",status="401"\} \d+',
                "/metrics counts login answers by status")
        for route in ("/", "/detail/{listing_id}", "/cart", "/admin", "/static"):
            t.match(text, r'fb_http_requests_total\{route="%s",status="200"\} \d+' % re.escape(route),
                    "/metrics counts the page route %s" % route)
        time.sleep(2.1)
        r = a.login(ADMIN)
        t.eq(r.status, 200, "after the wait the right passphrase logs in")
        r = a.login("wrong five")
        t.eq(r.status, 401, "a success resets the count")
        a.conn.close()
        time.sleep(1.1)


def check_logout(t, srv, token):
    a = Admin(srv)
    with t.step("logout"):
        r = a.call("POST", "/api/admin/logout", token, origin="http://evil.example")
        t.eq(r.status, 403, "logout from another site: 403")
        t.eq(a.call("GET", "/api/plugins", token).status, 200, "the session survives that")
        r = a.call("POST", "/api/admin/logout", token)
        t.eq(r.status, 200, "logout: 200")
        ck = cookie_of(r)
        t.ok(ck.startswith("fb_session=;") and "Max-Age=0" in ck and "1970" in ck,
             "logout clears the cookie", ck)
        t.eq(a.call("GET", "/api/plugins", token).status, 401, "the old session no longer works")
        t.eq(a.call("POST", "/api/sync", token).status, 401, "not for POST either")


def check_tls(t, srv):
    a = Admin(srv, tls=True)
    with t.step("over TLS"):
        for path in PAGES:
            r = srv.get(path, tls=True)
            t.eq(r.status, 200, "HTTPS %s: 200" % path)
            check_headers(t, r, "HTTPS %s" % path)
            t.ok((r.header("strict-transport-security") or "").startswith("max-age="),
                 "HTTPS %s: HSTS" % path)
        r = a.login(ADMIN)
        t.eq(r.status, 200, "login over HTTPS: 200")
        ck = cookie_of(r)
        t.ok("; Secure" in ck and "; HttpOnly" in ck and "SameSite=Strict" in ck,
             "over TLS the cookie is Secure, HttpOnly, SameSite=Strict", ck)
        token = session_cookie(r)
        t.eq(a.call("POST", "/api/sync", token).status, 409, "the HTTPS session passes auth")
        r = a.call("POST", "/api/sync", token, origin="http://127.0.0.1:%d" % srv.tls_port)
        t.eq(r.status, 403, "an http:// Origin on the HTTPS listener is another origin")
    return token


def check_shop_conf(t):
    with t.step("conf/shop.json"):
        conf = {"name": "Crate <Diggers> & \"Sons\"", "intro": "Soul 'n' <b>jazz</b>.",
                "checkout": "email", "order_email": "orders@crate.example"}
        srv = t.server(cwd=make_cwd(t, json.dumps(conf)), tls=False, name="shopconf")
        html = srv.get("/").text
        t.ok("<title>Crate &lt;Diggers&gt; &amp; &quot;Sons&quot;</title>" in html,
             "the shop name shows, HTML-escaped", re.search(r"<title>.*</title>", html))
        t.ok("Soul &#39;n&#39; &lt;b&gt;jazz&lt;/b&gt;." in html, "the intro shows, HTML-escaped")
        t.ok('data-checkout="email"' in html and 'data-order-email="orders@crate.example"' in html,
             "the checkout settings reach the page")
        t.ok("<b>" not in html, "no markup from the settings gets through")
        srv.stop()
        srv = t.server(cwd=make_cwd(t, None), tls=False, name="noshopconf")
        t.match(srv.get("/").text, r"<title>Freakinbeats</title>", "without conf/shop.json the defaults apply")
        srv.stop()
        for text, words in (('{"name": "x",}', ("conf/shop.json:1",)),
                            ('{"name": "x", "colour": "red"}', ("conf/shop.json", "colour")),
                            ('{"checkout": "paypal"}', ("conf/shop.json", "checkout", "paypal")),
                            ('{"checkout": "email"}', ("conf/shop.json", "order_email")),
                            ('{"order_email": "a@b.c?cc=x@y.z"}', ("conf/shop.json", "order_email")),
                            ('{"name": ""}', ("conf/shop.json", "name"))):
            rc, log = run_startup(t.tmpdir(), cwd=make_cwd(t, text), env={"TLS_PORT": 0})
            line = [l for l in log.splitlines() if "shop.json" in l]
            t.ok(rc not in (0, None) and line and all(w in line[0] for w in words),
                 "bad conf/shop.json %s stops start-up naming %s" % (text, ", ".join(words)), log[-800:])


def check_disabled(t):
    with t.step("no ADMIN_PASSPHRASE"):
        srv = t.server(tls=False, name="noadmin", env={"ADMIN_PASSPHRASE": ""})
        t.eq(srv.get("/admin").status, 200, "/admin still shows (and says admin is off)")
        t.eq(srv.get("/api/admin/session").json().get("enabled"), False, "/api/admin/session: not enabled")
        a = Admin(srv)
        t.json_error(a.login(""), 403, "login with no passphrase set", names=("ADMIN_PASSPHRASE",))
        t.json_error(a.login("anything"), 403, "any login with no passphrase set")
        srv.stop()


def check_new_passphrase(t, srv, token):
    with t.step("a new passphrase ends the sessions"):
        a = Admin(srv)
        t.eq(a.call("GET", "/api/plugins", token).status, 200, "the session works before the restart")
        srv.stop()
        srv2 = t.server(tls=False, name="newpass", empty=False, db_path=srv.db_path,
                        env={"ADMIN_PASSPHRASE": "another-pass", "DATABASE_URL": srv.db_path})
        a2 = Admin(srv2)
        t.eq(a2.call("GET", "/api/plugins", token).status, 401, "after a restart with a new passphrase: 401")
        srv2.stop()


def main(t):
    srv = t.server(env={"ADMIN_PASSPHRASE": ADMIN})
    srv.seed([listing(LID), listing(GONE, is_active=0, removed_at="2024-02-01T00:00:00Z")])
    check_pages(t, srv)
    check_static(t, srv)
    token = check_login(t, srv)
    if token:
        check_cookie_calls(t, srv, token)
    check_throttle(t, srv)
    if token:
        check_logout(t, srv, token)
    tls_token = check_tls(t, srv)
    t.no_crash(srv)
    if tls_token:
        check_new_passphrase(t, srv, tls_token)
    check_shop_conf(t)
    check_disabled(t)


if __name__ == "__main__":
    TAP.run(main)
