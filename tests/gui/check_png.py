#!/usr/bin/env python3
"""Checks that a screenshot is a real picture: a PNG (of WIDTHxHEIGHT when given) whose pixels are
not all one colour. Usage: check_png.py FILE [WIDTHxHEIGHT]"""
import struct
import sys
import zlib

path = sys.argv[1]
data = open(path, 'rb').read()
assert data[:8] == b'\x89PNG\r\n\x1a\n', f'{path}: not a PNG'
w, h = struct.unpack('>II', data[16:24])
if len(sys.argv) > 2:
    want = tuple(int(v) for v in sys.argv[2].split('x'))
    assert (w, h) == want, f'{path}: size {w}x{h}, expected {sys.argv[2]}'
# Walk the chunks, inflate the image data and make sure the picture is not a single flat colour.
pos, idat = 8, b''
while pos < len(data):
    length, kind = struct.unpack('>I4s', data[pos:pos + 8])
    if kind == b'IDAT':
        idat += data[pos + 8:pos + 8 + length]
    pos += 12 + length
raw = zlib.decompress(idat)
assert len(set(raw[::97])) > 4, f'{path}: flat image'
print(f'{path}: {w}x{h}, {len(data)} bytes')
