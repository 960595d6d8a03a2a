#!/usr/bin/env python3
"""Issue 11, one meaning for each thing: the same filter gives the same
reports in every endpoint. Usage: consistency.py BASE_URL DB_PATH.

- A date-only `to` includes that day: from=D&to=D counts exactly the
  reports created on day D (city time, +08:00) in /api/v1/reports, stats,
  within, the CSV export and Open311 (start_date/end_date) - checked against
  the database itself.
- Comma lists for status and category: a list matches the union of its
  items in nearest, within, reports, stats and exports.
"""
import csv
import io
import json
import sqlite3
import sys
import urllib.request

BASE, DB = sys.argv[1], sys.argv[2]


def get(path):
    with urllib.request.urlopen(BASE + path, timeout=60) as r:
        return r.read().decode('utf-8')


def counts(q):
    """The number of reports matching query string q in every endpoint."""
    out = {}
    out['reports'] = len(json.loads(get('/api/v1/reports?limit=10000&' + q))['reports'])
    out['stats'] = json.loads(get('/api/v1/stats?' + q))['total']['count']
    out['within'] = json.loads(get('/api/v1/within?layer=reports&bbox=73,18,135,54&limit=1&offset=0&' + q))['numberMatched']
    out['export'] = len(list(csv.DictReader(io.StringIO(get('/api/v1/export/reports.csv?' + q)))))
    return out


db = sqlite3.connect('file:%s?mode=ro' % DB, uri=True)
day = db.execute("SELECT date(created_at, 'unixepoch', '+8 hours') d FROM reports GROUP BY d"
                 " HAVING count(*) BETWEEN 50 AND 900 ORDER BY d DESC LIMIT 1").fetchone()[0]
truth = db.execute("SELECT count(*) FROM reports WHERE date(created_at, 'unixepoch', '+8 hours') = ?",
                   (day,)).fetchone()[0]
got = counts('from=%s&to=%s' % (day, day))
got['open311'] = len(json.loads(get('/open311/v2/requests.json?page_size=1000&start_date=%s&end_date=%s'
                                    % (day, day))))
print('day', day, 'truth', truth, got)
assert truth > 0
assert all(v == truth for v in got.values()), (day, truth, got)
# A date-time `to` stays an instant: to=D (00:00) and to=DT00:00:00 agree.
a = counts('from=%s&to=%sT23:59:59' % (day, day))
assert a == {k: v for k, v in got.items() if k != 'open311'}, a

# Comma lists.
one, two = counts('status=filed'), counts('status=dispatched')
both = counts('status=filed,dispatched')
print('status', one, two, both)
assert all(both[k] == one[k] + two[k] and one[k] > 0 and two[k] > 0 for k in both), both
cats = [r[0] for r in db.execute("SELECT service_code FROM reports GROUP BY 1 ORDER BY count(*) DESC LIMIT 2")]
c1, c2 = counts('category=' + cats[0]), counts('category=' + cats[1])
c12 = counts('category=%s,%s' % tuple(cats))
print('category', c1, c2, c12)
assert all(c12[k] == c1[k] + c2[k] for k in c12), c12
near = json.loads(get('/api/v1/nearest?layer=reports&lon=116.40&lat=39.91&k=50&status=filed,dispatched'))
statuses = {f['properties']['status'] for f in near['features']}
assert statuses <= {'filed', 'dispatched'} and len(near['features']) == 50, statuses
fac = json.loads(get('/api/v1/nearest?lon=116.40&lat=39.91&k=20&category=breakfast,kiosk'))
assert {f['properties']['category'] for f in fac['features']} <= {'breakfast', 'kiosk'}
assert len(fac['features']) == 20
print('ok')
