/**
 * @file mock.h
 * @brief librdkafka's mock cluster, for tests and the demo (SPEC §11 note).
 *
 * The mock speaks the Kafka protocol over TCP on loopback, so every client
 * (the daemon, kcat) uses its real code path against it.
 */
#ifndef CARELEDGER_MOCK_H
#define CARELEDGER_MOCK_H

#include <stddef.h>

typedef struct cl_mock cl_mock_t;

/**
 * @brief Start a mock cluster of @p brokers brokers and create @p n_topics
 * topics with @p partitions partitions each.
 * @return a cluster the caller stops with cl_mock_destroy(), or NULL with the
 * reason in @p err.
 */
cl_mock_t *cl_mock_create(int brokers, const char *const *topics, size_t n_topics, int partitions,
                          char *err, size_t errsize);
/** @brief "host:port,…" of the brokers, owned by the cluster. */
const char *cl_mock_bootstraps(const cl_mock_t *m);
/** @brief Take broker @p id (1-based) down (1) or up (0); 0 or -1. */
int cl_mock_broker_set_down(cl_mock_t *m, int id, int down);
/** @brief Stop the cluster (NULL is fine). */
void cl_mock_destroy(cl_mock_t *m);

#endif
