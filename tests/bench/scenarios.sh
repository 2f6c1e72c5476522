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
		libfcgi-dev gcc libc6-dev
	bench_need wrk lighttpd spawn-fcgi curl openssl pkg-config sha256sum "${CC:-cc}"
	pkg-config --exists fcgi || die "libfcgi-dev is not installed (no fcgi.pc)"
	mg_pg_bindir >/dev/null || die "PostgreSQL server binaries not found"
}

build_ceiling() {
	local -a flags
	read -r -a flags <<<"$(pkg-config --cflags --libs fcgi)"
	"${CC:-cc}" -O2 -Wall -Wextra -o "$MG_WORK/ceiling" "$here/ceiling.c" "${flags[@]}" ||
		die "building tests/bench/ceiling.c failed"
}

# needs_pool POOL: true when a selected scenario (or the soak) uses POOL.
needs_pool() {
	local s
	[[ $1 == hs ]] && ((soak > 0)) && return 0
	for s in "${scenarios[@]}"; do
		[[ ${pool_of[$s]} == "$1" ]] && return 0
		[[ $1 == dl && $s == static-1mib ]] && return 0
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
	if needs_pool hs; then start_pool hs HS256 "$bin"; fi
	if needs_pool rs; then start_pool rs RS256 "$bin"; fi
	if needs_pool es; then start_pool es ES256 "$bin"; fi
	if needs_pool dl; then start_pool dl HS256 "$bin"; fi
}

# setup_scenarios: lighttpd instances, bearers, URLs, wrk scripts.
setup_scenarios() {
	local s base issue_path=/media/$bench_media_id/download-token
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
		download-1mib)
			base=$(bench_lighttpd dl "$MG_WORK/dl.sock") || die "lighttpd dl did not start"
			url_of[$s]=$(bench_download_url "$base") || die "no download token"
			script_of[$s]=$here/get.lua
			;;
		*)
			base=$(bench_lighttpd "${lighttpd_of[$s]}" "$MG_WORK/${pool_of[$s]}.sock") ||
				die "lighttpd ${lighttpd_of[$s]} did not start"
			url_of[$s]=$base$issue_path
			script_of[$s]=$here/post.lua
			case $s in
			issue-rs256) bearer_of[$s]=$(bench_mint RS256) ;;
			issue-es256) bearer_of[$s]=$(bench_mint ES256) ;;
			*) bearer_of[$s]=$(bench_mint HS256) ;;
			esac
			;;
		esac
	done
}

# preflight SCENARIO: one request with curl; the status and body must be
# what the measured runs expect (wrk counts only statuses >= 400).
preflight() {
	local s=$1 out code sum want
	case ${script_of[$s]} in
	*post.lua)
		out=$(curl -sS -X POST --data-binary '' -H 'Accept: application/json' \
			-H "Authorization: Bearer ${bearer_of[$s]}" \
			-w '\n%{http_code}' "${url_of[$s]}") || die "$s: request failed"
		code=${out##*$'\n'}
		[[ $code == 201 && $out == '{"token":"'* ]] ||
			die "$s: expected 201 with a token, got $code: ${out%$'\n'*}"
		;;
	*)
		code=$(curl -sS -o "$MG_WORK/preflight.bin" -w '%{http_code}' "${url_of[$s]}") ||
			die "$s: request failed"
		[[ $code == 200 ]] || die "$s: expected 200, got $code"
		sum=$(sha256sum <"$MG_WORK/preflight.bin")
		want=$(sha256sum <"$MG_WORK/storage/$bench_media_file")
		[[ $sum == "$want" ]] || die "$s: the body is not the 1 MiB file"
		;;
	esac
}
