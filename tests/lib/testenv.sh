# shellcheck shell=bash
#
# tests/lib/testenv.sh - what the scripts `make check` runs
# (tests/integration.sh, tests/webservers.sh) share: messages and automake's
# exit statuses, finding the build, and a work directory that is removed
# after success and kept, with the tails of its logs shown, after a
# failure.
#
# Source it from a script that sets, before calling anything here:
#   test_name    the prefix of every message, e.g. "integration"
#   top_srcdir   the source tree's root
# and defines show_logs (called by on_exit after a failure; tail_logs
# does the work). Like services.sh it only defines functions.

# test_name and top_srcdir are the sourcing script's.
# shellcheck disable=SC2154

# say MESSAGE: one line of progress on stdout.
say() {
	printf '%s: %s\n' "$test_name" "$*"
}

# hard_error MESSAGE: the environment cannot be set up (automake's 99).
hard_error() {
	printf '%s: %s\n' "$test_name" "$*" >&2
	exit 99
}

# skip MESSAGE: something optional is not installed (automake's 77).
skip() {
	printf '%s: SKIP: %s\n' "$test_name" "$*" >&2
	exit 77
}

# need_tools COMMAND...: hard_error unless every COMMAND is installed.
need_tools() {
	local tool
	for tool in "$@"; do
		command -v "$tool" >/dev/null 2>&1 || hard_error "$tool is not installed (tests/run installs it)"
	done
}

# The top build directory: the test harness runs us from the directory of
# the Makefile that lists us, which is the top build directory or its
# tests/ subdirectory; VPATH builds keep sources elsewhere. MG_BUILDDIR
# overrides.
find_builddir() {
	local d
	if [[ -n ${MG_BUILDDIR:-} ]]; then
		(cd "$MG_BUILDDIR" && pwd)
		return
	fi
	for d in . .. "$top_srcdir"; do
		if [[ -f $d/config.status ]]; then
			(cd "$d" && pwd)
			return
		fi
	done
	echo "$top_srcdir"
}

# need_programs CHECK: hard_error unless the test program CHECK and the
# responder $MG_BIN are built.
need_programs() {
	[[ -x $1 ]] || hard_error "test program not found: $1 (run make check)"
	[[ -x $MG_BIN ]] || hard_error "responder not found: $MG_BIN (run make)"
}

# work_start: a fresh $MG_WORK (services.sh), cleaned up by on_exit
# however the script ends; SIGINT and SIGTERM become an exit.
work_start() {
	mg_work_init || hard_error "cannot create a work directory"
	# Every response the test programs receive (tests/http.c), for
	# openapi_check on_exit.
	export MG_TEST_RECORD=$MG_WORK/responses.jsonl
	trap 'on_exit $?' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# tail_logs LINES FILE...: the last LINES lines of each non-empty FILE,
# after a line naming the work directory.
tail_logs() {
	local n=$1 f
	shift
	echo "---- $test_name: work directory $MG_WORK"
	for f in "$@"; do
		[[ -s $f ]] || continue
		echo "---- tail of $f"
		tail -n "$n" "$f"
	done
}

# openapi_check: every response recorded in $MG_TEST_RECORD must be one
# that doc/openapi.yaml documents for its operation and status, with the
# body and fields its schemas allow (tests/openapi_check.py, with Debian's
# python3-jsonschema and python3-yaml).
openapi_check() {
	local py=${MG_PYTHON:-/usr/bin/python3}
	# Suites that drive a browser or curl record nothing.
	# A script that never called work_start (multihost) has no record.
	if [[ ! -s ${MG_TEST_RECORD:-} ]]; then
		say "openapi: no response recorded (no test program of tests/http.c ran)"
		return 0
	fi
	"$py" "$top_srcdir/tests/openapi_check.py" \
		"$top_srcdir/doc/openapi.yaml" "$MG_TEST_RECORD"
}

# on_exit STATUS: the EXIT trap of work_start. Shows the logs after a
# failure, stops every service, and removes the work directory unless
# something failed or MG_KEEP_WORK=1; exits with STATUS.
on_exit() {
	local rc=$1
	trap - EXIT
	# After a failure too: what it finds may say why.
	if [[ $rc != 99 && $rc != 77 ]]; then
		openapi_check || { ((rc != 0)) || rc=1; }
	fi
	if ((rc != 0)); then
		show_logs
	fi
	mg_stop_all
	if ((rc == 0)) && [[ ${MG_KEEP_WORK:-0} != 1 ]]; then
		rm -rf -- "$MG_WORK"
	else
		echo "$test_name: work directory kept: $MG_WORK"
	fi
	exit "$rc"
}
