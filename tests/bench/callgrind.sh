#!/usr/bin/env bash
#
# tests/bench/callgrind.sh - mediagate's cost per request in instructions,
# counted by valgrind's callgrind over a fixed batch of requests: a number
# that does not depend on how busy the machine is, broken down by module.
#
# For each scenario it starts ONE responder under
# `valgrind --tool=callgrind` (MG_WRAP of tests/lib/services.sh) behind its
# own lighttpd, with the benchmark's PostgreSQL data (see bench.sh), and:
#
#   1. sends a warm-up batch (connection, caches, first-use allocations);
#   2. zeroes the counters (callgrind_control --zero);
#   3. sends the measured batch with curl over keep-alive connections, one
#      request after the other; every answer must be 201 (issuing) or 200
#      (download);
#   4. dumps the counters (callgrind_control --dump), so that neither
#      start-up nor shutdown is counted, and stops the responder.
#
# The dump is then read (tests/bench/callgrind.awk): self cost (Ir, machine
# instructions executed in user space) of every function, grouped by module
# -- mediagate's own code by source file (src/*.c), the rest by shared
# library -- divided by the number of requests; and the inclusive cost of
# the main steps of a request. Kernel work (system calls, the socket I/O)
# and the work of PostgreSQL and lighttpd are not included.
#
# Scenarios: issue-hs256, issue-rs256, issue-es256 (POST
# /media/{id}/download-token with a bearer of that algorithm, as in
# bench.sh: every request its own bearer, minted by the Go peer, so that
# the RS/ES cache of verified signatures never finds one: the cost of a
# bearer seen for the first time), issue-rs256-again, issue-es256-again
# (one bearer for every request: the cost when the cache finds it) and
# download (GET /media/{id}/download/{token}).
#
# Usage: tests/bench/callgrind.sh [options]
#   -n, --requests N   measured requests per scenario (2000)
#   -w, --warmup N     warm-up requests per scenario (50)
#       --only LIST    comma-separated scenarios (all four)
#       --rows N       filler rows added to the media table (100000)
#   -o, --output FILE  Markdown results file (tests/bench/callgrind.md)
#       --no-output    do not write a results file
#       --keep         keep the work directory (callgrind.out.* files for
#                      callgrind_annotate or kcachegrind)
#   -h, --help         this text
#
# Environment: MG_BIN (responder binary, as for bench.sh) and those of
# tests/lib/services.sh. The responder should be built with -g (the
# default CFLAGS are -g -O2) so that its functions map to source files.
#
# Needs valgrind, lighttpd, spawn-fcgi, PostgreSQL, curl, openssl and Go with
# golang-jwt and pgx (the peer mints the bearers): the Debian packages that
# are missing are installed first (mg_apt_ensure;
# MG_SKIP_DEPS=1 skips that).

# mg_* functions take optional arguments that callers may leave out.
# shellcheck disable=SC2119

set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
# shellcheck source-path=SCRIPTDIR source=../lib/services.sh
. "$top/tests/lib/services.sh"
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$here/common.sh"
bench_name=callgrind

requests=2000
warmup=50
rows=100000
only=
output=$here/callgrind.md
keep=0

all_scenarios=(issue-hs256 issue-rs256 issue-es256 issue-rs256-again issue-es256-again download)
declare -A alg_of=(
	[issue-hs256]=HS256 [issue-rs256]=RS256 [issue-es256]=ES256
	[issue-rs256-again]=RS256 [issue-es256-again]=ES256 [download]=HS256
)

parse_args() {
	while (($#)); do
		case $1 in
		-n | --requests) need_uint "$1" "${2-}"; requests=$2; shift ;;
		-w | --warmup) need_uint "$1" "${2-}"; warmup=$2; shift ;;
		--only) only=${2-}; shift ;;
		--rows) need_uint "$1" "${2-}"; rows=$2; shift ;;
		-o | --output) output=${2-}; shift ;;
		--no-output) output= ;;
		--keep) keep=1 ;;
		-h | --help) usage; exit 0 ;;
		*) die "unknown option '$1' (see --help)" ;;
		esac
		shift
	done
	((requests >= 1)) || die "--requests must be at least 1"
	scenarios=("${all_scenarios[@]}")
	if [[ -n $only ]]; then
		IFS=, read -r -a scenarios <<<"$only"
		local s
		for s in "${scenarios[@]}"; do
			[[ -v "alg_of[$s]" ]] || die "unknown scenario '$s' (known: ${all_scenarios[*]})"
		done
	fi
}

# write_batch FILE COUNT URL [BEARERS]: a curl config that sends COUNT
# requests to URL one after the other on kept-alive connections and writes
# each status code on a line of its own: GET without BEARERS, else POST
# with an empty body and a bearer: request i takes line i of the file
# BEARERS, or its only line for all.
write_batch() {
	local file=$1 count=$2 url=$3 bearers=${4:-} i n=0
	local -a b=()
	if [[ -n $bearers ]]; then
		mapfile -t b <"$bearers"
		n=${#b[@]}
		((n > 0)) || die "no bearers in $bearers"
	fi
	{
		for ((i = 0; i < count; i++)); do
			((i == 0)) || echo 'next'
			echo 'silent'
			echo 'show-error'
			printf '%s\n' 'write-out = "%{http_code}\n"'
			if ((n > 0)); then
				echo 'request = "POST"'
				echo 'data-binary = ""'
				echo 'header = "Accept: application/json"'
				echo "header = \"Authorization: Bearer ${b[i % n]}\""
			fi
			echo "url = \"$url\""
			echo 'output = "/dev/null"'
		done
	} >"$file"
}

# send_batch FILE COUNT WANT: run the batch; every status must be WANT.
send_batch() {
	local codes bad
	codes=$(curl -K "$1") || die "curl failed on batch $1"
	bad=$(grep -cvx "$3" <<<"$codes") || true
	(($(wc -l <<<"$codes") == $2)) || die "batch $1: $(wc -l <<<"$codes") answers for $2 requests"
	((bad == 0)) || die "batch $1: $bad answers other than $3: $(sort <<<"$codes" | uniq -c | tr '\n' ' ')"
}

# profile SCENARIO BIN: one responder under callgrind; leaves the dump of the
# measured batch in $MG_WORK/callgrind.out.SCENARIO.
profile() {
	local s=$1 bin=$2 pool=cg-$1 base url warm='' batch='' want pid dump f out
	local -a env
	mapfile -t env < <(bench_pool_env "${alg_of[$s]}")
	MG_WRAP="valgrind --tool=callgrind --callgrind-out-file=$MG_WORK/callgrind.$s.%p" \
		MG_BIN=$bin mg_responders_start "$pool" 1 "${env[@]}" ||
		die "$s: the responder under valgrind did not start"
	pid=$(mg_responders_pids "$pool")
	[[ $pid =~ ^[0-9]+$ ]] || die "$s: no responder pid"
	base=$(bench_lighttpd "$pool" "$MG_WORK/$pool.sock") || die "$s: lighttpd did not start"
	if [[ $s == download ]]; then
		url=$(bench_download_url "$base") || die "$s: no download token"
		want=200
	elif [[ $s == *-again ]]; then
		url=$base/media/$bench_media_id/download-token
		warm=$MG_WORK/one-${alg_of[$s]}.txt
		head -n 1 "$MG_WORK/bearers-${alg_of[$s]}.txt" >"$warm"
		batch=$warm
		want=201
	else
		url=$base/media/$bench_media_id/download-token
		# Distinct bearers, none of the warm-up's among the measured.
		warm=$MG_WORK/warm-${alg_of[$s]}.txt
		batch=$MG_WORK/batch-${alg_of[$s]}.txt
		head -n "$((warmup > 0 ? warmup : 1))" "$MG_WORK/bearers-${alg_of[$s]}.txt" >"$warm"
		tail -n "+$((warmup + 1))" "$MG_WORK/bearers-${alg_of[$s]}.txt" >"$batch"
		want=201
	fi
	write_batch "$MG_WORK/warmup.$s.curl" "$warmup" "$url" "$warm"
	write_batch "$MG_WORK/batch.$s.curl" "$requests" "$url" "$batch"
	if ((warmup > 0)); then
		send_batch "$MG_WORK/warmup.$s.curl" "$warmup" "$want"
	fi
	out=$(callgrind_control --zero "$pid" 2>&1) || die "$s: callgrind_control --zero failed: $out"
	note "$s: $requests requests to a responder under callgrind"
	SECONDS=0
	send_batch "$MG_WORK/batch.$s.curl" "$requests" "$want"
	note "$s: done in $SECONDS s"
	out=$(callgrind_control --dump=batch "$pid" 2>&1) || die "$s: callgrind_control --dump failed: $out"
	mg_lighttpd_stop "$pool"
	mg_responders_stop "$pool"
	# The dump requested above is part 1: FILE.1 next to the final FILE.
	dump=
	for f in "$MG_WORK/callgrind.$s.$pid".*; do
		[[ -f $f && $f == *.1 ]] && dump=$f
	done
	[[ -n $dump ]] || die "$s: no callgrind dump (see $MG_WORK/$pool.log)"
	mv "$dump" "$MG_WORK/callgrind.out.$s"
}

# table KIND SORT: the Markdown table of KIND (module or step), one column
# per scenario, from the $MG_WORK/KIND.SCENARIO files (lines
# "name<TAB>Ir per request<TAB>share %"). With SORT=1 rows go largest
# first (by their largest cell), else in file order; the total comes last.
table() {
	local kind=$1 s
	local -a files=()
	for s in "${scenarios[@]}"; do
		files+=("$MG_WORK/$kind.$s")
	done
	awk -F '\t' -v kind="$1" -v sorted="$2" -v names="${scenarios[*]}" '
		# thousands separators, for reading
		function group(n,    s) {
			s = sprintf("%.0f", n)
			while (s ~ /[0-9][0-9][0-9][0-9]/)
				sub(/[0-9][0-9][0-9]($|,)/, ",&", s)
			sub(/,,/, ",", s)
			return s
		}
		BEGIN { ns = split(names, sc, " ") }
		FNR == 1 { col++ }
		{
			if (!($1 in seen)) { seen[$1] = 1; order[++n] = $1 }
			v[$1, col] = $2
			pct[$1, col] = $3
			if ($2 + 0 > big[$1]) big[$1] = $2 + 0
		}
		END {
			m = 0
			for (i = 1; i <= n; i++)
				if (order[i] != "total") o[++m] = order[i]
			for (i = 1; sorted && i <= m; i++)
				for (j = i + 1; j <= m; j++)
					if (big[o[j]] > big[o[i]]) {
						t = o[i]; o[i] = o[j]; o[j] = t
					}
			if ("total" in seen) o[++m] = "total"
			n = m
			for (i = 1; i <= n; i++) order[i] = o[i]
			head = "| " kind " |"
			sep = "|---|"
			for (c = 1; c <= ns; c++) {
				head = head " " sc[c] " |"
				sep = sep "--:|"
			}
			print head
			print sep
			for (i = 1; i <= n; i++) {
				r = order[i]
				line = "| " (r == "total" ? "**total**" : r) " |"
				for (c = 1; c <= ns; c++) {
					if (!((r, c) in v))
						cell = "-"
					else if (r == "total")
						cell = "**" group(v[r, c]) "**"
					else
						cell = group(v[r, c]) " (" pct[r, c] " %)"
					line = line " " cell " |"
				}
				print line
			}
		}' "${files[@]}"
}

main() {
	parse_args "$@"
	bench_packages valgrind lighttpd spawn-fcgi postgresql curl openssl golang-go \
		golang-github-golang-jwt-jwt-dev golang-github-jackc-pgx-v4-dev
	bench_need valgrind callgrind_control lighttpd spawn-fcgi curl openssl go
	local bin s
	bin=$(bench_find_bin) || exit 2
	mg_work_init || die "cannot create a work directory"
	if ((keep)); then
		mg_cleanup_on_exit
		note "work directory (kept): $MG_WORK"
	else
		mg_cleanup_on_exit remove
	fi
	bin=$(bench_snapshot_bin "$bin") || die "cannot copy $bin"
	mg_keys_make || die "key generation failed"
	mg_pg_start "$top/sql/sample.sql" || die "PostgreSQL setup failed"
	bench_load_data "$rows" || die "loading the benchmark data failed"
	# The Go peer mints the bearers, as for bench.sh.
	bench_build_peer "$MG_WORK/peer" || die "building the Go peer (tests/bench/peer) failed"
	for s in HS256 RS256 ES256; do
		bench_bearers "$MG_WORK/peer" "$s" "$((warmup + requests))" "$MG_WORK/bearers-$s.txt" ||
			die "minting $s bearers failed"
	done

	for s in "${scenarios[@]}"; do
		profile "$s" "$bin"
		awk -v requests="$requests" -v modules="$MG_WORK/module.$s" \
			-v steps="$MG_WORK/step.$s" -v bin="$(basename "$bin")" \
			-f "$here/callgrind.awk" "$MG_WORK/callgrind.out.$s" ||
			die "$s: reading the callgrind dump failed"
	done

	{
		echo "Instructions per request (callgrind Ir, user space only), $requests requests"
		echo "per scenario after $warmup warm-up requests, one responder, measured"
		echo "$(bench_machine); $(valgrind --version); $(bench_bin_id)."
		echo
		echo "By module (self cost; mediagate by source file, the rest by library):"
		echo
		table module 1
		echo
		echo "By step (inclusive cost of mediagate functions; steps overlap):"
		echo
		table step 0
	} >"$MG_WORK/callgrind.md"
	echo
	cat "$MG_WORK/callgrind.md"
	if [[ -n $output ]]; then
		{
			echo "# mediagate cost per request"
			echo
			echo "Produced by tests/bench/callgrind.sh."
			echo
			cat "$MG_WORK/callgrind.md"
		} >"$output"
		note "results written to $output"
	fi
}

main "$@"
