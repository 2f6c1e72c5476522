#!/usr/bin/env bash
#
# tests/core_purity.sh - the pure core cannot include libfcgi or libpq.
#
# Compiles, with the core library's own flags and src/core_guard.h forced in
# (as Makefile.am builds src/libmediagate.a), a file that includes each
# forbidden header, even with that library's include path added, and
# expects the compiler to refuse it; then a file that includes every core
# header, which must compile. Prints a Check-style summary line.
set -uo pipefail

cc=${MG_CC:-cc}
src=${MG_SRCDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
read -r -a core <<<"${MG_CORE_CFLAGS:-}"
read -r -a fcgi <<<"${MG_FCGI_CFLAGS:-}"
read -r -a pq <<<"${MG_PQ_CFLAGS:-$(pkg-config --cflags libpq 2>/dev/null)}"
dir=$(mktemp -d) || exit 99
trap 'rm -rf -- "$dir"' EXIT
checks=0 failures=0

# compile NAME EXPECT(ok|fail) HEADER... -- EXTRA_FLAGS...
compile() {
	local name=$1 expect=$2 h got
	shift 2
	: >"$dir/$name.c"
	while (($#)) && [[ $1 != -- ]]; do
		printf '#include %s\n' "$1" >>"$dir/$name.c"
		shift
	done
	shift
	printf 'int mg_core_purity_%s;\n' "$name" >>"$dir/$name.c"
	if "$cc" "${core[@]}" -I"$src/src" -include "$src/src/core_guard.h" \
		"$@" -c "$dir/$name.c" -o "$dir/$name.o" 2>"$dir/$name.err"; then
		got=ok
	else
		got=fail
	fi
	checks=$((checks + 1))
	if [[ $got != "$expect" ]]; then
		failures=$((failures + 1))
		echo "core_purity: $name: expected the build to $expect, it did $got"
		sed 's/^/    /' "$dir/$name.err" | head -n 5
	else
		echo "core_purity: $name: $expect as expected"
	fi
}

compile fcgiapp fail '<fcgiapp.h>' -- "${fcgi[@]}"
compile fcgi_stdio fail '<fcgi_stdio.h>' -- "${fcgi[@]}"
compile libpq fail '<libpq-fe.h>' -- "${pq[@]}"
headers=()
for h in "$src"/src/*.h; do
	h=${h##*/}
	[[ $h == db.h || $h == db_int.h || $h == core_guard.h ]] && continue
	headers+=("\"$h\"")
done
compile core_headers ok "${headers[@]}" --

pct=$(((checks - failures) * 100 / checks))
echo "$pct%: Checks: $checks, Failures: $failures, Errors: 0"
((failures == 0))
