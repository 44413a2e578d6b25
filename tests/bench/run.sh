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
# p99 goals in ms, per label (issue 3: search under 20 ms).
declare -A P99_TARGET=(
	["/api/search?q=<word>&limit=50"]=20
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
	for t in curl "$PY" sqlite3; do
		command -v "$t" >/dev/null 2>&1 || die "$t is missing"
	done
	[ -x "$KORE" ] || die "$KORE is missing: run make all first"
	[ -x "$GEN" ] || die "$GEN is missing: run make $GEN first"
	[ -x "$CLI" ] || die "$CLI is missing: run make all first"
	[ -x "$RULES_BIN" ] || die "$RULES_BIN is missing: run make $RULES_BIN"
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
		if [ -n "${P99_TARGET[$label]:-}" ]; then
			goal="$goal, p99<=${P99_TARGET[$label]}ms $(verdict \
			    "$p99" "<=" "${P99_TARGET[$label]}")"
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

# ---- the sections after the table ------------------------------------

has_part() { [[ $PARTS == *" $1 "* ]]; }

section() {
	printf '\n%s [load %s]\n' "$*" "$(cut -d' ' -f1 /proc/loadavg)"
}

# One result line: what, its value, then details, target and verdict.
result() {
	local what=$1 value=$2
	shift 2
	printf '  %-22s %-10s %s\n' "$what" "$value" "$*"
}

# Runs a command under timed.py: run_timed OUT ERR MARK-REGEX CMD...
# (MARK-REGEX may be empty).  Sets T_RC, T_WALL, T_CPU, T_RSS (MB), T_MARK.
run_timed() {
	local out=$1 err=$2 mark=$3 line kv
	shift 3
	if [ -n "$mark" ]; then
		line=$("$PY" "$TIMED" --out "$out" --err "$err" --mark "$mark" \
		    -- "$@") || die "timed.py could not run: $*"
	else
		line=$("$PY" "$TIMED" --out "$out" --err "$err" -- "$@") ||
			die "timed.py could not run: $*"
	fi
	T_RC=1 T_WALL=0 T_CPU=0 T_RSS=0 T_MARK=-1
	local user=0 sys=0
	for kv in $line; do
		case $kv in
		rc=*) T_RC=${kv#rc=} ;;
		wall=*) T_WALL=${kv#wall=} ;;
		user=*) user=${kv#user=} ;;
		sys=*) sys=${kv#sys=} ;;
		maxrss_mb=*) T_RSS=${kv#maxrss_mb=} ;;
		mark=*) T_MARK=${kv#mark=} ;;
		esac
	done
	T_CPU=$(awk -v u="$user" -v s="$sys" 'BEGIN {printf "%.2f", u + s}')
	T_WALL=$(awk -v w="$T_WALL" 'BEGIN {printf "%.2f", w}')
}

# "name TYPE" for each listing column, from src/listing.c's X-macro.
listing_columns() {
	grep -o 'X([a-z_]*, *FB_COL_[A-Z]*)' src/listing.c |
	    sed 's/X(\([a-z_]*\), *FB_COL_\([A-Z]*\))/\1 \2/'
}

# The bench shop as the original's flattened export: a header of the
# listing columns (src/listing.c), money as decimals (12.50) from the
# integer hundredths, ids as integers, NULL as an empty field.
export_csv() {
	local csv=$1 cols
	if [ -f "$csv" ] && [ "$csv" -nt "$DB" ] &&
	    [ "$csv" -nt src/listing.c ]; then
		note "reusing $csv"
		return
	fi
	cols=$(listing_columns | awk '
	$2 == "MONEY" {
		v = $1
		printf "%sCASE WHEN %s IS NULL THEN NULL ELSE printf(" \
		    "\047%%s%%d.%%02d\047, CASE WHEN %s < 0 THEN \047-\047 " \
		    "ELSE \047\047 END, abs(%s) / 100, abs(%s) %% 100) END " \
		    "AS %s", sep, v, v, v, v, v
		sep = ", "
		next
	}
	{ printf "%s%s", sep, $1; sep = ", " }')
	[ "$(listing_columns | wc -l)" -ge 10 ] ||
		die "no listing columns found in src/listing.c"
	note "exporting $DB to $csv"
	sqlite3 -readonly -csv -header "$DB" \
	    "SELECT $cols FROM listings ORDER BY listing_id" >"$csv.tmp" ||
		die "sqlite3 could not export $DB"
	mv "$csv.tmp" "$csv"
}

# Listing columns a file sets (not created_at, is_active and the like)
# that differ between the imported database $1 and the bench shop:
# "same" or "column n, column n ...".
compare_import() {
	local idb=$1 cols sums
	cols=$(listing_columns | awk '
	    $1 !~ /^(created_at|updated_at|is_active|removed_at|sold_at)$/ {
		print $1 }')
	sums=$(for c in $cols; do
		printf 'sum(x.%s IS NOT y.%s),' "$c" "$c"
	done)
	sqlite3 -readonly -separator ' ' "$idb" \
	    "ATTACH '$DB' AS a" \
	    "SELECT (SELECT count(*) FROM a.listings) - count(*), ${sums%,}
	     FROM main.listings x JOIN a.listings y USING (listing_id)" \
	    2>&1 | awk -v cols="missing $cols" '
	    NF < 2 { print "compare failed: " $0; exit }
	    { n = split(cols, c, " "); out = ""
	      for (i = 1; i <= n; i++)
		if ($i + 0 != 0) out = out (out ? ", " : "") c[i] " " $i
	      print out ? out : "same" }'
}

# Section 1: the original's export of the bench shop, imported into an
# empty database, then the same file again.
bench_import() {
	local csv=$OUT/export.csv idb=$OUT/import.db sum mb secs diff pass
	export_csv "$csv"
	mb=$(awk -v b="$(stat -c %s "$csv")" 'BEGIN {printf "%.1f", b / 1048576}')
	section "import: $csv, the original's export of $DB ($mb MB), by $CLI import"
	rm -f "$idb" "$idb-wal" "$idb-shm"
	note "import into an empty $idb"
	run_timed "$OUT/import.out" "$OUT/import.err" "" \
	    env DATABASE_URL="$idb" LOG_LEVEL=warning "$CLI" import "$csv"
	import_line "first import" "$IMPORT_TARGET_S" "added"
	if [ "$T_RC" = 0 ]; then
		diff=$(compare_import "$idb")
		pass=MISS
		[ "$diff" = same ] && pass=PASS
		result "content" "$([ "$pass" = PASS ] && echo same ||
		    echo DIFFERS)" \
		    "every column the file sets, against $DB: $diff $pass"
	fi
	note "import of the same file again"
	run_timed "$OUT/import.out" "$OUT/import.err" "" \
	    env DATABASE_URL="$idb" LOG_LEVEL=warning "$CLI" import "$csv"
	import_line "re-import (no change)" "" "unchanged"
	import_beside_reader "$csv" "$idb"
}

# The first import had the database to itself, so it wrote through a
# rollback journal (src/db.c); with a reader holding the database open
# (a running server) an import stays in WAL.  This one shows that path:
# the whole shop again with --clear-db, beside an open connection.
import_beside_reader() {
	local csv=$1 idb=$2 holder log=$OUT/holder.log deadline
	note "--clear-db import beside another open connection (WAL)"
	"$PY" -c 'import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1])
c.execute("SELECT count(*) FROM listings").fetchone()
print("open", flush=True)
time.sleep(600)' "$idb" >"$log" 2>&1 &
	holder=$!
	deadline=$((${EPOCHREALTIME/./} + 10000000))
	until grep -q '^open' "$log"; do
		[ "${EPOCHREALTIME/./}" -lt "$deadline" ] && kill -0 "$holder" ||
			die "the reader beside the import did not start: $(cat "$log")"
		sleep 0.05
	done
	run_timed "$OUT/import.out" "$OUT/import.err" "" \
	    env DATABASE_URL="$idb" LOG_LEVEL=warning "$CLI" import \
	    --clear-db "$csv"
	kill "$holder" 2>/dev/null
	wait "$holder" 2>/dev/null || true
	import_line "--clear-db beside a reader (WAL)" "" "added"
}

# One import's line from the CLI's summary and timed.py's numbers; the
# goal is the time (first import) or every row unchanged (re-import).
import_line() {
	local what=$1 goal=$2 want=$3 sum secs rows n verdict
	sum=$(grep -E 'rows [0-9]+' "$OUT/import.out" | tail -n 1 || true)
	if [ "$T_RC" != 0 ] || [ -z "$sum" ]; then
		result "$what" FAILED "exit $T_RC: $(tail -n 3 "$OUT/import.err" \
		    "$OUT/import.out" 2>/dev/null | grep -v '^import: \|^==>\|^$' |
		    tail -n 2 | tr '\n' ' ')"
		return
	fi
	secs=$(sed -n 's/.*, \([0-9.]*\) s$/\1/p' <<<"$sum")
	rows=$(sed -n 's/.*rows \([0-9]*\),.*/\1/p' <<<"$sum")
	n=$(sed -n "s/.*$want \\([0-9]*\\).*/\\1/p" <<<"$sum")
	if [ -n "$goal" ]; then
		verdict="target <=$goal s $(verdict "${secs:-99}" "<=" "$goal")"
	else
		verdict="target: $want $rows $( [ "$n" = "$rows" ] &&
		    echo PASS || echo MISS)"
	fi
	sum=${sum#*: }
	result "$what" "${secs:-?} s" "(wall ${T_WALL} s, CPU ${T_CPU} s," \
	    "peak RSS ${T_RSS} MB) ${sum%, *}  $verdict"
}

# The bench's fake Discogs with seed $1 (a listing's price, condition,
# artist ... depend on it); sets FAKE_URL.  The first start for a seed
# builds its cache (about 10 s for 100k on 2 cores).
start_fake() {
	local seed=$1 log=$OUT/fake.log deadline
	stop_fake
	note "fake Discogs: $N listings, seed $seed"
	"$PY" "$FAKE" --listings "$N" --seed "$seed" --token "$SYNC_TOKEN" \
	    --seller "$SYNC_SELLER" --cache "$OUT" >"$log" 2>&1 &
	FAKE_PID=$!
	deadline=$((${EPOCHREALTIME/./} + 180000000))
	until grep -q '^fake Discogs at ' "$log"; do
		if ! kill -0 "$FAKE_PID" 2>/dev/null ||
		    [ "${EPOCHREALTIME/./}" -gt "$deadline" ]; then
			cat "$log" >&2
			die "the fake Discogs did not start"
		fi
		sleep 0.1
	done
	FAKE_URL=$(sed -n 's/^fake Discogs at \([^ ]*\) .*/\1/p' "$log")
	note "$(head -n 1 "$log")"
}

stop_fake() {
	[ -n "$FAKE_PID" ] || return 0
	kill -TERM "$FAKE_PID" 2>/dev/null || true
	wait "$FAKE_PID" 2>/dev/null || true
	FAKE_PID=""
}

fake_control() {
	curl -s --max-time 10 -d "$1" "$FAKE_URL/_control" >/dev/null || true
}

# The fake's own time per inventory page since the last clear_log:
# "pages N, X ms per page (p99 Y ms), Z s in all".
fake_stats() {
	curl -s --max-time 30 "$FAKE_URL/_control/log" | "$PY" -c '
import json, sys
try:
    rs = json.load(sys.stdin)["requests"]
except Exception as e:
    sys.exit("fake: no log (%s)" % e)
t = sorted(r["done"] - r["t"] for r in rs
           if r["kind"] == "inventory" and r["done"] is not None)
if not t:
    sys.exit("fake: no inventory requests logged")
print("fake: %d pages, %.1f ms a page (p99 %.1f ms), %.1f s in all" % (
    len(t), 1000 * sum(t) / len(t), 1000 * t[int(0.99 * (len(t) - 1))],
    sum(t)))' 2>&1 || true
}

meta_value() {
	sqlite3 -readonly "$1" \
	    "SELECT value FROM meta WHERE key = '$2'" 2>/dev/null || true
}

# The peak RSS of the last cli_sync, against its target.
sync_rss_line() {
	result "  peak RSS" "${T_RSS} MB" \
	    "of the sync process  target <=$SYNC_RSS_TARGET_MB MB" \
	    "$(verdict "$T_RSS" "<=" "$SYNC_RSS_TARGET_MB")"
}

# One CLI sync into $SYNC_DB against the running fake.
cli_sync() {
	fake_control '{"op": "clear_log"}'
	run_timed "$OUT/sync.out" "$OUT/sync.err" 'page ([0-9]+) of \1\)$' \
	    env DATABASE_URL="$SYNC_DB" DISCOGS_TOKEN="$SYNC_TOKEN" \
	    DISCOGS_SELLER_USERNAME="$SYNC_SELLER" DISCOGS_API_URL="$FAKE_URL" \
	    DISCOGS_MIN_INTERVAL_MS=0 LOG_LEVEL=info "$CLI" sync
}

# "fetch X s + apply Y s" from the time of the CLI's last progress line
# ("sync: 100% (page N of N)").
sync_phases() {
	awk -v w="$T_WALL" -v m="$T_MARK" 'BEGIN {
		if (m < 0) print "no page log"
		else printf "fetch %.1f s + apply %.1f s", m, w - m }'
}

sync_summary() {
	local s
	s=$(grep -E '^(dry run.*: )?[a-z]+: [0-9]+ added' "$OUT/sync.out" |
	    tail -n 1 || true)
	if [ -z "$s" ]; then
		s="no summary: $(tail -n 2 "$OUT/sync.err" | tr '\n' ' ')"
	fi
	printf '%s' "$s"
}

# Section 2: a 100k shop synced from the fake into an empty database,
# then synced again with nothing changed.
bench_sync() {
	local s dv0 dv1 active fake pass note100=""
	[ "$N" = 100000 ] || note100=" (targets are for 100000)"
	section "sync: $CLI sync of $N listings ($(( (N + 99) / 100 ))" \
	    "pages of 100) from the fake Discogs ($FAKE)," \
	    "DISCOGS_MIN_INTERVAL_MS=0$note100"
	start_fake 1
	rm -f "$SYNC_DB" "$SYNC_DB-wal" "$SYNC_DB-shm"
	note "sync into an empty $SYNC_DB"
	cli_sync
	s=$(sync_summary)
	fake=$(fake_stats)
	active=$(sqlite3 -readonly "$SYNC_DB" "SELECT count(*) FROM listings
	    WHERE is_active = 1" 2>/dev/null || echo '?')
	if [ "$T_RC" != 0 ]; then
		result "first sync" FAILED "exit $T_RC, ${T_WALL} s: $s"
	else
		result "first sync" "${T_WALL} s" "($(sync_phases), CPU" \
		    "${T_CPU} s) $s; $active active" \
		    " target <=$SYNC_TARGET_S s" \
		    "$(verdict "$T_WALL" "<=" "$SYNC_TARGET_S")"
	fi
	sync_rss_line
	result "  fake Discogs" "" "${fake#fake: } (its own time, inside the fetch)"
	[ "$active" = "$N" ] || result "  listings" MISMATCH \
	    "$active active listings after the sync, the fake has $N"
	dv0=$(meta_value "$SYNC_DB" data_version)
	note "the same sync again, nothing changed"
	cli_sync
	s=$(sync_summary)
	fake=$(fake_stats)
	dv1=$(meta_value "$SYNC_DB" data_version)
	if [ "$T_RC" != 0 ]; then
		result "re-sync (no change)" FAILED "exit $T_RC, ${T_WALL} s: $s"
	else
		result "re-sync (no change)" "${T_WALL} s" "($(sync_phases)," \
		    "CPU ${T_CPU} s) $s  target <=$RESYNC_TARGET_S s" \
		    "$(verdict "$T_WALL" "<=" "$RESYNC_TARGET_S")"
	fi
	sync_rss_line
	result "  fake Discogs" "" "${fake#fake: }"
	pass=MISS
	[ -n "$dv0" ] && [ "$dv0" = "$dv1" ] && pass=PASS
	result "  wrote nothing" "$pass" "meta.data_version $dv0 -> $dv1" \
	    "(unchanged if no listing was written)"
	stop_fake
}

# JSON field $2 of the compact JSON object in $1 (string or number).
json_field() {
	"$PY" -c 'import json, sys
d = json.loads(sys.argv[1])
d = d[0] if isinstance(d, list) and d else d
v = d.get(sys.argv[2]) if isinstance(d, dict) else None
print("" if v is None else v)' "$1" "$2" 2>/dev/null || true
}

# Section 3: /api/data/{id} (mix) while idle, then while the server syncs
# every listing anew (the fake restarted with another seed).
bench_during() {
	local ids=$LIVE_DB.ids code body t0 t1 polled split="" runs st
	local fetched phases re_last fake_line a_rps a_p99 a_mbs a_bad
	local i_rps i_p99 i_mbs i_bad s_rps s_p99 s_mbs s_bad goal secs
	section "during a sync: GET /api/data/{id} (mix over the synced" \
	    "ids), idle vs while POST /api/sync runs"
	if [ ! -f "$SYNC_DB" ]; then
		result "skipped" "" "no $SYNC_DB: run the sync part first"
		return
	fi
	rm -f "$LIVE_DB" "$LIVE_DB-wal" "$LIVE_DB-shm"
	cp "$SYNC_DB" "$LIVE_DB"
	[ -f "$SYNC_DB-wal" ] && cp "$SYNC_DB-wal" "$LIVE_DB-wal"
	# The release-details job would fetch /releases/{id} at full speed
	# (interval 0) through both runs; it is not what is measured here.
	sqlite3 "$LIVE_DB" "UPDATE releases SET state = 'done'
	    WHERE state = 'pending'" ||
		die "sqlite3 could not prepare $LIVE_DB"
	sqlite3 -readonly "$LIVE_DB" "SELECT listing_id FROM listings" >"$ids"
	start_fake 2
	LOG=$OUT/server-sync.log
	launch_server "$LIVE_DB" DISCOGS_TOKEN="$SYNC_TOKEN" \
	    DISCOGS_SELLER_USERNAME="$SYNC_SELLER" DISCOGS_API_URL="$FAKE_URL" \
	    DISCOGS_MIN_INTERVAL_MS=0 ADMIN_PASSPHRASE="$ADMIN"
	wrk -t2 -c32 -d1s -s tests/bench/mix.lua "$BASE" -- "/api/data/{id}" \
	    "$ids" 0 >/dev/null 2>&1 || true
	note "wrk /api/data/{id} (mix, ${SECS}s), idle"
	run_wrk "${WRK_OPTS[@]}" -d "${SECS}s" -s tests/bench/mix.lua "$BASE" \
	    -- "/api/data/{id}" "$ids" 0
	IFS='|' read -r i_rps i_p99 i_mbs i_bad <<<"$(parse_wrk <"$OUT/wrk.out")"
	result "idle" "${i_p99} ms" "p99, $i_rps req/s, conns $WRK_SPLIT" \
	    "$([ "$i_bad" -gt 0 ] && echo "ERRORS: $i_bad non-2xx/socket")"

	note "POST /api/sync, and wrk until the run ends"
	fake_control '{"op": "clear_log"}'
	code=$(curl -s -o "$OUT/sync-post.json" -w '%{http_code}' -XPOST \
	    -H "Authorization: Bearer $ADMIN" -H 'content-length: 0' \
	    "$BASE/api/sync" || true)
	t0=${EPOCHREALTIME/./}
	if [ "$code" != 202 ]; then
		result "sync" FAILED "POST /api/sync answered ${code:-nothing}:" \
		    "$(head -c 300 "$OUT/sync-post.json" 2>/dev/null)"
		stop_server
		stop_fake
		return
	fi
	wrk "${WRK_OPTS[@]}" -d 600s -s tests/bench/mix.lua "$BASE" -- \
	    "/api/data/{id}" "$ids" 0 >"$OUT/wrk.out" 2>&1 &
	WRK_PID=$!
	polled=0
	fetched=""
	re_last='"progress":"page ([0-9]+) of ([0-9]+)"'
	while :; do
		sleep 0.5
		polled=$((polled + 1))
		[ "$polled" = 6 ] && split=$(conn_split)
		body=$(curl -s --max-time 5 "$BASE/api/sync/status" || true)
		case $body in *'"running":false'*) break ;; esac
		# The last page fetched: the apply (one write transaction) starts.
		if [ -z "$fetched" ] && [[ $body =~ $re_last ]] &&
		    [ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[2]}" ]; then
			fetched=${EPOCHREALTIME/./}
		fi
		if ! kill -0 "$SERVER_PID" 2>/dev/null; then
			note "the server is gone during the sync"
			break
		fi
		if [ $(( ${EPOCHREALTIME/./} - t0 )) -gt 300000000 ]; then
			note "the sync still runs after 300 s; stopping wrk"
			break
		fi
	done
	t1=${EPOCHREALTIME/./}
	kill -INT "$WRK_PID" 2>/dev/null || true
	wait "$WRK_PID" 2>/dev/null || true
	WRK_PID=""
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", (b - a) / 1e6}')
	phases=$(awk -v a="$t0" -v f="$fetched" -v b="$t1" 'BEGIN {
		if (f == "") print "no fetch/apply split"
		else printf "fetch %.1f s + apply %.1f s", (f - a) / 1e6,
		    (b - f) / 1e6 }')
	IFS='|' read -r s_rps s_p99 s_mbs s_bad <<<"$(parse_wrk <"$OUT/wrk.out")"
	goal=$(awk -v p="$i_p99" 'BEGIN {printf "%.2f", 2 * p + 5}')
	result "during the sync" "${s_p99} ms" "p99, $s_rps req/s over ${secs} s," \
	    "conns ${split:-?}  target <=2x idle + 5 ms = $goal ms" \
	    "$(verdict "$s_p99" "<=" "$goal")$([ "${s_bad:-0}" -gt 0 ] &&
	    echo " ERRORS: $s_bad non-2xx/socket")"
	runs=$(curl -s --max-time 10 "$BASE/api/sync/runs?limit=1" || true)
	st=$(json_field "$runs" status)
	result "the server's sync" "${st:-?}" "$(run_report "$runs")"
	fake_line=$(fake_stats)
	result "" "" "polled until running=false: ${secs} s ($phases, +-0.5 s)," \
	    "under wrk's full load; $fake_line"
	# Idle again, on the database the sync left (bigger, new data
	# version, cold caches): also shows how much the machine drifted.
	note "wrk /api/data/{id} (mix, ${SECS}s), idle after the sync"
	run_wrk "${WRK_OPTS[@]}" -d "${SECS}s" -s tests/bench/mix.lua "$BASE" \
	    -- "/api/data/{id}" "$ids" 0
	IFS='|' read -r a_rps a_p99 a_mbs a_bad <<<"$(parse_wrk <"$OUT/wrk.out")"
	result "idle, after the sync" "${a_p99} ms" "p99, $a_rps req/s, conns" \
	    "$WRK_SPLIT (not a target: the database after the run, and" \
	    "the machine's drift)$([ "$a_bad" -gt 0 ] &&
	    echo " ERRORS: $a_bad non-2xx/socket")"
	measure_rss
	check_server
	result "server" "" "workers' peak RSS $((RSS_SUM / 1024)) MB (max" \
	    "$((RSS_MAX / 1024)) MB); $SERVER_HEALTH"
	stop_server
	stop_fake
}

# "run N: +A ~U -R, S s (started .. finished)[, error]" of /api/sync/runs.
run_report() {
	"$PY" -c 'import datetime, json, sys
try:
    r = json.loads(sys.argv[1])[0]
except Exception:
    sys.exit("no run in /api/sync/runs: %r" % sys.argv[1][:200])
def t(s):
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))
secs = "?"
if r.get("started_at") and r.get("finished_at"):
    secs = "%d s" % (t(r["finished_at"]) - t(r["started_at"])).total_seconds()
print("run %s, %s (started_at to finished_at, whole seconds): %s added, "
      "%s updated, %s removed, %s skipped, %s pages, %s requests%s" % (
          r.get("id"), secs, r.get("added"), r.get("updated"), r.get("removed"),
          r.get("skipped"), r.get("pages"), r.get("requests"),
          ", error: %s" % r["error"] if r.get("error") else ""))' "$1" 2>&1 || true
}

# Section 4: the Lua rules' costs (bench_rules: CPU time of one thread).
# map+keep is the best of RULES_RUNS runs of 10,000 calls each (a busy
# machine slows even CPU time down: shared caches, hyperthreads); the
# ranking, about 25 s, runs once (BENCH_RANKING=0: not at all).
bench_rules() {
	local out=$OUT/rules.out v r k all="" best="" map="" mem=""
	local runs=${RULES_RUNS:-5}
	section "Lua rules: $RULES_BIN (CPU time, shipped scripts/)"
	note "$RULES_BIN scripts, $runs times"
	for k in $(seq "$runs"); do
		if ! "$RULES_BIN" scripts >"$out" 2>&1; then
			result "bench_rules" FAILED \
			    "$(tail -n 2 "$out" | tr '\n' ' ')"
			return
		fi
		v=$(awk '/^map\+keep:/ {print $2}' "$out")
		all="$all${all:+ }$v"
		if [ -z "$best" ] || awk -v a="$v" -v b="$best" \
		    'BEGIN {exit !(a < b)}'; then
			best=$v
			map=$(awk '/^map:/ {print $2}' "$out")
			mem=$(sed -n 's/^lua memory: //p' "$out")
		fi
	done
	result "map+keep" "${best:-?} us" "per listing, best of $runs ($all);" \
	    "map alone $map us; $mem  target <=$RULES_TARGET_US us" \
	    "$(verdict "${best:-999}" "<=" "$RULES_TARGET_US")"
	[ "${BENCH_RANKING:-1}" != 0 ] || return 0
	note "$RULES_BIN scripts $DB (search ranking)"
	if ! "$RULES_BIN" scripts "$DB" >"$out" 2>&1; then
		result "search+ranking" FAILED "$(tail -n 2 "$out" | tr '\n' ' ')"
		return
	fi
	r=$(awk '/^search\+ranking:/ {sub(/^x/, "", $2); print $2}' "$out")
	result "search+ranking" "x${r:-?}" "the cost of a plain search (limit" \
	    "50, each bench word, $DB)  target <=x$RANKING_TARGET" \
	    "$(verdict "${r:-99}" "<=" "$RANKING_TARGET")"
}

main() {
	local row label mode target
	need_tools
	LOAD_START=$(cut -d' ' -f1 /proc/loadavg)
	build_db
	if has_part routes; then
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
		stop_server
	fi
	if has_part import; then bench_import; fi
	if has_part sync; then bench_sync; fi
	if has_part during; then bench_during; fi
	if has_part rules; then bench_rules; fi
	printf '\nmachine: load average %s at the end\n' \
	    "$(cut -d' ' -f1 /proc/loadavg)"
}

main "$@"
