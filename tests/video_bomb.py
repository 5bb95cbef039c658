"""A decompression bomb for the server's probe: a small MJPEG AVI whose frames are valid grey JPEGs of a
huge size made of empty 8×8 blocks (about 2 bits each), so that the file is tiny and a decoded frame is not.
Written by hand because no encoder should be asked to allocate the frame it describes."""

from __future__ import annotations

import struct


def _segment(marker: int, body: bytes) -> bytes:
    return struct.pack(">HH", 0xFF00 | marker, len(body) + 2) + body


def _one_code_table(table_class: int) -> bytes:
    """A Huffman table with a single 1-bit code ('0') for symbol 0: DC difference 0, or AC end of block."""
    return _segment(0xC4, bytes([table_class]) + bytes([1] + [0] * 15) + b"\x00")


def blank_jpeg(side: int) -> bytes:
    """A baseline greyscale JPEG of side × side pixels, every block empty."""
    quantisation = _segment(0xDB, b"\x00" + b"\x01" * 64)
    frame = _segment(0xC0, struct.pack(">BHHB", 8, side, side, 1) + b"\x01\x11\x00")
    scan = _segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")
    blocks = ((side + 7) // 8) ** 2
    data = bytes((2 * blocks + 7) // 8)  # per block a '0' for DC and a '0' for end of block
    return (
        b"\xff\xd8"
        + quantisation
        + frame
        + _one_code_table(0x00)
        + _one_code_table(0x10)
        + scan
        + data
        + b"\xff\xd9"
    )


def _chunk(tag: bytes, body: bytes) -> bytes:
    return tag + struct.pack("<I", len(body)) + body + (b"\x00" if len(body) % 2 else b"")


def _list(kind: bytes, body: bytes) -> bytes:
    return b"LIST" + struct.pack("<I", 4 + len(body)) + kind + body


def mjpeg_bomb(side: int, frames: int = 2, fps: int = 30) -> bytes:
    """An AVI (RIFF) holding `frames` copies of blank_jpeg(side), with headers that state the true size."""
    picture = blank_jpeg(side)
    main = struct.pack("<14I", 1_000_000 // fps, 0, 0, 0x10, frames, 0, 1, 0, side, side, 0, 0, 0, 0)
    stream = b"vidsMJPG" + struct.pack(
        "<IHHIIIIIIIIhhhh", 0, 0, 0, 0, 1, fps, 0, frames, 0, 0xFFFFFFFF, 0, 0, 0, side, side
    )
    bitmap = struct.pack("<IiiHH4sIiiII", 40, side, side, 1, 24, b"MJPG", side * side * 3, 0, 0, 0, 0)
    header = _list(
        b"hdrl", _chunk(b"avih", main) + _list(b"strl", _chunk(b"strh", stream) + _chunk(b"strf", bitmap))
    )
    movie, index, offset = b"", b"", 4
    for _ in range(frames):
        index += b"00dc" + struct.pack("<III", 0x10, offset, len(picture))
        piece = _chunk(b"00dc", picture)
        movie += piece
        offset += len(piece)
    body = b"AVI " + header + _list(b"movi", movie) + _chunk(b"idx1", index)
    return b"RIFF" + struct.pack("<I", len(body)) + body
