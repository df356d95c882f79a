#!/usr/bin/env python3
"""Run CMD and print its wall time, CPU (user + sys), peak RSS and CPU per thread (polled
from /proc every 20 ms, so a thread that ends early shows its last reading).

Usage: python3 examples/thread_cpu.py [--stdin FILE] CMD...  (Linux only)
"""
import os, sys, time, subprocess
args = sys.argv[1:]
stdin = None
if args[0] == '--stdin':
    stdin = open(args[1], 'rb'); args = args[2:]
tick = os.sysconf('SC_CLK_TCK')
t0 = time.time()
p = subprocess.Popen(args, stdin=stdin, stdout=subprocess.DEVNULL)
threads = {}
while True:
    try:
        for tid in os.listdir(f'/proc/{p.pid}/task'):
            try:
                st = open(f'/proc/{p.pid}/task/{tid}/stat').read()
                name = st[st.index('(')+1:st.rindex(')')]
                f = st[st.rindex(')')+2:].split()
                threads[tid] = (name, (int(f[11]) + int(f[12])) / tick)
            except (FileNotFoundError, ProcessLookupError):
                pass
    except FileNotFoundError:
        pass
    if p.poll() is not None:
        break
    time.sleep(0.02)
_, status, ru = os.wait4(p.pid, 0) if p.returncode is None else (0, 0, None)
wall = time.time() - t0
import resource
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
per = sorted(((n, c) for n, c in threads.values() if c > 0.05), key=lambda x: -x[1])
load = open('/proc/loadavg').read().split()[:3]
print(f"wall {wall:.2f} s  cpu {ru.ru_utime + ru.ru_stime:.2f} s (user {ru.ru_utime:.2f} sys {ru.ru_stime:.2f})  peak {ru.ru_maxrss/1024:.1f} MiB  threads " + ", ".join(f"{n} {c:.2f}" for n, c in per) + f"  load {' '.join(load)}")
