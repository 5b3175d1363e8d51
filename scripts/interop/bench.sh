#!/usr/bin/env bash
# Call-rate benchmark of kefu's SIP B2BUA path: for each RATE (calls/s), 10 s of 1 s calls
# from sipp's built-in uac through the `local` trunk to agent 1001 (a sipp UAS answering at
# once). Reports sipp's counts, call-setup latency (INVITE sent → 200 OK received at the
# caller, from sipp's message traces; it includes the agent's own answer time, INVITE
# received → 200 OK sent at the agent, shown beside it), and kefu's CPU time per call and RSS.
#   usage: scripts/interop/bench.sh [RATE...]   (default 100 200 300 400 500)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
RATES=("$@"); [[ ${#RATES[@]} -gt 0 ]] || RATES=(100 200 300 400 500)
SECS=${BENCH_SECS:-10}
HZ=$(getconf CLK_TCK)

start_kefu
register_agent 1001 5091 bench_register || { echo "FAIL: agent REGISTER"; exit 1; }

TABLE="| rate (calls/s) | calls | successful | failed | caller retrans | agent retrans | setup p50 / p99 / max ms (agent's own p50 / p99) | kefu CPU ms/call | kefu CPU % | kefu RSS MiB |
|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for rate in "${RATES[@]}"; do
    n=$((rate * SECS))
    run_sipp "agent_$rate" -sf "$SIPP_DIR/agent_uas.xml" -i "$SIP_HOST" -p 5091 -mp 16000 -m "$n" \
        -max_socket 4096 -trace_stat -stf "$WORK/agent_$rate.csv" -fd 1 "$SIP_ADDR" &
    agent=$!; BG_PIDS+=("$agent")
    sleep 0.5
    t0=$(kefu_cpu_ticks); w0=$(date +%s.%N)
    run_sipp "caller_$rate" -sn uac -s 5550000 -i "$SIP_HOST" -p 5092 -mp 17000 \
        -r "$rate" -d 1000 -m "$n" -timeout $((SECS + 60))s -timeout_error \
        -trace_stat -stf "$WORK/caller_$rate.csv" -fd 1 "$SIP_ADDR" || true
    sleep 3   # let kefu finish BYEs, timewaits and recordings
    t1=$(kefu_cpu_ticks); w1=$(date +%s.%N)
    kill "$agent" 2>/dev/null || true; wait "$agent" 2>/dev/null || true
    ok=$(stat_col "$WORK/caller_$rate.csv" "SuccessfulCall(C)")
    ko=$(stat_col "$WORK/caller_$rate.csv" "FailedCall(C)")
    rc=$(stat_col "$WORK/caller_$rate.csv" "Retransmissions(C)")
    ra=$(stat_col "$WORK/agent_$rate.csv" "Retransmissions(C)")
    rss=$(kefu_rss_kb)
    setup=$(python3 "$HERE/setup_latency.py" "$WORK/caller_$rate.msg.log" "$WORK/agent_$rate.msg.log")
    row=$(python3 -c "
t=($t1-$t0)/$HZ; n=max($ok+$ko,1); wall=$w1-$w0
print(f'| $rate | $n | $ok | $ko | $rc | $ra | $setup | {t*1000/n:.3f} | {100*t/wall:.1f} | {$rss/1024:.1f} |')")
    echo "$row"
    TABLE+=$'\n'"$row"
    sleep 2
done
echo
echo "$TABLE"
