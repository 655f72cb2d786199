-- wrk script for bench/http/load.ts: no per-request hook (wrk's fast path stays on); when wrk ends, one JSON
-- line: completed requests, every kind of error wrk counts, bytes read and latency percentiles (µs).
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\n{"requests":%d,"durationUs":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50Us":%d,"p99Us":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
