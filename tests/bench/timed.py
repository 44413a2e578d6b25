#!/usr/bin/env python3
"""
Runs one command and measures it, for tests/bench/run.sh.

    timed.py [--out FILE] [--err FILE] [--mark REGEX] -- CMD [ARG...]

The command's stdout goes to --out, its stderr to --err (default: both
discarded).  When it has exited, prints one line of key=value:

    rc=0 wall=12.345 user=10.100 sys=1.200 maxrss_mb=34.6 mark=8.765

wall is seconds from start to exit; user, sys and maxrss_mb come from
wait4() on that one process (peak resident set size, in MiB); mark is the
seconds from start to the last stderr line matching REGEX (-1 when none
did; without --mark, no mark).  Exits 0 whatever the command's status.
"""

import argparse
import os
import re
import subprocess
import sys
import threading
import time


def main():
    argv = sys.argv[1:]
    if "--" not in argv:
        sys.exit("usage: timed.py [--out F] [--err F] [--mark REGEX] -- CMD...")
    k = argv.index("--")
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.devnull)
    ap.add_argument("--err", default=os.devnull)
    ap.add_argument("--mark")
    a = ap.parse_args(argv[:k])
    cmd = argv[k + 1:]
    if not cmd:
        sys.exit("timed.py: no command")
    mark = re.compile(a.mark.encode()) if a.mark else None
    marked = [-1.0]
    with open(a.out, "wb") as out, open(a.err, "wb") as err:
        t0 = time.monotonic()
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out,
                             stderr=subprocess.PIPE)

        def pump():
            for line in p.stderr:
                if mark is not None and mark.search(line):
                    marked[0] = time.monotonic() - t0
                err.write(line)
        t = threading.Thread(target=pump, daemon=True)
        t.start()
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.monotonic() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        t.join(10)
    line = "rc=%d wall=%.3f user=%.3f sys=%.3f maxrss_mb=%.1f" % (
        p.returncode, wall, ru.ru_utime, ru.ru_stime, ru.ru_maxrss / 1024.0)
    if mark is not None:
        line += " mark=%.3f" % marked[0]
    print(line)


if __name__ == "__main__":
    main()
