"""Run a command as a slower machine of the same kind would run it: every core shared with
a busy loop weighted so that the study's own speed probe reads ``--probe``.

Machines of this kind differ about twice in speed, and the study's time limits are set for
the slowest (issue 24: a 2-core machine whose probe read about 47 ResNet-18 samples/s per
process). Without such a machine at hand, this is the nearest measurement. One busy loop is
pinned to each core, in a cgroup of its own whose CPU weight gives every other thread on
that core the asked-for share of it, so a lone thread slows as much as two in parallel, as
on a slower core (a CPU quota would not: it caps the total and leaves one thread at full
speed; for the same reason the kernel's session autogroups are switched off meanwhile).
The weight is set from the probe measured without the loops and corrected from the probe
measured beside them until it is within 8 % of the asked-for speed. It prints both
probes, the command's wall time and exit status, and exits with the command's.

What it cannot act out: a slower machine's memory and caches. The slow machine of issue 24
slowed its stages by different factors (training 1.7-1.9x, benchmark 1.6x, crop cache
1.7-2.3x, chapters about 2.5x, against 2.2x for the probe); here every stage slows by
about the probe's factor.

Needs root and the cgroup v1 ``cpu`` controller (``cpu.shares``) or cgroup v2 with ``cpu``
enabled for child groups (``cpu.weight``).

    .venv/bin/python benchmarks/slow_machine.py --probe 47 -- make book

The command inherits this script's environment: a ``PYTHONPATH`` set to reach the project
from elsewhere also sends the command's notebooks to that copy.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from analysis.training import speed_probe

CGROUP_V1, CGROUP_V2 = Path("/sys/fs/cgroup/cpu"), Path("/sys/fs/cgroup")
# With autogroups on, every process of one session shares one weight, split over the cores
# it keeps busy: two busy threads would each get half a lone thread's share. Off while it runs.
AUTOGROUP = Path("/proc/sys/kernel/sched_autogroup_enabled")
EFFICIENCY = 0.9  # the probe's speed beside a loop, as a share of its weighted share of the core (measured)
ROUNDS, TOLERANCE = 4, 0.08  # probes at most, and how near the asked-for speed is near enough
BUSY_LOOP = "while True: pass"
PR_SET_PDEATHSIG = 1  # prctl option: the signal a process gets when its parent dies


def cgroup_root() -> tuple[Path, str, int]:
    """The cpu controller's folder, its weight file's name and a root task's weight."""
    if (CGROUP_V1 / "cpu.shares").is_file():
        return CGROUP_V1, "cpu.shares", 1024
    controllers = CGROUP_V2 / "cgroup.controllers"
    if controllers.is_file() and "cpu" in controllers.read_text().split():
        return CGROUP_V2, "cpu.weight", 100
    raise SystemExit("No cgroup cpu controller (v1 /sys/fs/cgroup/cpu, or v2 with cpu enabled): "
                     "run as root on a Linux machine with cgroups mounted.")


def set_share(folders: list[Path], share: float) -> None:
    """Weights that leave a thread sharing a core with one loop ``share`` of it."""
    _, name, default = cgroup_root()
    for folder in folders:
        (folder / name).write_text(str(max(2, round(default * (1 - share) / share))))


def start_loops(cores: list[int], folders: list[Path]) -> list[subprocess.Popen]:
    """One busy loop per core, pinned to it, in that core's cgroup."""
    loops = []
    for core, folder in zip(cores, folders):
        def enter(core=core, folder=folder):
            ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # the loop ends when this script does
            os.sched_setaffinity(0, {core})
            (folder / "cgroup.procs").write_text(str(os.getpid()))
        loops.append(subprocess.Popen([sys.executable, "-c", BUSY_LOOP], preexec_fn=enter))
    return loops


def probe() -> float:
    return speed_probe.measure()["samples_per_second"][speed_probe.PROBE_MODELS[0]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--probe", type=float, default=47.0, help="the frame CNN's probe speed to act out")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the command, after --")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to run after --")
    measured = probe()
    if args.probe >= measured:
        raise SystemExit(f"This machine probes {measured}, not slower than the {args.probe} asked for: nothing to do.")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a kill still restores autogroups and cgroups
    cores = sorted(os.sched_getaffinity(0))
    root = cgroup_root()[0]
    folders = [root / f"slow_machine_{os.getpid()}_core{core}" for core in cores]
    for folder in folders:
        folder.mkdir()
    share = min(0.99, args.probe / measured / EFFICIENCY)
    set_share(folders, share)
    autogroup = AUTOGROUP.read_text().strip() if AUTOGROUP.is_file() else None
    if autogroup == "1":
        AUTOGROUP.write_text("0")
    loops = start_loops(cores, folders)
    try:
        for attempt in range(ROUNDS):  # the probe beside the loops varies by about 15 %: correct until near enough
            under = probe()
            if abs(under / args.probe - 1) <= TOLERANCE or attempt == ROUNDS - 1:
                break
            share = min(0.99, share * args.probe / under)
            set_share(folders, share)
        print(f"slow_machine: probe {measured} alone, {under} beside a busy loop on each of {len(cores)} cores "
              f"weighted to leave {share:.2f} of it (asked for {args.probe}); running {' '.join(command)}", flush=True)
        started = time.perf_counter()
        status = subprocess.run(command).returncode
        print(f"slow_machine: rc {status} after {(time.perf_counter() - started) / 60:.1f} minutes at probe {under}",
              flush=True)
    finally:
        for loop in loops:
            loop.kill()
            loop.wait()
        for folder in folders:
            folder.rmdir()
        if autogroup == "1":
            AUTOGROUP.write_text("1")
    sys.exit(status)


if __name__ == "__main__":
    main()
