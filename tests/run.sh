#!/usr/bin/env bash
# The test runner behind `make test`.
#
#   tests/run.sh                      every test: unit binaries, e2e, browser
#   tests/run.sh e2e/test_data.py     a subset (paths relative to tests/,
#   tests/run.sh test_params          to the repo, or a unit test's name)
#   tests/run.sh browser/run.mjs      the storefront in headless Chromium
#   VERBOSE=1 tests/run.sh            print every TAP line, not just failures
#
# Every test prints TAP lines (`ok N - desc`, `not ok N - desc`).  A test
# that crashes, times out or exits non-zero without a `not ok` line counts
# as one failure named after it.  The last line is always `N passed, M
# failed`; the exit status is 1 when M > 0 or N is 0.
set -u

cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD
PY=/usr/bin/python3
UNIT_TIMEOUT=${UNIT_TIMEOUT:-120}
E2E_TIMEOUT=${E2E_TIMEOUT:-300}
BROWSER_TIMEOUT=${BROWSER_TIMEOUT:-240}
VERBOSE=${VERBOSE:-0}

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export PYTHONDONTWRITEBYTECODE=1

passed=0
failed=0
failures=()
out=$(mktemp "${TMPDIR:-/tmp}/fb-run.XXXXXX")
trap 'rm -f "$out"' EXIT

# Resolve one command-line argument to a test path.
resolve() {
	local a=$1
	for p in "$a" "tests/$a" "build/tests/$a"; do
		if [ -f "$p" ]; then
			printf '%s\n' "$p"
			return 0
		fi
	done
	return 1
}

run_one() {
	local path=$1 kind name rc start secs ok nok t0
	name=${path#tests/}
	name=${name#build/tests/}
	case $path in
	*.py) kind=e2e; t0=$E2E_TIMEOUT ;;
	*.mjs) kind=browser; t0=$BROWSER_TIMEOUT ;;
	*) kind=unit; t0=$UNIT_TIMEOUT ;;
	esac
	start=$(date +%s.%N)
	if [ "$kind" = e2e ]; then
		timeout -k 10 "$t0" "$PY" "$path" >"$out" 2>&1
	elif [ "$kind" = browser ]; then
		timeout -k 10 "$t0" node "$path" >"$out" 2>&1
	else
		timeout -k 10 "$t0" "./$path" >"$out" 2>&1
	fi
	rc=$?
	secs=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN{printf "%.1f", e-s}')
	ok=$(grep -cE '^ok [0-9]+' "$out")
	nok=$(grep -cE '^not ok [0-9]+' "$out")
	passed=$((passed + ok))
	failed=$((failed + nok))
	while IFS= read -r line; do
		failures+=("$name: $line")
	done < <(grep -E '^not ok [0-9]+' "$out")

	if [ "$VERBOSE" = 1 ]; then
		sed 's/^/    /' "$out"
	elif [ "$nok" -gt 0 ] || [ "$rc" -ne 0 ]; then
		# Failures with their diagnostics, and any stray output.
		awk '/^not ok [0-9]+/ {p=1; print "    " $0; next}
		     /^ok [0-9]+/ {p=0; next}
		     /^1\.\.[0-9]+$/ {next}
		     /^#/ {if (p) print "    " $0; next}
		     {print "    " $0}' "$out" | tail -n 200
	fi

	local why=""
	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		why="timed out after ${t0}s"
	elif [ "$rc" -gt 128 ]; then
		why="killed by signal $((rc - 128))"
	elif [ "$rc" -ne 0 ] && [ "$nok" -eq 0 ]; then
		why="exited with status $rc"
	elif [ "$ok" -eq 0 ] && [ "$nok" -eq 0 ]; then
		why="printed no test results"
	fi
	if [ -n "$why" ]; then
		failed=$((failed + 1))
		failures+=("$name: $why")
		[ "$VERBOSE" = 1 ] || tail -n 20 "$out" | sed 's/^/    | /'
	fi
	printf '%-36s %4d ok %4d not ok  %6ss%s\n' "$name" "$ok" "$nok" \
	    "$secs" "${why:+  ($why)}"
}

tests=()
if [ $# -gt 0 ]; then
	for a in "$@"; do
		if p=$(resolve "$a"); then
			tests+=("$p")
		else
			echo "tests/run.sh: no such test: $a" >&2
			failed=$((failed + 1))
			failures+=("$a: no such test")
		fi
	done
else
	shopt -s nullglob
	for p in build/tests/test_* build/tests/asan_test_*; do
		[ -x "$p" ] && tests+=("$p")
	done
	for p in tests/e2e/test_*.py; do
		tests+=("$p")
	done
	# The storefront in Debian's headless Chromium (make test installs
	# chromium and tests/browser/node_modules).
	tests+=(tests/browser/run.mjs)
	shopt -u nullglob
	if [ ! -x build/kore ] || [ ! -f build/freakinbeats.so ]; then
		echo "tests/run.sh: build/kore or build/freakinbeats.so missing;" \
		    "run 'make test' (or 'make all' first)" >&2
	fi
fi

for p in "${tests[@]}"; do
	run_one "$p"
done

echo
if [ ${#failures[@]} -gt 0 ]; then
	echo "failures:"
	for f in "${failures[@]}"; do
		echo "  $f"
	done
	echo
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
