#!/usr/bin/env python3
"""check_calls.py DIR OBJ...: fails if the daemon's files call each other
in a cycle (docs/ARCHITECTURE.md: dependencies run one way).

An edge A -> B is a symbol A's object uses (nm: undefined) that B's object
defines.  Calls through a function pointer (a parked call's redo, the
engine's sink) are not edges: that is how a lower file hands work back up
without naming the file above it.  Prints each file's callees, then any
cycle, and exits 1 if there is one."""
import os
import subprocess
import sys


def symbols(obj):
    out = subprocess.run(["nm", "-P", obj], check=True, capture_output=True,
                         text=True).stdout
    defined, used = set(), set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 2:
            continue
        name, kind = parts[0], parts[1]
        if kind == "U":
            used.add(name)
        elif kind in "TDBRC":
            defined.add(name)
    return defined, used


def main():
    objs = sys.argv[1:]
    names = {o: os.path.splitext(os.path.basename(o))[0] for o in objs}
    syms = {o: symbols(o) for o in objs}
    owner = {}
    for o, (defined, _) in syms.items():
        for s in defined:
            owner[s] = names[o]
    graph = {names[o]: sorted({owner[s] for s in syms[o][1]
                               if s in owner and owner[s] != names[o]})
             for o in objs}
    # Depth-first search for a back edge.
    state, stack, cycles = {}, [], []

    def visit(n):
        state[n] = 1
        stack.append(n)
        for m in graph[n]:
            if state.get(m) == 1:
                cycles.append(stack[stack.index(m):] + [m])
            elif m not in state:
                visit(m)
        stack.pop()
        state[n] = 2

    for n in sorted(graph):
        if n not in state:
            visit(n)
    if "-v" in os.environ.get("CHECK_CALLS", ""):
        for n in sorted(graph):
            print(f"{n} -> {', '.join(graph[n]) or '(nothing)'}")
    for c in cycles:
        print("check: daemon files call each other in a cycle: " +
              " -> ".join(c))
    return 1 if cycles else 0


if __name__ == "__main__":
    sys.exit(main())
