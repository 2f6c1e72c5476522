#!/usr/bin/env bash
#
# tests/fuzz/run.sh - build every libFuzzer harness and run each one for a
# bounded time; fail on any crash, leak, sanitizer report, timeout or
# broken invariant.
#
#   tests/fuzz/run.sh [SECONDS [HARNESS...]]     default: 30 s, every harness
#
# Each harness starts from its seeds in tests/fuzz/corpus/HARNESS/ (read
# only: new inputs go to a temporary corpus) and its dictionary
# tests/fuzz/HARNESS.dict when there is one. One summary line per harness,
# then the line "N passed, N failed". On a failure, the end of the
# harness's log is printed and the temporary directory, with the crashing
# input (crash-*, leak-*, timeout-*, oom-*), is kept; see
# tests/fuzz/README.md to reproduce it.
#
# Environment:
#   MG_FUZZ_OUT       where build.sh puts the harnesses (default build-fuzz)
#   MG_FUZZ_NO_BUILD  1: run what is already built
#   MG_FUZZ_KEEP      1: keep the temporary directory after success too
#
# Exit status: 0 when every harness ran clean, 1 otherwise, 2 on bad usage.

set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
out=${MG_FUZZ_OUT:-$top/build-fuzz}
secs=${1:-30}
shift || true

if [[ ! $secs =~ ^[1-9][0-9]*$ ]]; then
	echo "usage: tests/fuzz/run.sh [SECONDS [HARNESS...]]" >&2
	exit 2
fi

harnesses=("$@")
if ((${#harnesses[@]} == 0)); then
	for f in "$here"/fuzz_*.c; do
		f=${f##*/}
		harnesses+=("${f%.c}")
	done
fi

# Longest input per harness: room for what the parser accepts and a
# little beyond its own limits (storage names: PATH_MAX / 2).
max_len() {
	case $1 in
	fuzz_negotiate | fuzz_disposition) echo 1024 ;;
	fuzz_config) echo 2048 ;;
	fuzz_storage) echo 2100 ;;
	*) echo 4096 ;;
	esac
}

# A harness that does not build counts as failed below.
if [[ ${MG_FUZZ_NO_BUILD:-0} != 1 ]]; then
	MG_FUZZ_OUT=$out "$here/build.sh" "${harnesses[@]}" >/dev/null || true
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/mediagate-fuzz.XXXXXX")
export ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

passed=0 failed=0
for h in "${harnesses[@]}"; do
	bin=$out/$h
	if [[ ! -x $bin ]]; then
		echo "$h: FAIL (not built: $bin)"
		failed=$((failed + 1))
		continue
	fi
	mkdir -p "$work/corpus/$h" "$work/artifacts"
	args=(
		-max_total_time="$secs" -max_len="$(max_len "$h")"
		-timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=2048
		-error_exitcode=77 -timeout_exitcode=78
		-use_value_profile=1 -print_final_stats=1
		-artifact_prefix="$work/artifacts/$h-"
	)
	if [[ -f $here/$h.dict ]]; then
		args+=(-dict="$here/$h.dict")
	fi
	log=$work/$h.log
	rc=0
	"$bin" "${args[@]}" "$work/corpus/$h" "$here/corpus/$h" >"$log" 2>&1 </dev/null || rc=$?

	# A run that stopped early may lack any of these.
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	cov=$({ grep -Eo 'cov: [0-9]+ ft: [0-9]+' "$log" || true; } | tail -n 1 | awk '{ print $2 "/" $4 }')
	corp=$({ grep -Eo 'corp: [0-9]+' "$log" || true; } | tail -n 1 | awk '{ print $2 }')
	if ((rc == 0)) && grep -q 'SUMMARY: .*Sanitizer' "$log"; then
		rc=1	# a report that did not stop the run still fails it
	fi
	if ((rc == 0)); then
		result=PASS
		passed=$((passed + 1))
	else
		result="FAIL (exit $rc)"
		failed=$((failed + 1))
	fi
	printf '%-18s %-14s runs=%s cov/ft=%s corpus=%s time=%ss\n' "$h" "$result" \
		"${runs:-?}" "${cov:-?}" "${corp:-?}" "$secs"
	if ((rc != 0)); then
		# The report (sanitizer, broken invariant or libFuzzer's own)
		# to the end of the log, without the shadow byte map; else the
		# end of the log.
		echo "---- $log"
		report=$(sed -n '/ERROR: \|runtime error: \|invariant failed: /,$p' "$log" |
			sed '/^Shadow bytes around/,/^  Right alloca redzone/d' | head -n 100)
		if [[ -n $report ]]; then
			printf '%s\n' "$report"
		else
			tail -n 40 "$log"
		fi
		for f in "$work/artifacts/$h"-*; do
			[[ -e $f ]] || continue
			echo "---- crashing input $f ($(wc -c <"$f") bytes), first 512 as hex:"
			head -c 512 "$f" | od -An -tx1 | head -n 32
		done
	fi
done

if ((failed == 0)) && [[ ${MG_FUZZ_KEEP:-0} != 1 ]]; then
	rm -rf -- "$work"
else
	echo "fuzz: work directory kept: $work"
fi
echo "$passed passed, $failed failed"
((failed == 0))
