/* address.c - the database as a gazetteer for address_string (see
 * address.h for the steps). Every statement is a constant with bound
 * parameters, cached per connection; each step reads at most a couple of
 * rows. Facilities have no index on name or address: a lookup scans the
 * table once per step, which is fine for a POST without a point.
 */
#include "address.h"
#include "store_int.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Steps 1 and 2: how many facilities have this exact name / address, and
 * the first (SQLite takes the bare columns from the row of min()). */
static const char by_name_sql[] =
    "SELECT count(*), min(id), lon, lat FROM facilities WHERE name = ?1";
static const char by_address_sql[] =
    "SELECT count(*), min(id), lon, lat FROM facilities WHERE address = ?1 AND address <> ''";
/* Step 3: a district named by the text; label point, else a point on its surface. */
/* clang-format off */
static const char district_sql[] =
    "SELECT code, coalesce(label_lon, ST_X(ST_PointOnSurface(geom))),"
    " coalesce(label_lat, ST_Y(ST_PointOnSurface(geom))) FROM districts"
    " WHERE name = ?1 OR (length(?1) >= 2 AND substr(name, 1, length(name) - 1) = ?1)"
    " OR (length(?1) > length(name) AND substr(?1, -length(name)) = name)"
    " OR (name_en <> '' AND (lower(name_en) = lower(?1) OR lower(name_en) || ' district' = lower(?1)))"
    " ORDER BY code LIMIT 1";
/* Step 4: the facilities whose address contains the text. */
static const char street_sql[] =
    "SELECT count(DISTINCT coalesce(district_code, '')), min(id) FROM facilities"
    " WHERE length(?1) >= 2 AND instr(address, ?1) > 0";
static const char point_sql[] = "SELECT lon, lat FROM facilities WHERE id = ?1";
/* Step 5: the longest district name inside the text. */
static const char district_in_sql[] =
    "SELECT code, coalesce(label_lon, ST_X(ST_PointOnSurface(geom))),"
    " coalesce(label_lat, ST_Y(ST_PointOnSurface(geom))) FROM districts"
    " WHERE length(name) >= 2 AND instr(?1, name) > 0 ORDER BY length(name) DESC, code LIMIT 1";
/* clang-format on */

const char *md_address_match_name(enum md_address_match m)
{
    switch (m) {
    case MD_ADDRESS_FACILITY_NAME:
        return "facility name";
    case MD_ADDRESS_FACILITY_ADDRESS:
        return "facility address";
    case MD_ADDRESS_DISTRICT:
        return "district";
    case MD_ADDRESS_STREET:
        return "street";
    case MD_ADDRESS_DISTRICT_IN_TEXT:
        return "district in the address";
    case MD_ADDRESS_NONE:
        break;
    }
    return "none";
}

/* Steps 1 and 2 (by_address): *count = the facilities; the first one's point in out. */
static md_err facility_exact(struct md_store *s, bool by_address, const char *text,
                             struct md_address_hit *out, int *count, struct md_ctx *ctx)
{
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, by_address ? by_address_sql : by_name_sql, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
    int src = sqlite3_step(st);
    *count = 0;
    if (src == SQLITE_ROW) {
        *count = sqlite3_column_int(st, 0);
        out->facility_id = sqlite3_column_int64(st, 1);
        out->lon = sqlite3_column_double(st, 2);
        out->lat = sqlite3_column_double(st, 3);
    } else {
        rc = md_store_fail(s, src, "address lookup (facility)", ctx);
    }
    sqlite3_reset(st);
    return rc;
}

/* Steps 3 and 5 (in_text): *found when a district row came back. */
static md_err district(struct md_store *s, bool in_text, const char *text,
                       struct md_address_hit *out, bool *found, struct md_ctx *ctx)
{
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, in_text ? district_in_sql : district_sql, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
    int src = sqlite3_step(st);
    *found = false;
    if (src == SQLITE_ROW && sqlite3_column_type(st, 1) != SQLITE_NULL &&
        sqlite3_column_type(st, 2) != SQLITE_NULL) {
        const unsigned char *code = sqlite3_column_text(st, 0);
        snprintf(out->district, sizeof(out->district), "%s", code ? (const char *)code : "");
        out->lon = sqlite3_column_double(st, 1);
        out->lat = sqlite3_column_double(st, 2);
        *found = true;
    } else if (src != SQLITE_ROW && src != SQLITE_DONE) {
        rc = md_store_fail(s, src, "address lookup (district)", ctx);
    }
    sqlite3_reset(st);
    return rc;
}

/* Step 4: *found when the facilities containing text lie in one district. */
static md_err street(struct md_store *s, const char *text, struct md_address_hit *out, bool *found,
                     struct md_ctx *ctx)
{
    sqlite3_stmt *st = NULL;
    int64_t id = 0;
    *found = false;
    md_err rc = md_store_stmt(s, street_sql, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        out->street_districts = sqlite3_column_int(st, 0);
        id = sqlite3_column_int64(st, 1);
    } else {
        rc = md_store_fail(s, src, "address lookup (street)", ctx);
    }
    sqlite3_reset(st);
    if (rc || out->street_districts != 1)
        return rc;
    if ((rc = md_store_stmt(s, point_sql, &st, ctx)))
        return rc;
    sqlite3_bind_int64(st, 1, id);
    src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        out->facility_id = id;
        out->lon = sqlite3_column_double(st, 0);
        out->lat = sqlite3_column_double(st, 1);
        *found = true;
    } else if (src != SQLITE_DONE) {
        rc = md_store_fail(s, src, "address lookup (street)", ctx);
    }
    sqlite3_reset(st);
    return rc;
}

md_err md_address_lookup(struct md_store *s, const char *text, struct md_address_hit *out,
                         struct md_ctx *ctx)
{
    memset(out, 0, sizeof(*out));
    int count = 0;
    bool found = false;
    md_err rc = facility_exact(s, false, text, out, &count, ctx);
    if (!rc && count == 1) {
        out->match = MD_ADDRESS_FACILITY_NAME;
        return MD_OK;
    }
    out->ambiguous = count > 1 ? count : 0;
    if (!rc)
        rc = facility_exact(s, true, text, out, &count, ctx);
    if (!rc && count == 1) {
        out->match = MD_ADDRESS_FACILITY_ADDRESS;
        out->ambiguous = 0;
        return MD_OK;
    }
    if (count > out->ambiguous)
        out->ambiguous = count;
    out->facility_id = 0;
    if (!rc)
        rc = district(s, false, text, out, &found, ctx);
    if (!rc && found) {
        out->match = MD_ADDRESS_DISTRICT;
        return MD_OK;
    }
    if (!rc)
        rc = street(s, text, out, &found, ctx);
    if (!rc && found) {
        out->match = MD_ADDRESS_STREET;
        return MD_OK;
    }
    if (!rc)
        rc = district(s, true, text, out, &found, ctx);
    if (!rc && found) {
        out->match = MD_ADDRESS_DISTRICT_IN_TEXT;
        return MD_OK;
    }
    out->lon = out->lat = 0;
    out->facility_id = 0;
    return rc;
}
