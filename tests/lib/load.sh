# shellcheck shell=bash
#
# tests/lib/load.sh - the load-balancing test of tests/webservers.sh
# (load_test and its helpers), which sources it: four clients over the
# responder pools, one responder killed mid-run. It uses webservers.sh's
# say, fail and variables (load_bearer, MG_WORK …) and services.sh.

# Variables such as load_bearer are webservers.sh's.
# shellcheck disable=SC2154

# ---------------------------------------------------------------------------
# load balancing

# rchar PID: bytes PID has read so far (/proc/PID/io), or nothing.
rchar() {
	sed -n 's/^rchar: //p' "/proc/$1/io" 2>/dev/null || true
}

# clients URL N OUTDIR: start four curl clients, each sending N token
# requests to URL back to back (HTTP/1.1, keep-alive), writing one status
# code a line to OUTDIR/codes.C; their pids go to client_pids. Four
# requests in flight keep more than one pool busy: least-connection
# balancing sends everything to the first pool while it is idle.
clients() {
	local url=$1 n=$2 out=$3 c
	mkdir -p "$out"
	client_pids=()
	for c in 1 2 3 4; do
		curl -s --http1.1 --cacert "$MG_TLS_CERT" --max-time 10 \
			-X POST -d '' -H "Authorization: Bearer $load_bearer" \
			-o /dev/null -w '%{http_code}\n' "$url?client=$c&n=[1-$n]" \
			>"$out/codes.$c" 2>"$out/curl.$c.log" </dev/null &
		client_pids+=($!)
	done
}

# clients_until URL BATCH CAP OUTDIR: start four clients that each send
# token requests to URL in batches of BATCH (one curl, keep-alive, per
# batch), batch after batch, until OUTDIR/stop exists or CAP batches are
# sent; a client checks for the stop file only between batches, so none
# ends before it is created (but at its cap). Each writes one status code
# a line to OUTDIR/codes.C and the number of batches it finished to
# OUTDIR/batches.C; their pids go to client_pids.
clients_until() {
	local url=$1 batch=$2 cap=$3 out=$4 c
	mkdir -p "$out"
	rm -f "$out/stop"
	client_pids=()
	for c in 1 2 3 4; do
		(
			b=0
			echo 0 >"$out/batches.$c"
			while ((b < cap)); do
				curl -s --http1.1 --cacert "$MG_TLS_CERT" --max-time 10 \
					-X POST -d '' -H "Authorization: Bearer $load_bearer" \
					-o /dev/null -w '%{http_code}\n' "$url?client=$c&b=$b&n=[1-$batch]" \
					>>"$out/codes.$c" 2>>"$out/curl.$c.log" </dev/null || true
				b=$((b + 1))
				echo "$b" >"$out/batches.$c"
				[[ ! -e $out/stop ]] || break
			done
		) &
		client_pids+=($!)
	done
}

# rchar_wait TARGET LIMIT PID...: wait until the rchar sum of the PIDs
# reaches TARGET, LIMIT tenths of a second at most; false on timeout.
rchar_wait() {
	local target=$1 limit=$2 try
	shift 2
	for ((try = 0; try < limit; try++)); do
		(($(rchar_sum "$@") < target)) || return 0
		sleep 0.1
	done
	return 1
}

# rchar_sum PID...: the sum of rchar over the PIDs still alive.
rchar_sum() {
	local pid v sum=0
	for pid in "$@"; do
		v=$(rchar "$pid")
		sum=$((sum + ${v:-0}))
	done
	echo "$sum"
}

# load_test NAME HTTPS_PORT: see the header of this file.
load_test() {
	local name=$1 https=$2 p pid victim victim_pool='' n ok bad before
	local per_client=${MG_LOAD_REQUESTS:-500}
	local url=https://127.0.0.1:$https/media/m-pdf/download-token
	local out=$MG_WORK/load-$name t0 t1 newpid='' try bpr rate sum0
	local batch cap limit sent
	local -A rc0=() pool_of=()
	local -a all=()
	t0=$(date +%s%N)
	for p in "${pools[@]}"; do
		while IFS= read -r pid; do
			all+=("$pid")
			pool_of[$pid]=$p
		done < <(mg_supervised_children "$p")
	done
	if ((${#all[@]} < 3)); then
		fail "$name: only ${#all[@]} responders to balance over"
		return
	fi
	mg_pool_wait_accepting "${all[@]}"

	# Warm-up and yardstick: 100 requests tell how many bytes the
	# responders read per request and how many requests a second this
	# machine serves, so that the run lasts about two seconds and the
	# kill comes a quarter of the way in, however fast the machine.
	sum0=$(rchar_sum "${all[@]}")
	t1=$(date +%s%N)
	clients "$url" 25 "$out/warmup"
	wait "${client_pids[@]}" || true
	bpr=$((($(rchar_sum "${all[@]}") - sum0) / 100))
	rate=$((100 * 1000000000 / ($(date +%s%N) - t1 + 1)))
	ok=$(cat "$out/warmup"/codes.* | grep -c '^201$' || true)
	if ((ok != 100 || bpr <= 0)); then
		fail "$name: warm-up: $ok of 100 requests got 201"
		return
	fi
	((rate / 2 > per_client)) && per_client=$((rate / 2))
	((per_client > 5000)) && per_client=5000

	for pid in "${all[@]}"; do
		rc0[$pid]=$(rchar "$pid")
	done
	victim=${all[0]}
	victim_pool=${pool_of[$victim]}
	# The run: about 4 x per_client requests, the kill once a quarter of
	# them are served. The clients go on until told to stop, which comes
	# only after the kill and a further half of the run served by the
	# other responders, so the kill always finds every client sending,
	# however the machine's load shifts during the run. Bounded: each
	# client sends at most cap batches (more than the whole run), and
	# each wait lasts 60 s at most (x10 under MG_WRAP).
	batch=50
	cap=$((4 * per_client / batch + 2))
	limit=600
	[[ -n ${MG_WRAP:-} ]] && limit=6000
	say "$name: ${#all[@]} responders (pools ${pools[*]}: ${all[*]}); 4 clients send about $((4 * per_client)) requests in batches of $batch, SIGKILL to $victim a quarter of the way"

	sum0=$(rchar_sum "${all[@]}")
	t1=$(date +%s%N)
	clients_until "$url" "$batch" "$cap" "$out/run"
	rchar_wait $((sum0 + bpr * per_client)) "$limit" "${all[@]}" ||
		fail "$name: a quarter of the run was not served in $((limit / 10)) s"
	for pid in "${client_pids[@]}"; do
		_mg_alive "$pid" || fail "$name: a client sent its $cap batches before the kill"
	done
	before=$(rchar "$victim")
	kill -KILL "$victim"
	sum0=$(rchar_sum "${all[@]:1}")
	rchar_wait $((sum0 + 2 * bpr * per_client)) "$limit" "${all[@]:1}" ||
		fail "$name: half a run was not served in $((limit / 10)) s after the kill"
	for pid in "${client_pids[@]}"; do
		_mg_alive "$pid" || fail "$name: a client sent its $cap batches before the stop"
	done
	: >"$out/run/stop"
	wait "${client_pids[@]}" || true

	n=$(cat "$out/run"/codes.* | wc -l)
	ok=$(cat "$out/run"/codes.* | grep -c '^201$' || true)
	bad=$((n - ok))
	sent=$(( ($(cat "$out/run"/batches.* | paste -sd+)) * batch ))
	say "$name: $n responses in $((($(date +%s%N) - t1) / 1000000)) ms: $ok x 201, $bad other ($(sort "$out/run"/codes.* | uniq -c | tr -s ' \n' ' ' | sed 's/^ //; s/ $//'))"
	# Every request sent got a line: an answer, or 000 for none.
	((n == sent)) || fail "$name: $n responses to $sent requests (see $out/run)"
	((n >= 2 * per_client)) || fail "$name: only $n requests, want at least $((2 * per_client))"
	# A request in flight at the kill may fail; four clients, so at
	# most four of them.
	((bad <= 4)) || fail "$name: $bad requests failed, more than were in flight at the kill"

	if [[ -z $before ]] || ((before <= ${rc0[$victim]})); then
		fail "$name: responder $victim (pool $victim_pool) served nothing before the kill"
	fi
	for pid in "${all[@]:1}"; do
		n=$(rchar "$pid")
		if [[ -z $n ]]; then
			fail "$name: responder $pid (pool ${pool_of[$pid]}) died"
		elif ((n <= ${rc0[$pid]})); then
			fail "$name: responder $pid (pool ${pool_of[$pid]}) served nothing"
		else
			say "$name: responder $pid (pool ${pool_of[$pid]}) read $((n - ${rc0[$pid]})) bytes"
		fi
	done

	# multiwatch replaces the victim.
	for ((try = 0; try < 50; try++)); do
		for pid in $(mg_supervised_children "$victim_pool"); do
			[[ -z ${pool_of[$pid]:-} ]] && newpid=$pid
		done
		[[ -z $newpid ]] || break
		sleep 0.1
	done
	if [[ -z $newpid ]]; then
		fail "$name: no new responder in pool $victim_pool after the kill"
		return
	fi
	mg_pool_wait_accepting "$newpid"
	before=$(rchar "$newpid")
	# A balancer may leave the pool of a failed request out for a moment
	# (the Apache balancer's retry=): a few rounds, half a second apart.
	for ((try = 1; try <= 8; try++)); do
		clients "$url" 50 "$out/after.$try"
		wait "${client_pids[@]}" || true
		ok=$(cat "$out/after.$try"/codes.* | grep -c '^201$' || true)
		((ok == 200)) || fail "$name: after the restart, $ok of 200 requests got 201"
		n=$(rchar "$newpid")
		if [[ -n $n ]] && ((n > before)); then
			break
		fi
		sleep 0.5
	done
	if [[ -z $n ]] || ((n <= before)); then
		fail "$name: the new responder $newpid served nothing"
	else
		say "$name: multiwatch started responder $newpid in pool $victim_pool; it served requests (read $((n - before)) bytes)"
	fi
	say "$name: load test took $((($(date +%s%N) - t0) / 1000000)) ms"
}
