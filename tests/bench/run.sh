#!/usr/bin/env bash
# The benchmark behind `make bench` (see tests/bench/README.md).
#
#   tests/bench/run.sh      after `make all build/tests/gen_listings`
#   BENCH_LISTINGS=20000 BENCH_SECONDS=2 tests/bench/run.sh
#
# Builds (or reuses) a generated shop in build/bench/bench.db, starts the
# real server on it on a free port, drives every row of ROWS with wrk,
# times the full /api/data dump, checks that dump is valid JSON with the
# right count, reads the workers' peak RSS, and prints one table.  Ratios
# are against /healthz of the same server in the same run.  Then, in
# sections after the table: the CSV import of that shop, a sync of a
# 100k shop from a fake Discogs (tests/bench/bench_discogs.py) and its
# no-change re-sync, /api/data/{id} latency while the server syncs, and
# the Lua rules' cost.  BENCH_PARTS picks the parts (default: all of
# "routes import sync during rules"; "during" needs the sync's database,
# from this run or an earlier one).  Targets are informational: the exit
# status is 0 whatever they say, and non-zero only when the bench itself
# could not run.
set -euo pipefail

cd "$(dirname "$0")/../.."

N=${BENCH_LISTINGS:-100000}
SECS=${BENCH_SECONDS:-5}
SEED=${BENCH_SEED:-1}
OUT=build/bench
DB=$OUT/bench.db
GEN=build/tests/gen_listings
KORE=build/kore
LOG=$OUT/server.log
WRK_OPTS=(-t2 -c32 --latency --timeout 10s)
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
CLI=build/freakinbeats
RULES_BIN=build/tests/bench_rules
FAKE=tests/bench/bench_discogs.py
TIMED=tests/bench/timed.py
PARTS=" ${BENCH_PARTS:-routes import sync during rules} "

# What to measure: "label|mode|target".  mode "one" repeats one URL, with
# {id} and {offset} filled once; mode "mix" fills them per request in
# mix.lua ({id}, {offset}, {word}); a target ending in .lua is a wrk
# script of its own, run as is.  Add a route with one line here, and its
# goal, as a ratio to /healthz, in TARGET below.  /healthz runs first and
# last; the baseline of "x healthz" is the mean of its runs, so a machine
# that slows down mid-run (another job, thermal limits) shows as two
# different /healthz rows instead of skewing every ratio silently.
ROWS=(
	"/healthz|one|/healthz"
	"/api/data/{id}|one|/api/data/{id}"
	"/api/data/{id}|mix|/api/data/{id}"
	"/api/data?limit=50|one|/api/data?limit=50&offset={offset}"
	"/api/data?limit=50|mix|/api/data?limit=50&offset={offset}"
	"/api/search?q=<word>&limit=50|one|/api/search?q=love&limit=50"
	"/api/search?q=<word>&limit=50|mix|/api/search?q={word}&limit=50"
	"/api/search?artist=<sub>|one|/api/search?artist=hea&limit=50"
	"/api/search?artist=<sub>|mix|/api/search?artist={word}&limit=50"
	"/api/facets|one|/api/facets"
	"/api/facets?q=<word>|mix|/api/facets?q={word}"
	"/api/stats|one|/api/stats"
	"/healthz|one|/healthz"
)
declare -A TARGET=(
	["/api/data/{id}"]=0.6
	["/api/data?limit=50"]=0.5
	["/api/search?q=<word>&limit=50"]=0.3
	["/api/search?artist=<sub>"]=0.2
	["/api/facets"]=0.3
	["/api/stats"]=0.5
)
DUMP_TARGET_S=2
RSS_TARGET_MB=200
IMPORT_TARGET_S=3	# import of the 100k export into an empty database
SYNC_TARGET_S=20	# first sync of 100k listings into an empty database
SYNC_RSS_TARGET_MB=150	# peak RSS of that sync process
RESYNC_TARGET_S=10	# the same sync again, nothing changed
RULES_TARGET_US=20	# map() + keep() per listing
RANKING_TARGET=1.25	# search with ranking.lua / plain search
SYNC_TOKEN=bench-token
SYNC_SELLER=benchshop
ADMIN=bench
SYNC_DB=$OUT/sync.db
LIVE_DB=$OUT/live.db
PAGE=50		# rows per page: the highest {offset} is total - PAGE

SERVER_PID=""
WRK_PID=""
FAKE_PID=""
FAKE_URL=""
WRK_SPLIT=""
PORT=""
BASE=""
TOTAL=0
RESULTS=()
WORKERS_AT_START=""
LOAD_START=""

note() { printf 'bench: %s\n' "$*" >&2; }
die() { printf 'bench: error: %s\n' "$*" >&2; exit 1; }

need_tools() {
	local t
	command -v wrk >/dev/null 2>&1 ||
		die "wrk is missing: apt-get install wrk (make deps does it)"
	for t in curl "$PY"; do
		command -v "$t" >/dev/null 2>&1 || die "$t is missing"
	done
	[ -x "$KORE" ] || die "$KORE is missing: run make all first"
	[ -x "$GEN" ] || die "$GEN is missing: run make $GEN first"
	[[ $N =~ ^[1-9][0-9]*$ ]] || die "BENCH_LISTINGS: '$N' is not a count"
	[[ $SECS =~ ^[1-9][0-9]*$ ]] ||
		die "BENCH_SECONDS: '$SECS' is not whole seconds"
	[[ $SEED =~ ^[0-9]+$ ]] || die "BENCH_SEED: '$SEED' is not a number"
}

# Reuses the database when it is newer than the generator and was built
# with the same N and seed; else builds it again.
build_db() {
	local stamp="$N $SEED"
	mkdir -p "$OUT"
	if [ -f "$DB" ] && [ -f "$DB.ids" ] && [ "$DB" -nt "$GEN" ] &&
	    [ "$(cat "$DB.stamp" 2>/dev/null)" = "$stamp" ]; then
		note "reusing $DB ($N listings, seed $SEED)"
		return
	fi
	note "generating $DB ($N listings, seed $SEED)"
	rm -f "$DB" "$DB-wal" "$DB-shm" "$DB.ids" "$DB.stamp"
	"$GEN" "$DB" "$N" "$SEED"
	echo "$stamp" >"$DB.stamp"
}

free_port() {
	"$PY" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# Pids of the Kore workers ("kore [wrk N]"), children of the parent.
worker_pids() {
	local pid
	for pid in $(ps -o pid= --ppid "$SERVER_PID" 2>/dev/null); do
		if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null |
		    grep -q '\[wrk '; then
			echo "$pid"
		fi
	done
}

stop_server() {
	local kids pid
	if [ -n "$WRK_PID" ]; then
		kill -TERM "$WRK_PID" 2>/dev/null || true
	fi
	[ -n "$SERVER_PID" ] || return 0
	kids=$(ps -o pid= --ppid "$SERVER_PID" 2>/dev/null || true)
	kill -TERM "$SERVER_PID" 2>/dev/null || true
	for _ in $(seq 50); do
		kill -0 "$SERVER_PID" 2>/dev/null || break
		sleep 0.1
	done
	for pid in $kids $SERVER_PID; do
		kill -KILL "$pid" 2>/dev/null || true
	done
	wait "$SERVER_PID" 2>/dev/null || true
	SERVER_PID=""
}
cleanup() {
	stop_server
	stop_fake
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log_tail() {
	echo "---- last lines of $LOG ----" >&2
	tail -n 25 "$LOG" >&2 || true
}

# The server with no Discogs access at all: no token, no timer.
start_server() {
	launch_server "$DB" -u DISCOGS_TOKEN -u ADMIN_PASSPHRASE \
	    DISCOGS_API_URL=http://127.0.0.1:9
}

# The server on database $1, logging to $LOG, with env(1) arguments
# "$@" (options first) before the bench's own; waits for /healthz.
launch_server() {
	local deadline db=$1
	shift
	PORT=$(free_port)
	BASE="http://127.0.0.1:$PORT"
	env "$@" HOST=127.0.0.1 PORT="$PORT" TLS_PORT=0 DATABASE_URL="$db" \
	    LOG_LEVEL=warning ENABLE_AUTO_SYNC=false \
	    "$KORE" -f -n -r -c kore.conf >"$LOG" 2>&1 &
	SERVER_PID=$!
	deadline=$((${EPOCHREALTIME/./} + 10000000))
	while [ "${EPOCHREALTIME/./}" -lt "$deadline" ]; do
		if ! kill -0 "$SERVER_PID" 2>/dev/null; then
			log_tail
			die "the server exited during start-up"
		fi
		if curl -sf -o /dev/null --max-time 1 "$BASE/healthz"; then
			WORKERS_AT_START=$(worker_pids | sort | tr '\n' ' ')
			note "server up on $BASE (workers $WORKERS_AT_START)"
			return
		fi
		sleep 0.1
	done
	log_tail
	die "the server did not answer $BASE/healthz within 10 s"
}

# Active listings, from the server's own X-Total-Count.
read_total() {
	TOTAL=$(curl -sf -D - -o /dev/null "$BASE/api/data?limit=1" |
	    tr -d '\r' |
	    awk -F': *' 'tolower($1) == "x-total-count" {print $2}')
	[[ $TOTAL =~ ^[0-9]+$ ]] || die "no X-Total-Count on /api/data?limit=1"
	note "$TOTAL active listings"
}

# The path for mode "one": placeholders filled with fixed values.
one_path() {
	local t=$1 id offset=$((TOTAL > 1000 + PAGE ? 1000 : 0))
	id=$(head -n 1 "$DB.ids")
	t=${t//\{id\}/$id}
	t=${t//\{offset\}/$offset}
	printf '%s' "${t//\{word\}/silent}"
}

# Established connections on each worker, as "n1/n2".  Kore 4.1's accept
# lock stays with one worker until it is full, so that worker often gets
# all of wrk's connections and a 2-core machine does half the work it
# could: every row shows how they were spread, and skewed() flags it.
conn_split() {
	local pid n out=""
	for pid in $(worker_pids); do
		n=$(ss -Htnp state established "( sport = :$PORT )" \
		    2>/dev/null | grep -c "pid=$pid," || true)
		out="${out:+$out/}$n"
	done
	printf '%s' "${out:-?}"
}

# Runs wrk for one row; appends "label|mode|rps|p99 ms|MB/s|bad|split"
# to RESULTS.
run_row() {
	local label=$1 mode=$2 target=$3
	local max=$((TOTAL > PAGE ? TOTAL - PAGE : 0))
	local args=("${WRK_OPTS[@]}" -d "${SECS}s")
	if [[ $target == *.lua ]]; then
		args+=(-s "$target" "$BASE")
	elif [ "$mode" = mix ]; then
		args+=(-s tests/bench/mix.lua "$BASE" --
		    "$target" "$DB.ids" "$max")
	else
		curl -s -o /dev/null "$BASE$(one_path "$target")" || true
		args+=("$BASE$(one_path "$target")")
	fi
	note "wrk $label ($mode, ${SECS}s)"
	run_wrk "${args[@]}"
	RESULTS+=("$label|$mode|$(parse_wrk <"$OUT/wrk.out")|$WRK_SPLIT")
}

# One wrk run into $OUT/wrk.out; WRK_SPLIT gets the connections' spread.
run_wrk() {
	if ! kill -0 "$SERVER_PID" 2>/dev/null; then
		log_tail
		die "the server is gone"
	fi
	wrk "$@" >"$OUT/wrk.out" 2>&1 &
	WRK_PID=$!
	sleep "$(awk -v s="$SECS" 'BEGIN {print s / 2}')"
	WRK_SPLIT=$(conn_split)
	if ! wait "$WRK_PID"; then
		cat "$OUT/wrk.out" >&2
		die "wrk failed: wrk $*"
	fi
	WRK_PID=""
}

# wrk's text -> "req/s|p99 in ms|MB/s|non-2xx and socket errors".
parse_wrk() {
	awk '
	function ms(v) {
		if (v ~ /us$/) return v * 0.001
		if (v ~ /ms$/) return v + 0
		if (v ~ /m$/) return v * 60000
		return v * 1000
	}
	function mb(v) {
		if (v ~ /GB$/) return v * 1024
		if (v ~ /KB$/) return v / 1024
		if (v ~ /MB$/) return v + 0
		return v / 1048576
	}
	/^Requests\/sec:/ { rps = $2 }
	/^Transfer\/sec:/ { mbs = mb($2) }
	$1 == "99%" { p99 = ms($2) }
	/Non-2xx or 3xx responses:/ { bad += $NF }
	/Socket errors:/ { gsub(/,/, ""); bad += $4 + $6 + $8 + $10 }
	END { printf "%.0f|%.2f|%.1f|%d\n", rps, p99, mbs, bad }'
}

# Best of three full dumps; sets DUMP_S and DUMP_BYTES.
measure_dump() {
	local line best="" bytes=0 code t
	for _ in 1 2 3; do
		line=$(curl -s -o /dev/null --max-time 120 -w \
		    '%{time_total} %{size_download} %{http_code}' \
		    "$BASE/api/data" || true)
		read -r t bytes code <<<"$line"
		[ "${code:-}" = 200 ] ||
			die "GET /api/data answered ${code:-nothing}"
		if [ -z "$best" ] ||
		    awk -v a="$t" -v b="$best" 'BEGIN {exit !(a < b)}'; then
			best=$t
		fi
	done
	DUMP_S=$best
	DUMP_BYTES=$bytes
}

# One more dump, kept on disk and checked element by element.
check_dump() {
	local body=$OUT/dump.json head=$OUT/dump.headers
	curl -s --max-time 120 -D "$head" -o "$body" "$BASE/api/data" || true
	DUMP_CHECK=$("$PY" - "$body" "$head" "$DB" 2>&1 <<'EOF'
import json, sqlite3, sys
body, head, db = sys.argv[1:4]
hdr = {}
for line in open(head, encoding="latin-1"):
    k, _, v = line.partition(":")
    hdr[k.strip().lower()] = v.strip()
text = open(body, encoding="utf-8").read()
dec = json.JSONDecoder()
ws = " \t\r\n"
i = len(text) - len(text.lstrip(ws))
if text[i:i + 1] != "[":
    sys.exit("not a JSON array")
i += 1
n = inactive = 0
while True:
    while text[i:i + 1] in (" ", "\t", "\r", "\n"):
        i += 1
    if n == 0 and text[i:i + 1] == "]":
        break
    obj, i = dec.raw_decode(text, i)
    n += 1
    if not isinstance(obj, dict) or \
            not isinstance(obj.get("listing_id"), str):
        sys.exit("element %d is not a listing" % n)
    inactive += obj.get("is_active") is not True
    while text[i:i + 1] in (" ", "\t", "\r", "\n"):
        i += 1
    if text[i:i + 1] == "]":
        break
    if text[i:i + 1] != ",":
        sys.exit("bad separator at byte %d" % i)
    i += 1
if text[i + 1:].strip(ws):
    sys.exit("trailing data after the array")
con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
active = con.execute(
    "SELECT count(*) FROM listings WHERE is_active = 1").fetchone()[0]
total = hdr.get("x-total-count")
ok = str(n) == total and n == active and inactive == 0
print("%s: %d elements, X-Total-Count %s, active rows %d%s" % (
    "valid" if ok else "MISMATCH", n, total, active,
    "" if inactive == 0 else ", %d inactive in the dump" % inactive))
EOF
) || DUMP_CHECK="INVALID ($(tail -n 1 <<<"$DUMP_CHECK"))"
	rm -f "$body" "$head"
}

# Peak RSS (VmHWM) of the workers: their sum and the largest, in MB.
measure_rss() {
	local pid kb
	RSS_SUM=0
	RSS_MAX=0
	for pid in $(worker_pids); do
		kb=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status" \
		    2>/dev/null || true)
		kb=${kb:-0}
		RSS_SUM=$((RSS_SUM + kb))
		if [ "$kb" -gt "$RSS_MAX" ]; then RSS_MAX=$kb; fi
	done
}

# PASS/MISS for "value op goal"; op is >= or <=.
verdict() {
	awk -v v="$1" -v op="$2" -v g="$3" 'BEGIN {
		ok = (op == ">=") ? (v >= g) : (v <= g)
		print ok ? "PASS" : "MISS" }'
}

# True when a worker holds under a quarter of its fair share of connections.
skewed() {
	awk -v s="$1" 'BEGIN {
		n = split(s, c, "/"); t = 0; min = -1
		for (i = 1; i <= n; i++) {
			t += c[i]
			if (min < 0 || c[i] < min) min = c[i]
		}
		exit !(n > 1 && t > 0 && min * n * 4 < t) }'
}

table_line() {
	printf '%-22s %-4s %7s %9s %7s %7s %6s %9s  %s\n' "$@"
}

print_table() {
	local r label mode rps p99 mbs bad split base=0 nbase=0 ratio kb goal
	table_line route mode "req/s" p99 "MB/s" "KB/resp" conns "x healthz" \
	    target
	for r in "${RESULTS[@]}"; do
		IFS='|' read -r label mode rps p99 mbs bad split <<<"$r"
		if [ "$label" = /healthz ]; then
			base=$((base + rps))
			nbase=$((nbase + 1))
		fi
	done
	if [ "$nbase" -gt 0 ]; then base=$((base / nbase)); fi
	for r in "${RESULTS[@]}"; do
		IFS='|' read -r label mode rps p99 mbs bad split <<<"$r"
		ratio=$(awk -v a="$rps" -v b="$base" \
		    'BEGIN {printf "%.2f", b ? a / b : 0}')
		kb=$(awk -v m="$mbs" -v r="$rps" \
		    'BEGIN {printf "%.1f", r ? m * 1024 / r : 0}')
		goal=${TARGET[$label]:-}
		if [ -n "$goal" ]; then
			goal=">=${goal}x $(verdict "$ratio" ">=" "$goal")"
		fi
		if [ "$bad" -gt 0 ]; then
			goal="$goal ERRORS: $bad non-2xx/socket"
		fi
		if skewed "$split"; then
			goal="$goal (conns skewed)"
		fi
		table_line "$label" "$mode" "$rps" "${p99}ms" "$mbs" "$kb" \
		    "$split" "$ratio" "$goal"
	done
	print_footer
}

print_footer() {
	local mb per sum max
	mb=$(awk -v b="$DUMP_BYTES" 'BEGIN {printf "%.1f", b / 1048576}')
	per=$(awk -v b="$DUMP_BYTES" -v n="$TOTAL" \
	    'BEGIN {printf "%.0f", n ? b / n : 0}')
	sum=$((RSS_SUM / 1024))
	max=$((RSS_MAX / 1024))
	printf 'full /api/data dump: %.2f s, %s MB (%d rows, %s B/row), ' \
	    "$DUMP_S" "$mb" "$TOTAL" "$per"
	printf 'target <=%s s %s\n' "$DUMP_TARGET_S" \
	    "$(verdict "$DUMP_S" "<=" "$DUMP_TARGET_S")"
	printf 'dump JSON: %s\n' "$DUMP_CHECK"
	printf 'peak RSS: worker max %d MB, all workers %d MB, ' "$max" "$sum"
	printf 'target <%d MB (all) %s\n' "$RSS_TARGET_MB" \
	    "$(verdict "$sum" "<=" "$((RSS_TARGET_MB - 1))")"
	printf 'server: %s\n' "$SERVER_HEALTH"
	printf 'machine: %s CPUs, load average %s at start, %s at the end\n' \
	    "$(nproc)" "$LOAD_START" "$(cut -d' ' -f1 /proc/loadavg)"
}

# Did a worker die or restart, and did the server log an error?
check_server() {
	local now errors
	now=$(worker_pids | sort | tr '\n' ' ')
	errors=$(grep -ciE 'error|died|signal|abort|sanitizer' "$LOG" || true)
	SERVER_HEALTH="workers $WORKERS_AT_START"
	if [ "$now" != "$WORKERS_AT_START" ]; then
		SERVER_HEALTH="WORKERS CHANGED: $WORKERS_AT_START-> $now"
		SERVER_HEALTH="$SERVER_HEALTH (a worker died?)"
	fi
	SERVER_HEALTH="$SERVER_HEALTH, $errors suspicious log lines in $LOG"
}

main() {
	local row label mode target
	need_tools
	LOAD_START=$(cut -d' ' -f1 /proc/loadavg)
	build_db
	start_server
	read_total
	note "warming up (1 s of /healthz, not reported)"
	wrk -t2 -c32 -d1s "$BASE/healthz" >/dev/null 2>&1 || true
	for row in "${ROWS[@]}"; do
		IFS='|' read -r label mode target <<<"$row"
		run_row "$label" "$mode" "$target"
	done
	note "timing the full /api/data dump (best of 3)"
	measure_dump
	check_dump
	measure_rss
	check_server
	print_table
}

main "$@"
