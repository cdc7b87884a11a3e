/**
 * @file sha256.h
 * @brief SHA-256 (FIPS 180-4), for event fingerprints (SPEC R4).
 */
#ifndef CARELEDGER_SHA256_H
#define CARELEDGER_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct cl_sha256 {
    uint32_t h[8];
    uint64_t len;
    uint8_t buf[64];
    size_t used;
} cl_sha256_t;

/** @brief Start a digest. */
void cl_sha256_init(cl_sha256_t *s);
/** @brief Add @p len bytes. */
void cl_sha256_update(cl_sha256_t *s, const void *data, size_t len);
/** @brief Finish into @p out (32 bytes). */
void cl_sha256_final(cl_sha256_t *s, uint8_t out[32]);

#endif
