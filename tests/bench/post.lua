-- tests/bench/post.lua - wrk script: POST with a bearer token and an empty
-- body, as a client asking mediagate for a download token does. Every
-- request names a random medium and carries a random bearer, so that
-- neither the database's cache nor any cache keyed by the bearer sees one
-- request over and over.
--
--   MG_BENCH_BEARERS=FILE MG_BENCH_PATHS=FILE wrk -t1 -c32 -d10s \
--       --latency -s post.lua URL
--
-- Environment: MG_BENCH_BEARERS, a file of bearer JWTs, one a line
-- (required); MG_BENCH_PATHS, a file of request paths, one a line
-- (required; e.g. /media/bench-42/download-token).
--
-- wrk adds "Content-Length: 0" for the empty body; without it lighttpd
-- answers a POST with 411. The done hook prints one machine-readable line
-- that tests/bench/bench.sh reads (latencies in microseconds).

local function lines(name)
	local path = os.getenv(name)
	if path == nil or path == "" then
		error(name .. " is not set")
	end
	local t = {}
	for l in io.lines(path) do
		if l ~= "" then t[#t + 1] = l end
	end
	if #t == 0 then error(path .. " is empty") end
	return t
end

local bearers = lines("MG_BENCH_BEARERS")
local paths = lines("MG_BENCH_PATHS")

function init(args)
	math.randomseed(os.time() + (tonumber(tostring({}):match("0x(%x+)"), 16) or 0))
end

function request()
	return wrk.format("POST", paths[math.random(#paths)], {
		["Authorization"] = "Bearer " .. bearers[math.random(#bearers)],
		["Accept"] = "application/json",
	}, "")
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
