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
        and asserts it is gone within 2 s; trips velocity rule vel on
        USD/KRW and forces the pair on top, and asserts both suspensions
        are listed with every product each holds; holds the stream's 32
        places from here and asserts that a board opened then shows the
        data with the amber note and no red banner, and goes live once
        they are let go; kills the daemon and asserts the red banner;
        and that the page raised no exception and logged no error (the
        browser's own word on the refused stream and, after the kill,
        the refused connection excepted).  Prints "ok NAME" or "FAIL
        NAME: WHY" per check; screenshots in OUTDIR (board.png,
        board-refused.png, board-lost.png).

    board_test.py stale URL TMP
        tests/e2e_board.sh's second daemon (USD/KRW: velocity rule vel,
        stale rule st of 2 s; products w and x): trips vel, lets st trip
        too, and asserts both suspensions are listed, each holding both
        products, in /board.json and on the page, as /metrics counts them.

    board_test.py calendar URL NEXT_MS
        tests/e2e_calendar.sh's board: calendar krx off until NEXT_MS,
        then day; no plan; no error on the page.

    board_test.py plans URL PLAN XPLAN
        tests/plan_test.c's board: two plans pending (w's with its
        notice, x's with none and no end), listed exactly.

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
import select
import signal
import socket
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


def open_suspensions(url):
    """fxbreaker_suspensions_open from /metrics: {kind: count}, the
    kinds with any."""
    with urllib.request.urlopen(url + "/metrics", timeout=5) as r:
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        if line.startswith("fxbreaker_suspensions_open{kind=\""):
            kind = line.split('"')[1]
            n = int(float(line.split()[-1]))
            if n:
                out[kind] = n
    return out


def pair_holds(url, pair):
    """{rule or "forced": suspension id} of what holds pair, as
    /status.json says (not the board's code)."""
    _, _, st = http_json(url + "/status.json")
    for p in st["pairs"]:
        if p["pair"] == pair:
            return {h.get("rule", h["kind"]): h.get("suspension")
                    for h in p["held_by"]}
    return {}


def js_json(v):
    """A JavaScript string literal of v's JSON as JSON.stringify makes
    it (no spaces), to compare with on the page."""
    return json.dumps(json.dumps(v, separators=(",", ":")))


def susp_rows(doc):
    """The document's suspensions as the tests compare them."""
    return [(g["suspension"], g["rule"], g["kind"], g["scope"],
             g["scope_type"], g["products"], g["first"])
            for g in doc["suspensions"]]


class Streams:
    """Stream clients of /live held open from here: raw sockets, each
    sending the GET with the daemon's Host and read slowly by a thread
    (each board message is read, so that none is dropped for a full
    queue)."""

    def __init__(self, url):
        hostport = url.split("//", 1)[1]
        host, port = hostport.rsplit(":", 1)
        self.addr = (host, int(port))
        self.hostport = hostport
        self.socks = []
        self.lock = threading.Lock()
        self.stop = False
        threading.Thread(target=self._drain, daemon=True).start()

    def open_one(self):
        """One more stream client; its status code (200: held)."""
        s = socket.create_connection(self.addr, timeout=5)
        s.sendall(("GET /live HTTP/1.1\r\nHost: %s\r\n"
                   "Accept: text/event-stream\r\n\r\n"
                   % self.hostport).encode())
        head = b""
        while b"\r\n" not in head:
            chunk = s.recv(1)
            if not chunk:
                break
            head += chunk
        code = int(head.split()[1]) if len(head.split()) > 1 else 0
        if code == 200:
            s.setblocking(False)
            with self.lock:
                self.socks.append(s)
        else:
            s.close()
        return code

    def _drain(self):
        while not self.stop:
            with self.lock:
                socks = list(self.socks)
            if socks:
                for s in select.select(socks, [], [], 0.2)[0]:
                    try:
                        s.recv(65536)
                    except OSError:
                        pass
            time.sleep(0.2)

    def close(self):
        with self.lock:
            for s in self.socks:
                s.close()
            self.socks = []


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
    # velocity limits from the window's extremes (1400 and 1402, V 10),
    # one chart point a second.
    st, hdr, doc = http_json(url + "/board.json")
    pair = doc["pairs"][0]
    check("board.json: the pair, its rate, band and velocity limits",
          (st, pair["pair"], pair["state"], pair["rate"], pair["band"],
           pair["velocity"]),
          (200, "USD/KRW", "open", "1402.00",
           {"rule": "b", "lower": "1386.00", "upper": "1414.00"},
           {"rule": "vel", "lower": "1392.00", "upper": "1410.00"}))
    check("board.json: its chart's last point (10^-9 units)",
          pair["history"][-1][1:],
          [1402000000000, 1386000000000, 1414000000000, 1392000000000,
           1410000000000])
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

    two_on_a_pair(b, url, check_url, ctl)
    refused_from, refused_to = refused_stream(b, url, outdir)

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

    # No exception, no console error; while the stream's places were
    # taken, and after the kill, only the browser's own word that the
    # stream was refused.
    bad = [p for p in b.problems()
           if not (p[1] == "network" and
                   (p[0] >= before_kill or
                    refused_from <= p[0] <= refused_to))]
    check("no JavaScript exception or console error", bad, [])


# A suspension row on the page: [id, rule, kind, scope, products, first].
ROWS_JS = """[].map.call(document.querySelectorAll('tr[data-suspension]'),
  function (r) { return [r.dataset.suspension, r.dataset.rule,
    r.dataset.kind, r.dataset.scope, r.dataset.products,
    [].map.call(r.querySelectorAll('[data-product]'),
                function (e) { return e.dataset.product; })]; })"""


def two_on_a_pair(b, url, check_url, ctl):
    """USD/KRW held twice: vel trips (1400 then 1411: a move of 11, V 10,
    inside the band), then alice forces the pair.  A check quotes the
    force (it ends last), but both are open suspensions: the board lists
    each with both products, as /metrics counts them."""
    for px in ("1400", "1411"):
        nng_req(check_url, '{"op":"tick","pair":"USD/KRW","px":"%s"}' % px)
    fs = signed(ctl, "suspend", "--key", "alice.key", "--pair", "USD/KRW",
                "--reason", "two holds")
    check("USD/KRW forced by alice on top of the trip", fs.get("result"),
          "applied")
    fid = fs.get("suspension")
    holds = pair_holds(url, "USD/KRW")
    vid = holds.get("vel")
    check("status: USD/KRW held by vel and the force",
          (sorted(holds), holds.get("forced")), (["forced", "vel"], fid))
    r = json.loads(nng_req(check_url,
                           '{"op":"check","product":"w","amount":"1.00"}'))
    check("a check on w quotes the force alone",
          (r.get("decision"), r.get("suspension")), ("deny", fid))
    want = [(fid, None, "forced", "USD/KRW", "pair", 2, ["w", "x"]),
            (vid, "vel", "velocity", "USD/KRW", "pair", 2, ["w", "x"]),
            (None, "st", "stale", "EUR/KRW", "pair", 1, ["e"])]
    doc, end = None, time.monotonic() + 2
    while time.monotonic() < end:
        _, _, doc = http_json(url + "/board.json")
        if susp_rows(doc) == want:
            break
        time.sleep(0.1)
    check("board.json: both suspensions on USD/KRW, each with w and x",
          susp_rows(doc), want)
    check("board.json: 3 suspensions, 3 products held (w and x once each)",
          (doc["suspensions_total"], doc["products"]["suspended"]), (3, 3))
    check("/metrics counts the same open suspensions",
          open_suspensions(url), {"forced": 1, "velocity": 1})
    for sid, name in ((vid, "vel's"), (fid, "the force's")):
        _, _, pg = http_json("%s/products?suspension=%d" % (url, sid))
        check("/products pages %s products, as checks meet them" % name,
              (pg["total"], [(p["product"], p.get("suspension"))
                             for p in pg["products"]]),
              (2, [("w", fid), ("x", fid)]))
    want_rows = [[str(fid), "", "forced", "USD/KRW", "2", ["w", "x"]],
                 [str(vid), "vel", "velocity", "USD/KRW", "2", ["w", "x"]],
                 ["", "st", "stale", "EUR/KRW", "1", ["e"]]]
    rows, took = b.wait("JSON.stringify(%s) === %s"
                        % (ROWS_JS, js_json(want_rows)), 2.0)
    if rows:
        ok("the page lists both within 2 s (%.2f s)" % took)
    else:
        fail("the page lists both within 2 s",
             "%r, want %r" % (b.eval(ROWS_JS), want_rows))
    check("the page's header: 3 held, 3 suspensions",
          b.eval("[document.getElementById('p-susp').textContent,"
                 " document.getElementById('susp-count').textContent]"),
          ["3", "(3)"])


# The connection's state, the note's, the banner's, and the data's
# opacity.
NOTE_JS = """(function () {
  var n = document.getElementById('note') || document.createElement('p'),
      bn = document.getElementById('banner');
  return [document.body.dataset.conn, getComputedStyle(n).display,
          n.textContent, getComputedStyle(n).backgroundColor,
          getComputedStyle(bn).display,
          getComputedStyle(document.querySelector('main')).opacity];
})()"""


def refused_stream(b, url, outdir):
    """The stream's 32 places taken from here: a board opened now is
    refused the stream (503).  It must draw /board.json with the amber
    note and no red banner, poll it, and go live once a place is free.
    Returns when the refusals began and ended (monotonic)."""
    b.navigate("about:blank")
    streams = Streams(url)
    held, end = 0, time.monotonic() + 10
    # The board's own stream goes when the daemon next writes to it.
    while held < 32 and time.monotonic() < end:
        if streams.open_one() == 200:
            held += 1
        else:
            time.sleep(0.3)
    check("32 stream clients held from here", held, 32)
    check("the 33rd is refused", streams.open_one(), 503)
    t0 = time.monotonic()
    b.navigate(url + "/")
    v, took = b.wait("document.body.dataset.conn === 'polling' && "
                     "document.querySelectorAll('tr[data-suspension]')"
                     ".length", 5.0)
    check("the refused board draws /board.json (its 3 suspensions)", v, 3)
    check("the amber note, no red banner, nothing greyed",
          b.eval(NOTE_JS),
          ["polling", "block",
           "live updates refused (too many boards open): refreshing "
           "every 5 s", "rgb(178, 106, 0)", "none", "1"])
    check("the pair's rate is drawn",
          b.eval("(function () { var e = document.querySelector("
                 "'section.pair b[data-rate]'); return e && "
                 "e.dataset.rate; })()"), "1411.00")
    b.screenshot(os.path.join(outdir, "board-refused.png"))
    n0 = b.eval("+document.body.dataset.updates")
    v, took = b.wait("+document.body.dataset.updates > %d && "
                     "document.body.dataset.conn" % n0, 7.0)
    check("it reads /board.json again within 7 s, still amber (%.2f s)"
          % took, v, "polling")
    streams.close()
    t1 = time.monotonic()
    v, took = b.wait("document.body.dataset.conn === 'live' && "
                     "getComputedStyle(document.getElementById('note'))"
                     ".display", 8.0)
    check("live again within 8 s of the places freed (%.2f s)" % took, v,
          "none")
    return t0, time.monotonic()


def stale_test(url, tmp):
    """The report: a velocity trip on USD/KRW, then the pair goes stale.
    Checks quote the stale one (it has no end); both are listed."""
    check_url = "ipc://%s/run/check.ipc" % tmp
    for px in ("1400", "1411"):
        nng_req(check_url, '{"op":"tick","pair":"USD/KRW","px":"%s"}' % px)
    holds, end = {}, time.monotonic() + 8
    while time.monotonic() < end:
        holds = pair_holds(url, "USD/KRW")
        if holds.get("st") and holds.get("vel"):
            break
        time.sleep(0.2)
    vid, sid = holds.get("vel"), holds.get("st")
    if not (vid and sid):
        fail("vel trips, then st goes stale", holds)
        return
    ok("vel trips (suspension %d), then st goes stale (%d)" % (vid, sid))
    r = json.loads(nng_req(check_url,
                           '{"op":"check","product":"x","amount":"1.00"}'))
    check("a check on x quotes the stale suspension",
          (r.get("decision"), r.get("suspension"), r.get("rule")),
          ("deny", sid, "st"))
    check("/metrics: one velocity and one stale suspension open",
          open_suspensions(url), {"stale": 1, "velocity": 1})
    want = [(sid, "st", "stale", "USD/KRW", "pair", 2, ["w", "x"]),
            (vid, "vel", "velocity", "USD/KRW", "pair", 2, ["w", "x"])]
    doc, end = None, time.monotonic() + 2
    while time.monotonic() < end:
        _, _, doc = http_json(url + "/board.json")
        if susp_rows(doc) == want:
            break
        time.sleep(0.1)
    check("board.json lists both, each holding w and x", susp_rows(doc),
          want)
    check("board.json: 2 suspensions, 2 products held",
          (doc["suspensions_total"], doc["products"]["suspended"]), (2, 2))
    _, _, pg = http_json("%s/products?suspension=%d" % (url, vid))
    check("/products pages vel's products",
          (pg["total"], [p["product"] for p in pg["products"]]),
          (2, ["w", "x"]))
    b = Browser()
    try:
        b.navigate(url + "/")
        want_rows = [[str(sid), "st", "stale", "USD/KRW", "2", ["w", "x"]],
                     [str(vid), "vel", "velocity", "USD/KRW", "2",
                      ["w", "x"]]]
        v, _ = b.wait("document.body.dataset.conn === 'live' && "
                      "JSON.stringify(%s) === %s"
                      % (ROWS_JS, js_json(want_rows)), 10)
        if v:
            ok("the page lists both, each holding w and x")
        else:
            fail("the page lists both, each holding w and x",
                 "%r, want %r" % (b.eval(ROWS_JS), want_rows))
        check("the page raised no error", b.problems(), [])
    finally:
        b.close()


def calendar_test(url, next_ms):
    """tests/e2e_calendar.sh's board: a calendar off until next_ms, when
    it enters its day session, and no plan: the Calendars table shows it,
    Planned suspensions says there are none, and the page raised no
    error."""
    b = Browser()
    try:
        b.navigate(url + "/")
        v, _ = b.wait("document.body.dataset.conn === 'live' && "
                      "document.querySelector('tr.cal') !== null", 10)
        if not v:
            fail("the board lists the calendar", "no tr.cal")
            return
        row = b.eval("(function () { var r = document.querySelector("
                     "'tr.cal'); return [r.dataset.calendar, "
                     "r.dataset.session, r.dataset.next].concat("
                     "Array.prototype.map.call(r.cells, function (c) "
                     "{ return c.textContent; }).slice(0, 4)); })()")
        check("the calendar's row: krx, off, next day at Monday 09:00 KST",
              [row[0], row[1], row[2], row[3], row[4], row[6]],
              ["krx", "off", str(next_ms), "krx (UTC+09:00)", "off", "day"])
        check("its next change in UTC first, then the notice zone",
              row[5].startswith("2026-12-07 00:00:00 UTC / "), True)
        check("the Calendars section is shown",
              b.eval("document.getElementById('calendars').hidden"), False)
        check("no planned suspension",
              b.eval("[document.getElementById('no-plan').hidden, "
                     "document.getElementById('plans').rows.length, "
                     "document.getElementById('plan-count').textContent]"),
              [False, 0, "(0)"])
        check("the page raised no error", b.problems(), [])
    finally:
        b.close()


def plans_test(url, plan, xplan):
    """tests/plan_test.c's board: plan on w ([notice maint]) and xplan on
    x (the default notice, no end), both pending: Planned suspensions
    lists both, in the config's order."""
    b = Browser()
    try:
        b.navigate(url + "/")
        v, _ = b.wait("document.body.dataset.conn === 'live' && "
                      "document.querySelectorAll('tr.plan').length === 2",
                      10)
        if not v:
            fail("the board lists both plans",
                 b.eval("document.querySelectorAll('tr.plan').length"))
            return
        rows = b.eval("Array.prototype.map.call(document.querySelectorAll("
                      "'tr.plan'), function (r) { return [r.dataset.plan,"
                      " r.dataset.scope, r.dataset.until === '', "
                      "r.cells[0].textContent, r.cells[1].textContent, "
                      "r.cells[3].textContent.slice(-6), "
                      "r.cells[5].textContent, r.cells[6].textContent]; "
                      "})")
        check("the plans' rows", rows,
              [[str(plan), "w", False, str(plan), "w (product)", "+09:00",
                "maintenance (by alice)", "maint"],
               [str(xplan), "x", True, str(xplan), "x (product)",
                "lifted", "x stop (by bob)", "default"]])
        check("no 'none' line, the count",
              b.eval("[document.getElementById('no-plan').hidden, "
                     "document.getElementById('plan-count').textContent]"),
              [True, "(2)"])
        check("the page raised no error", b.problems(), [])
    finally:
        b.close()


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
    if len(argv) == 4 and argv[1] == "stale":
        try:
            stale_test(argv[2], argv[3])
        except Exception as e:  # a broken driver is a failure
            fail("the stale test ran to its end", repr(e))
        print("%d passed, %d failed" % (passed, failed))
        return 1 if failed else 0
    if len(argv) == 4 and argv[1] == "calendar":
        try:
            calendar_test(argv[2], int(argv[3]))
        except Exception as e:  # a broken driver is a failure
            fail("the calendar test ran to its end", repr(e))
        print("%d passed, %d failed" % (passed, failed))
        return 1 if failed else 0
    if len(argv) == 5 and argv[1] == "plans":
        try:
            plans_test(argv[2], int(argv[3]), int(argv[4]))
        except Exception as e:  # a broken driver is a failure
            fail("the plans test ran to its end", repr(e))
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
