#!/usr/bin/env bash
#
# tests/multihost.sh - mediagate on several hosts, with hosts lost under
# load. Run by `tests/run multihost` (root: it makes network namespaces).
#
# The bed (tests/lib/netns.sh): one namespace per host on a bridge of its
# own namespace, addresses 10.231.0.N inside them only:
#   web .2      lighttpd from deploy/lighttpd/mediagate-multihost.conf, and
#               in a second run Apache from deploy/apache/mediagate-multihost.conf
#   client .3   the load: curl clients talking to the web host's address
#   r1-r3 .11-.13  responder hosts: deploy/systemd/mediagate-tcp.service's
#               ExecStart (multiwatch) under spawn-fcgi on 10.231.0.1N:9000,
#               its FCGI_WEB_SERVER_ADDRS set to the web host, the settings
#               of mediagate.env and mediagate-replicas.env (the libpq
#               multi-host string, target_session_attrs=prefer-standby)
#   pg1 .21     PostgreSQL primary
#   pg2 .22     hot standby made with pg_basebackup -R, streaming
# Only addresses and ports of the deploy/ files are substituted.
#
# Each fault runs under a steady stream of issue + download requests (four
# clients, bounded in count and time); every response is recorded with its
# time, status and the responder host that issued the token (each host's
# MEDIAGATE_PUBLIC_URL names it: https://rN.localhost, the URL's path is
# what the clients use). The rule: no request fails except those in flight
# on the host at the moment it was lost - counted in that host's own
# namespace at that moment (its unfinished TCP connections on the FastCGI
# port, or a database server's active mediagate sessions) - and the host,
# once back, takes requests again within $back_bound seconds.
#
# Replication lag: a media row deleted on the primary, then downloaded at
# once through responders reading the standby; asynchronously the stale
# window is measured and must stay under $lag_bound_ms ms; with
# synchronous_commit = remote_apply on the delete it must be nil.
#
# Output: one line per check ("ok" or "FAIL"), the figures of every fault,
# and Check's summary line "N%: Checks: N, Failures: N, Errors: N".
#
# Knobs: MG_BUILDDIR, MG_BIN; MG_KEEP_WORK=1; MG_MULTIHOST="lighttpd
# apache" (the web servers to run); MG_MULTIHOST_FAULTS (default: all of
# link kill standby primary lag).
#
# Exit status: 0 when everything passed; 1 when a check failed; 77 when a
# package is missing; 99 when the bed cannot be set up.

# mg_* functions take optional arguments that callers may leave out.
# shellcheck disable=SC2119

set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top_srcdir=$(cd "$here/.." && pwd)
deploy=$top_srcdir/deploy
test_name=multihost

# ---------------------------------------------------------------------------
# the load client (runs in the client namespace: tests/multihost.sh --client)

# client_loop ID OUT: issue a token for m-pdf, download with it, again,
# until OUT/stop exists, 2000 requests were sent or 120 s have passed.
# One line per response to OUT/log.ID: start and end (ms since the epoch),
# operation, HTTP status (000: no answer), the host that issued the token.
client_loop() {
	local id=$1 out=$2 i t0 t1 resp code body url host path
	local base=https://localhost
	local -a curl=(curl -s --max-time 15 --cacert "$MH_CA" --resolve "localhost:443:$MH_WEB")
	local until=$((${EPOCHREALTIME/./} / 1000 + 120000))
	for ((i = 0; i < 1000; i++)); do
		[[ -e $out/stop ]] && break
		t0=${EPOCHREALTIME/./}
		((t0 / 1000 < until)) || break
		resp=$("${curl[@]}" -X POST -d '' -H "Authorization: Bearer $MH_BEARER" \
			-w '\n%{http_code}' "$base/media/m-pdf/download-token" 2>/dev/null) || true
		t1=${EPOCHREALTIME/./}
		code=${resp##*$'\n'}
		body=${resp%$'\n'*}
		[[ $code =~ ^[0-9]{3}$ ]] || code=000
		host=-
		path=
		if [[ $code == 201 && $body =~ \"url\":\"https://([a-z0-9]+)\.localhost(/[^\"]*)\" ]]; then
			host=${BASH_REMATCH[1]}
			path=${BASH_REMATCH[2]}
		fi
		echo "$((t0 / 1000)) $((t1 / 1000)) issue $code $host" >>"$out/log.$id"
		[[ -n $path ]] || continue
		t0=${EPOCHREALTIME/./}
		code=$("${curl[@]}" -o /dev/null -w '%{http_code}' "$base$path" 2>/dev/null) || true
		t1=${EPOCHREALTIME/./}
		[[ $code =~ ^[0-9]{3}$ ]] || code=000
		echo "$((t0 / 1000)) $((t1 / 1000)) download $code $host" >>"$out/log.$id"
	done
}

if [[ ${1:-} == --client ]]; then
	client_loop "$2" "$3"
	exit 0
fi

# shellcheck source-path=SCRIPTDIR source=lib/services.sh
. "$here/lib/services.sh"
# shellcheck source-path=SCRIPTDIR source=lib/testenv.sh
. "$here/lib/testenv.sh"
# shellcheck source-path=SCRIPTDIR source=lib/netns.sh
. "$here/lib/netns.sh"

issuer=https://issuer.example.com
audience=mediagate
web_user=www-data
fcgi_port=9000
responders=(r1 r2 r3)
# A host back takes requests again within this many seconds: the web
# server's disable-time/retry (2 s), a pool's start, and the balancer
# picking it, on a loaded machine.
back_bound=15
# A row deleted on the primary is seen by every responder reading the
# standby within this many milliseconds (asynchronous replication on a
# healthy network; README.md, "Running on several hosts").
lag_bound_ms=1000

checks=0
failures=0

# check NAME COMMAND...: one check: "ok NAME" or "FAIL NAME".
check() {
	local name=$1
	shift
	checks=$((checks + 1))
	if "$@"; then
		say "ok: $name"
	else
		say "FAIL: $name"
		failures=$((failures + 1))
	fi
}

# The hosts (substitution, PostgreSQL, pools) and the faults (load, loss,
# lag) live in files of their own.
# shellcheck source-path=SCRIPTDIR source=lib/mh_hosts.sh
. "$here/lib/mh_hosts.sh"
# shellcheck source-path=SCRIPTDIR source=lib/mh_faults.sh
. "$here/lib/mh_faults.sh"

# ---------------------------------------------------------------------------
# the web servers

web_lighttpd() {
	local conf=$MG_WORK/lighttpd/mediagate.conf
	mkdir -p "$MG_WORK/lighttpd/log" "$MG_WORK/lighttpd/state"
	chown "$web_user:" "$MG_WORK/lighttpd/log" "$MG_WORK/lighttpd/state"
	# Inside the web host's namespace, 0.0.0.0 is its own addresses only.
	mg_substitute "$deploy/lighttpd/mediagate-multihost.conf" "$conf" \
		"s|^var.bind .*|var.bind         = \"0.0.0.0\"|" \
		"s|^var.log_dir .*|var.log_dir      = \"$MG_WORK/lighttpd/log\"|" \
		"s|^var.state_dir .*|var.state_dir    = \"$MG_WORK/lighttpd/state\"|"
	mg_netns_run web mg_lighttpd_run lighttpd "$conf" 80 443 || hard_error "lighttpd did not start"
}

web_apache() {
	local site=$MG_WORK/apache-multihost.site.conf
	mg_substitute "$deploy/apache/mediagate-multihost.conf" "$site" \
		"s|^Define MEDIAGATE_LOG_DIR .*|Define MEDIAGATE_LOG_DIR      $MG_WORK/apache-balancer/log|"
	# mg_apache_start listens on 127.0.0.1 only; the clients come from
	# their own host.
	printf 'Listen %s:80\nListen %s:443\n' "$(mg_netns_addr web)" "$(mg_netns_addr web)" >>"$site"
	mg_netns_run web mg_apache_start balancer "$site" 80 443 || hard_error "Apache did not start"
}

# smoke: one issue + download through the web host, every pool restricted.
smoke() {
	local server=$1 out
	load_start "$MG_WORK/smoke-$server"
	check "$server: every responder host issues tokens" wait_for 30 'by["r1"] && by["r2"] && by["r3"]'
	load_stop
	out=$(records | awk '$4 != 200 && $4 != 201' | wc -l)
	check "$server: no request failed without a fault ($out)" test "$out" -eq 0
}

run_server() {
	local server=$1 f out
	if [[ $server == lighttpd ]]; then
		sendfile=X-LIGHTTPD-send-file
	else
		sendfile=X-Sendfile
	fi
	pools_start "$sendfile"
	"web_$server"
	smoke "$server"
	if [[ $server == lighttpd ]]; then
		out=$(fcgi_probe client r1)
		check "FCGI_WEB_SERVER_ADDRS: a FastCGI request from the client host gets no answer" \
			test -z "$out"
		out=$(fcgi_probe web r1)
		check "FCGI_WEB_SERVER_ADDRS: the web host's request is answered" \
			grep -q 'Status: 404' <<<"$out"
	fi
	# The health endpoint (contract 7.1) of each host, asked by the web
	# host over FastCGI as a monitor behind it would.
	for f in "${responders[@]}"; do
		out=$(fcgi_probe web "$f" /healthz)
		check "$f: GET /healthz from the web host: 200" grep -q 'Status: 200' <<<"$out"
	done
	for f in $faults; do
		case $f in
		link)
			fault_responder "$server" link r1
			# r1: the host both balancers prefer when loads are equal,
			# so "back" measures the host, not the balancer's choice.
			fault_responder "$server" idle-link r1
			;;
		kill) fault_responder "$server" kill r2 ;;
		standby) [[ $server == lighttpd ]] && fault_db pg2 ;;
		primary) [[ $server == lighttpd ]] && fault_db pg1 ;;
		lag) [[ $server == lighttpd ]] && lag_test ;;
		esac
	done
	if [[ $server == lighttpd ]]; then
		mg_lighttpd_stop lighttpd
	else
		mg_apache_stop balancer
	fi
	pools_stop
}

show_logs() {
	tail_logs 20 "$MG_WORK"/*.log "$MG_WORK"/pg1/pg.log "$MG_WORK"/pg2/pg.log \
		"$MG_WORK"/lighttpd/log/error.log "$MG_WORK"/apache-balancer/error.log \
		"$MG_WORK"/apache-balancer/log/*error.log
}

# The EXIT trap: services, then the bed, then on_exit (logs, work dir).
mh_exit() {
	local rc=$1
	trap - EXIT
	[[ -n ${load_dir:-} ]] && touch "$load_dir/stop" 2>/dev/null
	mg_stop_all
	pg_ctl_in pg2 stop 2>/dev/null || true
	MG_WORK=$MG_WORK/pg1 mg_pg_stop 2>/dev/null || true
	mg_netns_bed_destroy
	on_exit "$rc"
}

main() {
	local builddir t0 now h server
	builddir=$(find_builddir)
	export MG_BIN=${MG_BIN:-$builddir/src/mediagate}
	[[ -x $MG_BIN ]] || hard_error "responder not found: $MG_BIN (run make)"
	[[ $(id -u) -eq 0 ]] || skip "needs root (network namespaces)"
	for h in ip spawn-fcgi multiwatch curl openssl lighttpd apache2 runuser ss; do
		command -v "$h" >/dev/null 2>&1 || skip "$h is not installed (tests/run installs it)"
	done
	pg_bindir=$(mg_pg_bindir) || skip "PostgreSQL is not installed"
	ip netns list >/dev/null 2>&1 || skip "no network namespaces here"
	faults=${MG_MULTIHOST_FAULTS:-link kill lag standby primary}

	t0=$(date +%s)
	mg_work_init || hard_error "cannot create a work directory"
	trap 'mh_exit $?' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	mg_netns_bed_create web=2 client=3 r1=11 r2=12 r3=13 pg1=21 pg2=22 ||
		hard_error "cannot make the network namespaces"
	say "bed $MG_NETNS_PREFIX: ${MG_NETNS_HOSTS[*]} on $MG_NETNS_NET.0/24; work directory $MG_WORK"

	storage=$MG_WORK/storage
	run=$MG_WORK/run
	etc=$MG_WORK/etc
	docroot=$MG_WORK/www-empty
	mkdir -p "$storage/acme" "$run" "$etc" "$docroot" "$MG_WORK/systemd"
	substitute_set
	chmod 0755 "$storage" "$storage/acme" "$docroot"
	head -c 20000 /dev/urandom >"$storage/acme/m-pdf.pdf"
	chmod 0644 "$storage/acme/m-pdf.pdf"
	mg_keys_make || hard_error "key generation failed"
	mg_tls_cert_make || hard_error "certificate generation failed"
	cp "$MG_KEYS/bearer-rs.pub.pem" "$etc/bearer.pub.pem"
	cp "$MG_KEYS/token.key" "$etc/token.key"
	# spawn-fcgi stands in for mediagate-tcp.socket.
	mg_substitute "$deploy/systemd/mediagate-tcp.service" "$MG_WORK/systemd/mediagate-tcp.service"

	pg_primary_start
	pg_standby_make
	pg_ctl_in pg2 start || hard_error "the standby did not start: $(tail -n 5 "$MG_WORK/pg2/pg.log")"
	wait_streaming 30 || hard_error "the standby does not stream"
	check "the standby streams from the primary" true

	now=$(date +%s)
	bearer=$(mg_mint_bearer "$MG_KEYS/bearer-rs.pem" RS256 \
		"{\"sub\":\"load\",\"tenant\":\"acme\",\"iss\":\"$issuer\",\"aud\":\"$audience\",\"permissions\":[\"media:read\"],\"iat\":$now,\"exp\":$((now + 1800))}") ||
		hard_error "cannot mint a bearer token"
	: >"$MG_WORK/figures"

	for server in ${MG_MULTIHOST:-lighttpd apache}; do
		say "---- $server"
		run_server "$server"
	done

	say "figures (fault | requests | failed | in flight at the loss | slowest ms | back after ms):"
	sed 's/^/    /' "$MG_WORK/figures"
	say "done in $(($(date +%s) - t0)) s"
	say "$((checks - failures)) passed, $failures failed"
	echo "$(((checks - failures) * 100 / (checks > 0 ? checks : 1)))%: Checks: $checks, Failures: $failures, Errors: 0"
	((failures == 0))
}

main "$@"
