#!/usr/bin/env bash
#
# tests/browser.sh - the HTML pages in a real browser, run by `make check`.
#
# Starts a private PostgreSQL with the media of tests/browser/pages.mjs (an
# invoice, and a name made to attack the page: markup, quotes, an RTL
# override, 300 characters), two responders and lighttpd on 127.0.0.1,
# then runs tests/browser/browser.mjs: headless Chromium (Debian's
# chromium) loads the token page and an error page from that stack over
# HTTP at 390 and 1280 px wide and checks them from the DOM (see the top
# of browser.mjs). The pages it saved are then checked by two HTML5
# validators: HTML Tidy (tidy -q -e) and html-validate (npm, rules
# html-validate:recommended but long-title, a search-engine advice: the
# title carries at most 56 characters of the name, but its entities count
# as several).
#
# Artefacts, kept after the run in a known place and printed at the end:
# MG_BROWSER_OUT (default BUILDDIR/tests/browser-artifacts) holds
# token-390.png, token-1280.png, hostile-*.png, error-*.png, token-card.png
# (the card alone at 1280 px: doc/token-page.png is one) and the pages'
# HTML (token.html, hostile.html, error.html).
#
# Node packages (playwright-core, which drives Chromium over the DevTools
# protocol without downloading a browser of its own, and html-validate)
# are pinned by tests/browser/package-lock.json and installed with `npm
# ci` from the npm registry into MG_NODE_DIR (default
# BUILDDIR/tests/browser-deps) once, then again only when the lock file
# changes.
#
# Knobs: MG_BUILDDIR, MG_BIN, MG_CHROMIUM (default /usr/bin/chromium),
# MG_NODE_DIR, MG_BROWSER_OUT, MG_TEST_TIMEOUT (seconds for the browser
# run, default 300), MG_KEEP_WORK=1.
#
# Exit status: 0 when every check passed, 1 otherwise, 99 when the
# environment cannot be set up.

# mg_* functions take optional arguments that callers may leave out.
# shellcheck disable=SC2119

set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top_srcdir=$(cd "$here/.." && pwd)
test_name=browser
# shellcheck source-path=SCRIPTDIR source=lib/services.sh
. "$here/lib/services.sh"
# shellcheck source-path=SCRIPTDIR source=lib/testenv.sh
. "$here/lib/testenv.sh"

ttl=60

show_logs() {
	tail_logs 40 "$MG_WORK/web.log" "$MG_WORK/lighttpd-web-error.log" \
		"$MG_WORK/pg.log" "$MG_WORK/npm.log"
}

# node_deps DIR: playwright-core and html-validate in DIR/node_modules, as
# the lock file pins them.
node_deps() {
	local dir=$1 lock=$here/browser/package-lock.json
	if [[ -f $dir/.installed-lock.json && -d $dir/node_modules ]] &&
		cmp -s "$lock" "$dir/.installed-lock.json"; then
		return 0
	fi
	say "installing node packages into $dir (npm ci)"
	rm -rf "$dir/node_modules" "$dir/.installed-lock.json"
	mkdir -p "$dir"
	cp "$here/browser/package.json" "$lock" "$dir/"
	if ! (cd "$dir" && timeout 600 npm ci --no-audit --no-fund --loglevel=error) \
		>"$MG_WORK/npm.log" 2>&1 </dev/null; then
		hard_error "npm ci in $dir failed (see $MG_WORK/npm.log)"
	fi
	cp "$lock" "$dir/.installed-lock.json"
}

main() {
	local builddir chromium node_dir out
	builddir=$(find_builddir)
	export MG_BIN=${MG_BIN:-$builddir/src/mediagate}
	chromium=${MG_CHROMIUM:-/usr/bin/chromium}
	node_dir=${MG_NODE_DIR:-$builddir/tests/browser-deps}
	out=${MG_BROWSER_OUT:-$builddir/tests/browser-artifacts}
	[[ -x $MG_BIN ]] || hard_error "responder not found: $MG_BIN (run make)"
	[[ -x $chromium ]] || hard_error "$chromium is not installed (tests/run installs chromium)"
	need_tools spawn-fcgi lighttpd openssl node npm tidy

	work_start
	node_deps "$node_dir"
	if ! rm -rf "$out" || ! mkdir -p "$out"; then
		hard_error "cannot make $out"
	fi
	out=$(cd "$out" && pwd)

	local storage=$MG_WORK/storage
	mkdir -p "$storage/acme" "$MG_WORK/tmp" "$MG_WORK/home"
	printf '%%PDF-1.4\n%% mediagate browser test\n' >"$storage/acme/b-invoice.pdf"
	node "$here/browser/pages.mjs" >"$MG_WORK/pages.sql" ||
		hard_error "tests/browser/pages.mjs failed"
	mg_keys_make || hard_error "key generation failed"
	mg_pg_start "$MG_WORK/pages.sql" || hard_error "PostgreSQL setup failed"
	mg_responders_start web 2 \
		MEDIAGATE_DB="$MG_DB_APP" \
		MEDIAGATE_JWT_ALG=HS256 \
		MEDIAGATE_JWT_KEY_FILE="$MG_KEYS/bearer-hs.key" \
		MEDIAGATE_TOKEN_SECRET_FILE="$MG_KEYS/token.key" \
		MEDIAGATE_TOKEN_TTL=$ttl \
		MEDIAGATE_STORAGE_ROOT="$storage" ||
		hard_error "responders did not start"
	local port t bearer
	port=$(mg_free_port) || hard_error "no free port"
	mg_lighttpd_start web "$port" "$MG_WORK/web.sock" / "$storage" ||
		hard_error "lighttpd did not start"
	t=$(date +%s)
	bearer=$(mg_mint_bearer "$MG_KEYS/bearer-hs.key" HS256 \
		"{\"sub\":\"browser-test\",\"tenant\":\"acme\",\"permissions\":[\"media:read\"],\"iat\":$t,\"exp\":$((t + 900))}") ||
		hard_error "cannot mint a bearer token"

	say "stack on http://127.0.0.1:$port, work=$MG_WORK"
	local rc=0
	# Chromium's profile and caches go to the work directory.
	TMPDIR=$MG_WORK/tmp HOME=$MG_WORK/home \
		MG_BROWSER_BASE=http://127.0.0.1:$port MG_BROWSER_BEARER=$bearer \
		MG_BROWSER_TTL=$ttl MG_BROWSER_OUT=$out \
		MG_NODE_MODULES=$node_dir/node_modules MG_CHROMIUM=$chromium \
		timeout --kill-after=10 "${MG_TEST_TIMEOUT:-300}" \
		node "$here/browser/browser.mjs" </dev/null || rc=$?
	if ((rc == 124 || rc == 137)); then
		echo "browser: timed out after ${MG_TEST_TIMEOUT:-300} s" >&2
	fi

	local f page checks=0 failed=0
	for page in token hostile error; do
		f=$out/$page.html
		checks=$((checks + 2))
		if [[ ! -s $f ]]; then
			echo "FAIL validators: $f was not saved"
			failed=$((failed + 2))
			continue
		fi
		if timeout 60 tidy -q -e "$f" >"$MG_WORK/tidy.out" 2>&1 && [[ ! -s $MG_WORK/tidy.out ]]; then
			echo "ok   tidy -q -e $page.html"
		else
			echo "FAIL tidy -q -e $page.html:"
			cat "$MG_WORK/tidy.out"
			failed=$((failed + 1))
		fi
		if timeout 120 "$node_dir/node_modules/.bin/html-validate" \
			--config "$here/browser/htmlvalidate.json" "$f" >"$MG_WORK/hv.out" 2>&1; then
			echo "ok   html-validate $page.html"
		else
			echo "FAIL html-validate $page.html:"
			cat "$MG_WORK/hv.out"
			failed=$((failed + 1))
		fi
	done
	echo "$(((checks - failed) * 100 / checks))%: Checks: $checks, Failures: $failed, Errors: 0"
	((failed == 0)) || ((rc != 0)) || rc=1

	say "screenshots and pages in $out:"
	for f in "$out"/*; do
		echo "  $f"
	done
	return "$rc"
}

main "$@"
