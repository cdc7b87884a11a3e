/**
 * @file kafka.c
 * @brief librdkafka configuration from careledger's config.
 */
#include "careledger/kafka.h"

#include <stdio.h>
#include <string.h>

/* Properties only a consumer reads: a producer would warn about each. */
static const char *const CONSUMER_ONLY[] = {"group.id",
                                            "group.instance.id",
                                            "session.timeout.ms",
                                            "heartbeat.interval.ms",
                                            "max.poll.interval.ms",
                                            "auto.offset.reset",
                                            "enable.auto.commit",
                                            "auto.commit.interval.ms",
                                            "enable.auto.offset.store",
                                            "partition.assignment.strategy",
                                            "isolation.level",
                                            "check.crcs",
                                            "queued.min.messages",
                                            "queued.max.messages.kbytes",
                                            "fetch.wait.max.ms",
                                            "fetch.min.bytes",
                                            "fetch.max.bytes",
                                            "fetch.message.max.bytes",
                                            "fetch.error.backoff.ms",
                                            "enable.partition.eof",
                                            "allow.auto.create.topics",
                                            NULL};
static const char *const PRODUCER_ONLY[] = {"acks",
                                            "request.required.acks",
                                            "linger.ms",
                                            "queue.buffering.max.ms",
                                            "batch.size",
                                            "batch.num.messages",
                                            "compression.codec",
                                            "compression.type",
                                            "enable.idempotence",
                                            "message.timeout.ms",
                                            "delivery.timeout.ms",
                                            "retries",
                                            "queue.buffering.max.messages",
                                            "queue.buffering.max.kbytes",
                                            "partitioner",
                                            NULL};

/** @brief 1 if @p key is in @p list. */
static int in_list(const char *const *list, const char *key)
{
    for (size_t i = 0; list[i]; i++)
        if (strcmp(list[i], key) == 0)
            return 1;
    return 0;
}

/** @brief Set one property with a clear error. */
int cl_kafka_set(rd_kafka_conf_t *conf, const char *key, const char *value, char *err,
                 size_t errsize)
{
    char why[512];
    if (rd_kafka_conf_set(conf, key, value, why, sizeof why) != RD_KAFKA_CONF_OK) {
        /* librdkafka quotes a rejected value: never a secret one. */
        if (cl_config_kafka_secret(key) && *value && strstr(why, value))
            snprintf(err, errsize, "kafka.%s: invalid value (not shown: it is a secret)", key);
        else
            snprintf(err, errsize, "kafka.%s: %s", key, why);
        return -1;
    }
    return 0;
}

/** @brief The consumer group. */
const char *cl_kafka_group(const cl_config_t *cfg)
{
    for (size_t i = 0; i < cfg->n_kafka; i++)
        if (strcmp(cfg->kafka[i].key, "group.id") == 0)
            return cfg->kafka[i].value;
    return "careledger";
}

/** @brief Build a conf for a role. */
rd_kafka_conf_t *cl_kafka_conf(const cl_config_t *cfg, cl_kafka_role_t role, char *err,
                               size_t errsize)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (!conf) {
        snprintf(err, errsize, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < cfg->n_kafka; i++) {
        const char *k = cfg->kafka[i].key;
        if (role == CL_KAFKA_PRODUCER && in_list(CONSUMER_ONLY, k))
            continue;
        if (role == CL_KAFKA_CONSUMER && in_list(PRODUCER_ONLY, k))
            continue;
        if (cl_kafka_set(conf, k, cfg->kafka[i].value, err, errsize)) {
            rd_kafka_conf_destroy(conf);
            return NULL;
        }
    }
    return conf;
}
