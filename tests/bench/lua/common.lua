-- Shared by the wrk scripts: every thread counts its answers by status, and done() prints one
-- JSON line (prefixed BENCH_JSON) that tests/bench/http_load.py reads.
local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

-- The bearer token of one of this thread's share of the terminals, in turn: the requests are
-- spread over all the tills the harness made, as 32 tills would send them.
function terminal_token(n)
  local share = math.floor(#data.pos_tokens / tonumber(os.getenv("BENCH_THREADS")))
  return data.pos_tokens[id * share + (n % share) + 1]
end

function count_response(status)
  if status >= 200 and status < 300 then
    ok = ok + 1
  else
    failed = failed + 1
    by_status[status] = (by_status[status] or 0) + 1
  end
end

function response(status, headers, body)
  count_response(status)
end

function done(summary, latency, requests)
  local ok_total, failed_total, special_total = 0, 0, 0
  local merged = {}
  for _, thread in ipairs(threads) do
    ok_total = ok_total + thread:get("ok")
    failed_total = failed_total + thread:get("failed")
    special_total = special_total + (thread:get("special") or 0)
    -- summed over the threads: one key per status, or the JSON would hold it twice
    for status, n in pairs(thread:get("by_status")) do
      merged[status] = (merged[status] or 0) + n
    end
  end
  local statuses = {}
  for status, n in pairs(merged) do
    statuses[#statuses + 1] = string.format('"%d": %d', status, n)
  end
  local errors = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "ok": %d, "non_2xx": %d, ' ..
    '"special": %d, "socket_errors": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, ' ..
    '"max_us": %d, "statuses": {%s}}\n',
    summary.requests, summary.duration, ok_total, failed_total, special_total,
    errors.connect + errors.read + errors.write + errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    table.concat(statuses, ", ")))
end
