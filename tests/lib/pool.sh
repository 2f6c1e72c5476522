# shellcheck shell=bash
#
# tests/lib/pool.sh - responder pools under spawn-fcgi (mg_responders_*), and
# waiting until responders sit in accept(2) (mg_pool_wait_accepting).
# Part of tests/lib/services.sh, which sources it with the others (source
# services.sh, not this file); conventions, variables and layout of the
# work directory are described there.

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
	# rather than as a mysterious 503 from lighttpd later: wait until each
	# one serves (sits in accept(2)) or is gone.
	local -a pids=()
	[[ -f $pidf ]] && mapfile -t pids <"$pidf"
	if ((${#pids[@]} != n)); then
		_mg_err "pool $name: expected $n pids in $pidf, got ${#pids[@]}"
		mg_responders_stop "$name"
		return 1
	fi
	mg_pool_wait_accepting "${pids[@]}" || true
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

# _mg_accept_syscalls: the numbers of accept(2) and accept4(2) on this
# machine, from <sys/syscall.h> (so they fit the architecture), cached.
_mg_accept_syscalls() {
	if [[ -z ${_MG_ACCEPT_NRS:-} ]]; then
		_MG_ACCEPT_NRS=$(printf '#include <sys/syscall.h>\nSYS_accept SYS_accept4\n' |
			${CC:-cc} -E -P - 2>/dev/null | tail -n 1 | tr -cs '0-9' ' ')
	fi
	echo "$_MG_ACCEPT_NRS"
}

# mg_pool_wait_accepting PID...: wait until each PID sits in accept(2) or
# accept4(2) (/proc/PID/syscall), i.e. has finished starting and waits for
# a request, or is gone; 10 s at most each (x10 when MG_WRAP is set: under
# valgrind). False if one neither serves nor exits in time.
mg_pool_wait_accepting() {
	local pid i sc nrs limit=100 rc=0
	nrs=" $(_mg_accept_syscalls) "
	[[ -n ${MG_WRAP:-} ]] && limit=1000
	if [[ -z ${nrs// /} ]]; then
		_mg_err "mg_pool_wait_accepting: cannot find the accept syscalls (no C compiler?)"
		return 1
	fi
	for pid in "$@"; do
		for ((i = 0; i < limit; i++)); do
			_mg_alive "$pid" || break
			sc=$(cut -d' ' -f1 "/proc/$pid/syscall" 2>/dev/null) || sc=
			[[ -n $sc && $nrs == *" $sc "* ]] && break
			sleep 0.1
		done
		((i < limit)) || rc=1
	done
	return "$rc"
}
