#!/usr/bin/env bash
# The demo hotline end to end with sipp (issue 5's golden path on the real binary):
#   agent 1001 (sipp UAS, RTP echo) signs in and goes ready through the API; caller A dials
#   4000 through the `local` trunk, presses 1 (RFC 4733) and talks to 1001; caller B does the
#   same 3 s later and waits in the complaints queue, hearing its position; when A hangs up
#   and 1001 ends after-call work, 1001 is offered B, answers, and B hangs up after talking. The event log must hold B's
#   whole story and both calls must be recorded.
# The demo hotline keeps office hours (China time); the script first opens it round the clock
# through the flows API, as an administrator would for a 24/7 line.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

FAILS=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }

start_kefu
SUPER=$(token)
login() { curl -fsS -X POST "http://$HTTP_ADDR/api/v1/auth/login" -H 'content-type: application/json' \
    -d "{\"username\":\"$1\",\"password\":\"$PW\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])'; }
ADMIN=$(login admin)
AGENT=$(login 1001)
api() { # usage: api TOKEN METHOD PATH [JSON]
    if [[ $# -ge 4 ]]; then
        curl -fsS -X "$2" "http://$HTTP_ADDR$3" -H "authorization: Bearer $1" -H 'content-type: application/json' -d "$4"
    else
        curl -fsS -X "$2" "http://$HTTP_ADDR$3" -H "authorization: Bearer $1"
    fi
}

# --- open the hotline round the clock ------------------------------------------------------
flow=$(api "$ADMIN" GET /api/v1/ivr/flows/hotline | python3 -c '
import json, sys
d = json.load(sys.stdin)
flow = d["flow"]
flow["nodes"]["hours"]["weekly"] = [{"days": [1, 2, 3, 4, 5, 6, 7], "from": "00:00", "to": "24:00"}]
flow["nodes"]["hours"]["holidays"] = []
print(json.dumps({"flow": flow, "numbers": d["numbers"]}))')
if api "$ADMIN" PUT /api/v1/ivr/flows/hotline "$flow" >/dev/null; then pass "hotline opened 24/7 through the API"; else fail "PUT flow"; fi

# --- agent 1001: registered sipp UAS, signed in and ready -----------------------------------
register_agent 1001 5191 h_register || fail "agent REGISTER"
state=$(api "$AGENT" PUT /api/v1/agents/me/state '{"state":"ready"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')
[[ $state == ready ]] && pass "1001 ready in the ACD" || fail "1001 state $state"
run_sipp h_agent -sf "$SIPP_DIR/agent_uas.xml" -i "$SIP_HOST" -p 5191 -mp 16200 -rtp_echo -m 2 \
    -timeout 60s -timeout_error "$SIP_ADDR" &
AGENT_PID=$!; BG_PIDS+=("$AGENT_PID")
sleep 0.5

# --- callers A (12 s on the line) and B (25 s) -------------------------------------------------
run_sipp h_caller_a -sf "$SIPP_DIR/caller_hotline.xml" -s 4000 -i "$SIP_HOST" -p 5192 -mp 17200 -m 1 -d 12000 \
    -timeout 40s -timeout_error "$SIP_ADDR" &
A_PID=$!; BG_PIDS+=("$A_PID")
sleep 3
run_sipp h_caller_b -sf "$SIPP_DIR/caller_hotline.xml" -s 4000 -i "$SIP_HOST" -p 5193 -mp 17300 -m 1 -d 25000 \
    -timeout 50s -timeout_error "$SIP_ADDR" &
B_PID=$!; BG_PIDS+=("$B_PID")
if wait "$A_PID"; then pass "caller A completed"; else fail "caller A sipp exit $? — see $WORK/h_caller_a.*"; fi
# 1001 is in after-call work now (20 s in the demo); they finish it early, as agents do
sleep 0.5
state=$(api "$AGENT" PUT /api/v1/agents/me/state '{"state":"ready"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')
[[ $state == ready || $state == reserved || $state == talking ]] && pass "1001 ended after-call work ($state)" || fail "1001 after A: $state"
if wait "$B_PID"; then pass "caller B completed"; else fail "caller B sipp exit $? — see $WORK/h_caller_b.*"; fi
if wait "$AGENT_PID"; then pass "agent 1001 took both calls"; else fail "agent sipp exit $? — see $WORK/h_agent.*"; fi
sleep 1

# --- the story in the event log ---------------------------------------------------------------
api "$SUPER" GET "/api/v1/events/log?kind=ivr.started&limit=500" >"$WORK/ivr_started.json"
mapfile -t CALLS < <(python3 -c '
import json, sys
for e in json.load(open(sys.argv[1]))["items"]:
    print(e["interaction"])' "$WORK/ivr_started.json")
if [[ ${#CALLS[@]} -ne 2 ]]; then
    fail "expected 2 IVR calls, got ${#CALLS[@]}"
else
    B_CALL=${CALLS[1]}
    api "$SUPER" GET "/api/v1/events/log?interaction=$B_CALL&limit=500" >"$WORK/story_b.json"
    if python3 - "$WORK/story_b.json" <<'PY'
import json, sys
events = json.load(open(sys.argv[1]))["items"]
kinds = [e["kind"] for e in events]
# the IVR's and the ACD's decisions in order, and the line's events in order (the two are
# stamped by different tasks, so only each sequence's own order is certain)
decided = ["ivr.started", "ivr.choice", "call.queued", "call.announced", "call.offered", "call.answered",
           "call.completed"]
line = ["leg.created", "leg.answered", "call.digit", "call.bridged", "recording.saved", "call.ended"]
missing = []
for want in (decided, line):
    it = iter(kinds)
    missing += [k for k in want if k not in it]
def first(kind):
    return next(e for e in events if e["kind"] == kind)
problems = []
if missing:
    problems.append(f"missing or out of order: {missing}")
else:
    choice = first("ivr.choice")["data"]
    if (choice["key"], choice["next"]) != ("1", "complaints"):
        problems.append(f"menu choice {choice}")
    if first("call.announced")["data"]["position"] != 1:
        problems.append(f"announced {first('call.announced')['data']}")
    wait = first("call.answered")["data"]["wait_ms"]
    if wait < 5000:
        problems.append(f"B waited only {wait} ms")
    if first("ivr.ended")["data"]["outcome"] != "queued":
        problems.append(f"ivr ended {first('ivr.ended')['data']}")
    if "call.abandoned" in kinds:
        problems.append("B counted as abandoned")
print("B:", " -> ".join(kinds))
if problems:
    print("problems:", problems)
    sys.exit(1)
print(f"B waited {first('call.answered')['data']['wait_ms']} ms, announced position "
      f"{first('call.announced')['data']['position']} with prompts {first('call.announced')['data']['prompts']}")
PY
    then pass "event log: B's path IVR -> queue -> announcement -> agent -> talk -> end"; else fail "B's story"; fi
fi
recs=$(api "$SUPER" GET "/api/v1/recordings?limit=500" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["items"]))')
if [[ $recs -ge 2 ]]; then pass "both calls recorded ($recs recordings)"; else fail "recordings: $recs"; fi

stop_kefu
if [[ $FAILS -gt 0 ]]; then echo "$FAILS check(s) failed; work dir $WORK"; exit 1; fi
echo "hotline interop: all passed"
