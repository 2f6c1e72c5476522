#!/usr/bin/env bash
#
# tests/webservers.sh - the shipped deployments, tested for real, run by
# `make check`.
#
# For each web-server configuration of deploy/ - lighttpd
# (deploy/lighttpd/mediagate.conf), Apache with mod_fcgid
# (deploy/apache/mediagate-fcgid.conf) and the Apache balancer
# (deploy/apache/mediagate-balancer.conf) - this starts the web server from
# that very file with only ports, paths and names substituted (sed, into
# the work directory), on 127.0.0.1 with a fresh self-signed certificate,
# and runs tests/check_flow against it over HTTPS: issuing, downloads byte
# for byte, Range, HEAD, Content-Disposition, expired and forged tokens,
# the sendfile header kept from clients, the HTTP->HTTPS redirect.
# (The mod_fcgid recycling test's copy also lowers the request limit and
# names a wrapper that records each start: see test_fcgid_recycling.)
#
# The responder pools behind lighttpd and the balancer are run the way
# deploy/systemd/ runs them: the ExecStart= and Environment= of
# mediagate@.service (multiwatch supervising the responders) and the
# settings of mediagate.env, on a socket made by spawn-fcgi -n in place of
# mediagate@.socket, owned by www-data as the socket unit's group would
# allow.
#
# Load balancing, behind lighttpd and behind the balancer: four clients
# send about 2000 token requests (4 x MG_LOAD_REQUESTS, 500; more on a
# fast machine) over the pools (2 sockets x 4 responders), and one
# responder is killed with SIGKILL a quarter of the way into the run
# (the clients keep sending until after the kill, tests/lib/load.sh). The
# test shows that every responder served requests (its /proc/PID/io rchar
# grew: a responder waiting in accept(2) reads nothing), that every
# request but those in flight at the kill got 201, and that multiwatch
# started a new responder, which then serves requests too.
#
# The TCP variant (mediagate-tcp.service) runs on 127.0.0.1 and gets a raw
# FastCGI request: with FCGI_WEB_SERVER_ADDRS as shipped libfcgi hangs up,
# with 127.0.0.1 the responder answers. The systemd units are checked with
# systemd-analyze verify when it is available.
#
# Apache starts as root and serves as www-data (it refuses to serve as
# root), so the storage root, sockets and key files are made reachable
# for www-data; mod_fcgid runs the responders as www-data too.
#
# Knobs: MG_BUILDDIR, MG_BIN (see tests/integration.sh), MG_CHECK_FLOW,
# MG_TEST_TIMEOUT (seconds per check_flow run, default 300),
# MG_KEEP_WORK=1 (keep the work directory after success too),
# MG_WEBSERVERS="lighttpd fcgid recycle balancer tcp" (the parts to run;
# recycle is mod_fcgid's recycling under load, test_fcgid_recycling).
#
# Exit status: 0 when everything passed; 1 when a test failed; 77 (skip)
# when a web server or Apache module package is not installed; 99 when the
# environment cannot be set up.

# mg_* functions take optional arguments that callers may leave out.
# shellcheck disable=SC2119

set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top_srcdir=$(cd "$here/.." && pwd)
deploy=$top_srcdir/deploy
test_name=webservers
# shellcheck source-path=SCRIPTDIR source=lib/services.sh
. "$here/lib/services.sh"
# shellcheck source-path=SCRIPTDIR source=lib/load.sh
. "$here/lib/load.sh"
# shellcheck source-path=SCRIPTDIR source=lib/testenv.sh
. "$here/lib/testenv.sh"

# What the deployments in deploy/ name and the tests rely on.
issuer=https://issuer.example.com
audience=mediagate
pools=(a b)
web_user=www-data

failures=0

# fail MESSAGE: record a failed check and carry on with the next one.
fail() {
	printf 'webservers: FAIL: %s\n' "$*" >&2
	failures=$((failures + 1))
}

wanted() {
	[[ " ${MG_WEBSERVERS:-lighttpd fcgid recycle balancer tcp} " == *" $1 "* ]]
}

# ---------------------------------------------------------------------------
# substituting deploy/ files (mg_substitute, tests/lib/testenv.sh)

# Besides the paths, every file here gets the web server's address for
# the public host name, and deploy/'s database socket directory left in
# one counts as an example value (the callers name the test's database).
# deploy/'s 10.0.0.x addresses stay as shipped: test_tcp relies on
# FCGI_WEB_SERVER_ADDRS refusing 127.0.0.1.
substitute_exprs=("s|media\\.example\\.com|127.0.0.1|g")
substitute_left='/run/postgresql'

# unit_values UNIT KEY: the values of KEY= lines of a (substituted) unit.
unit_values() {
	sed -n "s/^$2=//p" "$1"
}

# pool_settings HTTPS_PORT: fill pool_env and pool_cmd from
# deploy/systemd/mediagate.env and mediagate@.service, substituted for the
# web server listening on HTTPS_PORT ("%d", the credentials directory,
# becomes $etc, where the key files are).
pool_settings() {
	local https=$1 sendfile=$2 unit=$MG_WORK/systemd/mediagate@.service kv cred
	mg_substitute "$deploy/systemd/mediagate.env" "$etc/mediagate.env" \
		"s|^MEDIAGATE_DB=.*|MEDIAGATE_DB=$MG_DB_APP|" \
		"s|^MEDIAGATE_PUBLIC_URL=.*|MEDIAGATE_PUBLIC_URL=https://127.0.0.1:$https|" \
		"s|^MEDIAGATE_SENDFILE_HEADER=.*|MEDIAGATE_SENDFILE_HEADER=$sendfile|"
	pool_env=()
	while IFS= read -r kv; do
		pool_env+=("$kv")
	done < <(grep -E '^[A-Z_][A-Z0-9_]*=' "$etc/mediagate.env")
	while IFS= read -r kv; do
		pool_env+=("${kv//%d/$etc}")
	done < <(unit_values "$unit" Environment)
	# The credentials the unit loads are the files "%d" names.
	while IFS= read -r cred; do
		[[ -r $etc/${cred%%:*} ]] || hard_error "credential ${cred%%:*} is not in $etc"
	done < <(unit_values "$unit" LoadCredential)
	read -r -a pool_cmd <<<"$(unit_values "$unit" ExecStart)"
	((${#pool_cmd[@]} > 0)) || hard_error "no ExecStart= in $unit"
}

# start_pools HTTPS_PORT SENDFILE_HEADER: the pools a and b, as systemd
# would run them.
start_pools() {
	local p
	pool_settings "$1" "$2"
	for p in "${pools[@]}"; do
		MG_SOCKET_USER=$web_user mg_supervised_start "$p" "$run/$p.sock" \
			"${pool_env[@]}" -- "${pool_cmd[@]}" ||
			hard_error "pool $p did not start"
	done
}

stop_pools() {
	local p
	for p in "${pools[@]}"; do
		mg_supervised_stop "$p" || true
	done
}

# ---------------------------------------------------------------------------
# the flow

# run_flow NAME HTTPS_PORT HTTP_PORT: tests/check_flow against the
# deployment.
run_flow() {
	local rc=0
	say "$1: check_flow on https://127.0.0.1:$2 (http: $3)"
	MG_FLOW_NAME=$1 MG_FLOW_URL=https://127.0.0.1:$2 \
		MG_FLOW_HTTP_URL=http://127.0.0.1:$3 MG_FLOW_CA=$MG_TLS_CERT \
		MG_FLOW_DB=$MG_DB_ADMIN MG_FLOW_KEYS=$MG_KEYS \
		MG_FLOW_STORAGE=$storage MG_FLOW_ISSUER=$issuer \
		MG_FLOW_AUDIENCE=$audience \
		timeout --kill-after=10 "${MG_TEST_TIMEOUT:-300}" "$check" </dev/null || rc=$?
	if ((rc != 0)); then
		fail "$1: check_flow failed (status $rc)"
	fi
	check_ops_routes "$1" "$2"
}

# check_ops_routes NAME HTTPS_PORT: the deployment routes /healthz and
# /metrics to the responders (contract §7.1, §7.2; a local client may
# read /metrics), and the responders wrote audit lines during the flow.
check_ops_routes() {
	local base=https://127.0.0.1:$2 body
	body=$(curl -sS --cacert "$MG_TLS_CERT" -w ' %{http_code}' "$base/healthz") || body="curl failed"
	[[ $body == '{"status":"ok"} 200' ]] || fail "$1: /healthz answered: $body"
	body=$(curl -sS --cacert "$MG_TLS_CERT" -w '%{http_code}' "$base/metrics") || body="curl failed"
	[[ $body == *'mediagate_build_info{version='*'200' ]] ||
		fail "$1: /metrics answered: ${body: -200}"
	[[ -s $MG_WORK/log/audit.log ]] || fail "$1: no audit line in $MG_WORK/log/audit.log"
	say "$1: /healthz and /metrics reach the responders; audit log has $(wc -l <"$MG_WORK/log/audit.log") lines"
}

# ---------------------------------------------------------------------------
# the three deployments

test_lighttpd() {
	local http https conf=$MG_WORK/lighttpd/mediagate.conf
	http=$(mg_free_port) || hard_error "no free port"
	https=$(mg_free_port) || hard_error "no free port"
	mkdir -p "$MG_WORK/lighttpd/log" "$MG_WORK/lighttpd/state"
	# lighttpd opens its logs after dropping privileges.
	chown "$web_user:" "$MG_WORK/lighttpd/log" "$MG_WORK/lighttpd/state"
	mg_substitute "$deploy/lighttpd/mediagate.conf" "$conf" \
		"s|^var.http_port .*|var.http_port    = $http|" \
		"s|^var.https_port .*|var.https_port   = $https|" \
		"s|^var.bind .*|var.bind         = \"127.0.0.1\"|" \
		"s|^var.log_dir .*|var.log_dir      = \"$MG_WORK/lighttpd/log\"|" \
		"s|^var.state_dir .*|var.state_dir    = \"$MG_WORK/lighttpd/state\"|" \
		"s|https://%1|https://%1:$https|"
	start_pools "$https" X-LIGHTTPD-send-file
	mg_lighttpd_run lighttpd "$conf" "$http" "$https" || hard_error "lighttpd did not start"
	run_flow lighttpd "$https" "$http"
	access_log_clean lighttpd "$MG_WORK/lighttpd/log/access.log"
	load_test lighttpd "$https"
	mg_lighttpd_stop lighttpd
	stop_pools
}

test_fcgid() {
	local http https site=$MG_WORK/apache-fcgid.site.conf pid left spawned p
	http=$(mg_free_port) || hard_error "no free port"
	https=$(mg_free_port) || hard_error "no free port"
	mg_substitute "$deploy/apache/mediagate-fcgid.conf" "$site" \
		"s|^Define MEDIAGATE_PUBLIC_URL .*|Define MEDIAGATE_PUBLIC_URL   https://127.0.0.1:$https|" \
		"s|^Define MEDIAGATE_HTTP_PORT .*|Define MEDIAGATE_HTTP_PORT    $http|" \
		"s|^Define MEDIAGATE_HTTPS_PORT .*|Define MEDIAGATE_HTTPS_PORT   $https|" \
		"s|^Define MEDIAGATE_DB .*|Define MEDIAGATE_DB           \"$MG_DB_APP\"|" \
		"s|^Define MEDIAGATE_LOG_DIR .*|Define MEDIAGATE_LOG_DIR      $MG_WORK/apache-fcgid/log|"
	mg_apache_start fcgid "$site" "$http" "$https" || hard_error "Apache (mod_fcgid) did not start"
	run_flow apache-fcgid "$https" "$http"
	access_log_clean apache-fcgid "$MG_WORK/apache-fcgid/log/mediagate-access.log"
	# The responders mod_fcgid started: mediagate processes below this
	# Apache's parent process.
	pid=$(<"$MG_WORK/apache-fcgid.pid")
	spawned=
	for p in $(descendants "$pid"); do
		if [[ $(readlink "/proc/$p/exe" 2>/dev/null) == "$(readlink -f "$MG_BIN")" ]]; then
			spawned+="$p "
		fi
	done
	say "apache-fcgid: responders started by mod_fcgid: ${spawned:-none}"
	[[ -n $spawned ]] || fail "apache-fcgid: mod_fcgid started no responder"
	mg_apache_stop fcgid
	# They end with Apache.
	left=
	for p in $spawned; do
		_mg_alive "$p" && left+=" $p"
	done
	[[ -z $left ]] || fail "apache-fcgid: responders left after Apache stopped:$left"
}

# access_log_clean NAME FILE: the deployment's access log holds download
# requests (the flow made some) but never a download token: no path with
# /download/ followed by a JWS (base64url of '{"' is "eyJ").
access_log_clean() {
	if [[ ! -s $2 ]]; then
		fail "$1: no access log at $2"
	elif grep -q '/download/eyJ' "$2"; then
		fail "$1: a download token is in the access log $2: $(grep -m1 '/download/eyJ' "$2" | cut -c1-160)"
	elif ! grep -q '/media/-/download/-' "$2"; then
		fail "$1: no download request in the access log $2"
	else
		say "$1: access log without tokens ($(grep -c '/media/-/download/-' "$2") download lines)"
	fi
}

# descendants PID: all processes below PID.
descendants() {
	local c
	for c in $(pgrep -P "$1"); do
		echo "$c"
		descendants "$c"
	done
}

# test_fcgid_recycling: mod_fcgid retires a responder after
# FcgidMaxRequestsPerProcess requests (here 50, in a copy of the deployed
# site) and starts another; under four clients sending back to back, not
# one request may fail while that happens.
#
# Every start is recorded as it happens, not sampled: besides the ports,
# paths and the request limit, the copy's MEDIAGATE_BIN names a wrapper in
# the work directory that appends its pid to a file and then execs the
# responder (MG_BIN, behind MG_WRAP if set: mod_fcgid passes only its
# FcgidInitialEnv, so both are written into the wrapper), keeping the pid.
# Each process serves at most 50 requests, so 400 requests need at least
# eight starts; and a responder that was started must end while Apache
# still runs (retired: FcgidIdleTimeout and FcgidProcessLifeTime are far
# longer than the test), or nothing was recycled.
test_fcgid_recycling() {
	local http https site=$MG_WORK/apache-recycle.site.conf pid p n ok
	local out=$MG_WORK/recycle starts=$MG_WORK/recycle-starts
	local wrapper=$MG_WORK/bin/recycle-wrapper w try limit=300 gone
	local -a wrap=()
	[[ -n ${MG_WRAP:-} ]] && limit=3000
	http=$(mg_free_port) || hard_error "no free port"
	https=$(mg_free_port) || hard_error "no free port"
	mkdir -p "$MG_WORK/bin"
	install -o "$web_user" -m 0644 /dev/null "$starts"
	read -r -a wrap <<<"${MG_WRAP:-}"
	{
		echo '#!/bin/sh'
		echo "# test_fcgid_recycling (tests/webservers.sh): record each start."
		printf 'echo "$$" >>%q\n' "$starts"
		printf 'exec'
		for w in "${wrap[@]}" "$MG_BIN"; do
			printf ' %q' "$w"
		done
		printf ' "$@"\n'
	} >"$wrapper"
	chmod 0755 "$MG_WORK/bin" "$wrapper"
	mg_substitute "$deploy/apache/mediagate-fcgid.conf" "$site" \
		"s|^Define MEDIAGATE_PUBLIC_URL .*|Define MEDIAGATE_PUBLIC_URL   https://127.0.0.1:$https|" \
		"s|^Define MEDIAGATE_HTTP_PORT .*|Define MEDIAGATE_HTTP_PORT    $http|" \
		"s|^Define MEDIAGATE_HTTPS_PORT .*|Define MEDIAGATE_HTTPS_PORT   $https|" \
		"s|^Define MEDIAGATE_DB .*|Define MEDIAGATE_DB           \"$MG_DB_APP\"|" \
		"s|^Define MEDIAGATE_LOG_DIR .*|Define MEDIAGATE_LOG_DIR      $MG_WORK/apache-recycle/log|" \
		"s|^Define MEDIAGATE_BIN .*|Define MEDIAGATE_BIN          $wrapper|" \
		"s|^FcgidMaxRequestsPerProcess .*|FcgidMaxRequestsPerProcess 50|"
	grep -q "^FcgidMaxRequestsPerProcess 50$" "$site" ||
		hard_error "no FcgidMaxRequestsPerProcess in the fcgid site"
	grep -q "^Define MEDIAGATE_BIN  *$wrapper$" "$site" ||
		hard_error "no MEDIAGATE_BIN in the fcgid site"
	mg_apache_start recycle "$site" "$http" "$https" || hard_error "Apache (recycling) did not start"
	pid=$(<"$MG_WORK/apache-recycle.pid")
	clients "https://127.0.0.1:$https/media/m-pdf/download-token" 100 "$out"
	wait "${client_pids[@]}" || true
	n=$(cat "$out"/codes.* | wc -l)
	ok=$(cat "$out"/codes.* | grep -c '^201$' || true)
	p=$(sort -u "$starts" | wc -l)
	say "apache-fcgid recycling: $ok of $n requests got 201; mod_fcgid started $p responder processes ($(wc -l <"$starts") starts recorded)"
	((n == 400 && ok == 400)) ||
		fail "apache-fcgid recycling: $((n - ok)) of $n requests failed while mod_fcgid recycled responders"
	((p >= 8)) ||
		fail "apache-fcgid recycling: $p responder processes started, but 400 requests at 50 a process need at least 8"
	# A retired responder is stopped by mod_fcgid's next scan
	# (FcgidErrorScanInterval, 3 s): wait for one to be gone, 30 s at
	# most (x10 under MG_WRAP).
	gone=
	for ((try = 0; try < limit; try++)); do
		mg_apache_alive recycle || break
		while IFS= read -r w; do
			_mg_alive "$w" || { gone=$w; break; }
		done <"$starts"
		[[ -z $gone ]] || break
		sleep 0.1
	done
	if [[ -n $gone ]] && mg_apache_alive recycle; then
		say "apache-fcgid recycling: responder $gone was retired while Apache ran"
	else
		fail "apache-fcgid recycling: no responder was recycled (none of the $p started ended while Apache ran)"
	fi
	mg_apache_stop recycle
}

test_balancer() {
	local http https site=$MG_WORK/apache-balancer.site.conf
	http=$(mg_free_port) || hard_error "no free port"
	https=$(mg_free_port) || hard_error "no free port"
	mg_substitute "$deploy/apache/mediagate-balancer.conf" "$site" \
		"s|^Define MEDIAGATE_PUBLIC_URL .*|Define MEDIAGATE_PUBLIC_URL   https://127.0.0.1:$https|" \
		"s|^Define MEDIAGATE_HTTP_PORT .*|Define MEDIAGATE_HTTP_PORT    $http|" \
		"s|^Define MEDIAGATE_HTTPS_PORT .*|Define MEDIAGATE_HTTPS_PORT   $https|" \
		"s|^Define MEDIAGATE_LOG_DIR .*|Define MEDIAGATE_LOG_DIR      $MG_WORK/apache-balancer/log|"
	start_pools "$https" X-Sendfile
	mg_apache_start balancer "$site" "$http" "$https" || hard_error "Apache (balancer) did not start"
	run_flow apache-balancer "$https" "$http"
	access_log_clean apache-balancer "$MG_WORK/apache-balancer/log/mediagate-access.log"
	load_test apache-balancer "$https"
	mg_apache_stop balancer
	stop_pools
}

# fcgi_probe PORT: send one FastCGI request (GET /media/x/unknown) to
# 127.0.0.1:PORT and print what came back, if anything, with the record
# framing bytes made printable.
fcgi_probe() {
	local kv k v params='' hex
	# Name-value pairs with one-byte lengths (FastCGI 1.0, section 3.4).
	for kv in REQUEST_METHOD=GET REQUEST_URI=/media/x/unknown \
		SERVER_NAME=127.0.0.1 SERVER_PORT=443 HTTPS=on; do
		k=${kv%%=*}
		v=${kv#*=}
		params+=$(printf '%02x%02x' "${#k}" "${#v}")$(printf '%s' "$k$v" | _mg_hex)
	done
	# BEGIN_REQUEST (role responder), PARAMS, empty PARAMS, empty STDIN;
	# request id 1, no padding.
	hex=01010001000800000001000000000000
	hex+=$(printf '01040001%04x0000' $((${#params} / 2)))$params
	hex+=01040001000000000105000100000000
	# shellcheck disable=SC2016 # $1 belongs to the inner bash
	timeout 5 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" && cat >&3 && cat <&3' \
		probe "$1" < <(_mg_unhex "$hex") 2>/dev/null | tr -c '[:print:]\n' '.' || true
}

test_tcp() {
	local port unit=$MG_WORK/systemd/mediagate-tcp.service addrs kv out
	local -a env=() cmd=()
	pool_settings "$(mg_free_port)" X-Sendfile
	read -r -a cmd <<<"$(unit_values "$unit" ExecStart)"
	while IFS= read -r kv; do
		env+=("${kv//%d/$etc}")
	done < <(unit_values "$unit" Environment)
	addrs=$(printf '%s\n' "${env[@]}" | sed -n 's/^FCGI_WEB_SERVER_ADDRS=//p')
	[[ -n $addrs ]] || hard_error "mediagate-tcp.service sets no FCGI_WEB_SERVER_ADDRS"

	# As shipped: 127.0.0.1 is not a web server; libfcgi hangs up.
	port=$(mg_free_port) || hard_error "no free port"
	mg_supervised_start tcp "127.0.0.1:$port" "${pool_env[@]}" "${env[@]}" -- "${cmd[@]}" ||
		hard_error "the TCP pool did not start"
	out=$(fcgi_probe "$port")
	if [[ $out == *Status:* ]]; then
		fail "tcp: FCGI_WEB_SERVER_ADDRS=$addrs, yet a request from 127.0.0.1 was answered"
	else
		say "tcp: FCGI_WEB_SERVER_ADDRS=$addrs: a request from 127.0.0.1 gets no answer"
	fi
	mg_supervised_stop tcp

	# With the web server's address substituted it answers.
	port=$(mg_free_port) || hard_error "no free port"
	mg_supervised_start tcp "127.0.0.1:$port" "${pool_env[@]}" \
		"${env[@]/#FCGI_WEB_SERVER_ADDRS=*/FCGI_WEB_SERVER_ADDRS=127.0.0.1}" -- "${cmd[@]}" ||
		hard_error "the TCP pool did not start"
	out=$(fcgi_probe "$port")
	if [[ $out == *"Status: 404"* ]]; then
		say "tcp: FCGI_WEB_SERVER_ADDRS=127.0.0.1: answered ($(grep -o 'Status: [0-9]*' <<<"$out"))"
	else
		fail "tcp: FCGI_WEB_SERVER_ADDRS=127.0.0.1: no FastCGI answer: $out"
	fi
	mg_supervised_stop tcp
}

# The units, substituted, must satisfy systemd-analyze verify without a
# word of complaint.
verify_units() {
	local out
	if ! command -v systemd-analyze >/dev/null 2>&1; then
		say "systemd-analyze not available: units not verified"
		return 0
	fi
	out=$(cd "$MG_WORK/systemd" && systemd-analyze verify --man=no \
		./mediagate@a.socket ./mediagate@a.service \
		./mediagate-tcp.socket ./mediagate-tcp.service 2>&1) || true
	if [[ -n $out ]]; then
		fail "systemd-analyze verify: $out"
	else
		say "systemd units: systemd-analyze verify is silent"
	fi
}

# ---------------------------------------------------------------------------

# show_logs: what on_exit shows after a failure.
show_logs() {
	tail_logs 30 "$MG_WORK"/*.log "$MG_WORK"/lighttpd/log/*.log \
		"$MG_WORK"/apache-*/error.log "$MG_WORK"/apache-*/log/*error.log
}

main() {
	local builddir tool mod f t0 now
	builddir=$(find_builddir)
	check=${MG_CHECK_FLOW:-$builddir/tests/check_flow}
	export MG_BIN=${MG_BIN:-$builddir/src/mediagate}
	need_programs "$check"

	# A missing web server is a reason to skip; anything else is not.
	for tool in lighttpd apache2; do
		command -v "$tool" >/dev/null 2>&1 || skip "$tool is not installed (tests/run installs it)"
	done
	for mod in fcgid xsendfile ssl proxy_fcgi proxy_balancer lbmethod_bybusyness; do
		[[ -f /usr/lib/apache2/modules/mod_$mod.so ]] ||
			skip "Apache module mod_$mod is not installed (tests/run installs it)"
	done
	# lighttpd's TLS module is a package of its own on Debian 12: without
	# it deploy/lighttpd/mediagate.conf does not load.
	[[ -f /usr/lib/lighttpd/mod_openssl.so ]] ||
		hard_error "lighttpd's mod_openssl is not installed: apt-get install lighttpd-mod-openssl (tests/run installs it)"
	need_tools spawn-fcgi multiwatch curl openssl pgrep
	_mg_is_root || hard_error "must run as root (Apache and lighttpd switch to $web_user)"
	id -u "$web_user" >/dev/null 2>&1 || hard_error "no user $web_user"

	t0=$(date +%s)
	work_start

	# mod_fcgid runs the binary as $web_user, who may not reach a build
	# tree in a private directory: then it runs a copy.
	if ! runuser -u "$web_user" -- test -x "$MG_BIN"; then
		install -D -m 0755 "$MG_BIN" "$MG_WORK/bin/mediagate"
		say "$web_user cannot run $MG_BIN; using a copy, $MG_WORK/bin/mediagate"
		MG_BIN=$MG_WORK/bin/mediagate
	fi

	storage=$MG_WORK/storage
	run=$MG_WORK/run
	etc=$MG_WORK/etc
	docroot=$MG_WORK/www-empty
	mkdir -p "$storage" "$run" "$etc" "$docroot" "$MG_WORK/systemd"
	# The counter file's and the audit log's directories (deploy/ puts
	# them in /run/mediagate-metrics and /var/log/mediagate), writable by
	# the responders that mod_fcgid runs as the web server's user.
	mkdir -p "$MG_WORK/metrics" "$MG_WORK/log"
	chown "$web_user:" "$MG_WORK/metrics" "$MG_WORK/log"
	chmod 0750 "$MG_WORK/metrics" "$MG_WORK/log"
	# Made here, owned by that user: the pools run as root write them too.
	install -o "$web_user" -m 0600 /dev/null "$MG_WORK/metrics/counters"
	install -o "$web_user" -m 0600 /dev/null "$MG_WORK/log/audit.log"
	chmod 0755 "$storage" "$run" "$docroot"
	mg_keys_make || hard_error "key generation failed"
	mg_tls_cert_make || hard_error "certificate generation failed"
	mg_pg_start "$top_srcdir/tests/fixtures.sql" || hard_error "PostgreSQL setup failed"
	# The secrets as deploy/ lays them out: the bearer issuer's public key
	# and the token secret; readable by the web server's group, because
	# mod_fcgid runs the responders as the Apache user.
	cp "$MG_KEYS/bearer-rs.pub.pem" "$etc/bearer.pub.pem"
	cp "$MG_KEYS/token.key" "$etc/token.key"
	chown "root:$web_user" "$etc" "$etc/token.key" "$etc/bearer.pub.pem"
	chmod 0750 "$etc"
	chmod 0640 "$etc/token.key"
	chmod 0644 "$etc/bearer.pub.pem"
	for f in mediagate@.socket mediagate@.service mediagate-tcp.socket mediagate-tcp.service; do
		mg_substitute "$deploy/systemd/$f" "$MG_WORK/systemd/$f"
	done
	# The deployments must agree with what the bearer tokens carry.
	if ! grep -q "^MEDIAGATE_JWT_ISSUER=$issuer\$" "$deploy/systemd/mediagate.env" ||
		! grep -q "^MEDIAGATE_JWT_AUDIENCE=$audience\$" "$deploy/systemd/mediagate.env" ||
		! grep -q "MEDIAGATE_JWT_ISSUER *$issuer\$" "$deploy/apache/mediagate-fcgid.conf" ||
		! grep -q "MEDIAGATE_JWT_AUDIENCE *$audience\$" "$deploy/apache/mediagate-fcgid.conf"; then
		hard_error "deploy/ names another bearer issuer or audience than $issuer, $audience"
	fi
	now=$(date +%s)
	load_bearer=$(mg_mint_bearer "$MG_KEYS/bearer-rs.pem" RS256 \
		"{\"sub\":\"load\",\"tenant\":\"acme\",\"iss\":\"$issuer\",\"aud\":\"$audience\",\"permissions\":[\"media:read\"],\"iat\":$now,\"exp\":$((now + 900))}") ||
		hard_error "cannot mint a bearer token"

	say "work directory $MG_WORK"
	wanted lighttpd && test_lighttpd
	wanted fcgid && test_fcgid
	wanted recycle && test_fcgid_recycling
	wanted balancer && test_balancer
	wanted tcp && test_tcp
	verify_units
	say "done in $(($(date +%s) - t0)) s, $failures failure(s)"
	((failures == 0))
}

main "$@"
