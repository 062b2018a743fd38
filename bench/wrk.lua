-- Counts what wrk's own summary does not: answers that are not 2xx (wrk counts only
-- >= 400) and answers without Cruddur's X-Trace-Id; prints the summary as one JSON line.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  non2xx, untraced = 0, 0
end

function response(status, headers, body)
  if status < 200 or status > 299 then non2xx = non2xx + 1 end
  if headers["X-Trace-Id"] == nil then untraced = untraced + 1 end
end

function done(summary, latency, requests)
  local non2xx, untraced = 0, 0
  for _, thread in ipairs(threads) do
    non2xx = non2xx + thread:get("non2xx")
    untraced = untraced + thread:get("untraced")
  end
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "non2xx": %d, "untraced": %d, ' ..
    '"socket_errors": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), non2xx, untraced,
    e.connect + e.read + e.write + e.timeout))
end
