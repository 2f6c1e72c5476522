#!/usr/bin/env bash
#
# tests/lib/fresh.sh - the `fresh` stage of tests/run: a new user's first
# hour on a fresh Debian 12 machine.
#
#   bash tests/lib/fresh.sh run         (as root; tests/run fresh does this)
#
# Builds a minimal Debian 12 root (debootstrap --variant=minbase with git,
# ca-certificates and sudo, nothing else), clones the committed tree (HEAD,
# or the commit MG_FRESH_REV names) into /root/mediagate there, and runs
# inside it, as printed in the README's "The two commands":
#
#   1. deploy/demo, in the background, on a free port (MEDIAGATE_DEMO_PORT);
#      then each curl command it prints, as printed (the download's '<url>'
#      replaced by the "url" of the JSON answer), checking the answers: 201
#      with JSON, 201 with HTML, the stored file's bytes, 404 for the other
#      tenant's media; then SIGINT to the demo's process group, as Ctrl-C
#      on a terminal sends it, and the demo must exit, remove its directory
#      and leave no process behind;
#   2. tests/run deps build check, where no test may be skipped (a test
#      skips when something it needs is not installed).
#
# The demo goes first, as in the README, so that it has only what its own
# list installs; every package on that list must be on tests/run's too, so
# that the demo's installation cannot hide a gap in tests/run's.
#
# Every package the tests and the demo need must therefore be in their own
# install lists: nothing else is on the root but what minbase has.
#
# Isolation: the work runs under `unshare --mount --pid --fork`: /proc,
# /sys, /dev (with /dev/pts and /dev/shm), resolv.conf and the package
# cache are mounted into the root inside that private mount namespace only,
# so they vanish with it however the stage ends, and the host's mount table
# never sees them. The shell there is the namespace's PID 1: it lists every
# process left in the root after each step, and when it exits the kernel
# kills whatever is left. The root shares the host's network (apt needs
# the mirror; everything else stays on 127.0.0.1).
#
# Caches, in MG_FRESH_CACHE (default /var/cache/mediagate/fresh), each
# checked before use and rebuilt when missing, unreadable or old:
#   bookworm-minbase-ARCH.tar.gz   the finished debootstrap root (7 days)
#   archives/                      apt's downloaded .debs, bind-mounted as
#                                  the root's /var/cache/apt/archives (apt
#                                  checks every one against the index)
#
# The Debian mirror is the one this machine's apt uses (its sources for
# bookworm, read at run time); MG_FRESH_MIRROR overrides it. The root goes
# in a new directory under MG_FRESH_TMP (default /var/tmp; it takes about
# 3 GB) and is removed afterwards, also after a failure unless
# MG_KEEP_WORK=1.
#
# Output: one line "==== fresh: STEP" per step, the steps' own output, and
# on failure "fresh: FAILED at step STEP ..." with what to do.

set -euo pipefail

fresh_self=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")
fresh_top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# The minimal Debian root and its cache: $fresh_suite, $fresh_cache and
# the functions that find the mirror and build, check and remove a root
# (tests/lib/package.sh makes its root with them too).
# shellcheck source-path=SCRIPTDIR source=fresh_root.sh
. "$fresh_top/tests/lib/fresh_root.sh"
# The clone, inside the root.
fresh_clone=/root/mediagate
fresh_path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

fresh_step=start
# The stage's start, which the namespace's shell inherits.
export MG_FRESH_START=${MG_FRESH_START:-$(date +%s)}

fresh_log() {
	printf '\n==== fresh: %s\n' "$*"
}

# fresh_git ARGS...: git on this tree, also when it belongs to the user
# who ran us with sudo.
fresh_git() {
	git -c safe.directory="$fresh_top" -C "$fresh_top" "$@"
}

fresh_say() {
	printf 'fresh: %s\n' "$*"
}

# fresh_begin STEP: name the step that runs now (for the failure message).
fresh_begin() {
	fresh_step=$1
	fresh_log "$1 ($(($(date +%s) - MG_FRESH_START)) s so far)"
}

# fresh_fail HINT...: the step failed: say which, and what to do; exit 1.
fresh_fail() {
	printf '\nfresh: FAILED at step %s: %s\n' "$fresh_step" "$*" >&2
	exit 1
}

# ---------------------------------------------------------------------------
# host side

fresh_run() {
	local mirror arch tarball root port sources rc=0 lockfd rev
	fresh_begin host
	if [[ $(id -u) -ne 0 ]]; then
		command -v sudo >/dev/null 2>&1 ||
			fresh_fail "must run as root (debootstrap, chroot and mounts need it), or as a user with sudo"
		fresh_say "not root: running the stage with sudo"
		exec sudo --preserve-env=MG_FRESH_REV,MG_FRESH_CACHE,MG_FRESH_TMP,MG_FRESH_MIRROR,MG_FRESH_TEST_TIMEOUT,MG_FRESH_START,MG_KEEP_WORK \
			-- bash "$fresh_self" run
	fi
	local tool
	for tool in debootstrap unshare chroot findmnt flock tar git; do
		command -v "$tool" >/dev/null 2>&1 ||
			fresh_fail "$tool is not installed — run tests/run deps first (it installs debootstrap), or apt-get install debootstrap util-linux tar git"
	done
	fresh_git rev-parse --verify -q HEAD >/dev/null ||
		fresh_fail "$fresh_top is not a git checkout with a commit: the stage tests the committed tree"
	rev=$(fresh_git rev-parse --verify -q "${MG_FRESH_REV:-HEAD}^{commit}") ||
		fresh_fail "MG_FRESH_REV=${MG_FRESH_REV:-} is not a commit"
	if [[ -z ${MG_FRESH_REV:-} && -n $(fresh_git status --porcelain --untracked-files=no) ]]; then
		fresh_say "note: uncommitted changes are not tested; the fresh root gets HEAD"
	fi
	fresh_say "testing commit $(fresh_git log -1 --format='%h %s' "$rev")"
	mirror=$(fresh_mirror)
	[[ -n $mirror ]] ||
		fresh_fail "no apt source for Debian $fresh_suite found in /etc/apt/sources.list(.d) — set MG_FRESH_MIRROR to a Debian mirror URL"
	sources=$(fresh_sources)
	arch=$(dpkg --print-architecture)
	tarball=$fresh_cache/$fresh_suite-minbase-$arch.tar.gz

	fresh_begin "debootstrap (cache $tarball)"
	mkdir -p "$fresh_cache/archives/partial"
	# One stage at a time builds or checks the cache.
	exec {lockfd}>"$fresh_cache/lock"
	flock -w 3600 "$lockfd" || fresh_fail "could not lock $fresh_cache/lock within an hour"
	if fresh_cache_ok "$tarball"; then
		fresh_say "using the cached root $tarball"
	else
		rm -f -- "$tarball"
		fresh_cache_build "$tarball" "$mirror"
	fi

	fresh_begin unpack
	dir=$(mktemp -d "${MG_FRESH_TMP:-/var/tmp}/mediagate-fresh.XXXXXX")
	# mktemp -d makes 0700 directories: the root must be 0755, or the
	# postgres and www-data users reach nothing inside it.
	chmod 0755 "$dir"
	root=$dir/root
	trap 'fresh_cleanup' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	mkdir -m 0755 "$root"
	tar -C "$root" --numeric-owner -xpzf "$tarball" ||
		fresh_fail "could not unpack $tarball; remove it to rebuild it"
	exec {lockfd}>&-
	chmod 0755 "$root"
	if [[ -n $sources ]]; then
		printf '%s\n' "$sources" >"$root/etc/apt/sources.list"
	fi
	fresh_say "apt sources of the root:"
	sed 's/^/    /' "$root/etc/apt/sources.list"
	# What a clone URL would serve: a bare repository with the commit as
	# its main branch (pushed there; this repository's refs stay as they are).
	git init -q --bare "$root/srv/mediagate.git"
	fresh_git push -q "$root/srv/mediagate.git" "$rev:refs/heads/main"
	git -C "$root/srv/mediagate.git" symbolic-ref HEAD refs/heads/main
	port=$(MG_WORK='' mg_free_port) || fresh_fail "no free TCP port for the demo"

	fresh_step="inside the root"
	# --kill-child: when this shell is interrupted and kills unshare, the
	# namespace's PID 1 dies too, and with it everything in the root.
	unshare --mount --propagation private --pid --fork --kill-child --mount-proc \
		bash "$fresh_self" inner "$dir" "$port" "$fresh_cache/archives" </dev/null &
	fresh_pid=$!
	wait "$fresh_pid" || rc=$?
	fresh_pid=
	if ((rc != 0)); then
		exit "$rc"
	fi
	fresh_log "passed in $(($(date +%s) - MG_FRESH_START)) s"
}

fresh_pid=
fresh_cleanup() {
	local rc=$?
	set +e
	trap - ERR
	if [[ -n $fresh_pid ]]; then
		kill -TERM "$fresh_pid" 2>/dev/null
		wait "$fresh_pid" 2>/dev/null
	fi
	if [[ -n ${dir:-} && -d $dir ]]; then
		if ((rc != 0)) && [[ ${MG_KEEP_WORK:-0} == 1 ]]; then
			fresh_say "kept the root in $dir (MG_KEEP_WORK=1)"
		elif ! fresh_rm_tree "$dir"; then
			fresh_say "could not remove $dir"
		fi
	fi
	exit "$rc"
}

# ---------------------------------------------------------------------------
# inside the namespace (PID 1 there)

# in_root CMD...: CMD in the root, as root, with the environment of a fresh
# login and nothing of ours; SIGINT as on a terminal (not ignored, which it
# is when an ancestor ran us in the background without job control).
# LANG: an installed Debian sets a UTF-8 locale (/etc/default/locale),
# which minbase leaves out; C.UTF-8 is built into Debian 12's libc.
in_root() {
	chroot "$root" /usr/bin/env --default-signal=INT -i HOME=/root USER=root \
		LOGNAME=root SHELL=/bin/bash PATH="$fresh_path" TERM=dumb LANG=C.UTF-8 "$@"
}

# root_procs: the live processes whose root directory is the fresh root,
# one a line: "PID command line".
root_procs() {
	local d pid r stat
	for d in /proc/[0-9]*; do
		pid=${d#/proc/}
		r=$(readlink "$d/root" 2>/dev/null) || continue
		[[ $r == "$root" ]] || continue
		stat=$(cat "$d/stat" 2>/dev/null) || continue
		stat=${stat##*) }
		[[ ${stat:0:1} != Z ]] || continue
		printf '%s %s\n' "$pid" "$(tr '\0' ' ' <"$d/cmdline" 2>/dev/null || true)"
	done
	return 0
}

# check_no_leftovers WHAT: fail, after killing them, if processes started in
# the root are still running 10 s after WHAT ended.
check_no_leftovers() {
	local left i
	for ((i = 0; i < 100; i++)); do
		left=$(root_procs)
		[[ -n $left ]] || {
			fresh_say "no process left in the root after $1"
			return 0
		}
		sleep 0.1
	done
	printf '%s\n' "$left" | sed 's/^/    /' >&2
	kill_root_procs
	fresh_fail "$1 left the processes above running"
}

kill_root_procs() {
	local pid _
	while read -r pid _; do
		kill -KILL "$pid" 2>/dev/null || true
	done < <(root_procs)
}

inner_cleanup() {
	local rc=$? m
	set +e
	trap - ERR
	kill_root_procs
	# Innermost first; lazily if something still holds one.
	for m in var/cache/apt/archives etc/resolv.conf sys proc dev; do
		if mountpoint -q "$root/$m"; then
			umount -R "$root/$m" 2>/dev/null || umount -R -l "$root/$m"
		fi
	done
	exit "$rc"
}

# package_list FILE: the words of the packages=( ... ) array in FILE, one a
# line, comments left out.
package_list() {
	awk '/^packages=\($/ { on = 1; next } on && /^\)/ { exit }
		on { sub(/#.*/, ""); for (i = 1; i <= NF; i++) print $i }' "$1"
}

# http_check FILE STATUS TYPE: the curl -i answer in FILE has status STATUS
# and a Content-Type starting with TYPE (the last response, after any 100).
http_check() {
	local file=$1 want=$2 type=$3 status ctype
	status=$(tr -d '\r' <"$file" | awk '/^HTTP\// { s = $2 } END { print s }')
	ctype=$(tr -d '\r' <"$file" | awk 'tolower($1) == "content-type:" { t = $2 } END { print t }')
	if [[ $status != "$want" || $ctype != "$type"* ]]; then
		sed 's/^/    /' "$file" >&2
		fresh_fail "expected $want with $type, got ${status:-no answer} with ${ctype:-no Content-Type} (answer above)"
	fi
	fresh_say "answer: $status, $ctype"
}

fresh_inner() {
	dir=$1 port=$2 archives=$3
	root=$dir/root
	local m out demo_pid demo_rc=0 work i url n=0 f got
	local -a cmds=()
	trap 'inner_cleanup' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM

	fresh_begin "mount /proc /sys /dev /dev/pts /dev/shm resolv.conf into the root"
	mount -t proc proc "$root/proc"
	mount --rbind /sys "$root/sys"
	# /dev/pts and /dev/shm come with /dev.
	mount --rbind /dev "$root/dev"
	for m in pts shm; do
		mountpoint -q "$root/dev/$m" || fresh_fail "/dev/$m is not mounted on this machine"
	done
	rm -f "$root/etc/resolv.conf"
	: >"$root/etc/resolv.conf"
	mount --bind "$(readlink -f /etc/resolv.conf)" "$root/etc/resolv.conf"
	mount --bind "$archives" "$root/var/cache/apt/archives"

	# Site-local CA certificates (a TLS-inspecting proxy's, say) belong to
	# the machine's network like resolv.conf does: without them npm cannot
	# reach its registry from the root. None on most machines.
	if compgen -G "/usr/local/share/ca-certificates/*" >/dev/null; then
		fresh_begin "this machine's local CA certificates (/usr/local/share/ca-certificates)"
		mkdir -p "$root/usr/local/share/ca-certificates"
		cp -a /usr/local/share/ca-certificates/. "$root/usr/local/share/ca-certificates/"
		in_root update-ca-certificates | tail -n 1
	fi

	fresh_begin "git clone the committed tree into $fresh_clone"
	in_root git clone -q /srv/mediagate.git "$fresh_clone" ||
		fresh_fail "git clone failed"
	in_root git -C "$fresh_clone" log -1 --format='%h %s'

	fresh_begin "README: the two commands"
	# The commands of the README's "The two commands", as printed: the
	# lines of its sh blocks.
	out=$(awk '/^## / { on = ($0 == "## The two commands") }
		on && /^```/ { code = !code && $0 == "```sh"; next } on && code' \
		"$root$fresh_clone/README.md")
	printf '%s\n' "$out" | sed 's/^/    /'
	for m in deploy/demo tests/run; do
		grep -qxF "$m" <<<"$out" || fresh_fail "README.md's \"The two commands\" no longer prints \`$m\`: update this stage and the README together"
	done

	fresh_begin "the install lists"
	# The demo runs first, as the README lists it, and installs its own
	# packages; tests/run then installs the rest. A package the demo
	# installs that tests/run's list lacks would go unnoticed: refuse it.
	local -a demo_pkgs=() test_pkgs=()
	mapfile -t demo_pkgs < <(package_list "$root$fresh_clone/deploy/demo")
	mapfile -t test_pkgs < <(package_list "$root$fresh_clone/tests/run")
	((${#demo_pkgs[@]} && ${#test_pkgs[@]})) ||
		fresh_fail "no packages=( ... ) list found in deploy/demo or tests/run"
	fresh_say "deploy/demo installs: ${demo_pkgs[*]}"
	fresh_say "tests/run installs: ${test_pkgs[*]}"
	for m in "${demo_pkgs[@]}"; do
		[[ " ${test_pkgs[*]} " == *" $m "* ]] ||
			fresh_fail "deploy/demo installs $m but tests/run's packages list lacks it: add it there"
	done

	fresh_begin "deploy/demo (MEDIAGATE_DEMO_PORT=$port), in the background"
	out=$dir/demo.out
	# Job control: the demo gets a process group of its own, as on a
	# terminal.
	# Without -E the job does not inherit the ERR trap: its status is
	# checked below.
	set -m +E
	in_root MEDIAGATE_DEMO_PORT="$port" bash -c "cd $fresh_clone && exec deploy/demo" >"$out" 2>&1 &
	demo_pid=$!
	set +m
	# Its output as it comes, indented.
	tail -n +1 -f "$out" > >(sed -u 's/^/    /') &
	local follow=$!
	set -E
	for ((i = 0; ; i++)); do
		grep -q '^Press Ctrl-C to stop' "$out" && break
		if ! kill -0 "$demo_pid" 2>/dev/null || ((i > 6000)); then
			sleep 0.5
			kill "$follow" 2>/dev/null || true
			fresh_fail "deploy/demo did not get to 'Press Ctrl-C to stop' (its output is above)"
		fi
		sleep 0.2
	done
	sleep 0.5
	kill "$follow" 2>/dev/null || true
	wait "$follow" 2>/dev/null || true
	work=$(sed -n 's/^demo: working in //p' "$out")
	[[ -n $work && -d $root$work ]] || fresh_fail "deploy/demo did not say where it works ('demo: working in DIR')"

	fresh_begin "the curl commands deploy/demo printed"
	mapfile -t cmds < <(sed -n 's/^  \(curl .*\)$/\1/p' "$out")
	((${#cmds[@]} >= 3)) || fresh_fail "deploy/demo printed ${#cmds[@]} curl commands, expected at least 3 (JSON, HTML, download)"
	in_root mkdir -p /root/try

	fresh_say "1. ${cmds[0]}"
	in_root bash -c "cd /root/try && ${cmds[0]}" >"$dir/json.out" 2>"$dir/json.err" ||
		{ cat "$dir/json.err" >&2; fresh_fail "curl failed"; }
	http_check "$dir/json.out" 201 application/json
	url=$(tr -d '\r' <"$dir/json.out" | sed -n 's/.*"url":"\([^"]*\)".*/\1/p' | head -n 1 || true)
	[[ $url == http://127.0.0.1:$port/* ]] || fresh_fail "the JSON answer has no usable \"url\": '$url'"

	fresh_say "2. ${cmds[1]}"
	in_root bash -c "cd /root/try && ${cmds[1]}" >"$dir/html.out" 2>"$dir/html.err" ||
		{ cat "$dir/html.err" >&2; fresh_fail "curl failed"; }
	http_check "$dir/html.out" 201 text/html
	grep -qF "$url" "$dir/html.out" || grep -q '<a href=' "$dir/html.out" ||
		fresh_fail "the HTML answer has no link"

	[[ ${cmds[2]} == *"'<url>'"* ]] || fresh_fail "the third curl command does not take '<url>': ${cmds[2]}"
	fresh_say "3. ${cmds[2]}   ('<url>' = the JSON answer's url)"
	in_root bash -c "cd /root/try && ${cmds[2]//<url>/$url}" >"$dir/get.out" 2>"$dir/get.err" ||
		{ cat "$dir/get.err" >&2; fresh_fail "the download failed"; }
	for f in "$root"/root/try/*; do
		[[ -f $f ]] || continue
		n=$((n + 1))
		got=$f
	done
	((n == 1)) || fresh_fail "the download should have written one file in /root/try, found $n"
	while IFS= read -r -d '' f; do
		if cmp -s "$f" "$got"; then
			fresh_say "downloaded ${got##*/}: the bytes of ${f#"$root$work/storage/"} ($(wc -c <"$got") bytes)"
			n=0
			break
		fi
	done < <(find "$root$work/storage" -type f -print0)
	((n == 0)) || fresh_fail "the downloaded ${got##*/} matches no stored file: $(head -c 200 "$got")"

	if ((${#cmds[@]} >= 4)); then
		fresh_say "4. ${cmds[3]}"
		in_root bash -c "cd /root/try && ${cmds[3]}" >"$dir/other.out" 2>&1 ||
			fresh_fail "curl failed"
		http_check "$dir/other.out" 404 application/problem+json
	fi

	fresh_begin "Ctrl-C: SIGINT to the demo's process group"
	kill -INT -- "-$demo_pid"
	for ((i = 0; i < 600; i++)); do
		kill -0 "$demo_pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$demo_pid" 2>/dev/null; then
		fresh_fail "deploy/demo still runs 60 s after SIGINT"
	fi
	wait "$demo_pid" || demo_rc=$?
	tail -n 5 "$out" | sed 's/^/    /'
	((demo_rc == 130)) || fresh_fail "deploy/demo exited with status $demo_rc after SIGINT, expected 130"
	[[ ! -e $root$work ]] || fresh_fail "deploy/demo left its directory $work"
	fresh_say "deploy/demo exited with status 130 and removed $work"
	check_no_leftovers "deploy/demo"

	fresh_begin "tests/run deps build check"
	in_root bash -c "cd $fresh_clone && timeout --kill-after=30 ${MG_FRESH_TEST_TIMEOUT:-3600} tests/run deps build check" ||
		fresh_fail "tests/run deps build check exited with status $? (its output is above; the line 'tests/run: stage ... failed' names the stage)"
	# A test that skips because something is not installed is a package
	# missing from tests/run's list.
	out=$(grep -rl --include='*.trs' '^:test-result: SKIP' "$root$fresh_clone" || true)
	if [[ -n $out ]]; then
		for f in $out; do
			echo "    SKIP ${f#"$root$fresh_clone/"}: $(grep -h 'SKIP' "${f%.trs}.log" | tail -n 1 || true)"
		done >&2
		fresh_fail "tests were skipped in the fresh root (above): a package is missing from tests/run's packages list"
	fi
	check_no_leftovers "tests/run"
	fresh_log "inside the root: all steps passed"
}

# Sourced (tests/lib/package.sh makes its root with the functions above):
# nothing runs.
[[ ${BASH_SOURCE[0]} == "$0" ]] || return 0

# Any command that fails outside a test names the step too.
set -E
trap 'fresh_fail "\`$BASH_COMMAND\` failed (status $?)"' ERR

case ${1:-} in
run)
	# shellcheck source-path=SCRIPTDIR source=services.sh
	. "$fresh_top/tests/lib/services.sh"
	fresh_run
	;;
inner)
	shift
	fresh_inner "$@"
	;;
*)
	echo "usage: bash tests/lib/fresh.sh run" >&2
	exit 2
	;;
esac
