"""What the benchmark commands measure about their own process."""

from __future__ import annotations

import resource


def peak_rss_mb() -> float:
    """This process's peak resident memory, in MB. Linux keeps ``ru_maxrss`` across ``exec``, so
    a benchmark's child process would report at least its parent's size at the fork (386 MB for
    a sync child after a 100k download baseline); ``VmHWM`` belongs to the process's own address
    space. Elsewhere, ``ru_maxrss``."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
