-- tests/bench/get.lua - wrk script: plain GET (downloads, static files).
--
--   [MG_BENCH_PATHS=FILE] wrk -t1 -c32 -d10s --latency -s get.lua URL
--
-- Environment: MG_BENCH_PATHS, optional, a file of request paths, one a
-- line: each request GETs a random one of them (downloads of random media
-- with their own tokens); without it every request GETs URL.
--
-- The done hook prints one machine-readable line that tests/bench/bench.sh
-- reads (latencies in microseconds).

local paths = nil
local file = os.getenv("MG_BENCH_PATHS")
if file ~= nil and file ~= "" then
	paths = {}
	for l in io.lines(file) do
		if l ~= "" then paths[#paths + 1] = l end
	end
	if #paths == 0 then error(file .. " is empty") end
end

function init(args)
	math.randomseed(os.time() + (tonumber(tostring({}):match("0x(%x+)"), 16) or 0))
end

if paths ~= nil then
	function request()
		return wrk.format("GET", paths[math.random(#paths)])
	end
end

function done(summary, latency, requests)
	local e = summary.errors
	io.write(string.format(
	    "MGBENCH requests=%d duration_us=%d bytes=%d p50_us=%d p99_us=%d " ..
	    "max_us=%d status_errors=%d connect=%d read=%d write=%d timeout=%d\n",
	    summary.requests, summary.duration, summary.bytes,
	    latency:percentile(50), latency:percentile(99), latency.max,
	    e.status, e.connect, e.read, e.write, e.timeout))
end
