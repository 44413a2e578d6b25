#!/usr/bin/env python3
"""build/freakinbeats: --help, --version and usage errors (exit codes)."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from fbtest import CLI, REPO, TAP, base_env  # noqa: E402


def cli(t, *args):
    p = subprocess.run([CLI] + list(args), cwd=t.tmpdir(), env=base_env(),
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def main(t):
    with t.step("--help"):
        rc, out, err = cli(t, "--help")
        t.eq(rc, 0, "--help exits 0")
        t.match(out, r"(?i)usage", "--help prints usage on stdout")

    with t.step("--version"):
        version = None
        with open(os.path.join(REPO, "src", "app.h")) as f:
            for line in f:
                if line.startswith("#define FB_VERSION"):
                    version = line.split('"')[1]
        rc, out, err = cli(t, "--version")
        t.eq(rc, 0, "--version exits 0")
        t.ok(version is not None and version in out,
             "--version prints the version (%s)" % version, "got %r" % out)

    with t.step("no arguments"):
        rc, out, err = cli(t)
        t.eq(rc, 2, "no arguments: exit status 2")
        t.match(err, r"(?i)usage", "no arguments: usage on stderr")

    with t.step("unknown command"):
        rc, out, err = cli(t, "frobnicate")
        t.eq(rc, 2, "unknown command: exit status 2")
        t.ok("frobnicate" in err, "unknown command: the message names it", "got %r" % err)


if __name__ == "__main__":
    TAP.run(main)
