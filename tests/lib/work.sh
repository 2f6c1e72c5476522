# shellcheck shell=bash
#
# tests/lib/work.sh - the work directory, free ports, Debian packages, stopping
# everything, and the small helpers (_mg_*) the other files use.
# Part of tests/lib/services.sh, which sources it with the others (source
# services.sh, not this file); conventions, variables and layout of the
# work directory are described there.

# ---------------------------------------------------------------------------
# small helpers

_mg_err() {
	printf 'mg: %s\n' "$*" >&2
}

_mg_need_work() {
	if [[ -z ${MG_WORK:-} || ! -d ${MG_WORK:-} ]]; then
		_mg_err "MG_WORK is not set to a directory (call mg_work_init)"
		return 1
	fi
	# Paths end up in libpq conninfo strings and lighttpd's config
	# unquoted; refuse anything that would need quoting there.
	if [[ $MG_WORK =~ [[:space:]\'\"\\] ]]; then
		_mg_err "MG_WORK must not contain blanks, quotes or backslashes: $MG_WORK"
		return 1
	fi
}

_mg_is_root() {
	[[ $(id -u) -eq 0 ]]
}

# _mg_alive PID: true while PID exists and is not a zombie. Zombies count as
# dead: responders are reparented to PID 1, which in a container may never
# reap them.
_mg_alive() {
	local stat
	kill -0 "$1" 2>/dev/null || return 1
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[[ ${stat:0:1} != Z ]]
}

# _mg_close_fds: close every descriptor above 2 in the current (sub)shell,
# so that daemons started from it do not hold the caller's pipes open.
_mg_close_fds() {
	local fd
	for fd in /proc/"$BASHPID"/fd/*; do
		fd=${fd##*/}
		[[ $fd =~ ^[0-9]+$ ]] || continue
		if ((fd > 2)); then
			exec {fd}>&-
		fi
	done 2>/dev/null
	return 0
}

# _mg_stop_pids SIGNAL PID...: send SIGNAL, wait up to MG_STOP_TIMEOUT
# seconds for the processes to end, then SIGKILL whatever is left and wait
# up to 2 more seconds. Returns non-zero only if something survives that.
_mg_stop_pids() {
	local sig=$1 pid i left
	shift
	local -a pids=()
	for pid in "$@"; do
		[[ $pid =~ ^[0-9]+$ ]] && _mg_alive "$pid" && pids+=("$pid")
	done
	((${#pids[@]})) || return 0
	kill "-$sig" "${pids[@]}" 2>/dev/null || true
	local limit=$((${MG_STOP_TIMEOUT:-5} * 10))
	for ((i = 0; ; i++)); do
		left=()
		for pid in "${pids[@]}"; do
			_mg_alive "$pid" && left+=("$pid")
		done
		((${#left[@]})) || return 0
		if ((i == limit)); then
			_mg_err "pids ${left[*]} ignored SIG$sig; sending SIGKILL"
			kill -KILL "${left[@]}" 2>/dev/null || true
		elif ((i >= limit + 20)); then
			_mg_err "pids ${left[*]} survived SIGKILL"
			return 1
		fi
		sleep 0.1
	done
}

# _mg_hex: hex dump of stdin, lower case, no separators.
_mg_hex() {
	od -An -v -tx1 | tr -d ' \n'
}

# _mg_unhex HEX: write the bytes HEX spells to stdout.
_mg_unhex() {
	local hex=$1 esc='' i
	for ((i = 0; i < ${#hex}; i += 2)); do
		esc+="\\x${hex:i:2}"
	done
	printf '%b' "$esc"
}

# _mg_b64url: base64url without padding (RFC 7515 section 2) of stdin.
_mg_b64url() {
	openssl base64 -A | tr '+/' '-_' | tr -d '='
}

# mg_wait_port PORT [SECONDS] [PID]: wait until 127.0.0.1:PORT accepts a TCP
# connection (default 10 s); give up early when PID is given and dies.
mg_wait_port() {
	local port=$1 secs=${2:-10} pid=${3:-} i
	for ((i = 0; i < secs * 10; i++)); do
		if [[ -n $pid ]] && ! _mg_alive "$pid"; then
			return 1
		fi
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# ---------------------------------------------------------------------------
# work directory, ports

# mg_work_init [DIR]: use DIR, or a new mktemp -d directory, as MG_WORK and
# export it. The directory is made traversable (0711) because PostgreSQL runs
# as the postgres user when we are root.
mg_work_init() {
	if [[ -n ${1:-} ]]; then
		mkdir -p "$1" || return 1
		MG_WORK=$(cd "$1" && pwd) || return 1
	else
		MG_WORK=$(mktemp -d "${TMPDIR:-/tmp}/mediagate.XXXXXX") || return 1
	fi
	chmod 0711 "$MG_WORK" || return 1
	export MG_WORK
	_mg_need_work
}

# mg_port_in_use PORT [listen]: true if any local TCP socket uses PORT, in
# any state (TIME_WAIT included), or with "listen" if one listens on it.
mg_port_in_use() {
	local out states=-a
	[[ ${2:-} == listen ]] && states=-l
	if out=$(ss -Htn "$states" "( sport = :$1 )" 2>/dev/null); then
		[[ -n $out ]] && return 0
	fi
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# mg_free_port: print a TCP port that nothing on this host uses, from
# 20000-60000 but outside the kernel's ephemeral range where that leaves
# enough room. Ports handed out before (recorded in $MG_WORK/.ports) are not
# handed out again, so callers can take several ports before binding them.
mg_free_port() {
	local lo=20000 hi=60000 elo ehi port tries used=''
	if read -r elo ehi 2>/dev/null </proc/sys/net/ipv4/ip_local_port_range; then
		if ((elo > lo + 1000 && elo <= hi)); then
			hi=$((elo - 1))
		elif ((ehi < hi - 1000 && ehi >= lo)); then
			lo=$((ehi + 1))
		fi
	fi
	if [[ -n ${MG_WORK:-} && -f $MG_WORK/.ports ]]; then
		used=$(<"$MG_WORK/.ports")
	fi
	for ((tries = 0; tries < 500; tries++)); do
		port=$((lo + (RANDOM * 32768 + RANDOM) % (hi - lo + 1)))
		if [[ $'\n'$used$'\n' == *$'\n'$port$'\n'* ]] || mg_port_in_use "$port"; then
			continue
		fi
		if [[ -n ${MG_WORK:-} && -d $MG_WORK ]]; then
			echo "$port" >>"$MG_WORK/.ports"
		fi
		echo "$port"
		return 0
	done
	_mg_err "no free TCP port found in $lo-$hi"
	return 1
}

# ---------------------------------------------------------------------------
# packages (Debian)

# mg_apt_ensure PACKAGE...: install the packages that are not installed yet,
# with apt-get, without recommends, and without letting their maintainer
# scripts start system services (policy-rc.d answering 101). Services that
# an install started anyway are stopped again. Uses sudo when not root.
mg_apt_ensure() {
	local pkg status rc=0
	local -a missing=() sudo=()
	for pkg in "$@"; do
		status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null) || status=
		[[ $status == "install ok installed" ]] || missing+=("$pkg")
	done
	((${#missing[@]})) || return 0
	if ! _mg_is_root; then
		if ! command -v sudo >/dev/null 2>&1; then
			_mg_err "missing packages (run as root to install): ${missing[*]}"
			return 1
		fi
		sudo=(sudo --)
	fi
	echo "mg: installing ${missing[*]}" >&2
	local policy=/usr/sbin/policy-rc.d own_policy=''
	if [[ ! -e $policy ]]; then
		printf '#!/bin/sh\n# installed by mediagate tests/lib/services.sh during apt-get\nexit 101\n' |
			"${sudo[@]}" tee "$policy" >/dev/null &&
			"${sudo[@]}" chmod 0755 "$policy" && own_policy=1
	fi
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q </dev/null || rc=1
	if ((rc == 0)); then
		"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
			--no-install-recommends \
			-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
			"${missing[@]}" </dev/null || rc=1
	fi
	if [[ -n $own_policy ]]; then
		"${sudo[@]}" rm -f "$policy" || rc=1
	fi
	# The tests run their own servers; system instances of what was just
	# installed must not be left running.
	local svc
	for pkg in "${missing[@]}"; do
		case $pkg in
		postgresql | postgresql-[0-9]*) svc=postgresql ;;
		lighttpd) svc=lighttpd ;;
		apache2) svc=apache2 ;;
		*) continue ;;
		esac
		if "${sudo[@]}" service "$svc" status >/dev/null 2>&1; then
			"${sudo[@]}" service "$svc" stop >/dev/null 2>&1 || true
		fi
	done
	((rc == 0)) || _mg_err "package installation failed"
	return "$rc"
}

# ---------------------------------------------------------------------------
# everything

# mg_stop_all: stop every lighttpd and Apache instance, responder pool
# (supervised or not) and the PostgreSQL cluster started under $MG_WORK. Idempotent; never stops half way
# (errexit is off inside), so it is safe in an EXIT trap.
mg_stop_all() {
	local - name rc=0
	set +e
	[[ -n ${MG_WORK:-} && -d $MG_WORK ]] || return 0
	if [[ -f $MG_WORK/.lighttpds ]]; then
		while IFS= read -r name; do
			mg_lighttpd_stop "$name" || rc=1
		done <"$MG_WORK/.lighttpds"
	fi
	if [[ -f $MG_WORK/.apaches ]]; then
		while IFS= read -r name; do
			mg_apache_stop "$name" || rc=1
		done <"$MG_WORK/.apaches"
	fi
	if [[ -f $MG_WORK/.pools ]]; then
		while IFS= read -r name; do
			mg_responders_stop "$name" || rc=1
		done <"$MG_WORK/.pools"
	fi
	if [[ -f $MG_WORK/.supervised ]]; then
		while IFS= read -r name; do
			mg_supervised_stop "$name" || rc=1
		done <"$MG_WORK/.supervised"
	fi
	mg_pg_stop || rc=1
	return "$rc"
}

# mg_cleanup_on_exit [remove]: stop everything when the shell exits, also on
# SIGINT/SIGTERM (which then exit with 130/143); with "remove", delete
# $MG_WORK afterwards too. Replaces existing EXIT/INT/TERM traps.
mg_cleanup_on_exit() {
	if [[ ${1:-} == remove ]]; then
		trap 'mg_stop_all; [[ -n ${MG_WORK:-} ]] && rm -rf -- "$MG_WORK"' EXIT
	else
		trap 'mg_stop_all' EXIT
	fi
	trap 'exit 130' INT
	trap 'exit 143' TERM
}
