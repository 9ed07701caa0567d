"""Hand-made zip records for tests that need what no zip writer produces (sizes only a ZIP64 extra holds)."""

from __future__ import annotations

import struct


def zip64_entry(name: bytes, method: int, csize: int, usize: int, offset: int) -> tuple[bytes, bytes]:
    """The local header and the central-directory record of one entry whose sizes live in its ZIP64 extra
    (``method`` 0 stored, 8 deflated; ``offset`` of the local header, stored in the record)."""
    extra = struct.pack("<HHQQ", 1, 16, usize, csize)
    local = struct.pack(
        "<IHHHHHIIIHH", 0x04034B50, 45, 0, method, 0, 0x21, 0, 0xFFFFFFFF, 0xFFFFFFFF, len(name), len(extra)
    )
    central = struct.pack(
        "<IHHHHHHIIIHHHHHII",
        0x02014B50,
        0x032D,
        45,
        0,
        method,
        0,
        0x21,
        0,
        0xFFFFFFFF,
        0xFFFFFFFF,
        len(name),
        len(extra),
        0,
        0,
        0,
        0o100644 << 16,
        offset,
    )
    return local + name + extra, central + name + extra
