"""The foreign CPU load during a measurement: how busy the machine was with work that is not ours.

A timing on a shared machine means nothing without it: on 2 cores, one busy core slows
PyTorch's two OpenMP threads up to 20x, so every benchmark record carries the load measured
over its own timing window.

    foreign load = (busy CPU time of the whole machine - CPU time of this process)
                   / (wall time x number of CPUs)

- the machine's busy time is the change of the first ``cpu`` line of ``/proc/stat`` (user,
  nice, system, irq, softirq and steal jiffies; idle and iowait are not busy), divided by
  ``SC_CLK_TCK``;
- this process's CPU time is ``getrusage(RUSAGE_SELF)`` (user + system, all its threads);
- the result is a share of the whole machine: 0.5 on a 2-core machine means one core's worth
  of other work. Steal time (the hypervisor running other guests on our cores) counts as
  foreign: it slows us down just the same.

Jiffies tick every 10 ms, so a window of ``t`` seconds has an uncertainty of about
``0.01 / t`` per CPU; windows of a second or more keep it under 1 %. Without ``/proc/stat``
(not Linux) the load is None.
"""

from __future__ import annotations

import os
import resource
import time

__all__ = ["CpuMeter", "machine_busy_seconds", "own_cpu_seconds"]

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_CPUS = os.cpu_count() or 1


def machine_busy_seconds() -> float | None:
    """Busy CPU seconds of the whole machine since boot (all CPUs added), or None."""
    try:
        with open("/proc/stat") as stat:
            fields = stat.readline().split()
    except OSError:
        return None
    # cpu user nice system idle iowait irq softirq steal guest guest_nice (guest is inside user)
    values = [int(v) for v in fields[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = values
    return (user + nice + system + irq + softirq + steal) / _TICK


def own_cpu_seconds() -> float:
    """CPU seconds this process has used (user + system, every thread)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class CpuMeter:
    """Measure a window: ``with CpuMeter() as meter: ...`` then ``meter.foreign_load``.

    Also gives ``meter.wall`` (seconds) and ``meter.own_cores`` (this process's CPU time over
    the wall time: how many cores it kept busy on average).
    """

    def __enter__(self):
        self._busy = machine_busy_seconds()
        self._own = own_cpu_seconds()
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self._start
        own = own_cpu_seconds() - self._own
        busy = machine_busy_seconds()
        self.own_cores = own / self.wall if self.wall > 0 else 0.0
        if busy is None or self._busy is None or self.wall <= 0:
            self.foreign_load = None
        else:
            foreign = (busy - self._busy) - own
            # (clamped: the jiffy counts are sampled, so a saturated window can read a hair over 1)
            self.foreign_load = min(1.0, max(0.0, foreign / (self.wall * _CPUS)))
        return False
