/**
 * @file streamgen.h
 * @brief The integration tests' own event stream: valid events of every
 * type, exact and conflicting duplicates, and every bad-input row of SPEC
 * §11, with the counts a correct ingest must end with.
 */
#ifndef CARELEDGER_TEST_STREAMGEN_H
#define CARELEDGER_TEST_STREAMGEN_H

#define CL_STREAM_TOPICS      3
#define CL_STREAM_MAX_REASONS 64

typedef struct cl_stream_expect {
    long total; /* messages written */
    long accepted, duplicates, dead;
    struct {
        char reason[64];
        long n;
    } reasons[CL_STREAM_MAX_REASONS];
    int nreasons;
    char files[CL_STREAM_TOPICS][512]; /* reference, shifts, assistance */
    long lines[CL_STREAM_TOPICS];
} cl_stream_expect_t;

/** Topic names matching files[] (the daemon's defaults). */
extern const char *const cl_stream_topics[CL_STREAM_TOPICS];

/**
 * @brief Write about @p n messages as three JSONL files under @p dir.
 * Copies of an event (exact or conflicting) share its unit_id key and
 * follow it in the same file, so the first accepted is always the original.
 * @return 0, or -1 when a file cannot be written.
 */
int cl_stream_generate(const char *dir, unsigned seed, long n, double dup_rate,
                       double conflict_rate, int bad_per_kind, cl_stream_expect_t *exp);

/** @brief Expected dead letters of one reason (0 when none). */
long cl_stream_expected_reason(const cl_stream_expect_t *exp, const char *reason);

#endif
