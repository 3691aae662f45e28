#!/usr/bin/env bash
# Runs one suite of test programs and prints one line per test plus a summary.
# Exit status of a test: 0 pass, 77 skipped (it prints why), anything else fails.
# Usage: tests/run-suite.sh NAME PROGRAM...
set -u
suite=$1; shift
pass=0; fail=0; skip=0; failed=()
logdir=build/test-logs/$suite
mkdir -p "$logdir"
for t in "$@"; do
	name=$(basename "$t" .sh)
	log=$logdir/$name.log
	start=${EPOCHREALTIME/./}
	"$t" >"$log" 2>&1
	rc=$?
	us=$(( ${EPOCHREALTIME/./} - start )); secs=$(printf '%d.%d' $((us / 1000000)) $((us / 100000 % 10)))
	if [ $rc -eq 0 ]; then
		pass=$((pass + 1)); printf '  PASS  %-40s %6ss\n' "$suite/$name" "$secs"
	elif [ $rc -eq 77 ]; then
		skip=$((skip + 1)); printf '  SKIP  %-40s %s\n' "$suite/$name" "$(tail -n 1 "$log")"
	else
		fail=$((fail + 1)); failed+=("$name")
		printf '  FAIL  %-40s %6ss (exit %d), last lines of %s:\n' "$suite/$name" "$secs" $rc "$log"
		tail -n 30 "$log" | sed 's/^/        /'
	fi
done
printf '%s: %d passed, %d failed, %d skipped\n' "$suite" $pass $fail $skip
[ $fail -eq 0 ]
