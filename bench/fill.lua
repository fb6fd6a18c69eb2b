-- wrk script for bench/scale.sh: fills FILL_SYMBOLS symbols with FILL_CANDLES
-- candles each through POST /webhook, then repeats one alert (a duplicate)
-- until bench/scale.sh, watching the server's metrics, stops wrk. Alert n goes to symbol
-- n % symbols at minute n / symbols, so every alert is new and each symbol's
-- history fills evenly; the prices wiggle so levels form and some trades open.

local symbols = tonumber(os.getenv("FILL_SYMBOLS") or "10000")
local total = symbols * tonumber(os.getenv("FILL_CANDLES") or "60")
local threads = tonumber(os.getenv("FILL_THREADS") or "2")
local counter = 0
local next_thread = 0

function setup(thread)
  thread:set("thread_id", next_thread)
  next_thread = next_thread + 1
end

function init(args)
  counter = 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "text/plain"
end

local function alert(n)
  local symbol = "SYM" .. (n % symbols)
  local minute = math.floor(n / symbols)
  local base = 1000 + (minute * 7 + n) % 40
  return string.format(
    '{"symbol":"%s","high":%d.5,"low":%d.5,"close":%d,"time":%d}',
    symbol, base + 2, base - 2, base, 1700000000 + minute * 60)
end

function request()
  local n = counter * threads + thread_id
  counter = counter + 1
  if n >= total then
    -- Past the end: repeat this thread's first alert (acknowledged as a
    -- duplicate) until scale.sh stops wrk.
    n = thread_id
  end
  return wrk.format(nil, "/webhook", nil, alert(n))
end

