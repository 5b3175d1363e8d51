# Shared helpers for run.sh and bench.sh (sourced).
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE="$ROOT/scripts/interop"
SIPP_DIR="$HERE/sipp"
KEFU_BIN=${KEFU_BIN:-$ROOT/target/release/kefu}
PW=${KEFU_DEMO_PW:-interop-secret-42}
# kefu reads every KEFU_* variable as a setting and refuses unknown ones: keep these two to ourselves.
export -n KEFU_BIN KEFU_DEMO_PW
HTTP_ADDR=${HTTP_ADDR:-127.0.0.1:18080}
SIP_HOST=127.0.0.1
SIP_PORT=${SIP_PORT:-15060}
SIP_ADDR="$SIP_HOST:$SIP_PORT"
WORK=$(mktemp -d /tmp/kefu-interop.XXXXXX)
DATA="$WORK/data"
mkdir -p "$DATA"
BG_PIDS=()
KEFU_PID=

cleanup() {
    local p
    for p in "${BG_PIDS[@]}" $KEFU_PID; do
        kill "$p" 2>/dev/null || true
    done
    for p in "${BG_PIDS[@]}" $KEFU_PID; do
        wait "$p" 2>/dev/null || true
    done
    echo "work dir (logs, traces): $WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_kefu() {
    [[ -x $KEFU_BIN ]] || { echo "FAIL: $KEFU_BIN missing (cargo build --release -p kefu)"; exit 1; }
    KEFU_LOG=${KEFU_LOG:-warn} "$KEFU_BIN" demo --data-dir "$DATA" --http "$HTTP_ADDR" --sip "$SIP_ADDR" \
        --log "${KEFU_LOG:-warn}" --demo-password "$PW" >>"$WORK/kefu.log" 2>&1 &
    KEFU_PID=$!
    local i
    for i in $(seq 1 100); do
        if curl -fsS "http://$HTTP_ADDR/readyz" >/dev/null 2>&1; then
            echo "kefu ready (pid $KEFU_PID, data $DATA)"
            return 0
        fi
        kill -0 "$KEFU_PID" 2>/dev/null || { echo "FAIL: kefu exited"; cat "$WORK/kefu.log"; exit 1; }
        sleep 0.2
    done
    echo "FAIL: kefu not ready after 20 s"; tail -50 "$WORK/kefu.log"; exit 1
}

stop_kefu() {
    [[ -n $KEFU_PID ]] || return 0
    kill "$KEFU_PID" 2>/dev/null || true
    wait "$KEFU_PID" 2>/dev/null || true
    KEFU_PID=
}

# sipp wrapper: run in $WORK (stat/trace files land there), no terminal.
# usage: run_sipp NAME args...   (logs: $WORK/NAME.{out,err.log,msg.log,stat.csv})
run_sipp() {
    local name=$1; shift
    (cd "$WORK" && exec sipp "$@" -trace_err -error_file "$WORK/$name.err.log" \
        -trace_msg -message_file "$WORK/$name.msg.log" \
        -trace_screen -screen_file "$WORK/$name.screen.log" \
        </dev/null >"$WORK/$name.out" 2>&1)
}

register_agent() { # usage: register_agent EXT PORT NAME
    run_sipp "$3" -sf "$SIPP_DIR/agent_register.xml" -s "$1" -au "$1" -ap "$PW" \
        -i "$SIP_HOST" -p "$2" -m 1 -timeout 10s -timeout_error "$SIP_ADDR"
}

token() {
    curl -fsS -X POST "http://$HTTP_ADDR/api/v1/auth/login" -H 'content-type: application/json' \
        -d "{\"username\":\"super\",\"password\":\"$PW\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])'
}

kefu_cpu_ticks() { # utime+stime of kefu
    awk '{print $14+$15}' "/proc/$KEFU_PID/stat"
}
kefu_rss_kb() {
    awk '/VmRSS/{print $2}' "/proc/$KEFU_PID/status"
}

# value of column $2 in the last line of sipp's -trace_stat CSV $1
stat_col() {
    python3 - "$1" "$2" <<'PY'
import csv, sys
rows = list(csv.reader(open(sys.argv[1]), delimiter=";"))
print(rows[-1][rows[0].index(sys.argv[2])])
PY
}
