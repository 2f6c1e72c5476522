#!/usr/bin/env bash
#
# tests/fuzz/build.sh - build mediagate's libFuzzer harnesses with clang.
#
#   tests/fuzz/build.sh [HARNESS...]     e.g. tests/fuzz/build.sh fuzz_route
#
# Every src/*.c but main.c is compiled here with clang and
# -fsanitize=fuzzer-no-link,address,undefined (the gcc-built
# src/libmediagate.a carries no coverage instrumentation) into an archive,
# and each tests/fuzz/fuzz_NAME.c is linked against it with
# -fsanitize=fuzzer,address,undefined into OUT/fuzz_NAME. The build needs
# no ./configure: include and library flags come from pkg-config.
#
# Environment:
#   MG_FUZZ_OUT  output directory (default: build-fuzz at the top of the
#                tree, which .gitignore covers)
#   MG_FUZZ_CC   compiler (default: clang)
#
# Exit status: 0 when every harness was built, 1 otherwise.

set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
out=${MG_FUZZ_OUT:-$top/build-fuzz}
cc=${MG_FUZZ_CC:-clang}

die() {
	printf 'fuzz/build: %s\n' "$*" >&2
	exit 1
}

command -v "$cc" >/dev/null 2>&1 || die "$cc not found (apt-get install clang libclang-rt-14-dev)"
command -v pkg-config >/dev/null 2>&1 || die "pkg-config not found"

pkgs=(fcgi yajl libjwt libpq libcrypto jose jansson)
pkg_cflags=$(pkg-config --cflags "${pkgs[@]}") || die "pkg-config: missing development packages for ${pkgs[*]}"
pkg_libs=$(pkg-config --libs yajl libjwt jose jansson libcrypto) || die "pkg-config failed"
read -r -a pkg_cflags_a <<<"$pkg_cflags"
read -r -a pkg_libs_a <<<"$pkg_libs"

warn=(-Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes
	-Wformat=2 -Wno-unused-parameter)
# -D_GNU_SOURCE as AC_USE_SYSTEM_EXTENSIONS gives the autotools build.
common=(-g -O1 -fno-omit-frame-pointer -fno-sanitize-recover=undefined -D_GNU_SOURCE
	"${warn[@]}" -I"$top/src" "${pkg_cflags_a[@]}")

harnesses=("$@")
if ((${#harnesses[@]} == 0)); then
	for f in "$here"/fuzz_*.c; do
		f=${f##*/}
		harnesses+=("${f%.c}")
	done
fi
for h in "${harnesses[@]}"; do
	[[ -f $here/$h.c ]] || die "no such harness: $here/$h.c"
done

mkdir -p "$out/obj"

# The core, instrumented for coverage but without libFuzzer's main().
objs=()
for src in "$top"/src/*.c; do
	name=${src##*/}
	[[ $name == main.c ]] && continue
	obj=$out/obj/${name%.c}.o
	"$cc" "${common[@]}" -fsanitize=fuzzer-no-link,address,undefined \
		-c "$src" -o "$obj"
	objs+=("$obj")
done
rm -f "$out/libmediagate-fuzz.a"
ar rcs "$out/libmediagate-fuzz.a" "${objs[@]}"

# A harness that does not build is reported and left out (no stale binary
# stays behind); the others are still built.
failed=0
for h in "${harnesses[@]}"; do
	rm -f "$out/$h"
	if "$cc" "${common[@]}" -fsanitize=fuzzer,address,undefined \
		"$here/$h.c" "$out/libmediagate-fuzz.a" "${pkg_libs_a[@]}" \
		-o "$out/$h"; then
		echo "fuzz/build: $out/$h"
	else
		echo "fuzz/build: $h did not build" >&2
		failed=$((failed + 1))
	fi
done
((failed == 0))
