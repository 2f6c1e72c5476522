# shellcheck shell=bash
#
# tests/bench/report.sh - the report: medians, ratios and targets, the
# Markdown tables of results.md.
# Sourced by tests/bench/bench.sh after common.sh; uses its settings and
# tables (scenarios, threads, connections, url_of …).

# The settings and tables are bench.sh's.
# shellcheck disable=SC2154

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

# ratio SCENARIO [REFERENCE]: median over rounds of rps / reference rps
# (default: the scenario's own reference), or "-".
ratio() {
	local s=$1 ref=${2:-${ref_of[$1]}} r
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
		echo '| scenario | req/s | req/s min–max | p50 ms | p99 ms | reference | ratio | target | PSS max KiB | PSS mean KiB | RSS max KiB | anon max KiB | errors |'
		echo '|---|---|--:|--:|--:|---|--:|--:|--:|--:|--:|--:|--:|'
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
				if [[ ${pss_max[$s]} != - ]] && ((${pss_max[$s]} <= pss_target_kib)); then
					checks+=("met: $s PSS ${pss_max[$s]} KiB ≤ $pss_target_kib KiB per responder")
				else
					checks+=("MISSED: $s PSS ${pss_max[$s]} KiB > $pss_target_kib KiB per responder")
				fi
			fi
			if ((errs > 0)); then
				mark="**$errs**"
				checks+=("MISSED: $s had $errs error responses or socket errors")
			else
				mark=0
			fi
			printf '| %s | %.0f | %.0f–%.0f | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' \
				"$s" "$rps" "$rmin" "$rmax" "$(ms "$p50")" "$(ms "$p99")" "${ref_of[$s]:--}" \
				"$ratio" "$target" "${pss_max[$s]}" "${pss_mean[$s]}" "${rss_max[$s]}" \
				"${rss_anon[$s]}" "$mark"
		done
	} >"$tbl"
	local e es er et
	for e in "${extra_ratios[@]}"; do
		read -r es er et <<<"$e"
		[[ " ${scenarios[*]} " == *" $es "* && " ${scenarios[*]} " == *" $er "* ]] || continue
		ratio=$(ratio "$es" "$er")
		if awk -v a="$ratio" -v b="$et" 'BEGIN { exit !(a >= b) }'; then
			checks+=("met: $es ÷ $er $ratio ≥ $et")
		else
			checks+=("MISSED: $es ÷ $er $ratio < $et")
		fi
	done
	: >"$MG_WORK/halfload.md"
	if ((${#h_rate[@]} > 0)); then
		{
			echo '| scenario | offered req/s (half the median) | p50 ms | p99 ms | errors |'
			echo '|---|--:|--:|--:|--:|'
			for s in "${halfload_scenarios[@]}"; do
				[[ -v "h_rate[$s]" ]] || continue
				printf '| %s | %d | %s | %s | %s |\n' "$s" "${h_rate[$s]}" \
					"$(ms "${h_p50[$s]}")" "$(ms "${h_p99[$s]}")" "${h_err[$s]}"
				if [[ $s == issue-* ]]; then
					if ((h_p99[$s] <= p99_target_us)); then
						checks+=("met: $s p99 at half load $(ms "${h_p99[$s]}") ms ≤ $(ms "$p99_target_us") ms")
					else
						checks+=("MISSED: $s p99 at half load $(ms "${h_p99[$s]}") ms > $(ms "$p99_target_us") ms")
					fi
				fi
				((h_err[$s] == 0)) || checks+=("MISSED: $s had ${h_err[$s]} errors at half load")
			done
		} >"$MG_WORK/halfload.md"
	fi
	if [[ -n ${soak_pss_first:-} ]]; then
		if ((soak_pss_last <= soak_pss_first + 64)); then
			checks+=("met: issue-hs256 PSS flat over the soak ($soak_pss_first → $soak_pss_last KiB, max per responder)")
		else
			checks+=("MISSED: issue-hs256 PSS grew over the soak ($soak_pss_first → $soak_pss_last KiB, max per responder)")
		fi
	fi
	cpu_table >"$MG_WORK/cpu.md"
	{
		echo "Measured $(bench_machine); load average before the run $load_before."
		echo "$(bench_bin_id); $responders responders per pool (\`spawn-fcgi -F $responders\`, one socket, one lighttpd each);"
		echo "\`wrk -t$threads -c$connections -d${duration}s --latency\`; $rounds interleaved rounds after a ${warmup} s warm-up;"
		echo "medians over rounds; every request names a random one of $bench_media_count media, issuing ones"
		echo "carry a random one of $bearer_count distinct bearers. ratio: median over rounds of req/s ÷ the same"
		echo "round's reference. PSS (/proc/PID/smaps_rollup) and VmRSS of each responder after the last round"
		echo "(max, mean; anon: its private anonymous part, RssAnon); the Go peer is one process."
		echo
		cat "$tbl"
		echo
		if [[ -s $MG_WORK/halfload.md ]]; then
			echo "Latency below saturation: \`h2load --h1\` offering half the median rate above,"
			echo "open loop (--rps per connection, 8 connections), ${halfload} s, random media, one bearer:"
			echo
			cat "$MG_WORK/halfload.md"
			echo
		fi
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
