#!/usr/bin/env bash
#
# tests/bench/bench.sh - mediagate's throughput benchmark (`make bench`).
#
# Brings up, under one temporary directory and on 127.0.0.1 only, a private
# PostgreSQL with sql/sample.sql plus a benchmark medium (a 1 MiB file) and
# filler rows, then one responder pool per configuration, each run by
# `spawn-fcgi -F N` on its own socket behind its own lighttpd (the set-up of
# tests/lib/services.sh), and measures with wrk:
#
#   scenario         request                                   reference
#   ceiling          POST, HS256 bearer, to a trivial responder  -
#                    (tests/bench/ceiling.c: fixed 250-byte JSON)
#   select-ceiling   the same responder plus mediagate's one     ceiling
#                    prepared SELECT (tests/bench/ceiling_select.c):
#                    the honest ceiling of any design that asks
#                    PostgreSQL once per request
#   issue-hs256      POST /media/{id}/download-token, HS256       select-ceiling
#   issue-rs256      the same, RS256 bearer (own pool)            select-ceiling
#   issue-es256      the same, ES256 bearer (own pool)            select-ceiling
#   go-direct        the Go peer (tests/bench/peer: net/http,     select-ceiling
#                    golang-jwt, pgx) on its own listener, HS256
#   go-lighttpd      the Go peer behind lighttpd's mod_proxy      select-ceiling
#   static-1mib      GET of a 1 MiB file that lighttpd serves     -
#                    from its document root
#   sendfile-ceiling GET answered by the trivial responder with   static-1mib
#                    X-Sendfile of the same file
#   select-sendfile  the same after the same SELECT (the          sendfile-ceiling
#                    download ceiling)
#   download-1mib    GET /media/{id}/download/{token} of the      select-sendfile
#                    same file (X-Sendfile)
#
# Every request but static-1mib's and sendfile-ceiling's names a random
# one of 10,000 media (bench-1 … bench-10000, seeded next to the filler
# rows), issuing requests carry a random one of --bearers distinct bearers
# (minted by the Go peer with golang-jwt), downloads a random one of 2000
# download tokens: no cache keyed by the bearer or the token sees one
# value over and over (tests/bench/post.lua, get.lua).
#
# Runs are interleaved: after a short warm-up of every scenario, each of
# R rounds runs every scenario once for D seconds with
# `wrk -tT -cC -dD --latency`. The table shows per scenario the median over
# rounds of requests/s, p50 and p99 latency; the ratio column is the median
# over rounds of (scenario req/s) / (its reference's req/s in that round),
# so slow drifts of a shared machine cancel out; issue-hs256 is also
# compared so with go-direct and go-lighttpd. Memory is PSS (and VmRSS) of
# every responder after the last round. Then the latency below saturation:
# h2load --h1 offers half of the median rate of ceiling, select-ceiling,
# issue-hs256 and go-direct, open loop, and p50/p99 come from its
# per-request log. Last, the soak (--rss-soak) runs N HS256 issuing
# requests and samples the pool's PSS. Each check against the targets is
# listed under the table. Any non-2xx/3xx response or socket error during a
# measured run is counted and flagged, and makes the script exit 1 (after
# writing the table).
#
# A second table splits the CPU time per request between the responders,
# PostgreSQL, lighttpd and wrk, next to the machine's total busy time, which
# shows where a rate below the ceiling goes and how much other work on the
# machine took (the load average before the run is printed too).
#
# The tables go to stdout and, as Markdown with the date and the machine,
# to tests/bench/results.md (ready for the README).
#
# Usage: tests/bench/bench.sh [options]
#   -n, --responders N    responder processes per pool (4)
#   -d, --duration S      seconds per measured run (6)
#   -r, --rounds R        rounds (3); 0 skips the rounds (for --rss-soak)
#   -w, --warmup S        warm-up seconds per scenario before round 1 (2)
#   -c, --connections C   wrk connections (32)
#   -t, --threads T       wrk threads (1)
#       --rows N          filler rows added to the media table (100000)
#       --only LIST       comma-separated scenarios to run (references are
#                         added when a ratio needs them)
#   -o, --output FILE     Markdown results file (tests/bench/results.md)
#       --no-output       do not write a results file
#       --rss-soak N      after the rounds, run N HS256 issuing requests and
#                         print the pool's PSS about every 100k requests
#                         (100000; 0 skips it; the issue asks for 1000000)
#       --soak-every K    sampling interval of --rss-soak (100000)
#       --half-load S     seconds of each half-load latency run (10; 0 skips)
#       --bearers N       distinct bearers per algorithm (2000)
#       --keep            keep the work directory (logs, configuration)
#   -h, --help            this text
#
# Environment: MG_BIN (responder binary; default src/mediagate of the build
# directory, else of the source tree), CC (C compiler for ceiling.c), and
# those of tests/lib/services.sh.
#
# Needs wrk, h2load (nghttp2-client), lighttpd, spawn-fcgi, PostgreSQL,
# curl, openssl, pkg-config, libfcgi-dev, libpq-dev, a C compiler and Go
# with golang-github-golang-jwt-jwt-dev and golang-github-jackc-pgx-v4-dev: the Debian packages that are missing are
# installed first (mg_apt_ensure; MG_SKIP_DEPS=1 skips that).

# mg_* functions take optional arguments that callers may leave out.
# shellcheck disable=SC2119

set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
# shellcheck source-path=SCRIPTDIR source=../lib/services.sh
. "$top/tests/lib/services.sh"
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$here/common.sh"
# shellcheck source-path=SCRIPTDIR source=scenarios.sh
. "$here/scenarios.sh"
# shellcheck source-path=SCRIPTDIR source=measure.sh
. "$here/measure.sh"
# shellcheck source-path=SCRIPTDIR source=report.sh
. "$here/report.sh"
bench_name=bench

responders=4
duration=6
rounds=3
warmup=2
connections=32
threads=1
rows=100000
only=
output=$here/results.md
soak=100000
soak_every=100000
keep=0
soak_errors=0
load_before=

all_scenarios=(ceiling select-ceiling issue-hs256 issue-rs256 issue-es256 go-direct
	go-lighttpd static-1mib sendfile-ceiling select-sendfile download-1mib)

# Per scenario: pool (spawn-fcgi pool of responders; "go" is the Go peer's
# one process), lighttpd instance ('' for none), wrk script, reference.
declare -A pool_of=(
	[ceiling]=ceiling [select-ceiling]=select [issue-hs256]=hs [issue-rs256]=rs
	[issue-es256]=es [go-direct]=go [go-lighttpd]=go [static-1mib]=''
	[sendfile-ceiling]=ceilingdl [select-sendfile]=selectdl [download-1mib]=dl
)
declare -A lighttpd_of=(
	[ceiling]=ceiling [select-ceiling]=select [issue-hs256]=hs [issue-rs256]=rs
	[issue-es256]=es [go-direct]='' [go-lighttpd]=goproxy [static-1mib]=static
	[sendfile-ceiling]=ceilingdl [select-sendfile]=selectdl [download-1mib]=dl
)
declare -A ref_of=(
	[ceiling]='' [select-ceiling]=ceiling [issue-hs256]=select-ceiling
	[issue-rs256]=select-ceiling [issue-es256]=select-ceiling
	[go-direct]=select-ceiling [go-lighttpd]=select-ceiling [static-1mib]=''
	[sendfile-ceiling]=static-1mib [select-sendfile]=sendfile-ceiling
	[download-1mib]=select-sendfile
)
declare -A target_of=(
	[issue-hs256]=0.90 [issue-rs256]=0.80 [issue-es256]=0.70
	[download-1mib]=0.90
)
# Further comparisons, "SCENARIO REFERENCE TARGET": per-round ratios,
# median, checked like the ratio column.
extra_ratios=("issue-hs256 go-direct 1.0" "issue-hs256 go-lighttpd 2.0")
# Scenarios whose latency is also measured at half their median rate.
halfload_scenarios=(ceiling select-ceiling issue-hs256 go-direct)

# Filled in by setup: URL, wrk script and bearer of each scenario.
declare -A url_of=() script_of=() bearers_of=() paths_of=()
# Results: KEY "scenario/round" -> value.
declare -A r_rps=() r_p50=() r_p99=() r_err=()
# shellcheck disable=SC2034 # filled by measure.sh, read by report.sh
declare -A r_cpu_resp=() r_cpu_ruser=() r_cpu_pg=() r_cpu_lt=() r_cpu_wrk=() r_cpu_busy=()
declare -A rss_max=() rss_anon=() pss_max=() pss_mean=()
# Half-load latency: KEY scenario -> value.
declare -A h_rate=() h_p50=() h_p99=() h_err=()
# Bearers per algorithm (each its own sub) and download tokens.
bearer_count=2000
download_count=2000
halfload=10

clk_tck=$(getconf CLK_TCK)
TIMEFORMAT='%3U %3S'
p99_target_us=2000
pss_target_kib=2048

parse_args() {
	while (($#)); do
		case $1 in
		-n | --responders) need_uint "$1" "${2-}"; responders=$2; shift ;;
		-d | --duration) need_uint "$1" "${2-}"; duration=$2; shift ;;
		-r | --rounds) need_uint "$1" "${2-}"; rounds=$2; shift ;;
		-w | --warmup) need_uint "$1" "${2-}"; warmup=$2; shift ;;
		-c | --connections) need_uint "$1" "${2-}"; connections=$2; shift ;;
		-t | --threads) need_uint "$1" "${2-}"; threads=$2; shift ;;
		--rows) need_uint "$1" "${2-}"; rows=$2; shift ;;
		--only) only=${2-}; shift ;;
		-o | --output) output=${2-}; shift ;;
		--no-output) output= ;;
		--rss-soak) need_uint "$1" "${2-}"; soak=$2; shift ;;
		--soak-every) need_uint "$1" "${2-}"; soak_every=$2; shift ;;
		--half-load) need_uint "$1" "${2-}"; halfload=$2; shift ;;
		--bearers) need_uint "$1" "${2-}"; bearer_count=$2; shift ;;
		--keep) keep=1 ;;
		-h | --help) usage; exit 0 ;;
		*) die "unknown option '$1' (see --help)" ;;
		esac
		shift
	done
	((responders >= 1)) || die "--responders must be at least 1"
	((duration >= 1)) || die "--duration must be at least 1"
	((connections >= 1 && threads >= 1)) || die "connections and threads must be at least 1"
	((soak_every >= 1)) || die "--soak-every must be at least 1"
	((bearer_count >= 1)) || die "--bearers must be at least 1"
	((rounds > 0 || soak > 0)) || die "nothing to do: --rounds 0 without --rss-soak"
}

main() {
	parse_args "$@"
	select_scenarios
	check_tools
	local bin s r
	bin=$(bench_find_bin) || exit 2

	load_before=$(cut -d ' ' -f 1-3 /proc/loadavg)
	if awk '{ exit !($1 > 0.5) }' /proc/loadavg; then
		note "warning: load average $load_before: other work is running; results will be noisy"
	fi
	mg_work_init || die "cannot create a work directory"
	if ((keep)); then
		mg_cleanup_on_exit
		note "work directory (kept): $MG_WORK"
	else
		mg_cleanup_on_exit remove
	fi
	# The Go peer is no pool of services.sh: stop it first.
	if ((keep)); then
		trap 'peer_stop; mg_stop_all' EXIT
	else
		trap 'peer_stop; mg_stop_all; [[ -n ${MG_WORK:-} ]] && rm -rf -- "$MG_WORK"' EXIT
	fi
	note "setting up in $MG_WORK: ${scenarios[*]}"
	bin=$(bench_snapshot_bin "$bin") || die "cannot copy $bin"
	build_ceiling
	bench_build_peer "$MG_WORK/peer" || die "building the Go peer (tests/bench/peer) failed"
	mg_keys_make || die "key generation failed"
	MG_PG_MAX_CONNECTIONS=$((6 * responders + 20)) mg_pg_start "$top/sql/sample.sql" ||
		die "PostgreSQL setup failed"
	bench_load_data "$rows" || die "loading the benchmark data failed"
	make_bearers
	start_pools "$bin"
	setup_scenarios
	for s in "${scenarios[@]}"; do
		preflight "$s"
	done

	if ((rounds > 0)); then
		if ((warmup > 0)); then
			note "warm-up: ${warmup} s per scenario"
			for s in "${scenarios[@]}"; do
				wrk_run "$s" "$warmup" "$MG_WORK/wrk-$s-warmup.txt" ||
					die "$s: wrk failed during warm-up"
			done
		fi
		for ((r = 1; r <= rounds; r++)); do
			note "round $r of $rounds"
			for s in "${scenarios[@]}"; do
				measure "$s" "$r"
			done
		done
		for s in "${scenarios[@]}"; do
			read -r "rss_max[$s]" _ "rss_anon[$s]" "pss_max[$s]" "pss_mean[$s]" \
				<<<"$(rss_of "$s")"
		done
		if ((halfload > 0)); then
			for s in "${halfload_scenarios[@]}"; do
				if [[ " ${scenarios[*]} " == *" $s "* ]]; then
					halfload_run "$s"
				fi
			done
		fi
	fi
	if ((soak > 0)); then
		soak "$soak"
	fi
	if ((rounds > 0)); then
		report
	else
		echo
		cat "$MG_WORK/soak.md"
		[[ -z $output ]] || note "no rounds run; $output left as it was"
	fi
	((soak_errors == 0)) || exit 1
	for s in "${scenarios[@]}"; do
		for ((r = 1; r <= rounds; r++)); do
			((${r_err[$s/$r]} == 0)) || exit 1
		done
	done
}

main "$@"

