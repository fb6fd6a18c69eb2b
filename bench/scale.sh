#!/usr/bin/env bash
# Scale benchmarks of issue 5 item 11 that need no ticker:
#   1. memory: RSS of the server holding SYMBOLS symbols, each with its candle
#      history filled (CANDLES candles per symbol posted to POST /webhook);
#   2. recovery: the server is stopped and started again on that database, and the
#      time until it answers GET / (every symbol rebuilt, open trades watched) is
#      measured, with the RSS after recovery.
#
#   bench/scale.sh                       # 10,000 symbols x 60 candles
#   SYMBOLS=2000 CANDLES=60 bench/scale.sh
#   KEEP_DATA=1 bench/scale.sh           # leave the database behind (path printed)
#
#   SERVER=bench_serve bench/scale.sh    # the bench_serve example instead (older rows)
#
# Installs wrk with apt-get if missing; sqlite3 (optional) counts what is on disk.
# The server is the real `kitebreak serve` (release build, paper broker, the product's
# defaults, 64 shards) with a temporary data directory and a config file that only
# sets the port, the directory and `[market] enforce = false` (so entries are not
# refused outside NSE hours and trades open and close as in the older rows). With
# SERVER=bench_serve it is the `bench_serve` example of kitebreak-server instead.
set -euo pipefail

SYMBOLS=${SYMBOLS:-10000}
CANDLES=${CANDLES:-60}
SHARDS=${SHARDS:-64}
PORT=${PORT:-18090}
root=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
url="http://127.0.0.1:$PORT"

if ! command -v wrk >/dev/null; then
    echo "installing wrk (apt-get)" >&2
    apt-get install -y wrk >/dev/null || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
fi
SERVER=${SERVER:-kitebreak}
case "$SERVER" in
kitebreak) (cd "$root" && cargo build --release -p kitebreak --bin kitebreak) ;;
bench_serve) (cd "$root" && cargo build --release -p kitebreak-server --example bench_serve) ;;
*) echo "SERVER is kitebreak or bench_serve" >&2; exit 2 ;;
esac

data=$(mktemp -d)
cat >"$data/kitebreak.toml" <<TOML
[server]
listen = "127.0.0.1:$PORT"
data_dir = "$data"
shards = $SHARDS

[market]
enforce = false
TOML
server=
start_server() {
    if [ "$SERVER" = kitebreak ]; then
        "$target/release/kitebreak" --config "$data/kitebreak.toml" serve >>"$data/server.log" 2>&1 &
    else
        "$target/release/examples/bench_serve" "127.0.0.1:$PORT" "$data" "$SHARDS" 2>>"$data/server.log" &
    fi
    server=$!
}
stop_server() {
    kill -TERM "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
}
cleanup() {
    stop_server
    if [ -n "${KEEP_DATA:-}" ]; then echo "data kept in $data"; else rm -rf "$data"; fi
}
trap cleanup EXIT

# Milliseconds since the epoch.
now_ms() { echo $(($(date +%s%N) / 1000000)); }
# Waits until GET / answers; prints the body.
wait_ready() {
    for _ in $(seq 1 6000); do
        if body=$(curl -sf --max-time 60 "$url/"); then
            echo "$body"
            return 0
        fi
        sleep 0.01
    done
    echo "server did not come up" >&2
    return 1
}
memory() {
    grep -E '^(VmRSS|VmHWM)' "/proc/$server/status" | awk '{printf "%s %.1f MB  ", $1, $2 / 1024}'
    # Anonymous (heap) vs file-backed (the binary, SQLite's shared memory) RSS.
    awk '/^(Rss|Anonymous|Private_Dirty):/ {printf "%s %.1f MB  ", $1, $2 / 1024}' "/proc/$server/smaps_rollup"
    echo
}
on_disk() {
    if command -v sqlite3 >/dev/null; then
        sqlite3 "file:$data/kitebreak.db?mode=ro" \
            "SELECT (SELECT COUNT(*) FROM symbols) || ' symbols, ' || (SELECT COUNT(*) FROM candles) || ' candles, ' || (SELECT COUNT(*) FROM open_trades) || ' open trades, ' || (SELECT COUNT(*) FROM closed_trades) || ' closed trades on disk'"
        ls -l "$data"/kitebreak.db* | awk '{printf "  %s %.1f MB\n", $9, $5 / 1048576}'
    fi
}

echo "server: $SERVER"
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(uname -sr)"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
start_server
wait_ready >/dev/null
echo "empty server:            $(memory)"

echo "filling $SYMBOLS symbols x $CANDLES candles through POST /webhook (wrk -t2 -c64)"
filled_at=$(now_ms)
(cd "$root" && FILL_SYMBOLS=$SYMBOLS FILL_CANDLES=$CANDLES FILL_THREADS=2 \
    exec wrk -t2 -c64 -d3600s --timeout 30s -s bench/fill.lua "$url/webhook") >"$data/wrk.out" &
filler=$!
# wrk runs for its duration whatever the script does: stop it (SIGINT, so it
# prints its summary) once the server has applied every candle.
applied() {
    curl -sf "$url/metrics" | awk '/^kitebreak_webhook_alerts_total\{.*candle_applied/ {n = $2} END {print n + 0}'
}
while [ "$(applied)" -lt $((SYMBOLS * CANDLES)) ]; do
    kill -0 "$filler" 2>/dev/null || { echo "wrk stopped early" >&2; exit 1; }
    sleep 1
done
kill -INT "$filler"
wait "$filler" || true
echo "filled in $(( ($(now_ms) - filled_at) / 1000 )) s: $(grep -E 'requests in' "$data/wrk.out" | xargs)"
grep -E 'Non-2xx|Socket errors' "$data/wrk.out" || true
health=$(curl -sf "$url/")
echo "GET /: $health"
echo "filled server:           $(memory)"
# Freed memory goes back to the OS within about a second (jemalloc's decay): the
# same figures once the server has been idle for SETTLE seconds.
SETTLE=${SETTLE:-5}
sleep "$SETTLE"
echo "filled, ${SETTLE} s idle:      $(memory)"

stop_server
on_disk
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
started_at=$(now_ms)
start_server
health=$(wait_ready)
recovered_ms=$(( $(now_ms) - started_at ))
echo "recovery: GET / answered ${recovered_ms} ms after the restart: $health"
echo "recovered server:        $(memory)"
sleep "$SETTLE"
echo "recovered, ${SETTLE} s idle:   $(memory)"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
