#!/usr/bin/env bash
#
# tests/multihost.sh - mediagate on several hosts, with hosts lost under
# load. Run by `tests/run multihost` (root: it makes network namespaces).
#
# The bed (tests/lib/netns.sh): one namespace per host on a bridge of its
# own namespace, addresses 10.231.0.N inside them only:
#   web .2      lighttpd from deploy/lighttpd/mediagate-multihost.conf, and
#               in a second run Apache from deploy/apache/mediagate-multihost.conf
#   client .3   the load: curl clients talking to the web host's address
#   r1-r3 .11-.13  responder hosts: deploy/systemd/mediagate-tcp.service's
#               ExecStart (multiwatch) under spawn-fcgi on 10.231.0.1N:9000,
#               its FCGI_WEB_SERVER_ADDRS set to the web host, the settings
#               of mediagate.env and mediagate-replicas.env (the libpq
#               multi-host string, target_session_attrs=prefer-standby)
#   pg1 .21     PostgreSQL primary
#   pg2 .22     hot standby made with pg_basebackup -R, streaming
# Only addresses and ports of the deploy/ files are substituted.
#
# Each fault runs under a steady stream of issue + download requests (four
# clients, bounded in count and time); every response is recorded with its
# time, status and the responder host that issued the token (each host's
# MEDIAGATE_PUBLIC_URL names it: https://rN.localhost, the URL's path is
# what the clients use). The rule: no request fails except those in flight
# on the host at the moment it was lost - counted in that host's own
# namespace at that moment (its unfinished TCP connections on the FastCGI
# port, or a database server's active mediagate sessions) - and the host,
# once back, takes requests again within $back_bound seconds.
#
# Replication lag: a media row deleted on the primary, then downloaded at
# once through responders reading the standby; asynchronously the stale
# window is measured and must stay under $lag_bound_ms ms; with
# synchronous_commit = remote_apply on the delete it must be nil.
#
# Output: one line per check ("ok" or "FAIL"), the figures of every fault,
# and Check's summary line "N%: Checks: N, Failures: N, Errors: N".
#
# Knobs: MG_BUILDDIR, MG_BIN; MG_KEEP_WORK=1; MG_MULTIHOST="lighttpd
# apache" (the web servers to run); MG_MULTIHOST_FAULTS (default: all of
# link kill standby primary lag).
#
# Exit status: 0 when everything passed; 1 when a check failed; 77 when a
# package is missing; 99 when the bed cannot be set up.

# mg_* functions take optional arguments that callers may leave out.
# shellcheck disable=SC2119

set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top_srcdir=$(cd "$here/.." && pwd)
deploy=$top_srcdir/deploy
test_name=multihost

# ---------------------------------------------------------------------------
# the load client (runs in the client namespace: tests/multihost.sh --client)

# client_loop ID OUT: issue a token for m-pdf, download with it, again,
# until OUT/stop exists, 2000 requests were sent or 120 s have passed.
# One line per response to OUT/log.ID: start and end (ms since the epoch),
# operation, HTTP status (000: no answer), the host that issued the token.
client_loop() {
	local id=$1 out=$2 i t0 t1 resp code body url host path
	local base=https://localhost
	local -a curl=(curl -s --max-time 15 --cacert "$MH_CA" --resolve "localhost:443:$MH_WEB")
	local until=$((${EPOCHREALTIME/./} / 1000 + 120000))
	for ((i = 0; i < 1000; i++)); do
		[[ -e $out/stop ]] && break
		t0=${EPOCHREALTIME/./}
		((t0 / 1000 < until)) || break
		resp=$("${curl[@]}" -X POST -d '' -H "Authorization: Bearer $MH_BEARER" \
			-w '\n%{http_code}' "$base/media/m-pdf/download-token" 2>/dev/null) || true
		t1=${EPOCHREALTIME/./}
		code=${resp##*$'\n'}
		body=${resp%$'\n'*}
		[[ $code =~ ^[0-9]{3}$ ]] || code=000
		host=-
		path=
		if [[ $code == 201 && $body =~ \"url\":\"https://([a-z0-9]+)\.localhost(/[^\"]*)\" ]]; then
			host=${BASH_REMATCH[1]}
			path=${BASH_REMATCH[2]}
		fi
		echo "$((t0 / 1000)) $((t1 / 1000)) issue $code $host" >>"$out/log.$id"
		[[ -n $path ]] || continue
		t0=${EPOCHREALTIME/./}
		code=$("${curl[@]}" -o /dev/null -w '%{http_code}' "$base$path" 2>/dev/null) || true
		t1=${EPOCHREALTIME/./}
		[[ $code =~ ^[0-9]{3}$ ]] || code=000
		echo "$((t0 / 1000)) $((t1 / 1000)) download $code $host" >>"$out/log.$id"
	done
}

if [[ ${1:-} == --client ]]; then
	client_loop "$2" "$3"
	exit 0
fi

# shellcheck source-path=SCRIPTDIR source=lib/services.sh
. "$here/lib/services.sh"
# shellcheck source-path=SCRIPTDIR source=lib/testenv.sh
. "$here/lib/testenv.sh"
# shellcheck source-path=SCRIPTDIR source=lib/netns.sh
. "$here/lib/netns.sh"

issuer=https://issuer.example.com
audience=mediagate
web_user=www-data
fcgi_port=9000
responders=(r1 r2 r3)
# A host back takes requests again within this many seconds: the web
# server's disable-time/retry (2 s), a pool's start, and the balancer
# picking it, on a loaded machine.
back_bound=15
# A row deleted on the primary is seen by every responder reading the
# standby within this many milliseconds (asynchronous replication on a
# healthy network; README.md, "Running on several hosts").
lag_bound_ms=1000

checks=0
failures=0

# check NAME COMMAND...: one check: "ok NAME" or "FAIL NAME".
check() {
	local name=$1
	shift
	checks=$((checks + 1))
	if "$@"; then
		say "ok: $name"
	else
		say "FAIL: $name"
		failures=$((failures + 1))
	fi
}

# ---------------------------------------------------------------------------
# substituting deploy/ files (as tests/webservers.sh does)

substitute() {
	local src=$1 dest=$2 e left
	shift 2
	local -a sed_args=()
	for e in "$@"; do
		sed_args+=(-e "$e")
	done
	sed_args+=(
		-e "s|/etc/ssl/mediagate/fullchain.pem|$MG_TLS_CERT|g"
		-e "s|/etc/ssl/mediagate/privkey.pem|$MG_TLS_KEY|g"
		-e "s|/usr/local/bin/mediagate|$MG_BIN|g"
		-e "s|/srv/media|$storage|g"
		-e "s|/etc/mediagate|$etc|g"
		-e "s|/var/www/mediagate-empty|$docroot|g"
		-e "s|media\\.example\\.com|localhost|g"
		-e "s|10\\.0\\.0\\.5\\b|$(mg_netns_addr web)|g"
		-e "s|10\\.0\\.0\\.6\\b|$(mg_netns_addr web)|g"
		-e "s|10\\.0\\.0\\.11|$(mg_netns_addr r1)|g"
		-e "s|10\\.0\\.0\\.12|$(mg_netns_addr r2)|g"
		-e "s|10\\.0\\.0\\.13|$(mg_netns_addr r3)|g"
		-e "s|10\\.0\\.0\\.21|$(mg_netns_addr pg1)|g"
		-e "s|10\\.0\\.0\\.22|$(mg_netns_addr pg2)|g"
	)
	sed "${sed_args[@]}" "$src" >"$dest"
	left=$(grep -v '^[[:space:]]*#' "$dest" | sed "s|$MG_WORK/[^ \"';,]*||g" |
		grep -E '/srv/media|/etc/mediagate|/etc/ssl/|/usr/local/bin/|/var/log/|/var/www/|media\.example\.com|/run/lighttpd|10\.0\.0\.' || true)
	[[ -z $left ]] || hard_error "$dest: example values left after substitution: $left"
}

unit_values() {
	sed -n "s/^$2=//p" "$1"
}

# ---------------------------------------------------------------------------
# PostgreSQL: primary in pg1, hot standby in pg2

pg_bindir=

# as_pg CMD...: CMD as the postgres user, from /.
as_pg() {
	(cd / && runuser -u postgres -- "$@")
}

# pg_primary_start: mg_pg_start's cluster (schema, roles, fixtures) in
# pg1's namespace, then listening on its address for the responders and
# the standby.
pg_primary_start() {
	local conf
	mkdir -p "$MG_WORK/pg1"
	MG_WORK=$MG_WORK/pg1 mg_netns_run pg1 mg_pg_start "$top_srcdir/tests/fixtures.sql" ||
		hard_error "the primary did not start"
	# shellcheck source=/dev/null
	. "$MG_WORK/pg1/pg.env"
	pg_port=$MG_PGPORT
	pg_admin1=$MG_DB_ADMIN
	conf=$MG_WORK/pg1/pg/postgresql.conf
	cat >>"$conf" <<EOF
# primary of tests/multihost.sh
listen_addresses = '$(mg_netns_addr pg1)'
wal_level = replica
max_wal_senders = 5
wal_keep_size = 64
# The standby's name (its cluster_name): transactions that ask for
# synchronous_commit = remote_apply wait for it; everything else runs as
# mg_pg_start set it (synchronous_commit = off).
synchronous_standby_names = 'standby'
EOF
	printf 'host all all %s.0/24 trust\nhost replication all %s.0/24 trust\n' \
		"$MG_NETNS_NET" "$MG_NETNS_NET" >>"$MG_WORK/pg1/pg/pg_hba.conf"
	MG_WORK=$MG_WORK/pg1 mg_netns_run pg1 mg_pg_restart || hard_error "the primary did not restart"
}

# pg_standby_make: pg_basebackup -R from the primary, run in pg2.
pg_standby_make() {
	local data=$MG_WORK/pg2/pg
	mkdir -p "$MG_WORK/pg2/pgsock"
	chown postgres: "$MG_WORK/pg2" "$MG_WORK/pg2/pgsock"
	mg_netns_exec pg2 runuser -u postgres -- "$pg_bindir/pg_basebackup" \
		-h "$(mg_netns_addr pg1)" -p "$pg_port" -U postgres -D "$data" -R \
		-X stream --checkpoint=fast >"$MG_WORK/pg2/basebackup.log" 2>&1 </dev/null ||
		hard_error "pg_basebackup failed: $(tail -n 5 "$MG_WORK/pg2/basebackup.log")"
	cat >>"$data/postgresql.conf" <<EOF
# hot standby of tests/multihost.sh
listen_addresses = '$(mg_netns_addr pg2)'
unix_socket_directories = '$MG_WORK/pg2/pgsock'
cluster_name = 'standby'
hot_standby = on
EOF
	pg_admin2="host=$MG_WORK/pg2/pgsock port=$pg_port dbname=mediagate user=postgres"
}

# pg_ctl_in HOST start|stop: start (in HOST's namespace) or fast-stop the
# cluster of pg1 or pg2.
pg_ctl_in() {
	local host=$1 what=$2 data=$MG_WORK/$1/pg
	if [[ $what == start ]]; then
		(_mg_close_fds && mg_netns_exec "$host" runuser -u postgres -- \
			"$pg_bindir/pg_ctl" -D "$data" -l "$MG_WORK/$host/pg.log" -w -t 60 start) \
			>/dev/null 2>&1 </dev/null
	else
		as_pg "$pg_bindir/pg_ctl" -D "$data" -m fast -w -t 30 stop >/dev/null 2>&1 </dev/null
	fi
}

# sql CONNINFO SQL: one value.
sql() {
	"$pg_bindir/psql" "$1" -X -q -A -t -v ON_ERROR_STOP=1 -c "$2" </dev/null
}

# wait_streaming [SECS]: until the primary reports the standby streaming.
wait_streaming() {
	local i
	for ((i = 0; i < ${1:-30} * 10; i++)); do
		[[ $(sql "$pg_admin1" "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'" 2>/dev/null) == 1 ]] &&
			return 0
		sleep 0.1
	done
	return 1
}

# db_sessions CONNINFO [active]: mediagate's sessions on a server.
db_sessions() {
	local cond=''
	[[ ${2:-} == active ]] && cond=" AND state = 'active'"
	sql "$1" "SELECT count(*) FROM pg_stat_activity WHERE usename = 'mediagate'$cond" 2>/dev/null || echo 0
}

# ---------------------------------------------------------------------------
# responder hosts

# pool_start HOST SENDFILE_HEADER: the pool of mediagate-tcp.service on
# HOST's address, in HOST's namespace.
pool_start() {
	local host=$1 sendfile=$2 kv unit=$MG_WORK/systemd/mediagate-tcp.service
	local -a env=() cmd=()
	# Each host its own metrics file and audit log.
	mkdir -p "$MG_WORK/$host/metrics" "$MG_WORK/$host/log"
	substitute "$deploy/systemd/mediagate.env" "$etc/mediagate.env" \
		"s|^MEDIAGATE_SENDFILE_HEADER=.*|MEDIAGATE_SENDFILE_HEADER=$sendfile|" \
		"s|/run/mediagate-metrics|$MG_WORK/$host/metrics|g" \
		"s|/var/log/mediagate|$MG_WORK/$host/log|g"
	substitute "$deploy/systemd/mediagate-replicas.env" "$etc/mediagate-replicas.env" \
		"s|port=5432,5432|port=$pg_port,$pg_port|" "s|dbname=media |dbname=mediagate |"
	# EnvironmentFile= order: the replicas file replaces MEDIAGATE_DB.
	while IFS= read -r kv; do
		env+=("$kv")
	done < <(cat "$etc/mediagate.env" "$etc/mediagate-replicas.env" | grep -E '^[A-Z_][A-Z0-9_]*=')
	while IFS= read -r kv; do
		env+=("${kv//%d/$etc}")
	done < <(unit_values "$unit" Environment)
	# The test's tag: which host issued a token shows in its URL.
	env+=("MEDIAGATE_PUBLIC_URL=https://$host.localhost")
	read -r -a cmd <<<"$(unit_values "$unit" ExecStart)"
	# spawn-fcgi points the pool's stderr at /dev/null (systemd gives it
	# the journal): a shell keeps it, in HOST.log, then runs ExecStart.
	# shellcheck disable=SC2016 # expanded by that shell
	cmd=(/bin/sh -c 'exec "$@" 2>>"$0"' "$MG_WORK/$host.log" "${cmd[@]}")
	mg_netns_run "$host" mg_supervised_start "$host" "$(mg_netns_addr "$host"):$fcgi_port" \
		"${env[@]}" -- "${cmd[@]}" >>"$MG_WORK/pools.log" 2>&1 ||
		{ say "pool $host did not start: $(tail -n 3 "$MG_WORK/pools.log")"; return 1; }
}

pools_start() {
	local h
	for h in "${responders[@]}"; do
		pool_start "$h" "$1" || hard_error "pool $h did not start"
	done
}

pools_stop() {
	local h
	for h in "${responders[@]}"; do
		mg_supervised_stop "$h" || true
	done
}

# fcgi_probe FROM HOST [URI]: send one FastCGI request (GET URI, default
# /media/x/unknown) from namespace FROM to HOST's pool; print what came
# back.
fcgi_probe() {
	local kv k v params='' hex
	for kv in REQUEST_METHOD=GET "REQUEST_URI=${3:-/media/x/unknown}" \
		SERVER_NAME=localhost SERVER_PORT=443 HTTPS=on; do
		k=${kv%%=*}
		v=${kv#*=}
		params+=$(printf '%02x%02x' "${#k}" "${#v}")$(printf '%s' "$k$v" | _mg_hex)
	done
	hex=01010001000800000001000000000000
	hex+=$(printf '01040001%04x0000' $((${#params} / 2)))$params
	hex+=01040001000000000105000100000000
	# shellcheck disable=SC2016 # expanded by the inner bash
	mg_netns_exec "$1" timeout 5 bash -c 'exec 3<>"/dev/tcp/$1/$2" && cat >&3 && cat <&3' \
		probe "$(mg_netns_addr "$2")" "$fcgi_port" < <(_mg_unhex "$hex") 2>/dev/null |
		tr -c '[:print:]\n' '.' || true
}

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
	local host=$1 conn tl tb inflight role i
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

# ---------------------------------------------------------------------------
# the web servers

web_lighttpd() {
	local conf=$MG_WORK/lighttpd/mediagate.conf
	mkdir -p "$MG_WORK/lighttpd/log" "$MG_WORK/lighttpd/state"
	chown "$web_user:" "$MG_WORK/lighttpd/log" "$MG_WORK/lighttpd/state"
	# Inside the web host's namespace, 0.0.0.0 is its own addresses only.
	substitute "$deploy/lighttpd/mediagate-multihost.conf" "$conf" \
		"s|^var.bind .*|var.bind         = \"0.0.0.0\"|" \
		"s|^var.log_dir .*|var.log_dir      = \"$MG_WORK/lighttpd/log\"|" \
		"s|^var.state_dir .*|var.state_dir    = \"$MG_WORK/lighttpd/state\"|"
	mg_netns_run web mg_lighttpd_run lighttpd "$conf" 80 443 || hard_error "lighttpd did not start"
}

web_apache() {
	local site=$MG_WORK/apache-multihost.site.conf
	substitute "$deploy/apache/mediagate-multihost.conf" "$site" \
		"s|^Define MEDIAGATE_LOG_DIR .*|Define MEDIAGATE_LOG_DIR      $MG_WORK/apache-balancer/log|"
	# mg_apache_start listens on 127.0.0.1 only; the clients come from
	# their own host.
	printf 'Listen %s:80\nListen %s:443\n' "$(mg_netns_addr web)" "$(mg_netns_addr web)" >>"$site"
	mg_netns_run web mg_apache_start balancer "$site" 80 443 || hard_error "Apache did not start"
}

# smoke: one issue + download through the web host, every pool restricted.
smoke() {
	local server=$1 out
	load_start "$MG_WORK/smoke-$server"
	check "$server: every responder host issues tokens" wait_for 30 'by["r1"] && by["r2"] && by["r3"]'
	load_stop
	out=$(records | awk '$4 != 200 && $4 != 201' | wc -l)
	check "$server: no request failed without a fault ($out)" test "$out" -eq 0
}

run_server() {
	local server=$1 f out
	if [[ $server == lighttpd ]]; then
		sendfile=X-LIGHTTPD-send-file
	else
		sendfile=X-Sendfile
	fi
	pools_start "$sendfile"
	"web_$server"
	smoke "$server"
	if [[ $server == lighttpd ]]; then
		out=$(fcgi_probe client r1)
		check "FCGI_WEB_SERVER_ADDRS: a FastCGI request from the client host gets no answer" \
			test -z "$out"
		out=$(fcgi_probe web r1)
		check "FCGI_WEB_SERVER_ADDRS: the web host's request is answered" \
			grep -q 'Status: 404' <<<"$out"
	fi
	# The health endpoint (contract 7.1) of each host, asked by the web
	# host over FastCGI as a monitor behind it would.
	for f in "${responders[@]}"; do
		out=$(fcgi_probe web "$f" /healthz)
		check "$f: GET /healthz from the web host: 200" grep -q 'Status: 200' <<<"$out"
	done
	for f in $faults; do
		case $f in
		link)
			fault_responder "$server" link r1
			# r1: the host both balancers prefer when loads are equal,
			# so "back" measures the host, not the balancer's choice.
			fault_responder "$server" idle-link r1
			;;
		kill) fault_responder "$server" kill r2 ;;
		standby) [[ $server == lighttpd ]] && fault_db pg2 ;;
		primary) [[ $server == lighttpd ]] && fault_db pg1 ;;
		lag) [[ $server == lighttpd ]] && lag_test ;;
		esac
	done
	if [[ $server == lighttpd ]]; then
		mg_lighttpd_stop lighttpd
	else
		mg_apache_stop balancer
	fi
	pools_stop
}

show_logs() {
	tail_logs 20 "$MG_WORK"/*.log "$MG_WORK"/pg1/pg.log "$MG_WORK"/pg2/pg.log \
		"$MG_WORK"/lighttpd/log/error.log "$MG_WORK"/apache-balancer/error.log \
		"$MG_WORK"/apache-balancer/log/*error.log
}

# The EXIT trap: services, then the bed, then on_exit (logs, work dir).
mh_exit() {
	local rc=$1
	trap - EXIT
	[[ -n ${load_dir:-} ]] && touch "$load_dir/stop" 2>/dev/null
	mg_stop_all
	pg_ctl_in pg2 stop 2>/dev/null || true
	MG_WORK=$MG_WORK/pg1 mg_pg_stop 2>/dev/null || true
	mg_netns_bed_destroy
	on_exit "$rc"
}

main() {
	local builddir t0 now h server
	builddir=$(find_builddir)
	export MG_BIN=${MG_BIN:-$builddir/src/mediagate}
	[[ -x $MG_BIN ]] || hard_error "responder not found: $MG_BIN (run make)"
	[[ $(id -u) -eq 0 ]] || skip "needs root (network namespaces)"
	for h in ip spawn-fcgi multiwatch curl openssl lighttpd apache2 runuser ss; do
		command -v "$h" >/dev/null 2>&1 || skip "$h is not installed (tests/run installs it)"
	done
	pg_bindir=$(mg_pg_bindir) || skip "PostgreSQL is not installed"
	ip netns list >/dev/null 2>&1 || skip "no network namespaces here"
	faults=${MG_MULTIHOST_FAULTS:-link kill lag standby primary}

	t0=$(date +%s)
	mg_work_init || hard_error "cannot create a work directory"
	trap 'mh_exit $?' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	mg_netns_bed_create web=2 client=3 r1=11 r2=12 r3=13 pg1=21 pg2=22 ||
		hard_error "cannot make the network namespaces"
	say "bed $MG_NETNS_PREFIX: ${MG_NETNS_HOSTS[*]} on $MG_NETNS_NET.0/24; work directory $MG_WORK"

	storage=$MG_WORK/storage
	etc=$MG_WORK/etc
	docroot=$MG_WORK/www-empty
	mkdir -p "$storage/acme" "$etc" "$docroot" "$MG_WORK/systemd"
	chmod 0755 "$storage" "$storage/acme" "$docroot"
	head -c 20000 /dev/urandom >"$storage/acme/m-pdf.pdf"
	chmod 0644 "$storage/acme/m-pdf.pdf"
	mg_keys_make || hard_error "key generation failed"
	mg_tls_cert_make || hard_error "certificate generation failed"
	cp "$MG_KEYS/bearer-rs.pub.pem" "$etc/bearer.pub.pem"
	cp "$MG_KEYS/token.key" "$etc/token.key"
	# spawn-fcgi stands in for mediagate-tcp.socket.
	substitute "$deploy/systemd/mediagate-tcp.service" "$MG_WORK/systemd/mediagate-tcp.service"

	pg_primary_start
	pg_standby_make
	pg_ctl_in pg2 start || hard_error "the standby did not start: $(tail -n 5 "$MG_WORK/pg2/pg.log")"
	wait_streaming 30 || hard_error "the standby does not stream"
	check "the standby streams from the primary" true

	now=$(date +%s)
	bearer=$(mg_mint_bearer "$MG_KEYS/bearer-rs.pem" RS256 \
		"{\"sub\":\"load\",\"tenant\":\"acme\",\"iss\":\"$issuer\",\"aud\":\"$audience\",\"permissions\":[\"media:read\"],\"iat\":$now,\"exp\":$((now + 1800))}") ||
		hard_error "cannot mint a bearer token"
	: >"$MG_WORK/figures"

	for server in ${MG_MULTIHOST:-lighttpd apache}; do
		say "---- $server"
		run_server "$server"
	done

	say "figures (fault | requests | failed | in flight at the loss | slowest ms | back after ms):"
	sed 's/^/    /' "$MG_WORK/figures"
	say "done in $(($(date +%s) - t0)) s"
	say "$((checks - failures)) passed, $failures failed"
	echo "$(((checks - failures) * 100 / (checks > 0 ? checks : 1)))%: Checks: $checks, Failures: $failures, Errors: 0"
	((failures == 0))
}

main "$@"
