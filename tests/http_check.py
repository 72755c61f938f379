#!/usr/bin/env python3
# http_check.py HTTP_SERVE PORT: tests/e2e_http.sh's checks of
# ipc/ipc_http.c, through tests/http_serve (started here, driven on its
# stdin) with real HTTP clients: http.client and raw sockets.  Prints
# "ok NAME" or "FAIL NAME: WHY" per check.
import http.client
import socket
import subprocess
import sys
import time

serve_bin, port = sys.argv[1], int(sys.argv[2])
HOST = "127.0.0.1:%d" % port


def ok(name):
    print("ok", name, flush=True)


def fail(name, why):
    print("FAIL %s: %s" % (name, why), flush=True)


def check(name, got, want):
    if got == want:
        ok(name)
    else:
        fail(name, "got [%r], want [%r]" % (got, want))


srv = subprocess.Popen([serve_bin, "http://" + HOST, "300"],
                       stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                       text=True)
check("listening", srv.stdout.readline().strip(), "listening")


def cmd(line):
    srv.stdin.write(line + "\n")
    srv.stdin.flush()
    return srv.stdout.readline().strip()


def request(method, path, host=HOST, body=None, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    c.putrequest(method, path, skip_host=True)
    if host is not None:
        c.putheader("Host", host)
    for k, v in (headers or {}).items():
        c.putheader(k, v)
    if body is not None:
        c.putheader("Content-Length", str(len(body)))
    c.endheaders(body)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r, data


# A route: its body, type and the headers every answer carries.
r, body = request("GET", "/hello")
check("get status", r.status, 200)
check("get body", body, b"hello from ipc_http\n")
check("get type", r.getheader("Content-Type"), "text/plain; charset=utf-8")
check("get length", r.getheader("Content-Length"), "20")
check("get csp", r.getheader("Content-Security-Policy"),
      "default-src 'none'; frame-ancestors 'none'")
check("get no-store", r.getheader("Cache-Control"), "no-store")
check("get nosniff", r.getheader("X-Content-Type-Options"), "nosniff")
check("get referrer", r.getheader("Referrer-Policy"), "no-referrer")
r, body = request("GET", "/query?a=1&b=%20x")
check("query passed", (r.status, body), (200, b"a=1&b=%20x"))
r, body = request("GET", "/query")
check("no query", (r.status, body), (200, b""))
r, body = request("GET", "/status")
check("route's own status", (r.status, body), (404, b"no such thing\n"))
r, body = request("GET", "/csp")
check("route's own csp", r.getheader("Content-Security-Policy"),
      "default-src 'none'; style-src 'sha256-x'")
check("route's own type", r.getheader("Content-Type"),
      "text/html; charset=utf-8")
r, body = request("HEAD", "/hello")
check("head", (r.status, body, r.getheader("Content-Length")),
      (200, b"", "20"))

# GET only; unknown paths; no body on a GET.
for m in ("POST", "PUT", "DELETE", "PATCH"):
    r, body = request(m, "/hello", body=b"x" if m != "DELETE" else None)
    check("%s is 405" % m, r.status, 405)
r, body = request("POST", "/live", body=b"{}")
check("POST stream is 405", r.status, 405)
r, body = request("GET", "/nothing")
check("unknown path 404", r.status, 404)
r, body = request("GET", "/hello/more")
check("path below a route 404", r.status, 404)
r, body = request("GET", "/hello", body=b"x")
check("GET with a body 400", r.status, 400)

# The Host header is pinned: another name (a rebound DNS name, or
# "localhost" for 127.0.0.1) gets 421 naming the right address.
want421 = ("fxbreakerd answers only to Host: %s (its http_url): "
           "open http://%s/\n" % (HOST, HOST)).encode()
for host in ("evil.example:%d" % port, "localhost:%d" % port,
             "127.0.0.2:%d" % port):
    r, body = request("GET", "/hello", host=host)
    check("host %s refused" % host, (r.status, body), (421, want421))
r, body = request("GET", "/live", host="evil.example")
check("stream host refused", r.status, 421)
r, body = request("GET", "/hello", host="127.0.0.1")
check("host without port", r.status, 200)
# HTTP/1.0 without Host: no host to match, refused.
s = socket.create_connection(("127.0.0.1", port), timeout=5)
s.sendall(b"GET /hello HTTP/1.0\r\n\r\n")
resp = b""
while True:
    d = s.recv(4096)
    if not d:
        break
    resp += d
s.close()
check("http/1.0 without host", resp.split(b"\r\n")[0],
      b"HTTP/1.1 421 Misdirected Request")
# HTTP/1.1 without Host: 400 (RFC 7230).
s = socket.create_connection(("127.0.0.1", port), timeout=5)
s.sendall(b"GET /hello HTTP/1.1\r\n\r\n")
check("http/1.1 without host", s.recv(4096).split(b"\r\n")[0],
      b"HTTP/1.1 400 Bad Request")
s.close()


# The stream.
def stream_open(rcvbuf=None):
    s = socket.socket()
    if rcvbuf is not None:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(5)
    s.connect(("127.0.0.1", port))
    s.sendall(("GET /live HTTP/1.1\r\nHost: %s\r\n"
               "Accept: text/event-stream\r\n\r\n" % HOST).encode())
    return s


class Reader:
    def __init__(self, s):
        self.s, self.buf = s, b""

    def until(self, marker, limit=5.0):
        end = time.time() + limit
        while marker not in self.buf:
            self.s.settimeout(max(0.01, end - time.time()))
            try:
                d = self.s.recv(65536)
            except socket.timeout:
                return None
            if not d:
                return None
            self.buf += d
        i = self.buf.index(marker) + len(marker)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out


def wait_clients(n, limit=3.0):
    end = time.time() + limit
    while time.time() < end:
        got = int(cmd("clients"))
        if got == n:
            return got
        time.sleep(0.05)
    return int(cmd("clients"))


a = Reader(stream_open())
head = a.until(b"\r\n\r\n")
check("stream head", head,
      b"HTTP/1.1 200 OK\r\n"
      b"Content-Type: text/event-stream; charset=utf-8\r\n"
      b"Cache-Control: no-store\r\n"
      b"X-Content-Type-Options: nosniff\r\n"
      b"Content-Security-Policy: default-src 'none'; "
      b"frame-ancestors 'none'\r\n"
      b"Connection: close\r\n\r\n")
check("stream retry", a.until(b"\n\n"), b"retry: 2000\n\n")
check("stream hello", a.until(b"\n\n"),
      b"event: hello\ndata: {\"hello\":1}\n\n")
b = Reader(stream_open())
b.until(b"\r\n\r\n")
b.until(b"\n\n")
check("second hello", b.until(b"\n\n"),
      b"event: hello\ndata: {\"hello\":2}\n\n")
check("two clients", wait_clients(2), 2)
cmd("send tick 1 4")
check("broadcast a", a.until(b"\n\n"), b"event: tick\ndata: 0xxx\n\n")
check("broadcast b", b.until(b"\n\n"), b"event: tick\ndata: 0xxx\n\n")
cmd("send tick 3 2")
check("in order", a.until(b"\n\n") + a.until(b"\n\n") + a.until(b"\n\n"),
      b"event: tick\ndata: 0x\n\nevent: tick\ndata: 1x\n\n"
      b"event: tick\ndata: 2x\n\n")
# Keepalive comments (every 300 ms here, 15 s in the daemon).
b.until(b"\n\n")
b.until(b"\n\n")
b.until(b"\n\n")
check("keepalive", b.until(b"\n\n", 2.0), b": keepalive\n\n")
# A closed client is noticed without a write.
b.s.close()
check("closed client noticed", wait_clients(1), 1)
# A client that reads nothing is dropped once its queue passes the cap;
# the broadcaster never waits for it, and a client that reads keeps up.
slow = stream_open(rcvbuf=4096)
time.sleep(0.2)
check("slow joins", wait_clients(2), 2)
# 16 MiB in 1 s: more than the slow one's queue and kernel buffers, and
# little for a reader that reads.
import threading
got = [0]


def drain():
    while got[0] < 256:
        ev = a.until(b"\n\n", 5.0)
        if ev is None:
            break
        if ev.startswith(b"event: big"):
            got[0] += 1


t = threading.Thread(target=drain)
t.start()
worst = int(cmd("send big 256 65536 4"))
t.join()
check("reader got all 256", got[0], 256)
check("slow client dropped", wait_clients(1), 1)
if worst < 200000:
    ok("broadcast never waited (worst %d us)" % worst)
else:
    fail("broadcast never waited", "worst %d us" % worst)
slow.close()
cmd("send tick 1 1")
check("reader still served", a.until(b"\n\n"), b"event: tick\ndata: 0\n\n")
r, body = request("HEAD", "/live")
check("HEAD stream", (r.status, r.getheader("Content-Type")),
      (200, "text/event-stream; charset=utf-8"))
# At most 32 clients: the 33rd gets 503.
many = []
for i in range(31):
    s = Reader(stream_open())
    s.until(b"\r\n\r\n")
    many.append(s)
check("32 clients", wait_clients(32), 32)
r, body = request("GET", "/live")
check("33rd refused", (r.status, body),
      (503, b"fxbreakerd: too many live boards open (or stopping): "
       b"close one and reload\n"))
for s in many:
    s.s.close()
check("back to one", wait_clients(1), 1)
# Routes run one at a time on the server's own thread, at most 64
# waiting: 100 requests at once on a 50 ms route get 200 or a 503 that
# says why, none is lost.
import concurrent.futures


def slow(_):
    try:
        r, body = request("GET", "/slow")
        return r.status, body
    except Exception as e:  # noqa: BLE001
        return None, repr(e)


with concurrent.futures.ThreadPoolExecutor(100) as ex:
    got = list(ex.map(slow, range(100)))
ok200 = sum(1 for st, b in got if (st, b) == (200, b"slow\n"))
busy = sum(1 for st, b in got if (st, b) == (
    503, b"fxbreakerd: too many HTTP requests at once (or stopping): "
    b"try again\n"))
check("100 at once: each 200 or 503", ok200 + busy, 100)
if busy >= 1 and ok200 >= 65:
    ok("queue capped (%d answered, %d refused)" % (ok200, busy))
else:
    fail("queue capped", "%d answered, %d refused" % (ok200, busy))
# Close ends the stream.
check("close", cmd("quit"), "closed")
check("stream ended", a.until(b"never", 3.0), None)
check("exit", srv.wait(5), 0)

# Refused addresses.
p = subprocess.run([serve_bin, "http://0.0.0.0:%d" % port, "0"],
                   stdin=subprocess.DEVNULL, capture_output=True, text=True)
check("wildcard refused", (p.returncode, p.stderr),
      (111, "http_serve: http://0.0.0.0:%d: a wildcard address cannot pin "
       "the Host header; name the address to listen on "
       "(http://127.0.0.1:PORT, or this host's own address)\n" % port))
holder = socket.socket()
holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
holder.bind(("127.0.0.1", port + 1))
holder.listen(1)
p = subprocess.run([serve_bin, "http://127.0.0.1:%d" % (port + 1), "0"],
                   stdin=subprocess.DEVNULL, capture_output=True, text=True)
check("port taken", (p.returncode, p.stderr),
      (111, "http_serve: http://127.0.0.1:%d: cannot listen: "
       "Address in use\n" % (port + 1)))
holder.close()
