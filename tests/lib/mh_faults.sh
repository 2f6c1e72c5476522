# shellcheck shell=bash
#
# tests/lib/mh_faults.sh - the load and the faults of tests/multihost.sh,
# which sources it: the steady stream of requests and its record, each
# host or database lost under it, and the replication-lag test. It uses
# multihost.sh's say, fail, check and variables, and tests/lib/mh_hosts.sh.

# Variables such as back_bound and the host lists are multihost.sh's.
# shellcheck disable=SC2154,SC2034

# ---------------------------------------------------------------------------
# load and its record

now_ms() {
	echo $((${EPOCHREALTIME/./} / 1000))
}

# load_start DIR: four clients in the client namespace.
load_start() {
	local c
	load_dir=$1
	mkdir -p "$load_dir"
	load_pids=()
	for c in 1 2 3 4; do
		MH_CA=$MG_TLS_CERT MH_WEB=$(mg_netns_addr web) MH_BEARER=$bearer \
			mg_netns_exec client bash "$here/multihost.sh" --client "$c" "$load_dir" \
			</dev/null >/dev/null 2>"$load_dir/err.$c" &
		load_pids+=($!)
	done
}

load_stop() {
	touch "$load_dir/stop"
	wait "${load_pids[@]}" || true
}

# records: every response so far, sorted by start time.
records() {
	cat "$load_dir"/log.* 2>/dev/null | sort -n
}

# wait_for SECS AWK-CONDITION: until the records satisfy an awk expression
# over the counters n (responses) and the arrays by host (201 issues by
# host, started after `since`) - or SECS pass.
wait_for() {
	local secs=$1 cond=$2 since=${3:-0} i
	for ((i = 0; i < secs * 10; i++)); do
		if records | awk -v since="$since" '
			{ n++ } $1 >= since && $3 == "issue" && $4 == 201 { by[$5]++; m++ }
			END { exit !('"$cond"') }'; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# report NAME HOST T_LOSS T_BACK INFLIGHT: the figures of one fault, and
# its checks.
report() {
	local name=$1 host=$2 tl=$3 tb=$4 inflight=$5 line
	line=$(records | awk -v h="$host" -v tl="$tl" -v tb="$tb" '
		{ n++ }
		$4 != 200 && $4 != 201 { bad++; codes[$4]++ }
		# Served by the host while it was gone: started after the loss,
		# finished before it was back.
		$3 == "issue" && $4 == 201 && $5 == h && $1 > tl + 100 && $2 < tb { ghost++ }
		$3 == "issue" && $4 == 201 && $5 == h && $1 >= tb && (back == "" || $2 < back) { back = $2 }
		# The slowest answer of the outage: what waiting on the lost
		# host (a connect timeout) cost a request that did not fail.
		$1 >= tl - 1000 && $1 <= tb + 3000 && $2 - $1 > slow { slow = $2 - $1 }
		END {
			c = ""; for (k in codes) c = c " " k "x" codes[k]
			printf "%d %d %d %s %d %s\n", n, bad, ghost, (back == "" ? -1 : back - tb), slow, (c == "" ? "-" : substr(c, 2))
		}')
	read -r sent failed ghost back slow codes <<<"$line"
	# A database server is not sent requests: it has no "back in".
	[[ $host == r* ]] || back=-
	say "$name: $sent requests, $failed failed ($codes), $inflight in flight on $host at the loss; slowest answer $slow ms; back in $back ms"
	echo "$name | $sent | $failed | $inflight | $slow | $back" >>"$MG_WORK/figures"
	if ((failed > 0)); then
		records | awk '$4 != 200 && $4 != 201' | head -n 10 |
			while read -r t0 t1 op code h; do
				say "  failed: $op $code, started $((t0 - tl)) ms after the loss, took $((t1 - t0)) ms"
			done
	fi
	check "$name: at most the $inflight requests in flight on $host failed ($failed)" test "$failed" -le "$inflight"
	if [[ $host == r* ]]; then
		check "$name: $host served nothing while it was gone" test "$ghost" -eq 0
		check "$name: $host takes requests again within $back_bound s (${back} ms)" \
			test "$back" -ge 0 -a "$back" -le $((back_bound * 1000))
	fi
}

# ---------------------------------------------------------------------------
# faults

# freeze_busy HOST: SIGSTOP every process of HOST at a moment it has a
# request in flight (tries for about 10 s; then it is frozen idle).
freeze_busy() {
	local i
	for ((i = 0; i < 200; i++)); do
		if (($(mg_netns_conns "$1" "$fcgi_port") > 0)); then
			mg_netns_signal "$1" STOP
			(($(mg_netns_conns "$1" "$fcgi_port") > 0)) && return 0
			mg_netns_signal "$1" CONT
		fi
		sleep 0.05
	done
	mg_netns_signal "$1" STOP
	return 1
}

# freeze_idle HOST: SIGSTOP every process of HOST at a moment it has no
# request (tries for about 10 s).
freeze_idle() {
	local i
	for ((i = 0; i < 1000; i++)); do
		if (($(mg_netns_conns "$1" "$fcgi_port") == 0)); then
			mg_netns_signal "$1" STOP
			(($(mg_netns_conns "$1" "$fcgi_port") == 0)) && return 0
			mg_netns_signal "$1" CONT
		fi
		sleep 0.01
	done
	mg_netns_signal "$1" STOP
	return 1
}

# fault_responder SERVER KIND HOST: KIND is link (cable cut while the host
# has a request in flight), idle-link (cut while it has none) or kill
# (every process of the host killed); the host is back after 4 s.
fault_responder() {
	local server=$1 kind=$2 host=$3 tl tb inflight
	local name="$server: $host $kind"
	[[ $kind == link ]] && name="$server: $host link cut"
	[[ $kind == idle-link ]] && name="$server: $host link cut while idle"
	[[ $kind == kill ]] && name="$server: $host processes killed"
	load_start "$MG_WORK/load-$server-$kind"
	if ! wait_for 30 'n >= 40 && by["r1"] && by["r2"] && by["r3"]'; then
		check "$name: every host serves before the fault" false
		load_stop
		return
	fi
	# The loss comes while the host has a request, so that a request in
	# flight is part of every run: the host's processes are frozen
	# (SIGSTOP) when it has one; frozen, it finishes nothing, so what is
	# unfinished then is exactly what the loss cuts off.
	# A busy host is left alone by both balancers (least connections,
	# least busy) while its request hangs; an idle one gets the next
	# requests, which must wait for the connect timeout: both cases.
	if [[ $kind == idle-link ]]; then
		freeze_idle "$host" || say "$name: $host was never idle"
	else
		freeze_busy "$host" || say "$name: no request in flight on $host before the loss"
	fi
	inflight=$(mg_netns_conns "$host" "$fcgi_port")
	if [[ $kind == *link ]]; then
		mg_netns_link "$host" down
		tl=$(now_ms)
		mg_netns_signal "$host" CONT
	else
		mg_netns_kill "$host"
		tl=$(now_ms)
	fi
	# Down for at least 4 s and 40 responses.
	sleep 4
	wait_for 20 'n >= 40' "$tl" || true
	# "Back" counts from the moment the repair starts.
	tb=$(now_ms)
	if [[ $kind == *link ]]; then
		mg_netns_link "$host" up
	else
		mg_supervised_stop "$host" || true
		pool_start "$host" "$sendfile" || true
	fi
	wait_for "$((back_bound + 5))" "by[\"$host\"] >= 1" "$tb" || true
	sleep 1
	load_stop
	report "$name" "$host" "$tl" "$tb" "$inflight"
}

# fault_db WHICH: stop the standby (pg2) or the primary (pg1) for 4 s
# under load, start it again.
fault_db() {
	local host=$1 conn tl tb inflight role i spans
	if [[ $host == pg2 ]]; then
		conn=$pg_admin2
		role=standby
	else
		conn=$pg_admin1
		role=primary
	fi
	say "lighttpd: mediagate sessions before the $role stops: primary $(db_sessions "$pg_admin1"), standby $(db_sessions "$pg_admin2")"
	load_start "$MG_WORK/load-$role"
	wait_for 30 'n >= 40' || true
	inflight=$(db_sessions "$conn" active)
	tl=$(now_ms)
	pg_ctl_in "$host" stop || say "pg_ctl stop of the $role failed"
	sleep 4
	wait_for 20 'n >= 40' "$tl" || true
	say "lighttpd: the $role is down; mediagate sessions: primary $(db_sessions "$pg_admin1"), standby $(db_sessions "$pg_admin2")"
	pg_ctl_in "$host" start || say "the $role did not start again"
	tb=$(now_ms)
	sleep 2
	load_stop
	# In flight at the loss: the server's active sessions at that moment,
	# or, if more, the requests under way when the stop began (started
	# before it, answered after it): a request between its connection and
	# its statement is in flight too, though no session shows it active.
	spans=$(records | awk -v tl="$tl" '$1 <= tl && $2 >= tl { n++ } END { print n + 0 }')
	((spans > inflight)) && inflight=$spans
	report "lighttpd: $role stopped" "$host" "$tl" "$tb" "$inflight"
	check "lighttpd: the $role is back and the standby streams again" wait_streaming 30
	for ((i = 0; i < 20; i++)); do
		[[ $(db_sessions "$conn") -gt 0 || $host == pg2 ]] && break
		sleep 0.1
	done
}

# lag_probe ID: on the standby, wait (5 s at most) until media ID is
# deleted; write to $MG_WORK/lag-probe how many microseconds after its
# deleted_at (clock_timestamp() on the primary) that was.
lag_probe() {
	sql "$pg_admin2" "DO \$\$
DECLARE gone timestamptz; t0 timestamptz := clock_timestamp();
BEGIN
  LOOP
    SELECT deleted_at INTO gone FROM media WHERE id = '$1';
    EXIT WHEN gone IS NOT NULL OR clock_timestamp() - t0 > interval '5 s';
    PERFORM pg_sleep(0.0002);
  END LOOP;
  RAISE NOTICE 'lag-probe %', coalesce(floor(extract(epoch FROM clock_timestamp() - gone) * 1e6)::bigint, -1);
END \$\$" 2>&1 | sed -n 's/.*lag-probe \(-\{0,1\}[0-9]*\).*/\1/p' >"$MG_WORK/lag-probe"
}

# wait_probe_running ID: until the standby runs lag_probe ID.
wait_probe_running() {
	local i
	for ((i = 0; i < 100; i++)); do
		[[ $(sql "$pg_admin2" "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%id = ''$1''%' AND pid <> pg_backend_pid()") -gt 0 ]] &&
			return 0
		sleep 0.05
	done
	return 1
}

# lag_test: deletes on the primary against downloads through the
# standby's readers.
lag_test() {
	local mode i t0 t1 url path code stale worst total resp probe seen seen_worst
	local -a curl=(curl -s --max-time 10 --cacert "$MG_TLS_CERT" --resolve "localhost:443:$(mg_netns_addr web)")
	say "lag: mediagate sessions: primary $(db_sessions "$pg_admin1"), standby $(db_sessions "$pg_admin2")"
	check "lag: the responders read from the standby" test "$(db_sessions "$pg_admin1")" -eq 0 -a "$(db_sessions "$pg_admin2")" -gt 0
	for mode in local remote_apply; do
		worst=0
		total=0
		seen_worst=-1
		for ((i = 1; i <= 10; i++)); do
			sql "$pg_admin1" "INSERT INTO media (id, tenant_id, file_name, storage_file_name, mime_type) VALUES ('lag-$mode-$i', 'acme', 'lag.pdf', 'acme/m-pdf.pdf', 'application/pdf')" >/dev/null
			# The row must be there before the delete (issuing from
			# the standby needs it).
			resp=
			for ((t0 = 0; t0 < 50; t0++)); do
				resp=$(mg_netns_exec client "${curl[@]}" -X POST -d '' -H "Authorization: Bearer $bearer" \
					"https://localhost/media/lag-$mode-$i/download-token") || true
				[[ $resp == *'"url"'* ]] && break
				sleep 0.05
			done
			url=$(sed -n 's/.*"url":"\([^"]*\)".*/\1/p' <<<"$resp")
			path=/${url#https://*/}
			if [[ -z $url ]]; then
				check "lag: $mode: a token for a new row" false
				continue
			fi
			# The standby's own view: a session there waits for the
			# delete and tells how long after the row was written it
			# became visible (one clock: same machine).
			lag_probe "lag-$mode-$i" &
			probe=$!
			wait_probe_running "lag-$mode-$i" ||
				say "lag: the standby's probe did not start"
			sql "$pg_admin1" "SET synchronous_commit = $mode; UPDATE media SET deleted_at = clock_timestamp() WHERE id = 'lag-$mode-$i'" >/dev/null
			t0=$(now_ms)
			# Downloadable how long after the delete's commit returned?
			stale=0
			while :; do
				code=$(mg_netns_exec client "${curl[@]}" -o /dev/null -w '%{http_code}' "https://localhost$path") || true
				t1=$(now_ms)
				[[ $code == 404 ]] && break
				stale=$((t1 - t0))
				((t1 - t0 < 5000)) || break
			done
			((stale > worst)) && worst=$stale
			total=$((total + stale))
			wait "$probe" || true
			seen=$(<"$MG_WORK/lag-probe") || seen=
			[[ $seen =~ ^[0-9]+$ ]] || seen=-1
			((seen > seen_worst)) && seen_worst=$seen
		done
		say "lag: synchronous_commit = $mode: the standby saw a delete up to $seen_worst us after the row was written; a deleted media stayed downloadable up to $worst ms after the delete committed (sum over 10: $total ms)"
		echo "lag, synchronous_commit = $mode | standby applied the delete within $seen_worst us" >>"$MG_WORK/figures"
		echo "lag, synchronous_commit = $mode | downloadable up to $worst ms after the delete" >>"$MG_WORK/figures"
		if [[ $mode == remote_apply ]]; then
			check "lag: with remote_apply no download succeeds after the delete ($worst ms)" test "$worst" -eq 0
		else
			check "lag: asynchronous: stale for at most $lag_bound_ms ms ($worst ms)" test "$worst" -le "$lag_bound_ms"
		fi
	done
	# Replay lag as the primary sees it.
	say "lag: pg_stat_replication: $(sql "$pg_admin1" "SELECT coalesce(replay_lag::text, '0') FROM pg_stat_replication")"
}

