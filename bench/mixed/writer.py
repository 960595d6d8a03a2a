#!/usr/bin/env python3
"""bench/mixed writer: creates reports at a fixed rate over one keep-alive
connection and, after each 201, fetches the z16 report tile holding the new
point once: the report must be in that first fetch. Prints one JSON line:
{"rate", "sent", "created", "visible_first", "fresh_ms_p50", "fresh_ms_p99"}.
Usage: writer.py HOST PORT RATE SECONDS POINTS_FILE (lon,lat per line)."""
import http.client, json, math, sys, time

host, port, rate, secs, points_file = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
points = [tuple(map(float, l.split(','))) for l in open(points_file) if ',' in l]
conn = http.client.HTTPConnection(host, port, timeout=10)


def tile_of(lon, lat, z=16):
    n = 2 ** z
    x = int((lon + 180) / 360 * n)
    r = math.radians(lat)
    y = int((1 - math.log(math.tan(r) + 1 / math.cos(r)) / math.pi) / 2 * n)
    return z, x, y


def has_id(data, wanted):
    """True when a feature id (MVT field 1 of a feature) equals wanted:
    a minimal walk of the protobuf (layers -> features -> id)."""
    def varint(b, i):
        v = s = 0
        while True:
            c = b[i]; i += 1
            v |= (c & 0x7f) << s; s += 7
            if c < 0x80:
                return v, i

    def fields(b):
        i = 0
        while i < len(b):
            key, i = varint(b, i)
            f, t = key >> 3, key & 7
            if t == 0:
                v, i = varint(b, i); yield f, v
            elif t == 2:
                n, i = varint(b, i); yield f, b[i:i + n]; i += n
            elif t == 5:
                i += 4
            elif t == 1:
                i += 8
            else:
                return
    for f, layer in fields(data):
        if f == 3:
            for g, feat in fields(layer):
                if g == 2:
                    for h, v in fields(feat):
                        if h == 1 and v == wanted:
                            return True
    return False


sent = created = visible = 0
fresh = []
t0 = time.monotonic()
i = 0
if rate > 0:
    while time.monotonic() - t0 < secs:
        due = t0 + i / rate
        now = time.monotonic()
        if due > now:
            time.sleep(due - now)
        lon, lat = points[i % len(points)]
        i += 1
        body = json.dumps({"category": "200104", "lon": lon, "lat": lat, "description": f"mixed bench {i}"})
        conn.request("POST", "/api/v1/reports", body, {"Content-Type": "application/json"})
        r = conn.getresponse(); text = r.read(); sent += 1
        t201 = time.monotonic()
        if r.status != 201:
            continue
        created += 1
        rid = json.loads(text)["id"]
        z, x, y = tile_of(lon, lat)
        conn.request("GET", f"/tiles/reports/{z}/{x}/{y}.mvt")
        tr = conn.getresponse(); data = tr.read()
        if tr.status == 200 and has_id(data, rid):
            visible += 1
            fresh.append((time.monotonic() - t201) * 1000)
fresh.sort()
q = lambda p: round(fresh[min(len(fresh) - 1, int(p * len(fresh)))], 2) if fresh else None
print(json.dumps({"rate": rate, "sent": sent, "created": created, "visible_first": visible,
                  "fresh_ms_p50": q(0.5), "fresh_ms_p99": q(0.99)}))
