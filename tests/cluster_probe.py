#!/usr/bin/env python3
"""cluster_probe.py URL (stop PID... | run CMD...): the cluster's
partition tests' probe.  One REQ socket on URL (libnng through ctypes, as
docs/PROTOCOL.md "Calling from Python" does), so that the times it
reports are not those of starting a client per check on a busy machine.
It checks once ("before ANSWER"), then cuts the node off itself: SIGSTOP
of each PID (the followers), or CMD run to completion (a link taken
down), and checks every 5 ms for 2 s: one line "SENT_MS ANSWERED_MS
ANSWER" each, in ms after the cut, ANSWER the decision, an error's code
or "none"; at the first no_quorum (38), "reply RAW" and it stops."""
import ctypes, json, os, signal, subprocess, sys, time

nng = ctypes.CDLL("libnng.so.1")


class Socket(ctypes.Structure):
    _fields_ = [("id", ctypes.c_uint32)]


nng.nng_req0_open.argtypes = [ctypes.POINTER(Socket)]
nng.nng_socket_set_ms.argtypes = [Socket, ctypes.c_char_p, ctypes.c_int32]
nng.nng_dial.argtypes = [Socket, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_int]
nng.nng_send.argtypes = [Socket, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_int]
nng.nng_recv.argtypes = [Socket, ctypes.POINTER(ctypes.c_void_p),
                         ctypes.POINTER(ctypes.c_size_t), ctypes.c_int]
nng.nng_free.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
s = Socket()
assert nng.nng_req0_open(ctypes.byref(s)) == 0
for o in (b"send-timeout", b"recv-timeout"):
    nng.nng_socket_set_ms(s, o, 2000)
assert nng.nng_dial(s, sys.argv[1].encode(), None, 0) == 0
req = b'{"op":"check","product":"free","amount":"1.00","ref":"r"}'
raw = None


def check():
    global raw
    buf, size = ctypes.c_void_p(), ctypes.c_size_t()
    if nng.nng_send(s, req, len(req), 0) or nng.nng_recv(
            s, ctypes.byref(buf), ctypes.byref(size), 1):
        return "none"
    raw = ctypes.string_at(buf, size.value).decode()
    nng.nng_free(buf, size)
    r = json.loads(raw)
    return r.get("decision") or str(r["error"]["code"])


print("before", check(), flush=True)
if sys.argv[2] == "stop":
    for pid in sys.argv[3:]:
        os.kill(int(pid), signal.SIGSTOP)
else:
    subprocess.run(sys.argv[3:], check=True)
t0 = time.monotonic()
ms = lambda: int((time.monotonic() - t0) * 1000)
while ms() < 2000:
    sent = ms()
    a = check()
    print(sent, ms(), a, flush=True)
    if a == "38":
        print("reply", raw)
        break
    time.sleep(0.005)
