#!/usr/bin/env python3
"""Call-setup latency from sipp message traces (-trace_msg).

usage: setup_latency.py CALLER_MSG_LOG AGENT_MSG_LOG
Prints "p50 / p99 / max (a50 / a99)" in ms: at the caller, first INVITE sent -> first 200 OK
to it received, per Call-ID; at the agent, INVITE received -> 200 OK sent (the agent's own
share of the caller's figure).
"""
import re
import sys
from datetime import datetime

HEAD = re.compile(r"^-{20,} (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+)$")


def messages(path):
    """(time, direction, first line, call-id, cseq) of every traced message."""
    at, direction, lines = None, None, []

    def flush():
        if at is None or not lines:
            return None
        first = lines[0]
        call_id = next((l.split(":", 1)[1].strip() for l in lines if l.lower().startswith("call-id:")), None)
        cseq = next((l.split(":", 1)[1].strip() for l in lines if l.lower().startswith("cseq:")), "")
        return at, direction, first, call_id, cseq

    with open(path, errors="replace") as f:
        for raw in f:
            line = raw.rstrip("\r\n")
            m = HEAD.match(line)
            if m:
                msg = flush()
                if msg:
                    yield msg
                at, direction, lines = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S.%f").timestamp(), None, []
            elif direction is None and ("message sent" in line or "message received" in line):
                direction = "sent" if "sent" in line else "received"
            elif line.strip() and direction is not None:
                lines.append(line.strip())
    msg = flush()
    if msg:
        yield msg


def spans(path, start_dir, start_re, end_dir, end_re):
    started, done = {}, {}
    for at, direction, first, call_id, cseq in messages(path):
        if call_id is None or not cseq.endswith("INVITE"):
            continue
        if direction == start_dir and re.match(start_re, first):
            started.setdefault(call_id, at)
        elif direction == end_dir and re.match(end_re, first) and call_id in started:
            done.setdefault(call_id, at - started[call_id])
    return sorted(v * 1000 for v in done.values())


def q(values, p):
    return values[min(len(values) - 1, int(p * len(values)))]


caller = spans(sys.argv[1], "sent", r"INVITE ", "received", r"SIP/2\.0 200")
agent = spans(sys.argv[2], "received", r"INVITE ", "sent", r"SIP/2\.0 200")
if not caller:
    print("n/a")
else:
    own = f" ({q(agent, 0.5):.1f} / {q(agent, 0.99):.1f})" if agent else ""
    print(f"{q(caller, 0.5):.1f} / {q(caller, 0.99):.1f} / {caller[-1]:.1f}{own}")
