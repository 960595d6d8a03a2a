#!/usr/bin/env bash
# tests/security/check_sql.sh - "no SQL is built from request text"
# (SPEC §9, CONVENTIONS: every statement prepared once with bound
# parameters; names from allow-lists). Registered in CTest as
# security/sql_constant. Two rules over the C sources that touch the
# database (api/ store/ tiles/ mapd/):
#
#  1. No SQL is formatted: no sqlite3_mprintf/vmprintf/snprintf/str_appendf,
#     and no printf-style call whose format string holds SQL
#     (SELECT/INSERT/UPDATE/DELETE/WHERE/FROM), except the reviewed lines in
#     FORMAT_ALLOW below (each builds SQL from a compile-time table, never
#     from a request).
#  2. Every md_store_stmt/sqlite3_prepare*/sqlite3_exec gets its SQL from a
#     string literal or from constants: each name the SQL argument can
#     evaluate to (after dropping [index] and "cond ?" selectors) must be
#     declared in the same file as a `const char NAME[]` / `const char
#     *const NAME[]` (or appear in CONST_ALLOW, reviewed).
#
# Usage: tests/security/check_sql.sh [SOURCE_DIR]   exit 0 = clean
#        tests/security/check_sql.sh --self-test     the rules catch planted bad code
set -uo pipefail
if [ "${1:-}" = --self-test ]; then
  t=$(mktemp -d); mkdir -p "$t/api" "$t/store" "$t/tiles" "$t/mapd"
  cat > "$t/api/bad.c" <<'C'
static md_err bad(struct md_call *c, const char *name)
{
    char buf[256];
    snprintf(buf, sizeof(buf), "SELECT id FROM facilities WHERE name = '%s'", name);
    md_err rc = md_store_stmt(c->w->store, buf, &st, c->ctx);
    char *q = sqlite3_mprintf("DELETE FROM reports WHERE id = %s", name);
    int src = sqlite3_prepare_v2(db, name, -1, &st, NULL);
}
C
  out=$("$0" "$t" 2>&1); rc=$?; rm -rf "$t"
  n=$(echo "$out" | grep -c '^check_sql:')
  echo "$out" >&2
  [ $rc = 1 ] && [ "$n" -ge 4 ] && { echo "check_sql: self-test ok ($n findings)"; exit 0; }
  echo "check_sql: self-test FAILED (exit $rc, $n findings)"; exit 1
fi
ROOT=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$ROOT" || exit 2
DIRS=(api store tiles mapd)

# file:regex of reviewed SQL formatting (reason after #).
FORMAT_ALLOW=(
  'store/db/schema.c:FROM %s", layer_defs\[layer\]\.table'   # table name from the layer_defs table
  'store/db/schema.c:WHERE layer = %d", \(int\)layer'        # an enum value
  'store/write/rtree_load.c:(idx_%s_geom|FROM %s)'              # `table`: its one caller, md_store_bulk_end, passes layer_defs[layer].table
)
# file-glob:regex of reviewed non-literal SQL arguments (reason after #).
CONST_ALLOW=(
  'store/read/query.c:^(q->)?sql->[a-z_]+$' # fields of static const tables of statements
  'store/load/import.c:^sql$'        # load_codes parameter; every caller passes a literal
  'store/domain/locate.c:^sql$'      # sql_code/load_set parameter; every caller passes an element of a static const table or a literal
  'store/write/rtree_load.c:^sql$'   # formatted from layer_defs table names only (see FORMAT_ALLOW)
  'store/read/feature_query.c:^d->box_count$' # field of the static const layer_defs table of statements
  'store/pg/pg_copy.c:^t->select_sql$' # field of the static const tables[] of copy statements
  'store/read/feature_query.c:^b->sql\.data$' # a page statement put together from constant fragments and allow-listed column names (md_field); every value bound
)

fail=0
report() { echo "check_sql: $*" >&2; fail=1; }

# Rule 1.
while IFS= read -r hit; do
  [ -n "$hit" ] && report "SQL text built at run time: $hit"
done < <(grep -rnE 'sqlite3_(v?mprintf|snprintf|str_appendf|str_vappendf)\(' "${DIRS[@]}" 2>/dev/null --include='*.c' --include='*.h')
while IFS= read -r hit; do
  [ -z "$hit" ] && continue
  ok=0
  for a in "${FORMAT_ALLOW[@]}"; do
    f=${a%%:*} re=${a#*:}
    [[ $hit == "$f:"* ]] && echo "$hit" | grep -qE "$re" && ok=1
  done
  [ $ok = 1 ] || report "printf-style SQL: $hit"
done < <(grep -rnE '(printf|md_buf_printf|md_pool_printf)\([^;]*"[^"]*\b(SELECT|INSERT|UPDATE|DELETE|WHERE|FROM)\b' "${DIRS[@]}" 2>/dev/null --include='*.c')

# Rule 2.
calls=0
while IFS= read -r hit; do
  [ -z "$hit" ] && continue
  calls=$((calls + 1))
  file=${hit%%:*}
  text=${hit#*:*:}
  arg=$(echo "$text" | sed -E 's/.*(md_store_stmt|sqlite3_prepare(_v2|_v3)?|sqlite3_exec)\(\s*[^,]+,\s*//')
  # Up to the first comma outside parentheses.
  arg=$(echo "$arg" | awk '{d=0; for(i=1;i<=length($0);i++){c=substr($0,i,1); if(c=="(")d++; if(c==")"){if(d==0)break; d--} if(c==","&&d==0)break; printf "%s",c}}')
  arg=$(echo "$arg" | sed -E 's/^\s+|\s+$//g')
  [[ $arg == \"* ]] && continue
  [ -z "$arg" ] && continue # continued on the next line: a literal (checked by rule 1)
  # The values the argument can take: drop "cond ?" and [index] selectors
  # (the whole argument is tried first, e.g. a function call).
  vals=$arg
  [[ $arg == *\(* ]] || vals=$(echo "$arg" | sed -E 's/\[[^]]*\]//g; s/^[^?]*\?//; s/ : / /g')
  for name in $vals; do
    allowed=0
    for a in "${CONST_ALLOW[@]}"; do
      f=${a%%:*} re=${a#*:}
      [[ $file == $f ]] && echo "$name" | grep -qE "$re" && allowed=1
    done
    [ $allowed = 1 ] && continue
    [[ $name =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || { report "$file: SQL argument '$arg' is not a constant"; continue; }
    grep -qE "const char \*?(const )?$name\s*\[|const char $name\[\]|const char \*const $name\b" "$file" ||
      report "$file: SQL argument '$name' (in: $text) is not declared const char in the file"
  done
done < <(grep -rnE '(md_store_stmt|sqlite3_prepare(_v2|_v3)?|sqlite3_exec)\(' "${DIRS[@]}" 2>/dev/null --include='*.c' |
         grep -vE '^[^:]+:[0-9]+:\s*(\*|/\*|//)|^[^:]+:[0-9]+:(md_err|static|int|void) ')

if [ $fail = 0 ]; then
  echo "check_sql: $calls statement sites use constant SQL; no SQL is formatted from input"
fi
exit $fail
