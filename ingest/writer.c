/**
 * @file writer.c
 * @brief One transaction per batch: fence, COPY, insert, classify, dead letters, offsets.
 */
#include "careledger/writer.h"

#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "careledger/buf.h"
#include "careledger/log.h"
#include "careledger/pg.h"
#include "careledger/time.h"

/* The columns of careledger.events, in the order the COPY writes them. */
#define EVENT_COLS                                                                                 \
    "event_id, type, fingerprint, occurred_at, source, src_topic, src_partition, src_offset, "     \
    "code, name, parent, level, unit_id, region, kind, worker_id, role, staff, family_id, "        \
    "spouse_worker_id, children, elders, start_at, end_at, exposure, post, cancels, reason, "      \
    "deployment_id, team, destination, date, measure, reference, amount_fen, sum_insured_fen, "    \
    "line, period, funding, case_id, status, note, budget_id, scope, from_date, to_date, payload"

/* Session settings for batches. JIT compilation is off: with staging tables the planner has
 * no statistics for, its cost estimates of the batch statements pass jit_above_cost, and
 * compiling them took longer (about a second a batch) than running them. A batch's staged
 * rows and their sorts stay in memory (temp_buffers must be set before the session first
 * uses a temporary table). A batch never waits on its own client for seconds: a session idle
 * in its transaction that long belongs to a frozen process (a paused VM, a stopped daemon)
 * that holds its partitions' offset rows locked, and the partitions' new owner would wait on
 * them for as long as it stays frozen; PostgreSQL ends it instead, and the zombie's batch is
 * fenced when it wakes up. */
static const char SQL_SETUP[] =
    "SET jit = off; SET temp_buffers = '64MB'; SET work_mem = '64MB'; "
    "SET idle_in_transaction_session_timeout = '10s'; "
    "CREATE TEMP TABLE IF NOT EXISTS stage (LIKE careledger.events, seq integer NOT NULL, "
    "first boolean NOT NULL) ON COMMIT DELETE ROWS; "
    "CREATE TEMP TABLE IF NOT EXISTS stage_acc (event_id text NOT NULL) ON COMMIT DELETE ROWS; "
    "CREATE TEMP TABLE IF NOT EXISTS stage_rdv (event_id text NOT NULL) ON COMMIT DELETE ROWS";

/* The aggregates are written by COPY, which PostgreSQL refuses on a table under
 * row-level security (007) to a user subject to it, whatever its policies: say so at
 * once, and what to do, rather than fail the first batch with PostgreSQL's words. */
static const char SQL_CHECK_RLS[] =
    "DO $$ BEGIN IF row_security_active('careledger.worker_days') THEN RAISE EXCEPTION "
    "'ingest: login % is subject to row-level security on the aggregates (migration 007), "
    "where PostgreSQL refuses COPY', current_user USING HINT = 'Ingest as the schema owner, "
    "or have a superuser run ALTER ROLE ' || quote_ident(current_user) || ' BYPASSRLS.'; "
    "END IF; END $$";

/* Lock the batch's offset rows in a fixed order so concurrent batches never deadlock. */
static const char SQL_LOCK_OFFSETS[] =
    "SELECT topic, partition, next_offset FROM careledger.offsets "
    "WHERE consumer_group = $1 AND (topic, partition) IN "
    "(SELECT * FROM unnest($2::text[], $3::int[])) ORDER BY topic, partition FOR UPDATE";

static const char SQL_COPY_STAGE[] = "COPY stage (" EVENT_COLS ", seq, first) FROM STDIN";

/* The batch's ids already stored, with their fingerprints: one probe by key per first copy
 * (OFFSET 0: an array has no statistics, and a join the planner chose on its guesses could
 * read every raw event). The writer classifies what comes back (exact or conflicting
 * duplicate) and stages only the events it accepts (DECISIONS 166). The fingerprint comes
 * as hex whatever the session's bytea_output. */
static const char SQL_PROBE[] =
    "SELECT k.i, encode(e.fingerprint, 'hex') FROM unnest($1::text[]) WITH ORDINALITY k (id, i) "
    "CROSS JOIN LATERAL (SELECT e.fingerprint FROM careledger.events e "
    "WHERE e.event_id = k.id OFFSET 0) e";

/* The staged events are the accepted ones: inserted without ON CONFLICT (speculative
 * insertion cost 1.6x a plain insert, DECISIONS 106) or a list of what was inserted, in
 * event_id order so that two batches storing the same new ids take their keys in one order
 * (the second waits for the first, then fails on the key, rather than a wait cycle). Only a batch
 * of another partition storing one of the ids after the probe can still collide; that batch is then
 * run again guarded: every copy staged, SQL_INSERT_EVENTS_GUARDED's ON CONFLICT waits for the other
 * and skips the id, the server classifies (SQL_CLASSIFY), and the stage is cut to the accepted
 * events. */
static const char SQL_INSERT_EVENTS[] = "INSERT INTO careledger.events (" EVENT_COLS
                                        ") SELECT " EVENT_COLS " FROM stage ORDER BY event_id";
static const char SQL_INSERT_EVENTS_GUARDED[] =
    "WITH ins AS (INSERT INTO careledger.events (" EVENT_COLS ") SELECT " EVENT_COLS
    " FROM stage WHERE first ORDER BY event_id ON CONFLICT (event_id) DO NOTHING "
    "RETURNING event_id) INSERT INTO stage_acc SELECT event_id FROM ins";

/* Guarded: everything not accepted, an exact duplicate when the stored fingerprint is the
 * same. A separate statement, so it sees rows that concurrent batches committed meanwhile.
 * Each stored original is probed by its key (OFFSET 0, as in SQL_PROBE). */
static const char SQL_CLASSIFY[] =
    "SELECT s.seq, e.fingerprint = s.fingerprint FROM (SELECT s.seq, s.event_id, s.fingerprint "
    "FROM stage s WHERE NOT EXISTS (SELECT 1 FROM stage_acc a WHERE a.event_id = s.event_id "
    "AND s.first) OFFSET 0) s CROSS JOIN LATERAL (SELECT e.fingerprint FROM careledger.events e "
    "WHERE e.event_id = s.event_id OFFSET 0) e";
/* Guarded: the stage keeps the accepted events only, as the aggregates read it. */
static const char SQL_STAGE_ACCEPTED[] =
    "DELETE FROM stage s WHERE NOT s.first "
    "OR NOT EXISTS (SELECT 1 FROM stage_acc a WHERE a.event_id = s.event_id)";

/* The rendezvous of a fact with the event it names (DECISIONS 148). A cancellation whose
 * shift is not visible may name a shift that a concurrent batch is storing, and neither batch
 * would see the other's row: the shift would stay counted. So the batch inserts a placeholder
 * row under the shift's event_id and deletes it again at once, within its transaction:
 * - if another batch holds the shift uncommitted, the insert waits for it (ON CONFLICT
 *   waits for the inserter), and every later statement of this batch sees the shift;
 * - otherwise the placeholder's index entry stays until this batch ends, so a batch that
 *   stores the shift meanwhile waits on it, then finds it dead and sees the cancellation.
 * A deployment's start and end meet the same way on a key no event id can take ("~" is
 * outside SPEC §3's pattern): every start and every end of the batch takes it, as a start
 * can be corrected by a later one (R5). The placeholders are never committed, so no reader,
 * rebuild or report ever sees one.
 * The statement waits at most 50 ms for another batch. Waiting for a batch that holds a
 * named shift would end in a cycle whenever that batch also cancels a shift of this one
 * (one in four batches with four workers), which PostgreSQL breaks only after
 * deadlock_timeout (1 s). A batch that meets one in flight drops its placeholders (the
 * savepoint) and takes the cross-partition lock exclusively instead (SQL_FALL_BACK), which
 * orders it against every batch as before DECISIONS 148. */
static const char SQL_RENDEZVOUS[] =
    "SAVEPOINT rendezvous; SET LOCAL lock_timeout = '50ms'; "
    "WITH ins AS (INSERT INTO careledger.events (event_id, type, fingerprint, occurred_at, "
    "src_topic, src_partition, src_offset, payload) "
    "SELECT k.key, 'rendezvous', '\\x', 'epoch', '', -1, -1, '' FROM ("
    "SELECT s.cancels AS key FROM stage s WHERE s.first AND s.type = 'shift.cancelled' "
    "AND NOT EXISTS (SELECT 1 FROM careledger.events e WHERE e.event_id = s.cancels OFFSET 0) "
    "UNION SELECT '~deployment:' || s.deployment_id FROM stage s WHERE s.first "
    "AND s.type IN ('deployment.started', 'deployment.ended')) k "
    "ORDER BY k.key ON CONFLICT (event_id) DO NOTHING RETURNING event_id) "
    "INSERT INTO stage_rdv SELECT event_id FROM ins; "
    "DELETE FROM careledger.events WHERE event_id = ANY (ARRAY(SELECT event_id FROM stage_rdv)) "
    "AND type = 'rendezvous'; "
    "SET LOCAL lock_timeout TO DEFAULT; RELEASE SAVEPOINT rendezvous";
/* Read by the aggregates' SQL_CROSS_NEEDED (agg.c); SET LOCAL ends with the transaction. */
static const char SQL_FALL_BACK[] =
    "ROLLBACK TO SAVEPOINT rendezvous; SET LOCAL careledger.cross_exclusive = 'on'";

static const char SQL_COPY_DEAD[] =
    "COPY careledger.dead_letters (consumer_group, src_topic, src_partition, src_offset, reason, "
    "message, event_id, msg_key, payload) FROM STDIN";

static const char SQL_ADVANCE[] =
    "UPDATE careledger.offsets SET next_offset = $5, accepted = accepted + $6, "
    "duplicates = duplicates + $7, dead_letters = dead_letters + $8, "
    "watermark = GREATEST(watermark, $9::timestamptz), updated_at = now() "
    "WHERE consumer_group = $1 AND topic = $2 AND partition = $3 AND next_offset = $4";

static const char SQL_FIRST[] =
    "INSERT INTO careledger.offsets (consumer_group, topic, partition, next_offset, accepted, "
    "duplicates, dead_letters, watermark) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

static const char SQL_STORED[] = "SELECT next_offset FROM careledger.offsets "
                                 "WHERE consumer_group = $1 AND topic = $2 AND partition = $3";

struct cl_writer {
    char *conninfo, *group;
    PGconn *conn;
    cl_buf_t copy, dead, arr_topics, arr_parts;
    size_t *seen; /* open addressing over event_ids: message index + 1, 0 when free */
    size_t seen_cap;
    size_t *orig; /* per message, the index of the batch's first copy of its id; then, from
                     orig + the batch's count, the first copies in the probe's order */
    size_t orig_cap;
    const char **stored; /* per message: the stored fingerprint's hex when a first copy's id
                            was stored already (in the probe's result), else NULL */
    size_t stored_cap;
    long batches;
    char last_state[6]; /* SQLSTATE of the last CL_WRITE_DATA */
    cl_writer_hook_fn hook;
    void *hook_ctx;
    cl_crash_point_t crash_point;
    long crash_nth;
    int id_race;       /* the last failure: another batch stored one of this batch's event_ids */
    int deadlock;      /* the last failure: PostgreSQL ended the batch to break a wait cycle */
    int restage;       /* the last failure: a staged message no longer decoded, now dead */
    cl_decoder_t *dec; /* decodes staged messages again to render their rows (no policies) */
    cl_event_t ev;
};

/** @brief Create a writer (not connected). */
cl_writer_t *cl_writer_create(const char *conninfo, const char *group)
{
    cl_writer_t *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->conninfo = strdup(conninfo ? conninfo : "");
    w->group = strdup(group);
    w->dec = cl_decoder_create(NULL);
    if (!w->conninfo || !w->group || !w->dec) {
        cl_writer_destroy(w);
        return NULL;
    }
    return w;
}

/** @brief Free a writer. */
void cl_writer_destroy(cl_writer_t *w)
{
    if (!w)
        return;
    if (w->conn)
        PQfinish(w->conn);
    cl_buf_free(&w->copy);
    cl_buf_free(&w->dead);
    cl_buf_free(&w->arr_topics);
    cl_buf_free(&w->arr_parts);
    cl_decoder_destroy(w->dec);
    cl_event_release(&w->ev);
    free(w->seen);
    free(w->orig);
    free(w->stored);
    free(w->conninfo);
    free(w->group);
    free(w);
}

/** @brief Connected and usable. */
int cl_writer_connected(const cl_writer_t *w)
{
    return w->conn && PQstatus(w->conn) == CONNECTION_OK;
}

/** @brief (Re)connect and create the session's staging tables. */
int cl_writer_connect(cl_writer_t *w, char *err, size_t errsize)
{
    if (w->conn) {
        PQfinish(w->conn);
        w->conn = NULL;
    }
    w->conn = cl_pg_connect(w->conninfo, "careledger-ingest", err, errsize);
    if (!w->conn)
        return -1;
    if (cl_pg_exec(w->conn, SQL_SETUP, err, errsize) != 0 ||
        cl_pg_exec(w->conn, SQL_CHECK_RLS, err, errsize) != 0) {
        PQfinish(w->conn);
        w->conn = NULL;
        return -1;
    }
    return 0;
}

/** @brief SQLSTATE of the last data error. */
const char *cl_writer_last_sqlstate(const cl_writer_t *w)
{
    return w->last_state;
}

/** @brief Set the aggregate hook. */
void cl_writer_set_hook(cl_writer_t *w, cl_writer_hook_fn fn, void *ctx)
{
    w->hook = fn;
    w->hook_ctx = ctx;
}

/** @brief Arm a crash. */
void cl_writer_set_crash(cl_writer_t *w, cl_crash_point_t point, long nth)
{
    w->crash_point = point;
    w->crash_nth = nth;
}

/** @brief Parse a crash point name. */
cl_crash_point_t cl_writer_crash_parse(const char *s)
{
    if (!s)
        return CL_CRASH_NONE;
    if (strcmp(s, "after_copy") == 0)
        return CL_CRASH_AFTER_COPY;
    if (strcmp(s, "before_commit") == 0)
        return CL_CRASH_BEFORE_COMMIT;
    if (strcmp(s, "after_commit") == 0)
        return CL_CRASH_AFTER_COMMIT;
    if (strcmp(s, "stop_before_commit") == 0)
        return CL_CRASH_STOP_BEFORE_COMMIT;
    return CL_CRASH_NONE;
}

/** @brief Die, or freeze, at the armed point (tests of crash safety only). */
static void maybe_crash(cl_writer_t *w, cl_crash_point_t here)
{
    static int stopped; /* the stop point freezes the process once, not once per worker */
    if (w->crash_point == CL_CRASH_STOP_BEFORE_COMMIT && here == CL_CRASH_BEFORE_COMMIT &&
        w->batches == w->crash_nth && !__atomic_exchange_n(&stopped, 1, __ATOMIC_SEQ_CST)) {
        cl_log_warn("test stop point reached", "batch=%ld", w->batches);
        raise(SIGSTOP);
        return;
    }
    if (w->crash_point == here && w->batches == w->crash_nth) {
        cl_log_warn("test crash point reached", "point=%d batch=%ld", (int)here, w->batches);
        raise(SIGKILL);
    }
}

/** @brief Stored next offset of a partition. */
int cl_writer_stored_offset(cl_writer_t *w, const char *topic, int32_t partition, int64_t *next,
                            char *err, size_t errsize)
{
    char part[16];
    snprintf(part, sizeof part, "%d", (int)partition);
    const char *params[3] = {w->group, topic, part};
    PGresult *r = PQexecParams(w->conn, SQL_STORED, 3, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        snprintf(err, errsize, "%s", PQresultErrorMessage(r));
        PQclear(r);
        return -1;
    }
    int found = PQntuples(r) == 1;
    if (found)
        *next = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return found ? 0 : 1;
}

/* ---- COPY text format ---- */

/** @brief Append a text value, escaped for COPY (NULL as \N). */
static void copy_text(cl_buf_t *b, const char *s)
{
    if (!s) {
        cl_buf_add(b, "\\N", 2);
        return;
    }
    if (cl_buf_reserve(b, strlen(s) * 2))
        return;
    char *o = b->p + b->len;
    for (; *s; s++) {
        switch (*s) {
        case '\\':
            *o++ = '\\';
            *o++ = '\\';
            break;
        case '\t':
            *o++ = '\\';
            *o++ = 't';
            break;
        case '\n':
            *o++ = '\\';
            *o++ = 'n';
            break;
        case '\r':
            *o++ = '\\';
            *o++ = 'r';
            break;
        default:
            *o++ = *s;
        }
    }
    b->len = (size_t)(o - b->p);
    b->p[b->len] = '\0';
}

/** @brief Append bytes as a COPY bytea value (\\x hex). */
static void copy_bytea(cl_buf_t *b, const void *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    if (cl_buf_reserve(b, 3 + 2 * n))
        return;
    char *o = b->p + b->len;
    *o++ = '\\';
    *o++ = '\\';
    *o++ = 'x';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = ((const unsigned char *)p)[i];
        *o++ = hex[c >> 4];
        *o++ = hex[c & 15];
    }
    b->len = (size_t)(o - b->p);
    b->p[b->len] = '\0';
}

/** @brief A tab, then @p s as COPY text (NULL: \\N). */
static void col_text(cl_buf_t *b, const char *s)
{
    cl_buf_putc(b, '\t');
    copy_text(b, s);
}

/** @brief Append a decimal integer (digits by hand: several per staged row). */
static void put_int(cl_buf_t *b, int64_t v)
{
    char tmp[24], *o = tmp + sizeof tmp;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        *--o = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--o = '-';
    cl_buf_add(b, o, (size_t)(tmp + sizeof tmp - o));
}

/** @brief A tab, then @p v in decimal, or \\N when not @p present. */
static void col_int(cl_buf_t *b, int present, int64_t v)
{
    if (present) {
        cl_buf_putc(b, '\t');
        put_int(b, v);
    } else {
        cl_buf_add(b, "\t\\N", 3);
    }
}

/** @brief A tab, then the date @p d (days since the epoch), or \\N when not @p present. */
static void col_date(cl_buf_t *b, int present, int32_t d)
{
    char buf[CL_DATE_LEN];
    col_text(b, present ? cl_date_format(d, buf) : NULL);
}

/** @brief A tab, then the instant @p us (microseconds, UTC), or \\N when not @p present. */
static void col_instant(cl_buf_t *b, int present, int64_t us)
{
    char buf[CL_INSTANT_LEN];
    col_text(b, present ? cl_instant_format(us, buf) : NULL);
}

/** @brief The columns of careledger.events of one decoded event, in EVENT_COLS order, all
 * but the last (the message's own text). */
void cl_writer_render_row(cl_buf_t *b, const char *topic, int32_t partition, int64_t offset,
                          const cl_event_t *e)
{
    cl_event_type_t t = e->type;
    int has_date = t == CL_EV_DEPLOYMENT_STARTED || t == CL_EV_DEPLOYMENT_ENDED ||
                   t == CL_EV_BENEFIT_DELIVERED || t == CL_EV_SUBSIDY_PAID ||
                   t == CL_EV_INJURY_REPORTED || t == CL_EV_INJURY_RECOGNIZED ||
                   t == CL_EV_INJURY_PAID || t == CL_EV_MEASURE_STATUS;
    copy_text(b, e->event_id);
    col_text(b, cl_event_type_name(t));
    cl_buf_putc(b, '\t');
    copy_bytea(b, e->fingerprint, sizeof e->fingerprint);
    col_instant(b, 1, e->occurred_at);
    col_text(b, e->source);
    col_text(b, topic);
    col_int(b, 1, partition);
    col_int(b, 1, offset);
    col_text(b, e->code);
    col_text(b, e->name);
    col_text(b, e->parent);
    col_text(b, e->level);
    col_text(b, e->unit_id);
    col_text(b, e->region);
    col_text(b, e->kind);
    col_text(b, e->worker_id);
    col_text(b, e->role);
    col_text(b, e->staff);
    col_text(b, e->family_id);
    col_text(b, e->spouse_worker_id);
    col_int(b, t == CL_EV_WORKER_REGISTERED, e->children);
    col_int(b, t == CL_EV_WORKER_REGISTERED, e->elders);
    col_instant(b, t == CL_EV_SHIFT_COMPLETED, e->start);
    col_instant(b, t == CL_EV_SHIFT_COMPLETED, e->end);
    col_text(b, e->exposure);
    col_text(b, e->post);
    col_text(b, e->cancels);
    col_text(b, e->reason);
    col_text(b, e->deployment_id);
    col_text(b, e->team);
    col_text(b, e->destination);
    col_date(b, has_date, e->date);
    col_text(b, e->measure);
    col_text(b, e->reference);
    col_int(b, e->present & CL_EVF_AMOUNT, e->amount_fen);
    col_int(b, e->present & CL_EVF_SUM_INSURED, e->sum_insured_fen);
    col_text(b, e->line);
    col_date(b, t == CL_EV_SUBSIDY_PAID, cl_month_first_day(e->period));
    col_text(b, e->funding);
    col_text(b, e->case_id);
    col_text(b, e->status);
    col_text(b, e->note);
    col_text(b, e->budget_id);
    col_text(b, e->scope);
    col_date(b, t == CL_EV_BUDGET_ALLOCATED, e->from);
    col_date(b, t == CL_EV_BUDGET_ALLOCATED, e->to);
}

/**
 * @brief The whole stage row of decoded message @p m of @p b: its columns, rendered from
 * its text decoded again with @p dec into @p ev (both the caller's), then the text itself.
 * A batch holds each message's text alone, half of what the rendered row held besides
 * (DECISIONS 171). @return 0, -1 when the text no longer decodes (a careledger bug), or -2
 * out of memory.
 */
static int copy_event_cols(cl_buf_t *out, cl_decoder_t *dec, cl_event_t *ev, const cl_batch_t *b,
                           const cl_batch_msg_t *m)
{
    int rc = cl_event_redecode(dec, m->payload, m->len, ev);
    if (rc != 0)
        return rc;
    memcpy(ev->fingerprint, m->fingerprint, sizeof ev->fingerprint);
    const cl_batch_part_t *p = &b->parts[m->part];
    cl_writer_render_row(out, p->topic, p->partition, m->offset, ev);
    col_text(out, m->payload);
    return 0;
}

/** @brief A whole COPY line of event @p e and its message's @p text (NUL-terminated). */
void cl_writer_render_line(cl_buf_t *out, const char *topic, int32_t partition, int64_t offset,
                           const cl_event_t *e, const char *text)
{
    cl_writer_render_row(out, topic, partition, offset, e);
    col_text(out, text);
    cl_buf_putc(out, '\n');
}

const char cl_writer_event_cols[] = EVENT_COLS;

/** @brief COPY text rows of every decoded event of @p b, in cl_writer_event_cols order. */
int cl_writer_copy_rows(cl_buf_t *out, const cl_batch_t *b)
{
    cl_decoder_t *dec = cl_decoder_create(NULL);
    cl_event_t ev = {0};
    int rc = dec ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < b->n; i++)
        if (b->msgs[i].decoded && (rc = copy_event_cols(out, dec, &ev, b, &b->msgs[i])) == 0)
            cl_buf_putc(out, '\n');
    cl_event_release(&ev);
    cl_decoder_destroy(dec);
    return rc || out->oom ? -1 : 0;
}

/** @brief FNV-1a of an event id of @p n bytes. */
static size_t id_hash(const char *s, size_t n)
{
    size_t h = 1469598103934665603ULL;
    while (n--)
        h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
    return h;
}

/** @brief 1 when two decoded messages carry the same event_id. */
static int same_id(const cl_batch_msg_t *a, const cl_batch_msg_t *b)
{
    return a->id_len == b->id_len && memcmp(a->id, b->id, a->id_len) == 0;
}

/** @brief Mark each decoded message that is the batch's first copy of its event_id, and note
 * in w->orig the first copy of every decoded message; -1 OOM. */
static int mark_first(cl_writer_t *w, cl_batch_t *b, unsigned char *first)
{
    size_t cap = 16;
    while (cap < b->n * 2 + 1)
        cap *= 2;
    if (cap > w->seen_cap) {
        size_t *p = realloc(w->seen, cap * sizeof *p);
        if (!p)
            return -1;
        w->seen = p;
        w->seen_cap = cap;
    }
    if (b->n * 2 > w->orig_cap) {
        size_t *p = realloc(w->orig, b->n * 2 * sizeof *p);
        if (!p)
            return -1;
        w->orig = p;
        w->orig_cap = b->n * 2;
    }
    if (b->n > w->stored_cap) {
        const char **p = realloc(w->stored, b->n * sizeof *p);
        if (!p)
            return -1;
        w->stored = p;
        w->stored_cap = b->n;
    }
    memset(w->seen, 0, cap * sizeof *w->seen);
    for (size_t i = 0; i < b->n; i++) {
        first[i] = 0;
        if (!b->msgs[i].decoded)
            continue;
        const cl_batch_msg_t *m = &b->msgs[i];
        size_t k = id_hash(m->id, m->id_len) & (cap - 1);
        while (w->seen[k] && !same_id(&b->msgs[w->seen[k] - 1], m))
            k = (k + 1) & (cap - 1);
        if (!w->seen[k]) {
            w->seen[k] = i + 1;
            first[i] = 1;
        }
        w->orig[i] = w->seen[k] - 1;
    }
    return 0;
}

/* A fingerprint's hex digits (SHA-256). */
#define FP_HEX 64

/** @brief 1 when fingerprint @p fp is the one whose hex digits are @p hex (FP_HEX of them). */
static int fp_is_hex(const uint8_t fp[32], const char *hex)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < 32; i++)
        if (hex[2 * i] != digits[fp[i] >> 4] || hex[2 * i + 1] != digits[fp[i] & 15])
            return 0;
    return 1;
}

/** @brief One dead letter row. */
static void copy_dead(cl_buf_t *b, const char *group, const cl_batch_part_t *p,
                      const cl_batch_msg_t *m, const char *reason, const char *message,
                      const char *event_id)
{
    copy_text(b, group);
    col_text(b, p->topic);
    col_int(b, 1, p->partition);
    col_int(b, 1, m->offset);
    col_text(b, reason);
    col_text(b, message);
    col_text(b, event_id);
    cl_buf_putc(b, '\t');
    if (m->key_len)
        copy_bytea(b, m->key, m->key_len);
    else
        cl_buf_add(b, "\\N", 2);
    cl_buf_putc(b, '\t');
    copy_bytea(b, m->payload, m->len);
    cl_buf_putc(b, '\n');
}

/* ---- the transaction ---- */

/** @brief Classify a failed result: fence, data error, or retry (logged by the caller). */
static cl_write_status_t failure(cl_writer_t *w, PGresult *r, char *err, size_t errsize)
{
    /* Copy the SQLSTATE before the result is freed. */
    char state[6] = "", constraint[64] = "";
    const char *st = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    const char *cn = r ? PQresultErrorField(r, PG_DIAG_CONSTRAINT_NAME) : NULL;
    if (st)
        snprintf(state, sizeof state, "%s", st);
    if (cn)
        snprintf(constraint, sizeof constraint, "%s", cn);
    snprintf(err, errsize, "%s", r ? PQresultErrorMessage(r) : PQerrorMessage(w->conn));
    size_t n = strlen(err);
    while (n && err[n - 1] == '\n')
        err[--n] = '\0';
    if (r)
        PQclear(r);
    if (PQstatus(w->conn) == CONNECTION_OK && PQtransactionStatus(w->conn) != PQTRANS_IDLE) {
        PGresult *rb = PQexec(w->conn, "ROLLBACK");
        PQclear(rb);
    }
    /* 23505 on events: a batch of another partition stored one of this batch's ids
     * between the probe and the insert. */
    if (strcmp(state, "23505") == 0 && strcmp(constraint, "events_pkey") == 0) {
        w->id_race = 1;
        return CL_WRITE_RETRY;
    }
    /* 40P01: PostgreSQL ended this batch to break a wait cycle; the other batch goes on,
     * and this one is stored again after it. */
    if (strcmp(state, "40P01") == 0) {
        w->deadlock = 1;
        return CL_WRITE_RETRY;
    }
    /* 23505 on the offsets row: another consumer stored this partition's first batch. */
    if (strcmp(state, "23505") == 0)
        return CL_WRITE_FENCED;
    /* Data exceptions (22) and other integrity errors (23): this batch's content, not an
     * outage; retrying the same batch would fail forever. */
    if (strncmp(state, "22", 2) == 0 || strncmp(state, "23", 2) == 0) {
        snprintf(w->last_state, sizeof w->last_state, "%s", state);
        return CL_WRITE_DATA;
    }
    return CL_WRITE_RETRY;
}

/**
 * @brief Classify the batch against the stored events, in the client (DECISIONS 166).
 * Probes the first copies' ids (SQL_PROBE); a first copy already stored is an exact
 * duplicate when its fingerprint is the stored one's and a conflicting one (dead) when not,
 * and it is no longer staged (@p first cleared). A later copy in the batch is compared with
 * its id's original: the stored event, else the batch's first copy.
 */
static cl_write_status_t classify_probe(cl_writer_t *w, cl_batch_t *b, unsigned char *first,
                                        char *err, size_t errsize)
{
    size_t nfirst = 0, *order = w->orig + b->n;
    cl_buf_reset(&w->copy);
    cl_buf_putc(&w->copy, '{');
    for (size_t i = 0; i < b->n; i++) {
        if (!first[i])
            continue;
        /* Quoted: an id of SPEC's characters needs no escape, but one spelled NULL would
         * be read as a NULL element unquoted. */
        cl_buf_add(&w->copy, nfirst ? ",\"" : "\"", nfirst ? 2 : 1);
        cl_buf_add(&w->copy, b->msgs[i].id, b->msgs[i].id_len);
        cl_buf_putc(&w->copy, '"');
        order[nfirst++] = i;
    }
    cl_buf_putc(&w->copy, '}');
    if (w->copy.oom) {
        snprintf(err, errsize, "out of memory building the batch");
        PGresult *rb = PQexec(w->conn, "ROLLBACK");
        PQclear(rb);
        return CL_WRITE_RETRY;
    }
    const char *params[1] = {w->copy.p};
    PGresult *r = PQexecParams(w->conn, SQL_PROBE, 1, NULL, params, NULL, NULL, 0);
    cl_buf_reset(&w->copy);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        return failure(w, r, err, errsize);
    /* The stored fingerprint of a first copy's id, as the probe returned it (hex). */
    const char **stored = w->stored;
    for (size_t i = 0; i < b->n; i++)
        stored[i] = NULL;
    static const char unlike[FP_HEX]; /* no hex digit: what a stored value of another length is */
    for (int j = 0; j < PQntuples(r); j++) {
        unsigned long k = strtoul(PQgetvalue(r, j, 0), NULL, 10);
        if (k >= 1 && k <= nfirst)
            stored[order[k - 1]] = PQgetlength(r, j, 1) == FP_HEX ? PQgetvalue(r, j, 1) : unlike;
    }
    for (size_t i = 0; i < b->n; i++) {
        cl_batch_msg_t *m = &b->msgs[i];
        if (!m->decoded)
            continue;
        size_t o = w->orig[i];
        if (i == o && !stored[o])
            continue; /* accepted */
        int same = stored[o] ? fp_is_hex(m->fingerprint, stored[o])
                             : memcmp(m->fingerprint, b->msgs[o].fingerprint, 32) == 0;
        first[i] = 0;
        m->state = same ? CL_MSG_DUPLICATE : CL_MSG_DEAD;
    }
    PQclear(r);
    return CL_WRITE_OK;
}

/** @brief Send a COPY FROM STDIN with the buffer's rows. */
static PGresult *copy_in(cl_writer_t *w, const char *sql, const cl_buf_t *data)
{
    PGresult *r = PQexec(w->conn, sql);
    if (PQresultStatus(r) != PGRES_COPY_IN)
        return r;
    PQclear(r);
    int ok = data->len == 0 || PQputCopyData(w->conn, data->p, (int)data->len) == 1;
    if (PQputCopyEnd(w->conn, ok ? NULL : "client error") != 1)
        return NULL;
    return PQgetResult(w->conn);
}

/* Staged rows go to the server in pieces of this size: the text of a whole batch is about
 * as large as the batch's messages, and would stay allocated between batches. */
#define COPY_CHUNK (1u << 20)

/**
 * @brief COPY the batch's decoded events into stage, streamed in COPY_CHUNK pieces.
 * @p first marks each message that is the batch's first copy of its id (with
 * @p accepted_only, the accepted ones, and only those are staged). Sets @p oom when a
 * row could not be built, and @p bad to the message whose text no longer decodes (the COPY
 * is then ended with an error). Returns the COPY's result (the caller clears it), or NULL
 * when the connection failed.
 */
static PGresult *copy_stage(cl_writer_t *w, const cl_batch_t *b, const unsigned char *first,
                            int accepted_only, int *oom, size_t *bad)
{
    PGresult *r = PQexec(w->conn, SQL_COPY_STAGE);
    if (PQresultStatus(r) != PGRES_COPY_IN)
        return r;
    PQclear(r);
    int ok = 1;
    cl_buf_reset(&w->copy);
    for (size_t i = 0; ok && i < b->n; i++) {
        if (!b->msgs[i].decoded || (accepted_only && !first[i]))
            continue;
        int rc = copy_event_cols(&w->copy, w->dec, &w->ev, b, &b->msgs[i]);
        if (rc != 0) {
            if (rc == -2)
                *oom = 1;
            else
                *bad = i;
            ok = 0;
            break;
        }
        cl_buf_putc(&w->copy, '\t');
        put_int(&w->copy, (int64_t)i);
        cl_buf_add(&w->copy, first[i] ? "\tt\n" : "\tf\n", 3);
        if (w->copy.oom) {
            *oom = 1;
            ok = 0;
        } else if (w->copy.len >= COPY_CHUNK) {
            ok = PQputCopyData(w->conn, w->copy.p, (int)w->copy.len) == 1;
            cl_buf_reset(&w->copy);
        }
    }
    if (ok && w->copy.len)
        ok = PQputCopyData(w->conn, w->copy.p, (int)w->copy.len) == 1;
    cl_buf_reset(&w->copy);
    if (PQputCopyEnd(w->conn, ok ? NULL : "client error") != 1)
        return NULL;
    return PQgetResult(w->conn);
}

/** @brief Consume remaining results so the connection is ready again. */
static void drain(cl_writer_t *w)
{
    PGresult *r;
    while ((r = PQgetResult(w->conn)))
        PQclear(r);
}

/** @brief Append a PostgreSQL array element, quoted, after a comma unless first. */
static void array_elem(cl_buf_t *b, const char *s, int first)
{
    if (!first)
        cl_buf_putc(b, ',');
    cl_buf_putc(b, '"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            cl_buf_putc(b, '\\');
        cl_buf_putc(b, *s);
    }
    cl_buf_putc(b, '"');
}

/** @brief Lock the batch's offset rows and check each starts where the batch does. */
static cl_write_status_t fence(cl_writer_t *w, cl_batch_t *b, char *err, size_t errsize)
{
    cl_buf_reset(&w->arr_topics);
    cl_buf_reset(&w->arr_parts);
    cl_buf_putc(&w->arr_topics, '{');
    cl_buf_putc(&w->arr_parts, '{');
    for (size_t i = 0; i < b->nparts; i++) {
        char num[16];
        snprintf(num, sizeof num, "%d", (int)b->parts[i].partition);
        array_elem(&w->arr_topics, b->parts[i].topic, i == 0);
        array_elem(&w->arr_parts, num, i == 0);
    }
    cl_buf_putc(&w->arr_topics, '}');
    cl_buf_putc(&w->arr_parts, '}');
    const char *params[3] = {w->group, w->arr_topics.p, w->arr_parts.p};
    PGresult *r = PQexecParams(w->conn, SQL_LOCK_OFFSETS, 3, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        return failure(w, r, err, errsize);
    int rows = PQntuples(r);
    size_t with_row = 0;
    for (size_t i = 0; i < b->nparts; i++)
        with_row += b->parts[i].start >= 0;
    cl_write_status_t st = CL_WRITE_OK;
    if ((size_t)rows != with_row) {
        snprintf(err, errsize, "offset rows changed hands (%d stored, %zu expected)", rows,
                 with_row);
        st = CL_WRITE_FENCED;
    }
    for (int i = 0; i < rows && st == CL_WRITE_OK; i++) {
        cl_batch_part_t *p = cl_batch_part(b, PQgetvalue(r, i, 0), atoi(PQgetvalue(r, i, 1)));
        long long stored = strtoll(PQgetvalue(r, i, 2), NULL, 10);
        if (!p || p->start != stored) {
            snprintf(err, errsize,
                     "%s[%s] is at offset %lld, the batch started at %lld: another "
                     "consumer owns it",
                     PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), stored,
                     p ? (long long)p->start : -1LL);
            st = CL_WRITE_FENCED;
        }
    }
    PQclear(r);
    if (st != CL_WRITE_OK) {
        PGresult *rb = PQexec(w->conn, "ROLLBACK");
        PQclear(rb);
    }
    return st;
}

/** @brief Advance (or create) each part's offset row. */
static cl_write_status_t advance(cl_writer_t *w, cl_batch_t *b, char *err, size_t errsize)
{
    for (size_t i = 0; i < b->nparts; i++) {
        cl_batch_part_t *p = &b->parts[i];
        char part[16], start[24], end[24], acc[24], dup[24], dead[24], wm[CL_INSTANT_LEN];
        snprintf(part, sizeof part, "%d", (int)p->partition);
        snprintf(start, sizeof start, "%lld", (long long)p->start);
        snprintf(end, sizeof end, "%lld", (long long)p->end);
        snprintf(acc, sizeof acc, "%lld", (long long)p->accepted);
        snprintf(dup, sizeof dup, "%lld", (long long)p->duplicates);
        snprintf(dead, sizeof dead, "%lld", (long long)p->dead);
        const char *wmv = p->watermark == INT64_MIN ? NULL : cl_instant_format(p->watermark, wm);
        PGresult *r;
        if (p->start >= 0) {
            const char *params[9] = {w->group, p->topic, part, start, end, acc, dup, dead, wmv};
            r = PQexecParams(w->conn, SQL_ADVANCE, 9, NULL, params, NULL, NULL, 0);
            if (PQresultStatus(r) != PGRES_COMMAND_OK)
                return failure(w, r, err, errsize);
            if (strcmp(PQcmdTuples(r), "1") != 0) {
                PQclear(r);
                snprintf(err, errsize, "%s[%d] moved on under the batch", p->topic,
                         (int)p->partition);
                PGresult *rb = PQexec(w->conn, "ROLLBACK");
                PQclear(rb);
                return CL_WRITE_FENCED;
            }
        } else {
            const char *params[8] = {w->group, p->topic, part, end, acc, dup, dead, wmv};
            r = PQexecParams(w->conn, SQL_FIRST, 8, NULL, params, NULL, NULL, 0);
            if (PQresultStatus(r) != PGRES_COMMAND_OK)
                return failure(w, r, err, errsize);
        }
        PQclear(r);
    }
    return CL_WRITE_OK;
}

/** @brief Store a batch in one transaction; @p guarded: insert with ON CONFLICT. */
static cl_write_status_t commit_once(cl_writer_t *w, cl_batch_t *b, int guarded, char *err,
                                     size_t errsize)
{
    PGresult *r;
    err[0] = '\0';
    if (!cl_writer_connected(w)) {
        snprintf(err, errsize, "not connected");
        return CL_WRITE_RETRY;
    }
    w->batches++;
    for (size_t i = 0; i < b->nparts; i++) {
        cl_batch_part_t *p = &b->parts[i];
        p->accepted = p->duplicates = p->dead = 0;
        p->watermark = INT64_MIN;
    }
    for (size_t i = 0; i < b->n; i++)
        b->msgs[i].state = b->msgs[i].decoded ? CL_MSG_ACCEPTED : CL_MSG_DEAD;

    r = PQexec(w->conn, "BEGIN");
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        return failure(w, r, err, errsize);
    PQclear(r);
    cl_write_status_t st = fence(w, b, err, errsize);
    if (st != CL_WRITE_OK)
        return st;

    /* Stage the accepted events, classified here from one probe of the stored ids; guarded,
     * every decoded one with its batch's first copies marked, classified by the server. */
    size_t staged = 0;
    for (size_t i = 0; i < b->n; i++)
        staged += b->msgs[i].decoded != 0;
    if (staged) {
        unsigned char *first = malloc(b->n);
        int oom = !first || mark_first(w, b, first) != 0;
        size_t bad = SIZE_MAX;
        if (!oom && !guarded) {
            st = classify_probe(w, b, first, err, errsize);
            if (st != CL_WRITE_OK) {
                free(first);
                return st;
            }
        }
        r = oom ? NULL : copy_stage(w, b, first, !guarded, &oom, &bad);
        free(first);
        if (bad != SIZE_MAX) {
            /* Decoded when it arrived, not now: a careledger bug. The message becomes a dead
             * letter, so that its partition moves on, and the batch is stored again. */
            PQclear(r);
            drain(w);
            PGresult *rb = PQexec(w->conn, "ROLLBACK");
            PQclear(rb);
            snprintf(err, errsize, "message at offset %lld decoded when read but not when staged",
                     (long long)b->msgs[bad].offset);
            if (cl_batch_reject(b, bad, "internal_error",
                                "decoded when read but not when stored (a careledger bug)"))
                snprintf(err, errsize, "out of memory");
            else
                w->restage = 1;
            return CL_WRITE_RETRY;
        }
        if (oom) {
            PQclear(r);
            drain(w);
            snprintf(err, errsize, "out of memory building the batch");
            PGresult *rb = PQexec(w->conn, "ROLLBACK");
            PQclear(rb);
            return CL_WRITE_RETRY;
        }
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            drain(w);
            return failure(w, r, err, errsize);
        }
        PQclear(r);
        drain(w);
        maybe_crash(w, CL_CRASH_AFTER_COPY);
        r = PQexec(w->conn, guarded ? SQL_INSERT_EVENTS_GUARDED : SQL_INSERT_EVENTS);
        if (PQresultStatus(r) != PGRES_COMMAND_OK)
            return failure(w, r, err, errsize);
        PQclear(r);
        if (guarded) {
            r = PQexec(w->conn, SQL_CLASSIFY);
            if (PQresultStatus(r) != PGRES_TUPLES_OK)
                return failure(w, r, err, errsize);
            for (int i = 0; i < PQntuples(r); i++) {
                size_t seq = (size_t)strtoul(PQgetvalue(r, i, 0), NULL, 10);
                if (seq < b->n)
                    b->msgs[seq].state =
                        PQgetvalue(r, i, 1)[0] == 't' ? CL_MSG_DUPLICATE : CL_MSG_DEAD;
            }
            PQclear(r);
            r = PQexec(w->conn, SQL_STAGE_ACCEPTED);
            if (PQresultStatus(r) != PGRES_COMMAND_OK)
                return failure(w, r, err, errsize);
            PQclear(r);
        }
        r = PQexec(w->conn, SQL_RENDEZVOUS);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
            if (!state || (strcmp(state, "55P03") != 0 && strcmp(state, "40P01") != 0))
                return failure(w, r, err, errsize);
            PQclear(r);
            r = PQexec(w->conn, SQL_FALL_BACK);
            if (PQresultStatus(r) != PGRES_COMMAND_OK)
                return failure(w, r, err, errsize);
            cl_log_info("another batch in flight holds an event this one names; this one waits "
                        "for every batch in flight instead",
                        "batches=%ld", w->batches);
        }
        PQclear(r);
        if (w->hook && w->hook(w->hook_ctx, w->conn, err, errsize) != 0) {
            PGresult *rb = PQexec(w->conn, "ROLLBACK");
            PQclear(rb);
            return CL_WRITE_RETRY;
        }
    }

    /* Dead letters: decoder rejections and conflicting duplicates; counts per part. */
    cl_buf_reset(&w->dead);
    for (size_t i = 0; i < b->n; i++) {
        cl_batch_msg_t *m = &b->msgs[i];
        cl_batch_part_t *p = &b->parts[m->part];
        switch (m->state) {
        case CL_MSG_ACCEPTED:
            p->accepted++;
            if (m->occurred_at > p->watermark)
                p->watermark = m->occurred_at;
            break;
        case CL_MSG_DUPLICATE:
            p->duplicates++;
            break;
        case CL_MSG_DEAD:
            p->dead++;
            if (m->decoded)
                copy_dead(&w->dead, w->group, p, m, "conflicting_duplicate",
                          "same event_id as an accepted event, different content; the first "
                          "accepted stays",
                          m->id);
            else
                copy_dead(&w->dead, w->group, p, m, m->rej->code, m->rej->detail, NULL);
            break;
        }
    }
    if (w->dead.oom) {
        snprintf(err, errsize, "out of memory building dead letters");
        PGresult *rb = PQexec(w->conn, "ROLLBACK");
        PQclear(rb);
        return CL_WRITE_RETRY;
    }
    if (w->dead.len) {
        r = copy_in(w, SQL_COPY_DEAD, &w->dead);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            drain(w);
            return failure(w, r, err, errsize);
        }
        PQclear(r);
        drain(w);
    }
    st = advance(w, b, err, errsize);
    if (st != CL_WRITE_OK)
        return st;
    maybe_crash(w, CL_CRASH_BEFORE_COMMIT);
    r = PQexec(w->conn, "COMMIT");
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        return failure(w, r, err, errsize);
    PQclear(r);
    maybe_crash(w, CL_CRASH_AFTER_COMMIT);
    for (size_t i = 0; i < b->nparts; i++)
        b->parts[i].start = b->parts[i].end;
    return CL_WRITE_OK;
}

/** @brief Store a batch in one transaction: again guarded if another batch raced it, and
 * again at once (a few times) if PostgreSQL broke a wait cycle by ending it. */
cl_write_status_t cl_writer_commit(cl_writer_t *w, cl_batch_t *b, char *err, size_t errsize)
{
    int guarded = 0;
    for (int attempt = 0;; attempt++) {
        w->id_race = w->deadlock = w->restage = 0;
        cl_write_status_t st = commit_once(w, b, guarded, err, errsize);
        if (st != CL_WRITE_RETRY || attempt == 3 || (!w->id_race && !w->deadlock && !w->restage))
            return st;
        if (w->restage) {
            cl_log_error("a staged message no longer decoded (a careledger bug); it is a dead "
                         "letter now, storing the batch again",
                         "batches=%ld", w->batches);
        } else if (w->id_race) {
            cl_log_info("a batch of another partition stored one of this batch's event ids "
                        "meanwhile; storing the batch again, skipping stored ids",
                        "batches=%ld", w->batches);
            guarded = 1;
        } else {
            cl_log_info("postgres ended this batch to break a wait cycle; the other batch went "
                        "on, storing this one again",
                        "batches=%ld", w->batches);
        }
    }
}
