/**
 * @file writer.h
 * @brief The batch writer: one PostgreSQL transaction per batch holding the
 * raw events, the dead letters and the consumed offsets (SPEC §6).
 *
 * A batch first locks the offset rows of its partitions (in topic, partition
 * order) and checks each still holds the offset the batch started from; if
 * not, another consumer owns the partition now and the batch is abandoned
 * (CL_WRITE_FENCED). A partition's first batch inserts its row; a conflict
 * there is a fence too. Exact duplicates (same event_id, same fingerprint)
 * are counted once; conflicting ones become dead letters; the first accepted
 * stays. Used by the daemon and by `careledger ingest-file` alike.
 */
#ifndef CARELEDGER_WRITER_H
#define CARELEDGER_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "careledger/batch.h"
#include "careledger/buf.h"
#include "careledger/event.h"

typedef enum cl_write_status {
    CL_WRITE_OK = 0,
    CL_WRITE_FENCED = 1, /* a partition moved to another consumer: drop and re-seek */
    CL_WRITE_RETRY = 2,  /* PostgreSQL unreachable or a transient error: retry the batch */
    CL_WRITE_DATA = 3,   /* PostgreSQL rejected the batch's content (SQLSTATE classes 22, 23) */
} cl_write_status_t;

/**
 * Test-only crash points inside a batch: SIGKILL of the own process, or for
 * CL_CRASH_STOP_BEFORE_COMMIT a SIGSTOP (once per process, whichever worker
 * gets there first) with the batch's offset rows locked and updated: a
 * zombie that resumes on SIGCONT.
 */
typedef enum cl_crash_point {
    CL_CRASH_NONE = 0,
    CL_CRASH_AFTER_COPY,
    CL_CRASH_BEFORE_COMMIT,
    CL_CRASH_AFTER_COMMIT,
    CL_CRASH_STOP_BEFORE_COMMIT,
} cl_crash_point_t;

typedef struct cl_writer cl_writer_t;

/**
 * @brief A writer for consumer group @p group. Copies @p conninfo; does not
 * connect yet (cl_writer_connect()).
 * @return a writer the caller frees with cl_writer_destroy(), or NULL.
 */
cl_writer_t *cl_writer_create(const char *conninfo, const char *group);
/** @brief Free a writer and close its connection (NULL is fine). */
void cl_writer_destroy(cl_writer_t *w);

/** @brief Connect (or reconnect) and prepare; 0, or -1 with the reason in @p err. */
int cl_writer_connect(cl_writer_t *w, char *err, size_t errsize);
/** @brief 1 while the connection is usable. */
int cl_writer_connected(const cl_writer_t *w);

/**
 * @brief The stored next offset of (topic, partition): 0 with *next set, 1
 * when no row is stored yet, -1 on a database error (reason in @p err).
 */
int cl_writer_stored_offset(cl_writer_t *w, const char *topic, int32_t partition, int64_t *next,
                            char *err, size_t errsize);

/**
 * @brief Store a batch in one transaction. On CL_WRITE_OK every message's
 * state and every part's counts are final; otherwise nothing was stored.
 */
cl_write_status_t cl_writer_commit(cl_writer_t *w, cl_batch_t *b, char *err, size_t errsize);

/**
 * Called inside each batch's transaction once its events are stored: the
 * aggregates. Temp table `stage` holds the batch's accepted events and only
 * those (the columns of careledger.events, `seq` the message's index in the
 * batch, `first` true), whichever way the batch was stored (DECISIONS 166).
 * 0, or -1 with the reason in @p err, which rolls the batch back for a retry.
 */
typedef int (*cl_writer_hook_fn)(void *ctx, PGconn *conn, char *err, size_t errsize);

/** @brief Set the hook (borrowed @p ctx). */
void cl_writer_set_hook(cl_writer_t *w, cl_writer_hook_fn fn, void *ctx);

/** @brief The SQLSTATE of the last CL_WRITE_DATA (owned by the writer). */
const char *cl_writer_last_sqlstate(const cl_writer_t *w);

/** The columns of careledger.events a batch stores, comma-separated. */
extern const char cl_writer_event_cols[];

/**
 * @brief Append to @p out the COPY text of every column of cl_writer_event_cols but the last
 * (the message's own text) for event @p e read from (@p topic, @p partition) at @p offset,
 * tab-separated, without a line end: rendered from each staged message as it is streamed
 * (a batch holds only the message's text, DECISIONS 171). Borrows all.
 */
void cl_writer_render_row(cl_buf_t *out, const char *topic, int32_t partition, int64_t offset,
                          const cl_event_t *e);

/**
 * @brief Append to @p out the whole COPY line of event @p e: cl_writer_render_row(), then
 * the message's own @p text (NUL-terminated), escaped, and a line end. Borrows all.
 */
void cl_writer_render_line(cl_buf_t *out, const char *topic, int32_t partition, int64_t offset,
                           const cl_event_t *e, const char *text);

/**
 * @brief Append the COPY text rows (cl_writer_event_cols order) of every
 * decoded message of @p b to @p out, exactly as the writer stages them (each
 * message decoded again). Borrows both.
 * @return 0, or -1 on out of memory or a message that no longer decodes.
 */
int cl_writer_copy_rows(cl_buf_t *out, const cl_batch_t *b);

/** @brief Arm a test-only crash at @p point of the @p nth batch (1-based). */
void cl_writer_set_crash(cl_writer_t *w, cl_crash_point_t point, long nth);

/**
 * @brief Parse "after_copy|before_commit|after_commit|stop_before_commit";
 * CL_CRASH_NONE if unknown.
 */
cl_crash_point_t cl_writer_crash_parse(const char *s);

#endif
