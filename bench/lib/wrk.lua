-- The wrk script of bench/lib/wrk.ts: counts every response whose status is not 2xx (wrk itself counts
-- only those of 400 and above), and prints one JSON line at the end with what wrk counted, the measured
-- latency's percentiles in microseconds, and wrk's own CPU (utime + stime of /proc/self/stat, clock ticks).
local ffi = require("ffi")

-- wrk 4's histogram (src/stats.h): one counter per microsecond up to the timeout.
ffi.cdef[[
typedef struct { uint64_t count; uint64_t limit; uint64_t min; uint64_t max; uint64_t data[]; } sockshard_wrk_stats;
]]

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

-- Before done(), wrk "corrects" its histogram for coordinated omission (stats_correct in src/stats.c):
-- with e = runtime / (requests / connections), every latency n of 2e or more adds samples at n - e,
-- n - 2e, ... while above e, as if each connection had kept sending every e. That invents thousands of
-- samples for one stall of a closed-loop client, so this undoes it (from the top down, the samples added
-- at a value are the measured ones at the values above it by multiples of e): the percentiles are of
-- the response times measured, as in the other benchmarks. Returns samples, p50, p99, max, and whether
-- the histogram was what this expects (no negative count).
local function measured(latency, summary, connections)
  local stats = ffi.cast("sockshard_wrk_stats **", latency)[0]
  if stats.count == 0 then
    return 0, 0, 0, 0, true
  end
  local low, high = tonumber(stats.min), tonumber(stats.max)
  local per_connection = math.floor(summary.requests / connections)
  local e = per_connection > 0 and math.floor(summary.duration / per_connection) or 0
  local above = {} -- by n mod e: the measured samples at values above the current one
  local values, counts, total, consistent = {}, {}, 0, true
  for n = high, low, -1 do
    local count = tonumber(stats.data[n])
    if count > 0 then
      if e > 0 and n > e then
        local residue = n % e
        count = count - (above[residue] or 0)
        above[residue] = (above[residue] or 0) + count
      end
      if count < 0 then
        consistent = false
      elseif count > 0 then
        values[#values + 1] = n
        counts[#counts + 1] = count
        total = total + count
      end
    end
  end
  local function percentile(p)
    local rank, seen = math.max(1, math.ceil(p / 100 * total)), 0
    for i = #values, 1, -1 do -- ascending values
      seen = seen + counts[i]
      if seen >= rank then
        return values[i]
      end
    end
    return values[1]
  end
  if total == 0 then
    return 0, 0, 0, 0, consistent
  end
  return total, percentile(50), percentile(99), values[1], consistent
end

function done(summary, latency, requests)
  local bad = 0
  for _, thread in ipairs(threads) do
    bad = bad + thread:get("non2xx")
  end
  local samples, p50, p99, max, consistent =
    measured(latency, summary, tonumber(os.getenv("SOCKSHARD_WRK_CONNECTIONS")))
  local errors = summary.errors
  io.write(string.format(
    '{"requests":%d,"durationUs":%d,"non2xx":%d,"connect":%d,"read":%d,"write":%d,"timeout":%d,"samples":%d,"consistent":%s,"p50Us":%d,"p99Us":%d,"maxUs":%d,"cpuTicks":%d}\n',
    summary.requests, summary.duration, bad, errors.connect, errors.read, errors.write, errors.timeout,
    samples, tostring(consistent), p50, p99, max, cpu_ticks()))
end
