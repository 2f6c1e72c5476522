#!/usr/bin/env bash
#
# tests/integration.sh - the black-box integration suite, run by `make check`.
#
# Starts a private PostgreSQL loaded with tests/fixtures.sql, three pools of
# two mediagate processes each (spawn-fcgi) with different configurations,
# one lighttpd per pool on 127.0.0.1, then runs the Check program
# tests/check_integration against them over real HTTP:
#
#   pool  bearer alg / key         other settings
#   hs    HS256 bearer-hs.key      tenant claim "tenant" (default)
#   rs    RS256 bearer-rs.pub.pem  issuer https://issuer.test, audience
#                                  mediagate-api, public URL
#                                  https://media.example.test, base path /api
#   es    ES256 bearer-es.pub.pem  tenant isolation off, token TTL 2 s
#
# All pools share the database, the download-token secret (token.key) and
# the storage root. Each lighttpd sends every path to its pool, so paths
# outside MEDIAGATE_BASE_PATH are answered by mediagate too.
#
# Environment given to check_integration:
#   MG_TEST_URL_HS MG_TEST_URL_RS MG_TEST_URL_ES  http://127.0.0.1:PORT
#   MG_TEST_DB         libpq conninfo of the database superuser
#   MG_TEST_DB_APP     libpq conninfo the responders use
#   MG_TEST_KEYS       directory of keys (see mg_keys_make)
#   MG_TEST_STORAGE    storage root (empty; tests create files)
#   MG_TEST_WORK       work directory (logs: hs.log, lighttpd-hs-error.log...)
#   MG_TEST_PG_STOP    command that stops PostgreSQL (for 503 tests)
#   MG_TEST_PG_START   command that starts it again
#   MG_TEST_PG_RESTART command that restarts it (pg_ctl stop -m fast, start)
#
# Knobs: MG_BUILDDIR (top build directory; found from config.status
# otherwise), MG_BIN, MG_WRAP (see tests/lib/services.sh),
# MG_CHECK_INTEGRATION, MG_TEST_TIMEOUT (seconds, default 900),
# MG_KEEP_WORK=1 (keep the work directory after success too).
#
# Exit status: that of check_integration; 99 (automake's hard error) when the
# environment cannot be set up.

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
	tail_logs 40 "$MG_WORK"/{hs,rs,es}.log "$MG_WORK"/lighttpd-{hs,rs,es}-error.log "$MG_WORK/pg.log"
}

# write_helper NAME FUNCTION: an executable $MG_WORK/NAME that calls a
# services.sh FUNCTION on this work directory, for check_integration.
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
	local builddir check fixtures=$top_srcdir/tests/fixtures.sql
	builddir=$(find_builddir)
	check=${MG_CHECK_INTEGRATION:-$builddir/tests/check_integration}
	export MG_BIN=${MG_BIN:-$builddir/src/mediagate}
	need_programs "$check"
	[[ -f $fixtures ]] || hard_error "fixtures not found: $fixtures"
	need_tools spawn-fcgi lighttpd curl openssl

	work_start

	local storage=$MG_WORK/storage
	mkdir -p "$storage"
	mg_keys_make || hard_error "key generation failed"
	mg_pg_start "$fixtures" || hard_error "PostgreSQL setup failed"
	write_helper pg-stop mg_pg_stop
	write_helper pg-start mg_pg_resume
	write_helper pg-restart mg_pg_restart

	local k=$MG_KEYS
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

	local pool port
	for pool in hs rs es; do
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
	local rc=0
	timeout --kill-after=10 "${MG_TEST_TIMEOUT:-900}" "$check" </dev/null || rc=$?
	# The operator's view: command line, start-up checks, signals, role.
	local rc_startup=0
	timeout --kill-after=10 300 "$builddir/tests/check_startup" </dev/null || rc_startup=$?
	((rc != 0)) || rc=$rc_startup
	# Hostile input from outside: names, tokens, HEAD, HTTP/1.0, a
	# schema change under load.
	local rc_hostile=0
	timeout --kill-after=10 300 "$builddir/tests/check_hostile" </dev/null || rc_hostile=$?
	((rc != 0)) || rc=$rc_hostile
	if ((rc == 124 || rc == 137)); then
		echo "integration: $check timed out after ${MG_TEST_TIMEOUT:-900} s" >&2
	fi
	return "$rc"
}

main "$@"
