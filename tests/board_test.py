#!/usr/bin/env python3
"""board_test.py: the live board (GET /) in a real browser.

Debian's chromium, headless, driven over the DevTools protocol on a pipe
(--remote-debugging-pipe: the browser reads commands on fd 3 and writes
on fd 4, each JSON message ended by a NUL byte), with Python's standard
library only.

    board_test.py test URL TMP CTL PID
        tests/e2e_board.sh's browser part, on the daemon it started (PID,
        sockets under TMP/run, operator keys TMP/alice.key and
        TMP/bob.key, product w under volume rule v): trips v with
        checks, and asserts within 2 s that the board shows the
        suspension with the exact product, rule, id and until the deny
        quoted; resets it by signed command (alice asks, bob approves)
        and asserts it is gone within 2 s; kills the daemon and asserts
        the red banner; and that the page raised no exception and logged
        no error (a refused connection after the kill excepted).  Prints
        "ok NAME" or "FAIL NAME: WHY" per check; screenshots in OUTDIR
        (board.png, board-lost.png).

    board_test.py replay CHECK_URL TAPE FROM_MS TO_MS
        Sends a tape's ticks and checks between two of its times to a
        running daemon, at the tape's own pace (tests/board_screenshot.sh).

    board_test.py screenshot URL OUT.png [WAIT_EXPR]
        One screenshot of the board once WAIT_EXPR (JavaScript) is true
        (make board-screenshot: docs/board.png).
"""
import base64
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

CHROMIUM = os.environ.get("CHROMIUM", "chromium")


class Browser:
    """A headless chromium and one page, over the DevTools pipe."""

    def __init__(self, width=1400, height=1000):
        cmd_r, cmd_w = os.pipe()  # we write commands, it reads fd 3
        res_r, res_w = os.pipe()  # it writes fd 4, we read answers

        def fds():
            # Through fresh copies: the pipe may itself be fd 3 or 4, and
            # dup2 onto itself would leave it close-on-exec.
            a, b = os.dup(cmd_r), os.dup(res_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
             "--remote-debugging-pipe", "--no-first-run",
             "--disable-extensions", "--disable-background-networking",
             "--user-data-dir=" + os.environ.get("BOARD_PROFILE",
                                                  "/tmp/fxb-board-chromium"),
             "about:blank"],
            # The descriptors are placed after the fork, so the
            # close-all that pass_fds would do must not undo them.
            preexec_fn=fds, close_fds=False,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(cmd_r)
        os.close(res_w)
        self.wfd = cmd_w
        self.rfile = os.fdopen(res_r, "rb", buffering=0)
        self.next_id = 0
        self.answers = {}
        self.events = []
        self.cv = threading.Condition()
        threading.Thread(target=self._reader, daemon=True).start()
        target = self.call("Target.createTarget",
                           {"url": "about:blank"})["targetId"]
        self.session = self.call("Target.attachToTarget",
                                 {"targetId": target,
                                  "flatten": True})["sessionId"]
        for domain in ("Runtime", "Log", "Page"):
            self.call(domain + ".enable", session=True)
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height,
                   "deviceScaleFactor": 1, "mobile": False}, session=True)

    def _reader(self):
        buf = b""
        while True:
            chunk = self.rfile.read(65536)
            if not chunk:
                break
            buf += chunk
            while b"\0" in buf:
                raw, buf = buf.split(b"\0", 1)
                msg = json.loads(raw)
                with self.cv:
                    if "id" in msg:
                        self.answers[msg["id"]] = msg
                    else:
                        self.events.append((time.monotonic(), msg))
                    self.cv.notify_all()

    def call(self, method, params=None, session=False, timeout=30):
        with self.cv:
            self.next_id += 1
            mid = self.next_id
        msg = {"id": mid, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = self.session
        os.write(self.wfd, json.dumps(msg).encode() + b"\0")
        end = time.monotonic() + timeout
        with self.cv:
            while mid not in self.answers:
                left = end - time.monotonic()
                if left <= 0:
                    raise TimeoutError(method)
                self.cv.wait(left)
            ans = self.answers.pop(mid)
        if "error" in ans:
            raise RuntimeError("%s: %s" % (method, ans["error"]))
        return ans.get("result", {})

    def navigate(self, url):
        self.call("Page.navigate", {"url": url}, session=True)

    def eval(self, expr):
        r = self.call("Runtime.evaluate",
                      {"expression": expr, "returnByValue": True},
                      session=True)
        if "exceptionDetails" in r:
            raise RuntimeError("evaluate %s: %s" % (expr,
                                                    r["exceptionDetails"]))
        return r["result"].get("value")

    def wait(self, expr, timeout):
        """Polls expr until it is truthy; returns (value, seconds) or
        (None, timeout)."""
        start = time.monotonic()
        while True:
            try:
                v = self.eval(expr)
            except RuntimeError:  # the page not there yet
                v = None
            took = time.monotonic() - start
            if v:
                return v, took
            if took >= timeout:
                return None, took
            time.sleep(0.05)

    def screenshot(self, path):
        r = self.call("Page.captureScreenshot",
                      {"format": "png", "captureBeyondViewport": True},
                      session=True)
        with open(path, "wb") as f:
            f.write(base64.b64decode(r["data"]))

    def problems(self, since=0.0):
        """Exceptions thrown and errors logged by the page, each
        (monotonic time, source, text)."""
        out = []
        with self.cv:
            evs = list(self.events)
        for t, m in evs:
            if t < since:
                continue
            meth, p = m.get("method"), m.get("params", {})
            if meth == "Runtime.exceptionThrown":
                d = p.get("exceptionDetails", {})
                out.append((t, "exception",
                            d.get("exception", {}).get("description",
                                                       d.get("text"))))
            elif meth == "Runtime.consoleAPICalled" and \
                    p.get("type") in ("error", "assert"):
                out.append((t, "console", json.dumps(p.get("args"))))
            elif meth == "Log.entryAdded" and \
                    p.get("entry", {}).get("level") == "error":
                e = p["entry"]
                out.append((t, e.get("source"), e.get("text")))
        return out

    def close(self):
        try:
            self.call("Browser.close", timeout=5)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


passed = 0
failed = 0


def ok(name):
    global passed
    passed += 1
    print("ok " + name, flush=True)


def fail(name, why):
    global failed
    failed += 1
    print("FAIL %s: %s" % (name, why), flush=True)


def check(name, got, want):
    if got == want:
        ok(name)
    else:
        fail(name, "got %r, want %r" % (got, want))


def nng_req(url, data):
    r = subprocess.run(["nngcat", "--req", "--dial", url, "--data", data,
                        "--ascii", "--recv-timeout", "10"],
                       capture_output=True, text=True, timeout=20)
    return r.stdout.strip()


def signed(ctl, *args):
    r = subprocess.run([ctl] + list(args) + ["--json"], capture_output=True,
                       text=True, timeout=30)
    try:
        return json.loads(r.stdout)
    except ValueError:
        return {"stdout": r.stdout, "stderr": r.stderr}


def http_json(url):
    with urllib.request.urlopen(url, timeout=5) as r:
        return r.status, r.headers, json.loads(r.read())


# The suspension row the board shows for id s, as the test reads it.
ROW_JS = """(function () {
  var r = document.querySelector('tr[data-suspension="%s"]');
  if (!r) return null;
  var p = [].map.call(r.querySelectorAll('[data-product]'),
                      function (e) { return e.dataset.product; });
  return {rule: r.dataset.rule, until: r.dataset.until,
          products: r.dataset.products, first: p,
          left: r.querySelector('td.left').textContent};
})()"""


def run_test(url, tmp, ctl, pid, outdir):
    check_url = "ipc://%s/run/check.ipc" % tmp
    b = Browser()
    try:
        scenario(b, url, check_url, ctl, pid, outdir)
    finally:
        b.close()


def scenario(b, url, check_url, ctl, pid, outdir):
    # The page and its policy, as the browser gets them.
    with urllib.request.urlopen(url + "/", timeout=5) as r:
        csp = r.headers.get("Content-Security-Policy", "")
        check("the page is html", r.headers.get("Content-Type"),
              "text/html; charset=utf-8")
    for part in ("default-src 'none'", "script-src 'sha256-",
                 "style-src 'sha256-", "connect-src 'self'"):
        if part in csp:
            ok("the page's policy has " + part)
        else:
            fail("the page's policy has " + part, csp)

    # Ticks, so that the pair has a rate and a band to draw.
    for px in ("1400.0", "1401.5", "1402.0"):
        nng_req(check_url,
                '{"op":"tick","pair":"USD/KRW","px":"%s"}' % px)
        time.sleep(0.6)  # 1.2 s: two seconds of chart at least

    # The document: the band from the first tick (1400, 1 %), the
    # velocity limits from the window's extremes (1400 and 1402, V 20),
    # one chart point a second.
    st, hdr, doc = http_json(url + "/board.json")
    pair = doc["pairs"][0]
    check("board.json: the pair, its rate, band and velocity limits",
          (st, pair["pair"], pair["state"], pair["rate"], pair["band"],
           pair["velocity"]),
          (200, "USD/KRW", "open", "1402.00",
           {"rule": "b", "lower": "1386.00", "upper": "1414.00"},
           {"rule": "vel", "lower": "1382.00", "upper": "1420.00"}))
    check("board.json: its chart's last point (10^-9 units)",
          pair["history"][-1][1:],
          [1402000000000, 1386000000000, 1414000000000, 1382000000000,
           1420000000000])
    check("board.json: products and the ledger",
          (doc["products"], doc["ledger"]["state"], doc["ledger"]["queued"],
           doc["notice_utc_offset_min"]),
          ({"total": 3, "open": 2, "suspended": 1}, "ok", 0, 540))
    # EUR/KRW has had no tick: its stale rule holds product e with no
    # suspension id (a hold, not a suspension yet).
    check("board.json: a hold with no id, grouped by its rule",
          [(g["suspension"], g["rule"], g["kind"], g["scope"],
            g["products"], g["first"]) for g in doc["suspensions"]],
          [(None, "st", "stale", "EUR/KRW", 1, ["e"])])

    b.navigate(url + "/")
    v, _ = b.wait("document.body.dataset.conn === 'live' && "
                  "document.querySelectorAll('section.pair').length", 10)
    check("the board is live with its two pairs", v, 2)
    v, _ = b.wait("document.querySelector('section.pair b[data-rate]')"
                  ".dataset.rate", 5)
    check("the pair's rate", v, "1402.00")
    v = b.eval("+document.querySelector('svg.chart').dataset.points")
    if v and v >= 2:
        ok("the chart draws the ticks at once")
    else:
        fail("the chart draws the ticks at once", v)
    check("no suspension yet, the stale hold shown without an id",
          b.eval("[].map.call(document.querySelectorAll("
                 "'tr[data-suspension]'), function (r) { return "
                 "[r.dataset.suspension, r.dataset.rule, "
                 "r.querySelector('td').textContent]; })"),
          [["", "st", "none yet"]])

    # Trip volume rule v on product w with checks.
    deny = None
    for _ in range(6):
        r = json.loads(nng_req(check_url,
                               '{"op":"check","product":"w","amount":"1.00"}'))
        if r.get("decision") == "deny":
            deny = r
            break
    if deny is None:
        fail("the checks trip rule v", "no deny")
        return
    ok("the checks trip rule v")
    susp, until = deny["suspension"], deny["notice"]["until"]
    t0 = time.monotonic()
    row, took = b.wait(ROW_JS % susp, 2.0)
    if row is None:
        fail("the board shows suspension %d within 2 s" % susp,
             b.eval("document.getElementById('susps').innerText"))
        return
    ok("the board shows suspension %d within 2 s (%.2f s)" % (susp, took))
    check("its rule", row["rule"], deny["rule"])
    check("its until", row["until"], str(until))
    check("its product", row["first"], ["w"])
    check("its product count", row["products"], "1")
    left = row["left"]
    if left.endswith("s") and "m" in left:
        ok("its time left counts down (%s)" % left)
    else:
        fail("its time left counts down", left)
    check("the pair's card stays open (a product rule)",
          b.eval("document.querySelector('section.pair').dataset.state"),
          "open")
    check("the header counts it (and the stale hold)",
          b.eval("document.getElementById('p-susp').textContent"), "2")
    ev, _ = b.wait("[].some.call(document.querySelectorAll("
                   "'#events tr[data-event=\"trip\"]'), function (r) {"
                   " return r.dataset.seq === '%d'; })" % susp, 2.0)
    check("the trip is among the latest events", ev, True)
    time.sleep(max(0.0, 1.2 - (time.monotonic() - t0)))
    b.screenshot(os.path.join(outdir, "board.png"))

    # Decisions a second: the checks just made, counted from the service's
    # check counters between two readings a second or more apart.
    time.sleep(1.1)
    _, _, d1 = http_json(url + "/board.json")
    dps = d1["decisions_per_second"]
    if isinstance(dps, (int, float)) and dps >= 0:
        ok("board.json: decisions a second measured (%.2f)" % dps)
    else:
        fail("board.json: decisions a second measured", dps)
    v, _ = b.wait("/^[0-9]+$/.test(document.getElementById('dps')"
                  ".textContent)", 3.0)
    check("the header shows decisions a second", v, True)

    # The products route pages it.
    st, _, pg = http_json("%s/products?suspension=%d" % (url, susp))
    check("/products pages the suspension",
          (st, pg["total"], [p["product"] for p in pg["products"]],
           pg["products"][0].get("until")), (200, 1, ["w"], until))
    st, _, pg = http_json("%s/products?prefix=x" % url)
    check("/products finds by prefix",
          (pg["total"], pg["products"][0]["product"],
           pg["products"][0]["state"]), (1, "x", "open"))
    st, _, pg = http_json("%s/products?prefix=e" % url)
    check("/products: a held product's entry",
          pg["products"], [{"product": "e", "pair": "EUR/KRW",
                            "state": "suspended", "rule": "st"}])
    try:
        urllib.request.urlopen("%s/products?suspension=abc" % url, timeout=5)
        fail("/products refuses a bad id", "200")
    except urllib.error.HTTPError as e:
        check("/products refuses a bad id", e.code, 400)

    # Reset by signed command: alice asks, bob approves.
    rq = signed(ctl, "reset", "--key", "alice.key", "--rule", "v",
                "--suspension", str(susp), "--reason", "board test")
    check("reset requested", rq.get("result"), "pending")
    ap = signed(ctl, "approve", "--key", "bob.key", "--request",
                str(rq.get("request")), "--suspension", str(susp),
                "--reason", "ok")
    check("reset approved", ap.get("result"), "applied")
    gone, took = b.wait("!document.querySelector('tr[data-suspension=\"%d\"]')"
                        % susp, 2.0)
    if gone:
        ok("the suspension leaves the board within 2 s (%.2f s)" % took)
    else:
        fail("the suspension leaves the board within 2 s",
             b.eval("document.getElementById('susps').innerText"))
    check("the header counts the stale hold alone",
          b.eval("document.getElementById('p-susp').textContent"), "1")

    # An operator's suspension: its reason on the board; a lift (alice
    # asks, bob approves) takes it off.
    fs = signed(ctl, "suspend", "--key", "alice.key", "--product", "x",
                "--reason", "board drill")
    check("x suspended by alice", fs.get("result"), "applied")
    fid = fs.get("suspension")
    row, took = b.wait("(function () { var r = document.querySelector("
                       "'tr[data-suspension=\"%s\"]'); return r && "
                       "[r.dataset.kind, r.dataset.rule, r.dataset.until, "
                       "r.children[1].textContent, r.dataset.products, "
                       "r.querySelector('[data-product]').dataset.product]; "
                       "})()" % fid, 2.0)
    check("the force on the board within 2 s, with its reason",
          row, ["forced", "", "", "operator (forced) — board drill (by alice)",
                "1", "x"])
    lq = signed(ctl, "lift", "--key", "alice.key", "--product", "x",
                "--suspension", str(fid), "--reason", "drill over")
    check("lift requested", lq.get("result"), "pending")
    la = signed(ctl, "approve", "--key", "bob.key", "--request",
                str(lq.get("request")), "--suspension", str(fid),
                "--reason", "ok")
    check("lift approved", la.get("result"), "applied")
    gone, took = b.wait("!document.querySelector('tr[data-suspension=\"%s\"]')"
                        % fid, 2.0)
    if gone:
        ok("the lifted force leaves the board within 2 s (%.2f s)" % took)
    else:
        fail("the lifted force leaves the board within 2 s",
             b.eval("document.getElementById('susps').innerText"))

    # The daemon dies: the banner says so.
    before_kill = time.monotonic()
    check("no banner while live",
          b.eval("getComputedStyle(document.getElementById('banner'))"
                 ".display"), "none")
    os.kill(pid, signal.SIGKILL)
    banner, took = b.wait("document.body.dataset.conn === 'lost' && "
                          "getComputedStyle(document.getElementById("
                          "'banner')).display !== 'none' && "
                          "document.getElementById('banner').textContent",
                          5.0)
    if banner and banner.startswith("connection to fxbreakerd lost since "):
        ok("the red banner after the kill (%.2f s): %s" % (took, banner))
    else:
        fail("the red banner after the kill", banner)
    check("the banner is red",
          b.eval("getComputedStyle(document.getElementById('banner'))"
                 ".backgroundColor"), "rgb(198, 40, 40)")
    check("the data is greyed",
          b.eval("[getComputedStyle(document.querySelector('main')).opacity,"
                 " getComputedStyle(document.querySelector('header'))"
                 ".opacity].join(' ')"), "0.45 0.45")
    b.screenshot(os.path.join(outdir, "board-lost.png"))

    # No exception, no console error; after the kill, only the browser's
    # own word that the stream's connection was refused.
    bad = [p for p in b.problems()
           if not (p[0] >= before_kill and p[1] == "network")]
    check("no JavaScript exception or console error", bad, [])


def screenshot(url, out, wait_expr):
    b = Browser(width=1400, height=1100)
    try:
        b.navigate(url + "/")
        v, _ = b.wait(wait_expr, 15)
        if not v:
            print("screenshot: the board never showed: " + wait_expr,
                  file=sys.stderr)
            return 1
        time.sleep(0.5)
        b.screenshot(out)
        bad = b.problems()
        if bad:
            print("screenshot: the page complained: %r" % bad,
                  file=sys.stderr)
            return 1
    finally:
        b.close()
    print("wrote " + out)
    return 0


def replay(check_url, tape, t_from, t_to):
    """Sends the tape's ticks and checks from t_from to t_to (its ms) to
    the running daemon at their own pace: the daemon's clock is its own,
    so a second of tape is a second of the engine's time."""
    start = None
    sent = 0
    with open(tape) as f:
        for line in f:
            ev = json.loads(line)
            if ev["t"] < t_from:
                continue
            if ev["t"] > t_to:
                break
            if start is None:
                start = (time.monotonic(), ev["t"])
            wait = start[0] + (ev["t"] - start[1]) / 1000 - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            if "tick" in ev:
                req = dict(op="tick", **ev["tick"])
            else:
                req = dict(op="check", **ev["check"])
            nng_req(check_url, json.dumps(req, separators=(",", ":")))
            sent += 1
    print("replayed %d lines of %s" % (sent, tape))


def main(argv):
    if len(argv) >= 6 and argv[1] == "test":
        url, tmp, ctl, pid = argv[2], argv[3], argv[4], int(argv[5])
        outdir = argv[6] if len(argv) > 6 else "build"
        os.makedirs(outdir, exist_ok=True)
        try:
            run_test(url, tmp, ctl, pid, outdir)
        except Exception as e:  # a broken driver is a failure, not a pass
            fail("the browser test ran to its end", repr(e))
        print("%d passed, %d failed" % (passed, failed))
        return 1 if failed else 0
    if len(argv) >= 4 and argv[1] == "screenshot":
        expr = argv[4] if len(argv) > 4 else \
            "document.body.dataset.conn === 'live'"
        return screenshot(argv[2], argv[3], expr)
    if len(argv) == 6 and argv[1] == "replay":
        replay(argv[2], argv[3], int(argv[4]), int(argv[5]))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
