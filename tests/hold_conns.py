#!/usr/bin/env python3
# hold_conns.py SOCKET_PATH: holds SP connections to an nng ipc:// socket
# for tests/e2e_fds.sh, driven by lines on stdin, answering "ok N" (N:
# connections held) on stdout after each:
#   open N      connect N more, each sending the SP header of a SUB peer
#               at once (it waits in the kernel if the daemon cannot
#               accept yet), so that nng's negotiation completes whenever
#               it accepts; a raw connect-and-close would instead hit
#               nng 1.5.2's listener bug (issue 9 item 1)
#   close K     close the K oldest
import socket
import sys

HEADER = b"\x00SP\x00\x00\x21\x00\x00"  # SP v0, protocol SUB0 (0x21)
held = []
for line in sys.stdin:
    cmd, n = line.split()
    n = int(n)
    if cmd == "open":
        for _ in range(n):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(sys.argv[1])
            s.sendall(HEADER)
            held.append(s)
    elif cmd == "close":
        for s in held[:n]:
            s.close()
        held = held[n:]
    print("ok", len(held), flush=True)
