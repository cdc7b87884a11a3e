/**
 * @file fuzz_policy.c
 * @brief libFuzzer target: the policy loader on any bytes.
 *
 * Every input goes through cl_policy_load_mem(). One that loads is then put
 * beside the repository's national.json in a set (cl_policy_set_load()
 * through a memfd, so the set-level checks and time zone loading run too);
 * when the set loads, the policy's region is resolved at its first day and
 * the policy is written as normalised JSON. A rejected input must say why, in
 * a message naming the file; a loaded one must keep the loader's limits
 * (1..26 tracks per measure, every track findable by id in the set).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "careledger/policy.h"

#ifndef CL_FUZZ_POLICY_DIR
#define CL_FUZZ_POLICY_DIR "config/policies"
#endif

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int memfd = -1;
static char memfd_path[64];
static char national[1024];
static FILE *devnull;

/** @brief Report a broken contract and crash, so that libFuzzer keeps the input. */
static void broken(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_policy: %s: %s\n", what, detail ? detail : "");
    abort();
}

/** @brief The memfd that carries an input to the set loader, national.json's path. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *dir = getenv("CARELEDGER_POLICY_DIR");
    snprintf(national, sizeof national, "%s/national.json", dir && *dir ? dir : CL_FUZZ_POLICY_DIR);
    if (access(national, R_OK) != 0) {
        fprintf(stderr, "fuzz_policy: cannot read %s\n", national);
        exit(2);
    }
    memfd = memfd_create("fuzz-policy", 0);
    devnull = fopen("/dev/null", "w");
    if (memfd < 0 || !devnull) {
        perror("fuzz_policy");
        exit(2);
    }
    snprintf(memfd_path, sizeof memfd_path, "/proc/self/fd/%d", memfd);
    return 0;
}

/** @brief Check what a loaded policy promises. */
static void check_policy(const cl_policy_t *p)
{
    if (!p->id || !*p->id || !cl_region_code_valid(p->region))
        broken("loaded policy without id or region", p->id);
    if (p->effective_to < p->effective_from)
        broken("loaded policy ends before it starts", p->id);
    for (size_t i = 0; i < p->n_measures; i++) {
        const cl_measure_t *m = &p->measures[i];
        if (m->n_tracks < 1 || m->n_tracks > 26)
            broken("measure with a track count out of 1..26", m->id);
        if (!m->title || !m->text || !m->no)
            broken("measure without its required text", m->id);
    }
}

/** @brief The loaded policy beside national.json: set checks, resolution, JSON. */
static void check_in_set(const cl_policy_t *loaded, const uint8_t *data, size_t size)
{
    if (ftruncate(memfd, 0) != 0 || pwrite(memfd, data, size, 0) != (ssize_t)size)
        broken("cannot write the memfd", NULL);
    const char *pat[] = {national, memfd_path};
    static char err[1 << 16];
    cl_policy_set_t *set = cl_policy_set_load(pat, 2, err, sizeof err);
    if (!set) {
        if (!*err)
            broken("set rejected without a reason", NULL);
        return;
    }
    const cl_policy_t *p = cl_policy_set_find(set, loaded->id);
    if (!p)
        broken("loaded policy missing from its set", loaded->id);
    for (size_t i = 0; i < p->n_measures; i++)
        for (size_t t = 0; t < p->measures[i].n_tracks; t++)
            if (cl_policy_set_track(set, p->measures[i].tracks[t].id) != &p->measures[i].tracks[t])
                broken("track not found by its id", p->measures[i].tracks[t].id);
    cl_resolved_t r;
    char why[512];
    if (cl_policy_set_resolve(set, p->region, p->effective_from, NULL, NULL, &r, why, sizeof why) ==
            0 &&
        !r.tz)
        broken("resolved without a time zone", p->id);
    if (cl_policy_write_json(set, p, devnull, why, sizeof why) != 0 && !*why)
        broken("normalised JSON failed without a reason", p->id);
    cl_policy_set_destroy(set);
}

/** @brief One input. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[2048];
    err[0] = '\0';
    cl_policy_t *p = cl_policy_load_mem("fuzz.json", (const char *)data, size, err, sizeof err);
    if (!p) {
        if (strncmp(err, "fuzz.json: ", 11) != 0)
            broken("rejection does not name the file", err);
        return 0;
    }
    check_policy(p);
    check_in_set(p, data, size);
    cl_policy_destroy(p);
    return 0;
}
