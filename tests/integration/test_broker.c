/**
 * @file test_broker.c
 * @brief `careledger mock-broker` as a separate process: librdkafka and kcat
 * exchange messages with it over TCP; `careledger produce` keys lines by what
 * they name; it stops cleanly on SIGTERM.
 */
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cltest.h"
#include "proc.h"

#define NMSG 200

static cl_proc_t broker;
static char bootstrap[512];

/** @brief Start the mock broker and read its bootstrap line. */
static int setup(void)
{
    const char *bin = getenv("CARELEDGER_BIN");
    char *argv[] = {(char *)(bin ? bin : "careledger"),
                    "mock-broker",
                    "--partitions",
                    "4",
                    "--topics",
                    "t1,x,k",
                    NULL};
    char line[512];
    if (cl_proc_spawn(&broker, argv) != 0)
        return -1;
    if (cl_proc_readline(&broker, line, sizeof line, 15000) != 0 ||
        strncmp(line, "bootstrap=", 10) != 0) {
        fprintf(stderr, "mock-broker printed no bootstrap line (got \"%s\")\n", line);
        return -1;
    }
    snprintf(bootstrap, sizeof bootstrap, "%s", line + 10);
    return 0;
}

/** @brief Set a property or fail the test. */
static void set(rd_kafka_conf_t *c, const char *k, const char *v)
{
    char err[256];
    CU_ASSERT_EQUAL_FATAL(rd_kafka_conf_set(c, k, v, err, sizeof err), RD_KAFKA_CONF_OK);
}

static void test_bootstrap_line(void)
{
    CU_ASSERT_PTR_NOT_NULL(strchr(bootstrap, ':'));
    CU_ASSERT_PTR_NOT_NULL(strstr(bootstrap, "127.0.0.1") ?: strstr(bootstrap, "localhost"));
}

static void test_produce_consume(void)
{
    char err[512];
    rd_kafka_conf_t *pc = rd_kafka_conf_new();
    set(pc, "bootstrap.servers", bootstrap);
    set(pc, "compression.codec", "lz4");
    rd_kafka_t *p = rd_kafka_new(RD_KAFKA_PRODUCER, pc, err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p); /* the handle owns pc now */
    for (int i = 0; i < NMSG; i++) {
        char key[32], val[64];
        snprintf(key, sizeof key, "unit-%d", i % 7);
        snprintf(val, sizeof val, "{\"n\":%d}", i);
        rd_kafka_resp_err_t e =
            rd_kafka_producev(p, RD_KAFKA_V_TOPIC("t1"), RD_KAFKA_V_KEY(key, strlen(key)),
                              RD_KAFKA_V_VALUE(val, strlen(val)),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        CU_ASSERT_EQUAL(e, RD_KAFKA_RESP_ERR_NO_ERROR);
    }
    CU_ASSERT_EQUAL(rd_kafka_flush(p, 20000), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_destroy(p);

    rd_kafka_conf_t *cc = rd_kafka_conf_new();
    set(cc, "bootstrap.servers", bootstrap);
    set(cc, "group.id", "test-broker");
    set(cc, "auto.offset.reset", "earliest");
    set(cc, "session.timeout.ms", "6000");
    set(cc, "enable.auto.commit", "false");
    rd_kafka_t *c = rd_kafka_new(RD_KAFKA_CONSUMER, cc, err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    rd_kafka_poll_set_consumer(c);
    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, "t1", RD_KAFKA_PARTITION_UA);
    CU_ASSERT_EQUAL(rd_kafka_subscribe(c, topics), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_topic_partition_list_destroy(topics);
    static char seen[NMSG];
    int got = 0;
    time_t deadline = time(NULL) + 60;
    while (got < NMSG && time(NULL) < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 500);
        if (!m)
            continue;
        if (!m->err) {
            int n = -1;
            if (sscanf((const char *)m->payload, "{\"n\":%d}", &n) == 1 && n >= 0 && n < NMSG &&
                !seen[n]) {
                seen[n] = 1;
                got++;
            }
        }
        rd_kafka_message_destroy(m);
    }
    CU_ASSERT_EQUAL(got, NMSG);
    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);
}

static void test_kcat(void)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "kcat -P -b %s -t x", bootstrap);
    CU_ASSERT_EQUAL(cl_proc_run_input(cmd, "hello from kcat\n"), 0);
    snprintf(cmd, sizeof cmd,
             "kcat -C -b %s -t x -o beginning -e -q 2>/dev/null | grep -qx 'hello from kcat'",
             bootstrap);
    CU_ASSERT_EQUAL(system(cmd), 0);
}

/* The key each line of PRODUCE_LINES must be sent with, by event_id (a copy like its first). */
static const char PRODUCE_LINES[] =
    "{\"event_id\":\"cx-early\",\"type\":\"shift.cancelled\",\"cancels\":\"sh-1\"}\n"
    "{\"event_id\":\"sh-1\",\"type\":\"shift.completed\",\"unit_id\":\"U-7\"}\n"
    "{\"event_id\":\"cx-1\",\"type\":\"shift.cancelled\",\"cancels\":\"sh-1\"}\n"
    "{\"event_id\":\"cx-early\",\"type\":\"shift.cancelled\",\"cancels\":\"sh-1\"}\n"
    "{\"event_id\":\"dep-1\",\"type\":\"deployment.started\",\"deployment_id\":\"D-1\","
    "\"worker_id\":\"W-1\"}\n"
    "{\"event_id\":\"ret-1\",\"type\":\"deployment.ended\",\"deployment_id\":\"D-1\"}\n"
    "{\"event_id\":\"cx-2\",\"type\":\"shift.cancelled\",\"cancels\":\"sh-9\"}\n"
    "{\"event_id\":\"ret-2\",\"type\":\"deployment.ended\",\"deployment_id\":\"D-9\"}\n"
    "{\"event_id\":\"bd-early\",\"type\":\"benefit.delivered\",\"worker_id\":\"W-2\"}\n"
    "{\"event_id\":\"wr-2\",\"type\":\"worker.registered\",\"worker_id\":\"W-2\","
    "\"unit_id\":\"U-3\",\"family_id\":\"F-2\"}\n"
    "{\"event_id\":\"bd-1\",\"type\":\"benefit.delivered\",\"worker_id\":\"W-2\"}\n"
    "{\"event_id\":\"bd-early\",\"type\":\"benefit.delivered\",\"worker_id\":\"W-2\"}\n"
    "{\"event_id\":\"sh-5\",\"type\":\"shift.completed\",\"worker_id\":\"W-3\","
    "\"unit_id\":\"U-5\"}\n"
    "{\"event_id\":\"sh-6\",\"type\":\"shift.completed\",\"worker_id\":\"W-3\","
    "\"unit_id\":\"U-6\"}\n"
    "{\"event_id\":\"bd-3\",\"type\":\"benefit.delivered\",\"worker_id\":\"W-3\"}\n"
    "{\"event_id\":\"bf-1\",\"type\":\"benefit.delivered\",\"family_id\":\"F-2\"}\n"
    "{\"event_id\":\"bf-2\",\"type\":\"benefit.delivered\",\"family_id\":\"W-3\"}\n"
    "{\"event_id\":\"dep-2\",\"type\":\"deployment.started\",\"deployment_id\":\"D-2\","
    "\"worker_id\":\"W-2\"}\n"
    "{\"event_id\":\"ret-3\",\"type\":\"deployment.ended\",\"deployment_id\":\"D-2\"}\n";
static const struct {
    const char *event_id, *key;
} PRODUCE_KEYS[] = {
    {"cx-early", "cx-early"}, /* its shift not sent yet: its own id, and so its copy after it */
    {"sh-1", "U-7"},
    {"cx-1", "U-7"}, /* after its shift: the shift's key */
    {"dep-1", "dep-1"},
    {"ret-1", "dep-1"}, /* W-1 unseen: its own id, the return its key */
    {"cx-2", "cx-2"},
    {"ret-2", "ret-2"},
    /* A line naming a worker or a family but no unit: the worker's registered unit, else
     * their first shift's; the family's first registered member's, else the unit of the
     * worker whose id it is; its own id before either was seen, and so its copy after. */
    {"bd-early", "bd-early"},
    {"wr-2", "U-3"},
    {"bd-1", "U-3"},
    {"sh-5", "U-5"},
    {"sh-6", "U-6"},
    {"bd-3", "U-5"},
    {"bf-1", "U-3"},
    {"bf-2", "U-5"},
    {"dep-2", "U-3"},
    {"ret-3", "U-3"}};

static void test_produce_keys(void)
{
    const char *bin = getenv("CARELEDGER_BIN");
    char dir[] = "/tmp/cl-produce-XXXXXX", path[600], cmd[2048], line[512];
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/config.json", dir);
    FILE *f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fprintf(f, "{\"kafka\": {\"bootstrap.servers\": \"%s\"}}\n", bootstrap);
    fclose(f);
    snprintf(cmd, sizeof cmd,
             "%s produce - --topic k --config %s/config.json >/dev/null && "
             "kcat -C -b %s -t k -o beginning -e -q -f '%%k %%s\\n' >%s/out 2>/dev/null",
             bin ? bin : "careledger", dir, bootstrap, dir);
    CU_ASSERT_EQUAL_FATAL(cl_proc_run_input(cmd, PRODUCE_LINES), 0);
    snprintf(path, sizeof path, "%s/out", dir);
    f = fopen(path, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    size_t n = sizeof PRODUCE_KEYS / sizeof PRODUCE_KEYS[0], found = 0, lines = 0;
    for (const char *c = PRODUCE_LINES; *c; c++)
        lines += *c == '\n';
    while (fgets(line, sizeof line, f)) {
        for (size_t i = 0; i < n; i++) {
            char id[80];
            snprintf(id, sizeof id, "\"event_id\":\"%s\"", PRODUCE_KEYS[i].event_id);
            if (!strstr(line, id))
                continue;
            found++;
            size_t klen = strlen(PRODUCE_KEYS[i].key);
            if (strncmp(line, PRODUCE_KEYS[i].key, klen) != 0 || line[klen] != ' ')
                fprintf(stderr, "%s: sent as \"%.*s\", expected key %s\n", PRODUCE_KEYS[i].event_id,
                        (int)strcspn(line, " "), line, PRODUCE_KEYS[i].key);
            CU_ASSERT(strncmp(line, PRODUCE_KEYS[i].key, klen) == 0 && line[klen] == ' ');
        }
    }
    fclose(f);
    CU_ASSERT_EQUAL(found, lines);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CU_ASSERT_EQUAL(system(cmd), 0);
}

static void test_sigterm(void)
{
    CU_ASSERT_EQUAL(cl_proc_stop(&broker, SIGTERM, 10000), 0);
}

int cl_test_register(void)
{
    static const cl_test_t tests[] = {
        {"prints bootstrap=HOST:PORT first", test_bootstrap_line},
        {"librdkafka produce and consume over TCP", test_produce_consume},
        {"kcat -P and -C", test_kcat},
        {"produce keys a cancellation or a return like what it names, a delivery like its "
         "worker or family",
         test_produce_keys},
        {"SIGTERM exits 0", test_sigterm},
        {NULL, NULL}};
    if (setup() != 0)
        return -1;
    return cl_test_add_suite("mock-broker", tests);
}
