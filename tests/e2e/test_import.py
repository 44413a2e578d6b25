#!/usr/bin/env python3
"""build/freakinbeats import on messy files, against the real CLI and a
running server: every kind of bad row with its exact line number, BOM,
CRLF, multi-line quoted fields, 64-bit ids, exact money and unicode,
Discogs' own inventory export, the modes (re-import, --dry-run, --strict,
--clear-db), usage errors, the summary and progress lines, and a running
server that sees an import without a restart."""
import collections
import os
import re
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from fbtest import CLI, TAP, base_env  # noqa: E402

EXACT_ID = 9007199254740993          # 2^53 + 1: a double would make it ...992
BIG_ID = 3639550236                  # > 2^32
MAX_ID = 9223372036854775807         # INT64_MAX

DISCOGS_HEADER = ("listing_id,artist,title,label,catno,format,release_id,status,price,"
                  "listed,comments,media_condition,sleeve_condition,accept_offer,"
                  "external_id,weight,format_quantity,flat_shipping,location")

Run = collections.namedtuple("Run", "rc out err")


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------

def write(d, name, data):
    """Write data (bytes, or str as UTF-8 as it is) to d/name; the path."""
    path = os.path.join(d, name)
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode("utf-8"))
    return path


def run_import(t, db_url, *args, timeout=120):
    """build/freakinbeats import ARGS with DATABASE_URL=db_url, run from an
    empty folder (no .env), stdin not a terminal and output captured (so not
    a TTY either)."""
    env = base_env(DATABASE_URL=db_url, DISCOGS_TOKEN="", LOG_LEVEL="info")
    p = subprocess.run([CLI, "import"] + list(args), cwd=t.tmpdir("fb-import-cwd-"),
                       env=env, stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=timeout)
    return Run(p.returncode, p.stdout.decode("utf-8", "replace"),
               p.stderr.decode("utf-8", "replace"))


SUMMARY_KEYS = ("rows", "added", "updated", "unchanged", "skipped")


def summary(run):
    """The summary line's counts {rows, added, ..., seconds}, or None.
    Accepts `rows 3`, `rows: 3` or `rows=3`, and `0.12 s`/`0.12 seconds`."""
    for line in (run.out + "\n" + run.err).splitlines():
        got = {}
        for k in SUMMARY_KEYS:
            m = re.search(r"\b%s\b[:=]?\s*(\d+)" % k, line)
            if m:
                got[k] = int(m.group(1))
        if len(got) == len(SUMMARY_KEYS):
            m = re.search(r"(\d+(?:\.\d+)?)\s*(?:s|sec|secs|seconds)\b", line)
            got["seconds"] = float(m.group(1)) if m else None
            got["line"] = line
            return got
    return None


def counts(run):
    s = summary(run)
    return None if s is None else tuple(s[k] for k in SUMMARY_KEYS)


ERR_RE = re.compile(r"(?:^|\s)line (\d+): (.*)$")


def row_errors(run):
    """{line number: [messages]} from the stderr lines `line N: ...`
    (warnings about the header are not row errors)."""
    out = collections.defaultdict(list)
    for line in run.err.splitlines():
        if "warning" in line.lower():
            continue
        m = ERR_RE.search(line)
        if m:
            out[int(m.group(1))].append(m.group(2))
    return dict(out)


def eqd(t, got, want, desc, extra):
    """t.eq with more diagnostics."""
    return t.ok(got == want, desc, "got %r expected %r\n%s" % (got, want, extra))


def diag(run):
    return "exit %s\nstdout: %r\nstderr: %r" % (run.rc, run.out[-1500:], run.err[-3000:])


def item(srv, lid):
    """GET /api/data/{lid}: (status, object or None, raw text)."""
    r = srv.get("/api/data/%s" % lid)
    return r.status, r.json_or_none() if r.status == 200 else None, r.text


def active_ids(srv):
    r = srv.get("/api/data")
    return sorted(int(x["listing_id"]) for x in (r.json_or_none() or []))


def db_count(path):
    c = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=10)
    try:
        return c.execute("SELECT count(*) FROM listings").fetchone()[0]
    finally:
        c.close()


def flat(header, rows, eol="\n"):
    """A CSV in the original's export format: rows are lists of str, quoted
    when they hold a comma, quote or line break."""
    def q(v):
        v = "" if v is None else str(v)
        if any(c in v for c in ',"\r\n'):
            return '"' + v.replace('"', '""') + '"'
        return v
    return eol.join([",".join(header)] + [",".join(q(v) for v in r) for r in rows]) + eol


# --------------------------------------------------------------------------
# the test
# --------------------------------------------------------------------------

def main(t):
    srv = t.server(name="import")
    db = srv.db_path
    d = t.tmpdir()

    def alive(desc):
        t.eq(srv.get("/healthz").status, 200, "%s: /healthz still 200" % desc)

    # -- bad rows ------------------------------------------------------------
    with t.step("bad rows: reported with their line numbers, skipped, exit 1"):
        lines = [
            "listing_id,release_title,primary_artist,price_value,release_year,comments",  # 1
            "1001,Good One,Artist A,10.00,1990,fine",                                      # 2
            ",No Id,Artist B,11.00,1991,missing id",                                       # 3
            '1002,Good Two,Artist C,12.00,1992,"a comment',                               # 4
            "over three lines, with commas",                                               # 5
            'and ""quotes"""',                                                             # 6
            "1003,Bad Price,Artist D,twelve,1993,x",                                       # 7
            "1004,Bad Year,Artist E,13.00,19x3,x",                                         # 8
            "1005,Too Few,Artist F,14.00",                                                 # 9
            None,                                                                          # 10
            '1007,Good Three,Artist H,16.00,1995,"two',                                   # 11
            'lines"',                                                                      # 12
            "1008,Bad Price After Multiline,Artist I,1.2.3,1996,x",                        # 13
            "1009,Too Many,Artist J,17.00,1997,x,extra",                                   # 14
            "1010,Good Four,Artist K,18.50,1998,last",                                     # 15
        ]
        data = b""
        for l in lines:
            if l is None:   # line 10: invalid UTF-8 in primary_artist
                data += b"1006,Bad UTF8,Artist \xff\xfe G,15.00,1994,x\n"
            else:
                data += l.encode("utf-8") + b"\n"
        run = run_import(t, db, write(d, "bad.csv", data))
        eqd(t, run.rc, 1, "a file with bad rows: exit status 1", diag(run))
        errs = row_errors(run)
        eqd(t, sorted(errs), [3, 7, 8, 9, 10, 13, 14],
            "stderr reports exactly the bad lines 3, 7, 8, 9, 10, 13, 14 "
            "(line numbers count the lines of the multi-line fields)", diag(run))
        t.ok(all(len(v) == 1 for v in errs.values()), "each bad row is reported once",
             repr(errs))
        expect = {
            3: (r"^listing_id: \S", "missing listing_id"),
            7: (r"^price_value: \S", "a price that is not a number"),
            8: (r"^release_year: \S", "a year that is not a number"),
            9: (r"\bfields?\b", "too few fields"),
            10: (r"^primary_artist: .*(?i:utf-?8)", "invalid UTF-8"),
            13: (r"^price_value: \S", "a bad price after a multi-line record"),
            14: (r"\bfields?\b", "too many fields"),
        }
        for n, (pat, what) in sorted(expect.items()):
            msg = (errs.get(n) or [None])[0]
            t.match(msg, pat, "line %d (%s): reported as `line %d: %s`" % (
                n, what, n, "column: reason" if pat.startswith("^") else "... fields ..."))
        for n in (7, 13):
            t.ok(errs.get(n) and ("twelve" in errs[n][0] or "1.2.3" in errs[n][0]),
                 "line %d: the reason quotes the bad value" % n, repr(errs.get(n)))
        eqd(t, counts(run), (11, 4, 0, 0, 7),
            "summary: rows 11, added 4, updated 0, unchanged 0, skipped 7", diag(run))
        for lid in (1001, 1002, 1007, 1010):
            t.eq(item(srv, lid)[0], 200, "good row %d was written" % lid)
        for lid in (1003, 1004, 1005, 1006, 1008, 1009):
            t.eq(item(srv, lid)[0], 404, "bad row %d was skipped" % lid)
        st, x, text = item(srv, 1002)
        t.eq((x or {}).get("comments"), 'a comment\nover three lines, with commas\nand "quotes"',
             "a multi-line quoted field with commas and doubled quotes is read whole")
        t.eq((x or {}).get("release_year"), 1992, "the row after it is read normally")
        st, x, text = item(srv, 1007)
        t.eq((x or {}).get("comments"), "two\nlines", "a second multi-line field")
        t.match(item(srv, 1010)[2], r'"price_value":\s*18\.5[,}]', "18.50 comes back as 18.5")

    with t.step("a bad value holding a line break is reported on one line"):
        data = ('listing_id,release_title,price_value\n'
                '1101,Ok,1.00\n'
                '1102,Bad,"12\nline, two"\n'
                '1103,Ok,2.00\n')
        run = run_import(t, db, write(d, "badnl.csv", data))
        eqd(t, run.rc, 1, "exit status 1", diag(run))
        errs = row_errors(run)
        eqd(t, sorted(errs), [3], "the bad record is reported as line 3, and no other "
            "stderr line looks like a row error", diag(run))
        t.match((errs.get(3) or [""])[0], r"^price_value: ", "line 3: price_value: reason")
        known = re.compile(r"^(line \d+: |warning|import|freakinbeats|\S+\[\d+\] )|\d+\s*%")
        stray = [l for l in run.err.splitlines() if l.strip() and not known.search(l)]
        eqd(t, stray, [], "the bad value's line break does not split the message "
            "(no stray continuation line on stderr)", diag(run))
        t.eq([item(srv, i)[0] for i in (1101, 1102, 1103)], [200, 404, 200],
             "the good rows around it are written")

    with t.step("an id that is not digits, and a quote never closed at the end"):
        data = ('listing_id,release_title,price_value\n'
                'abc,Id not digits,1.00\n'
                '1202,Fine,2.00\n'
                '1203,"never closed,3.00\n'
                '1204,swallowed,4.00\n')
        run = run_import(t, db, write(d, "unclosed.csv", data))
        eqd(t, run.rc, 1, "exit status 1", diag(run))
        errs = row_errors(run)
        t.ok(2 in errs and (errs[2][0].startswith("listing_id: ")),
             "line 2: listing_id: reason (an id that is not digits)", diag(run))
        t.ok(4 in errs, "line 4: the quoted field never closed is reported at the line it "
             "starts on", diag(run))
        t.eq(item(srv, 1202)[0], 200, "the good row before it is written")
        alive("unclosed quote")

    with t.step("line numbers in a CRLF file with a BOM, multi-line fields and a blank line"):
        lines = ["listing_id,release_title,price_value,comments",   # 1 (after the BOM)
                 '8001,A,1.00,"x',                                  # 2
                 'y"',                                              # 3
                 "",                                                # 4 blank
                 "8002,B,bad,z",                                    # 5
                 '8003,C,2.00,"p',                                  # 6
                 "q",                                               # 7
                 'r"',                                              # 8
                 ",D,3.00,none",                                    # 9
                 "8004,E,4.00,ok"]                                  # 10, no final CRLF
        data = b"\xef\xbb\xbf" + "\r\n".join(lines).encode("utf-8")
        run = run_import(t, db, write(d, "crlfbad.csv", data))
        t.eq(run.rc, 1, "exit status 1")
        errs = row_errors(run)
        eqd(t, sorted(errs), [5, 9], "CRLF file: the bad rows are lines 5 and 9", diag(run))
        t.match((errs.get(5) or [""])[0], r"^price_value: \S", "line 5: price_value: reason")
        t.match((errs.get(9) or [""])[0], r"^listing_id: \S", "line 9: listing_id: reason")
        s = summary(run) or {}
        eqd(t, (s.get("added"), s.get("skipped")), (3, 2),
            "CRLF file: added 3, skipped 2 (a blank line is not a bad row)", diag(run))
        t.eq([item(srv, i)[0] for i in (8001, 8002, 8003, 8004)], [200, 404, 200, 200],
             "CRLF file: the good rows are written, the bad one is not")
        c = (item(srv, 8003)[1] or {}).get("comments")
        t.eq(c.replace("\r\n", "\n") if isinstance(c, str) else c, "p\nq\nr",
             "CRLF file: a three-line field is read whole")

    # -- encodings -----------------------------------------------------------
    with t.step("BOM, CRLF, multi-line quoted fields, 64-bit ids, unicode, exact money"):
        header = ("listing_id,release_title,primary_artist,artist_names,price_value,"
                  "shipping_price,comments,release_id,label_names")
        rows = [
            '%d,Homogenic,Björk,"Björk, Mark Bell",12.5,0.99,"Line one, with a comma\r\n'
            'Second ""quoted"" line\r\nthird",%d,One Little Indian' % (EXACT_ID, EXACT_ID),
            '%d,戦場のメリークリスマス,坂本龍一,坂本龍一,1234567.89,,"",1,Virgin' % BIG_ID,
            '%d,Max,Zed,Zed,0.10,0,plain,2,"Label, Inc."' % MAX_ID,
            # The last row has no final CRLF.
            '77,"Quoted ""title""",Sigur Rós,Sigur Rós,60.00,5,"a, b",3,Über Label',
        ]
        data = b"\xef\xbb\xbf" + ("\r\n".join([header] + rows)).encode("utf-8")
        run = run_import(t, db, write(d, "crlf.csv", data))
        eqd(t, run.rc, 0, "BOM + CRLF file imports with exit 0", diag(run))
        eqd(t, counts(run), (4, 4, 0, 0, 0), "summary: rows 4, added 4, skipped 0", diag(run))
        st, x, text = item(srv, EXACT_ID)
        x = x or {}
        t.eq(st, 200, "GET /api/data/%d is 200" % EXACT_ID)
        t.ok(re.search(r'"listing_id":\s*"9007199254740993"', text) is not None,
             "2^53+1 round-trips exactly, as a string", text[:200])
        t.eq(x.get("release_id"), str(EXACT_ID), "release_id 2^53+1 round-trips exactly")
        t.match(text, r'"price_value":\s*12\.5[,}]', "price 12.5 comes back as exactly 12.5")
        t.match(text, r'"shipping_price":\s*0\.99[,}]', "shipping 0.99 comes back exactly")
        t.eq(x.get("primary_artist"), "Björk", "Björk round-trips (first column after the BOM "
             "is listing_id, so the header was recognised)")
        t.eq(x.get("artist_names"), "Björk, Mark Bell", "a quoted field with a comma")
        t.eq(x.get("label_names"), "One Little Indian",
             "the last field of a CRLF line carries no CR")
        c = x.get("comments")
        t.eq(c.replace("\r\n", "\n") if isinstance(c, str) else c,
             'Line one, with a comma\nSecond "quoted" line\nthird',
             "a multi-line quoted field with commas and doubled quotes round-trips")
        st, x, text = item(srv, BIG_ID)
        x = x or {}
        t.eq(x.get("listing_id"), str(BIG_ID), "an id above 2^32 round-trips")
        t.eq(x.get("primary_artist"), "坂本龍一", "坂本龍一 round-trips")
        t.eq(x.get("release_title"), "戦場のメリークリスマス", "a CJK title round-trips")
        t.match(text, r'"price_value":\s*1234567\.89[,}]', "1234567.89 comes back exactly")
        t.eq(x.get("shipping_price"), None, "an empty shipping_price is null")
        st, x, text = item(srv, MAX_ID)
        t.eq((x or {}).get("listing_id"), str(MAX_ID), "INT64_MAX id round-trips")
        t.match(text, r'"price_value":\s*0\.1[,}]', "0.10 comes back as 0.1")
        t.match(text, r'"shipping_price":\s*0(\.0)?[,}]', "a shipping price of 0 is 0, not null")
        t.eq((x or {}).get("label_names"), "Label, Inc.", "a quoted last field before CRLF")
        st, x, text = item(srv, 77)
        x = x or {}
        t.eq(x.get("release_title"), 'Quoted "title"', "doubled quotes in a title")
        t.eq(x.get("primary_artist"), "Sigur Rós", "Sigur Rós round-trips")
        t.eq(x.get("label_names"), "Über Label", "the last row without a final line end")
        t.match(text, r'"price_value":\s*60\.0[,}]', "60.00 comes back as 60.0")
        # Listed in the list too, with the same exact values.
        full = srv.get("/api/data").text
        t.match(full, r'"listing_id":\s*"9007199254740993"', "the list carries the exact id")
        t.match(full, r'"price_value":\s*1234567\.89[,}]', "the list carries the exact price")

    # -- Discogs' own export -------------------------------------------------
    with t.step("Discogs' inventory export header is recognised and mapped"):
        rows = [
            '5001,Björk,Homogenic,One Little Indian,TPLP71,"LP, Album, RE",9001,For Sale,'
            '24.99,2024-02-03T04:05:06-08:00,"Shrink on, ""hype"" sticker",'
            'Near Mint (NM or M-),Very Good Plus (VG+),Y,EXT-1,230,1,5.50,Shelf B2',
            '5002,Aphex Twin,Selected Ambient Works 85-92,Apollo,AMB 3922,CD,9002,For Sale,'
            '12.5,2023-12-01T10:00:00+00:00,,Mint (M),Generic,N,,100,2,0,',
            '%d,坂本龍一,Coda,Japan Record,JAL-1001,"Vinyl, LP",%d,Draft,1234567.89,'
            '2022-01-01T00:00:00Z,"two\nlines",Good (G),Poor (P),N,,,,,' % (EXACT_ID + 2, EXACT_ID),
        ]
        run = run_import(t, db, write(d, "discogs.csv", "\n".join([DISCOGS_HEADER] + rows) + "\n"))
        eqd(t, run.rc, 0, "Discogs export imports with exit 0", diag(run))
        eqd(t, counts(run), (3, 3, 0, 0, 0), "summary: rows 3, added 3", diag(run))
        eqd(t, [l for l in run.err.splitlines() if re.search(r"(?i)warn|not in|ignored|unknown", l)],
            [], "no column of Discogs' own header is reported as unknown", diag(run))
        st, x, text = item(srv, 5001)
        x = x or {}
        t.eq(st, 200, "listing 5001 from the Discogs export exists")
        for key, want in (("primary_artist", "Björk"), ("artist_names", "Björk"),
                          ("release_title", "Homogenic"), ("label_names", "One Little Indian"),
                          ("primary_label", "One Little Indian"),
                          ("catalog_number", "TPLP71"), ("format_names", "LP, Album, RE"),
                          ("primary_format", "LP"), ("release_id", "9001"),
                          ("status", "For Sale"), ("posted", "2024-02-03T04:05:06-08:00"),
                          ("comments", 'Shrink on, "hype" sticker'),
                          ("condition", "Near Mint (NM or M-)"),
                          ("sleeve_condition", "Very Good Plus (VG+)"),
                          ("external_id", "EXT-1"), ("format_quantity", 1),
                          ("location", "Shelf B2")):
            t.eq(x.get(key), want, "Discogs export: %s = %r" % (key, want))
        t.match(text, r'"price_value":\s*24\.99[,}]', "Discogs export: price -> price_value 24.99")
        t.match(text, r'"shipping_price":\s*5\.5[,}]',
                "Discogs export: flat_shipping -> shipping_price 5.5")
        t.ok(isinstance(x.get("weight"), (int, float)) and x.get("weight") == 230,
             "Discogs export: weight 230", repr(x.get("weight")))
        t.ok("accept_offer" not in x, "accept_offer is not a listing key")
        st, x, text = item(srv, 5002)
        x = x or {}
        t.eq((x.get("format_names"), x.get("primary_format")), ("CD", "CD"),
             "a one-item format is both format_names and primary_format")
        t.match(text, r'"price_value":\s*12\.5[,}]', "price 12.5 exact")
        t.match(text, r'"shipping_price":\s*0(\.0)?[,}]', "flat_shipping 0 is 0")
        t.eq(x.get("condition"), "Mint (M)", "media_condition -> condition")
        t.eq(x.get("sleeve_condition"), "Generic", "sleeve_condition as given")
        t.eq(x.get("format_quantity"), 2, "format_quantity 2")
        st, x, text = item(srv, EXACT_ID + 2)
        x = x or {}
        t.eq((x.get("listing_id"), x.get("release_id")), (str(EXACT_ID + 2), str(EXACT_ID)),
             "64-bit listing and release ids from the Discogs export are exact")
        t.eq(x.get("primary_artist"), "坂本龍一", "unicode artist from the Discogs export")
        t.eq((x.get("primary_format"), x.get("comments")), ("Vinyl", "two\nlines"),
             "primary_format is the first format item; a multi-line comment")
        t.match(text, r'"price_value":\s*1234567\.89[,}]', "1234567.89 exact")
        r = srv.get("/api/search?q=homogenic")
        t.ok(r.status == 200 and "5001" in [y["listing_id"] for y in r.json_or_none() or []],
             "the imported Discogs listing is searchable", r.text[:200])
        r = srv.get("/api/filter?artist=Aphex%20Twin")
        t.eq([y["listing_id"] for y in r.json_or_none() or []], ["5002"],
             "filter artist=Aphex Twin finds the Discogs row by primary_artist")

    # -- modes ---------------------------------------------------------------
    header = ["listing_id", "release_title", "primary_artist", "price_value", "release_year"]
    base = [["2001", "First", "Mode A", "10.00", "2001"],
            ["2002", "Second", "Mode B", "20.00", "2002"],
            ["2003", "Third", "Mode C", "30.00", "2003"]]

    def updated_at(lid):
        return (item(srv, lid)[1] or {}).get("updated_at")

    with t.step("re-importing the same file changes nothing"):
        path = write(d, "modes.csv", flat(header, base))
        run = run_import(t, db, path)
        eqd(t, (run.rc, counts(run)), (0, (3, 3, 0, 0, 0)),
            "first import: exit 0, rows 3, added 3", diag(run))
        before = {lid: updated_at(lid) for lid in (2001, 2002, 2003)}
        t.ok(all(before.values()), "imported rows carry updated_at", repr(before))
        tag = srv.get("/api/data").header("etag")
        n = db_count(db)
        time.sleep(1.1)   # a rewrite now would move updated_at
        run = run_import(t, db, path)
        eqd(t, (run.rc, counts(run)), (0, (3, 0, 0, 3, 0)),
            "second import: exit 0, added 0, updated 0, unchanged 3", diag(run))
        t.eq({lid: updated_at(lid) for lid in (2001, 2002, 2003)}, before,
             "updated_at is unchanged by the second import")
        t.eq(srv.get("/api/data").header("etag"), tag, "the ETag is unchanged: nothing was written")
        t.eq(db_count(db), n, "the row count is unchanged")

    with t.step("a changed price is an update and moves updated_at"):
        old = {lid: item(srv, lid)[1] or {} for lid in (2001, 2002, 2003)}
        changed = [r[:] for r in base]
        changed[1][3] = "21.00"
        time.sleep(1.1)
        run = run_import(t, db, write(d, "modes2.csv", flat(header, changed)))
        eqd(t, (run.rc, counts(run)), (0, (3, 0, 1, 2, 0)),
            "changed price: exit 0, added 0, updated 1, unchanged 2", diag(run))
        st, x, text = item(srv, 2002)
        t.match(text, r'"price_value":\s*21\.0[,}]', "the new price is served")
        t.ok((x or {}).get("updated_at", "") > old[2002].get("updated_at", "~"),
             "updated_at of the changed row moved forward",
             "%r -> %r" % (old[2002].get("updated_at"), (x or {}).get("updated_at")))
        t.eq((x or {}).get("created_at"), old[2002].get("created_at"), "created_at stays")
        t.eq([updated_at(2001), updated_at(2003)],
             [old[2001].get("updated_at"), old[2003].get("updated_at")],
             "updated_at of the unchanged rows stays")
        base = changed

    with t.step("--dry-run reports the counts and writes nothing"):
        dry = [r[:] for r in base] + [["2004", "Fourth", "Mode D", "40.00", "2004"]]
        dry[0][3] = "11.00"
        tag = srv.get("/api/data").header("etag")
        n = db_count(db)
        run = run_import(t, db, "--dry-run", write(d, "dry.csv", flat(header, dry)))
        eqd(t, (run.rc, counts(run)), (0, (4, 1, 1, 2, 0)),
            "--dry-run: exit 0, rows 4, added 1, updated 1, unchanged 2", diag(run))
        t.eq(item(srv, 2004)[0], 404, "--dry-run: the new row is not written")
        t.match(item(srv, 2001)[2], r'"price_value":\s*10\.0[,}]',
                "--dry-run: the changed price is not written")
        t.eq(db_count(db), n, "--dry-run: the row count is unchanged")
        t.eq(srv.get("/api/data").header("etag"), tag, "--dry-run: the ETag is unchanged")
        dry_bad = flat(header, dry) + "2005,Bad,Mode E,oops,2005\n"
        run = run_import(t, db, write(d, "drybad.csv", dry_bad), "--dry-run")
        eqd(t, run.rc, 1, "--dry-run with a bad row (flag after the file): exit 1", diag(run))
        t.ok(6 in row_errors(run), "--dry-run still reports the bad row's line", diag(run))
        eqd(t, counts(run), (5, 1, 1, 2, 1), "--dry-run counts include the skipped row", diag(run))
        t.eq(db_count(db), n, "--dry-run with a bad row writes nothing")

    with t.step("--strict with a bad row writes nothing and exits 1"):
        tag = srv.get("/api/data").header("etag")
        n = db_count(db)
        rows = [["2101", "Strict One", "S", "1.00", "2001"],
                ["2102", "Strict Two", "S", "nope", "2002"],
                ["2103", "Strict Three", "S", "3.00", "2003"],
                ["2001", "First", "Mode A", "99.00", "2001"]]
        run = run_import(t, db, "--strict", write(d, "strict.csv", flat(header, rows)))
        eqd(t, run.rc, 1, "--strict with a bad row: exit 1", diag(run))
        t.match(run.out, r"(?m)^--strict, nothing written: .*rows \d+, added",
                "--strict with a bad row: the summary says nothing was written")
        t.ok(3 in row_errors(run) and row_errors(run)[3][0].startswith("price_value: "),
             "--strict reports line 3: price_value: ...", diag(run))
        t.eq([item(srv, i)[0] for i in (2101, 2103)], [404, 404],
             "--strict: the good new rows are not written either")
        t.match(item(srv, 2001)[2], r'"price_value":\s*10\.0[,}]',
                "--strict: the good update is not written either")
        t.eq(db_count(db), n, "--strict: the row count is unchanged")
        t.eq(srv.get("/api/data").header("etag"), tag, "--strict: the ETag is unchanged")
        good = [rows[0], rows[2]]
        run = run_import(t, db, "--strict", write(d, "strictok.csv", flat(header, good)))
        eqd(t, (run.rc, counts(run)), (0, (2, 2, 0, 0, 0)),
            "--strict with only good rows imports them, exit 0", diag(run))
        t.eq([item(srv, i)[0] for i in (2101, 2103)], [200, 200], "--strict good rows are written")

    with t.step("usage errors exit 2; a missing or empty file exits 1"):
        tmpdb = os.path.join(t.tmpdir(), "usage.db")
        csvp = write(d, "usage.csv", flat(header, base))
        for args, what in (((), "no file"), (("--bogus", csvp), "an unknown flag"),
                           (("--dry-run",), "flags but no file"),
                           ((csvp, csvp), "two files"), (("-x", csvp), "an unknown short flag")):
            run = run_import(t, tmpdb, *args)
            eqd(t, run.rc, 2, "import with %s: exit status 2" % what, diag(run))
            t.ok(run.err.strip() != "", "import with %s: a message on stderr" % what)
        run = run_import(t, tmpdb, "--bogus", csvp)
        t.ok("--bogus" in run.err, "an unknown flag is named on stderr", diag(run))
        t.match(run_import(t, tmpdb).err, r"(?i)usage", "no file: usage on stderr")
        missing = os.path.join(d, "no-such-file.csv")
        run = run_import(t, db, missing)
        eqd(t, run.rc, 1, "a missing file: exit status 1", diag(run))
        t.ok("no-such-file.csv" in run.err, "a missing file: the message names it", diag(run))
        empty = write(d, "empty.csv", b"")
        run = run_import(t, db, empty)
        eqd(t, run.rc, 1, "an empty file: exit status 1", diag(run))
        t.ok("empty.csv" in run.err, "an empty file: the message names it", diag(run))
        run = run_import(t, db, write(d, "nohead.csv", "title,price\nx,1\n"))
        eqd(t, run.rc, 1, "a file without a listing_id column: exit status 1", diag(run))
        t.ok("listing_id" in run.err, "...and the message names listing_id", diag(run))

    with t.step("DATABASE_URL as sqlite:/// and a fresh database file"):
        fresh = os.path.join(t.tmpdir(), "fresh.db")
        run = run_import(t, "sqlite:///" + fresh, write(d, "fresh.csv", flat(header, base)))
        eqd(t, (run.rc, counts(run)), (0, (3, 3, 0, 0, 0)),
            "import into a new sqlite:///ABS path database: exit 0, added 3", diag(run))
        t.eq(db_count(fresh) if os.path.exists(fresh) else None, 3,
             "the new database holds the 3 rows")

    with t.step("summary line and progress lines"):
        big = [[str(300000 + i), "Title %d" % i, "Artist %d" % (i % 50), "%d.%02d" % (i % 90, i % 100),
                str(1950 + i % 70)] for i in range(5000)]
        bigdb = os.path.join(t.tmpdir(), "big.db")
        run = run_import(t, bigdb, write(d, "big.csv", flat(header, big)))
        s = summary(run) or {}
        eqd(t, run.rc, 0, "5000 rows: exit 0", diag(run))
        eqd(t, tuple(s.get(k) for k in SUMMARY_KEYS), (5000, 5000, 0, 0, 0),
            "summary has rows 5000, added 5000, updated 0, unchanged 0, skipped 0", diag(run))
        t.ok(isinstance(s.get("seconds"), float), "summary has the seconds taken",
             repr(s.get("line")))
        t.ok(s.get("line") is not None and s["line"] in run.out.splitlines(),
             "the summary line is on stdout", diag(run))
        prog = [l for l in run.err.splitlines() if re.search(r"\d+\s*%|\d+\s*/\s*\d+", l)]
        t.ok(len(prog) >= 1, "progress lines go to stderr", diag(run))
        t.ok("\r" not in run.err and "\x1b" not in run.err,
             "stderr is not a terminal: plain lines, no carriage returns or escapes",
             repr(run.err[:300]))
        eqd(t, [l for l in run.out.splitlines() if "%" in l], [],
            "no progress on stdout", diag(run))
        run = run_import(t, bigdb, write(d, "big.csv", flat(header, big)))
        eqd(t, counts(run), (5000, 0, 0, 5000, 0), "re-import of 5000 rows: unchanged 5000",
            diag(run))

    # -- the running server ----------------------------------------------------
    with t.step("the running server sees an import without a restart"):
        workers = srv.per_worker()
        t.eq(len(workers), 2, "a keep-alive connection on each of the 2 workers")
        warm = {}
        for pid, w in workers.items():
            r = w.get("/api/data")
            warm[pid] = r.header("etag")
            w.get("/api/data?limit=3")
            w.get("/api/search?q=latecomer")
            t.eq(w.get("/api/data/4001").status, 404, "worker %d: 4001 not there yet" % pid)
        rows = [["4001", "Latecomer", "New Artist", "7.77", "2020"]]
        hdr = header + ["posted"]
        rows[0].append("2099-01-01T00:00:00Z")
        run = run_import(t, db, write(d, "late.csv", flat(hdr, rows)))
        eqd(t, (run.rc, counts(run)), (0, (1, 1, 0, 0, 0)), "import while serving: exit 0",
            diag(run))
        for pid, w in sorted(workers.items()):
            r = w.get("/api/data", headers={"If-None-Match": warm[pid] or "-"})
            t.eq(r.status, 200, "worker %d: the old ETag no longer matches" % pid)
            t.ok(r.header("etag") not in (None, warm[pid]), "worker %d: a new ETag" % pid)
            t.eq([x["listing_id"] for x in (r.json_or_none() or [])][:1], ["4001"],
                 "worker %d: the imported listing (newest) is listed first" % pid)
            t.eq([x["listing_id"] for x in (w.get("/api/data?limit=3").json_or_none() or [])][:1],
                 ["4001"], "worker %d: a cached page is not served stale" % pid)
            t.eq([x["listing_id"] for x in (w.get("/api/search?q=latecomer").json_or_none() or [])],
                 ["4001"], "worker %d: a cached search is not served stale" % pid)
            t.match(w.get("/api/data/4001").text, r'"price_value":\s*7\.77[,}]',
                    "worker %d: the new listing by id, exact price" % pid)
        for w in workers.values():
            w.close()

    with t.step("--clear-db replaces the inventory"):
        n = db_count(db)
        tag = srv.get("/api/data").header("etag")
        rows = [["6001", "Fresh One", "C", "1.00", "2001"], ["6002", "Fresh Two", "C", "2.00", "2002"]]
        path = write(d, "clear.csv", flat(header, rows))
        run = run_import(t, db, "--clear-db", "--dry-run", path)
        eqd(t, run.rc, 0, "--clear-db --dry-run: exit 0", diag(run))
        t.eq((db_count(db), srv.get("/api/data").header("etag")), (n, tag),
             "--clear-db --dry-run writes nothing")
        badpath = write(d, "clearbad.csv", flat(header, rows + [["6003", "Bad", "C", "x", "1"]]))
        run = run_import(t, db, "--clear-db", "--strict", badpath)
        t.eq(run.rc, 1, "--clear-db --strict with a bad row: exit 1")
        t.eq((db_count(db), srv.get("/api/data").header("etag")), (n, tag),
             "--clear-db --strict with a bad row: nothing cleared, nothing written")
        run = run_import(t, db, "--clear-db", path)
        eqd(t, (run.rc, counts(run)), (0, (2, 2, 0, 0, 0)),
            "--clear-db: exit 0, rows 2, added 2", diag(run))
        t.eq(active_ids(srv), [6001, 6002], "--clear-db: only the file's listings are in the shop")
        r = srv.get("/api/data")
        t.eq(r.header("x-total-count"), "2", "--clear-db: X-Total-Count is 2")
        t.ok(r.header("etag") != tag, "--clear-db: the ETag changed")
        st, x, _ = item(srv, 2001)
        t.ok(st == 404 or (x or {}).get("is_active") is False,
             "--clear-db: an old listing is gone", "status %s" % st)
        t.eq(srv.get("/api/search?q=latecomer").json_or_none(), [],
             "--clear-db: an old listing is not found by search either")
        t.eq(sorted(y["listing_id"] for y in srv.get("/api/search?q=fresh").json_or_none() or []),
             ["6001", "6002"], "--clear-db: the new listings are searchable")
        t.eq(sorted(y["listing_id"] for y in
                    srv.get("/api/search?label=&artist=&q=fresh+one").json_or_none() or []),
             ["6001"], "--clear-db: both words of a title match one listing")
        with open(db, "rb") as f:
            f.seek(18)
            t.eq(list(f.read(2)), [2, 2], "--clear-db while serving: the database is in WAL")

    t.no_crash(srv, "no worker died during the imports")


if __name__ == "__main__":
    TAP.run(main)
