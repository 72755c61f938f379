#!/usr/bin/env python3
"""calibrate_test.py: `fxbreakerctl calibrate --html`'s report in a real
browser (Debian's chromium, headless, over the DevTools pipe: the same
driver as the board's, tests/board_test.py).

    calibrate_test.py test REPORT.html SETTINGS PAIRS [SHOT.png]
        Opens the file, and asserts: no exception thrown and no error
        logged; SETTINGS points on each impact chart (denied and
        minutes), one per setting, numbered 1..SETTINGS; one rate chart
        per pair (PAIRS: names, comma-separated) each with one non-empty
        rate path, and band edges and velocity limits drawn on the
        first; a suspension chart per setting and one for the config as
        written, with bars; choosing a setting in the select, or
        clicking its point, shows its bars alone.  Prints "ok NAME" or
        "FAIL NAME: WHY" per check and the tally; a screenshot if asked.

    calibrate_test.py shot REPORT.html OUT.png
        One screenshot of the report (make calibrate-shot).

The profile goes to $BOARD_PROFILE (the caller's temporary directory).
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from board_test import Browser, check, fail, ok  # noqa: E402
import board_test  # noqa: E402


def load(b, path):
    b.navigate("file://" + os.path.abspath(path))
    v, _ = b.wait("document.readyState === 'complete' && "
                  "document.getElementById('setting-select') !== null",
                  15)
    return bool(v)


def count(b, selector):
    return b.eval("document.querySelectorAll(%r).length" % selector)


def run_test(path, nset, pairs, shot):
    b = Browser(width=1100, height=900)
    try:
        if not load(b, path):
            fail("the report loads", "no select after 15 s")
            return
        ok("the report loads")
        check("impact points (checks denied), one per setting",
              count(b, "#impact-denied .impact-point"), nset)
        check("impact points (minutes), one per setting",
              count(b, "#impact-minutes .minutes-point"), nset)
        check("impact points name every setting once",
              b.eval("Array.from(document.querySelectorAll("
                     "'.impact-point')).map(function(e){return "
                     "+e.dataset.setting}).sort(function(a,b){return "
                     "a-b}).join(',')"),
              ",".join(str(i) for i in range(1, nset + 1)))
        check("a result row per setting and the config's",
              count(b, "tr.result-row"), nset + 1)
        check("one rate chart per pair",
              b.eval("Array.from(document.querySelectorAll("
                     "'svg.rate-chart')).map(function(e){return "
                     "e.dataset.pair}).join(',')"),
              ",".join(pairs))
        for p in pairs:
            sel = "svg.rate-chart[data-pair=%s]" % repr(p).replace(
                "'", '"')
            check("%s: one rate path, drawn" % p,
                  b.eval("(function(){var e=document.querySelectorAll("
                         "%r);return e.length===1 && "
                         "e[0].getAttribute('d').split('L').length>100}"
                         ")()" % (sel + " .rate-path")), True)
        first = "svg.rate-chart[data-pair=%s]" % repr(pairs[0]).replace(
            "'", '"')
        for cls in ("band-upper", "band-lower", "vel-upper", "vel-lower"):
            check("%s: %s drawn" % (pairs[0], cls),
                  b.eval("(function(){var e=document.querySelector("
                         "%r);return e!==null && "
                         "e.getAttribute('d').indexOf('M')>=0})()"
                         % (first + " ." + cls)), True)
        check("a suspension chart per setting and the config's",
              count(b, "svg.susp-chart"), nset + 1)
        check("an option per setting and the config's",
              count(b, "#setting-select option"), nset + 1)
        check("the config's chart shows first, alone",
              b.eval("Array.from(document.querySelectorAll("
                     "'svg.susp-chart')).filter(function(s){return "
                     "s.style.display!=='none'}).map(function(s){return "
                     "s.dataset.setting}).join(',')"), "config")
        check("the config's chart has bars",
              count(b, "svg.susp-chart[data-setting=config] .susp-bar")
              > 0, True)
        check("every setting's chart has bars",
              b.eval("Array.from(document.querySelectorAll("
                     "'svg.susp-chart')).every(function(s){return "
                     "s.querySelectorAll('.susp-bar').length>0})"), True)
        last = str(nset)
        b.eval("(function(){var s=document.getElementById("
               "'setting-select');s.value=%r;s.dispatchEvent("
               "new Event('change'))})()" % last)
        check("choosing a setting shows its chart alone",
              b.eval("Array.from(document.querySelectorAll("
                     "'svg.susp-chart')).filter(function(s){return "
                     "s.style.display!=='none'}).map(function(s){return "
                     "s.dataset.setting}).join(',')"), last)
        check("and marks its row",
              b.eval("document.querySelector('tr.selected')"
                     ".dataset.setting"), last)
        b.eval("document.querySelector('.impact-point[data-setting=\"1\"]')"
               ".dispatchEvent(new MouseEvent('click'))")
        check("clicking a point chooses its setting",
              b.eval("document.getElementById('setting-select').value"),
              "1")
        b.eval("document.getElementById('setting-select').value='config';"
               "document.getElementById('setting-select').dispatchEvent("
               "new Event('change'));window.scrollTo(0,0)")
        time.sleep(0.2)
        bad = b.problems()
        check("no exception and no error logged", bad, [])
        if shot:
            b.screenshot(shot)
    finally:
        b.close()


def main(argv):
    if len(argv) in (5, 6) and argv[1] == "test":
        try:
            run_test(argv[2], int(argv[3]), argv[4].split(","),
                     argv[5] if len(argv) == 6 else None)
        except Exception as e:  # a broken driver is a failure, not a pass
            fail("the browser test ran to its end", repr(e))
        print("%d passed, %d failed" % (board_test.passed,
                                        board_test.failed))
        return 1 if board_test.failed else 0
    if len(argv) == 4 and argv[1] == "shot":
        b = Browser(width=1100, height=900)
        try:
            if not load(b, argv[2]):
                print("shot: the report did not load", file=sys.stderr)
                return 1
            time.sleep(0.3)
            bad = b.problems()
            if bad:
                print("shot: the page complained: %r" % bad,
                      file=sys.stderr)
                return 1
            b.screenshot(argv[3])
        finally:
            b.close()
        print("wrote " + argv[3])
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
