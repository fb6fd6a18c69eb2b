#!/usr/bin/env bash
# Load benchmark of POST /webhook (issue 6 item 9): candle alerts at 64 connections
# over many symbols against the release `kitebreak serve` binary (paper broker, a
# fresh data directory, a webhook secret set, so every alert takes the
# authenticated path users run; logging at its default level), on loopback. Prints
# requests/s, latency percentiles, the server's CPU and bytes written per request,
# then checks that every answered alert is on disk.
#
#   bench/load.sh                    # 60 s, 64 connections, 2 wrk threads
#   DURATION=180s SHARDS=4 bench/load.sh
#
# Installs wrk with apt-get if it is missing.
set -euo pipefail

DURATION=${DURATION:-60s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
SYMBOLS=${SYMBOLS:-512}
SHARDS=${SHARDS:-64}
PORT=${PORT:-18080}
root=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}

if ! command -v wrk >/dev/null; then
    echo "installing wrk (apt-get)" >&2
    apt-get install -y wrk >/dev/null || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
fi

(cd "$root" && cargo build --release -p kitebreak --bin kitebreak)

data=$(mktemp -d)
# The secret alerts must carry as "passphrase" (read by candles.lua, too).
export KITEBREAK_WEBHOOK_SECRET=${KITEBREAK_WEBHOOK_SECRET:-load-bench-secret}
# Run from the data directory so no kitebreak.toml of the caller's is picked up.
# The market clock is off so the run does the same work at any hour (with it on,
# every breakout entry is refused outside NSE hours and no trade opens).
(cd "$data" && KITEBREAK_SERVER__SHARDS=$SHARDS KITEBREAK_MARKET__ENFORCE=false exec "$target/release/kitebreak" serve \
    --broker paper --listen "127.0.0.1:$PORT" --data-dir "$data" \
    >"$data/server.out" 2>"$data/server.log") &
server=$!
cleanup() {
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
    rm -rf "$data"
}
trap cleanup EXIT

for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$PORT/" >/dev/null && break
    sleep 0.1
done

# Server CPU time (user+system, clock ticks): on a shared machine the CPU cost per
# request is steadier than the wall-clock rate.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$server/stat"; }
# Bytes passed to write calls (WAL frames, checkpoints, and the replies on the sockets).
written() { awk '/^wchar:/ {print $2}' "/proc/$server/io"; }
ticks_per_second=$(getconf CLK_TCK)

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(uname -sr)"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION, $SYMBOLS symbols, $SHARDS shards"
cpu_before=$(cpu_ticks)
written_before=$(written)
(cd "$root" && BENCH_PASSPHRASE=$KITEBREAK_WEBHOOK_SECRET BENCH_THREADS=$THREADS BENCH_SYMBOLS=$SYMBOLS \
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --timeout 10s -s bench/candles.lua \
    "http://127.0.0.1:$PORT/webhook") | tee "$data/wrk.out"
cpu_after=$(cpu_ticks)
written_after=$(written)
requests=$(awk '/^requests:/ {print $2}' "$data/wrk.out")
awk -v b=$((written_after - written_before)) -v n="$requests" 'BEGIN {
    printf "server wrote: %.1f MB = %.0f bytes/request (WAL, checkpoints, replies)\n", b / 1e6, b / n
}'
awk -v t=$((cpu_after - cpu_before)) -v hz="$ticks_per_second" -v n="$requests" 'BEGIN {
    s = t / hz; us = s * 1e6 / n
    printf "server CPU: %.1f s for %d requests = %.0f us/request (%.0f requests/s per fully used core)\n", s, n, us, 1e6 / us
}'
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

curl -sf "http://127.0.0.1:$PORT/metrics" | awk '
    /^kitebreak_store_transactions / {t = $2}
    /^kitebreak_store_jobs / {j = $2}
    END { if (t > 0) printf "group commit: %d jobs in %d transactions = %.1f jobs per fsync\n", j, t, j / t }'

# Stop cleanly (graceful shutdown drains and flushes), then count what is on disk.
kill -TERM "$server"
wait "$server" || true
if command -v sqlite3 >/dev/null; then
    # A symbol's candles are numbered from 0 (the bench never resets one), and the
    # symbols row is not rewritten per candle: count by the newest stored seq.
    echo "candles durable in the database: $(sqlite3 "$data/kitebreak.db" \
        'SELECT SUM(n) FROM (SELECT MAX(seq) + 1 AS n FROM candles GROUP BY symbol)')"
    echo "server log: $(wc -l <"$data/server.log") lines, $(grep -c -E ' (WARN|ERROR) ' "$data/server.log" || true) warnings or errors"
fi
