#!/usr/bin/env bash
# Concurrent-call benchmark with media: CALLS calls from a sipp caller streaming G.711 u-law
# through the `local` trunk to agent 1001 (a sipp UAS echoing the RTP back), all up at once,
# kefu relaying both ways (and recording when RECORDING=on). Measured over a 10 s window while
# every call is up: kefu's CPU, the RTP packets it received and sent against the 100 packets/s
# per call a perfect relay handles (50 in and 50 out on each leg), datagrams the kernel dropped
# on kefu's sockets, RSS, and call failures. (sipp's streamer never reads what comes back to
# the caller, so drops are counted on kefu's sockets only.)
#   usage: scripts/interop/bench_rtp.sh CALLS [on|off]   (env RATE: call setup rate, default 100/s)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
CALLS=${1:?usage: bench_rtp.sh CALLS [on|off]}
REC=${2:-off}
RATE=${RATE:-100}
WINDOW=10
RAMP=$(( (CALLS + RATE - 1) / RATE ))
HOLD=$(( RAMP + WINDOW + 12 ))
HZ=$(getconf CLK_TCK)
[[ $REC = on ]] && export KEFU_RECORDING=true || export KEFU_RECORDING=false

start_kefu
register_agent 1001 5091 rtp_register || { echo "FAIL: agent REGISTER"; exit 1; }
python3 - "$WORK/tone.ulaw" <<'PY'
import math, sys
def ulaw(x):  # G.711 u-law encoder
    sign = 0x80 if x < 0 else 0
    x = min(abs(x), 32635) + 0x84
    exp = 7
    while exp > 0 and not x & (0x4000 >> (7 - exp)):
        exp -= 1
    return ~(sign | exp << 4 | (x >> (exp + 3)) & 0x0F) & 0xFF
open(sys.argv[1], "wb").write(bytes(ulaw(int(8000 * math.sin(2 * math.pi * 440 * i / 8000))) for i in range(16000)))
PY
metric() { # value of one /metrics sample
    curl -fsS "http://$HTTP_ADDR/metrics" | awk -v k="$1" '$1 == k {print $2}'
}
rss0=$(kefu_rss_kb)

run_sipp rtp_agent -sf "$SIPP_DIR/agent_uas.xml" -i "$SIP_HOST" -p 5091 -mp 16000 -rtp_echo -m "$CALLS" \
    -max_socket 8192 -rtp_buffsize 4194304 "$SIP_ADDR" &
agent=$!; BG_PIDS+=("$agent")
sleep 0.5
run_sipp rtp_caller -sf "$SIPP_DIR/caller_rtp.xml" -s 5550000 -i "$SIP_HOST" -p 5092 -mp 17000 \
    -r "$RATE" -m "$CALLS" -l "$CALLS" -d $((HOLD * 1000)) -rtp_threadtasks 50 -rtp_buffsize 4194304 \
    -timeout $((HOLD + 60))s -timeout_error -trace_stat -stf "$WORK/rtp_caller.csv" -fd 1 "$SIP_ADDR" &
caller=$!; BG_PIDS+=("$caller")

sleep $((RAMP + 2))
up=$(metric 'kefu_sip_objects{what="calls"}')
t0=$(kefu_cpu_ticks); r0=$(metric 'kefu_rtp_packets_total{what="received"}'); s0=$(metric 'kefu_rtp_packets_total{what="sent"}')
w0=$(date +%s.%N)
kefu_udp_drops() { # datagrams the kernel dropped on kefu's own sockets (full receive buffers)
    python3 - "$KEFU_PID" <<'PY'
import os, sys
pid = sys.argv[1]
inodes = set()
for fd in os.listdir(f"/proc/{pid}/fd"):
    try:
        link = os.readlink(f"/proc/{pid}/fd/{fd}")
    except OSError:
        continue
    if link.startswith("socket:["):
        inodes.add(link[8:-1])
total = 0
for table in ("/proc/net/udp", "/proc/net/udp6"):
    for line in open(table).read().splitlines()[1:]:
        f = line.split()
        if f[9] in inodes:
            total += int(f[-1])
print(total)
PY
}
e0=$(kefu_udp_drops)
sleep $WINDOW
e1=$(kefu_udp_drops)
t1=$(kefu_cpu_ticks); r1=$(metric 'kefu_rtp_packets_total{what="received"}'); s1=$(metric 'kefu_rtp_packets_total{what="sent"}')
w1=$(date +%s.%N)
up1=$(metric 'kefu_sip_objects{what="calls"}')
rss=$(kefu_rss_kb)
wait "$caller" || true
wait "$agent" || true
ok=$(stat_col "$WORK/rtp_caller.csv" "SuccessfulCall(C)")
ko=$(stat_col "$WORK/rtp_caller.csv" "FailedCall(C)")
echo "| calls | recording | calls up (window start/end) | successful | failed | RTP in pkt/s (ideal) | RTP out pkt/s | kefu CPU % | RSS MiB (idle → loaded) | RSS per 100 calls MiB | drops/s on kefu's sockets |"
echo "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
python3 - <<PY
wall = $w1 - $w0
rin, rout = ($r1 - $r0) / wall, ($s1 - $s0) / wall
cpu = 100 * ($t1 - $t0) / $HZ / wall
ideal = 100 * $CALLS
print(f"| $CALLS | $REC | $up / $up1 | $ok | $ko | {rin:,.0f} ({ideal:,}) | {rout:,.0f} | {cpu:.0f} | {$rss0/1024:.0f} → {$rss/1024:.0f} | {($rss-$rss0)/1024/$CALLS*100:.1f} | {($e1 - $e0) / wall:,.0f} |")
PY
