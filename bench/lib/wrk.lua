-- The wrk script of bench/lib/wrk.ts: counts every response whose status is not 2xx (wrk itself counts
-- only those of 400 and above), and prints one JSON line at the end with what wrk counted, latency in
-- microseconds, and wrk's own CPU (utime + stime of /proc/self/stat, clock ticks, every thread of it).
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  non2xx = 0
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  end
end

local function cpu_ticks()
  local file = io.open("/proc/self/stat", "r")
  if file == nil then
    return -1
  end
  local stat = file:read("*a")
  file:close()
  -- proc(5): the fields after the command's ')' start at field 3; utime is field 14, stime 15.
  local fields = {}
  for field in stat:sub(stat:find("%)[^%)]*$") + 2):gmatch("%S+") do
    fields[#fields + 1] = field
  end
  return tonumber(fields[12]) + tonumber(fields[13])
end

function done(summary, latency, requests)
  local bad = 0
  for _, thread in ipairs(threads) do
    bad = bad + thread:get("non2xx")
  end
  local errors = summary.errors
  io.write(string.format(
    '{"requests":%d,"durationUs":%d,"non2xx":%d,"connect":%d,"read":%d,"write":%d,"timeout":%d,"p50Us":%d,"p99Us":%d,"cpuTicks":%d}\n',
    summary.requests, summary.duration, bad, errors.connect, errors.read, errors.write, errors.timeout,
    latency:percentile(50), latency:percentile(99), cpu_ticks()))
end
