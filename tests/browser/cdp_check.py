#!/usr/bin/env python3
"""Open the report in headless Chromium over the DevTools protocol and check it.

usage: cdp_check.py CHROMIUM URL OUTDIR

Speaks the protocol over --remote-debugging-pipe (file descriptors 3 and 4,
messages separated by NUL bytes), with the standard library only. Checks, and
prints as one JSON line:
  - every request the page made is the file:// URL itself (no network);
  - no console message, exception or error log entry;
  - the charts are in the DOM (svg.chart with the expected ids);
  - first contentful paint, median of three fresh loads, within 1 s;
  - light and dark colour schemes give different, readable colours;
and saves a dark-mode screenshot as OUTDIR/report-dark.png.
Exits 1 with a message on the first failed check.
"""
import base64
import fcntl
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time


def fail(msg):
    print("cdp_check: FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


class Browser:
    def __init__(self, chromium):
        self.profile = tempfile.mkdtemp(prefix="live-cdp-")
        # Move the pipe ends above 4 first, so that the dup2 calls in the child cannot clobber them.
        fds = []
        for fd in os.pipe() + os.pipe():
            fds.append(fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10))
            os.close(fd)
        cmd_r, cmd_w, ev_r, ev_w = fds

        def child_fds():
            os.dup2(cmd_r, 3)
            os.dup2(ev_w, 4)

        self.proc = subprocess.Popen(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--proxy-server=127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND",
             "--user-data-dir=" + self.profile, "--remote-debugging-pipe", "--window-size=1200,900",
             "about:blank"],
            preexec_fn=child_fds, close_fds=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for fd in (cmd_r, ev_w):
            os.close(fd)
        self.out = os.fdopen(cmd_w, "wb", buffering=0)
        self.inp = os.fdopen(ev_r, "rb", buffering=0)
        self.buf = b""
        self.next_id = 0
        self.events = []

    def send(self, method, params=None, session=None):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        self.out.write(json.dumps(msg).encode() + b"\0")
        return self.next_id

    def recv(self):
        while b"\0" not in self.buf:
            chunk = self.inp.read(1 << 16)
            if not chunk:
                fail("chromium closed the DevTools pipe")
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method, params=None, session=None):
        want = self.send(method, params, session)
        while True:
            msg = self.recv()
            if msg.get("id") == want:
                if "error" in msg:
                    fail("%s: %s" % (method, msg["error"]))
                return msg.get("result", {})
            self.events.append(msg)

    def wait_event(self, method):
        for i, msg in enumerate(self.events):
            if msg.get("method") == method:
                del self.events[i]
                return msg
        while True:
            msg = self.recv()
            if msg.get("method") == method:
                return msg
            self.events.append(msg)

    def close(self):
        try:
            self.send("Browser.close")
        except OSError:
            pass
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.out.close()
        self.inp.close()
        shutil.rmtree(self.profile, ignore_errors=True)


def evaluate(b, session, expr):
    r = b.call("Runtime.evaluate", {"expression": expr, "returnByValue": True}, session)
    if "exceptionDetails" in r:
        fail("evaluating %s: %s" % (expr, r["exceptionDetails"]))
    return r["result"]["value"]


def open_page(chromium, url):
    """A fresh browser and tab; returns (browser, session, requests) after the load event."""
    b = Browser(chromium)
    target = b.call("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = b.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    for domain in ("Page", "Network", "Runtime", "Log"):
        b.call(domain + ".enable", session=session)
    b.send("Page.navigate", {"url": url}, session)
    b.wait_event("Page.loadEventFired")
    time.sleep(0.3)  # let late console messages or requests arrive
    b.call("Runtime.evaluate", {"expression": "1"}, session)
    return b, session


def problems(b, url):
    out = []
    for msg in b.events:
        m, p = msg.get("method"), msg.get("params", {})
        if m == "Network.requestWillBeSent" and p["request"]["url"] != url:
            out.append("request to " + p["request"]["url"])
        elif m == "Runtime.consoleAPICalled":
            out.append("console.%s: %s" % (p.get("type"), p.get("args")))
        elif m == "Runtime.exceptionThrown":
            out.append("exception: %s" % p.get("exceptionDetails", {}).get("text"))
        elif m == "Log.entryAdded" and p["entry"].get("level") in ("error", "warning"):
            out.append("log %s: %s" % (p["entry"]["level"], p["entry"].get("text")))
    return out


def main():
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    chromium, url, outdir = sys.argv[1:]
    signal.alarm(240)  # never hang ctest on a stuck browser

    paints = []
    for attempt in range(3):
        b, s = open_page(chromium, url)
        try:
            bad = problems(b, url)
            if bad:
                fail("the page " + "; ".join(bad))
            fcp = evaluate(b, s, "(performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime")
            if fcp is None:
                fail("no first-contentful-paint entry")
            paints.append(fcp)
            if attempt == 0:
                dom = evaluate(b, s, """JSON.stringify({
                    charts: Array.from(document.querySelectorAll('svg.chart')).map(e => e.id),
                    points: document.querySelectorAll('svg.chart .pts circle').length,
                    sections: Array.from(document.querySelectorAll('section')).map(e => e.id),
                    light: [getComputedStyle(document.body).backgroundColor, getComputedStyle(document.body).color]
                })""")
                dom = json.loads(dom)
                b.call("Emulation.setEmulatedMedia",
                       {"features": [{"name": "prefers-color-scheme", "value": "dark"}]}, s)
                dark = json.loads(evaluate(b, s, "JSON.stringify([getComputedStyle(document.body).backgroundColor,"
                                                 " getComputedStyle(document.body).color])"))
                shot = b.call("Page.captureScreenshot", {"format": "png"}, s)["data"]
                with open(os.path.join(outdir, "report-dark.png"), "wb") as f:
                    f.write(base64.b64decode(shot))
        finally:
            b.close()

    for want in ("chart-0", "chart-1", "chart-2", "chart-3", "chart-4"):
        if want not in dom["charts"]:
            fail("no svg#%s among the charts %s" % (want, dom["charts"]))
    if not any(c.startswith("divergence-") for c in dom["charts"]):
        fail("no chart in the divergence section: %s" % dom["charts"])
    if dom["sections"] != ["divergence", "summary", "params", "metrics"]:
        fail("sections %s" % dom["sections"])
    if dark[0] == dom["light"][0] or dark[1] == dom["light"][1] or dark[0] == dark[1]:
        fail("colours: light %s, dark %s" % (dom["light"], dark))
    fcp = statistics.median(paints)
    result = {"first_contentful_paint_ms": fcp, "paints_ms": paints, "charts": len(dom["charts"]),
              "points": dom["points"], "light": dom["light"], "dark": dark}
    print(json.dumps(result))
    if fcp > 1000:
        fail("first contentful paint after %.0f ms (goal: 1000 ms)" % fcp)


if __name__ == "__main__":
    main()
