"""crc32_combine, zlib's algorithm: the CRC-32 of A followed by B from crc(A), crc(B) and len(B), so that chunks
of one file compressed in parallel (build/packaging.py) give the entry's CRC without a second pass."""

from __future__ import annotations

from functools import lru_cache


def _gf2_times(matrix: tuple[int, ...], vector: int) -> int:
    total = 0
    i = 0
    while vector:
        if vector & 1:
            total ^= matrix[i]
        vector >>= 1
        i += 1
    return total


def _gf2_square(matrix: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(_gf2_times(matrix, matrix[n]) for n in range(32))


@lru_cache(maxsize=64)
def _zeros_operator(length: int) -> tuple[int, ...]:
    """The GF(2) matrix that turns crc(A) into crc(A followed by ``length`` zero bytes) (before the final xor)."""
    odd = (0xEDB88320, *(1 << n for n in range(31)))  # one zero bit
    even = _gf2_square(odd)  # two zero bits
    odd = _gf2_square(even)  # four zero bits
    result = tuple(1 << n for n in range(32))  # identity
    while True:
        even = _gf2_square(odd)  # apply zeros: 1, 4, 16... bytes
        if length & 1:
            result = tuple(_gf2_times(even, column) for column in result)
        length >>= 1
        if not length:
            return result
        odd = _gf2_square(even)
        if length & 1:
            result = tuple(_gf2_times(odd, column) for column in result)
        length >>= 1
        if not length:
            return result


def crc32_combine(crc1: int, crc2: int, length2: int) -> int:
    if length2 <= 0:
        return crc1
    return _gf2_times(_zeros_operator(length2), crc1) ^ crc2
