# shellcheck shell=bash
#
# tests/lib/pg.sh - a private PostgreSQL cluster (mg_pg_*, mg_psql_admin).
# Part of tests/lib/services.sh, which sources it with the others (source
# services.sh, not this file); conventions, variables and layout of the
# work directory are described there.

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
