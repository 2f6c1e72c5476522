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
#   scenario       request                                     compared to
#   ceiling        POST, HS256 bearer, to a trivial responder   -
#                  (tests/bench/ceiling.c: fixed 250-byte JSON)
#   issue-hs256    POST /media/{id}/download-token, HS256       ceiling
#   issue-rs256    the same, RS256 bearer (own pool)            ceiling
#   issue-es256    the same, ES256 bearer (own pool)            ceiling
#   static-1mib    GET of a 1 MiB file that lighttpd serves     -
#                  from its document root
#   sendfile-ceiling  GET answered by the trivial responder     static-1mib
#                  with X-Sendfile of the same file (the most a
#                  responder can do for a download)
#   download-1mib  GET /media/{id}/download/{token} of the same static-1mib
#                  file (X-Sendfile)
#
# Runs are interleaved: after a short warm-up of every scenario, each of
# R rounds runs every scenario once for D seconds with
# `wrk -tT -cC -dD --latency`. The table shows per scenario the median over
# rounds of requests/s, p50 and p99 latency; the ratio column is the median
# over rounds of (scenario req/s) / (its reference's req/s in that round),
# so slow drifts of a shared machine cancel out; RSS is VmRSS of every
# responder of the pool after the last round (max and mean, KiB, and the
# largest RssAnon, the private part). Each check against the targets is
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
#   -d, --duration S      seconds per measured run (10)
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
#                         print the pool's VmRSS about every 100k requests
#       --soak-every K    sampling interval of --rss-soak (100000)
#       --keep            keep the work directory (logs, configuration)
#   -h, --help            this text
#
# Environment: MG_BIN (responder binary; default src/mediagate of the build
# directory, else of the source tree), CC (C compiler for ceiling.c), and
# those of tests/lib/services.sh.
#
# Needs wrk, lighttpd, spawn-fcgi, PostgreSQL, curl, openssl, pkg-config,
# libfcgi-dev and a C compiler: the Debian packages that are missing are
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
bench_name=bench

responders=4
duration=10
rounds=3
warmup=2
connections=32
threads=1
rows=100000
only=
output=$here/results.md
soak=0
soak_every=100000
keep=0
soak_errors=0
load_before=

all_scenarios=(ceiling issue-hs256 issue-rs256 issue-es256 static-1mib sendfile-ceiling
	download-1mib)

# Per scenario: pool, lighttpd instance, wrk script, reference.
declare -A pool_of=(
	[ceiling]=ceiling [issue-hs256]=hs [issue-rs256]=rs [issue-es256]=es
	[static-1mib]='' [sendfile-ceiling]=ceilingdl [download-1mib]=dl
)
declare -A lighttpd_of=(
	[ceiling]=ceiling [issue-hs256]=hs [issue-rs256]=rs [issue-es256]=es
	[static-1mib]=static [sendfile-ceiling]=ceilingdl [download-1mib]=dl
)
declare -A ref_of=(
	[ceiling]='' [issue-hs256]=ceiling [issue-rs256]=ceiling
	[issue-es256]=ceiling [static-1mib]='' [sendfile-ceiling]=static-1mib
	[download-1mib]=static-1mib
)
declare -A target_of=(
	[issue-hs256]=0.75 [issue-rs256]=0.60 [issue-es256]=0.60
	[download-1mib]=0.90
)

# Filled in by setup: URL, wrk script and bearer of each scenario.
declare -A url_of=() script_of=() bearer_of=()
# Results: KEY "scenario/round" -> value.
declare -A r_rps=() r_p50=() r_p99=() r_err=()
declare -A r_cpu_resp=() r_cpu_ruser=() r_cpu_pg=() r_cpu_lt=() r_cpu_wrk=() r_cpu_busy=()
declare -A rss_max=() rss_mean=() rss_anon=()

clk_tck=$(getconf CLK_TCK)
TIMEFORMAT='%3U %3S'
p99_target_us=5000
rss_target_kib=4096

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
	((rounds > 0 || soak > 0)) || die "nothing to do: --rounds 0 without --rss-soak"
}

# select_scenarios: the scenarios to run, in table order, references of
# the selected ones included.
select_scenarios() {
	local s want ok
	local -A wanted=()
	if ((rounds == 0)); then
		scenarios=(issue-hs256)
		return
	fi
	if [[ -z $only ]]; then
		scenarios=("${all_scenarios[@]}")
		return
	fi
	IFS=, read -r -a want <<<"$only"
	for s in "${want[@]}"; do
		ok=0
		[[ -v "pool_of[$s]" ]] && ok=1
		((ok)) || die "unknown scenario '$s' (known: ${all_scenarios[*]})"
		wanted[$s]=1
		if [[ -n ${ref_of[$s]} ]]; then
			wanted[${ref_of[$s]}]=1
		fi
	done
	scenarios=()
	for s in "${all_scenarios[@]}"; do
		if [[ -v "wanted[$s]" ]]; then
			scenarios+=("$s")
		fi
	done
}

check_tools() {
	bench_packages wrk lighttpd spawn-fcgi postgresql curl openssl pkg-config \
		libfcgi-dev gcc libc6-dev
	bench_need wrk lighttpd spawn-fcgi curl openssl pkg-config sha256sum "${CC:-cc}"
	pkg-config --exists fcgi || die "libfcgi-dev is not installed (no fcgi.pc)"
	mg_pg_bindir >/dev/null || die "PostgreSQL server binaries not found"
}

build_ceiling() {
	local -a flags
	read -r -a flags <<<"$(pkg-config --cflags --libs fcgi)"
	"${CC:-cc}" -O2 -Wall -Wextra -o "$MG_WORK/ceiling" "$here/ceiling.c" "${flags[@]}" ||
		die "building tests/bench/ceiling.c failed"
}

# needs_pool POOL: true when a selected scenario (or the soak) uses POOL.
needs_pool() {
	local s
	[[ $1 == hs ]] && ((soak > 0)) && return 0
	for s in "${scenarios[@]}"; do
		[[ ${pool_of[$s]} == "$1" ]] && return 0
		[[ $1 == dl && $s == static-1mib ]] && return 0
	done
	return 1
}

# start_pool NAME ALG BIN: a pool of the benchmark configuration for ALG.
start_pool() {
	local -a env
	mapfile -t env < <(bench_pool_env "$2")
	MG_BIN=$3 mg_responders_start "$1" "$responders" "${env[@]}" ||
		die "pool $1 did not start"
}

start_pools() {
	local bin=$1
	if needs_pool ceiling; then
		MG_BIN=$MG_WORK/ceiling mg_responders_start ceiling "$responders" ||
			die "ceiling pool did not start"
	fi
	if needs_pool ceilingdl; then
		MG_BIN=$MG_WORK/ceiling mg_responders_start ceilingdl "$responders" \
			CEILING_SENDFILE="$MG_WORK/storage/$bench_media_file" ||
			die "ceilingdl pool did not start"
	fi
	if needs_pool hs; then start_pool hs HS256 "$bin"; fi
	if needs_pool rs; then start_pool rs RS256 "$bin"; fi
	if needs_pool es; then start_pool es ES256 "$bin"; fi
	if needs_pool dl; then start_pool dl HS256 "$bin"; fi
}

# setup_scenarios: lighttpd instances, bearers, URLs, wrk scripts.
setup_scenarios() {
	local s base issue_path=/media/$bench_media_id/download-token
	for s in "${scenarios[@]}"; do
		case $s in
		static-1mib)
			# A FastCGI prefix nothing uses: every other path is a
			# static file of the document root.
			base=$(bench_lighttpd static "$MG_WORK/dl.sock" /fastcgi-unused/) ||
				die "lighttpd static did not start"
			url_of[$s]=$base/$bench_media_id.bin
			script_of[$s]=$here/get.lua
			;;
		sendfile-ceiling)
			base=$(bench_lighttpd ceilingdl "$MG_WORK/ceilingdl.sock") ||
				die "lighttpd ceilingdl did not start"
			url_of[$s]=$base/media/$bench_media_id/download/any
			script_of[$s]=$here/get.lua
			;;
		download-1mib)
			base=$(bench_lighttpd dl "$MG_WORK/dl.sock") || die "lighttpd dl did not start"
			url_of[$s]=$(bench_download_url "$base") || die "no download token"
			script_of[$s]=$here/get.lua
			;;
		*)
			base=$(bench_lighttpd "${lighttpd_of[$s]}" "$MG_WORK/${pool_of[$s]}.sock") ||
				die "lighttpd ${lighttpd_of[$s]} did not start"
			url_of[$s]=$base$issue_path
			script_of[$s]=$here/post.lua
			case $s in
			issue-rs256) bearer_of[$s]=$(bench_mint RS256) ;;
			issue-es256) bearer_of[$s]=$(bench_mint ES256) ;;
			*) bearer_of[$s]=$(bench_mint HS256) ;;
			esac
			;;
		esac
	done
}

# preflight SCENARIO: one request with curl; the status and body must be
# what the measured runs expect (wrk counts only statuses >= 400).
preflight() {
	local s=$1 out code sum want
	case ${script_of[$s]} in
	*post.lua)
		out=$(curl -sS -X POST --data-binary '' -H 'Accept: application/json' \
			-H "Authorization: Bearer ${bearer_of[$s]}" \
			-w '\n%{http_code}' "${url_of[$s]}") || die "$s: request failed"
		code=${out##*$'\n'}
		[[ $code == 201 && $out == '{"token":"'* ]] ||
			die "$s: expected 201 with a token, got $code: ${out%$'\n'*}"
		;;
	*)
		code=$(curl -sS -o "$MG_WORK/preflight.bin" -w '%{http_code}' "${url_of[$s]}") ||
			die "$s: request failed"
		[[ $code == 200 ]] || die "$s: expected 200, got $code"
		sum=$(sha256sum <"$MG_WORK/preflight.bin")
		want=$(sha256sum <"$MG_WORK/storage/$bench_media_file")
		[[ $sum == "$want" ]] || die "$s: the body is not the 1 MiB file"
		;;
	esac
}

# wrk_run SCENARIO SECONDS OUTFILE: run wrk; its output goes to OUTFILE.
wrk_run() {
	local s=$1
	MG_BENCH_BEARER=${bearer_of[$s]:-} wrk -t"$threads" -c"$connections" -d"$2"s \
		--latency -s "${script_of[$s]}" "${url_of[$s]}" >"$3" 2>&1
}

# field LINE NAME: the value of NAME=value in LINE.
field() {
	local v=${1#* "$2"=}
	echo "${v%% *}"
}

# proc_mem PID: "VmRSS RssAnon" of PID in KiB (RssAnon: the private,
# anonymous part; the rest of VmRSS is mostly shared library pages).
proc_mem() {
	awk '/^VmRSS:/ { r = $2 } /^RssAnon:/ { a = $2 } END { if (r == "") exit 1; print r, a + 0 }' \
		"/proc/$1/status" 2>/dev/null
}

# rss_of POOL: "max mean anon-max" (KiB) over the pool's responders, or
# "- - -" when it has none.
rss_of() {
	local pid mem kib anon max=0 sum=0 n=0 amax=0
	if [[ -n $1 ]]; then
		for pid in $(mg_responders_pids "$1"); do
			mem=$(proc_mem "$pid") || continue
			read -r kib anon <<<"$mem"
			((kib > max)) && max=$kib
			((anon > amax)) && amax=$anon
			sum=$((sum + kib))
			n=$((n + 1))
		done
	fi
	if ((n == 0)); then
		echo "- - -"
	else
		echo "$max $((sum / n)) $amax"
	fi
}

# proc_ticks PID...: "user system": the CPU time (clock ticks) the PIDs
# have used so far; PIDs that are gone count 0.
proc_ticks() {
	local pid stat user=0 sys=0
	local -a f
	for pid in "$@"; do
		{ read -r stat <"/proc/$pid/stat"; } 2>/dev/null || continue
		read -r -a f <<<"${stat##*) }"
		# f[0] is field 3 (state): utime and stime are fields 14 and 15.
		user=$((user + f[11]))
		sys=$((sys + f[12]))
	done
	echo "$user $sys"
}

# sum_ticks PID...: user + system time of the PIDs, clock ticks.
sum_ticks() {
	local user sys
	read -r user sys <<<"$(proc_ticks "$@")"
	echo $((user + sys))
}

# busy_ticks: CPU time the whole machine spent busy (all CPUs; user, nice,
# system, irq, softirq), clock ticks.
busy_ticks() {
	local cpu user nice sys irq softirq
	read -r cpu user nice sys _ _ irq softirq _ </proc/stat
	echo $((user + nice + sys + irq + softirq))
}

# pg_pids: the PostgreSQL server processes of our cluster.
pg_pids() {
	local master stat d
	local -a f
	master=$(head -n 1 "$MG_PGDATA/postmaster.pid" 2>/dev/null) || return 0
	echo "$master"
	for d in /proc/[0-9]*; do
		{ read -r stat <"$d/stat"; } 2>/dev/null || continue
		read -r -a f <<<"${stat##*) }"
		((f[1] == master)) && echo "${d#/proc/}"
	done
	return 0
}

# cpu_snapshot SCENARIO: ticks of "responders(user) responders(system)
# postgres lighttpd machine".
cpu_snapshot() {
	local s=$1 lpidf=$MG_WORK/lighttpd-${lighttpd_of[$1]}.pid
	local -a resp=() pg=() lpid=()
	[[ -n ${pool_of[$s]} ]] && mapfile -t resp < <(mg_responders_pids "${pool_of[$s]}")
	mapfile -t pg < <(pg_pids)
	[[ -f $lpidf ]] && lpid=("$(<"$lpidf")")
	echo "$(proc_ticks "${resp[@]}") $(sum_ticks "${pg[@]}") $(sum_ticks "${lpid[@]}") $(busy_ticks)"
}

# per_req TICKS REQUESTS: microseconds of CPU per request.
per_req() {
	awk -v t="$1" -v n="$2" -v hz="$clk_tck" 'BEGIN { printf "%.1f", t * 1e6 / hz / n }'
}

# measure SCENARIO ROUND: one measured run; records rate, latencies, errors
# and the CPU time per request of each kind of process.
# shellcheck disable=SC2034 # r_cpu_* are read through row_values' nameref
measure() {
	local s=$1 r=$2 out=$MG_WORK/wrk-$1-$2.txt line nonok sock errs text_errs reqs dur bytes
	local -a c0 c1
	local wrk_cpu
	read -r -a c0 <<<"$(cpu_snapshot "$s")"
	{ time wrk_run "$s" "$duration" "$out"; } 2>"$out.time" ||
		die "$s: wrk failed: $(tail -n 3 "$out")"
	read -r -a c1 <<<"$(cpu_snapshot "$s")"
	wrk_cpu=$(awk '{ printf "%.0f", ($1 + $2) * hz }' hz="$clk_tck" "$out.time")
	line=$(grep '^MGBENCH ' "$out") || die "$s: no summary from wrk: $(tail -n 3 "$out")"
	reqs=$(field "$line" requests)
	dur=$(field "$line" duration_us)
	bytes=$(field "$line" bytes)
	# wrk's own lines, cross-checked against the done hook's counts.
	nonok=$(sed -n 's/^ *Non-2xx or 3xx responses: *\([0-9]*\).*/\1/p' "$out")
	sock=$(sed -n 's/^ *Socket errors: connect \([0-9]*\), read \([0-9]*\), write \([0-9]*\), timeout \([0-9]*\).*/\1 \2 \3 \4/p' "$out")
	errs=$(($(field "$line" status_errors) + $(field "$line" connect) + $(field "$line" read) +
		$(field "$line" write) + $(field "$line" timeout)))
	text_errs=${nonok:-0}
	if [[ -n $sock ]]; then
		text_errs=$((text_errs + $(tr ' ' '+' <<<"$sock")))
	fi
	((text_errs <= errs)) || errs=$text_errs
	if [[ ${script_of[$s]} == *get.lua ]] && ((reqs > 0 && bytes / reqs < bench_media_size)); then
		note "$s round $r: $((bytes / reqs)) bytes per response, less than the file"
		errs=$((errs + 1))
	fi
	((reqs > 0)) || die "$s: no requests completed"
	r_rps[$s/$r]=$(awk -v n="$reqs" -v us="$dur" 'BEGIN { printf "%.1f", n * 1e6 / us }')
	r_p50[$s/$r]=$(field "$line" p50_us)
	r_p99[$s/$r]=$(field "$line" p99_us)
	r_err[$s/$r]=$errs
	r_cpu_resp[$s/$r]=$(per_req $((c1[0] + c1[1] - c0[0] - c0[1])) "$reqs")
	r_cpu_ruser[$s/$r]=$(per_req $((c1[0] - c0[0])) "$reqs")
	r_cpu_pg[$s/$r]=$(per_req $((c1[2] - c0[2])) "$reqs")
	r_cpu_lt[$s/$r]=$(per_req $((c1[3] - c0[3])) "$reqs")
	r_cpu_wrk[$s/$r]=$(per_req "$wrk_cpu" "$reqs")
	r_cpu_busy[$s/$r]=$(per_req $((c1[4] - c0[4])) "$reqs")
	if ((errs > 0)); then
		note "$s round $r: $errs error responses or socket errors (see $out)"
	fi
	# Keep the access logs from filling the disk over long runs.
	: >"$MG_WORK/lighttpd-${lighttpd_of[$s]}-access.log"
	printf '  %-16s round %d: %9.1f req/s  p50 %6.2f ms  p99 %6.2f ms  errors %d\n' \
		"$s" "$r" "${r_rps[$s/$r]}" "$(ms "${r_p50[$s/$r]}")" "$(ms "${r_p99[$s/$r]}")" "$errs" >&2
}

# median: the median of the numbers on stdin, one a line (the mean of the
# middle two for an even count).
median() {
	sort -g | awk '{ v[NR] = $1 }
		END {
			if (NR == 0) exit 1
			if (NR % 2) print v[(NR + 1) / 2]
			else print (v[NR / 2] + v[NR / 2 + 1]) / 2
		}'
}

ms() {
	awk -v us="$1" 'BEGIN { printf "%.2f", us / 1000 }'
}

# row_values SCENARIO ARRAY: the scenario's values of ARRAY over rounds.
row_values() {
	local -n arr=$2
	local r
	for ((r = 1; r <= rounds; r++)); do
		echo "${arr[$1/$r]}"
	done
}

# ratio SCENARIO: median over rounds of rps / reference rps, or "-".
ratio() {
	local s=$1 ref=${ref_of[$1]} r
	local -a v=()
	[[ -n $ref && -v "r_rps[$ref/1]" ]] || {
		echo "-"
		return
	}
	for ((r = 1; r <= rounds; r++)); do
		v+=("$(awk -v a="${r_rps[$s/$r]}" -v b="${r_rps[$ref/$r]}" 'BEGIN { printf "%.4f", a / b }')")
	done
	printf '%s\n' "${v[@]}" | median | awk '{ printf "%.2f", $1 }'
}

# cpu_table: the Markdown table of CPU time per request.
cpu_table() {
	local s resp ruser pg lt wrk busy
	echo '| scenario | responders | of which user | postgres | lighttpd | wrk | machine | other |'
	echo '|---|--:|--:|--:|--:|--:|--:|--:|'
	for s in "${scenarios[@]}"; do
		resp=$(row_values "$s" r_cpu_resp | median)
		ruser=$(row_values "$s" r_cpu_ruser | median)
		pg=$(row_values "$s" r_cpu_pg | median)
		lt=$(row_values "$s" r_cpu_lt | median)
		wrk=$(row_values "$s" r_cpu_wrk | median)
		busy=$(row_values "$s" r_cpu_busy | median)
		awk -v s="$s" -v a="$resp" -v u="$ruser" -v b="$pg" -v c="$lt" -v d="$wrk" \
			-v m="$busy" 'BEGIN {
			printf "| %s | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f |\n",
			    s, a, u, b, c, d, m, m - a - b - c - d }'
	done
}

# report: the table (Markdown) on stdout and in the results file.
report() {
	local s ratio rps p50 p99 errs rmin rmax target check tbl mark
	local -a checks=()
	tbl=$MG_WORK/table.md
	{
		echo '| scenario | req/s | req/s min–max | p50 ms | p99 ms | ratio | target | RSS max KiB | RSS mean KiB | anon max KiB | errors |'
		echo '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|'
		for s in "${scenarios[@]}"; do
			rps=$(row_values "$s" r_rps | median)
			rmin=$(row_values "$s" r_rps | awk 'NR == 1 || $1 < m { m = $1 } END { print m }')
			rmax=$(row_values "$s" r_rps | awk 'NR == 1 || $1 > m { m = $1 } END { print m }')
			p50=$(row_values "$s" r_p50 | median)
			p99=$(row_values "$s" r_p99 | median)
			errs=$(row_values "$s" r_err | awk '{ t += $1 } END { print t + 0 }')
			ratio=$(ratio "$s")
			target=-
			if [[ -v "target_of[$s]" && $ratio != - ]]; then
				target="≥ ${target_of[$s]}"
				if awk -v a="$ratio" -v b="${target_of[$s]}" 'BEGIN { exit !(a >= b) }'; then
					checks+=("met: $s ratio $ratio ≥ ${target_of[$s]} × ${ref_of[$s]}")
				else
					checks+=("MISSED: $s ratio $ratio < ${target_of[$s]} × ${ref_of[$s]}")
				fi
			fi
			if [[ $s == issue-* || $s == download-* ]]; then
				if ((${p99%.*} <= p99_target_us)); then
					checks+=("met: $s p99 $(ms "$p99") ms ≤ $(ms "$p99_target_us") ms")
				else
					checks+=("MISSED: $s p99 $(ms "$p99") ms > $(ms "$p99_target_us") ms")
				fi
				if [[ ${rss_max[$s]} != - ]] && ((${rss_max[$s]} <= rss_target_kib)); then
					checks+=("met: $s RSS ${rss_max[$s]} KiB ≤ $rss_target_kib KiB per responder")
				else
					checks+=("MISSED: $s RSS ${rss_max[$s]} KiB > $rss_target_kib KiB per responder")
				fi
			fi
			if ((errs > 0)); then
				mark="**$errs**"
				checks+=("MISSED: $s had $errs error responses or socket errors")
			else
				mark=0
			fi
			printf '| %s | %.0f | %.0f–%.0f | %s | %s | %s | %s | %s | %s | %s | %s |\n' \
				"$s" "$rps" "$rmin" "$rmax" "$(ms "$p50")" "$(ms "$p99")" "$ratio" "$target" \
				"${rss_max[$s]}" "${rss_mean[$s]}" "${rss_anon[$s]}" "$mark"
		done
	} >"$tbl"
	cpu_table >"$MG_WORK/cpu.md"
	{
		echo "Measured $(bench_machine); load average before the run $load_before."
		echo "$(bench_bin_id); $responders responders per pool (\`spawn-fcgi -F $responders\`, one socket, one lighttpd each);"
		echo "\`wrk -t$threads -c$connections -d${duration}s --latency\`; $rounds interleaved rounds after a ${warmup} s warm-up;"
		echo "medians over rounds. ratio: median over rounds of req/s ÷ the same round's"
		echo "reference (issue-* ÷ ceiling, downloads ÷ static). RSS: VmRSS of each responder after the last round"
		echo "(max, mean; anon: its private anonymous part, RssAnon)."
		echo
		cat "$tbl"
		echo
		for check in "${checks[@]}"; do
			echo "- $check"
		done
		echo
		echo "CPU time per request, µs (user + system, median over rounds): the pool's"
		echo "responders (and their user-space part), PostgreSQL (all server processes),"
		echo "the scenario's lighttpd, wrk; machine: every CPU's busy time; other: machine"
		echo "minus the four (interrupts and softirqs, i.e. most of the loopback network"
		echo "stack, kernel threads, anything else running). With every CPU busy,"
		echo "req/s ≈ CPUs ÷ machine time per request."
		echo
		cat "$MG_WORK/cpu.md"
	} >"$MG_WORK/results.md"
	echo
	cat "$MG_WORK/results.md"
	if [[ -s $MG_WORK/soak.md ]]; then
		echo
		cat "$MG_WORK/soak.md"
	fi
	if [[ -n $output ]]; then
		{
			echo "# mediagate benchmark results"
			echo
			echo "Produced by \`make bench\` (tests/bench/bench.sh)."
			echo
			cat "$MG_WORK/results.md"
			if [[ -s $MG_WORK/soak.md ]]; then
				echo
				cat "$MG_WORK/soak.md"
			fi
		} >"$output"
		note "results written to $output"
	fi
}

# soak N: N HS256 issuing requests in chunks of about soak_every requests
# (wrk only knows durations: the first chunk measures the rate, later
# chunks are sized by it); VmRSS and RssAnon of every responder of the pool
# before the first chunk and after each one.
soak() {
	local total=$1 done_reqs=0 secs line reqs rate errs pid mem kib anon
	local row max sum n amax
	local s=issue-hs256 out=$MG_WORK/wrk-soak.txt
	[[ -v "url_of[$s]" ]] || die "--rss-soak needs the issue-hs256 scenario"
	local start="fresh responders"
	((rounds == 0)) || start="the responders of the measured rounds"
	note "RSS soak: $total HS256 issuing requests, VmRSS about every $soak_every"
	{
		echo "Memory of the issue-hs256 pool over $total HS256 issuing requests (KiB; per"
		echo "responder: VmRSS/RssAnon; requests counted from the start of the soak, on"
		echo "$start):"
		echo
		echo '| requests | VmRSS max | VmRSS mean | RssAnon max | per responder |'
		echo '|--:|--:|--:|--:|---|'
	} >"$MG_WORK/soak.md"
	secs=5
	while :; do
		row=
		max=0 sum=0 n=0 amax=0
		for pid in $(mg_responders_pids hs); do
			mem=$(proc_mem "$pid") || continue
			read -r kib anon <<<"$mem"
			row+="$kib/$anon "
			((kib > max)) && max=$kib
			((anon > amax)) && amax=$anon
			sum=$((sum + kib))
			n=$((n + 1))
		done
		((n == responders)) || die "soak: the hs pool has $n live responders, not $responders"
		printf '| %d | %d | %d | %d | %s |\n' "$done_reqs" "$max" "$((sum / n))" "$amax" "${row% }" |
			tee -a "$MG_WORK/soak.md" >&2
		((done_reqs < total)) || break
		wrk_run "$s" "$secs" "$out" || die "soak: wrk failed: $(tail -n 3 "$out")"
		line=$(grep '^MGBENCH ' "$out") || die "soak: no summary from wrk"
		reqs=$(field "$line" requests)
		errs=$(($(field "$line" status_errors) + $(field "$line" connect) + $(field "$line" read) +
			$(field "$line" write) + $(field "$line" timeout)))
		if ((errs > 0)); then
			note "soak: $errs errors in a chunk: $line"
			soak_errors=$((soak_errors + errs))
		fi
		: >"$MG_WORK/lighttpd-hs-access.log"
		done_reqs=$((done_reqs + reqs))
		rate=$((reqs / secs))
		((rate > 0)) || die "soak: no requests completed"
		# Less than half a second short of the total counts as done.
		if ((done_reqs < total && total - done_reqs < rate / 2)); then
			total=$done_reqs
		fi
		secs=$(((soak_every + rate - 1) / rate))
		# The last chunk only as long as needed.
		if ((total - done_reqs < soak_every)); then
			secs=$(((total - done_reqs + rate - 1) / rate))
		fi
		((secs >= 1)) || secs=1
	done
	if ((soak_errors > 0)); then
		echo >>"$MG_WORK/soak.md"
		echo "- MISSED: $soak_errors error responses or socket errors during the soak" >>"$MG_WORK/soak.md"
	fi
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
	note "setting up in $MG_WORK: ${scenarios[*]}"
	bin=$(bench_snapshot_bin "$bin") || die "cannot copy $bin"
	build_ceiling
	mg_keys_make || die "key generation failed"
	MG_PG_MAX_CONNECTIONS=$((6 * responders + 20)) mg_pg_start "$top/sql/sample.sql" ||
		die "PostgreSQL setup failed"
	bench_load_data "$rows" || die "loading the benchmark data failed"
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
			read -r "rss_max[$s]" "rss_mean[$s]" "rss_anon[$s]" <<<"$(rss_of "${pool_of[$s]}")"
		done
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
