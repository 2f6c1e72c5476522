# shellcheck shell=bash
#
# tests/lib/services.sh - throwaway services for mediagate's tests, demo and
# benchmarks: a private PostgreSQL cluster, keys and a TLS certificate,
# responder pools run by spawn-fcgi (alone or under a supervisor such as
# multiwatch), lighttpd and Apache in front of them, and bearer tokens
# minted with the openssl command line.
#
# Source this file; it only defines functions (all prefixed mg_) and the
# variable MG_TOP (repository root), and changes no shell option. The
# functions do not rely on `set -e`: each one returns non-zero on failure
# after printing one line to stderr, so callers may use `set -euo pipefail`
# or test the status themselves.
#
# All state lives under the work directory $MG_WORK (mg_work_init makes one
# with mktemp -d). Layout:
#
#   pg/ pgsock/ pg.log pg.env   PostgreSQL data, Unix socket dir, log, settings
#   keys/ tls/                  mg_keys_make, mg_tls_cert_make
#   NAME.sock NAME.pid NAME.log responder pool NAME (socket, pids, stderr)
#   NAME.supervisor.pid .listen supervised pool NAME (its log is NAME.log)
#   lighttpd-NAME.conf .pid -error.log -access.log -stdout.log
#   www/                        empty document root for lighttpd
#   apache-NAME/ apache-NAME.pid   Apache instance NAME (httpd.conf, logs)
#   .pools .supervised .lighttpds .apaches .ports
#                               bookkeeping for mg_stop_all and mg_free_port
#
# Web servers: every lighttpd instance is its own process with a name,
# one port and one FastCGI socket (mg_lighttpd_start NAME PORT SOCKET ...),
# so pools with different configurations each get an instance of their own.
# mg_lighttpd_run and mg_apache_start instead run a complete configuration
# the caller wrote (the deployments of deploy/, substituted), with as many
# ports and sockets as it names.
#
# Functions (details above each one):
#   mg_work_init [DIR]                  mg_cleanup_on_exit [remove]
#   mg_free_port                        mg_port_in_use PORT [listen]
#   mg_wait_port PORT [SECS] [PID]      mg_apt_ensure PACKAGE...
#   mg_pg_bindir   mg_pg_start [DATA.sql...]   mg_pg_stop   mg_pg_resume
#   mg_pg_restart  mg_psql_admin [PSQL ARGS...]
#   mg_keys_make [DIR]                  mg_mint_bearer KEYFILE ALG CLAIMS_JSON
#   mg_tls_cert_make [DIR]
#   mg_responders_start NAME N [VAR=value...]
#   mg_responders_stop NAME             mg_responders_pids NAME
#   mg_supervised_start NAME LISTEN [VAR=value...] -- CMD [ARG...]
#   mg_supervised_stop NAME             mg_supervised_children NAME
#   mg_supervised_alive NAME
#   mg_lighttpd_start NAME PORT SOCKET [BASE_PATH [SENDFILE_ROOT]]
#   mg_lighttpd_run NAME CONF PORT...
#   mg_lighttpd_stop NAME               mg_lighttpd_alive NAME
#   mg_apache_start NAME SITE_CONF PORT...
#   mg_apache_stop NAME                 mg_apache_alive NAME
#   mg_stop_all
#
# mg_stop_all is idempotent, so `trap mg_stop_all EXIT` is enough to leave
# nothing running; mg_cleanup_on_exit also turns SIGINT/SIGTERM into an exit
# (a bare INT/TERM trap would let the script carry on after cleaning up).
#
# Typical use:
#
#   . tests/lib/services.sh
#   mg_work_init
#   mg_cleanup_on_exit               # traps EXIT, INT and TERM
#   mg_keys_make
#   mg_pg_start sql/sample.sql
#   mg_responders_start api 2 MEDIAGATE_DB="$MG_DB_APP" \
#       MEDIAGATE_JWT_KEY_FILE="$MG_KEYS/bearer-hs.key" \
#       MEDIAGATE_TOKEN_SECRET_FILE="$MG_KEYS/token.key"
#   mg_lighttpd_start api "$(mg_free_port)" "$MG_WORK/api.sock"
#
# Variables read:
#   MG_WORK             work directory (required by almost every function)
#   MG_BIN              responder binary (default: $MG_TOP/src/mediagate)
#   MG_WRAP             command prefix for each responder, split on blanks,
#                       e.g. "valgrind --error-exitcode=99 --log-file=v.%p"
#   MG_STOP_TIMEOUT     seconds to wait after SIGTERM before SIGKILL (5)
#   MG_PG_BINDIR        PostgreSQL server binaries (default: newest
#                       /usr/lib/postgresql/*/bin)
#   MG_PG_MAX_CONNECTIONS  max_connections of the cluster (100)
#   MG_SCHEMA           schema file (default: $MG_TOP/sql/schema.sql)
#   MG_SOCKET_USER      owner of supervised pools' Unix sockets (root only)
#   MG_APACHE_USER      user Apache serves as (default: www-data)
#   MG_APACHE_LOGLEVEL  Apache's LogLevel (default: warn)
#
# Variables exported:
#   MG_WORK, MG_KEYS, MG_PGHOST, MG_PGPORT, MG_PGDATA, MG_DB_APP, MG_DB_ADMIN,
#   MG_TLS_CERT, MG_TLS_KEY

MG_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# ---------------------------------------------------------------------------
# small helpers

_mg_err() {
	printf 'mg: %s\n' "$*" >&2
}

_mg_need_work() {
	if [[ -z ${MG_WORK:-} || ! -d ${MG_WORK:-} ]]; then
		_mg_err "MG_WORK is not set to a directory (call mg_work_init)"
		return 1
	fi
	# Paths end up in libpq conninfo strings and lighttpd's config
	# unquoted; refuse anything that would need quoting there.
	if [[ $MG_WORK =~ [[:space:]\'\"\\] ]]; then
		_mg_err "MG_WORK must not contain blanks, quotes or backslashes: $MG_WORK"
		return 1
	fi
}

_mg_is_root() {
	[[ $(id -u) -eq 0 ]]
}

# _mg_alive PID: true while PID exists and is not a zombie. Zombies count as
# dead: responders are reparented to PID 1, which in a container may never
# reap them.
_mg_alive() {
	local stat
	kill -0 "$1" 2>/dev/null || return 1
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[[ ${stat:0:1} != Z ]]
}

# _mg_close_fds: close every descriptor above 2 in the current (sub)shell,
# so that daemons started from it do not hold the caller's pipes open.
_mg_close_fds() {
	local fd
	for fd in /proc/"$BASHPID"/fd/*; do
		fd=${fd##*/}
		[[ $fd =~ ^[0-9]+$ ]] || continue
		if ((fd > 2)); then
			exec {fd}>&-
		fi
	done 2>/dev/null
	return 0
}

# _mg_stop_pids SIGNAL PID...: send SIGNAL, wait up to MG_STOP_TIMEOUT
# seconds for the processes to end, then SIGKILL whatever is left and wait
# up to 2 more seconds. Returns non-zero only if something survives that.
_mg_stop_pids() {
	local sig=$1 pid i left
	shift
	local -a pids=()
	for pid in "$@"; do
		[[ $pid =~ ^[0-9]+$ ]] && _mg_alive "$pid" && pids+=("$pid")
	done
	((${#pids[@]})) || return 0
	kill "-$sig" "${pids[@]}" 2>/dev/null || true
	local limit=$((${MG_STOP_TIMEOUT:-5} * 10))
	for ((i = 0; ; i++)); do
		left=()
		for pid in "${pids[@]}"; do
			_mg_alive "$pid" && left+=("$pid")
		done
		((${#left[@]})) || return 0
		if ((i == limit)); then
			_mg_err "pids ${left[*]} ignored SIG$sig; sending SIGKILL"
			kill -KILL "${left[@]}" 2>/dev/null || true
		elif ((i >= limit + 20)); then
			_mg_err "pids ${left[*]} survived SIGKILL"
			return 1
		fi
		sleep 0.1
	done
}

# _mg_hex: hex dump of stdin, lower case, no separators.
_mg_hex() {
	od -An -v -tx1 | tr -d ' \n'
}

# _mg_unhex HEX: write the bytes HEX spells to stdout.
_mg_unhex() {
	local hex=$1 esc='' i
	for ((i = 0; i < ${#hex}; i += 2)); do
		esc+="\\x${hex:i:2}"
	done
	printf '%b' "$esc"
}

# _mg_b64url: base64url without padding (RFC 7515 section 2) of stdin.
_mg_b64url() {
	openssl base64 -A | tr '+/' '-_' | tr -d '='
}

# mg_wait_port PORT [SECONDS] [PID]: wait until 127.0.0.1:PORT accepts a TCP
# connection (default 10 s); give up early when PID is given and dies.
mg_wait_port() {
	local port=$1 secs=${2:-10} pid=${3:-} i
	for ((i = 0; i < secs * 10; i++)); do
		if [[ -n $pid ]] && ! _mg_alive "$pid"; then
			return 1
		fi
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# ---------------------------------------------------------------------------
# work directory, ports

# mg_work_init [DIR]: use DIR, or a new mktemp -d directory, as MG_WORK and
# export it. The directory is made traversable (0711) because PostgreSQL runs
# as the postgres user when we are root.
mg_work_init() {
	if [[ -n ${1:-} ]]; then
		mkdir -p "$1" || return 1
		MG_WORK=$(cd "$1" && pwd) || return 1
	else
		MG_WORK=$(mktemp -d "${TMPDIR:-/tmp}/mediagate.XXXXXX") || return 1
	fi
	chmod 0711 "$MG_WORK" || return 1
	export MG_WORK
	_mg_need_work
}

# mg_port_in_use PORT [listen]: true if any local TCP socket uses PORT, in
# any state (TIME_WAIT included), or with "listen" if one listens on it.
mg_port_in_use() {
	local out states=-a
	[[ ${2:-} == listen ]] && states=-l
	if out=$(ss -Htn "$states" "( sport = :$1 )" 2>/dev/null); then
		[[ -n $out ]] && return 0
	fi
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# mg_free_port: print a TCP port that nothing on this host uses, from
# 20000-60000 but outside the kernel's ephemeral range where that leaves
# enough room. Ports handed out before (recorded in $MG_WORK/.ports) are not
# handed out again, so callers can take several ports before binding them.
mg_free_port() {
	local lo=20000 hi=60000 elo ehi port tries used=''
	if read -r elo ehi 2>/dev/null </proc/sys/net/ipv4/ip_local_port_range; then
		if ((elo > lo + 1000 && elo <= hi)); then
			hi=$((elo - 1))
		elif ((ehi < hi - 1000 && ehi >= lo)); then
			lo=$((ehi + 1))
		fi
	fi
	if [[ -n ${MG_WORK:-} && -f $MG_WORK/.ports ]]; then
		used=$(<"$MG_WORK/.ports")
	fi
	for ((tries = 0; tries < 500; tries++)); do
		port=$((lo + (RANDOM * 32768 + RANDOM) % (hi - lo + 1)))
		if [[ $'\n'$used$'\n' == *$'\n'$port$'\n'* ]] || mg_port_in_use "$port"; then
			continue
		fi
		if [[ -n ${MG_WORK:-} && -d $MG_WORK ]]; then
			echo "$port" >>"$MG_WORK/.ports"
		fi
		echo "$port"
		return 0
	done
	_mg_err "no free TCP port found in $lo-$hi"
	return 1
}

# ---------------------------------------------------------------------------
# packages (Debian)

# mg_apt_ensure PACKAGE...: install the packages that are not installed yet,
# with apt-get, without recommends, and without letting their maintainer
# scripts start system services (policy-rc.d answering 101). Services that
# an install started anyway are stopped again. Uses sudo when not root.
mg_apt_ensure() {
	local pkg status rc=0
	local -a missing=() sudo=()
	for pkg in "$@"; do
		status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null) || status=
		[[ $status == "install ok installed" ]] || missing+=("$pkg")
	done
	((${#missing[@]})) || return 0
	if ! _mg_is_root; then
		if ! command -v sudo >/dev/null 2>&1; then
			_mg_err "missing packages (run as root to install): ${missing[*]}"
			return 1
		fi
		sudo=(sudo --)
	fi
	echo "mg: installing ${missing[*]}" >&2
	local policy=/usr/sbin/policy-rc.d own_policy=''
	if [[ ! -e $policy ]]; then
		printf '#!/bin/sh\n# installed by mediagate tests/lib/services.sh during apt-get\nexit 101\n' |
			"${sudo[@]}" tee "$policy" >/dev/null &&
			"${sudo[@]}" chmod 0755 "$policy" && own_policy=1
	fi
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q </dev/null || rc=1
	if ((rc == 0)); then
		"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
			--no-install-recommends \
			-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
			"${missing[@]}" </dev/null || rc=1
	fi
	if [[ -n $own_policy ]]; then
		"${sudo[@]}" rm -f "$policy" || rc=1
	fi
	# The tests run their own servers; system instances of what was just
	# installed must not be left running.
	local svc
	for pkg in "${missing[@]}"; do
		case $pkg in
		postgresql | postgresql-[0-9]*) svc=postgresql ;;
		lighttpd) svc=lighttpd ;;
		apache2) svc=apache2 ;;
		*) continue ;;
		esac
		if "${sudo[@]}" service "$svc" status >/dev/null 2>&1; then
			"${sudo[@]}" service "$svc" stop >/dev/null 2>&1 || true
		fi
	done
	((rc == 0)) || _mg_err "package installation failed"
	return "$rc"
}

# ---------------------------------------------------------------------------
# PostgreSQL

# mg_pg_bindir: print the directory of the newest PostgreSQL server binaries.
mg_pg_bindir() {
	local d best=''
	if [[ -n ${MG_PG_BINDIR:-} ]]; then
		echo "$MG_PG_BINDIR"
		return 0
	fi
	best=$(
		for d in /usr/lib/postgresql/*/bin; do
			[[ -x $d/initdb && -x $d/pg_ctl ]] && echo "$d"
		done | sort -V | tail -n 1
	)
	if [[ -z $best ]] && command -v pg_ctl >/dev/null 2>&1; then
		best=$(dirname "$(command -v pg_ctl)")
	fi
	if [[ -z $best ]]; then
		_mg_err "no PostgreSQL server binaries found (install postgresql)"
		return 1
	fi
	echo "$best"
}

# _mg_as_pg CMD...: run CMD as the cluster owner: the postgres user when we
# are root (the server refuses to run as root), else ourselves. Runs from /
# so that a cwd the postgres user cannot enter causes no warnings.
_mg_as_pg() {
	if _mg_is_root; then
		(cd / && runuser -u postgres -- "$@")
	else
		(cd / && "$@")
	fi
}

_mg_pg_load_env() {
	_mg_need_work || return 1
	if [[ ! -f $MG_WORK/pg.env ]]; then
		_mg_err "no PostgreSQL cluster in $MG_WORK (call mg_pg_start)"
		return 1
	fi
	# shellcheck source=/dev/null
	. "$MG_WORK/pg.env" || return 1
	export MG_PGHOST MG_PGPORT MG_PGDATA MG_DB_APP MG_DB_ADMIN
}

# _mg_psql ARGS...: psql of the server's version when it has one.
_mg_psql() {
	local bindir
	bindir=$(mg_pg_bindir 2>/dev/null) || bindir=
	if [[ -n $bindir && -x $bindir/psql ]]; then
		"$bindir/psql" "$@"
	else
		psql "$@"
	fi
}

# mg_psql_admin [PSQL ARGS...]: psql on the mediagate database as the
# cluster's superuser, unaligned, tuples only, stopping at the first error.
mg_psql_admin() {
	_mg_pg_load_env || return 1
	_mg_psql "$MG_DB_ADMIN" -X -v ON_ERROR_STOP=1 -q -A -t "$@"
}

# _mg_pg_ctl_start: start the initialised cluster and wait until it accepts
# connections (60 s at most).
_mg_pg_ctl_start() {
	local bindir
	bindir=$(mg_pg_bindir) || return 1
	if ! (_mg_close_fds && _mg_as_pg "$bindir/pg_ctl" -D "$MG_PGDATA" \
		-l "$MG_WORK/pg.log" -w -t 60 start) >/dev/null 2>&1 </dev/null; then
		_mg_err "PostgreSQL did not start; end of $MG_WORK/pg.log:"
		tail -n 20 "$MG_WORK/pg.log" >&2
		return 1
	fi
}

# mg_pg_start [DATA.sql...]: create and start a throwaway cluster in
# $MG_WORK/pg that listens only on a Unix socket in $MG_WORK/pgsock, with
# trust authentication. Creates database mediagate, loads the schema
# ($MG_SCHEMA, default sql/schema.sql, run from the repository root), creates
# the LOGIN role mediagate as a member of mediagate_reader, then loads each
# DATA.sql as the superuser. Exports MG_PGHOST, MG_PGPORT, MG_PGDATA,
# MG_DB_APP (conninfo for the responders) and MG_DB_ADMIN (superuser).
mg_pg_start() {
	_mg_need_work || return 1
	local bindir port admin sock=$MG_WORK/pgsock schema=${MG_SCHEMA:-$MG_TOP/sql/schema.sql} f
	local pgdata=$MG_WORK/pg
	bindir=$(mg_pg_bindir) || return 1
	if [[ -e $pgdata ]]; then
		_mg_err "$pgdata exists already (use mg_pg_resume to start it again)"
		return 1
	fi
	if [[ ! -f $schema ]]; then
		_mg_err "schema file not found: $schema"
		return 1
	fi
	for f in "$@"; do
		if [[ ! -f $f ]]; then
			_mg_err "data file not found: $f"
			return 1
		fi
	done
	port=$(mg_free_port) || return 1
	# The socket path must fit in sun_path (108 bytes).
	if ((${#sock} + 20 > 107)); then
		_mg_err "MG_WORK is too long for a Unix socket path: $MG_WORK"
		return 1
	fi
	mkdir -m 0700 "$pgdata" && mkdir -m 0755 "$sock" && : >"$MG_WORK/pg.log" || return 1
	if _mg_is_root; then
		admin=postgres
		if ! id -u postgres >/dev/null 2>&1; then
			_mg_err "no postgres system user (install postgresql)"
			return 1
		fi
		chmod a+x "$MG_WORK" &&
			chown postgres: "$pgdata" "$sock" "$MG_WORK/pg.log" || return 1
		if ! runuser -u postgres -- test -w "$pgdata"; then
			_mg_err "the postgres user cannot reach $MG_WORK (is a parent directory private?)"
			return 1
		fi
	else
		admin=$(id -un)
	fi
	if ! _mg_as_pg "$bindir/initdb" -D "$pgdata" -U "$admin" --auth=trust \
		--encoding=UTF8 --locale=C --no-sync >"$MG_WORK/initdb.log" 2>&1 </dev/null; then
		_mg_err "initdb failed; see $MG_WORK/initdb.log:"
		tail -n 20 "$MG_WORK/initdb.log" >&2
		return 1
	fi
	# Appended settings win over initdb's. The port only names the socket.
	cat >>"$pgdata/postgresql.conf" <<EOF || return 1

# throwaway cluster for mediagate tests
listen_addresses = ''
port = $port
unix_socket_directories = '$sock'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = ${MG_PG_MAX_CONNECTIONS:-100}
EOF
	cat >"$MG_WORK/pg.env" <<EOF || return 1
MG_PGHOST=$sock
MG_PGPORT=$port
MG_PGDATA=$pgdata
MG_DB_APP='host=$sock port=$port dbname=mediagate user=mediagate'
MG_DB_ADMIN='host=$sock port=$port dbname=mediagate user=$admin'
EOF
	_mg_pg_load_env || return 1
	_mg_pg_ctl_start || return 1
	_mg_psql "host=$sock port=$port dbname=postgres user=$admin" -X -q -v ON_ERROR_STOP=1 \
		-c 'CREATE DATABASE mediagate' </dev/null || return 1
	# The schema may include other files of sql/ relative to the root.
	if ! (cd "$MG_TOP" && _mg_psql "$MG_DB_ADMIN" -X -q -v ON_ERROR_STOP=1 -f "$schema" </dev/null); then
		_mg_err "loading $schema failed"
		return 1
	fi
	mg_psql_admin -f - <<'EOF' || return 1
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'mediagate_reader') THEN
    RAISE EXCEPTION 'the schema did not create role mediagate_reader';
  END IF;
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'mediagate') THEN
    ALTER ROLE mediagate LOGIN;
  ELSE
    CREATE ROLE mediagate LOGIN;
  END IF;
END
$$;
GRANT mediagate_reader TO mediagate;
EOF
	for f in "$@"; do
		if ! _mg_psql "$MG_DB_ADMIN" -X -q -v ON_ERROR_STOP=1 -f "$f" </dev/null; then
			_mg_err "loading $f failed"
			return 1
		fi
	done
}

# mg_pg_stop: stop the cluster (fast shutdown); no-op when it is not running.
mg_pg_stop() {
	[[ -n ${MG_WORK:-} && -f $MG_WORK/pg.env && -f $MG_WORK/pg/postmaster.pid ]] || return 0
	_mg_pg_load_env || return 1
	local bindir pid
	bindir=$(mg_pg_bindir) || return 1
	if _mg_as_pg "$bindir/pg_ctl" -D "$MG_PGDATA" -m fast -w -t 30 stop >/dev/null 2>&1 </dev/null; then
		return 0
	fi
	if [[ ! -f $MG_PGDATA/postmaster.pid ]]; then
		return 0
	fi
	_mg_err "PostgreSQL did not stop in 30 s; killing it"
	pid=$(head -n 1 "$MG_PGDATA/postmaster.pid" 2>/dev/null) || pid=
	[[ -n $pid ]] && _mg_stop_pids KILL "$pid"
	rm -f "$MG_PGDATA/postmaster.pid"
}

# mg_pg_running: true while the cluster made by mg_pg_start runs.
mg_pg_running() {
	[[ -n ${MG_WORK:-} && -f $MG_WORK/pg.env ]] || return 1
	_mg_pg_load_env || return 1
	local bindir
	bindir=$(mg_pg_bindir) || return 1
	_mg_as_pg "$bindir/pg_ctl" -D "$MG_PGDATA" status >/dev/null 2>&1 </dev/null
}

# mg_pg_resume: start the cluster made by mg_pg_start again after mg_pg_stop.
mg_pg_resume() {
	_mg_pg_load_env || return 1
	_mg_pg_ctl_start
}

# mg_pg_restart: stop (fast) and start the cluster again.
mg_pg_restart() {
	mg_pg_stop && mg_pg_resume
}

# ---------------------------------------------------------------------------
# keys

# mg_keys_make [DIR]: make DIR (default $MG_WORK/keys) with
#   bearer-hs.key                   48 random bytes (HMAC bearer key)
#   token.key                       48 random bytes (download-token secret)
#   bearer-rs.pem bearer-rs.pub.pem RSA 2048 key pair
#   bearer-es.pem bearer-es.pub.pem EC P-256 key pair
# Secrets and private keys are 0600, public keys 0644. Exports MG_KEYS.
mg_keys_make() {
	local dir=${1:-}
	if [[ -z $dir ]]; then
		_mg_need_work || return 1
		dir=$MG_WORK/keys
	fi
	mkdir -p "$dir" && chmod 0755 "$dir" || return 1
	(
		umask 077
		openssl rand -out "$dir/bearer-hs.key" 48 &&
			openssl rand -out "$dir/token.key" 48 &&
			openssl genpkey -quiet -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
				-out "$dir/bearer-rs.pem" &&
			openssl pkey -in "$dir/bearer-rs.pem" -pubout -out "$dir/bearer-rs.pub.pem" &&
			openssl genpkey -quiet -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
				-out "$dir/bearer-es.pem" &&
			openssl pkey -in "$dir/bearer-es.pem" -pubout -out "$dir/bearer-es.pub.pem"
	) </dev/null || {
		_mg_err "key generation in $dir failed"
		return 1
	}
	chmod 0600 "$dir/bearer-hs.key" "$dir/token.key" "$dir/bearer-rs.pem" "$dir/bearer-es.pem" &&
		chmod 0644 "$dir/bearer-rs.pub.pem" "$dir/bearer-es.pub.pem" || return 1
	MG_KEYS=$(cd "$dir" && pwd) || return 1
	export MG_KEYS
}

# mg_tls_cert_make [DIR]: make DIR (default $MG_WORK/tls) with a self-signed
# certificate for 127.0.0.1 and localhost (subjectAltName), valid for two
# days: cert.pem (0644) and key.pem (EC P-256, 0600). Clients trust
# cert.pem itself. Exports MG_TLS_CERT and MG_TLS_KEY.
mg_tls_cert_make() {
	local dir=${1:-}
	if [[ -z $dir ]]; then
		_mg_need_work || return 1
		dir=$MG_WORK/tls
	fi
	mkdir -p "$dir" && chmod 0755 "$dir" || return 1
	(
		umask 077
		openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
			-nodes -days 2 -subj "/CN=127.0.0.1" \
			-addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
			-addext "basicConstraints=critical,CA:FALSE" \
			-addext "keyUsage=critical,digitalSignature" \
			-addext "extendedKeyUsage=serverAuth" \
			-keyout "$dir/key.pem" -out "$dir/cert.pem"
	) >"$dir/openssl.log" 2>&1 </dev/null || {
		_mg_err "certificate generation in $dir failed:"
		cat "$dir/openssl.log" >&2
		return 1
	}
	chmod 0644 "$dir/cert.pem" && chmod 0600 "$dir/key.pem" || return 1
	MG_TLS_CERT=$(cd "$dir" && pwd)/cert.pem || return 1
	MG_TLS_KEY=${MG_TLS_CERT%/cert.pem}/key.pem
	export MG_TLS_CERT MG_TLS_KEY
}

# ---------------------------------------------------------------------------
# JWT

# _mg_ecdsa_der_to_jose WIDTH: read a DER ECDSA-Sig-Value, SEQUENCE { INTEGER
# r, INTEGER s }, on stdin and write r||s, each as an unsigned big-endian
# number of exactly WIDTH bytes (RFC 7518 section 3.4). DER integers are
# minimal and signed: a leading 00 is dropped, short ones are left-padded.
_mg_ecdsa_der_to_jose() {
	local width=$1 hex i len n v out='' k
	hex=$(_mg_hex)
	[[ ${hex:0:2} == 30 ]] || return 1
	len=$((16#${hex:2:2}))
	i=4
	# P-521 signatures are longer than 127 bytes: long-form length 81 xx.
	if ((len == 0x81)); then
		len=$((16#${hex:4:2}))
		i=6
	elif ((len > 0x81)); then
		return 1
	fi
	((${#hex} == i + 2 * len)) || return 1
	for k in r s; do
		[[ ${hex:i:2} == 02 ]] || return 1
		n=$((16#${hex:i+2:2}))
		((n >= 1 && n < 0x80)) || return 1
		i=$((i + 4))
		v=${hex:i:2*n}
		((${#v} == 2 * n)) || return 1
		i=$((i + 2 * n))
		while [[ ${#v} -gt 2 && ${v:0:2} == 00 ]]; do
			v=${v:2}
		done
		((${#v} <= 2 * width)) || return 1
		while ((${#v} < 2 * width)); do
			v=0$v
		done
		out+=$v
	done
	((i == ${#hex})) || return 1
	[[ $k == s ]] || return 1
	_mg_unhex "$out"
}

# mg_mint_bearer KEYFILE ALG CLAIMS_JSON: print a compact JWS over
# CLAIMS_JSON (used verbatim) with header {"alg":ALG,"typ":"JWT"}.
#   HS256/384/512  KEYFILE holds the raw HMAC secret
#   RS256/384/512  KEYFILE is a PEM private key (PKCS#1 v1.5 signature)
#   ES256/384/512  KEYFILE is a PEM EC private key (P-256/384/521)
#   none           no signature; KEYFILE is ignored
# An HS* token signed with a public key's PEM file as secret is how to make
# an algorithm-confusion token.
mg_mint_bearer() {
	if (($# != 3)); then
		_mg_err "usage: mg_mint_bearer KEYFILE ALG CLAIMS_JSON"
		return 1
	fi
	local key=$1 alg=$2 claims=$3 input sig hash width hexkey
	input=$(printf '{"alg":"%s","typ":"JWT"}' "$alg" | _mg_b64url).$(printf '%s' "$claims" | _mg_b64url) ||
		return 1
	case $alg in
	none)
		printf '%s.\n' "$input"
		return 0
		;;
	HS256 | HS384 | HS512 | RS256 | RS384 | RS512 | ES256 | ES384 | ES512)
		hash=sha${alg:2}
		;;
	*)
		_mg_err "mg_mint_bearer: unsupported alg: $alg"
		return 1
		;;
	esac
	if [[ ! -r $key ]]; then
		_mg_err "mg_mint_bearer: cannot read key file $key"
		return 1
	fi
	case $alg in
	HS*)
		hexkey=$(_mg_hex <"$key") || return 1
		sig=$(printf '%s' "$input" |
			openssl dgst "-$hash" -mac HMAC -macopt "hexkey:$hexkey" -binary |
			_mg_b64url) || return 1
		;;
	RS*)
		sig=$(printf '%s' "$input" | openssl dgst "-$hash" -sign "$key" -binary |
			_mg_b64url) || return 1
		;;
	ES*)
		case $alg in
		ES256) width=32 ;;
		ES384) width=48 ;;
		ES512) width=66 ;;
		esac
		sig=$(printf '%s' "$input" | openssl dgst "-$hash" -sign "$key" -binary |
			_mg_ecdsa_der_to_jose "$width" | _mg_b64url) || return 1
		;;
	esac
	if [[ -z $sig ]]; then
		_mg_err "mg_mint_bearer: signing failed"
		return 1
	fi
	printf '%s.%s\n' "$input" "$sig"
}

# ---------------------------------------------------------------------------
# responder pools (spawn-fcgi)

# mg_responders_start NAME N [VAR=value...]: run N responder processes on
# the Unix socket $MG_WORK/NAME.sock with spawn-fcgi -F N; pids go to
# $MG_WORK/NAME.pid, their stderr to $MG_WORK/NAME.log.
#
# Environment: the caller's, minus every MEDIAGATE_* variable, plus the
# VAR=value pairs, so each pool's configuration is exactly its arguments
# (VAR= sets VAR to the empty string). The same environment first runs
# `MG_BIN --check-config`; a failure is reported with the binary's message.
# MG_WRAP, if set, goes before the binary (not for --check-config).
#
# spawn-fcgi points the children's stdout and stderr at /dev/null, so each
# child is started through `sh -c 'exec "$@" 2>>LOG'`, which keeps its pid.
mg_responders_start() {
	if (($# < 2)); then
		_mg_err "usage: mg_responders_start NAME N [VAR=value...]"
		return 1
	fi
	_mg_need_work || return 1
	local name=$1 n=$2 kv v pid bin=${MG_BIN:-$MG_TOP/src/mediagate}
	shift 2
	if [[ ! $name =~ ^[A-Za-z0-9_-]+$ ]] || [[ ! $n =~ ^[1-9][0-9]*$ ]]; then
		_mg_err "mg_responders_start: bad NAME or N: '$name' '$n'"
		return 1
	fi
	if [[ ! -x $bin ]]; then
		_mg_err "responder binary not found or not executable: $bin (build it with make)"
		return 1
	fi
	local sock=$MG_WORK/$name.sock pidf=$MG_WORK/$name.pid log=$MG_WORK/$name.log
	if [[ -n $(mg_responders_pids "$name") ]]; then
		_mg_err "responder pool $name is already running"
		return 1
	fi
	if ((${#sock} > 107)); then
		_mg_err "socket path too long: $sock"
		return 1
	fi
	local -a envcmd=(env) wrap=()
	for v in $(compgen -e); do
		[[ $v == MEDIAGATE_* ]] && envcmd+=(-u "$v")
	done
	for kv in "$@"; do
		if [[ ! $kv =~ ^[A-Za-z_][A-Za-z0-9_]*= ]]; then
			_mg_err "mg_responders_start: not VAR=value: $kv"
			return 1
		fi
		envcmd+=("$kv")
	done
	if [[ -n ${MG_WRAP:-} ]]; then
		read -r -a wrap <<<"$MG_WRAP"
	fi
	if ! "${envcmd[@]}" "$bin" --check-config >>"$log" 2>&1 </dev/null; then
		_mg_err "pool $name: $bin --check-config failed:"
		tail -n 5 "$log" >&2
		return 1
	fi
	grep -qx "$name" "$MG_WORK/.pools" 2>/dev/null || echo "$name" >>"$MG_WORK/.pools"
	rm -f "$pidf"
	# shellcheck disable=SC2016 # $1 and $@ belong to the inner sh
	if ! (_mg_close_fds && exec "${envcmd[@]}" spawn-fcgi -F "$n" -s "$sock" -P "$pidf" -- \
		/bin/sh -c 'log=$1; shift; exec "$@" 2>>"$log"' sh "$log" "${wrap[@]}" "$bin") \
		>>"$MG_WORK/$name.spawn.log" 2>&1 </dev/null; then
		_mg_err "pool $name: spawn-fcgi failed (a responder exited at once?):"
		tail -n 5 "$MG_WORK/$name.spawn.log" "$log" >&2
		mg_responders_stop "$name"
		return 1
	fi
	# A process that dies at once (bad environment, crash) is reported here
	# rather than as a mysterious 503 from lighttpd later.
	sleep 0.3
	local -a pids=()
	[[ -f $pidf ]] && mapfile -t pids <"$pidf"
	if ((${#pids[@]} != n)); then
		_mg_err "pool $name: expected $n pids in $pidf, got ${#pids[@]}"
		mg_responders_stop "$name"
		return 1
	fi
	for pid in "${pids[@]}"; do
		if ! _mg_alive "$pid"; then
			_mg_err "pool $name: responder $pid exited at start; end of $log:"
			tail -n 10 "$log" >&2
			mg_responders_stop "$name"
			return 1
		fi
	done
}

# mg_responders_pids NAME: print the pids of pool NAME that are alive.
mg_responders_pids() {
	local pid pidf=${MG_WORK:-}/$1.pid
	local -a pids=()
	[[ -n ${MG_WORK:-} && -f $pidf ]] || return 0
	mapfile -t pids <"$pidf"
	for pid in "${pids[@]}"; do
		[[ $pid =~ ^[0-9]+$ ]] && _mg_alive "$pid" && echo "$pid"
	done
	return 0
}

# mg_responders_stop NAME: SIGTERM the pool, SIGKILL after MG_STOP_TIMEOUT
# seconds; removes its pid file and socket. No-op when not running.
mg_responders_stop() {
	local name=$1 rc=0
	[[ -n ${MG_WORK:-} ]] || return 0
	local pidf=$MG_WORK/$name.pid
	local -a pids=()
	if [[ -f $pidf ]]; then
		mapfile -t pids <"$pidf"
		_mg_stop_pids TERM "${pids[@]}" || rc=1
	fi
	rm -f "$pidf" "$MG_WORK/$name.sock"
	return "$rc"
}

# ---------------------------------------------------------------------------
# supervised responder pools (spawn-fcgi -n + a supervisor such as multiwatch)

# mg_supervised_start NAME LISTEN [VAR=value...] -- CMD [ARG...]: create
# the listening socket LISTEN and run CMD on it in the foreground of
# spawn-fcgi -n, the way a systemd socket unit hands its socket to a
# service: CMD (typically `multiwatch -f N -- mediagate`) gets the socket
# as file descriptor 0 and supervises the responders itself.
#   LISTEN  an absolute path: a Unix socket, mode 0660, owned by
#           MG_SOCKET_USER when that is set and we are root (so that a web
#           server running as that user can connect);
#           HOST:PORT: a TCP socket.
# Environment: as for mg_responders_start (the caller's, minus MEDIAGATE_*
# and FCGI_WEB_SERVER_ADDRS, plus the VAR=value pairs). CMD's stdout and
# stderr, the responders' included, go to $MG_WORK/NAME.log; the
# supervisor's pid to $MG_WORK/NAME.supervisor.pid (LISTEN to
# NAME.supervisor.listen). Returns once the socket
# listens and the supervisor has children, or non-zero if it gave up.
mg_supervised_start() {
	if (($# < 4)); then
		_mg_err "usage: mg_supervised_start NAME LISTEN [VAR=value...] -- CMD [ARG...]"
		return 1
	fi
	_mg_need_work || return 1
	local name=$1 listen=$2 kv v pid i
	shift 2
	local pidf=$MG_WORK/$name.supervisor.pid log=$MG_WORK/$name.log
	local -a envcmd=(env) sockopt=()
	if [[ ! $name =~ ^[A-Za-z0-9_-]+$ ]]; then
		_mg_err "mg_supervised_start: bad NAME: '$name'"
		return 1
	fi
	if mg_supervised_alive "$name"; then
		_mg_err "supervised pool $name is already running"
		return 1
	fi
	if [[ $listen == /* ]]; then
		if ((${#listen} > 107)); then
			_mg_err "socket path too long: $listen"
			return 1
		fi
		sockopt=(-s "$listen" -M 0660)
		if [[ -n ${MG_SOCKET_USER:-} ]] && _mg_is_root; then
			sockopt+=(-U "$MG_SOCKET_USER")
		fi
	elif [[ $listen =~ ^(.+):([0-9]+)$ ]]; then
		sockopt=(-a "${BASH_REMATCH[1]}" -p "${BASH_REMATCH[2]}")
	else
		_mg_err "mg_supervised_start: LISTEN is neither a path nor HOST:PORT: $listen"
		return 1
	fi
	for v in $(compgen -e); do
		[[ $v == MEDIAGATE_* || $v == FCGI_WEB_SERVER_ADDRS ]] && envcmd+=(-u "$v")
	done
	while (($# > 0)) && [[ $1 != -- ]]; do
		kv=$1
		shift
		if [[ ! $kv =~ ^[A-Za-z_][A-Za-z0-9_]*= ]]; then
			_mg_err "mg_supervised_start: not VAR=value: $kv"
			return 1
		fi
		envcmd+=("$kv")
	done
	if (($# < 2)) || [[ $1 != -- ]]; then
		_mg_err "mg_supervised_start: no command after --"
		return 1
	fi
	shift
	if [[ $1 != /* || ! -x $1 ]]; then
		# spawn-fcgi runs it with execv(3): no PATH search.
		_mg_err "mg_supervised_start: not an absolute path to a program: $1"
		return 1
	fi
	grep -qx "$name" "$MG_WORK/.supervised" 2>/dev/null || echo "$name" >>"$MG_WORK/.supervised"
	echo "$listen" >"$MG_WORK/$name.supervisor.listen"
	if [[ $listen == /* ]]; then
		rm -f "$listen"
	fi
	(_mg_close_fds && exec "${envcmd[@]}" spawn-fcgi -n "${sockopt[@]}" -- "$@") \
		>>"$log" 2>&1 </dev/null &
	pid=$!
	echo "$pid" >"$pidf"
	for ((i = 0; i < 50; i++)); do
		if ! _mg_alive "$pid"; then
			break
		fi
		if { [[ $listen == /* && -S $listen ]] ||
			{ [[ $listen != /* ]] && mg_port_in_use "${listen##*:}" listen; }; } &&
			[[ -n $(mg_supervised_children "$name") ]]; then
			# Children that die at once (bad configuration) are
			# reported here, not as a 503 later.
			sleep 0.3
			_mg_alive "$pid" && [[ -n $(mg_supervised_children "$name") ]] && return 0
			break
		fi
		sleep 0.1
	done
	_mg_err "supervised pool $name did not come up on $listen; end of $log:"
	tail -n 10 "$log" >&2
	mg_supervised_stop "$name"
	return 1
}

# mg_supervised_alive NAME: true while the supervisor of pool NAME runs.
mg_supervised_alive() {
	[[ -n ${MG_WORK:-} && -f $MG_WORK/$1.supervisor.pid ]] &&
		_mg_alive "$(<"$MG_WORK/$1.supervisor.pid")"
}

# mg_supervised_children NAME: print the pids of the live children of pool
# NAME's supervisor (the responders), one a line, in ascending order.
mg_supervised_children() {
	local pid child
	mg_supervised_alive "$1" || return 0
	pid=$(<"$MG_WORK/$1.supervisor.pid")
	for child in $(pgrep -P "$pid" | sort -n); do
		_mg_alive "$child" && echo "$child"
	done
	return 0
}

# mg_supervised_stop NAME: SIGTERM the supervisor (which asks its children
# to finish), wait up to MG_STOP_TIMEOUT seconds for it and its children,
# SIGKILL what is left; remove the pid file and a Unix socket. No-op when
# not running.
mg_supervised_stop() {
	local name=$1 pid i v rc=0 left listen=''
	[[ -n ${MG_WORK:-} && -f $MG_WORK/$name.supervisor.pid ]] || return 0
	pid=$(<"$MG_WORK/$name.supervisor.pid")
	local -a all=("$pid")
	mapfile -t -O 1 all < <(mg_supervised_children "$name")
	if _mg_alive "$pid"; then
		kill -TERM "$pid" 2>/dev/null || true
	fi
	for ((i = 0; i < ${MG_STOP_TIMEOUT:-5} * 10; i++)); do
		left=
		for v in "${all[@]}"; do
			_mg_alive "$v" && left=1
		done
		[[ -z $left ]] && break
		sleep 0.1
	done
	# Whatever did not end goes now, children included.
	_mg_stop_pids KILL "${all[@]}" || rc=1
	wait "$pid" 2>/dev/null || true
	if [[ -f $MG_WORK/$name.supervisor.listen ]]; then
		listen=$(<"$MG_WORK/$name.supervisor.listen")
	fi
	if [[ $listen == /* && -S $listen ]]; then
		rm -f "$listen"
	fi
	rm -f "$MG_WORK/$name.supervisor.pid" "$MG_WORK/$name.supervisor.listen"
	return "$rc"
}

# ---------------------------------------------------------------------------
# lighttpd

# mg_lighttpd_start NAME PORT SOCKET [BASE_PATH [SENDFILE_ROOT]]: run
# lighttpd instance NAME on 127.0.0.1:PORT in front of the FastCGI socket
# SOCKET for every path under BASE_PATH (default /), with X-Sendfile allowed
# below SENDFILE_ROOT (default $MEDIAGATE_STORAGE_ROOT, if set). Request
# bodies up to 1 MiB reach the responder, so that it can answer 413 itself.
# Runs as the current user (root included: lighttpd does not insist on
# dropping privileges when server.username is unset). Returns once the port
# accepts connections (10 s at most).
mg_lighttpd_start() {
	if (($# < 3)); then
		_mg_err "usage: mg_lighttpd_start NAME PORT SOCKET [BASE_PATH [SENDFILE_ROOT]]"
		return 1
	fi
	_mg_need_work || return 1
	local name=$1 port=$2 sock=$3 base=${4:-/} sfroot=${5:-${MEDIAGATE_STORAGE_ROOT:-}}
	local conf=$MG_WORK/lighttpd-$name.conf pidf=$MG_WORK/lighttpd-$name.pid pid
	local sendfile_root=''
	if [[ ! $name =~ ^[A-Za-z0-9_-]+$ || ! $port =~ ^[0-9]+$ ]]; then
		_mg_err "mg_lighttpd_start: bad NAME or PORT: '$name' '$port'"
		return 1
	fi
	if mg_lighttpd_alive "$name"; then
		_mg_err "lighttpd $name is already running"
		return 1
	fi
	if mg_port_in_use "$port" listen; then
		_mg_err "port $port is already in use"
		return 1
	fi
	if ! command -v lighttpd >/dev/null 2>&1; then
		_mg_err "lighttpd is not installed"
		return 1
	fi
	# lighttpd matches fastcgi.server keys as URL path prefixes.
	[[ $base == /* ]] || base=/$base
	[[ $base == */ ]] || base=$base/
	if [[ -n $sfroot ]]; then
		sendfile_root="\"x-sendfile-docroot\" => ( \"$sfroot\" ),"
	fi
	mkdir -p "$MG_WORK/www" "$MG_WORK/lighttpd-tmp" || return 1
	cat >"$conf" <<EOF || return 1
# lighttpd instance "$name" for mediagate (generated by tests/lib/services.sh)
server.modules = ( "mod_accesslog", "mod_fastcgi" )
server.bind = "127.0.0.1"
server.port = $port
server.document-root = "$MG_WORK/www"
server.errorlog = "$MG_WORK/lighttpd-$name-error.log"
server.upload-dirs = ( "$MG_WORK/lighttpd-tmp" )
accesslog.filename = "$MG_WORK/lighttpd-$name-access.log"
# KiB; larger than mediagate's own 64 KiB limit so that mediagate answers 413
server.max-request-size = 1024
# bytes of request header; more than mediagate's own 8 KiB Authorization
# limit, so that mediagate answers an oversized one with its 401 (the
# deployments in deploy/ allow 16 KiB or more likewise)
server.max-request-field-size = 32768
fastcgi.server = (
  "$base" => ((
    "socket" => "$sock",
    "check-local" => "disable",
    "fix-root-scriptname" => "enable",
    "x-sendfile" => "enable",
    $sendfile_root
  )),
)
EOF
	if ! lighttpd -tt -f "$conf" >"$MG_WORK/lighttpd-$name-stdout.log" 2>&1 </dev/null; then
		_mg_err "lighttpd $name: configuration rejected:"
		cat "$MG_WORK/lighttpd-$name-stdout.log" >&2
		return 1
	fi
	grep -qx "$name" "$MG_WORK/.lighttpds" 2>/dev/null || echo "$name" >>"$MG_WORK/.lighttpds"
	(_mg_close_fds && exec lighttpd -D -f "$conf") \
		>>"$MG_WORK/lighttpd-$name-stdout.log" 2>&1 </dev/null &
	pid=$!
	echo "$pid" >"$pidf"
	if ! mg_wait_port "$port" 10 "$pid" || ! _mg_alive "$pid"; then
		_mg_err "lighttpd $name did not come up on port $port; its logs:"
		tail -n 10 "$MG_WORK/lighttpd-$name-stdout.log" "$MG_WORK/lighttpd-$name-error.log" >&2 2>/dev/null
		mg_lighttpd_stop "$name"
		return 1
	fi
}

# mg_lighttpd_alive NAME: true while lighttpd instance NAME runs.
mg_lighttpd_alive() {
	[[ -n ${MG_WORK:-} && -f $MG_WORK/lighttpd-$1.pid ]] && _mg_alive "$(<"$MG_WORK/lighttpd-$1.pid")"
}

# mg_lighttpd_stop NAME: stop lighttpd instance NAME; no-op when not running.
mg_lighttpd_stop() {
	local name=$1 pid rc=0
	[[ -n ${MG_WORK:-} && -f $MG_WORK/lighttpd-$name.pid ]] || return 0
	pid=$(<"$MG_WORK/lighttpd-$name.pid")
	_mg_stop_pids TERM "$pid" || rc=1
	# Reap it when it is our child; harmless otherwise.
	wait "$pid" 2>/dev/null || true
	rm -f "$MG_WORK/lighttpd-$name.pid"
	return "$rc"
}

# mg_lighttpd_run NAME CONF PORT...: run lighttpd instance NAME from the
# complete configuration file CONF (written by the caller, e.g. one of
# deploy/ with paths and ports substituted) and wait until every PORT on
# 127.0.0.1 accepts connections (10 s at most). Checks CONF with
# `lighttpd -tt` first. Output goes to $MG_WORK/lighttpd-NAME-stdout.log;
# mg_lighttpd_stop and mg_stop_all stop it.
mg_lighttpd_run() {
	if (($# < 3)); then
		_mg_err "usage: mg_lighttpd_run NAME CONF PORT..."
		return 1
	fi
	_mg_need_work || return 1
	local name=$1 conf=$2 pid port
	shift 2
	local out=$MG_WORK/lighttpd-$name-stdout.log
	if [[ ! $name =~ ^[A-Za-z0-9_-]+$ || ! -f $conf ]]; then
		_mg_err "mg_lighttpd_run: bad NAME or no such file: '$name' '$conf'"
		return 1
	fi
	if mg_lighttpd_alive "$name"; then
		_mg_err "lighttpd $name is already running"
		return 1
	fi
	for port in "$@"; do
		if mg_port_in_use "$port" listen; then
			_mg_err "port $port is already in use"
			return 1
		fi
	done
	if ! lighttpd -tt -f "$conf" >"$out" 2>&1 </dev/null; then
		_mg_err "lighttpd $name: configuration $conf rejected:"
		cat "$out" >&2
		return 1
	fi
	grep -qx "$name" "$MG_WORK/.lighttpds" 2>/dev/null || echo "$name" >>"$MG_WORK/.lighttpds"
	(_mg_close_fds && exec lighttpd -D -f "$conf") >>"$out" 2>&1 </dev/null &
	pid=$!
	echo "$pid" >"$MG_WORK/lighttpd-$name.pid"
	for port in "$@"; do
		if ! mg_wait_port "$port" 10 "$pid"; then
			_mg_err "lighttpd $name did not come up on port $port; its output:"
			tail -n 10 "$out" >&2
			mg_lighttpd_stop "$name"
			return 1
		fi
	done
}

# ---------------------------------------------------------------------------
# Apache

# mg_apache_start NAME SITE_CONF PORT...: run an Apache instance NAME with
# SITE_CONF (a site file, e.g. one of deploy/apache/ with paths and ports
# substituted) in place of Debian's sites-enabled, listening on
# 127.0.0.1:PORT for each PORT. The main configuration,
# $MG_WORK/apache-NAME/httpd.conf, stands in for Debian's apache2.conf,
# ports.conf and mods-enabled: it loads the modules mediagate's sites use
# (mpm_event, authz_core, alias, headers, ssl, fcgid, xsendfile, proxy,
# proxy_fcgi, proxy_balancer, slotmem_shm, lbmethod_*), denies <Directory />
# and defines the "combined" log format. Apache starts as root and serves
# as MG_APACHE_USER (default www-data); pid file, error log, runtime files
# and mod_fcgid's sockets live in $MG_WORK/apache-NAME/ (log/ there is
# writable by that user, for the site's own logs). Checks the
# configuration with `apache2 -t` first; returns once every port accepts
# connections (10 s at most).
mg_apache_start() {
	if (($# < 3)); then
		_mg_err "usage: mg_apache_start NAME SITE_CONF PORT..."
		return 1
	fi
	_mg_need_work || return 1
	local name=$1 site=$2 pid port mod
	shift 2
	local dir=$MG_WORK/apache-$name user=${MG_APACHE_USER:-www-data}
	local moddir=/usr/lib/apache2/modules conf out
	conf=$dir/httpd.conf
	out=$dir/stdout.log
	if [[ ! $name =~ ^[A-Za-z0-9_-]+$ || ! -f $site ]]; then
		_mg_err "mg_apache_start: bad NAME or no such file: '$name' '$site'"
		return 1
	fi
	if ! command -v apache2 >/dev/null 2>&1; then
		_mg_err "apache2 is not installed"
		return 1
	fi
	if mg_apache_alive "$name"; then
		_mg_err "apache $name is already running"
		return 1
	fi
	for port in "$@"; do
		if [[ ! $port =~ ^[0-9]+$ ]] || mg_port_in_use "$port" listen; then
			_mg_err "port '$port' is not a free port"
			return 1
		fi
	done
	mkdir -p "$dir/run" "$dir/log" || return 1
	if _mg_is_root; then
		chown "$user:" "$dir/log" || return 1
	fi
	{
		cat <<CONF
# Apache instance "$name" for mediagate (generated by tests/lib/services.sh)
ServerRoot $dir
DefaultRuntimeDir $dir/run
PidFile $dir/run/httpd.pid
ErrorLog $dir/error.log
LogLevel ${MG_APACHE_LOGLEVEL:-warn}
ServerName 127.0.0.1
User $user
Group $(id -gn "$user" 2>/dev/null || echo "$user")
LogFormat "%h %l %u %t \"%r\" %>s %O \"%{Referer}i\" \"%{User-Agent}i\"" combined
CONF
		for port in "$@"; do
			echo "Listen 127.0.0.1:$port"
		done
		for mod in mpm_event authz_core alias headers socache_shmcb ssl fcgid \
			xsendfile proxy proxy_fcgi proxy_balancer slotmem_shm \
			lbmethod_byrequests lbmethod_bybusyness; do
			echo "LoadModule ${mod}_module $moddir/mod_$mod.so"
		done
		cat <<CONF
SSLSessionCache shmcb:$dir/run/ssl_scache(512000)
FcgidIPCDir $dir/fcgid
FcgidProcessTableFile $dir/run/fcgid_shm
<Directory />
	Options FollowSymLinks
	AllowOverride None
	Require all denied
</Directory>
Include $site
CONF
	} >"$conf" || return 1
	for mod in mpm_event fcgid xsendfile ssl proxy_fcgi; do
		if [[ ! -f $moddir/mod_$mod.so ]]; then
			_mg_err "Apache module $moddir/mod_$mod.so is missing"
			return 1
		fi
	done
	if ! apache2 -t -f "$conf" >"$out" 2>&1 </dev/null; then
		_mg_err "apache $name: configuration rejected:"
		cat "$out" >&2
		return 1
	fi
	grep -qx "$name" "$MG_WORK/.apaches" 2>/dev/null || echo "$name" >>"$MG_WORK/.apaches"
	(_mg_close_fds && exec apache2 -f "$conf" -DFOREGROUND) >>"$out" 2>&1 </dev/null &
	pid=$!
	echo "$pid" >"$MG_WORK/apache-$name.pid"
	for port in "$@"; do
		if ! mg_wait_port "$port" 10 "$pid"; then
			_mg_err "apache $name did not come up on port $port; its logs:"
			tail -n 10 "$out" "$dir/error.log" >&2 2>/dev/null
			mg_apache_stop "$name"
			return 1
		fi
	done
}

# mg_apache_alive NAME: true while Apache instance NAME runs.
mg_apache_alive() {
	[[ -n ${MG_WORK:-} && -f $MG_WORK/apache-$1.pid ]] && _mg_alive "$(<"$MG_WORK/apache-$1.pid")"
}

# mg_apache_stop NAME: stop Apache instance NAME (SIGTERM: its children and
# the processes mod_fcgid started end with it); no-op when not running.
mg_apache_stop() {
	local name=$1 pid rc=0
	[[ -n ${MG_WORK:-} && -f $MG_WORK/apache-$name.pid ]] || return 0
	pid=$(<"$MG_WORK/apache-$name.pid")
	# Apache waits for its children for up to 10 s before giving up.
	MG_STOP_TIMEOUT=${MG_STOP_TIMEOUT:-12} _mg_stop_pids TERM "$pid" || rc=1
	wait "$pid" 2>/dev/null || true
	rm -f "$MG_WORK/apache-$name.pid"
	return "$rc"
}

# ---------------------------------------------------------------------------
# everything

# mg_stop_all: stop every lighttpd and Apache instance, responder pool
# (supervised or not) and the PostgreSQL cluster started under $MG_WORK. Idempotent; never stops half way
# (errexit is off inside), so it is safe in an EXIT trap.
mg_stop_all() {
	local - name rc=0
	set +e
	[[ -n ${MG_WORK:-} && -d $MG_WORK ]] || return 0
	if [[ -f $MG_WORK/.lighttpds ]]; then
		while IFS= read -r name; do
			mg_lighttpd_stop "$name" || rc=1
		done <"$MG_WORK/.lighttpds"
	fi
	if [[ -f $MG_WORK/.apaches ]]; then
		while IFS= read -r name; do
			mg_apache_stop "$name" || rc=1
		done <"$MG_WORK/.apaches"
	fi
	if [[ -f $MG_WORK/.pools ]]; then
		while IFS= read -r name; do
			mg_responders_stop "$name" || rc=1
		done <"$MG_WORK/.pools"
	fi
	if [[ -f $MG_WORK/.supervised ]]; then
		while IFS= read -r name; do
			mg_supervised_stop "$name" || rc=1
		done <"$MG_WORK/.supervised"
	fi
	mg_pg_stop || rc=1
	return "$rc"
}

# mg_cleanup_on_exit [remove]: stop everything when the shell exits, also on
# SIGINT/SIGTERM (which then exit with 130/143); with "remove", delete
# $MG_WORK afterwards too. Replaces existing EXIT/INT/TERM traps.
mg_cleanup_on_exit() {
	if [[ ${1:-} == remove ]]; then
		trap 'mg_stop_all; [[ -n ${MG_WORK:-} ]] && rm -rf -- "$MG_WORK"' EXIT
	else
		trap 'mg_stop_all' EXIT
	fi
	trap 'exit 130' INT
	trap 'exit 143' TERM
}
