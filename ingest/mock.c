/**
 * @file mock.c
 * @brief A librdkafka mock cluster owned by a dedicated producer handle.
 */
#include "careledger/mock.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cl_mock {
    rd_kafka_t *rk; /* owns the cluster's threads */
    rd_kafka_mock_cluster_t *cluster;
};

/** @brief Start the cluster and create the topics. */
cl_mock_t *cl_mock_create(int brokers, const char *const *topics, size_t n_topics, int partitions,
                          char *err, size_t errsize)
{
    char errstr[512];
    cl_mock_t *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, errsize, "out of memory");
        return NULL;
    }
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    /* The handle only hosts the cluster; keep it quiet. */
    if (rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
        snprintf(err, errsize, "%s", errstr);
        rd_kafka_conf_destroy(conf);
        goto error;
    }
    m->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!m->rk) {
        /* rd_kafka_new() failed, so the conf is still ours. */
        rd_kafka_conf_destroy(conf);
        snprintf(err, errsize, "rd_kafka_new: %s", errstr);
        goto error;
    }
    m->cluster = rd_kafka_mock_cluster_new(m->rk, brokers);
    if (!m->cluster) {
        snprintf(err, errsize, "could not start the mock cluster");
        goto error;
    }
    for (size_t i = 0; i < n_topics; i++) {
        rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(m->cluster, topics[i], partitions, 1);
        if (e) {
            snprintf(err, errsize, "topic %s: %s", topics[i], rd_kafka_err2str(e));
            goto error;
        }
    }
    return m;
error:
    cl_mock_destroy(m);
    return NULL;
}

/** @brief Bootstrap servers. */
const char *cl_mock_bootstraps(const cl_mock_t *m)
{
    return rd_kafka_mock_cluster_bootstraps(m->cluster);
}

/** @brief Take a broker down or up. */
int cl_mock_broker_set_down(cl_mock_t *m, int id, int down)
{
    rd_kafka_resp_err_t e = down ? rd_kafka_mock_broker_set_down(m->cluster, id)
                                 : rd_kafka_mock_broker_set_up(m->cluster, id);
    return e ? -1 : 0;
}

/** @brief Stop the cluster, then its host handle. */
void cl_mock_destroy(cl_mock_t *m)
{
    if (!m)
        return;
    if (m->cluster)
        rd_kafka_mock_cluster_destroy(m->cluster);
    if (m->rk)
        rd_kafka_destroy(m->rk);
    free(m);
}
