# shellcheck shell=bash
#
# tests/lib/fresh_root.sh - the minimal Debian 12 root of the fresh stage
# (tests/lib/fresh.sh, which sources it) and of the package stage
# (tests/lib/package.sh, through fresh.sh): the host's apt sources and
# mirror, the cached debootstrap --variant=minbase root (built, checked),
# and removing a root directory when done. Messages and failures go
# through fresh.sh's fresh_say and fresh_fail; MG_FRESH_CACHE,
# MG_FRESH_MIRROR and MG_FRESH_TMP are described there.

# Used by fresh.sh and package.sh.
# shellcheck disable=SC2034

fresh_suite=bookworm
fresh_include=git,ca-certificates,sudo
fresh_cache=${MG_FRESH_CACHE:-/var/cache/mediagate/fresh}
fresh_cache_days=7

# fresh_sources: the host's apt sources for Debian $fresh_suite (and its
# -updates, -security suites), one-line format "deb URI SUITE COMPONENTS",
# from sources.list, *.list and deb822 *.sources files.
fresh_sources() {
	local f
	{
		for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
			[[ -f $f ]] || continue
			sed -e 's/#.*//' -e 's/\[[^]]*\]//' "$f" | awk '$1 == "deb" && NF >= 4'
		done
		for f in /etc/apt/sources.list.d/*.sources; do
			[[ -f $f ]] || continue
			awk '
			function flush(  n, m, i, j, U, S) {
				if (types ~ /(^| )deb( |$)/ && enabled != "no") {
					n = split(uris, U, " "); m = split(suites, S, " ")
					for (i = 1; i <= n; i++)
						for (j = 1; j <= m; j++)
							print "deb", U[i], S[j], comps
				}
				types = uris = suites = comps = enabled = cur = ""
			}
			/^[ \t]*#/ { next }
			/^[ \t]*$/ { flush(); next }
			/^[ \t]/ {
				v = $0; gsub(/^[ \t]+|[ \t]+$/, "", v)
				if (cur == "uris") uris = uris " " v
				else if (cur == "suites") suites = suites " " v
				else if (cur == "components") comps = comps " " v
				next
			}
			/^[A-Za-z-]+:/ {
				cur = tolower(substr($0, 1, index($0, ":") - 1))
				v = substr($0, index($0, ":") + 1); gsub(/^[ \t]+|[ \t]+$/, "", v)
				if (cur == "types") types = v
				else if (cur == "uris") uris = v
				else if (cur == "suites") suites = v
				else if (cur == "components") comps = v
				else if (cur == "enabled") enabled = tolower(v)
			}
			END { flush() }' "$f"
		done
	} | awk -v s="$fresh_suite" '$3 == s || index($3, s "-") == 1' | awk '!seen[$0]++'
}

# fresh_mirror: the mirror debootstrap installs from: MG_FRESH_MIRROR, or
# the URI of the host's source for the suite itself.
fresh_mirror() {
	if [[ -n ${MG_FRESH_MIRROR:-} ]]; then
		echo "$MG_FRESH_MIRROR"
		return
	fi
	fresh_sources | awk -v s="$fresh_suite" '$3 == s && $2 ~ /^https?:/ { print $2; exit }'
}

# fresh_cache_ok FILE: true if FILE is a complete gzip tar of a finished
# minbase root, younger than $fresh_cache_days days.
fresh_cache_ok() {
	local file=$1 list f
	[[ -s $file ]] || return 1
	[[ -n $(find "$file" -mtime -"$fresh_cache_days" 2>/dev/null) ]] || {
		fresh_say "cache $file is older than $fresh_cache_days days"
		return 1
	}
	list=$(tar -tzf "$file" 2>/dev/null) || {
		fresh_say "cache $file is not a readable tar.gz"
		return 1
	}
	for f in ./etc/debian_version ./usr/bin/git ./usr/bin/sudo ./usr/bin/apt-get \
		./etc/ssl/certs/ca-certificates.crt ./var/lib/dpkg/status; do
		if ! grep -qxF -- "$f" <<<"$list"; then
			fresh_say "cache $file lacks $f"
			return 1
		fi
	done
}

# fresh_rm_tree DIR: remove DIR, which must be one of ours and have nothing
# mounted below it (checked with findmnt); retried while a mount namespace
# that is going away still holds one of its directories.
fresh_rm_tree() {
	local dir=$1 i
	[[ -d $dir ]] || return 0
	case $dir in
	/?*/mediagate-fresh.?* | /?*/mediagate-debootstrap.?*) ;;
	*)
		fresh_say "refusing to remove $dir: not a directory of this stage"
		return 1
		;;
	esac
	if findmnt -rn -o TARGET | grep -q -e "^$dir/" -e "^$dir\$"; then
		fresh_say "not removing $dir: something is still mounted below it:"
		findmnt -rn -o TARGET | grep -e "^$dir/" -e "^$dir\$" >&2
		return 1
	fi
	for ((i = 0; i < 20; i++)); do
		rm -rf --one-file-system -- "$dir" 2>/dev/null && return 0
		sleep 0.5
	done
	rm -rf --one-file-system -- "$dir"
}

# fresh_cache_build FILE MIRROR: debootstrap a new root and keep it as FILE.
fresh_cache_build() {
	local file=$1 mirror=$2 tmp
	tmp=$(mktemp -d "${MG_FRESH_TMP:-/var/tmp}/mediagate-debootstrap.XXXXXX")
	chmod 0755 "$tmp"
	fresh_say "debootstrap --variant=minbase --include=$fresh_include $fresh_suite from $mirror (log: $tmp/debootstrap.log)"
	# Its own private mount namespace: whatever it mounts in the target
	# (and might leave mounted on failure) goes away with it.
	if ! unshare --mount --propagation private \
		debootstrap --variant=minbase --include="$fresh_include" \
		"$fresh_suite" "$tmp/root" "$mirror" >"$tmp/debootstrap.log" 2>&1 </dev/null; then
		tail -n 30 "$tmp/debootstrap.log" >&2
		[[ -f $tmp/root/debootstrap/debootstrap.log ]] &&
			tail -n 30 "$tmp/root/debootstrap/debootstrap.log" >&2
		fresh_fail "debootstrap failed (its log is above, kept in $tmp) — check network access to $mirror, or set MG_FRESH_MIRROR to a reachable Debian mirror"
	fi
	tar -C "$tmp/root" --numeric-owner --exclude='./var/cache/apt/archives/*.deb' \
		-czf "$file.tmp.$$" . || fresh_fail "could not write $file"
	mv -f "$file.tmp.$$" "$file"
	fresh_rm_tree "$tmp"
	fresh_say "cached the root as $file ($(du -h "$file" | cut -f1))"
}
