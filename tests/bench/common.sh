# shellcheck shell=bash
#
# tests/bench/common.sh - what tests/bench/bench.sh and
# tests/bench/callgrind.sh share: finding the responder, the benchmark
# data, bearer tokens. Source it after tests/lib/services.sh; it defines
# functions (prefixed bench_, plus die, note, usage and need_uint for the
# two scripts) and the variables below, and changes no shell option.

# The benchmark medium: a 1 MiB file of tenant acme.
bench_media_id=bench-1mib
bench_media_file=acme/bench/1mib.bin
bench_media_size=1048576
# The random media every scenario names: bench-1 … bench-$bench_media_count,
# all of tenant acme, all pointing at the same 1 MiB file.
bench_media_count=10000

bench_die() {
	printf '%s: %s\n' "${bench_name:-bench}" "$*" >&2
	exit 2
}

bench_note() {
	printf '%s: %s\n' "${bench_name:-bench}" "$*" >&2
}

# die, note: the scripts' own short names for the two above.
die() {
	bench_die "$@"
}

note() {
	bench_note "$@"
}

# usage: the "# Usage:" block at the top of the script being run.
usage() {
	sed -n '/^# Usage:/,/^#   -h/s/^# \{0,1\}//p' "$0"
}

# need_uint OPTION VALUE: die unless VALUE is a non-negative integer.
need_uint() {
	[[ $2 =~ ^[0-9]+$ ]] || die "$1 needs a non-negative integer, not '$2'"
}


# bench_find_bin: print the absolute path of the responder binary: MG_BIN,
# else src/mediagate of the build directory we run in (it has
# config.status), else of the source tree. Fails when it is not executable.
bench_find_bin() {
	local bin
	if [[ -n ${MG_BIN:-} ]]; then
		bin=$MG_BIN
	elif [[ -x $PWD/src/mediagate && -f $PWD/config.status ]]; then
		bin=$PWD/src/mediagate
	else
		bin=$MG_TOP/src/mediagate
	fi
	if [[ ! -x $bin ]]; then
		printf 'responder not found: %s (run make)\n' "$bin" >&2
		return 1
	fi
	echo "$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
}

# bench_packages PACKAGE...: install the Debian packages that are missing
# (mg_apt_ensure: nothing happens when all are there), unless MG_SKIP_DEPS=1.
bench_packages() {
	[[ ${MG_SKIP_DEPS:-0} == 1 ]] && return 0
	mg_apt_ensure "$@" || bench_die "could not install: $*"
}

# bench_snapshot_bin BIN: copy the responder binary into $MG_WORK, so that
# a rebuild in the source tree during a run changes nothing, and print the
# copy's path. bench_bin_id then names it.
bench_snapshot_bin() {
	mkdir -p "$MG_WORK/bin" && cp "$1" "$MG_WORK/bin/mediagate" || return 1
	echo "$MG_WORK/bin/mediagate"
}

# bench_bin_id: "mediagate REVISION, binary sha256 PREFIX" of the snapshot.
bench_bin_id() {
	local sum
	sum=$(sha256sum <"$MG_WORK/bin/mediagate") || sum='?'
	echo "mediagate $(bench_revision), binary sha256 ${sum:0:12}"
}

# bench_need TOOL...: fail with an install hint unless every TOOL exists.
bench_need() {
	local tool
	for tool in "$@"; do
		command -v "$tool" >/dev/null 2>&1 ||
			bench_die "$tool is not installed (see the comment at the top of this script)"
	done
}

# bench_load_data ROWS: in the running cluster, the benchmark medium plus
# ROWS filler rows of other tenants (so that lookups go through an index of
# realistic depth); the 1 MiB file in $MG_WORK/storage and, byte for byte,
# in lighttpd's document root $MG_WORK/www.
bench_load_data() {
	local rows=$1
	mkdir -p "$MG_WORK/storage/${bench_media_file%/*}" "$MG_WORK/www" || return 1
	head -c "$bench_media_size" /dev/urandom >"$MG_WORK/storage/$bench_media_file" || return 1
	cp "$MG_WORK/storage/$bench_media_file" "$MG_WORK/www/$bench_media_id.bin" || return 1
	mg_psql_admin -v rows="$rows" -v count="$bench_media_count" -v id="$bench_media_id" -v file="$bench_media_file" -f - <<'EOF'
INSERT INTO media (id, tenant_id, folder, mime_type, file_extension,
                   file_name, storage_file_name)
VALUES (:'id', 'acme', 'bench', 'application/octet-stream', 'bin',
        'bench 1 MiB.bin', :'file');
INSERT INTO media (id, tenant_id, folder, mime_type, file_extension,
                   file_name, storage_file_name)
SELECT 'fill-' || g, 'tenant-' || (g % 97), 'fill', 'application/pdf', 'pdf',
       'document ' || g || '.pdf', 'fill/' || g || '.pdf'
  FROM generate_series(1, :rows) AS g;
INSERT INTO media (id, tenant_id, folder, mime_type, file_extension,
                   file_name, storage_file_name)
SELECT 'bench-' || g, 'acme', 'bench', 'application/octet-stream', 'bin',
       'bench ' || g || '.bin', :'file'
  FROM generate_series(1, :count) AS g;
ANALYZE media;
EOF
}

# bench_mint ALG: a bearer for tenant acme with media:read, valid 6 hours,
# signed with the matching key of mg_keys_make.
bench_mint() {
	local now key
	case $1 in
	HS*) key=$MG_KEYS/bearer-hs.key ;;
	RS*) key=$MG_KEYS/bearer-rs.pem ;;
	ES*) key=$MG_KEYS/bearer-es.pem ;;
	*) return 1 ;;
	esac
	now=$(date +%s)
	mg_mint_bearer "$key" "$1" \
		"{\"sub\":\"bench\",\"tenant\":\"acme\",\"permissions\":[\"media:read\"],\"iat\":$now,\"exp\":$((now + 21600))}"
}

# bench_pool_env ALG: print, one a line, the VAR=value settings of a
# benchmark pool whose bearers use ALG (HS256, RS256 or ES256), then those
# of MG_BENCH_ENV. Download tokens live an hour, so that one token serves
# a whole run.
bench_pool_env() {
	local key
	case $1 in
	HS*) key=$MG_KEYS/bearer-hs.key ;;
	RS*) key=$MG_KEYS/bearer-rs.pub.pem ;;
	ES*) key=$MG_KEYS/bearer-es.pub.pem ;;
	*) return 1 ;;
	esac
	printf '%s\n' \
		"MEDIAGATE_DB=$MG_DB_APP" \
		"MEDIAGATE_JWT_ALG=$1" \
		"MEDIAGATE_JWT_KEY_FILE=$key" \
		"MEDIAGATE_TOKEN_SECRET_FILE=$MG_KEYS/token.key" \
		"MEDIAGATE_STORAGE_ROOT=$MG_WORK/storage" \
		"MEDIAGATE_TOKEN_TTL=3600"
	# MG_BENCH_ENV: extra VAR=value settings, blank-separated, e.g. the
	# counter file and the audit log, to measure what they cost.
	local kv
	for kv in ${MG_BENCH_ENV:-}; do
		printf '%s\n' "$kv"
	done
}

# bench_lighttpd NAME SOCKET [BASE_PATH]: start lighttpd instance NAME on a
# free port in front of SOCKET (X-Sendfile allowed below the storage root);
# print its base URL.
bench_lighttpd() {
	local port
	port=$(mg_free_port) || return 1
	mg_lighttpd_start "$1" "$port" "$2" "${3:-/}" "$MG_WORK/storage" || return 1
	echo "http://127.0.0.1:$port"
}

# bench_download_url BASE_URL: ask the pool behind BASE_URL for a download
# token of the benchmark medium (HS256 bearer); print the download URL.
bench_download_url() {
	local body url
	body=$(curl -sS -X POST --data-binary '' \
		-H "Authorization: Bearer $(bench_mint HS256)" \
		"$1/media/$bench_media_id/download-token") || return 1
	url=$(printf '%s' "$body" | sed -n 's/.*"url":"\([^"]*\)".*/\1/p')
	if [[ $url != "$1/"* ]]; then
		printf 'no download URL in: %s\n' "$body" >&2
		return 1
	fi
	echo "$url"
}

# bench_machine: one line naming the date, the machine and the software.
bench_machine() {
	local cpu pgv wrkv=
	local lighttpdv
	# awk reads all its input: no writer in these pipelines dies of SIGPIPE.
	cpu=$(awk -F ': *' '/^model name/ && !n++ { print $2 }' /proc/cpuinfo) || cpu=
	pgv=$("$(mg_pg_bindir)/postgres" --version 2>/dev/null | awk '{ print $3 }') || pgv='?'
	if command -v wrk >/dev/null 2>&1; then
		# wrk -v prints its version and usage, and exits 1.
		wrkv=$(wrk -v 2>&1 | awk 'NR == 1 { sub(/^debian\//, "", $2); sub(/-.*/, "", $2); print $2 }') || true
		wrkv="; wrk ${wrkv:-?}"
	fi
	lighttpdv=$(lighttpd -v 2>/dev/null | awk 'NR == 1 { print $1 }') || lighttpdv=lighttpd
	printf '%s UTC; %s CPUs (nproc), %s; Linux %s; %s; PostgreSQL %s%s' \
		"$(date -u '+%Y-%m-%d %H:%M')" "$(nproc)" "${cpu:-unknown CPU}" "$(uname -r)" \
		"$lighttpdv" "$pgv" "$wrkv"
}

# bench_revision: the commit the responder was built from, as far as git
# knows, noting uncommitted changes under src/.
bench_revision() {
	local rev
	rev=$(git -C "$MG_TOP" rev-parse --short HEAD 2>/dev/null) || {
		echo "(revision unknown)"
		return 0
	}
	if [[ -n $(git -C "$MG_TOP" status --porcelain -- src 2>/dev/null) ]]; then
		rev+=" with local changes in src/"
	fi
	echo "$rev"
}

# bench_issue_paths FILE: the issuing paths of every random medium, one a
# line (post.lua picks one per request).
bench_issue_paths() {
	local i
	for ((i = 1; i <= bench_media_count; i++)); do
		echo "/media/bench-$i/download-token"
	done >"$1"
}

# bench_build_peer OUT: build the Go peer (tests/bench/peer/main.go)
# offline, in GOPATH mode against Debian's /usr/share/gocode
# (golang-github-golang-jwt-jwt-dev, golang-github-jackc-pgx-v4-dev), into
# OUT. Nothing is fetched: GOPROXY=off, GOFLAGS cleared; Go's own build
# cache (go env GOCACHE) makes later builds quick.
bench_build_peer() {
	local gp=$MG_WORK/gopath
	mkdir -p "$gp/src/mgpeer" && cp "$MG_TOP/tests/bench/peer/main.go" "$gp/src/mgpeer/" || return 1
	(cd "$gp/src/mgpeer" && GO111MODULE=off GOPATH="$gp:/usr/share/gocode" \
		GOFLAGS='' GOPROXY=off go build -o "$1" .) >"$MG_WORK/peer-build.log" 2>&1 || {
		cat "$MG_WORK/peer-build.log" >&2
		return 1
	}
}

# bench_bearers PEER ALG N FILE: N distinct bearers of ALG (tenant acme,
# media:read, 6 hours; each its own sub) minted by the Go peer with
# golang-jwt, one a line, into FILE.
bench_bearers() {
	local key
	case $2 in
	HS*) key=$MG_KEYS/bearer-hs.key ;;
	RS*) key=$MG_KEYS/bearer-rs.pem ;;
	ES*) key=$MG_KEYS/bearer-es.pem ;;
	*) return 1 ;;
	esac
	"$1" mint -alg "$2" -key "$key" -n "$3" -tenant acme >"$4" || return 1
	(($(wc -l <"$4") == $3))
}

# bench_download_paths BASE_URL N FILE: ask the pool behind BASE_URL for
# download tokens of N random media (one curl, kept-alive connection, the
# first HS256 bearer of $MG_WORK/bearers-HS256.txt); write their
# download paths, one a line, into FILE.
bench_download_paths() {
	local base=$1 n=$2 file=$3 i cfg=$MG_WORK/dlpaths.curl
	local bearer
	read -r bearer <"$MG_WORK/bearers-HS256.txt" || return 1
	{
		echo 'silent'
		echo 'show-error'
		echo 'request = "POST"'
		echo 'data-binary = ""'
		echo 'header = "Accept: application/json"'
		echo "header = \"Authorization: Bearer $bearer\""
		printf '%s\n' 'write-out = "\n"'
		for ((i = 0; i < n; i++)); do
			echo "url = \"$base/media/bench-$((RANDOM % bench_media_count + 1))/download-token\""
		done
	} >"$cfg"
	curl -K "$cfg" | sed -n 's|.*"url":"http://[^/"]*\(/[^"]*\)".*|\1|p' >"$file" || return 1
	(($(wc -l <"$file") == n))
}
