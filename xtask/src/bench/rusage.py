"""Runs a command and writes what it cost to the file named first.

    python3 -I -S rusage.py OUT PROGRAM [ARG...]

OUT gets one line: peak RSS in KiB, user and system CPU seconds (to the microsecond, from
wait4's rusage of the command and its descendants), wall nanoseconds from spawn to reaping,
and the exit code (negative: the signal that killed it). GNU time prints CPU seconds cut to
hundredths, which loses about 5 ms per figure: 3-4% of a 100 ms scan.
"""

import os
import subprocess
import sys
import time

out, argv = sys.argv[1], sys.argv[2:]
started = time.perf_counter_ns()
child = subprocess.Popen(argv)
_, status, usage = os.wait4(child.pid, 0)
wall = time.perf_counter_ns() - started
with open(out, "w") as report:
    report.write(
        f"{usage.ru_maxrss} {usage.ru_utime:.6f} {usage.ru_stime:.6f} {wall} "
        f"{os.waitstatus_to_exitcode(status)}\n"
    )
