# shellcheck shell=bash
#
# tests/lib/supervised.sh - responder pools under a supervisor such as multiwatch
# (mg_supervised_*).
# Part of tests/lib/services.sh, which sources it with the others (source
# services.sh, not this file); conventions, variables and layout of the
# work directory are described there.

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
			# reported here, not as a 503 later: wait until they
			# serve (accept(2)) or are gone.
			# shellcheck disable=SC2046 # one pid a word
			mg_pool_wait_accepting $(mg_supervised_children "$name") || true
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
