-- tests/bench/get.lua - wrk script: plain GET (downloads, static files).
--
--   wrk -t1 -c32 -d10s --latency -s get.lua URL
--
-- The done hook prints one machine-readable line that tests/bench/bench.sh
-- reads (latencies in microseconds).

function done(summary, latency, requests)
	local e = summary.errors
	io.write(string.format(
	    "MGBENCH requests=%d duration_us=%d bytes=%d p50_us=%d p99_us=%d " ..
	    "max_us=%d status_errors=%d connect=%d read=%d write=%d timeout=%d\n",
	    summary.requests, summary.duration, summary.bytes,
	    latency:percentile(50), latency:percentile(99), latency.max,
	    e.status, e.connect, e.read, e.write, e.timeout))
end
