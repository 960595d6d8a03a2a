#!/usr/bin/env python3
"""bench/paging/pages.py BASE SECS: median and p99 ms of one page of 10
OGC items (reports), reached by the keyset cursor of a next link and by
offset, at several depths and box sizes. One keep-alive HTTP connection."""
import http.client, json, statistics, sys, time, urllib.parse

base, secs = sys.argv[1], float(sys.argv[2])
u = urllib.parse.urlparse(base)
conn = http.client.HTTPConnection(u.hostname, u.port)

def get(path):
    conn.request("GET", path)
    r = conn.getresponse()
    body = r.read()
    if r.status != 200:
        raise SystemExit(f"{path}: {r.status} {body[:200]!r}")
    return body

def timed(path):
    t, n, out = time.monotonic() + secs, 0, []
    while time.monotonic() < t or n < 20:
        t0 = time.perf_counter()
        get(path)
        out.append((time.perf_counter() - t0) * 1000)
        n += 1
    out.sort()
    return statistics.median(out), out[int(len(out) * 0.99) - 1]

def cursor_at(query, depth):
    """The next link's path after `depth` rows (walked with big pages)."""
    path, seen = f"/ogc/collections/reports/items?{query}&limit=10000", 0
    while seen < depth:
        step = min(10000, depth - seen)
        path = path.replace("limit=10000", f"limit={step}")
        j = json.loads(get(path))
        seen += j["numberReturned"]
        nxt = [l["href"] for l in j["links"] if l["rel"] == "next"]
        if not nxt:
            return None
        path = nxt[0][len(base):] if nxt[0].startswith(base) else urllib.parse.urlparse(nxt[0]).path + "?" + urllib.parse.urlparse(nxt[0]).query
        path = path.replace(f"limit={step}", "limit=10000")
    return path.replace("limit=10000", "limit=10")

boxes = [("no bbox", ""), ("whole city", "bbox=115.4,39.4,117.5,41.1"),
         ("district-sized 0.1 deg", "bbox=116.35,39.85,116.45,39.95"),
         ("small 0.01 deg", "bbox=116.40,39.90,116.41,39.91")]
print("| box | rows before the page | next link (cursor) median / p99 ms | offset median / p99 ms |")
print("|---|---:|---:|---:|")
for name, q in boxes:
    q = q or "f=json"
    for depth in (0, 1000, 100000, 500000):
        cur = f"/ogc/collections/reports/items?{q}&limit=10" if depth == 0 else cursor_at(q, depth)
        if not cur:
            continue
        c50, c99 = timed(cur)
        o50, o99 = timed(f"/ogc/collections/reports/items?{q}&limit=10&offset={depth}")
        print(f"| {name} | {depth} | {c50:.2f} / {c99:.2f} | {o50:.2f} / {o99:.2f} |", flush=True)

# /api/v1/within: keyset pages (after = the previous page's next) against
# offset, by id (boxes, a district) and by distance (a 20 km circle).
def within_cursor(query, depth):
    path, seen, nxt = f"/api/v1/within?{query}&limit=10000", 0, None
    while seen < depth:
        step = min(10000, depth - seen)
        j = json.loads(get(f"/api/v1/within?{query}&limit={step}" + (f"&after={nxt}" if nxt else "")))
        seen += j["numberReturned"]
        nxt = j.get("next")
        if not nxt:
            return None
    return f"/api/v1/within?{query}&limit=10" + (f"&after={nxt}" if nxt else "")

regions = [("whole-city box, by id", "layer=reports&bbox=115.4,39.4,117.5,41.1"),
           ("0.1 deg box, by id", "layer=reports&bbox=116.35,39.85,116.45,39.95"),
           ("0.01 deg box, by id", "layer=reports&bbox=116.40,39.90,116.41,39.91"),
           ("district 110105, by id", "layer=reports&district=110105"),
           ("20 km circle, by distance", "layer=reports&lon=116.4&lat=39.91&radius=20000")]
print()
print("| /api/v1/within | rows before the page | after (cursor) median / p99 ms | offset median / p99 ms |")
print("|---|---:|---:|---:|")
for name, q in regions:
    for depth in (0, 1000, 100000):
        cur = within_cursor(q, depth)
        if not cur:
            continue
        c50, c99 = timed(cur)
        off = f"/api/v1/within?{q}&limit=10&offset={depth}"
        conn.request("GET", off)
        r = conn.getresponse()
        r.read()
        try:
            if r.status != 200:
                raise SystemExit(r.status)
            o50, o99 = timed(off)
            o = f"{o50:.2f} / {o99:.2f}"
        except SystemExit:  # counting every match is past the work budget
            o = "422 (over --query-budget-ms)"
        print(f"| {name} | {depth} | {c50:.2f} / {c99:.2f} | {o} |", flush=True)
