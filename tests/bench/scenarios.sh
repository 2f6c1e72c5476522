# shellcheck shell=bash
#
# tests/bench/scenarios.sh - the scenarios: which ones run, the tools and
# pools they need, their URLs and bearer tokens, and the preflight that
# checks each answers as it should.
# Sourced by tests/bench/bench.sh after common.sh; uses its settings and
# tables (scenarios, threads, connections, url_of …).

# The settings and tables are bench.sh's.
# shellcheck disable=SC2154

# select_scenarios: the scenarios to run, in table order, references of
# the selected ones included.
select_scenarios() {
	local s want ok
	local -A wanted=()
	if ((rounds == 0)); then
		scenarios=(issue-hs256)
		return
	fi
	if [[ -z $only ]]; then
		scenarios=("${all_scenarios[@]}")
		return
	fi
	IFS=, read -r -a want <<<"$only"
	for s in "${want[@]}"; do
		ok=0
		[[ -v "pool_of[$s]" ]] && ok=1
		((ok)) || die "unknown scenario '$s' (known: ${all_scenarios[*]})"
		wanted[$s]=1
		if [[ -n ${ref_of[$s]} ]]; then
			wanted[${ref_of[$s]}]=1
		fi
	done
	scenarios=()
	for s in "${all_scenarios[@]}"; do
		if [[ -v "wanted[$s]" ]]; then
			scenarios+=("$s")
		fi
	done
}

check_tools() {
	bench_packages wrk lighttpd spawn-fcgi postgresql curl openssl pkg-config \
		libfcgi-dev libpq-dev gcc libc6-dev nghttp2-client golang-go \
		golang-github-golang-jwt-jwt-dev golang-github-jackc-pgx-v4-dev
	bench_need wrk lighttpd spawn-fcgi curl openssl pkg-config sha256sum h2load go "${CC:-cc}"
	pkg-config --exists fcgi || die "libfcgi-dev is not installed (no fcgi.pc)"
	pkg-config --exists libpq || die "libpq-dev is not installed (no libpq.pc)"
	mg_pg_bindir >/dev/null || die "PostgreSQL server binaries not found"
}

build_ceiling() {
	local -a flags
	read -r -a flags <<<"$(pkg-config --cflags --libs fcgi)"
	"${CC:-cc}" -O2 -Wall -Wextra -o "$MG_WORK/ceiling" "$here/ceiling.c" "${flags[@]}" ||
		die "building tests/bench/ceiling.c failed"
	read -r -a flags <<<"$(pkg-config --cflags --libs fcgi libpq)"
	"${CC:-cc}" -O2 -Wall -Wextra -o "$MG_WORK/ceiling_select" "$here/ceiling_select.c" \
		"${flags[@]}" || die "building tests/bench/ceiling_select.c failed"
}

# make_bearers: $MG_WORK/bearers-ALG.txt, bearer_count distinct bearers of
# each algorithm, and $MG_WORK/issue-paths.txt.
make_bearers() {
	local alg
	for alg in HS256 RS256 ES256; do
		bench_bearers "$MG_WORK/peer" "$alg" "$bearer_count" "$MG_WORK/bearers-$alg.txt" ||
			die "minting $alg bearers failed"
	done
	bench_issue_paths "$MG_WORK/issue-paths.txt"
}

# peer_start: the Go peer on a free port of 127.0.0.1, with as many
# database connections as a pool has responders (GOMAXPROCS is left to Go:
# the number of CPUs). Sets peer_port.
peer_start() {
	peer_port=$(mg_free_port) || die "no free port for the Go peer"
	("$MG_WORK/peer" serve -listen "127.0.0.1:$peer_port" -db "$MG_DB_APP" \
		-bearer-key "$MG_KEYS/bearer-hs.key" -token-key "$MG_KEYS/token.key" \
		-conns "$responders" >"$MG_WORK/peer.log" 2>&1 </dev/null &
	echo $! >"$MG_WORK/peer.pid")
	mg_wait_port "$peer_port" 10 "$(<"$MG_WORK/peer.pid")" ||
		die "the Go peer did not come up: $(tail -n 5 "$MG_WORK/peer.log")"
}

# peer_stop: stop the Go peer, if it runs.
peer_stop() {
	local pid
	[[ -n ${MG_WORK:-} && -f $MG_WORK/peer.pid ]] || return 0
	pid=$(<"$MG_WORK/peer.pid")
	kill "$pid" 2>/dev/null || true
	rm -f "$MG_WORK/peer.pid"
}

# resp_pids SCENARIO: the responder processes of the scenario, one a line.
resp_pids() {
	case ${pool_of[$1]} in
	'') ;;
	go) [[ -f $MG_WORK/peer.pid ]] && cat "$MG_WORK/peer.pid" ;;
	*) mg_responders_pids "${pool_of[$1]}" ;;
	esac
	return 0
}

# proxy_lighttpd NAME BACKEND_PORT: lighttpd instance NAME on a free port,
# every request passed to 127.0.0.1:BACKEND_PORT by mod_proxy (as a Go
# service is deployed behind a web server); print its base URL.
proxy_lighttpd() {
	local port conf=$MG_WORK/lighttpd-$1.conf
	port=$(mg_free_port) || return 1
	cat >"$conf" <<EOF || return 1
server.modules = ( "mod_proxy" )
server.bind = "127.0.0.1"
server.port = $port
server.document-root = "$MG_WORK/www"
server.errorlog = "$MG_WORK/lighttpd-$1-error.log"
server.max-request-field-size = 32768
proxy.server = ( "" => (( "host" => "127.0.0.1", "port" => $2 )) )
EOF
	mg_lighttpd_run "$1" "$conf" "$port" >&2 || return 1
	echo "http://127.0.0.1:$port"
}

# needs_pool POOL: true when a selected scenario (or the soak) uses POOL.
needs_pool() {
	local s
	[[ $1 == hs ]] && ((soak > 0)) && return 0
	for s in "${scenarios[@]}"; do
		[[ ${pool_of[$s]} == "$1" ]] && return 0
		[[ $1 == dl && $s == static-1mib ]] && return 0
		[[ $1 == go && $s == go-* ]] && return 0
	done
	return 1
}

# start_pool NAME ALG BIN: a pool of the benchmark configuration for ALG.
start_pool() {
	local -a env
	mapfile -t env < <(bench_pool_env "$2")
	MG_BIN=$3 mg_responders_start "$1" "$responders" "${env[@]}" ||
		die "pool $1 did not start"
}

start_pools() {
	local bin=$1
	if needs_pool ceiling; then
		MG_BIN=$MG_WORK/ceiling mg_responders_start ceiling "$responders" ||
			die "ceiling pool did not start"
	fi
	if needs_pool ceilingdl; then
		MG_BIN=$MG_WORK/ceiling mg_responders_start ceilingdl "$responders" \
			CEILING_SENDFILE="$MG_WORK/storage/$bench_media_file" ||
			die "ceilingdl pool did not start"
	fi
	if needs_pool select; then
		MG_BIN=$MG_WORK/ceiling_select mg_responders_start select "$responders" \
			CEILING_DB="$MG_DB_APP" || die "select pool did not start"
	fi
	if needs_pool selectdl; then
		MG_BIN=$MG_WORK/ceiling_select mg_responders_start selectdl "$responders" \
			CEILING_DB="$MG_DB_APP" CEILING_SENDFILE_ROOT="$MG_WORK/storage" ||
			die "selectdl pool did not start"
	fi
	if needs_pool go; then peer_start; fi
	if needs_pool hs; then start_pool hs HS256 "$bin"; fi
	if needs_pool rs; then start_pool rs RS256 "$bin"; fi
	if needs_pool es; then start_pool es ES256 "$bin"; fi
	if needs_pool dl; then start_pool dl HS256 "$bin"; fi
}

# setup_scenarios: lighttpd instances, bearers, URLs, wrk scripts. Every
# scenario but static-1mib and sendfile-ceiling names random media
# (paths_of) and every issuing one random bearers (bearers_of).
setup_scenarios() {
	local s base
	for s in "${scenarios[@]}"; do
		case $s in
		static-1mib)
			# A FastCGI prefix nothing uses: every other path is a
			# static file of the document root.
			base=$(bench_lighttpd static "$MG_WORK/dl.sock" /fastcgi-unused/) ||
				die "lighttpd static did not start"
			url_of[$s]=$base/$bench_media_id.bin
			script_of[$s]=$here/get.lua
			;;
		sendfile-ceiling)
			base=$(bench_lighttpd ceilingdl "$MG_WORK/ceilingdl.sock") ||
				die "lighttpd ceilingdl did not start"
			url_of[$s]=$base/media/$bench_media_id/download/any
			script_of[$s]=$here/get.lua
			;;
		select-sendfile)
			base=$(bench_lighttpd selectdl "$MG_WORK/selectdl.sock") ||
				die "lighttpd selectdl did not start"
			url_of[$s]=$base/
			script_of[$s]=$here/get.lua
			sed 's|^/media/\([^/]*\)/download-token$|/media/\1/download/any|' \
				"$MG_WORK/issue-paths.txt" >"$MG_WORK/paths-$s.txt"
			paths_of[$s]=$MG_WORK/paths-$s.txt
			;;
		download-1mib)
			base=$(bench_lighttpd dl "$MG_WORK/dl.sock") || die "lighttpd dl did not start"
			bench_download_paths "$base" "$download_count" "$MG_WORK/paths-$s.txt" ||
				die "no download tokens"
			url_of[$s]=$base/
			paths_of[$s]=$MG_WORK/paths-$s.txt
			script_of[$s]=$here/get.lua
			;;
		go-direct | go-lighttpd)
			if [[ $s == go-direct ]]; then
				base=http://127.0.0.1:$peer_port
			else
				base=$(proxy_lighttpd goproxy "$peer_port") ||
					die "lighttpd goproxy did not start"
			fi
			url_of[$s]=$base/
			script_of[$s]=$here/post.lua
			bearers_of[$s]=$MG_WORK/bearers-HS256.txt
			paths_of[$s]=$MG_WORK/issue-paths.txt
			;;
		*)
			base=$(bench_lighttpd "${lighttpd_of[$s]}" "$MG_WORK/${pool_of[$s]}.sock") ||
				die "lighttpd ${lighttpd_of[$s]} did not start"
			url_of[$s]=$base/
			script_of[$s]=$here/post.lua
			paths_of[$s]=$MG_WORK/issue-paths.txt
			case $s in
			issue-rs256) bearers_of[$s]=$MG_WORK/bearers-RS256.txt ;;
			issue-es256) bearers_of[$s]=$MG_WORK/bearers-ES256.txt ;;
			*) bearers_of[$s]=$MG_WORK/bearers-HS256.txt ;;
			esac
			;;
		esac
	done
}

# first_url SCENARIO: the URL of the scenario's first request path (else
# its URL); first_bearer SCENARIO: its first bearer.
first_url() {
	local p
	if [[ -n ${paths_of[$1]:-} ]]; then
		read -r p <"${paths_of[$1]}"
		echo "${url_of[$1]%/}$p"
	else
		echo "${url_of[$1]}"
	fi
}

first_bearer() {
	local b
	read -r b <"${bearers_of[$1]}"
	echo "$b"
}

# preflight SCENARIO: one request with curl; the status and body must be
# what the measured runs expect (wrk counts only statuses >= 400).
preflight() {
	local s=$1 out code sum want
	case ${script_of[$s]} in
	*post.lua)
		out=$(curl -sS -X POST --data-binary '' -H 'Accept: application/json' \
			-H "Authorization: Bearer $(first_bearer "$s")" \
			-w '\n%{http_code}' "$(first_url "$s")") || die "$s: request failed"
		code=${out##*$'\n'}
		[[ $code == 201 && $out == '{"token":"'* ]] ||
			die "$s: expected 201 with a token, got $code: ${out%$'\n'*}"
		;;
	*)
		code=$(curl -sS -o "$MG_WORK/preflight.bin" -w '%{http_code}' "$(first_url "$s")") ||
			die "$s: request failed"
		[[ $code == 200 ]] || die "$s: expected 200, got $code"
		sum=$(sha256sum <"$MG_WORK/preflight.bin")
		want=$(sha256sum <"$MG_WORK/storage/$bench_media_file")
		[[ $sum == "$want" ]] || die "$s: the body is not the 1 MiB file"
		;;
	esac
}
