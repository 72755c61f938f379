#!/usr/bin/env python3
"""Generate examples/night-2024-12-03.tape: a synthetic replay of the night
of 2024-12-03 (martial-law declaration in Korea), for fxbreakerctl replay.

    python3 examples/make-night-tape.py [--no-operator] [OUTPUT]

OUTPUT defaults to examples/night-2024-12-03.tape (run from the repository
root).

Deterministic: a fixed seed, the standard library only, and no floating
point library functions (no exp/log/sqrt), so the same bytes come out on
every machine and every Python 3.  The tape is *synthetic*: the shape of the
night follows public reporting, the figures do not claim to be market data.

Story (KST = UTC+9; the tape carries UTC epoch milliseconds):

  15:30  onshore close, USD/KRW 1402.9; a quiet evening session follows.
  22:25  martial law is declared on television.
  22:27  USD/KRW jumps ~16 won in under a minute, then keeps rising;
         quotes widen (EUR/KRW, a thin cross, very wide for about a minute).
  22:30  conversion requests surge several-fold, mostly customers buying
         dollars; overseas remittances surge in number and size.
  23:41  the EUR/KRW feed drops out for 15 s (the stale rule fires).
  00:20  USD/KRW peaks near 1442.
  01:01  the National Assembly votes to lift martial law; USD/KRW falls
         ~15 won within a minute.
  01:35  ops (two people, in production) reset the latched volume breaker
         of the dollar-buying wallet after reviewing the night.
  02:00  the evening session ends near 1425; the tape ends.

Tape format: RULES.md section 7 (JSON Lines, time order, decimals as
strings, an "end" line).  The reset line at 01:35 assumes the thresholds of
examples/fxbreaker.conf (the rule must be tripped then, or the replay stops
with an error): pass --no-operator to leave it out.
"""

import random
import sys
from datetime import datetime, timedelta, timezone

SEED = 20241203
KST = timezone(timedelta(hours=9))
DAY = datetime(2024, 12, 3, tzinfo=KST)

# Prior closes (the velocity and deviation rules in fxbreaker.conf use the
# same figures).  JPY/KRW is KRW per 1 yen, so that amounts are whole yen.
USD_CLOSE = 1402.9
USDJPY = 149.55      # JPY/KRW = USD/KRW / USDJPY   -> 9.3808 at the close
EURUSD = 1.0510      # EUR/KRW = USD/KRW * EURUSD   -> 1474.45 at the close


def kst_ms(hhmmss, next_day=False):
    """UTC epoch milliseconds of a KST wall-clock time on the night."""
    h, m, s = (int(x) for x in hhmmss.split(":"))
    d = DAY + timedelta(days=1 if next_day else 0, hours=h, minutes=m,
                        seconds=s)
    return int(d.timestamp()) * 1000


T0 = kst_ms("15:30:00")
T_END = kst_ms("02:00:00", next_day=True)


def at(hhmmss):
    """KST time on the night: before 15:00 means the next day."""
    return kst_ms(hhmmss, next_day=int(hhmmss[:2]) < 15)


def interp(points, t):
    """Piecewise-linear value of [(t, v), ...] at t (clamped)."""
    if t <= points[0][0]:
        return points[0][1]
    for (t0, v0), (t1, v1) in zip(points, points[1:]):
        if t <= t1:
            return v0 + (v1 - v0) * (t - t0) / (t1 - t0)
    return points[-1][1]


def curve(spec):
    return [(at(k), v) for k, v in spec]


# USD/KRW mid: the anchors of the night; noise is added around them.
USD_PATH = curve([
    ("15:30:00", USD_CLOSE), ("16:30:00", 1403.8), ("17:30:00", 1402.6),
    ("18:30:00", 1404.1), ("19:30:00", 1403.2), ("20:30:00", 1404.6),
    ("21:30:00", 1403.5), ("22:24:00", 1404.0),
    # 22:25 declaration; first reactions, then the jump.
    ("22:26:30", 1406.0), ("22:27:10", 1408.0), ("22:28:00", 1424.5),
    ("22:30:00", 1429.0), ("22:33:00", 1431.5), ("22:45:00", 1436.0),
    ("23:00:00", 1434.0), ("23:20:00", 1439.0), ("23:40:00", 1438.5),
    ("00:00:00", 1441.0), ("00:20:00", 1442.3), ("00:40:00", 1440.5),
    # 01:01 the Assembly votes to lift martial law.
    ("01:01:20", 1439.8), ("01:02:10", 1424.2), ("01:10:00", 1427.0),
    ("01:30:00", 1428.0), ("02:00:00", 1425.0),
])

# Noise amplitude (won, one standard deviation of the AR(1) noise) and
# USD/KRW spread (won) through the night.
NOISE = curve([
    ("15:30:00", 0.35), ("22:26:00", 0.35), ("22:28:00", 1.2),
    ("23:30:00", 1.0), ("00:40:00", 0.7), ("01:01:00", 0.7),
    ("01:03:00", 0.9), ("02:00:00", 0.45),
])
USD_SPREAD = curve([
    ("15:30:00", 0.2), ("22:26:00", 0.2), ("22:28:00", 2.6),
    ("22:40:00", 1.6), ("23:30:00", 1.0), ("00:40:00", 0.6),
    ("01:01:00", 0.6), ("01:02:00", 1.8), ("01:10:00", 0.8),
    ("02:00:00", 0.3),
])
# EUR/KRW is a thin cross: its quote is wider, and for about a minute
# around the jump it is too wide to price (spread rule, 0.5 %).
EUR_SPREAD_PCT = curve([
    ("15:30:00", 0.04), ("22:26:00", 0.04), ("22:27:20", 0.10),
    ("22:27:30", 0.70), ("22:28:20", 0.70), ("22:28:30", 0.20),
    ("23:30:00", 0.12), ("02:00:00", 0.05),
])
JPY_SPREAD_PCT = curve([
    ("15:30:00", 0.03), ("22:26:00", 0.03), ("22:28:00", 0.25),
    ("23:30:00", 0.10), ("02:00:00", 0.04),
])
EUR_GAP = (at("23:41:10"), at("23:41:25"))   # no EUR/KRW ticks in between

# Checks per second per product through the night.  Quiet: about 1 a
# second overall (kept low so that the tape stays near 8 MB); from 22:30
# about 7 a second, mostly customers buying dollars.
PRODUCTS = {
    "fx-wallet.USDKRW.buy": curve([
        ("15:30:00", 0.36), ("18:00:00", 0.28), ("19:00:00", 0.22),
        ("22:25:00", 0.22), ("22:27:00", 0.6), ("22:31:00", 4.0),
        ("22:50:00", 4.2), ("23:00:00", 2.2), ("23:30:00", 1.5),
        ("00:30:00", 1.1), ("01:00:00", 0.9), ("01:30:00", 0.7),
        ("02:00:00", 0.45)]),
    "fx-wallet.USDKRW.sell": curve([
        ("15:30:00", 0.24), ("18:00:00", 0.18), ("22:25:00", 0.15),
        ("22:28:00", 0.5), ("22:35:00", 1.3), ("23:00:00", 1.1),
        ("00:30:00", 0.8), ("01:00:00", 0.7), ("01:03:00", 1.2),
        ("01:30:00", 0.6), ("02:00:00", 0.35)]),
    "fx-wallet.JPYKRW.buy": curve([
        ("15:30:00", 0.15), ("22:25:00", 0.1), ("22:30:00", 0.4),
        ("22:45:00", 0.5), ("23:30:00", 0.3), ("02:00:00", 0.15)]),
    "fx-wallet.JPYKRW.sell": curve([
        ("15:30:00", 0.1), ("22:25:00", 0.07), ("22:35:00", 0.3),
        ("23:30:00", 0.2), ("02:00:00", 0.1)]),
    "fx-wallet.EURKRW.buy": curve([
        ("15:30:00", 0.07), ("22:25:00", 0.05), ("22:35:00", 0.25),
        ("23:30:00", 0.15), ("02:00:00", 0.06)]),
    "fx-wallet.EURKRW.sell": curve([
        ("15:30:00", 0.05), ("22:25:00", 0.04), ("22:35:00", 0.2),
        ("23:30:00", 0.1), ("02:00:00", 0.04)]),
    "remittance.USDKRW": curve([
        ("15:30:00", 0.05), ("18:00:00", 0.03), ("22:25:00", 0.03),
        ("22:35:00", 0.30), ("23:15:00", 0.12), ("00:00:00", 0.08),
        ("02:00:00", 0.05)]),
    "auto-exchange.USDKRW": curve([
        ("15:30:00", 0.12), ("22:25:00", 0.1), ("22:40:00", 0.35),
        ("00:00:00", 0.2), ("02:00:00", 0.1)]),
}
SLOT_MS = 50          # at most one check per product per 50 ms slot
RATE_SHARE = 0.2      # share of checks that carry the rate the app showed


class Night:
    def __init__(self, seed):
        self.rng = random.Random(seed)

    def u(self):
        return self.rng.random()

    def normal(self):
        # Irwin-Hall: the sum of 12 uniforms minus 6 is close to N(0, 1)
        # and needs no library function, so it is the same everywhere.
        return sum(self.rng.random() for _ in range(12)) - 6.0


def fmt_fixed(x, places):
    """x rounded half up to `places` decimals, as a string (x > 0)."""
    scale = 10 ** places
    n = int(x * scale + 0.5)
    s = str(n).rjust(places + 1, "0")
    return s[:-places] + "." + s[-places:] if places else s


def quote(mid, spread, places):
    step = 10.0 ** -places
    half = max(spread / 2, step)
    bid = fmt_fixed(mid - half, places)
    ask = fmt_fixed(mid + half, places)
    return bid, ask


def gen_ticks(night):
    """(t, order, line) for the three pairs."""
    out = []
    noise = 0.0
    cross_noise = {"JPY/KRW": 0.0, "EUR/KRW": 0.0}
    mids = []                                  # (t, usd mid) for the checks
    t = T0
    while t <= T_END:
        # AR(1) noise, mean-reverting over about a minute of ticks.
        sigma = interp(NOISE, t)
        noise = 0.97 * noise + 0.243 * sigma * night.normal()
        mid = interp(USD_PATH, t) + (noise if t > T0 else 0.0)
        mids.append((t, mid))
        bid, ask = quote(mid, interp(USD_SPREAD, t), 1)
        tj = t + (int(night.u() * 300) if t > T0 else 0)
        if tj < T_END:
            out.append((tj, 0, '{"t":%d,"tick":{"pair":"USD/KRW",'
                        '"bid":"%s","ask":"%s"}}' % (tj, bid, ask)))
        t += 2000
    # Crosses: every 5 s, proportional to USD/KRW with a little noise of
    # their own (USD/JPY and EUR/USD barely moved that night).
    usd_at = dict(mids)
    t = T0
    while t <= T_END:
        base_mid = usd_at.get(t) or usd_at[t - 1000]
        for pair, places, factor, spread_pct in (
                ("JPY/KRW", 4, 1 / USDJPY, JPY_SPREAD_PCT),
                ("EUR/KRW", 2, EURUSD, EUR_SPREAD_PCT)):
            if pair == "EUR/KRW" and EUR_GAP[0] < t < EUR_GAP[1]:
                continue
            cn = cross_noise[pair]
            cn = 0.95 * cn + 0.00012 * night.normal() if t > T0 else 0.0
            cross_noise[pair] = cn
            mid = base_mid * factor * (1 + cn)
            spread = mid * interp(spread_pct, t) / 100
            bid, ask = quote(mid, spread, places)
            tj = t + (int(night.u() * 500) + 1 if t > T0 else 0)
            if tj < T_END:
                out.append((tj, 0, '{"t":%d,"tick":{"pair":"%s",'
                            '"bid":"%s","ask":"%s"}}' % (tj, pair, bid, ask)))
        t += 5000
    return out, mids


def amount(night, product):
    """A plausible amount in the pair's base currency.  Whole amounts are
    written without ".00" (fewer fractional digits than the currency has are
    fine; more are an error), which keeps the tape small."""
    r = night.u()
    if product.startswith("remittance"):
        # Remittances are larger: mostly small, a few of USD 10,000+.
        v = [300, 500, 1000, 2000, 3000, 5000, 8000, 10000, 20000][
            int(r * r * 9)]
        return str(v)
    if ".JPYKRW." in product:
        return str([5000, 10000, 20000, 30000, 50000, 100000][int(r * 6)])
    if ".EURKRW." in product:
        return str([50, 100, 200, 300, 500, 1000][int(r * 6)])
    if product.startswith("auto-exchange"):
        # Card payments abroad short of balance: odd amounts, with cents.
        return "%d.%02d" % (5 + int(r * 180), int(night.u() * 100))
    return str([20, 50, 100, 200, 300, 500, 1000, 2000][int(r * 8)])


def gen_checks(night, mids):
    out = []
    mid_i = 0
    for product, rates in PRODUCTS.items():
        pair = product.split(".")[1] if "." in product else "USDKRW"
        factor = {"USDKRW": 1.0, "JPYKRW": 1 / USDJPY,
                  "EURKRW": EURUSD}[pair]
        places = {"USDKRW": 2, "JPYKRW": 4, "EURKRW": 2}[pair]
        # The customer's side of the base currency: remittance buys it,
        # automatic exchange may go either way (shown at the mid).
        side = product.rsplit(".", 1)[-1]
        if product.startswith("remittance."):
            side = "buy"
        mid_i = 0
        t = T0 + 1000        # the first ticks come first: no check sees
        while t < T_END:     # a pair before its first rate
            lam = interp(rates, t)
            p = lam * SLOT_MS / 1000
            for slot in range(0, 1000, SLOT_MS):
                if night.u() >= p:
                    continue
                tc = t + slot + int(night.u() * SLOT_MS)
                a = amount(night, product)
                rate = ""
                if night.u() < RATE_SHARE:
                    # The rate the app showed: the mid of 3 s or more ago,
                    # plus 0.05 % against the customer (a retail margin).
                    while mid_i + 1 < len(mids) and \
                            mids[mid_i + 1][0] <= tc - 3000:
                        mid_i += 1
                    m = mids[mid_i][1] * factor
                    adj = {"buy": 0.0005, "sell": -0.0005}.get(side, 0) * m
                    rate = ',"rate":"%s"' % fmt_fixed(m + adj, places)
                out.append((tc, 1, '{"t":%d,"check":{"product":"%s",'
                            '"amount":"%s"%s}}' % (tc, product, a, rate)))
            t += 1000
    return out


def main(argv):
    path = "examples/night-2024-12-03.tape"
    operator = True
    usage = "usage: make-night-tape.py [--no-operator] [OUTPUT]"
    paths = []
    for a in argv[1:]:
        if a == "--no-operator":
            operator = False
        elif a.startswith("-"):
            sys.exit(usage)
        else:
            paths.append(a)
    if len(paths) > 1:
        sys.exit(usage)
    if paths:
        path = paths[0]
    night = Night(SEED)
    ticks, mids = gen_ticks(night)
    checks = gen_checks(night, mids)
    records = ticks + checks
    if operator:
        t = at("01:35:00")
        records.append((t, 2, '{"t":%d,"reset":{"rule":'
                        '"usdkrw-wallet-buy-volume"}}' % t))
    # Time order; ticks before checks at the same millisecond.
    records.sort(key=lambda r: (r[0], r[1]))
    with open(path, "w", encoding="ascii", newline="\n") as f:
        for _, _, line in records:
            f.write(line + "\n")
        f.write('{"t":%d,"end":true}\n' % T_END)
    print("%s: %d records, %d ticks, %d checks, %s to %s (UTC ms)"
          % (path, len(records) + 1, len(ticks), len(checks), T0, T_END))


if __name__ == "__main__":
    main(sys.argv)
