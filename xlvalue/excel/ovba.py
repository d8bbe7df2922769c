"""MS-OVBA 2.4.1 compression of VBA source streams (the add-in's VBA project).

The `ms-ovba` package writes the project container, but its compressor (ms-ovba-compression
1.0.1) corrupts inputs longer than a few hundred bytes (checked against oletools'
decompressor), so this module implements the specified algorithm: 4096-byte chunks, flag
bytes over 8 tokens, copy tokens whose offset/length split depends on the position in the
chunk, raw chunks when compression does not pay.
"""

from __future__ import annotations

import math

__all__ = ["CHUNK", "compress"]

CHUNK = 4096


def _copy_token_split(difference: int) -> tuple[int, int]:
    """(bit count of the offset, maximum length) at `difference` bytes into the chunk."""
    bit_count = max(math.ceil(math.log2(difference)), 4) if difference > 1 else 4
    return bit_count, (0xFFFF >> bit_count) + 3


def _compress_chunk(data: bytes) -> bytes:
    out = bytearray()
    pos = 0
    n = len(data)
    heads: dict[bytes, list[int]] = {}
    while pos < n:
        flag_index = len(out)
        out.append(0)
        flags = 0
        for bit in range(8):
            if pos >= n:
                break
            best_len, best_off = 0, 0
            if pos >= 1 and pos + 3 <= n:
                _, max_len = _copy_token_split(pos)
                max_len = min(max_len, n - pos)
                for cand in reversed(heads.get(data[pos:pos + 3], [])):
                    length = 3
                    while length < max_len and data[cand + length] == data[pos + length]:
                        length += 1
                    if length > best_len:
                        best_len, best_off = length, pos - cand
                        if length == max_len:
                            break
            if best_len >= 3:
                bit_count, _ = _copy_token_split(pos)
                token = ((best_off - 1) << (16 - bit_count)) | (best_len - 3)
                out += token.to_bytes(2, "little")
                flags |= 1 << bit
                advance = best_len
            else:
                out.append(data[pos])
                advance = 1
            for p in range(pos, min(pos + advance, n - 2)):
                heads.setdefault(data[p:p + 3], []).append(p)
            pos += advance
        out[flag_index] = flags
    return bytes(out)


def compress(data: bytes) -> bytes:
    """Compress a stream into an MS-OVBA CompressedContainer."""
    out = bytearray(b"\x01")
    for start in range(0, len(data), CHUNK):
        chunk = data[start:start + CHUNK]
        body = _compress_chunk(chunk)
        if len(chunk) == CHUNK and len(body) >= CHUNK:  # a raw chunk is no larger
            out += (0x0FFF | (0b011 << 12)).to_bytes(2, "little") + chunk
        elif len(body) + 2 > 4098:
            raise ValueError("a final chunk of incompressible data cannot be encoded")
        else:
            header = (len(body) + 2 - 3) | (0b011 << 12) | (1 << 15)
            out += header.to_bytes(2, "little") + body
    return bytes(out)
