#!/usr/bin/env bash
#
# tests/integration.sh - the black-box integration suite, run by `make check`.
#
# Starts a private PostgreSQL loaded with tests/fixtures.sql, five pools of
# mediagate processes (spawn-fcgi) with different configurations, one
# lighttpd per pool on 127.0.0.1, then runs the black-box Check programs,
# one per section of the contract (tests/CONTRACT-MAP.md says which rule
# each case proves), against them over real HTTP:
#
#   check_auth check_claims   §3 bearer authentication
#   check_issue               §4 issuing
#   check_negotiate           §4 content negotiation, §6 error formats
#   check_download            §5 downloads
#   check_download_fields     §5 the fields for hostile names, MIME types
#   check_errors              §6 the error table
#   check_faults_db           §6 503: the database stopped and restarted
#   check_faults_proc         §1 processes: client aborts, SIGTERM, SIGUSR1
#   check_startup             §1 the operator's view (command line, start-up)
#
#   pool  N  bearer alg / key         other settings
#   hs    4  HS256 bearer-hs.key      tenant claim "tenant" (default)
#   rs    2  RS256 bearer-rs.pub.pem  issuer https://issuer.test, audience
#                                     mediagate-api, public URL
#                                     https://media.example.test, base /api
#   es    2  ES256 bearer-es.pub.pem  tenant isolation off, token TTL 2 s
#   term  2  as hs                    ended by check_faults_proc (SIGTERM)
#   usr1  2  as hs                    one ended by check_faults_proc (SIGUSR1)
#
# All pools share the database, the download-token secret (token.key) and
# the storage root. Each lighttpd sends every path to its pool, so paths
# outside MEDIAGATE_BASE_PATH are answered by mediagate too. No program
# depends on another having run before it: the fault programs end only
# the responders of their own pools and leave the database running.
#
# Environment given to the programs:
#   MG_TEST_URL_HS MG_TEST_URL_RS MG_TEST_URL_ES MG_TEST_URL_TERM
#   MG_TEST_URL_USR1   http://127.0.0.1:PORT
#   MG_TEST_DB         libpq conninfo of the database superuser
#   MG_TEST_DB_APP     libpq conninfo the responders use
#   MG_TEST_KEYS       directory of keys (see mg_keys_make)
#   MG_TEST_STORAGE    storage root (empty; tests create files)
#   MG_TEST_WORK       work directory (logs: hs.log, lighttpd-hs-error.log...)
#   MG_TEST_PG_STOP    command that stops PostgreSQL (for 503 tests)
#   MG_TEST_PG_START   command that starts it again (no-op when running)
#   MG_TEST_PG_RESTART command that restarts it (pg_ctl stop -m fast, start)
#   MG_WRAP            as given (the programs scale their time limits by 10
#                      when it is set: responders under valgrind)
#
# Knobs: MG_BUILDDIR (top build directory; found from config.status
# otherwise), MG_BIN, MG_WRAP (see tests/lib/services.sh), MG_TESTS (the
# programs to run, default all of the above), MG_TEST_TIMEOUT (seconds per
# program, default 900), MG_KEEP_WORK=1 (keep the work directory after
# success too).
#
# Exit status: that of the first program that failed; 99 (automake's hard
# error) when the environment cannot be set up.

# mg_* functions take optional arguments that callers may leave out.
# shellcheck disable=SC2119

set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top_srcdir=$(cd "$here/.." && pwd)
test_name=integration
# shellcheck source-path=SCRIPTDIR source=lib/services.sh
. "$here/lib/services.sh"
# shellcheck source-path=SCRIPTDIR source=lib/testenv.sh
. "$here/lib/testenv.sh"

# show_logs: what on_exit shows after a failure.
show_logs() {
	tail_logs 40 "$MG_WORK"/{hs,rs,es,term,usr1}.log \
		"$MG_WORK"/lighttpd-{hs,rs,es,term,usr1}-error.log "$MG_WORK/pg.log"
}

# write_helper NAME FUNCTION: an executable $MG_WORK/NAME that calls a
# services.sh FUNCTION on this work directory, for check_faults_db.
write_helper() {
	cat >"$MG_WORK/$1" <<EOF
#!/usr/bin/env bash
set -euo pipefail
export MG_WORK=$(printf '%q' "$MG_WORK")
. $(printf '%q' "$here/lib/services.sh")
$2
EOF
	chmod 0755 "$MG_WORK/$1"
}

main() {
	local builddir prog fixtures=$top_srcdir/tests/fixtures.sql
	local -a progs
	builddir=$(find_builddir)
	read -r -a progs <<<"${MG_TESTS:-check_auth check_claims check_issue check_negotiate check_download check_download_fields check_errors check_faults_db check_faults_proc check_startup}"
	export MG_BIN=${MG_BIN:-$builddir/src/mediagate}
	for prog in "${progs[@]}"; do
		need_programs "$builddir/tests/$prog"
	done
	[[ -f $fixtures ]] || hard_error "fixtures not found: $fixtures"
	need_tools spawn-fcgi lighttpd curl openssl

	work_start

	local storage=$MG_WORK/storage
	mkdir -p "$storage"
	mg_keys_make || hard_error "key generation failed"
	mg_pg_start "$fixtures" || hard_error "PostgreSQL setup failed"
	write_helper pg-stop mg_pg_stop
	write_helper pg-start 'mg_pg_running || mg_pg_resume'
	write_helper pg-restart mg_pg_restart

	local k=$MG_KEYS pool
	local -a common=(
		MEDIAGATE_DB="$MG_DB_APP"
		MEDIAGATE_TOKEN_SECRET_FILE="$k/token.key"
		MEDIAGATE_STORAGE_ROOT="$storage"
	)
	mg_responders_start hs 4 "${common[@]}" \
		MEDIAGATE_JWT_ALG=HS256 \
		MEDIAGATE_JWT_KEY_FILE="$k/bearer-hs.key" ||
		hard_error "pool hs did not start"
	mg_responders_start rs 2 "${common[@]}" \
		MEDIAGATE_JWT_ALG=RS256 \
		MEDIAGATE_JWT_KEY_FILE="$k/bearer-rs.pub.pem" \
		MEDIAGATE_JWT_ISSUER=https://issuer.test \
		MEDIAGATE_JWT_AUDIENCE=mediagate-api \
		MEDIAGATE_PUBLIC_URL=https://media.example.test \
		MEDIAGATE_BASE_PATH=/api ||
		hard_error "pool rs did not start"
	mg_responders_start es 2 "${common[@]}" \
		MEDIAGATE_JWT_ALG=ES256 \
		MEDIAGATE_JWT_KEY_FILE="$k/bearer-es.pub.pem" \
		MEDIAGATE_TENANT_CLAIM= \
		MEDIAGATE_TOKEN_TTL=2 ||
		hard_error "pool es did not start"
	for pool in term usr1; do
		mg_responders_start "$pool" 2 "${common[@]}" \
			MEDIAGATE_JWT_ALG=HS256 \
			MEDIAGATE_JWT_KEY_FILE="$k/bearer-hs.key" ||
			hard_error "pool $pool did not start"
	done

	local port
	for pool in hs rs es term usr1; do
		port=$(mg_free_port) || hard_error "no free port"
		mg_lighttpd_start "$pool" "$port" "$MG_WORK/$pool.sock" / "$storage" ||
			hard_error "lighttpd $pool did not start"
		export "MG_TEST_URL_${pool^^}=http://127.0.0.1:$port"
	done

	export MG_TEST_DB=$MG_DB_ADMIN
	export MG_TEST_DB_APP=$MG_DB_APP
	export MG_TEST_KEYS=$MG_KEYS
	export MG_TEST_STORAGE=$storage
	export MG_TEST_WORK=$MG_WORK
	export MG_TEST_PG_STOP=$MG_WORK/pg-stop
	export MG_TEST_PG_START=$MG_WORK/pg-start
	export MG_TEST_PG_RESTART=$MG_WORK/pg-restart

	echo "integration: hs=$MG_TEST_URL_HS rs=$MG_TEST_URL_RS es=$MG_TEST_URL_ES work=$MG_WORK"
	local rc=0 rc1
	for prog in "${progs[@]}"; do
		say "$prog"
		rc1=0
		timeout --kill-after=10 "${MG_TEST_TIMEOUT:-900}" \
			"$builddir/tests/$prog" </dev/null || rc1=$?
		if ((rc1 == 124 || rc1 == 137)); then
			echo "integration: $prog timed out after ${MG_TEST_TIMEOUT:-900} s" >&2
		fi
		((rc != 0)) || rc=$rc1
	done
	return "$rc"
}

main "$@"
