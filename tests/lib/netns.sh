# shellcheck shell=bash
#
# tests/lib/netns.sh - a test bed of several "hosts" on one machine, made of
# network namespaces: each host is a namespace with one interface, eth0,
# whose other end is a port of a bridge that lives in a namespace of its
# own (the switch). The machine's own namespace is never touched: no
# interface, route or address of the bed is ever visible there, and
# nothing of the bed can reach it.
#
# Addresses are 10.231.0.0/24 on the eth0 interfaces inside the bed only;
# two beds at once do not clash, since every bed is its own set of
# namespaces. Names are PREFIX-HOST with PREFIX = mgn<pid of the shell
# that made the bed>, short enough for interface names; the bridge's ports
# are named after the hosts and exist only in the switch's namespace.
#
# Source after tests/lib/services.sh; functions prefixed mg_netns_, none
# depends on set -e (each returns non-zero after one line on stderr).
#
#   mg_netns_sweep                    remove beds whose owner process is gone
#   mg_netns_bed_create HOST=N...     make the switch and hosts (N: last
#                                     octet of the host's address)
#   mg_netns_bed_destroy              kill everything in the bed, delete it
#   mg_netns_cleanup_on_exit          trap EXIT/INT/TERM: mg_stop_all, then
#                                     mg_netns_bed_destroy
#   mg_netns_name HOST                the namespace of HOST
#   mg_netns_addr HOST                the address of HOST
#   mg_netns_exec HOST CMD...         run CMD in HOST's namespace
#   mg_netns_run HOST FUNC ARGS...    run a services.sh function there (the
#                                     processes it starts stay there)
#   mg_netns_link HOST up|down        plug or unplug HOST's cable (the
#                                     switch port goes down: HOST's eth0
#                                     loses carrier, packets to and from it
#                                     are dropped, its sockets stay open)
#   mg_netns_pids HOST                pids of every process in HOST
#   mg_netns_signal HOST SIGNAL       SIGNAL to every process in HOST
#   mg_netns_kill HOST                SIGKILL every process in HOST
#   mg_netns_wait_tcp HOST ADDR PORT [SECS]
#                                     wait until HOST can connect to ADDR:PORT
#   mg_netns_conns HOST PORT          number of unfinished TCP connections
#                                     on local PORT in HOST (requests in
#                                     flight there)
#
# Variables: MG_NETNS_PREFIX (set by mg_netns_bed_create), MG_NETNS_NET
# (10.231.0), MG_NETNS_HOSTS (the bed's host names).

MG_NETNS_NET=10.231.0
# The prefix of every bed's names; the owner pid follows it.
_mg_netns_base=mgn

_mg_netns_err() {
	printf 'mg_netns: %s\n' "$*" >&2
}

# _mg_netns_delete NS: kill every process in namespace NS (TERM, then
# KILL after 3 s) and delete it, which takes its interfaces with it.
_mg_netns_delete() {
	local ns=$1 i
	local -a pids=()
	ip netns list 2>/dev/null | grep -q "^$ns\( \|$\)" || return 0
	mapfile -t pids < <(ip netns pids "$ns" 2>/dev/null)
	if ((${#pids[@]})); then
		kill -TERM "${pids[@]}" 2>/dev/null || true
		for ((i = 0; i < 30; i++)); do
			mapfile -t pids < <(ip netns pids "$ns" 2>/dev/null)
			((${#pids[@]})) || break
			sleep 0.1
		done
		mapfile -t pids < <(ip netns pids "$ns" 2>/dev/null)
		((${#pids[@]})) && kill -KILL "${pids[@]}" 2>/dev/null
		for ((i = 0; i < 30; i++)); do
			mapfile -t pids < <(ip netns pids "$ns" 2>/dev/null)
			((${#pids[@]})) || break
			sleep 0.1
		done
	fi
	ip netns delete "$ns" 2>/dev/null || {
		_mg_netns_err "cannot delete namespace $ns"
		return 1
	}
}

# mg_netns_sweep: delete the namespaces of beds whose owner (the pid in
# their name) no longer runs: what a killed run left behind.
mg_netns_sweep() {
	local ns owner rc=0
	while read -r ns _; do
		[[ $ns =~ ^${_mg_netns_base}([0-9]+)- ]] || continue
		owner=${BASH_REMATCH[1]}
		if [[ $owner != "$$" ]] && ! kill -0 "$owner" 2>/dev/null; then
			echo "mg_netns: removing $ns, left by process $owner" >&2
			_mg_netns_delete "$ns" || rc=1
		fi
	done < <(ip netns list 2>/dev/null)
	return "$rc"
}

mg_netns_name() {
	echo "$MG_NETNS_PREFIX-$1"
}

mg_netns_addr() {
	local v="_mg_netns_octet_$1"
	if [[ -z ${!v:-} ]]; then
		_mg_netns_err "no host $1 in the bed"
		return 1
	fi
	echo "$MG_NETNS_NET.${!v}"
}

# mg_netns_bed_create HOST=N...: the switch (namespace PREFIX-sw, bridge
# br0) and one namespace per HOST with lo up and eth0 at 10.231.0.N/24,
# plugged into the switch.
mg_netns_bed_create() {
	local spec host octet ns sw
	if ! [[ $(id -u) -eq 0 ]]; then
		_mg_netns_err "network namespaces need root"
		return 1
	fi
	MG_NETNS_PREFIX=$_mg_netns_base$$
	MG_NETNS_HOSTS=()
	sw=$MG_NETNS_PREFIX-sw
	mg_netns_sweep || true
	ip netns add "$sw" || return 1
	ip -n "$sw" link set lo up &&
		ip -n "$sw" link add br0 type bridge &&
		ip -n "$sw" link set br0 up || return 1
	for spec in "$@"; do
		host=${spec%%=*}
		octet=${spec#*=}
		if [[ ! $host =~ ^[a-z][a-z0-9]{0,9}$ || ! $octet =~ ^[0-9]+$ ]] ||
			((octet < 1 || octet > 254)); then
			_mg_netns_err "bad host spec: $spec"
			return 1
		fi
		ns=$MG_NETNS_PREFIX-$host
		ip netns add "$ns" || return 1
		MG_NETNS_HOSTS+=("$host")
		printf -v "_mg_netns_octet_$host" '%s' "$octet"
		# Made in the switch, the peer moved into the host at once:
		# neither end ever exists in the machine's own namespace.
		if ! { ip -n "$sw" link add "p-$host" type veth peer name eth0 netns "$ns" &&
			ip -n "$sw" link set "p-$host" master br0 up &&
			ip -n "$ns" link set lo up &&
			ip -n "$ns" addr add "$MG_NETNS_NET.$octet/24" dev eth0 &&
			ip -n "$ns" link set eth0 up; }; then
			_mg_netns_err "cannot set up host $host"
			return 1
		fi
	done
	export MG_NETNS_PREFIX
}

# mg_netns_bed_destroy: every host, then the switch. Idempotent.
mg_netns_bed_destroy() {
	local host rc=0
	[[ -n ${MG_NETNS_PREFIX:-} ]] || return 0
	for host in "${MG_NETNS_HOSTS[@]}"; do
		_mg_netns_delete "$MG_NETNS_PREFIX-$host" || rc=1
	done
	_mg_netns_delete "$MG_NETNS_PREFIX-sw" || rc=1
	return "$rc"
}

# mg_netns_cleanup_on_exit [remove]: like mg_cleanup_on_exit, and the bed
# goes too, whatever way the shell ends.
mg_netns_cleanup_on_exit() {
	local rm=''
	# shellcheck disable=SC2016 # expanded when the trap runs
	[[ ${1:-} == remove ]] && rm='; [[ -n ${MG_WORK:-} ]] && rm -rf -- "$MG_WORK"'
	# shellcheck disable=SC2064 # expand rm now
	trap "mg_stop_all; mg_netns_bed_destroy$rm" EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

mg_netns_exec() {
	local host=$1
	shift
	ip netns exec "$MG_NETNS_PREFIX-$host" "$@"
}

# mg_netns_run HOST FUNC ARGS...: a fresh bash in HOST's namespace sources
# services.sh (and this file) and runs FUNC ARGS; daemons FUNC starts live
# in that namespace. Exported variables (MG_WORK ...) carry over.
mg_netns_run() {
	local host=$1
	shift
	# shellcheck disable=SC2016 # expanded by the inner bash
	MG_TOP=$MG_TOP ip netns exec "$MG_NETNS_PREFIX-$host" bash -c \
		'. "$MG_TOP/tests/lib/services.sh" && . "$MG_TOP/tests/lib/netns.sh" && "$@"' \
		mg_netns_run "$@"
}

mg_netns_link() {
	local host=$1 state=$2
	ip -n "$MG_NETNS_PREFIX-sw" link set "p-$host" "$state"
}

mg_netns_pids() {
	ip netns pids "$MG_NETNS_PREFIX-$1" 2>/dev/null
}

# mg_netns_signal HOST SIGNAL: send SIGNAL to every process in HOST.
mg_netns_signal() {
	local -a pids=()
	mapfile -t pids < <(mg_netns_pids "$1")
	((${#pids[@]})) || return 0
	kill "-$2" "${pids[@]}" 2>/dev/null || true
}

mg_netns_kill() {
	mg_netns_signal "$1" KILL
}

# mg_netns_wait_tcp HOST ADDR PORT [SECS]: wait (default 10 s) until a TCP
# connection from HOST to ADDR:PORT succeeds.
mg_netns_wait_tcp() {
	local host=$1 addr=$2 port=$3 secs=${4:-10} i
	for ((i = 0; i < secs * 10; i++)); do
		# shellcheck disable=SC2016 # expanded by the inner bash
		if mg_netns_exec "$host" timeout 1 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ \
			"$addr" "$port" 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	_mg_netns_err "$host cannot reach $addr:$port after $secs s"
	return 1
}

# mg_netns_conns HOST PORT: how many TCP connections to local PORT in HOST
# are not finished: the requests in flight there (established, being set
# up, or closed by one side and not yet by the other).
mg_netns_conns() {
	mg_netns_exec "$1" ss -Htn state established state syn-recv \
		state fin-wait-1 state fin-wait-2 state close-wait state closing \
		state last-ack "( sport = :$2 )" 2>/dev/null | wc -l
}
