-- wrk script: POST /webhook candle alerts, as TradingView sends them (JSON with
-- Content-Type text/plain), spread over many symbols with increasing candle times,
-- so every request is a new candle that the engine applies and commits.
--
-- Thread t sends alert numbers n = k * threads + t; alert n goes to symbol
-- n % symbols at minute n / symbols, so no two alerts share a symbol and a time
-- (none is a duplicate) and each symbol's times increase.

local symbols = tonumber(os.getenv("BENCH_SYMBOLS") or "512")
local counter = 0
-- Only the setup state counts threads; each thread's own copy of the script gets
-- its `thread_id` global from `thread:set` (a `local` here would shadow it).
local next_thread = 0
local threads = tonumber(os.getenv("BENCH_THREADS") or "2")
-- The webhook secret, sent in the body as TradingView does (empty: none).
local passphrase = os.getenv("BENCH_PASSPHRASE") or ""
local secret = ""
if passphrase ~= "" then
  secret = string.format(',"passphrase":"%s"', passphrase)
end

function setup(thread)
  thread:set("thread_id", next_thread)
  next_thread = next_thread + 1
end

function init(args)
  counter = 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "text/plain"
end

function request()
  counter = counter + 1
  local n = counter * threads + thread_id
  local symbol = "SYM" .. (n % symbols)
  local minute = math.floor(n / symbols)
  -- A deterministic wiggle around 1000 so levels form and break now and then.
  local base = 1000 + (minute * 7 + n) % 40
  local body = string.format(
    '{"symbol":"%s","high":%d.5,"low":%d.5,"close":%d,"time":%d%s}',
    symbol, base + 2, base - 2, base, 1700000000 + minute * 60, secret)
  return wrk.format(nil, "/webhook", nil, body)
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format("requests: %d in %.1f s = %.0f req/s\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6)))
  io.write(string.format("non-2xx: %d, socket errors: connect %d read %d write %d timeout %d\n",
    errors.status, errors.connect, errors.read, errors.write, errors.timeout))
  for _, p in pairs({50, 90, 99, 99.9}) do
    io.write(string.format("latency p%s: %.2f ms\n", p, latency:percentile(p) / 1000))
  end
  io.write(string.format("latency max: %.2f ms, mean %.2f ms\n", latency.max / 1000, latency.mean / 1000))
end
