-- tests/bench/post.lua - wrk script: POST with a bearer token and an empty
-- body, as a client asking mediagate for a download token does.
--
--   MG_BENCH_BEARER=<JWT> wrk -t1 -c32 -d10s --latency -s post.lua URL
--
-- Environment: MG_BENCH_BEARER, the bearer JWT (required).
--
-- wrk adds "Content-Length: 0" for the empty body; without it lighttpd
-- answers a POST with 411. The done hook prints one machine-readable line
-- that tests/bench/bench.sh reads (latencies in microseconds).

local bearer = os.getenv("MG_BENCH_BEARER")
if bearer == nil or bearer == "" then
	error("MG_BENCH_BEARER is not set")
end

wrk.method = "POST"
wrk.body = ""
wrk.headers["Authorization"] = "Bearer " .. bearer
wrk.headers["Accept"] = "application/json"

function done(summary, latency, requests)
	local e = summary.errors
	io.write(string.format(
	    "MGBENCH requests=%d duration_us=%d bytes=%d p50_us=%d p99_us=%d " ..
	    "max_us=%d status_errors=%d connect=%d read=%d write=%d timeout=%d\n",
	    summary.requests, summary.duration, summary.bytes,
	    latency:percentile(50), latency:percentile(99), latency.max,
	    e.status, e.connect, e.read, e.write, e.timeout))
end
