"""The zip format as build/ writes it (:mod:`.packaging`) and reads it (:mod:`.archive`).

Record layouts, signatures, flags and name encoding (PKWARE APPNOTE 6.3), and the records the packer writes:
local headers, data descriptors, central directory records and the (ZIP64) end records. Only what this
package uses: no encryption, one volume, ZIP64 fields only where a value does not fit in 32 bits.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

# Each record starts with its signature; every field is little-endian.
LOCAL = struct.Struct("<4sHHHHHIIIHH")  # local file header
DESCRIPTOR = struct.Struct("<4sIII")  # data descriptor (crc, sizes) after an entry's data
DESCRIPTOR64 = struct.Struct("<4sIQQ")
CENTRAL = struct.Struct("<4sHHHHHHIIIHHHHHII")  # central directory header
#: The same 46 bytes as CENTRAL, only what a check reads: signature, flags, method, name/extra/comment lengths.
CENTRAL_SCAN = struct.Struct("<4s4xHH16xHHH12x")
EOCD64 = struct.Struct("<4sQHHIIQQQQ")  # zip64 end of central directory record
LOCATOR = struct.Struct("<4sIQI")  # zip64 end of central directory locator
EOCD = struct.Struct("<4sHHHHIIH")  # end of central directory

LOCAL_SIG = b"PK\x03\x04"
DESCRIPTOR_SIG = b"PK\x07\x08"
CENTRAL_SIG = b"PK\x01\x02"
EOCD64_SIG = b"PK\x06\x06"
LOCATOR_SIG = b"PK\x06\x07"
EOCD_SIG = b"PK\x05\x06"

FLAG_ENCRYPTED = 0x1
FLAG_DESCRIPTOR = 0x08  # crc and sizes follow the data
FLAG_UTF8 = 0x800  # the name is UTF-8, else code page 437
STORED, DEFLATED = 0, 8
#: A 16- or 32-bit field holding its largest value means: the real value is in the ZIP64 records.
U16 = 0xFFFF
U32 = 0xFFFFFFFF
MAX_COMMENT = U16
#: From this many entries on, the count lives in the ZIP64 end record.
ZIP64_COUNT = U16
_ZIP64_EXTRA = 1  # header ID of the ZIP64 extra field
_NEEDED, _NEEDED_ZIP64 = 20, 45  # "version needed to extract": 2.0, 4.5 with ZIP64
_MADE_BY_UNIX = 3 << 8
# What makes the writer deterministic: one timestamp, one mode for every entry.
_DOS_DATE, _DOS_TIME = (0 << 9) | (1 << 5) | 1, 0  # 1980-01-01 00:00:00
_FILE_ATTR = (0o100644 & 0xFFFF) << 16


def encode_name(relative: str) -> tuple[bytes, bool]:
    """A member's name as written, and whether it needs the UTF-8 flag (any non-ASCII character)."""
    return relative.encode("utf-8", "surrogateescape"), not relative.isascii()


def decode_name(raw: bytes, utf8: bool) -> str:
    """A name as unzip tools read it: UTF-8 when the entry says so (FLAG_UTF8), else code page 437."""
    return raw.decode("utf-8" if utf8 else "cp437", "replace")


@dataclass
class Member:
    """One file of the zip being written: where it comes from, then what the writer learned writing it."""

    path: str
    name: bytes
    size: int
    stored: bool
    utf8: bool
    offset: int = 0
    crc: int = 0
    csize: int = 0
    method: int = STORED
    descriptor: bool = False
    zip64: bool = False

    @property
    def flags(self) -> int:
        return (FLAG_DESCRIPTOR if self.descriptor else 0) | (FLAG_UTF8 if self.utf8 else 0)


def local_header(m: Member) -> bytes:
    """With a data descriptor the crc and sizes are zero here (ZIP64: U32 and an extra field of zeros)."""
    if m.descriptor:
        crc, csize, usize = 0, 0, 0
        extra = _zip64_extra(0, 0) if m.zip64 else b""
        if m.zip64:
            csize = usize = U32
    else:
        crc, csize, usize, extra = m.crc, m.csize, m.size, b""
    needed = _NEEDED_ZIP64 if m.zip64 else _NEEDED
    fixed = LOCAL.pack(
        LOCAL_SIG, needed, m.flags, m.method, _DOS_TIME, _DOS_DATE, crc, csize, usize, len(m.name), len(extra)
    )
    return fixed + m.name + extra


def descriptor(m: Member) -> bytes:
    layout = DESCRIPTOR64 if m.zip64 else DESCRIPTOR
    return layout.pack(DESCRIPTOR_SIG, m.crc, m.csize, m.size)


def central_record(m: Member) -> bytes:
    """Sizes and offset that do not fit in 32 bits are U32 here and follow in the ZIP64 extra field."""
    fields: list[int] = []
    usize, csize, offset = m.size, m.csize, m.offset
    if usize >= U32:
        fields.append(usize)
        usize = U32
    if csize >= U32:
        fields.append(csize)
        csize = U32
    if offset >= U32:
        fields.append(offset)
        offset = U32
    extra = _zip64_extra(*fields) if fields else b""
    needed = _NEEDED_ZIP64 if fields or m.zip64 else _NEEDED
    fixed = CENTRAL.pack(
        CENTRAL_SIG,
        _MADE_BY_UNIX | needed,
        needed,
        m.flags,
        m.method,
        _DOS_TIME,
        _DOS_DATE,
        m.crc,
        csize,
        usize,
        len(m.name),
        len(extra),
        0,  # comment length
        0,  # disk number
        0,  # internal attributes
        _FILE_ATTR,
        offset,
    )
    return fixed + m.name + extra


def end_records(count: int, cd_offset: int, cd_size: int, end: int) -> bytes:
    """The ZIP64 end record and locator when a value needs them, then the end of central directory record."""
    tail = b""
    if count >= ZIP64_COUNT or cd_offset >= U32 or cd_size >= U32:
        tail = EOCD64.pack(
            EOCD64_SIG,
            EOCD64.size - 12,
            _MADE_BY_UNIX | _NEEDED_ZIP64,
            _NEEDED_ZIP64,
            0,
            0,
            count,
            count,
            cd_size,
            cd_offset,
        ) + LOCATOR.pack(LOCATOR_SIG, 0, end, 1)
    return tail + EOCD.pack(EOCD_SIG, 0, 0, min(count, U16), min(count, U16), min(cd_size, U32), min(cd_offset, U32), 0)


def _zip64_extra(*values: int) -> bytes:
    return struct.pack(f"<HH{len(values)}Q", _ZIP64_EXTRA, 8 * len(values), *values)


# -- names Windows can extract (both the packer and the checks refuse the rest) ------------------------------

#: Device names Windows reserves in every folder, with any extension (``CON``, ``nul.txt``, ``COM1.log``).
WINDOWS_RESERVED = frozenset(
    {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)), *(f"lpt{i}" for i in range(1, 10))}
)
#: C0 and C1 control characters and DEL (the line break is looked for separately by the checks).
CONTROL_CHARS = "".join(map(chr, [*range(0x00, 0x0A), *range(0x0B, 0x20), *range(0x7F, 0xA0)]))


def name_problem(name: str) -> str | None:
    """Why Windows cannot extract an entry named ``name`` (``/``- or ``\\``-separated), or None."""
    if any(c in CONTROL_CHARS or c == "\n" for c in name):
        return "a control character in its name"
    if ":" in name:
        return "a colon in its name (Windows reads it as a drive or a stream)"
    for part in name.replace("\\", "/").split("/"):
        if part.split(".", 1)[0].rstrip(" ").lower() in WINDOWS_RESERVED:
            return f"the name {part!r}, which Windows reserves for a device"
        if part.endswith((".", " ")) and part not in (".", ".."):  # '.' and '..' are path steps, checked apart
            written = f": it would write {part.rstrip('. ')!r}" if part.strip(". ") else ""
            return f"the name {part!r}, which ends in a dot or a space (Windows strips those{written})"
    return None


def windows_key(name: str) -> str:
    """The path Windows would write ``name`` to: case-insensitive, ``\\`` = ``/``, no ``.`` or empty parts."""
    key = name.lower().replace("\\", "/")
    if "./" in key or "//" in key or key.startswith("/") or key.endswith(("/", "/.")):
        key = "/".join(p for p in key.split("/") if p not in ("", "."))
    return key
