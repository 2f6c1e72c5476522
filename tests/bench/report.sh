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
