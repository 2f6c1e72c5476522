#!/usr/bin/env bash
#
# tests/lib/package.sh - the `package` stage of tests/run: the Debian
# package, built from a clean clone, installed, used and purged on a
# minimal Debian 12 root.
#
#   bash tests/lib/package.sh run         (as root; tests/run package does this)
#
# Steps (each announced as "==== package: STEP"):
#   1. build    git clone of HEAD (the committed tree) into a new directory,
#               dpkg-buildpackage -us -uc -b there
#   2. lintian  lintian on the .changes: no error, no warning
#   3. root     the fresh stage's debootstrap --variant=minbase bookworm
#               root, made by tests/lib/fresh.sh's functions: unpacked from
#               its cached tarball (MG_FRESH_CACHE, default
#               /var/cache/mediagate/fresh; built when missing or older than
#               7 days; mirror from this machine's apt sources at run time,
#               MG_FRESH_MIRROR overrides); apt's .debs are kept in
#               MG_PACKAGE_ARCHIVES (/var/cache/mediagate/package/archives)
#   4. install  apt-get install ./mediagate_*.deb in the root (apt resolves
#               Depends and Recommends), then the tools the next steps use
#               (man-db, postgresql, lighttpd-mod-openssl, curl, openssl)
#   5. check    mediagate --version, man -w mediagate, systemd-analyze
#               verify of the installed units, the system user
#   6. serve    a private PostgreSQL (initdb) loaded with the packaged SQL,
#               two responder pools started by spawn-fcgi from /usr/bin
#               as the package's user, lighttpd with the packaged example
#               configuration (only its var. lines substituted: ports,
#               paths, certificate): a token request answers 201 with a
#               token and URL, and that URL delivers the file
#   7. purge    apt-get purge mediagate: no file of the package is left, nor
#               any other path named after it; the system user stays, as
#               Debian keeps system users (README.Debian says why)
#
# Isolation: the root's /proc, /sys, /dev (with /dev/pts), resolv.conf and
# apt's archive cache are mounted inside a private mount namespace
# (unshare --mount --pid --fork), so they vanish with it however the stage
# ends; its shell is the namespace's PID 1, so no process started in the
# root outlives the stage.  The root shares the host's network: apt needs
# the mirror, and everything else listens on 127.0.0.1 only.  The work
# directory (under MG_FRESH_TMP, default /var/tmp) is removed afterwards,
# after a failure too unless MG_KEEP_WORK=1.  MG_PACKAGE_DEBS=DIR takes the
# .deb and .changes from DIR instead of building them (to debug the later
# steps).

set -euo pipefail

pkg_self=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")
pkg_top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# The fresh stage's root, made and cached by its functions: fresh_sources,
# fresh_mirror, fresh_cache_ok, fresh_cache_build, $fresh_cache (in
# tests/lib/fresh_root.sh, which fresh.sh sources).
# shellcheck source-path=SCRIPTDIR source=fresh.sh
. "$pkg_top/tests/lib/fresh.sh"
# apt's downloaded .debs, kept between runs (apt checks each against the
# index); not the fresh stage's, whose apt may hold that directory's lock.
pkg_archives=${MG_PACKAGE_ARCHIVES:-/var/cache/mediagate/package/archives}
pkg_path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export MG_PACKAGE_START=${MG_PACKAGE_START:-$(date +%s)}
pkg_step=start

pkg_log() {
	printf '\n==== package: %s\n' "$*"
}

pkg_say() {
	printf 'package: %s\n' "$*"
}

pkg_begin() {
	pkg_step=$1
	pkg_log "$1 ($(($(date +%s) - MG_PACKAGE_START)) s so far)"
}

pkg_fail() {
	printf '\npackage: FAILED at step %s: %s\n' "$pkg_step" "$*" >&2
	exit 1
}

# ---------------------------------------------------------------------------
# host side

# pkg_rm_work DIR: remove the work directory unless something is still
# mounted below it.
pkg_rm_work() {
	local dir=$1
	[[ -d $dir ]] || return 0
	case $dir in
	/?*/mediagate-package.?*) ;;
	*) return 1 ;;
	esac
	if findmnt -rn -o TARGET | grep -q -e "^$dir/"; then
		pkg_say "not removing $dir: something is mounted below it"
		return 1
	fi
	rm -rf --one-file-system -- "$dir"
}

pkg_dir=
pkg_pid=
pkg_cleanup() {
	local rc=$?
	set +e
	if [[ -n $pkg_pid ]]; then
		kill -TERM "$pkg_pid" 2>/dev/null
		wait "$pkg_pid" 2>/dev/null
	fi
	if [[ -n $pkg_dir ]]; then
		if ((rc != 0)) && [[ ${MG_KEEP_WORK:-0} == 1 ]]; then
			pkg_say "kept $pkg_dir (MG_KEEP_WORK=1)"
		else
			pkg_rm_work "$pkg_dir" || pkg_say "could not remove $pkg_dir"
		fi
	fi
	exit "$rc"
}

pkg_run() {
	local tool mirror arch tarball sources lockfd rc=0 http https
	local -a debs=()
	pkg_begin host
	[[ $(id -u) -eq 0 ]] || pkg_fail "must run as root (debootstrap, chroot, mounts)"
	for tool in git dpkg-buildpackage lintian debootstrap unshare chroot findmnt flock tar; do
		command -v "$tool" >/dev/null 2>&1 ||
			pkg_fail "$tool is not installed: run tests/run deps first"
	done
	pkg_dir=$(mktemp -d "${MG_FRESH_TMP:-/var/tmp}/mediagate-package.XXXXXX")
	chmod 0755 "$pkg_dir"
	trap pkg_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM

	pkg_begin "build: git clone of HEAD, dpkg-buildpackage -us -uc -b"
	if [[ -n $(git -C "$pkg_top" status --porcelain --untracked-files=no) ]]; then
		pkg_say "note: uncommitted changes are not in the package; it is built from HEAD"
	fi
	git clone -q --no-hardlinks "$pkg_top" "$pkg_dir/src"
	pkg_say "commit $(git -C "$pkg_dir/src" log -1 --format='%h %s')"
	if [[ -n ${MG_PACKAGE_DEBS:-} ]]; then
		pkg_say "using the package built in $MG_PACKAGE_DEBS (MG_PACKAGE_DEBS)"
		cp "$MG_PACKAGE_DEBS"/mediagate[_-]*.deb "$MG_PACKAGE_DEBS"/mediagate_*.changes "$MG_PACKAGE_DEBS"/mediagate_*.buildinfo "$pkg_dir/"
		: >"$pkg_dir/build.log"
	elif ! (cd "$pkg_dir/src" && dpkg-buildpackage -us -uc -b) >"$pkg_dir/build.log" 2>&1 </dev/null; then
		tail -n 60 "$pkg_dir/build.log"
		pkg_fail "dpkg-buildpackage failed (the end of its log is above)"
	fi
	{ grep -E '^(PASS|FAIL|ERROR|SKIP):|^[0-9]+%: Checks:' "$pkg_dir/build.log" || true; } | sed 's/^/    /'
	mapfile -t debs < <(find "$pkg_dir" -maxdepth 1 -name 'mediagate_*.deb')
	((${#debs[@]} == 1)) || pkg_fail "expected one mediagate_*.deb, found ${#debs[@]}"
	pkg_say "built ${debs[0]##*/} ($(du -k "${debs[0]}" | cut -f1) KiB)"

	pkg_begin "lintian"
	rc=0
	lintian --fail-on error,warning "$pkg_dir"/mediagate_*.changes >"$pkg_dir/lintian.log" 2>&1 || rc=$?
	grep -v '^running with root privileges' "$pkg_dir/lintian.log" || pkg_say "lintian: no tag"
	((rc == 0)) || pkg_fail "lintian reports errors or warnings (status $rc, above)"

	pkg_begin "root (the fresh stage's, cache $fresh_cache)"
	mirror=$(fresh_mirror)
	[[ -n $mirror ]] || pkg_fail "no apt source for $fresh_suite on this machine: set MG_FRESH_MIRROR"
	sources=$(fresh_sources)
	arch=$(dpkg --print-architecture)
	tarball=$fresh_cache/$fresh_suite-minbase-$arch.tar.gz
	mkdir -p "$pkg_archives/partial" "$fresh_cache"
	exec {lockfd}>"$fresh_cache/lock"
	flock -w 3600 "$lockfd" || pkg_fail "could not lock $fresh_cache/lock within an hour"
	if fresh_cache_ok "$tarball"; then
		pkg_say "using the cached root $tarball"
	else
		rm -f -- "$tarball"
		fresh_step=$pkg_step
		fresh_cache_build "$tarball" "$mirror"
	fi
	mkdir -m 0755 "$pkg_dir/root"
	tar -C "$pkg_dir/root" --numeric-owner -xpzf "$tarball" ||
		pkg_fail "could not unpack $tarball; remove it to rebuild it"
	exec {lockfd}>&-
	chmod 0755 "$pkg_dir/root"
	[[ -z $sources ]] || printf '%s\n' "$sources" >"$pkg_dir/root/etc/apt/sources.list"
	mkdir -p "$pkg_dir/root/tmp/pkg"
	cp "${debs[0]}" "$pkg_dir/root/tmp/pkg/"

	# shellcheck source-path=SCRIPTDIR source=services.sh
	. "$pkg_top/tests/lib/services.sh"
	http=$(MG_WORK='' mg_free_port) || pkg_fail "no free port"
	https=$(MG_WORK='' mg_free_port) || pkg_fail "no free port"
	[[ $http != "$https" ]] || https=$(MG_WORK='' mg_free_port)

	pkg_step="inside the root"
	unshare --mount --propagation private --pid --fork --kill-child --mount-proc \
		bash "$pkg_self" inner "$pkg_dir" "$http" "$https" "$pkg_archives" </dev/null &
	pkg_pid=$!
	wait "$pkg_pid" || rc=$?
	pkg_pid=
	((rc == 0)) || exit "$rc"
	pkg_log "passed in $(($(date +%s) - MG_PACKAGE_START)) s"
}

# ---------------------------------------------------------------------------
# inside the namespace (PID 1 there)

in_root() {
	chroot "$root" /usr/bin/env -i HOME=/root USER=root LOGNAME=root \
		SHELL=/bin/bash PATH="$pkg_path" TERM=dumb LC_ALL=C.UTF-8 \
		DEBIAN_FRONTEND=noninteractive "$@"
}

# in_root_as USER CMD...: CMD in the root as USER.
in_root_as() {
	local user=$1
	shift
	in_root setpriv --reuid="$user" --regid="$user" --init-groups "$@"
}

pkg_umount() {
	local m
	for m in var/cache/apt/archives etc/resolv.conf dev/pts dev sys proc; do
		if mountpoint -q "$root/$m" 2>/dev/null; then
			umount -R "$root/$m" 2>/dev/null || umount -R -l "$root/$m"
		fi
	done
}

# b64url: standard input as base64url without padding (RFC 7515 §2).
b64url() {
	base64 -w0 | tr '+/' '-_' | tr -d '='
}

# mint_bearer KEYFILE: an HS256 bearer for tenant acme with media:read,
# valid for an hour.
mint_bearer() {
	local key=$1 now head claims sig
	now=$(date +%s)
	head=$(printf '{"alg":"HS256","typ":"JWT"}' | b64url)
	claims=$(printf '{"sub":"package-test","tenant":"acme","permissions":["media:read"],"iat":%d,"exp":%d}' \
		"$now" "$((now + 3600))" | b64url)
	sig=$(printf '%s.%s' "$head" "$claims" |
		openssl dgst -sha256 -mac HMAC -macopt "hexkey:$(od -An -v -tx1 "$key" | tr -d ' \n')" -binary | b64url)
	printf '%s.%s.%s\n' "$head" "$claims" "$sig"
}

# root_procs: the live processes whose root directory is the root, "PID
# command" each.
root_procs() {
	local d r stat
	for d in /proc/[0-9]*; do
		r=$(readlink "$d/root" 2>/dev/null) || continue
		[[ $r == "$root" ]] || continue
		stat=$(cat "$d/stat" 2>/dev/null) || continue
		stat=${stat##*) }
		[[ ${stat:0:1} != Z ]] || continue
		printf '%s %s\n' "${d#/proc/}" "$(tr '\0' ' ' <"$d/cmdline" 2>/dev/null)"
	done
}

pkg_inner() {
	local dir=$1 http=$2 https=$3 archives=$4 out f left
	root=$dir/root
	trap pkg_umount EXIT
	pkg_begin "mount /proc /sys /dev /dev/pts resolv.conf into the root"
	mount -t proc proc "$root/proc"
	mount --rbind /sys "$root/sys"
	mount --rbind /dev "$root/dev"
	mountpoint -q "$root/dev/pts" || pkg_fail "/dev/pts is not mounted on this machine"
	rm -f "$root/etc/resolv.conf"
	: >"$root/etc/resolv.conf"
	mount --bind "$(readlink -f /etc/resolv.conf)" "$root/etc/resolv.conf"
	mkdir -p "$root/var/cache/apt/archives"
	mount --bind "$archives" "$root/var/cache/apt/archives"
	# No service starts by itself in the root; the stage starts its own.
	printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
	chmod 0755 "$root/usr/sbin/policy-rc.d"
	mkdir -p "$root/etc/postgresql-common/createcluster.d"
	echo "create_main_cluster = false" >"$root/etc/postgresql-common/createcluster.d/no-main-cluster.conf"

	pkg_begin "install: apt-get install ./$(basename "$root"/tmp/pkg/mediagate_*.deb)"
	in_root apt-get update -q >"$dir/apt-update.log" 2>&1 || {
		cat "$dir/apt-update.log"
		pkg_fail "apt-get update failed in the root"
	}
	(cd "$root/tmp/pkg" && in_root sh -c 'cd /tmp/pkg && apt-get install -y -q ./mediagate_*.deb') \
		>"$dir/apt-install.log" 2>&1 || {
		tail -n 40 "$dir/apt-install.log"
		pkg_fail "apt-get install of the package failed"
	}
	grep -E '^(Setting up|Unpacking) mediagate' "$dir/apt-install.log" | sed 's/^/    /'
	pkg_say "$(grep -c '^Setting up' "$dir/apt-install.log") packages set up, Depends and Recommends"
	in_root apt-get install -y -q --no-install-recommends man-db postgresql \
		lighttpd-mod-openssl curl openssl >"$dir/apt-tools.log" 2>&1 || {
		tail -n 40 "$dir/apt-tools.log"
		pkg_fail "apt-get install of the test tools failed"
	}
	in_root dpkg-query -L mediagate >"$dir/files"

	pkg_begin "check: --version, man -w, systemd-analyze verify, user"
	out=$(in_root mediagate --version) || pkg_fail "mediagate --version failed"
	pkg_say "mediagate --version: $out"
	[[ $out == "mediagate 0.1.0" ]] || pkg_fail "mediagate --version printed '$out'"
	# man(1), and systemd-analyze --man=yes through it, would cache a
	# formatted page in /var/cache/man, which is man-db's, not the
	# package's: no cache in this root.
	echo NOCACHE >>"$root/etc/manpath.config"
	out=$(in_root man -w mediagate) || pkg_fail "man -w mediagate found nothing"
	pkg_say "man -w mediagate: $out"
	[[ $out == /usr/share/man/man8/mediagate.8.gz ]] || pkg_fail "man page at $out"
	# Formatted as man(1) does, without a word on stderr.
	in_root sh -c 'man --warnings -l /usr/share/man/man8/mediagate.8.gz 2>&1 >/dev/null' \
		>"$dir/man.err" || true
	[[ ! -s $dir/man.err ]] || { cat "$dir/man.err"; pkg_fail "man mediagate warns"; }
	# The installed unit files themselves: templates as an instance, in a
	# directory of their own (verify loads units by path); --man=yes also
	# checks that Documentation=man:mediagate(8) resolves.
	mkdir -p "$root/tmp/units"
	cp "$root/lib/systemd/system/mediagate@.socket" "$root/tmp/units/mediagate@a.socket"
	cp "$root/lib/systemd/system/mediagate@.service" "$root/tmp/units/mediagate@a.service"
	cp "$root/lib/systemd/system/mediagate-tcp.socket" "$root/lib/systemd/system/mediagate-tcp.service" \
		"$root/tmp/units/"
	grep -H '^ExecStart=' "$root"/lib/systemd/system/mediagate*.service | sed "s|^$root||; s/^/    /"
	out=$(in_root sh -c 'cd /tmp/units && SYSTEMD_LOG_LEVEL=notice systemd-analyze verify --man=yes \
		./mediagate@a.socket ./mediagate@a.service ./mediagate-tcp.socket ./mediagate-tcp.service' 2>&1) ||
		pkg_fail "systemd-analyze verify failed: $out"
	[[ -z $out ]] || pkg_fail "systemd-analyze verify: $out"
	pkg_say "systemd-analyze verify --man=yes: silent on the 4 installed units"
	out=$(in_root getent passwd mediagate) || pkg_fail "no system user mediagate"
	pkg_say "user: $out"

	pkg_begin "serve: PostgreSQL, spawn-fcgi pools, lighttpd from the packaged example"
	local pgbin w=/var/tmp/mg
	pgbin=$(find "$root/usr/lib/postgresql" -maxdepth 3 -name initdb -path '*/bin/*' | sort -V | tail -n 1)
	pgbin=${pgbin#"$root"}
	pgbin=${pgbin%/initdb}
	mkdir -p "$root$w/pgsock" "$root$w/pg" "$root/etc/mediagate" "$root/srv/media/acme/invoices" \
		"$root/run/mediagate" "$root$w/lighttpd/log" "$root$w/lighttpd/state" "$root$w/empty"
	in_root chown postgres:postgres "$w/pgsock" "$w/pg"
	chmod 0700 "$root$w/pg"
	in_root_as postgres "$pgbin/initdb" -D "$w/pg" -U postgres --auth-local=peer \
		--auth-host=reject >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log"; pkg_fail "initdb failed"; }
	in_root_as postgres "$pgbin/pg_ctl" -D "$w/pg" -l "$w/pg/log" -w -t 60 \
		-o "-c listen_addresses='' -c unix_socket_directories=$w/pgsock" start >/dev/null ||
		{ cat "$root$w/pg/log"; pkg_fail "PostgreSQL did not start"; }
	in_root_as postgres psql -h "$w/pgsock" -q -v ON_ERROR_STOP=1 -d postgres \
		-c 'CREATE DATABASE media' || pkg_fail "CREATE DATABASE failed"
	for f in schema sample; do
		in_root_as postgres psql -h "$w/pgsock" -q -v ON_ERROR_STOP=1 -d media \
			-f "/usr/share/mediagate/sql/$f.sql" >/dev/null ||
			pkg_fail "psql -f /usr/share/mediagate/sql/$f.sql failed"
	done
	# Peer authentication: the package's user is the database role.
	in_root_as postgres psql -h "$w/pgsock" -q -v ON_ERROR_STOP=1 -d media \
		-c 'CREATE ROLE mediagate LOGIN IN ROLE mediagate_reader' || pkg_fail "CREATE ROLE failed"
	pkg_say "PostgreSQL: media loaded from /usr/share/mediagate/sql/{schema,sample}.sql"

	head -c 32 /dev/urandom >"$root/etc/mediagate/bearer.key"
	head -c 48 /dev/urandom >"$root/etc/mediagate/token.key"
	in_root chown root:mediagate /etc/mediagate/bearer.key /etc/mediagate/token.key
	chmod 0640 "$root/etc/mediagate/bearer.key" "$root/etc/mediagate/token.key"
	head -c 10000 /dev/urandom >"$root/srv/media/acme/invoices/invoice-2024-001.pdf"
	chmod 0644 "$root/srv/media/acme/invoices/invoice-2024-001.pdf"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
		-keyout "$root$w/tls.key" -out "$root$w/tls.crt" 2>/dev/null
	in_root chown -R www-data:www-data "$w/lighttpd"

	local pool
	for pool in a b; do
		in_root env MEDIAGATE_DB="host=$w/pgsock dbname=media user=mediagate" \
			MEDIAGATE_JWT_ALG=HS256 MEDIAGATE_JWT_KEY_FILE=/etc/mediagate/bearer.key \
			MEDIAGATE_TOKEN_SECRET_FILE=/etc/mediagate/token.key \
			MEDIAGATE_PUBLIC_URL="https://127.0.0.1:$https" \
			MEDIAGATE_STORAGE_ROOT=/srv/media \
			MEDIAGATE_SENDFILE_HEADER=X-LIGHTTPD-send-file \
			spawn-fcgi -s "/run/mediagate/$pool.sock" -M 0660 -U www-data -G www-data \
			-u mediagate -g mediagate -F 2 -P "$w/$pool.pid" -- /usr/bin/mediagate \
			>"$dir/spawn-$pool.log" 2>&1 || { cat "$dir/spawn-$pool.log"; pkg_fail "spawn-fcgi $pool failed"; }
	done
	local -a pids=()
	mapfile -t pids < <(grep -h "[0-9]" "$root$w/a.pid" "$root$w/b.pid")
	pkg_say "responders: ${pids[*]}, as user mediagate"

	# The packaged example, only its var. lines changed.
	sed -e "s|^var.http_port .*|var.http_port    = $http|" \
		-e "s|^var.https_port .*|var.https_port   = $https|" \
		-e 's|^var.bind .*|var.bind         = "127.0.0.1"|' \
		-e "s|^var.tls_cert .*|var.tls_cert     = \"$w/tls.crt\"|" \
		-e "s|^var.tls_key .*|var.tls_key      = \"$w/tls.key\"|" \
		-e "s|^var.log_dir .*|var.log_dir      = \"$w/lighttpd/log\"|" \
		-e "s|^var.state_dir .*|var.state_dir    = \"$w/lighttpd/state\"|" \
		-e "s|^var.docroot .*|var.docroot      = \"$w/empty\"|" \
		"$root/usr/share/doc/mediagate/examples/lighttpd/mediagate.conf" >"$root$w/lighttpd.conf"
	diff "$root/usr/share/doc/mediagate/examples/lighttpd/mediagate.conf" "$root$w/lighttpd.conf" |
		grep '^>' | sed 's/^/    /' || true
	in_root lighttpd -tt -f "$w/lighttpd.conf" >"$dir/lighttpd-check.log" 2>&1 ||
		{ cat "$dir/lighttpd-check.log"; pkg_fail "lighttpd -tt refuses the example"; }
	in_root lighttpd -f "$w/lighttpd.conf" >"$dir/lighttpd.log" 2>&1 ||
		{ cat "$dir/lighttpd.log"; pkg_fail "lighttpd did not start"; }

	local bearer body code url tries
	bearer=$(mint_bearer "$root/etc/mediagate/bearer.key")
	for ((tries = 0; tries < 100; tries++)); do
		code=$(in_root curl -s -o /tmp/token.json -w '%{http_code}' --max-time 10 \
			--cacert "$w/tls.crt" -X POST -H 'Content-Length: 0' \
			-H "Authorization: Bearer $bearer" \
			"https://127.0.0.1:$https/media/invoice-2024-001/download-token") || code=000
		[[ $code == 000 ]] || break
		sleep 0.2
	done
	body=$(cat "$root/tmp/token.json" 2>/dev/null || true)
	pkg_say "POST /media/invoice-2024-001/download-token: $code $body"
	[[ $code == 201 ]] || {
		tail -n 20 "$root$w/lighttpd/log/error.log" 2>/dev/null
		pkg_fail "the token request answered $code, expected 201"
	}
	url=$(sed -n 's/.*"url":"\([^"]*\)".*/\1/p' <<<"$body")
	[[ $url == "https://127.0.0.1:$https/media/invoice-2024-001/download/"* ]] ||
		pkg_fail "no download URL in the answer"
	code=$(in_root curl -s -o /tmp/file -w '%{http_code}' --max-time 10 --cacert "$w/tls.crt" "$url") || code=000
	cmp -s "$root/tmp/file" "$root/srv/media/acme/invoices/invoice-2024-001.pdf" ||
		pkg_fail "GET of the download URL answered $code without the file's bytes"
	pkg_say "GET of the download URL: $code, the file's 10000 bytes (lighttpd X-LIGHTTPD-send-file)"

	# Stop what the step started.
	kill -TERM "$(cat "$root$w/lighttpd/state/lighttpd.pid")" "${pids[@]}" 2>/dev/null || true
	in_root_as postgres "$pgbin/pg_ctl" -D "$w/pg" -m fast -w stop >/dev/null || true
	for ((tries = 0; tries < 100; tries++)); do
		left=$(root_procs)
		[[ -n $left ]] || break
		sleep 0.1
	done
	[[ -z $left ]] || pkg_fail "processes left after stopping: $left"
	rm -rf "$root$w" "$root/etc/mediagate" "$root/srv/media" "$root/run/mediagate" \
		"$root/tmp/units" "$root/tmp/token.json" "$root/tmp/file"

	pkg_begin "purge: apt-get purge mediagate"
	in_root apt-get purge -y -q mediagate >"$dir/purge.log" 2>&1 ||
		{ cat "$dir/purge.log"; pkg_fail "apt-get purge failed"; }
	# shellcheck disable=SC2016 # a dpkg-query format, not an expansion
	out=$(in_root dpkg-query -W -f='${db:Status-Status}' mediagate 2>/dev/null) || out=not-installed
	[[ $out == not-installed ]] || pkg_fail "dpkg still knows mediagate: $out"
	left=$(while IFS= read -r f; do
		if [[ -e $root$f && ! -d $root$f ]]; then echo "$f"; fi
	done <"$dir/files")
	[[ -z $left ]] || pkg_fail "files of the package left after purge: $left"
	left=$(cd "$root" && { find . -xdev -path ./tmp/pkg -prune -o -path ./proc -prune -o \
		-name '*mediagate*' -print | grep -v '^./tmp/pkg$' || true; })
	[[ -z $left ]] || pkg_fail "paths named after the package left after purge: $left"
	pkg_say "no file of the package and no path named mediagate left ($(wc -l <"$dir/files") paths were installed)"
	if out=$(in_root getent passwd mediagate); then
		pkg_say "the system user stays, as Debian keeps system users (README.Debian): $out"
	fi
	pkg_log "inside the root: all steps passed"
}

case ${1:-} in
run)
	pkg_run
	;;
inner)
	shift
	pkg_inner "$@"
	;;
*)
	echo "usage: bash tests/lib/package.sh run" >&2
	exit 2
	;;
esac
