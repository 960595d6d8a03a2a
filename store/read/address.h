/* address.h - locating an Open311 address_string without lat/long: the
 * database's own names (facilities, districts) as a small gazetteer. No
 * geocoder: only text the database holds is found, exactly or as the one
 * district a street of the facility addresses lies in.
 *
 * The steps, first hit wins (md_address_lookup):
 *   1. a facility whose name is the text, when exactly one is;
 *   2. a facility whose address is the text, when exactly one is;
 *   3. a district whose name (zh, "东城区"; or without its last character,
 *      "东城"; or ending the text, "北京市东城区") or English name
 *      (case-insensitive, "Dongcheng", "Dongcheng District") is the text:
 *      the district's label point;
 *   4. a street: facilities whose address contains the text (at least
 *      two characters), all in one district: the first of them (lowest id);
 *   5. a district whose zh name the text contains ("朝阳区某某路"), the
 *      longest name: the district's label point.
 * The grid table has codes and polygons but no names, so grid cells are
 * never matched by text.
 */
#ifndef MD_ADDRESS_H
#define MD_ADDRESS_H

#include "md_err.h"
#include <stdint.h>

struct md_store;

enum md_address_match {
    MD_ADDRESS_NONE,
    MD_ADDRESS_FACILITY_NAME,
    MD_ADDRESS_FACILITY_ADDRESS,
    MD_ADDRESS_DISTRICT,
    MD_ADDRESS_STREET,
    MD_ADDRESS_DISTRICT_IN_TEXT,
};

/* What a lookup found. `ambiguous` counts, when nothing matched, the
 * facilities that share the name or address (2 or more: not unique) and
 * `street_districts` the districts a street's facilities lie in (2 or
 * more), so that the caller can say what was tried. */
struct md_address_hit {
    enum md_address_match match;
    double lon, lat;      /* WGS84; 0 when match == MD_ADDRESS_NONE */
    int64_t facility_id;  /* steps 1, 2, 4; else 0 */
    char district[16];    /* steps 3, 5: the district's code; else "" */
    int ambiguous;        /* facilities with the same name or address */
    int street_districts; /* districts of the facilities on the street */
};

/* Look `text` (UTF-8, borrowed) up by the steps above. MD_OK with
 * out->match == MD_ADDRESS_NONE when nothing matched; a database error
 * (preparing or stepping any statement) is returned with its message in
 * ctx. */
md_err md_address_lookup(struct md_store *s, const char *text, struct md_address_hit *out,
                         struct md_ctx *ctx) MD_WUR;

/* The step's words ("facility name", "district", ...) for messages. */
const char *md_address_match_name(enum md_address_match m);

#endif
