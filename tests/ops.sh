#!/usr/bin/env bash
#
# tests/ops.sh - contract §7 (health, metrics, audit log) on the real
# stack, run by `make check`: a private PostgreSQL, four responder pools
# behind one lighttpd each on 127.0.0.1, and tests/check_ops against them.
#
#   pool  run by                 settings
#   a     multiwatch -f 3        metrics file a.metrics, audit log audit-a.log
#   b     spawn-fcgi -F 2        metrics file b.metrics, base path /api
#   deny  spawn-fcgi -F 1        metrics file deny.metrics, allow list
#                                10.0.0.0/8,2001:db8::/32 (not 127.0.0.1)
#   u     spawn-fcgi -F 2        audit log u/audit.log, metrics off
#
# Environment given to check_ops (besides those of tests/integration.sh:
# MG_TEST_DB, MG_TEST_KEYS, MG_TEST_STORAGE, MG_TEST_WORK, MG_TEST_PG_STOP,
# MG_TEST_PG_START):
#   MG_OPS_URL_A MG_OPS_URL_B MG_OPS_URL_DENY MG_OPS_URL_U
#   MG_OPS_AUDIT_A MG_OPS_AUDIT_U   the audit logs
#   MG_OPS_CHILDREN_A               prints pool a's responder pids
#   MG_OPS_PIDS_B                   prints pool b's responder pids
#   MG_OPS_PG_FREEZE MG_OPS_PG_THAW SIGSTOP / SIGCONT every PostgreSQL process
#   MG_OPS_PY                       /usr/bin/python3 (Debian's modules)
#   MG_OPS_HELPERS                  tests/ops (prom.py, jsonl.py)
#
# Exit status: that of check_ops; 99 when the environment cannot be set up.

# shellcheck disable=SC2119
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top_srcdir=$(cd "$here/.." && pwd)
test_name=ops
# shellcheck source-path=SCRIPTDIR source=lib/services.sh
. "$here/lib/services.sh"
# shellcheck source-path=SCRIPTDIR source=lib/testenv.sh
. "$here/lib/testenv.sh"

show_logs() {
	tail_logs 40 "$MG_WORK"/{a,b,deny,u}.log "$MG_WORK"/lighttpd-{a,b,deny,u}-error.log "$MG_WORK/pg.log"
}

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
	check=${MG_CHECK_OPS:-$builddir/tests/check_ops}
	export MG_BIN=${MG_BIN:-$builddir/src/mediagate}
	need_programs "$check"
	need_tools spawn-fcgi multiwatch lighttpd openssl promtool
	if [[ ! -x /usr/bin/python3 ]] || ! /usr/bin/python3 -c 'import prometheus_client' 2>/dev/null; then
		hard_error "/usr/bin/python3 with python3-prometheus-client is needed"
	fi

	work_start
	local storage=$MG_WORK/storage k
	mkdir -p "$storage" "$MG_WORK/u"
	mg_keys_make || hard_error "key generation failed"
	k=$MG_KEYS
	mg_pg_start "$fixtures" || hard_error "PostgreSQL setup failed"
	write_helper pg-stop mg_pg_stop
	# A no-op when the cluster runs (check_ops's outage teardown runs it
	# whatever the test left), as in tests/integration.sh.
	write_helper pg-start 'mg_pg_running || mg_pg_resume'
	write_helper a-children 'mg_supervised_children a'
	# A database that accepts connections and never answers: every
	# PostgreSQL process stopped (SIGSTOP), then continued.
	# shellcheck disable=SC2016 # expanded by the helper, not here
	write_helper pg-freeze 'pm=$(head -n 1 "$MG_WORK/pg/postmaster.pid"); kill -STOP "$pm" $(pgrep -P "$pm")'
	# shellcheck disable=SC2016 # expanded by the helper, not here
	write_helper pg-thaw 'pm=$(head -n 1 "$MG_WORK/pg/postmaster.pid"); kill -CONT "$pm" $(pgrep -P "$pm")'
	write_helper b-pids 'mg_responders_pids b'

	local -a common=(
		MEDIAGATE_DB="$MG_DB_APP"
		MEDIAGATE_JWT_ALG=HS256
		MEDIAGATE_JWT_KEY_FILE="$k/bearer-hs.key"
		MEDIAGATE_TOKEN_SECRET_FILE="$k/token.key"
		MEDIAGATE_STORAGE_ROOT="$storage"
	)
	mg_supervised_start a "$MG_WORK/a.sock" "${common[@]}" \
		MEDIAGATE_METRICS_FILE="$MG_WORK/a.metrics" \
		MEDIAGATE_AUDIT_LOG="$MG_WORK/audit-a.log" \
		-- "$(command -v multiwatch)" -f 3 -- "$MG_BIN" ||
		hard_error "pool a did not start"
	mg_responders_start b 2 "${common[@]}" \
		MEDIAGATE_METRICS_FILE="$MG_WORK/b.metrics" \
		MEDIAGATE_BASE_PATH=/api ||
		hard_error "pool b did not start"
	mg_responders_start deny 1 "${common[@]}" \
		MEDIAGATE_METRICS_FILE="$MG_WORK/deny.metrics" \
		MEDIAGATE_METRICS_ALLOW="10.0.0.0/8, 2001:db8::/32" ||
		hard_error "pool deny did not start"
	mg_responders_start u 2 "${common[@]}" \
		MEDIAGATE_AUDIT_LOG="$MG_WORK/u/audit.log" ||
		hard_error "pool u did not start"

	local pool port
	for pool in a b deny u; do
		port=$(mg_free_port) || hard_error "no free port"
		mg_lighttpd_start "$pool" "$port" "$MG_WORK/$pool.sock" / "$storage" ||
			hard_error "lighttpd $pool did not start"
		export "MG_OPS_URL_${pool^^}=http://127.0.0.1:$port"
	done

	export MG_TEST_DB=$MG_DB_ADMIN MG_TEST_KEYS=$MG_KEYS
	export MG_TEST_STORAGE=$storage MG_TEST_WORK=$MG_WORK
	export MG_TEST_PG_STOP=$MG_WORK/pg-stop MG_TEST_PG_START=$MG_WORK/pg-start
	export MG_OPS_AUDIT_A=$MG_WORK/audit-a.log MG_OPS_AUDIT_U=$MG_WORK/u/audit.log
	export MG_OPS_CHILDREN_A=$MG_WORK/a-children MG_OPS_PIDS_B=$MG_WORK/b-pids
	export MG_OPS_PY=/usr/bin/python3 MG_OPS_HELPERS=$here/ops
	export MG_OPS_PG_FREEZE=$MG_WORK/pg-freeze MG_OPS_PG_THAW=$MG_WORK/pg-thaw

	echo "ops: a=$MG_OPS_URL_A b=$MG_OPS_URL_B deny=$MG_OPS_URL_DENY u=$MG_OPS_URL_U work=$MG_WORK"
	local rc=0
	timeout --kill-after=10 "${MG_TEST_TIMEOUT:-600}" "$check" </dev/null || rc=$?
	# Whatever happened to the test, leave no stopped process behind.
	"$MG_WORK/pg-thaw" 2>/dev/null || true
	return "$rc"
}

main "$@"
