/**
 * @file kafka.h
 * @brief librdkafka configuration from careledger's config (SPEC §10).
 */
#ifndef CARELEDGER_KAFKA_H
#define CARELEDGER_KAFKA_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>

#include "careledger/config.h"

typedef enum cl_kafka_role { CL_KAFKA_CONSUMER, CL_KAFKA_PRODUCER } cl_kafka_role_t;

/**
 * @brief A librdkafka conf holding the config's `kafka` properties that apply
 * to @p role (consumer-only keys are left out of a producer's, and back),
 * then careledger's own settings. The caller owns the conf until
 * rd_kafka_new() succeeds with it.
 * @return the conf, or NULL with "kafka.KEY: reason" in @p err.
 */
rd_kafka_conf_t *cl_kafka_conf(const cl_config_t *cfg, cl_kafka_role_t role, char *err,
                               size_t errsize);

/** @brief Set one property; 0, or -1 with "kafka.KEY: reason" in @p err. */
int cl_kafka_set(rd_kafka_conf_t *conf, const char *key, const char *value, char *err,
                 size_t errsize);

/** @brief The consumer group of the config (kafka.group.id, default "careledger"). */
const char *cl_kafka_group(const cl_config_t *cfg);

#endif
