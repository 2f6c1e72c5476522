# shellcheck shell=bash
#
# tests/bench/measure.sh - measurement: wrk runs, memory (VmRSS, RssAnon)
# and CPU time per process group, interleaved rounds, and the RSS soak.
# Sourced by tests/bench/bench.sh after common.sh; uses its settings and
# tables (scenarios, threads, connections, url_of …).

# The settings and tables are bench.sh's.
# shellcheck disable=SC2154

# wrk_run SCENARIO SECONDS OUTFILE: run wrk; its output goes to OUTFILE.
wrk_run() {
	local s=$1
	MG_BENCH_BEARERS=${bearers_of[$s]:-} MG_BENCH_PATHS=${paths_of[$s]:-} \
		wrk -t"$threads" -c"$connections" -d"$2"s \
		--latency -s "${script_of[$s]}" "${url_of[$s]}" >"$3" 2>&1
}

# field LINE NAME: the value of NAME=value in LINE.
field() {
	local v=${1#* "$2"=}
	echo "${v%% *}"
}

# proc_mem PID: "VmRSS RssAnon Pss" of PID in KiB (RssAnon: the private,
# anonymous part; Pss, from /proc/PID/smaps_rollup: the resident pages
# with each shared page divided among the processes that map it, i.e.
# what the process really costs; the rest of VmRSS is mostly shared
# library pages).
proc_mem() {
	local pss
	pss=$(awk '/^Pss:/ { print $2; exit }' "/proc/$1/smaps_rollup" 2>/dev/null) || return 1
	awk -v pss="${pss:-0}" '/^VmRSS:/ { r = $2 } /^RssAnon:/ { a = $2 }
		END { if (r == "") exit 1; print r, a + 0, pss }' "/proc/$1/status" 2>/dev/null
}

# rss_of SCENARIO: "max mean anon-max pss-max pss-mean" (KiB) over the
# scenario's responders, or "- - - - -" when it has none.
rss_of() {
	local pid mem kib anon pss max=0 sum=0 n=0 amax=0 pmax=0 psum=0
	for pid in $(resp_pids "$1"); do
		mem=$(proc_mem "$pid") || continue
		read -r kib anon pss <<<"$mem"
		((kib > max)) && max=$kib
		((anon > amax)) && amax=$anon
		((pss > pmax)) && pmax=$pss
		sum=$((sum + kib))
		psum=$((psum + pss))
		n=$((n + 1))
	done
	if ((n == 0)); then
		echo "- - - - -"
	else
		echo "$max $((sum / n)) $amax $pmax $((psum / n))"
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
	mapfile -t resp < <(resp_pids "$s")
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
	[[ -z ${lighttpd_of[$s]} ]] || : >"$MG_WORK/lighttpd-${lighttpd_of[$s]}-access.log"
	printf '  %-16s round %d: %9.1f req/s  p50 %6.2f ms  p99 %6.2f ms  errors %d\n' \
		"$s" "$r" "${r_rps[$s/$r]}" "$(ms "${r_p50[$s/$r]}")" "$(ms "${r_p99[$s/$r]}")" "$errs" >&2
}

# soak N: N HS256 issuing requests in chunks of about soak_every requests
# (wrk only knows durations: the first chunk measures the rate, later
# chunks are sized by it); VmRSS and RssAnon of every responder of the pool
# before the first chunk and after each one.
soak() {
	local total=$1 done_reqs=0 secs line reqs rate errs pid mem kib anon
	local row max sum n amax pss pmax psum
	local s=issue-hs256 out=$MG_WORK/wrk-soak.txt
	[[ -v "url_of[$s]" ]] || die "--rss-soak needs the issue-hs256 scenario"
	local start="fresh responders"
	((rounds == 0)) || start="the responders of the measured rounds"
	note "RSS soak: $total HS256 issuing requests, VmRSS about every $soak_every"
	{
		echo "Memory of the issue-hs256 pool over $total HS256 issuing requests (KiB; per"
		echo "responder: PSS/VmRSS/RssAnon; requests counted from the start of the soak, on"
		echo "$start; random media, random bearers):"
		echo
		echo '| requests | PSS max | PSS mean | VmRSS max | RssAnon max | per responder PSS/RSS/anon |'
		echo '|--:|--:|--:|--:|--:|---|'
	} >"$MG_WORK/soak.md"
	secs=5
	while :; do
		row=
		max=0 sum=0 n=0 amax=0 pmax=0 psum=0
		for pid in $(mg_responders_pids hs); do
			mem=$(proc_mem "$pid") || continue
			read -r kib anon pss <<<"$mem"
			row+="$pss/$kib/$anon "
			((kib > max)) && max=$kib
			((anon > amax)) && amax=$anon
			((pss > pmax)) && pmax=$pss
			sum=$((sum + kib))
			psum=$((psum + pss))
			n=$((n + 1))
		done
		((n == responders)) || die "soak: the hs pool has $n live responders, not $responders"
		[[ -n ${soak_pss_first:-} ]] || soak_pss_first=$pmax
		# shellcheck disable=SC2034 # read by report.sh
		soak_pss_last=$pmax
		printf '| %d | %d | %d | %d | %d | %s |\n' "$done_reqs" "$pmax" "$((psum / n))" "$max" \
			"$amax" "${row% }" |
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

# halfload_run SCENARIO: latency below saturation. h2load (HTTP/1.1,
# --h1) offers half the scenario's median rate of the rounds, spread over
# C connections with --rps each, for $halfload seconds; the URIs are the
# scenario's random paths in order (h2load -i), the bearer its first one
# (h2load sends one header set). p50/p99 come from h2load's per-request
# log (--log-file: start, status, elapsed microseconds).
halfload_run() {
	local s=$1 rps rate c=8 per base fails log=$MG_WORK/h2load-$1.log out=$MG_WORK/h2load-$1.txt
	local -a args=()
	rps=$(row_values "$s" r_rps | median)
	rate=$(awk -v r="$rps" 'BEGIN { printf "%d", r / 2 }')
	per=$(awk -v r="$rate" -v c="$c" 'BEGIN { v = r / c; printf "%d", v < 1 ? 1 : v }')
	base=${url_of[$s]%/}
	if [[ -n ${paths_of[$s]:-} ]]; then
		shuf "${paths_of[$s]}" | sed "s|^|$base|" >"$MG_WORK/h2load-$s.uris"
	else
		echo "$base" >"$MG_WORK/h2load-$s.uris"
	fi
	if [[ ${script_of[$s]} == *post.lua ]]; then
		# h2load cannot send an empty body (it maps the -d file): the
		# contract's other accepted body, an empty JSON object.
		printf '{}' >"$MG_WORK/h2load-body.json"
		args=(-d "$MG_WORK/h2load-body.json" -H 'Content-Type: application/json'
			-H "Authorization: Bearer $(first_bearer "$s")" -H 'Accept: application/json')
	fi
	note "$s: half load, $((per * c)) req/s offered for ${halfload} s (h2load --rps $per -c $c)"
	h2load --h1 -c "$c" --rps "$per" -D "$halfload" -i "$MG_WORK/h2load-$s.uris" \
		--log-file "$log" "${args[@]}" >"$out" 2>&1 || die "$s: h2load failed: $(tail -n 3 "$out")"
	h_rate[$s]=$((per * c))
	read -r "h_p50[$s]" "h_p99[$s]" < <(cut -f 3 "$log" | sort -n | awk '
		{ v[NR] = $1 }
		END {
			if (NR == 0) { print 0, 0; exit }
			i50 = int(NR * 0.50); if (i50 < 1) i50 = 1
			i99 = int(NR * 0.99); if (i99 < 1) i99 = 1
			print v[i50], v[i99]
		}')
	# Non-2xx/3xx answers in the log, and what h2load counts as failed,
	# errored or timed out.
	fails=$(sed -n 's/^requests:.* \([0-9]*\) failed, \([0-9]*\) errored, \([0-9]*\) timeout.*/\1+\2+\3/p' "$out" |
		head -n 1)
	h_err[$s]=$(($(awk -F '\t' '$2 < 200 || $2 >= 400 { e++ } END { print e + 0 }' "$log") + ${fails:-1}))
	(($(wc -l <"$log") > 0)) || h_err[$s]=$((h_err[$s] + 1))
	[[ -z ${lighttpd_of[$s]} ]] || : >"$MG_WORK/lighttpd-${lighttpd_of[$s]}-access.log"
	printf '  %-16s half load %6d req/s: p50 %6.2f ms  p99 %6.2f ms  errors %d\n' \
		"$s" "${h_rate[$s]}" "$(ms "${h_p50[$s]}")" "$(ms "${h_p99[$s]}")" "${h_err[$s]}" >&2
}
