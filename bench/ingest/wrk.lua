-- wrk script for the ingest benchmark (bench/ingest/README.md).
-- Every thread cycles through its share (line % threads) of the pre-signed
-- requests in $BENCH_REQUESTS (gen_requests.py), built once in init(), so each
-- request is a distinct contact. Statuses are counted in response() and the
-- result is printed by done() as one JSON line starting "BENCH ".
-- The same script drives ingest and nginx, so wrk does the same work for both.
local threads = {}
local nthreads = tonumber(os.getenv("BENCH_THREADS") or "1")
local gateway = os.getenv("BENCH_GATEWAY") or "bench"
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  reqs = {}
  statuses = {}
  wrapped = 0
  pos = 0
  local n = 0
  for line in io.lines(os.getenv("BENCH_REQUESTS")) do
    if n % nthreads == id then
      local tab = line:find("\t", 1, true)
      reqs[#reqs + 1] = wrk.format("POST", wrk.path, {
        ["Content-Type"] = "application/json",
        ["X-Charter-Gateway"] = gateway,
        ["X-Charter-Signature"] = line:sub(1, tab - 1),
      }, line:sub(tab + 1))
    end
    n = n + 1
  end
end

function request()
  pos = pos + 1
  if pos > #reqs then
    pos = 1
    wrapped = wrapped + 1 -- repeats are duplicates (200) for ingest: reported
  end
  return reqs[pos]
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local counts, wraps = {}, 0
  for _, t in ipairs(threads) do
    for s, c in pairs(t:get("statuses")) do counts[s] = (counts[s] or 0) + c end
    wraps = wraps + t:get("wrapped")
  end
  local parts = {}
  for s, c in pairs(counts) do parts[#parts + 1] = string.format('"%d":%d', s, c) end
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests":%d,"duration_us":%d,"rps":%.1f,"p50_ms":%.3f,"p90_ms":%.3f,'
      .. '"p99_ms":%.3f,"max_ms":%.3f,"errors":{"connect":%d,"read":%d,"write":%d,'
      .. '"status":%d,"timeout":%d},"statuses":{%s},"wrapped":%d}\n',
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000, e.connect, e.read, e.write,
    e.status, e.timeout, table.concat(parts, ","), wraps))
end
