#!/usr/bin/env python3
# bench/scrape.py URL: a Prometheus stand-in for bench/service_bench.sh:
# GET URL (fxbreakerd's /metrics) once a second, as a scrape_interval of
# 1s would, until SIGTERM; then prints "scrapes=N bytes=B max_ms=M"
# (the largest answer and the slowest scrape).  Exits 1 if a scrape
# failed: a scraper that saw errors measured nothing.
import signal
import sys
import time
import urllib.request

url = sys.argv[1]
n = size = 0
worst = 0.0
failed = None
stop = False


def on_term(signum, frame):
    global stop
    stop = True


signal.signal(signal.SIGTERM, on_term)
next_at = time.monotonic()
while not stop:
    t0 = time.monotonic()
    try:
        body = urllib.request.urlopen(url, timeout=5).read()
        n += 1
        size = max(size, len(body))
        worst = max(worst, (time.monotonic() - t0) * 1000)
    except Exception as e:  # noqa: BLE001 (any failure ends the run)
        failed = e
        break
    next_at += 1.0
    while not stop and time.monotonic() < next_at:
        time.sleep(min(0.05, max(0.0, next_at - time.monotonic())))
print("scrapes=%d bytes=%d max_ms=%.1f" % (n, size, worst))
if failed is not None:
    print("scrape.py: %s: %s" % (url, failed), file=sys.stderr)
    sys.exit(1)
