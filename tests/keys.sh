#!/usr/bin/env bash
#
# tests/keys.sh - key rotation under load, run by `make check`.
#
# Starts a private PostgreSQL, two pools of two mediagate processes each
# (spawn-fcgi; a and b) sharing one bearer JWKS and one download-token
# keyring, one lighttpd per pool on 127.0.0.1, and runs tests/check_keys:
# a steady stream of issue + download requests across both pools while the
# sets are rotated by rename and by in-place rewrite + SIGUSR2 (README.md,
# "Rotating keys"), then a reload with invalid content.
#
#   pools a, b   MEDIAGATE_JWT_ALG=RS256,ES256, MEDIAGATE_JWT_JWKS_FILE,
#                MEDIAGATE_TOKEN_JWKS_FILE, token TTL 6 s
#
# Environment given to check_keys:
#   MG_TEST_URL_A MG_TEST_URL_B  http://127.0.0.1:PORT of each lighttpd
#   MG_TEST_KEYDIR     the key files (bearer.jwks, tokens.jwks, private keys)
#   MG_TEST_SIGNAL     command that sends SIGUSR2 to every responder
#   MG_TEST_RESPONDERS how many responders there are (4)
#   MG_TEST_TTL        download token lifetime
#   MG_TEST_DB MG_TEST_STORAGE MG_TEST_WORK  as for tests/integration.sh
#
# Knobs: MG_BUILDDIR, MG_BIN, MG_WRAP (responders under valgrind, see
# tests/run), MG_KEEP_WORK=1.
#
# Exit status: that of check_keys; 99 when the environment cannot be set up.

# shellcheck disable=SC2119

set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top_srcdir=$(cd "$here/.." && pwd)
test_name=keys
# shellcheck source-path=SCRIPTDIR source=lib/services.sh
. "$here/lib/services.sh"
# shellcheck source-path=SCRIPTDIR source=lib/testenv.sh
. "$here/lib/testenv.sh"

show_logs() {
	tail_logs 40 "$MG_WORK"/{a,b}.log "$MG_WORK"/lighttpd-{a,b}-error.log "$MG_WORK/pg.log"
}

main() {
	local builddir check ttl=6 n=2
	builddir=$(find_builddir)
	check=${MG_CHECK_KEYS:-$builddir/tests/check_keys}
	export MG_BIN=${MG_BIN:-$builddir/src/mediagate}
	need_programs "$check"
	need_tools spawn-fcgi lighttpd

	work_start

	local storage=$MG_WORK/storage keydir=$MG_WORK/keyfiles
	mkdir -p "$storage" "$keydir"
	chmod 0700 "$keydir"
	"$check" --init "$keydir" || hard_error "key generation failed"
	mg_pg_start || hard_error "PostgreSQL setup failed"

	local pool port
	for pool in a b; do
		mg_responders_start "$pool" "$n" \
			MEDIAGATE_DB="$MG_DB_APP" \
			MEDIAGATE_JWT_ALG=RS256,ES256 \
			MEDIAGATE_JWT_JWKS_FILE="$keydir/bearer.jwks" \
			MEDIAGATE_TOKEN_JWKS_FILE="$keydir/tokens.jwks" \
			MEDIAGATE_TOKEN_TTL="$ttl" \
			MEDIAGATE_STORAGE_ROOT="$storage" ||
			hard_error "pool $pool did not start"
		port=$(mg_free_port) || hard_error "no free port"
		mg_lighttpd_start "$pool" "$port" "$MG_WORK/$pool.sock" / "$storage" ||
			hard_error "lighttpd $pool did not start"
		export "MG_TEST_URL_${pool^^}=http://127.0.0.1:$port"
	done

	# What an operator's `systemctl reload` does for a multiwatch pool
	# (deploy/systemd): SIGUSR2 to every responder.
	cat >"$MG_WORK/signal-pools" <<SH
#!/usr/bin/env bash
set -euo pipefail
export MG_WORK=$(printf '%q' "$MG_WORK")
. $(printf '%q' "$here/lib/services.sh")
for pid in \$(mg_responders_pids a) \$(mg_responders_pids b); do
	kill -USR2 "\$pid"
done
SH
	chmod 0755 "$MG_WORK/signal-pools"

	export MG_TEST_KEYDIR=$keydir
	export MG_TEST_SIGNAL=$MG_WORK/signal-pools
	export MG_TEST_RESPONDERS=$((2 * n))
	export MG_TEST_TTL=$ttl
	export MG_TEST_DB=$MG_DB_ADMIN
	export MG_TEST_STORAGE=$storage
	export MG_TEST_WORK=$MG_WORK

	say "a=$MG_TEST_URL_A b=$MG_TEST_URL_B work=$MG_WORK"
	local rc=0
	timeout --kill-after=10 900 "$check" </dev/null || rc=$?
	# Every responder is still there: no reload signal stopped one.
	local alive
	alive=$( (mg_responders_pids a; mg_responders_pids b) | wc -l)
	if ((alive != 2 * n)); then
		echo "keys: $alive of $((2 * n)) responders are still running" >&2
		((rc != 0)) || rc=1
	fi
	return "$rc"
}

main "$@"
