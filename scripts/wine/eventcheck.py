"""Checks the Windows event one trustlaunch run reported, from Wine's debug
output, against the run's audit record (scripts/wine/test-open.sh).

Wine 8.0 keeps no event (ReportEventW is a stub), but with
WINEDEBUG=fixme+advapi,trace+eventlog,warn+eventlog,err+eventlog it prints
the source RegisterEventSourceW opened, ReportEventW's type, category,
event ID and number of strings, and each string on the eventlog channel
of the event's type (trace: information, warn: warning, err: error):

  00f8:fixme:advapi:RegisterEventSourceW ((null),L"trustlaunch"): stub
  00f8:fixme:advapi:ReportEventW (...,0x0002,0x0000,0x00000065,...,0x0011,0x00000000,...,...): stub
  00f8:warn:eventlog:ReportEventW L"launch refused by the whitelist at ..."

usage: eventcheck.py DEBUG_OUTPUT AUDIT_JSON_LINE [SECRET...]
       eventcheck.py --none DEBUG_OUTPUT

Each SECRET is a Python regular expression (a plain word is one), so that
a secret made at run time, such as the demo's token, can be named by its
form.

It checks that there is exactly one event, under the source "trustlaunch",
of the type and event ID docs/admin.md gives the record's decision, in
category 0; that its first string is the message and then every field,
one per line (Wine cuts a long string, so a prefix of that); that its
other strings are "name=value", one for each field of the audit record
that has a value, with that value, and the user; and that no SECRET
matches anywhere in the event. With --none: that the run reported no event.
"""

import json
import re
import sys

# docs/admin.md, "Launch records": the event ID and type of each decision.
EVENTS = {
    "launched": (100, 4),
    "refused-whitelist": (101, 2),
    "refused-user": (102, 2),
    "refused-policy": (103, 2),
    "failed": (104, 1),
    "interrupted": (105, 4),
}
CHANNEL = {1: "err", 2: "warn", 4: "trace"}

SOURCE = re.compile(r'^[0-9a-f]+:fixme:advapi:RegisterEventSourceW \(\(null\),L"(.*)"\): stub$')
REPORT = re.compile(r"^[0-9a-f]+:fixme:advapi:ReportEventW \([0-9A-F]+,0x([0-9a-f]{4}),0x([0-9a-f]{4}),0x([0-9a-f]{8}),[0-9A-F]+,0x([0-9a-f]{4}),")
STRING = re.compile(r'^[0-9a-f]+:(trace|warn|err):eventlog:ReportEventW L"(.*)"(\.\.\.)?$')


def fail(msg):
    print("eventcheck: FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def unescape(s):
    """Undoes Wine's debugstr_w: \\n \\r \\t \\" \\\\ and \\XXXX (hex)."""
    out, i = [], 0
    while i < len(s):
        c = s[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        n = s[i + 1]
        if n in "nrt":
            out.append({"n": "\n", "r": "\r", "t": "\t"}[n])
            i += 2
        elif n in '"\\':
            out.append(n)
            i += 2
        else:
            out.append(chr(int(s[i + 1 : i + 5], 16)))
            i += 5
    return "".join(out)


def events(lines):
    """Yields (source, type, category, id, nstrings, [(channel, string, cut)])."""
    source, ev = None, None
    for line in lines:
        m = SOURCE.match(line)
        if m:
            source = unescape(m.group(1))
            continue
        m = REPORT.match(line)
        if m:
            if ev:
                yield ev
            ev = (source, int(m.group(1), 16), int(m.group(2), 16), int(m.group(3), 16), int(m.group(4), 16), [])
            continue
        m = STRING.match(line)
        if m and ev:
            ev[5].append((m.group(1), unescape(m.group(2)), m.group(3) is not None))
    if ev:
        yield ev


def flatten(rec):
    """The audit record's fields as the event names them."""
    out = {}
    for k, v in rec.items():
        if isinstance(v, dict):
            for p, us in v.items():
                out[k + "_" + p] = str(us)
        elif isinstance(v, bool):
            out[k] = "true" if v else "false"
        elif isinstance(v, str):
            if v:
                out[k] = v
        elif isinstance(v, int):
            if v or k == "exit_status":
                out[k] = str(v)
    out.pop("os_log", None)  # where the event went is not in the event
    return out


def main(argv):
    if argv[1:2] == ["--none"]:
        with open(argv[2], encoding="utf-8", errors="replace") as f:
            got = list(events(f.read().splitlines()))
        if got:
            fail("the run reported %d events, want none" % len(got))
        return
    path, record, secrets = argv[1], json.loads(argv[2]), argv[3:]
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    got = list(events(text.splitlines()))
    if len(got) != 1:
        fail("%d events reported, want 1:\n%s" % (len(got), text))
    source, etype, category, eid, nstrings, strings = got[0]
    want_id, want_type = EVENTS[record["decision"]]
    if source != "trustlaunch" or etype != want_type or category != 0 or eid != want_id:
        fail("event: source %r, type %d, category %d, ID %d; want trustlaunch, %d, 0, %d" % (source, etype, category, eid, want_type, want_id))
    if record.get("os_log") != "eventlog":
        fail("the audit record says os_log %r, want eventlog" % record.get("os_log"))
    if nstrings != len(strings) or nstrings < 2:
        fail("ReportEventW got %d strings, Wine showed %d" % (nstrings, len(strings)))
    for channel, s, _ in strings:
        if channel != CHANNEL[etype]:
            fail("string %r on channel %s, want %s (the event's type)" % (s, channel, CHANNEL[etype]))
    fields = {}
    for _, s, cut in strings[1:]:
        name, eq, value = s.partition("=")
        if cut or not eq or name in fields:
            fail("string %r is not one name=value" % s)
        fields[name] = value
    want = flatten(record)
    if not fields.get("user"):
        fail("the event does not name the user")
    want["user"] = fields["user"]
    if fields != want:
        fail("event fields %r\n  want the audit record's %r" % (fields, want))
    _, first, cut = strings[0]
    message = first.split("\r\n")[0]
    whole = message + "\r\n\r\n" + "\r\n".join(s for _, s, _ in strings[1:])
    if not (whole.startswith(first) if cut else first == whole):
        fail("first string %r is not the message, a blank line and the fields" % first)
    if record.get("origin") and not cut and record["origin"] not in message:
        fail("the message %r does not name the origin" % message)
    event_text = "\n".join(l for l in text.splitlines() if "advapi" in l or "eventlog" in l)
    for secret in secrets:
        m = re.search(secret, event_text)
        if m:
            fail("the event holds %r (%s)" % (m.group(0), secret))


if __name__ == "__main__":
    main(sys.argv)
