# shellcheck shell=bash
#
# tests/lib/mh_hosts.sh - the hosts of tests/multihost.sh, which sources
# it: deploy/ files substituted, PostgreSQL primary and standby in their
# namespaces, responder pools on the responder hosts. It uses
# multihost.sh's say, fail and variables (MG_WORK, deploy, the host names
# and addresses) and tests/lib/netns.sh, services.sh and testenv.sh.

# Variables such as deploy and fcgi_port are multihost.sh's.
# shellcheck disable=SC2154,SC2034

# ---------------------------------------------------------------------------
# substituting deploy/ files (mg_substitute, tests/lib/testenv.sh)

# substitute_set: what mg_substitute maps in every file here besides the
# paths, once the bed exists: the public host name, and deploy/'s example
# addresses, which become the bed's; any 10.0.0.x left is an example
# value. (mediagate.env's MEDIAGATE_DB keeps deploy/'s socket directory:
# mediagate-replicas.env replaces it.)
substitute_set() {
	substitute_exprs=(
		"s|media\\.example\\.com|localhost|g"
		"s|10\\.0\\.0\\.5\\b|$(mg_netns_addr web)|g"
		"s|10\\.0\\.0\\.6\\b|$(mg_netns_addr web)|g"
		"s|10\\.0\\.0\\.11|$(mg_netns_addr r1)|g"
		"s|10\\.0\\.0\\.12|$(mg_netns_addr r2)|g"
		"s|10\\.0\\.0\\.13|$(mg_netns_addr r3)|g"
		"s|10\\.0\\.0\\.21|$(mg_netns_addr pg1)|g"
		"s|10\\.0\\.0\\.22|$(mg_netns_addr pg2)|g"
	)
	substitute_left='10\.0\.0\.'
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
	mg_substitute "$deploy/systemd/mediagate.env" "$etc/mediagate.env" \
		"s|^MEDIAGATE_SENDFILE_HEADER=.*|MEDIAGATE_SENDFILE_HEADER=$sendfile|" \
		"s|/run/mediagate-metrics|$MG_WORK/$host/metrics|g" \
		"s|/var/log/mediagate|$MG_WORK/$host/log|g"
	mg_substitute "$deploy/systemd/mediagate-replicas.env" "$etc/mediagate-replicas.env" \
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

