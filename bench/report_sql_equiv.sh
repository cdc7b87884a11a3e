#!/usr/bin/env bash
# Equivalence of the "as of D" SQL across a migration: dump every report function's
# full ordered output from a database as it is, apply the pending sql/ migrations to a
# copy of it, dump again and compare. Exit 1 on any difference.
#
#   bench/report_sql_equiv.sh DB [DATE...]
#
# DB holds data (e.g. `careledger gen` ingested) at the schema version to compare
# from, and nobody else is connected to it (it is the template of the copy DB_equiv,
# which is dropped at the end unless KEEP=1). PG* variables select the server
# (scripts/lib/pg.sh's cl_pg_start sets them). Dates default to the first and last
# worker-day, the day midway, and the last + 40. Prints each function's rows and
# seconds before and after; the dumps stay in OUT (default /tmp/report_sql_equiv.DB).
# MATERIALIZE_VIEWS=1 (needed at province size, see below) takes the "before" dumps
# from a copy DB_before whose two views are evaluated once into tables; REUSE_BEFORE=1
# keeps the "before" dumps of an earlier run (same DB and dates) and redoes "after".
# Where the new schema has the _under variants, each is also compared, on the same
# dates, with its full function's rows of the units under each of REGIONS (default:
# every registered province and city).
set -euo pipefail
cd "$(dirname "$0")/.."
db=${1:?usage: bench/report_sql_equiv.sh DB [DATE...]}
shift
copy=${db}_equiv
out=${OUT:-/tmp/report_sql_equiv.$db}
q() { psql -X -q -v ON_ERROR_STOP=1 -At -d "$1" -c "$2"; }

dates=("$@")
if [ ${#dates[@]} -eq 0 ]; then
  read -r first last < <(q "$db" "SELECT min(date), max(date) FROM careledger.worker_days" | tr '|' ' ')
  mid=$(q "$db" "SELECT date '$first' + (date '$last' - date '$first') / 2")
  late=$(q "$db" "SELECT date '$last' + 40")
  dates=("$first" "$mid" "$last" "$late")
fi

# REUSE_BEFORE=1 keeps OUT's "before" dumps from an earlier run with the same dates.
if [ "${REUSE_BEFORE:-0}" = 1 ] && [ -s "$out/before/times" ] \
  && [ "$(cat "$out/before/dates" 2>/dev/null)" = "${dates[*]}" ]; then
  reuse=1
  rm -rf "$out/after" "$out/under"
else
  reuse=0
  rm -rf "$out"
fi
mkdir -p "$out/before" "$out/after"

# Every "as of D" function of 003/004 with its rows in a total order, and the two views
# the reports read directly.
dated=(worker_months budgets_at compliance_at qualifications coverage_sla coverage_at
       coverage_people coverage_entitlement statuses_at days_to)

# dump DB DIR: one file per function and date, in one session (its settings as the
# reports have them), and DIR/times (name, date, server seconds).
dump() {
  local d=$1 dir=$2 script=$2/dump.psql f day
  {
    echo "SET TimeZone = 'UTC';"
    echo '\timing on'
    for day in "${dates[@]}"; do
      for f in "${dated[@]}"; do
        echo "\\o $dir/$f.$day"
        echo "COPY (SELECT t.* FROM careledger.$f('$day') t ORDER BY t) TO STDOUT;"
      done
    done
    for f in data_quality\(\) worker_home delivery_units; do
      echo "\\o $dir/${f%%(*}.-"
      echo "COPY (SELECT t.* FROM careledger.$f t ORDER BY t) TO STDOUT;"
    done
  } >"$script"
  psql -X -q -v ON_ERROR_STOP=1 -d "$d" -f "$script" | grep '^Time: ' | sed 's/^Time: \([0-9.]*\) ms.*/\1/' \
    | paste <(grep -o '^\\o .*' "$script" | sed 's|.*/||; s|\.\([^.]*\)$|\t\1|') - \
    | awk -F'\t' '{ printf "%s\t%s\t%.2f\n", $1, $2, $3 / 1000 }' >"$dir/times"
}

echo "${dates[*]}" >"$out/before/dates"
from=$(q "$db" "SELECT max(version) FROM careledger.schema_migrations")
echo "dates: ${dates[*]}; $db at schema $from"
if [ $reuse = 1 ]; then
  echo "reusing the dumps in $out/before"
elif [ "${MATERIALIZE_VIEWS:-0}" = 1 ]; then
  # At province size 003's delivery_units evaluates all of worker_home again for every
  # family delivery (hours). Its functions read the same rows from a copy in which both
  # views are evaluated once into tables, by their own definitions, and read back.
  dropdb --if-exists "${db}_before"
  createdb -T "$db" "${db}_before"
  psql -X -q -v ON_ERROR_STOP=1 -d "${db}_before" -1 <<'SQL'
SET search_path = careledger;
CREATE TABLE wh AS SELECT * FROM worker_home;
CREATE UNIQUE INDEX ON wh (worker_id);
DO $$ BEGIN
  EXECUTE 'CREATE TABLE du AS ' || replace(pg_get_viewdef('delivery_units'::regclass),
                                           'worker_home', 'wh');
END $$;
ANALYZE wh; ANALYZE du;
CREATE OR REPLACE VIEW worker_home AS SELECT worker_id, unit_id FROM wh;
CREATE OR REPLACE VIEW delivery_units AS SELECT * FROM du;
SQL
  dump "${db}_before" "$out/before"
  [ "${KEEP:-0}" = 1 ] || dropdb "${db}_before"
else
  dump "$db" "$out/before"
fi

dropdb --if-exists "$copy"
createdb -T "$db" "$copy"
for f in sql/[0-9][0-9][0-9]_*.sql; do
  n=$(basename "$f" .sql)
  v=$((10#${n%%_*}))
  [ "$v" -gt "$from" ] || continue
  psql -X -q -v ON_ERROR_STOP=1 -d "$copy" -1 -f "$f" \
    -c "INSERT INTO careledger.schema_migrations (version, name) VALUES ($v, '$n')"
  echo "applied $n to $copy"
done
q "$copy" "ANALYZE" >/dev/null
dump "$copy" "$out/after"

# The region-restricted variants (where the schema has them) against their full
# function's rows of the units under the region, on the same dates.
under_status=0
if [ "$(q "$copy" "SELECT count(*) FROM pg_proc WHERE proname = 'coverage_under'")" != 0 ]; then
  read -r -a regions <<<"${REGIONS:-$(q "$copy" "SELECT string_agg(code, ' ' ORDER BY code)
    FROM careledger.regions WHERE level <> 'district'")}"
  mkdir -p "$out/under"
  {
    echo "SET TimeZone = 'UTC';"
    for day in "${dates[@]}"; do
      for r in "${regions[@]}"; do
        for f in coverage compliance qualifications; do
          full=${f}_at; [ $f = qualifications ] && full=qualifications
          echo "\\o $out/under/$f.$day.$r.part"
          echo "COPY (SELECT t.* FROM careledger.${f}_under('$day', '$r') t ORDER BY t) TO STDOUT;"
          echo "\\o $out/under/$f.$day.$r.full"
          echo "COPY (SELECT t.* FROM careledger.$full('$day') t WHERE t.unit_id IN
                (SELECT careledger.units_under('$r')) ORDER BY t) TO STDOUT;"
        done
      done
    done
  } >"$out/under/dump.psql"
  psql -X -q -v ON_ERROR_STOP=1 -d "$copy" -f "$out/under/dump.psql"
  for part in "$out"/under/*.part; do
    if ! cmp -s "$part" "${part%.part}.full"; then
      echo "DIFFERENT: $(basename "${part%.part}") (_under against the full function)"
      under_status=1
    fi
  done
  echo "_under variants: $(ls "$out"/under/*.part | wc -l) checks (regions ${regions[*]}):" \
    "$([ $under_status = 0 ] && echo same || echo DIFFERENT)"
fi

status=$under_status
printf '%-22s %-10s %9s %9s %9s  %s\n' function date rows before_s after_s result
while IFS=$'\t' read -r name day before; do
  after=$(awk -F'\t' -v n="$name" -v d="$day" '$1 == n && $2 == d { print $3 }' "$out/after/times")
  rows=$(wc -l <"$out/before/$name.$day")
  if cmp -s "$out/before/$name.$day" "$out/after/$name.$day"; then
    result=same
  else
    result=DIFFERENT
    status=1
  fi
  printf '%-22s %-10s %9s %9s %9s  %s\n' "$name" "$day" "$rows" "$before" "$after" "$result"
done <"$out/before/times"
[ "${KEEP:-0}" = 1 ] || dropdb "$copy"
[ $status -eq 0 ] && echo "identical: every function on every date ($out)" \
  || echo "differences: diff -r $out/before $out/after" >&2
exit $status
