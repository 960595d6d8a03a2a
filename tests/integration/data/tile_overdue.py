#!/usr/bin/env python3
"""Print the `overdue` property (0/1) of report ID in its z16 tile from the
server at BASE, decoded by GDAL's MVT driver (ogrinfo).
Usage: tile_overdue.py BASE ID LON LAT"""
import math
import os
import re
import subprocess
import sys
import tempfile
import urllib.request

base, rid, lon, lat = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
z = 16
n = 2 ** z
x = int((lon + 180) / 360 * n)
y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
data = urllib.request.urlopen('%s/tiles/reports/%d/%d/%d.mvt' % (base, z, x, y), timeout=60).read()
f = tempfile.NamedTemporaryFile(suffix='.mvt', delete=False)
f.write(data)
f.close()
out = subprocess.run(['ogrinfo', '-ro', '-al', '-q', f.name], capture_output=True, text=True).stdout
os.unlink(f.name)
for feat in out.split('OGRFeature(')[1:]:
    if re.search(r'mvt_id \(Integer64\) = %d\n' % rid, feat):
        m = re.search(r'overdue \(Integer\(Boolean\)\) = (\d)', feat)
        print(m.group(1))
        sys.exit(0)
print('report %d not in tile %d/%d/%d' % (rid, z, x, y), file=sys.stderr)
sys.exit(1)
