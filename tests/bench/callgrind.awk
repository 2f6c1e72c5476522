# tests/bench/callgrind.awk - read one callgrind output file (format
# version 1, "positions: line", event Ir first) and write per request:
#
#   modules  file: "module<TAB>Ir per request<TAB>share %" for every module,
#            largest first, then "total": the self cost of every function
#            grouped by module -- code of the responder binary (variable
#            bin) by source file (src/app.c ...), everything else by shared
#            object (libcrypto, libc ...);
#   steps    file: "function<TAB>Ir per request<TAB>share %": the inclusive
#            cost (self plus callees) of the main steps of a request.
#
#   awk -v requests=N -v modules=FILE -v steps=FILE -v bin=mediagate \
#       -f callgrind.awk callgrind.out.PID
#
# Written for POSIX awk (mawk, gawk).

# name(s, space): resolve callgrind's name compression: "(id) name" defines
# id, "(id)" refers back to it; files (fl fi fe cfi cfl), functions (fn cfn)
# and objects (ob cob) each have a space of their own.
function name(s, space,    id, rest) {
	if (match(s, /^\([0-9]+\)/)) {
		id = substr(s, 2, RLENGTH - 2)
		rest = substr(s, RLENGTH + 1)
		sub(/^ +/, "", rest)
		if (rest != "")
			names[space, id] = rest
		return names[space, id]
	}
	return s
}

function base(path) {
	sub(/.*\//, "", path)
	return path
}

# module(object, file): where self cost is charged.
function module(object, file,    o) {
	o = base(object)
	if (o == bin) {
		if (file ~ /(^|\/)src\/[^\/]+$/) {
			sub(/.*\/src\//, "src/", file)
			return file
		}
		if (file ~ /(^|\/)src\//)
			return file
		return bin " (other)"
	}
	if (o ~ /^libc\.so/) return "libc"
	if (o ~ /^ld-linux/) return "ld.so"
	if (o ~ /^libcrypto\.so/) return "libcrypto (OpenSSL)"
	if (o ~ /^libssl\.so/) return "libssl (OpenSSL)"
	if (o ~ /^libpq\.so/) return "libpq"
	if (o ~ /^libyajl\.so/) return "yajl"
	if (o ~ /^libjwt\.so/) return "libjwt"
	if (o ~ /^libjansson\.so/) return "jansson (via libjwt)"
	if (o ~ /^libfcgi\.so/) return "libfcgi"
	if (o ~ /^vgpreload_/) return "valgrind preload (malloc)"
	if (o == "" || o == "???") return "(unknown)"
	sub(/\.so.*/, "", o)
	return o
}

BEGIN {
	if (requests <= 0 || modules == "" || steps == "") {
		print "callgrind.awk: set requests, modules and steps" > "/dev/stderr"
		exit 2
	}
	if (bin == "")
		bin = "mediagate"
	nsteps = split("app_handle request_parse negotiate route_match " \
	    "auth_bearer jws_verify auth_check_claims db_media_lookup " \
	    "token_mint token_check render_token_json storage_resolve " \
	    "render_content_disposition log_request_id write_response " \
	    "read_body FCGX_Accept_r FCGX_Finish_r FCGX_GetParam", step, " ")
	for (i = 1; i <= nsteps; i++)
		is_step[step[i]] = 1
}

/^ob=/ { ob = name(substr($0, 4), "ob"); next }
/^fl=/ { fl = name(substr($0, 4), "fl"); file = fl; next }
/^f[ie]=/ { file = name(substr($0, 4), "fl"); next }
/^fn=/ { fn = name(substr($0, 4), "fn"); file = fl; next }
/^cob=/ { name(substr($0, 5), "ob"); next }
/^cf[il]=/ { name(substr($0, 5), "fl"); next }
/^cfn=/ { cfn = name(substr($0, 5), "fn"); next }
/^calls=/ { in_call = 1; next }
/^[0-9+*-]/ {
	cost = NF >= 2 ? $2 + 0 : 0
	if (in_call) {
		# The inclusive cost of the call just described.
		in_call = 0
		if (cfn != fn)
			incl[fn] += cost
		next
	}
	self[module(ob, file)] += cost
	incl[fn] += cost
	total += cost
	next
}
/^summary:/ { summary = $2 + 0; next }
/^totals:/ { totals = $2 + 0; next }

END {
	if (total == 0) {
		print "callgrind.awk: no costs found" > "/dev/stderr"
		exit 1
	}
	check = totals ? totals : summary
	if (check && (total - check > check / 1000 || check - total > check / 1000))
		printf "callgrind.awk: warning: costs add up to %d, the file says %d\n",
		    total, check > "/dev/stderr"
	# Modules, largest first (selection sort: a few dozen entries).
	n = 0
	for (m in self)
		mods[++n] = m
	for (i = 1; i <= n; i++)
		for (j = i + 1; j <= n; j++)
			if (self[mods[j]] > self[mods[i]]) {
				t = mods[i]; mods[i] = mods[j]; mods[j] = t
			}
	for (i = 1; i <= n; i++)
		printf "%s\t%.0f\t%.1f\n", mods[i], self[mods[i]] / requests,
		    100 * self[mods[i]] / total > modules
	printf "total\t%.0f\t100.0\n", total / requests > modules
	printf "total\t%.0f\t100.0\n", total / requests > steps
	for (i = 1; i <= nsteps; i++)
		if (step[i] in incl)
			printf "%s\t%.0f\t%.1f\n", step[i], incl[step[i]] / requests,
			    100 * incl[step[i]] / total > steps
}
