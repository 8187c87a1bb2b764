#!/usr/bin/env python3
"""png_check.py -- decode a PNG with the standard library only (8-bit greyscale, RGB or RGBA,
not interlaced: what Chromium's --screenshot writes) and print facts about it.

  png_check.py FILE                  -> "WIDTHxHEIGHT colours=N nonwhite=FRACTION"
  png_check.py FILE --crop Y0 Y1 OUT -> writes rows Y0..Y1 of FILE as a new PNG (for looking)
  png_check.py FILE --near R,G,B TOL -> how many sampled pixels (every 2nd row and column)
                                        are within TOL of that colour on each channel
Exit 1 when the file is not a PNG this script can read.
"""
import struct
import sys
import zlib


def decode(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, w = 8, b"", None
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        pos += 12 + n
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or ctype not in (0, 2, 6) or interlace:
                raise ValueError("unsupported PNG layout depth=%d type=%d interlace=%d" % (depth, ctype, interlace))
            bpp = {0: 1, 2: 3, 6: 4}[ctype]
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
    if w is None:
        raise ValueError("no IHDR")
    raw = zlib.decompress(idat)
    stride = w * bpp
    rows, prev, i = [], bytearray(stride), 0
    for _ in range(h):
        f = raw[i]
        line = bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if f == 1:
                line[x] = (line[x] + a) & 255
            elif f == 2:
                line[x] = (line[x] + b) & 255
            elif f == 3:
                line[x] = (line[x] + ((a + b) >> 1)) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return w, h, bpp, rows


def write(path, w, bpp, rows):
    ctype = {1: 0, 3: 2, 4: 6}[bpp]
    raw = b"".join(b"\x00" + r for r in rows)

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, len(rows), 8, ctype, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


def main():
    try:
        w, h, bpp, rows = decode(sys.argv[1])
    except Exception as e:  # any decoding failure is the answer
        print("cannot decode %s: %s" % (sys.argv[1], e))
        return 1
    if len(sys.argv) >= 5 and sys.argv[2] == "--crop":
        y0, y1 = int(sys.argv[3]), int(sys.argv[4])
        write(sys.argv[5], w, bpp, rows[y0:y1])
        return 0
    if len(sys.argv) >= 4 and sys.argv[2] == "--near":
        want = [int(v) for v in sys.argv[3].split(",")]
        tol = int(sys.argv[4]) if len(sys.argv) >= 5 else 3
        hits = 0
        for r in rows[::2]:
            for x in range(0, w * bpp, bpp * 2):
                if all(abs(r[x + k] - want[k]) <= tol for k in range(3)):
                    hits += 1
        print(hits)
        return 0
    colours, nonwhite = set(), 0
    for r in rows[::2]:
        for x in range(0, w * bpp, bpp * 2):
            px = r[x:x + min(bpp, 3)]
            colours.add(px)
            if px != b"\xff" * len(px):
                nonwhite += 1
    sampled = ((h + 1) // 2) * ((w + 1) // 2)
    print("%dx%d colours=%d nonwhite=%.3f" % (w, h, len(colours), nonwhite / max(sampled, 1)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
