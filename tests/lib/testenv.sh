# shellcheck shell=bash
#
# tests/lib/testenv.sh - what the scripts `make check` runs
# (tests/integration.sh, tests/webservers.sh) and tests/multihost.sh share:
# messages and automake's exit statuses, finding the build, deploy/ files
# substituted into the work directory, and a work directory that is
# removed after success and kept, with the tails of its logs shown, after
# a failure.
#
# Source it from a script that sets, before calling anything here:
#   test_name    the prefix of every message, e.g. "integration"
#   top_srcdir   the source tree's root
# and defines show_logs (called by on_exit after a failure; tail_logs
# does the work). Like services.sh it only defines functions.

# test_name, top_srcdir and mg_substitute's variables are the sourcing
# script's.
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

# mg_substitute SRC DEST [SED-EXPR...]: DEST is SRC (a file of deploy/)
# with the SED-EXPRs (the file's own ports and names) applied first, then
# the caller's array substitute_exprs (what it maps in every file: the
# public host name, and for tests/multihost.sh deploy/'s example
# addresses), then the paths every file shares: the caller's storage,
# run, etc and docroot, $MG_WORK/metrics and $MG_WORK/log (where a
# SED-EXPR does not map them elsewhere), the TLS files and $MG_BIN.
# hard_error if an example value is left outside comments: deploy/'s
# paths, media.example.com, and whatever the extended regex
# substitute_left adds (values one script maps and another keeps as
# shipped, such as 10.0.0.x, which tests/webservers.sh's TCP test needs).
mg_substitute() {
	local src=$1 dest=$2 e left
	shift 2
	local -a sed_args=()
	for e in "$@" ${substitute_exprs[@]+"${substitute_exprs[@]}"}; do
		sed_args+=(-e "$e")
	done
	sed_args+=(
		-e "s|/run/mediagate-metrics|$MG_WORK/metrics|g"
		-e "s|/var/log/mediagate|$MG_WORK/log|g"
		-e "s|/etc/ssl/mediagate/fullchain.pem|$MG_TLS_CERT|g"
		-e "s|/etc/ssl/mediagate/privkey.pem|$MG_TLS_KEY|g"
		-e "s|/usr/local/bin/mediagate|$MG_BIN|g"
		-e "s|/srv/media|$storage|g"
		-e "s|/run/mediagate|$run|g"
		-e "s|/etc/mediagate|$etc|g"
		-e "s|/var/www/mediagate-empty|$docroot|g"
	)
	sed "${sed_args[@]}" "$src" >"$dest"
	# Example values outside comments, not counting the work directory's
	# own paths (which may well end in etc/mediagate.env).
	left=$(grep -v '^[[:space:]]*#' "$dest" | sed "s|$MG_WORK/[^ \"';,]*||g" |
		grep -E "/srv/media|/run/mediagate|/etc/mediagate|/etc/ssl/|/usr/local/bin/|/var/log/|/var/www/|media\.example\.com|/run/lighttpd${substitute_left:+|$substitute_left}" || true)
	if [[ -n $left ]]; then
		hard_error "$dest: example values left after substitution: $left"
	fi
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
