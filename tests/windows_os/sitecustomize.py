"""Test mode: Python without the POSIX-only ``os`` functions, as on Windows (loaded first via PYTHONPATH).

It runs the real code paths without ``os.pread`` and friends; it does not simulate Windows paths, locking or
signals (the CI matrix runs the suite on Windows and macOS runners for those).
"""

import os

POSIX_ONLY = (
    "pread",
    "pwrite",
    "preadv",
    "pwritev",
    "posix_fadvise",
    "posix_fallocate",
    "sched_getaffinity",
    "fork",
    "forkpty",
    "killpg",
    "getuid",
    "geteuid",
    "getgid",
    "chown",
    "lchown",
    "sync",
)
for _name in POSIX_ONLY:
    if hasattr(os, _name):
        delattr(os, _name)
os.environ["STREAMPIXEL_TEST_WINDOWS_OS"] = "1"
