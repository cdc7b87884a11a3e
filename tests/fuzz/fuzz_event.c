/**
 * @file fuzz_event.c
 * @brief libFuzzer target: cl_event_decode() on any bytes, with the
 * repository's policies loaded so that measure ids resolve.
 *
 * Besides what ASan and UBSan catch, it aborts when the decoder breaks its
 * contract: a rejection must carry a SPEC §11 reason code and storable text
 * (valid UTF-8, terminated); an accepted event must hold a valid event_id and
 * only valid UTF-8 strings, and decoding the same bytes again (into the same
 * event, reusing its arena, and into a fresh one) must give the same result
 * and fingerprint.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "careledger/event.h"
#include "careledger/json.h"
#include "careledger/policy.h"

#ifndef CL_FUZZ_POLICY_DIR
#define CL_FUZZ_POLICY_DIR "config/policies"
#endif

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static cl_policy_set_t *policies;
static cl_decoder_t *dec;
static cl_event_t ev, ev2; /* ev keeps its arena across inputs, ev2 starts fresh each time */

#define M(x) offsetof(cl_event_t, x)
/** Every string member of cl_event_t. */
static const size_t STRINGS[] = {
    M(schema),    M(event_id),    M(source),  M(code),      M(name),
    M(parent),    M(level),       M(unit_id), M(region),    M(kind),
    M(worker_id), M(role),        M(staff),   M(family_id), M(spouse_worker_id),
    M(exposure),  M(post),        M(cancels), M(reason),    M(deployment_id),
    M(team),      M(destination), M(measure), M(reference), M(line),
    M(funding),   M(case_id),     M(status),  M(note),      M(budget_id),
    M(scope)};

/** @brief Report a broken contract and crash, so that libFuzzer keeps the input. */
static void broken(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_event: %s: %s\n", what, detail ? detail : "");
    abort();
}

/** @brief 1 if @p s (NUL-terminated) is valid UTF-8. */
static int utf8_ok(const char *s)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + strlen(s);
    while (p < end) {
        size_t n = cl_utf8_seq(p, end);
        if (!n)
            return 0;
        p += n;
    }
    return 1;
}

/** @brief 1 if @p code is a SPEC §11 reason the decoder may give. */
static int reason_known(const char *code)
{
    static const char *const EXACT[] = {
        "invalid_json", "invalid_utf8",    "too_large", "unsupported_schema",
        "unknown_type", "unknown_measure", NULL};
    static const char *const NAMED[] = {
        "missing_field:", "bad_type:", "bad_value:", "bad_time:", "bad_amount:", NULL};
    for (size_t i = 0; EXACT[i]; i++)
        if (strcmp(code, EXACT[i]) == 0)
            return 1;
    for (size_t i = 0; NAMED[i]; i++) {
        size_t n = strlen(NAMED[i]);
        if (strncmp(code, NAMED[i], n) != 0)
            continue;
        const char *f = code + n; /* a field name of SPEC §3 */
        if (!*f)
            return 0;
        for (; *f; f++)
            if (!((*f >= 'a' && *f <= 'z') || *f == '_'))
                return 0;
        return 1;
    }
    return 0;
}

/** @brief Load the repository's policies and create the decoder once. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char err[4096];
    const char *dir = getenv("CARELEDGER_POLICY_DIR");
    const char *pat[] = {dir && *dir ? dir : CL_FUZZ_POLICY_DIR};
    policies = cl_policy_set_load(pat, 1, err, sizeof err);
    if (!policies) {
        fprintf(stderr, "fuzz_event: cannot load policies: %s\n", err);
        exit(2);
    }
    dec = cl_decoder_create(policies);
    if (!dec) {
        fprintf(stderr, "fuzz_event: out of memory\n");
        exit(2);
    }
    return 0;
}

/** @brief Check an accepted event. */
static void check_event(const cl_event_t *e)
{
    if ((unsigned)e->type >= CL_EV__COUNT)
        broken("accepted event of no type", NULL);
    if (!e->schema || strncmp(e->schema, "careledger/1", 12) != 0)
        broken("accepted event with a foreign schema", e->schema);
    if (!e->event_id || !cl_event_id_valid(e->event_id))
        broken("accepted event with a bad event_id", e->event_id);
    for (size_t i = 0; i < sizeof STRINGS / sizeof STRINGS[0]; i++) {
        const char *s = *(const char *const *)((const char *)e + STRINGS[i]);
        if (s && !utf8_ok(s))
            broken("accepted string is not valid UTF-8", s);
    }
    if ((e->type == CL_EV_BENEFIT_DELIVERED || e->type == CL_EV_MEASURE_STATUS) && !e->track)
        broken("accepted delivery without its track", e->event_id);
}

/** @brief Check a rejection. */
static void check_reject(const cl_reject_t *r)
{
    if (!memchr(r->code, '\0', sizeof r->code) || !memchr(r->detail, '\0', sizeof r->detail))
        broken("rejection text not terminated", NULL);
    if (!reason_known(r->code))
        broken("rejection with a reason SPEC 11 does not list", r->code);
    if (!*r->detail)
        broken("rejection without a detail", r->code);
    if (!utf8_ok(r->code) || !utf8_ok(r->detail))
        broken("rejection text is not valid UTF-8 (PostgreSQL would refuse it)", r->detail);
}

/** @brief One input: decode it three ways and compare. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cl_reject_t rej, rej2;
    const char *buf = (const char *)data;
    int rc = cl_event_decode(dec, buf, size, &ev, &rej);
    if (rc != 0 && rc != -1)
        broken("decode returned neither 0 nor -1", NULL);
    if (rc == 0) {
        check_event(&ev);
        if (size > CL_EVENT_MAX_BYTES)
            broken("accepted a message over 64 KiB", NULL);
    } else {
        check_reject(&rej);
    }
    uint8_t fp[32];
    memcpy(fp, ev.fingerprint, sizeof fp);
    /* The same bytes into a fresh event: the same verdict. */
    int rc2 = cl_event_decode(dec, buf, size, &ev2, &rej2);
    if (rc2 != rc)
        broken("a second decode disagrees", rc ? rej.code : rej2.code);
    if (rc == 0 && memcmp(fp, ev2.fingerprint, sizeof fp) != 0)
        broken("fingerprint differs between two decodes", ev.event_id);
    if (rc != 0 && strcmp(rej.code, rej2.code) != 0)
        broken("rejection reason differs between two decodes", rej2.code);
    cl_event_release(&ev2);
    return 0;
}
