#!/usr/bin/env bash
#
# tests/keys.sh - key rotation under load, run by `make check`.
#
# Starts a private PostgreSQL, two pools of two mediagate processes each
# (spawn-fcgi; a and b) sharing one bearer JWKS and one download-token
# keyring, one lighttpd per pool on 127.0.0.1, and runs tests/check_keys:
# a steady stream of issue + download requests across both pools while the
# sets are rotated by rename and by in-place rewrite + SIGUSR2 (README.md,
# "Rotating keys"), then a reload with invalid content.  A third pool, mw,
# runs under multiwatch as deploy/systemd/mediagate@.service does, for its
# ExecReload= (`systemctl reload`).
#
#   pools a, b   MEDIAGATE_JWT_ALG=RS256,ES256, MEDIAGATE_JWT_JWKS_FILE,
#                MEDIAGATE_TOKEN_JWKS_FILE, token TTL 10 s, one counter
#                file (one host) for mediagate_key_reloads_total
#
# Environment given to check_keys:
#   MG_TEST_URL_A MG_TEST_URL_B  http://127.0.0.1:PORT of each lighttpd
#   MG_TEST_KEYDIR     the key files (bearer.jwks, tokens.jwks, private keys)
#   MG_TEST_SIGNAL     command that sends SIGUSR2 to every responder of a, b
#   MG_TEST_URL_MW     the lighttpd of pool mw (multiwatch)
#   MG_TEST_RELOAD_MW  command that runs the unit's ExecReload= on pool mw
#   MG_TEST_RESPONDERS how many responders there are (4)
#   MG_TEST_TTL        download token lifetime
#   MG_TEST_LOADERS    concurrent clients of the request stream
#   MG_TEST_DB MG_TEST_DB_APP MG_TEST_STORAGE MG_TEST_WORK  as for
#                      tests/integration.sh; MG_BIN the responder
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

# multiwatch_start KEYDIR STORAGE: pool mw as deploy/systemd/mediagate@.service
# runs it (multiwatch, two responders) with its own lighttpd, and
# $MG_WORK/reload-mw, which runs the unit's ExecReload= with MAINPID the
# multiwatch supervisor, as `systemctl reload` would.
multiwatch_start() {
	local keydir=$1 storage=$2 unit=$top_srcdir/deploy/systemd/mediagate@.service
	local reload port
	reload=$(sed -n 's/^ExecReload=//p' "$unit")
	[[ -n $reload ]] || hard_error "no ExecReload= in $unit"
	mg_supervised_start mw "$MG_WORK/mw.sock" \
		MEDIAGATE_DB="$MG_DB_APP" \
		MEDIAGATE_JWT_ALG=RS256,ES256 \
		MEDIAGATE_JWT_JWKS_FILE="$keydir/bearer.jwks" \
		MEDIAGATE_TOKEN_JWKS_FILE="$keydir/tokens.jwks" \
		MEDIAGATE_STORAGE_ROOT="$storage" \
		-- "$(command -v multiwatch)" --forks=2 -- "$MG_BIN" ||
		hard_error "pool mw did not start"
	port=$(mg_free_port) || hard_error "no free port"
	mg_lighttpd_start mw "$port" "$MG_WORK/mw.sock" / "$storage" ||
		hard_error "lighttpd mw did not start"
	export MG_TEST_URL_MW=http://127.0.0.1:$port
	# systemd substitutes $MAINPID; here the shell does.
	cat >"$MG_WORK/reload-mw" <<SH
#!/usr/bin/env bash
set -euo pipefail
MAINPID=\$(cat $(printf '%q' "$MG_WORK/mw.supervisor.pid"))
$reload
SH
	chmod 0755 "$MG_WORK/reload-mw"
	export MG_TEST_RELOAD_MW=$MG_WORK/reload-mw
}

main() {
	local builddir check ttl=10 n=2
	builddir=$(find_builddir)
	check=${MG_CHECK_KEYS:-$builddir/tests/check_keys}
	export MG_BIN=${MG_BIN:-$builddir/src/mediagate}
	need_programs "$check"
	need_tools spawn-fcgi lighttpd multiwatch

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
			MEDIAGATE_STORAGE_ROOT="$storage" \
			MEDIAGATE_METRICS_FILE="$MG_WORK/host.metrics" ||
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
	# Fewer concurrent clients for responders under valgrind (tests/run).
	export MG_TEST_LOADERS=4
	[[ -z ${MG_WRAP:-} ]] || MG_TEST_LOADERS=2
	export MG_TEST_DB=$MG_DB_ADMIN
	export MG_TEST_DB_APP=$MG_DB_APP
	export MG_TEST_STORAGE=$storage
	export MG_TEST_WORK=$MG_WORK

	say "a=$MG_TEST_URL_A b=$MG_TEST_URL_B work=$MG_WORK"
	local rc=0 before after
	timeout --kill-after=10 900 "$check" </dev/null || rc=$?

	# A pool that starts on the files as they are now, so that it has
	# nothing left to notice by itself.
	multiwatch_start "$keydir" "$storage"
	before=$(mg_supervised_children mw | tr '\n' ' ')
	say "mw=$MG_TEST_URL_MW (multiwatch)"
	timeout --kill-after=10 300 "$check" --multiwatch </dev/null || rc=$?
	# The reload signal went through multiwatch and stopped nothing.
	after=$(mg_supervised_children mw | tr '\n' ' ')
	if ! mg_supervised_alive mw || [[ $before != "$after" ]]; then
		echo "keys: pool mw: responders $before before, $after after the reload" >&2
		((rc != 0)) || rc=1
	fi
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
