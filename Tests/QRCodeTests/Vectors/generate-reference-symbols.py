#!/usr/bin/env python3
"""Writes reference-symbols.txt: whole QR symbols for byte-mode data at chosen levels and
forced masks, made by python-qrcode 8.2 (PyPI), with the N1-N4 penalty scores segno 1.6.6
(PyPI) gives each symbol: two encoders independent of this one. Rerun with
`pip install qrcode==8.2 segno==1.6.6 && python3 generate-reference-symbols.py > reference-symbols.txt`.

segno is not used for the symbols themselves: 1.6.6 appends a stray zero codeword after the
terminator whenever the bit stream already ends on a codeword boundary (segno issue #148),
which every byte-mode segment does; readers ignore it, but the modules differ. Nor is its
N3 score: after a match its scan resumes past the pattern, so it misses a second pattern
sharing the first one's last module (row 3 of config-H: 1011101 at x = 0 and at x = 6).
N3 is counted here instead, by a plain sliding window.
"""
import random

import qrcode
from qrcode.util import MODE_8BIT_BYTE, QRData
from segno import encoder

rng = random.Random(18004)
config = (b"[Interface]\nPrivateKey = yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=\n"
          b"Address = 10.8.0.2/32, fd00:8::2/128\nDNS = 10.8.0.1\n\n[Peer]\n"
          b"PublicKey = xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=\n"
          b"Endpoint = vpn.example.com:51820\nAllowedIPs = 0.0.0.0/0, ::/0\n")
cases = []
for level in "LMQH":
    for mask in range(8):
        cases.append((f"hello-{level}{mask}", b"HELLO WORLD", level, mask))
cases.append(("config-L", config, "L", 5))
cases.append(("config-M", config, "M", 2))
cases.append(("config-H", config, "H", 6))
for length, level, mask in [(40, "Q", 1), (100, "Q", 4), (150, "H", 7), (300, "M", 0),
                            (700, "L", 3), (1000, "M", 5), (1400, "Q", 2), (2900, "L", 6),
                            (140, "L", 1), (250, "L", 4), (1900, "L", 0)]:
    data = bytes(rng.randrange(256) for _ in range(length))
    cases.append((f"random-{length}-{level}", data, level, mask))

FINDER_LIKE = [1, 0, 1, 1, 1, 0, 1]


def finder_like_points(line):
    """40 for each 1011101 with four light modules before or after it; outside is light."""
    padded = [0] * 4 + list(line) + [0] * 4
    points = 0
    for start in range(4, len(padded) - 4 - 6):
        if padded[start:start + 7] == FINDER_LIKE:
            if not any(padded[start - 4:start]) or not any(padded[start + 7:start + 11]):
                points += 40
    return points


levels = {"L": qrcode.constants.ERROR_CORRECT_L, "M": qrcode.constants.ERROR_CORRECT_M,
          "Q": qrcode.constants.ERROR_CORRECT_Q, "H": qrcode.constants.ERROR_CORRECT_H}
for name, data, level, mask in cases:
    qr = qrcode.QRCode(version=None, error_correction=levels[level], mask_pattern=mask, border=0)
    qr.add_data(QRData(data, mode=MODE_8BIT_BYTE), optimize=0)
    qr.make(fit=True)
    rows = [bytearray(1 if m else 0 for m in row) for row in qr.get_matrix()]
    print(f"case {name}")
    print(f"data {data.hex()}")
    print(f"correction {level}")
    print(f"version {qr.version}")
    print(f"mask {qr.mask_pattern}")
    n1, n2, _, n4 = encoder.mask_scores(rows, len(rows), len(rows))
    columns = [[row[x] for row in rows] for x in range(len(rows))]
    n3 = sum(finder_like_points(line) for line in rows + columns)
    print(f"penalty {n1} {n2} {n3} {n4}")
    for row in rows:
        bits = "".join(str(b) for b in row)
        bits += "0" * (-len(bits) % 8)
        print(int(bits, 2).to_bytes(len(bits) // 8, "big").hex())
    print("end")
