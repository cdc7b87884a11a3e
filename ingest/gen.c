/**
 * @file gen.c
 * @brief `careledger gen`: a realistic, deterministic province for the demo,
 * the tests and the benchmarks.
 *
 * Events are written in the order a real feed would carry them (registrations
 * first, shifts day by day), with a few late arrivals; exact and conflicting
 * copies always follow their original in the same file, so the original is the
 * one accepted. Everything comes from one seeded xorshift generator.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "careledger/gen.h"
#include "careledger/time.h"

const char *const cl_gen_topics[CL_GEN_TOPICS] = {"careledger.reference", "careledger.shifts",
                                                  "careledger.assistance"};

#define OCC "\"schema\":\"careledger/1\",\"occurred_at\":\"2020-02-01T00:00:00Z\""

/* One bad line per SPEC §11 row (and variants), with its reason. %s = a unique id. */
static const struct {
    const char *fmt, *reason;
    int topic;
} BAD[] = {
    {"this is not json %s", "invalid_json", 1},
    {"{\"schema\":\"careledger/1\",\"event_id\":\"%s\",\"type\":\"shift.comp", "invalid_json", 1},
    {"[\"%s\"]", "invalid_json", 2},
    {"{\"schema\":\"careledger/1\",\"event_id\":\"%s\",\"event_id\":\"x\",\"type\":\"injury."
     "recognized\",\"case_id\":\"K\",\"date\":\"2020-02-01\",\"occurred_at\":\"2020-02-01T00:00:"
     "00Z\"}",
     "invalid_json", 2},
    {"{\"schema\":\"careledger/1\",\"event_id\":\"%s\",\"name\":\"\xff\xfe\"}", "invalid_utf8", 0},
    {"{\"schema\":\"careledger/2\",\"event_id\":\"%s\",\"type\":\"injury.recognized\"}",
     "unsupported_schema", 2},
    {"{" OCC ",\"event_id\":\"%s\",\"type\":\"shift.teleported\"}", "unknown_type", 1},
    {"{" OCC ",\"event_id\":\"%s\",\"type\":\"shift.completed\",\"unit_id\":\"U1\",\"start\":"
     "\"2020-02-01T08:00:00+08:00\",\"end\":\"2020-02-01T16:00:00+08:00\",\"exposure\":\"direct\"}",
     "missing_field:worker_id", 1},
    {"{" OCC ",\"event_id\":\"%s\",\"type\":\"injury.paid\",\"case_id\":\"K\",\"date\":\"2020-02-"
     "01\",\"amount_fen\":\"300\"}",
     "bad_type:amount_fen", 2},
    {"{" OCC ",\"event_id\":\"%s\",\"type\":\"shift.completed\",\"worker_id\":\"W1\",\"unit_id\":"
     "\"U1\",\"start\":\"2020-02-01T08:00:00+08:00\",\"end\":\"2020-02-01T16:00:00+08:00\","
     "\"exposure\":\"sometimes\"}",
     "bad_value:exposure", 1},
    {"{" OCC ",\"event_id\":\"%s\",\"type\":\"unit.registered\",\"unit_id\":\"U1\",\"name\":"
     "\"a\\u0000b\",\"region\":\"220102\",\"kind\":\"hospital\",\"level\":\"county\"}",
     "bad_value:name", 0},
    {"{" OCC ",\"event_id\":\"%s\",\"type\":\"injury.reported\",\"case_id\":\"K\",\"worker_id\":"
     "\"W1\",\"date\":\"2021-02-29\"}",
     "bad_time:date", 2},
    {"{" OCC ",\"event_id\":\"%s\",\"type\":\"shift.completed\",\"worker_id\":\"W1\",\"unit_id\":"
     "\"U1\",\"start\":\"2020-02-01T08:00:00+08:00\",\"end\":\"2020-02-01T08:00:00+08:00\","
     "\"exposure\":\"direct\"}",
     "bad_time:end", 1},
    {"{" OCC ",\"event_id\":\"%s\",\"type\":\"shift.completed\",\"worker_id\":\"W1\",\"unit_id\":"
     "\"U1\",\"start\":\"2020-02-01T08:00:00+08:00\",\"end\":\"2020-02-02T09:00:00+08:00\","
     "\"exposure\":\"direct\"}",
     "bad_time:end", 1},
    {"{" OCC ",\"event_id\":\"%s\",\"type\":\"injury.paid\",\"case_id\":\"K\",\"date\":\"2020-02-"
     "01\",\"amount_fen\":1.5}",
     "bad_amount:amount_fen", 2},
    {"{" OCC ",\"event_id\":\"%s\",\"type\":\"injury.paid\",\"case_id\":\"K\",\"date\":\"2020-02-"
     "01\",\"amount_fen\":-1}",
     "bad_amount:amount_fen", 2},
    {"{" OCC ",\"event_id\":\"%s\",\"type\":\"injury.paid\",\"case_id\":\"K\",\"date\":\"2020-02-"
     "01\",\"amount_fen\":1000000000001}",
     "bad_amount:amount_fen", 2},
    {"{" OCC ",\"event_id\":\"%s\",\"type\":\"benefit.delivered\",\"measure\":\"ZZ-99\","
     "\"worker_id\":\"W1\",\"date\":\"2020-02-01\"}",
     "unknown_measure", 2},
};
#define NBAD (sizeof BAD / sizeof BAD[0])

/** @brief The number of bad-line kinds (too_large is written separately). */
size_t cl_gen_bad_kinds(void)
{
    return NBAD;
}

/** @brief A bad line of kind k. */
const char *cl_gen_bad_line(size_t k, const char *id, char *buf, size_t size, int *topic)
{
    k %= NBAD;
    snprintf(buf, size, BAD[k].fmt, id);
    if (topic)
        *topic = BAD[k].topic;
    return BAD[k].reason;
}

/* ---- the divisions: real GB/T 2260 codes of the four seeds' jurisdictions ---- */

typedef struct region {
    const char *code, *name, *parent, *level;
    int jur; /* index into JURS for districts; -1 for provinces and cities */
} region_t;

/* Jurisdictions and their share of the workers. */
static const struct {
    const char *code;
    double share;
} JURS[] = {{"220000", 0.40}, {"120106", 0.10}, {"210200", 0.20}, {"440000", 0.30}};
#define NJUR (sizeof JURS / sizeof JURS[0])

static const region_t REGIONS[] = {
    {"220000", "吉林省", NULL, "province", -1},
    {"220100", "长春市", "220000", "city", -1},
    {"220102", "南关区", "220100", "district", 0},
    {"220103", "宽城区", "220100", "district", 0},
    {"220104", "朝阳区", "220100", "district", 0},
    {"220105", "二道区", "220100", "district", 0},
    {"220106", "绿园区", "220100", "district", 0},
    {"220200", "吉林市", "220000", "city", -1},
    {"220202", "昌邑区", "220200", "district", 0},
    {"220203", "龙潭区", "220200", "district", 0},
    {"220204", "船营区", "220200", "district", 0},
    {"220300", "四平市", "220000", "city", -1},
    {"220302", "铁西区", "220300", "district", 0},
    {"220500", "通化市", "220000", "city", -1},
    {"220502", "东昌区", "220500", "district", 0},
    {"222400", "延边朝鲜族自治州", "220000", "city", -1},
    {"222401", "延吉市", "222400", "district", 0},
    {"120000", "天津市", NULL, "province", -1},
    {"120106", "红桥区", "120000", "district", 1},
    {"210000", "辽宁省", NULL, "province", -1},
    {"210200", "大连市", "210000", "city", -1},
    {"210202", "中山区", "210200", "district", 2},
    {"210203", "西岗区", "210200", "district", 2},
    {"210204", "沙河口区", "210200", "district", 2},
    {"210211", "甘井子区", "210200", "district", 2},
    {"210213", "金州区", "210200", "district", 2},
    {"440000", "广东省", NULL, "province", -1},
    {"440100", "广州市", "440000", "city", -1},
    {"440104", "越秀区", "440100", "district", 3},
    {"440105", "海珠区", "440100", "district", 3},
    {"440106", "天河区", "440100", "district", 3},
    {"440111", "白云区", "440100", "district", 3},
    {"440300", "深圳市", "440000", "city", -1},
    {"440303", "罗湖区", "440300", "district", 3},
    {"440304", "福田区", "440300", "district", 3},
    {"440305", "南山区", "440300", "district", 3},
    {"440600", "佛山市", "440000", "city", -1},
    {"440604", "禅城区", "440600", "district", 3},
    {"440605", "南海区", "440600", "district", 3},
};
#define NREG (sizeof REGIONS / sizeof REGIONS[0])
_Static_assert(sizeof REGIONS / sizeof REGIONS[0] <= 64, "gen_t caches 64 regions");

/* Unit kinds: weight, name suffix, share of direct exposure, relative size. */
static const struct {
    const char *kind, *suffix;
    int weight;
    double direct, size;
} KINDS[] = {
    {"hospital", "人民医院", 34, 0.35, 3.0},
    {"designated_hospital", "定点救治医院", 10, 0.85, 3.0},
    {"cdc", "疾病预防控制中心", 10, 0.45, 1.0},
    {"community_health", "社区卫生服务中心", 26, 0.2, 0.8},
    {"clinic", "卫生院", 15, 0.1, 0.5},
    {"other", "急救中心", 5, 0.3, 1.0},
};
#define NKINDS (sizeof KINDS / sizeof KINDS[0])

/* ---- randomness ---- */

typedef struct rng {
    uint64_t s;
} rng_t;

/** @brief xorshift64*. */
static uint64_t next(rng_t *r)
{
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * 2685821657736338717ULL;
}

/** @brief Uniform in [0, n). */
static long pick(rng_t *r, long n)
{
    return n > 0 ? (long)(next(r) % (uint64_t)n) : 0;
}

/** @brief Uniform in [0, 1). */
static double unit(rng_t *r)
{
    return (double)(next(r) >> 11) / 9007199254740992.0;
}

/** @brief A generator for one purpose, independent of how much the others drew. */
static rng_t stream(uint64_t seed, uint64_t purpose)
{
    rng_t r = {(seed + 1) * 0x9e3779b97f4a7c15ULL ^ (purpose * 0xbf58476d1ce4e5b9ULL)};
    if (!r.s)
        r.s = 1;
    for (int i = 0; i < 4; i++)
        next(&r);
    return r;
}

/* ---- output: three files, late lines, copies, bad lines ---- */

typedef struct pend {
    char *line;
    long due; /* written once the file has this many lines */
} pend_t;

typedef struct out {
    FILE *f;
    long lines;
    pend_t *pend;
    size_t n_pend, cap_pend;
} out_t;

typedef struct gen {
    const cl_gen_opts_t *o;
    cl_gen_result_t *res;
    out_t out[CL_GEN_TOPICS];
    rng_t noise; /* duplicates, conflicts, bad lines, lateness */
    long bad_seq;
    int failed;
    cl_resolved_t res_cache[64]; /* per REGIONS index */
    int res_have[64];            /* 1 resolved, -1 no policy */
} gen_t;

/** @brief Count a dead letter of @p reason. */
static void expect_dead(cl_gen_result_t *e, const char *reason)
{
    e->dead++;
    for (int i = 0; i < e->n_reasons; i++)
        if (strcmp(e->reasons[i].reason, reason) == 0) {
            e->reasons[i].n++;
            return;
        }
    if (e->n_reasons < CL_GEN_MAX_REASONS) {
        snprintf(e->reasons[e->n_reasons].reason, sizeof e->reasons[0].reason, "%s", reason);
        e->reasons[e->n_reasons++].n = 1;
    }
}

/** @brief Write one line now, then whatever late lines have come due. */
static void write_line(gen_t *g, int t, const char *line)
{
    out_t *o = &g->out[t];
    if (fputs(line, o->f) == EOF || fputc('\n', o->f) == EOF)
        g->failed = 1;
    o->lines++;
    g->res->lines[t]++;
    for (size_t i = 0; i < o->n_pend;) {
        if (o->pend[i].due <= o->lines) {
            char *l = o->pend[i].line;
            o->pend[i] = o->pend[--o->n_pend];
            write_line(g, t, l);
            free(l);
            i = 0;
        } else {
            i++;
        }
    }
}

/** @brief Hold a line back until @p delay more lines have been written. */
static void write_late(gen_t *g, int t, const char *line, long delay)
{
    out_t *o = &g->out[t];
    if (o->n_pend == o->cap_pend) {
        size_t nc = o->cap_pend ? o->cap_pend * 2 : 64;
        pend_t *p = realloc(o->pend, nc * sizeof *p);
        if (!p) {
            g->failed = 1;
            return;
        }
        o->pend = p;
        o->cap_pend = nc;
    }
    char *l = strdup(line);
    if (!l) {
        g->failed = 1;
        return;
    }
    o->pend[o->n_pend++] = (pend_t){l, o->lines + delay};
}

/** @brief A conflicting copy: the same event_id with one byte of content changed. */
static void conflict_of(const char *line, char *out, size_t size)
{
    /* The occurred_at's seconds: same event, other content (R4 fingerprint differs). */
    const char *p = strstr(line, "\"occurred_at\":\"");
    snprintf(out, size, "%s", line);
    if (p) {
        size_t at = (size_t)(p - line) + 15 + 18; /* the tens of seconds */
        if (at < strlen(out))
            out[at] = out[at] == '3' ? '4' : '3';
    }
}

/** @brief Emit a valid event: maybe late, maybe copied, with bad lines sprinkled in. */
static void emit(gen_t *g, int t, int late_ok, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void emit(gen_t *g, int t, int late_ok, const char *fmt, ...)
{
    char line[2048], copy[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    const cl_gen_opts_t *o = g->o;
    g->res->accepted++;
    if (late_ok && unit(&g->noise) < 0.02) {
        write_late(g, t, line, 1 + pick(&g->noise, 2000));
        return;
    }
    write_line(g, t, line);
    if (unit(&g->noise) < o->dup_rate) {
        write_late(g, t, line, 1 + pick(&g->noise, 500));
        g->res->duplicates++;
    }
    if (unit(&g->noise) < o->conflict_rate) {
        conflict_of(line, copy, sizeof copy);
        write_late(g, t, copy, 1 + pick(&g->noise, 500));
        expect_dead(g->res, "conflicting_duplicate");
    }
    /* Bad lines at bad_rate of everything written (valid lines are ~1 − bad_rate). */
    if (o->bad_rate > 0 && unit(&g->noise) < o->bad_rate / (1.0 - o->bad_rate)) {
        char id[32], bad[512];
        int bt;
        snprintf(id, sizeof id, "bad-%ld", g->bad_seq);
        const char *reason = cl_gen_bad_line((size_t)g->bad_seq++, id, bad, sizeof bad, &bt);
        write_line(g, bt, bad);
        expect_dead(g->res, reason);
    }
}

/* ---- the population ---- */

typedef struct unit_rec {
    char id[24], name[96];
    int region; /* index into REGIONS */
    int kind;
    const char *level;
    unsigned level_bit;
    long first_day;  /* first frontline day, or -1 */
    int64_t est_fen; /* estimated entitlement, for budgets */
} unit_rec_t;

typedef struct worker_rec {
    long unit;
    int role;
    int staff_contract;
    long spouse; /* -1 */
    long family; /* the worker whose id is the family_id */
    int children, elders;
    int frontline;
    int shift_kind; /* 0 day, 1 night, 2 overnight, 3 long */
    double direct_p;
    long first_day, last_day; /* first and last shift day index, or -1 */
    int deployed;
    long dep_from, dep_to; /* day indexes; dep_to = -1: not back within the data */
    int injured;
    long injury_day;
    int run_long; /* works a run of more than 14 days */
    int has_direct;
    int64_t *month_fen; /* entitlement estimate per month index */
} worker_rec_t;

typedef struct world {
    unit_rec_t *units;
    long n_units;
    worker_rec_t *workers;
    long n_workers;
    int n_months;
    int32_t month0; /* month of day 0 */
} world_t;

static const char *const ROLES[] = {"doctor", "nurse", "technician", "public_health", "other"};

/** @brief Date string of day index @p d. */
static const char *day_str(const cl_gen_opts_t *o, long d, char buf[CL_DATE_LEN])
{
    return cl_date_format(o->start + (int32_t)d, buf);
}

/** @brief A district index for jurisdiction @p j, uniformly. */
static int district_of(rng_t *r, int j)
{
    int n = 0;
    for (size_t i = 0; i < NREG; i++)
        n += REGIONS[i].jur == j;
    long k = pick(r, n);
    for (size_t i = 0; i < NREG; i++)
        if (REGIONS[i].jur == j && k-- == 0)
            return (int)i;
    return 0;
}

/** @brief The index of region @p code. */
static int region_index(const char *code)
{
    for (size_t i = 0; i < NREG; i++)
        if (strcmp(REGIONS[i].code, code) == 0)
            return (int)i;
    return -1;
}

/** @brief Build units and workers. */
static int make_world(gen_t *g, world_t *w)
{
    const cl_gen_opts_t *o = g->o;
    rng_t r = stream(o->seed, 1);
    w->n_units = o->units > 0 ? o->units : o->workers / 40 > 12 ? o->workers / 40 : 12;
    w->units = calloc((size_t)w->n_units, sizeof *w->units);
    w->n_workers = o->workers > 0 ? o->workers : 1;
    w->workers = calloc((size_t)w->n_workers, sizeof *w->workers);
    w->month0 = cl_month_of_date(o->start);
    w->n_months = (int)(cl_month_of_date(o->start + o->days) - w->month0) + 1;
    if (!w->units || !w->workers)
        return -1;
    double *weight = calloc((size_t)w->n_units, sizeof *weight), total = 0;
    if (!weight)
        return -1;
    for (long u = 0; u < w->n_units; u++) {
        unit_rec_t *x = &w->units[u];
        /* Every jurisdiction gets units in proportion to its share, at least three. */
        int j = (int)(u % (long)NJUR);
        if (u >= 3 * (long)NJUR) {
            double p = unit(&r), acc = 0;
            for (j = 0; j < (int)NJUR - 1; j++)
                if (p < (acc += JURS[j].share))
                    break;
        }
        x->region = district_of(&r, j);
        long kw = pick(&r, 100), k = 0;
        while (k < (long)NKINDS - 1 && kw >= KINDS[k].weight)
            kw -= KINDS[k++].weight;
        x->kind = (int)k;
        double lv = unit(&r);
        const char *prefix = REGIONS[x->region].name;
        const region_t *city = &REGIONS[region_index(REGIONS[x->region].parent)];
        if (x->kind <= 1 && lv < 0.12 && city->parent) {
            x->level = "province";
            x->level_bit = CL_LEVEL_PROVINCE;
            prefix = REGIONS[region_index(city->parent)].name;
        } else if (x->kind <= 2 && lv < 0.45) {
            x->level = "city";
            x->level_bit = CL_LEVEL_CITY;
            prefix = city->level[0] == 'c' ? city->name : prefix;
        } else if (x->kind >= 3 && lv < 0.6) {
            x->level = "township";
            x->level_bit = CL_LEVEL_TOWNSHIP;
        } else {
            x->level = "county";
            x->level_bit = CL_LEVEL_COUNTY;
        }
        snprintf(x->id, sizeof x->id, "U%05ld", u + 1);
        /* Names are unique: a second 南关区人民医院 is 南关区第2人民医院. */
        int same = 0;
        for (long v = 0; v < u; v++)
            if (w->units[v].kind == x->kind &&
                strncmp(w->units[v].name, prefix, strlen(prefix)) == 0)
                same++;
        if (same)
            snprintf(x->name, sizeof x->name, "%s第%d%s", prefix, same + 1, KINDS[x->kind].suffix);
        else
            snprintf(x->name, sizeof x->name, "%s%s", prefix, KINDS[x->kind].suffix);
        x->first_day = -1;
        weight[u] = KINDS[x->kind].size * (0.5 + unit(&r));
        total += weight[u];
    }
    for (long i = 0; i < w->n_workers; i++) {
        worker_rec_t *k = &w->workers[i];
        double p = unit(&r) * total, acc = 0;
        long u = 0;
        while (u < w->n_units - 1 && p >= (acc += weight[u]))
            u++;
        k->unit = u;
        const char *kind = KINDS[w->units[u].kind].kind;
        int role = (int)pick(&r, 100);
        k->role = strcmp(kind, "cdc") == 0 && role < 60 ? 3
                  : role < 30                           ? 0
                  : role < 78                           ? 1
                  : role < 88                           ? 2
                  : role < 95                           ? 3
                                                        : 4;
        k->staff_contract = unit(&r) < 0.35;
        int c = (int)pick(&r, 100);
        k->children = c < 40 ? 0 : c < 85 ? 1 : 2;
        k->elders = (int)pick(&r, 3);
        k->spouse = -1;
        k->family = i;
        k->frontline = unit(&r) < 0.72;
        int s = (int)pick(&r, 100);
        k->shift_kind = s < 60 ? 0 : s < 80 ? 1 : s < 90 ? 2 : 3;
        k->direct_p = KINDS[w->units[u].kind].direct;
        k->first_day = k->last_day = -1;
        k->run_long = unit(&r) < 0.03;
        k->dep_to = -1;
        k->month_fen = calloc((size_t)w->n_months, sizeof *k->month_fen);
        if (!k->month_fen) {
            free(weight);
            return -1;
        }
        if (k->frontline && unit(&r) < 0.04) {
            k->deployed = 1;
            k->dep_from = 3 + pick(&r, o->days / 3 + 1);
            long len = 25 + pick(&r, 35);
            k->dep_to = unit(&r) < 0.8 && k->dep_from + len < o->days ? k->dep_from + len : -1;
        }
    }
    /* Couples: about 6% of workers married to another worker, one family. */
    for (long i = 0; i + 1 < w->n_workers; i++) {
        worker_rec_t *a = &w->workers[i];
        if (a->spouse >= 0 || unit(&r) >= 0.03)
            continue;
        long j = i + 1 + pick(&r, w->n_workers - i - 1);
        worker_rec_t *b = &w->workers[j];
        if (b->spouse >= 0)
            continue;
        a->spouse = j;
        b->spouse = i;
        b->family = i;
        b->children = a->children;
    }
    free(weight);
    return 0;
}

/** @brief The resolved policy of a region on the first day, cached per region; 0 or -1. */
static int settings_of(gen_t *g, int region, cl_resolved_t *out)
{
    char err[256];
    if (region < 0 || region >= 64)
        return -1;
    if (!g->res_have[region])
        g->res_have[region] =
            g->o->set && cl_policy_set_resolve(g->o->set, REGIONS[region].code, g->o->start, NULL,
                                               NULL, &g->res_cache[region], err, sizeof err) == 0
                ? 1
                : -1;
    if (g->res_have[region] < 0)
        return -1;
    *out = g->res_cache[region];
    return 0;
}

/* ---- the events ---- */

/** @brief Regions, units, workers (a few late), budgets come after the shifts are known. */
static void reference(gen_t *g, world_t *w)
{
    char ts[80];
    for (size_t i = 0; i < NREG; i++) {
        const region_t *x = &REGIONS[i];
        char parent[16];
        snprintf(parent, sizeof parent, x->parent ? "\"%s\"" : "null", x->parent);
        emit(g, 0, 0,
             "{\"schema\":\"careledger/1\",\"occurred_at\":\"2020-01-20T09:00:00+08:00\","
             "\"event_id\":\"reg-%s\",\"type\":\"region.registered\",\"code\":\"%s\",\"name\":"
             "\"%s\",\"parent\":%s,\"level\":\"%s\"}",
             x->code, x->code, x->name, parent, x->level);
        g->res->regions++;
    }
    for (long u = 0; u < w->n_units; u++) {
        const unit_rec_t *x = &w->units[u];
        emit(g, 0, 0,
             "{\"schema\":\"careledger/1\",\"occurred_at\":\"2020-01-21T09:00:00+08:00\","
             "\"event_id\":\"unit-%s\",\"type\":\"unit.registered\",\"unit_id\":\"%s\",\"name\":"
             "\"%s\",\"region\":\"%s\",\"kind\":\"%s\",\"level\":\"%s\"}",
             x->id, x->id, x->name, REGIONS[x->region].code, KINDS[x->kind].kind, x->level);
        g->res->units++;
    }
    rng_t r = stream(g->o->seed, 2);
    for (long i = 0; i < w->n_workers; i++) {
        const worker_rec_t *k = &w->workers[i];
        char spouse[48] = "", family[48] = "";
        if (k->spouse >= 0)
            snprintf(spouse, sizeof spouse, ",\"spouse_worker_id\":\"W%06ld\"", k->spouse + 1);
        if (k->family != i)
            snprintf(family, sizeof family, ",\"family_id\":\"W%06ld\"", k->family + 1);
        snprintf(ts, sizeof ts, "2020-01-2%ldT%02ld:00:00+08:00", 1 + pick(&r, 3),
                 8 + pick(&r, 10));
        /* A few are registered late, after their first shifts (R9 holds meanwhile). */
        emit(g, 0, 1,
             "{\"schema\":\"careledger/1\",\"occurred_at\":\"%s\",\"event_id\":\"wr-W%06ld\","
             "\"type\":\"worker.registered\",\"worker_id\":\"W%06ld\",\"unit_id\":\"%s\","
             "\"role\":\"%s\",\"staff\":\"%s\"%s%s,\"children\":%d,\"elders\":%d}",
             ts, i + 1, i + 1, w->units[k->unit].id, ROLES[k->role],
             k->staff_contract ? "contract" : "establishment", family, spouse, k->children,
             k->elders);
        g->res->workers++;
    }
}

/** @brief Shift times of a kind on day @p d: start and end as RFC 3339 strings. */
static void shift_times(const cl_gen_opts_t *o, int kind, long d, char *s, char *e, size_t n)
{
    char a[CL_DATE_LEN], b[CL_DATE_LEN];
    day_str(o, d, a);
    day_str(o, d + 1, b);
    switch (kind) {
    case 1: /* night 16–24 */
        snprintf(s, n, "%sT16:00:00+08:00", a);
        snprintf(e, n, "%sT00:00:00+08:00", b);
        break;
    case 2: /* overnight 22–06 */
        snprintf(s, n, "%sT22:00:00+08:00", a);
        snprintf(e, n, "%sT06:00:00+08:00", b);
        break;
    case 3: /* long 08–20: over 大连's 8-hour limit */
        snprintf(s, n, "%sT08:00:00+08:00", a);
        snprintf(e, n, "%sT20:00:00+08:00", a);
        break;
    default: /* day 08–16 */
        snprintf(s, n, "%sT08:00:00+08:00", a);
        snprintf(e, n, "%sT16:00:00+08:00", a);
    }
}

/** @brief Shifts day by day, deployments, cancellations; entitlement estimates per month. */
static void shifts(gen_t *g, world_t *w)
{
    const cl_gen_opts_t *o = g->o;
    rng_t r = stream(o->seed, 3);
    char s[40], e[40], day[CL_DATE_LEN];
    long *streak = calloc((size_t)w->n_workers, sizeof *streak);
    long *rest = calloc((size_t)w->n_workers, sizeof *rest);
    if (!streak || !rest) {
        g->failed = 1;
        free(streak);
        free(rest);
        return;
    }
    for (long i = 0; i < w->n_workers; i++) {
        worker_rec_t *k = &w->workers[i];
        /* Frontline work starts in the first third of the period. */
        rest[i] = k->frontline ? pick(&r, o->days / 3 + 1) : o->days + 1;
    }
    for (long d = 0; d < o->days; d++) {
        int mi = (int)(cl_month_of_date(o->start + (int32_t)d) - w->month0);
        for (long i = 0; i < w->n_workers; i++) {
            worker_rec_t *k = &w->workers[i];
            unit_rec_t *u = &w->units[k->unit];
            cl_resolved_t res = {0}; /* read only when resolved; GCC -O2 cannot tell */
            int have = settings_of(g, u->region, &res) == 0;
            int eligible_unit = have && (!res.settings.has_unit_levels ||
                                         (res.settings.unit_levels & u->level_bit));
            if (k->deployed && d == k->dep_from) {
                const char *prov = REGIONS[region_index(REGIONS[u->region].parent)].name;
                emit(g, 1, 0,
                     "{\"schema\":\"careledger/1\",\"occurred_at\":\"%sT07:00:00+08:00\","
                     "\"event_id\":\"dep-W%06ld\",\"type\":\"deployment.started\","
                     "\"deployment_id\":\"D-W%06ld\",\"worker_id\":\"W%06ld\",\"team\":"
                     "\"%s援鄂医疗队\",\"destination\":\"%s\",\"date\":\"%s\"}",
                     day_str(o, d, day), i + 1, i + 1, i + 1, prov,
                     i % 3 == 0   ? "武汉"
                     : i % 3 == 1 ? "荆州"
                                  : "黄冈",
                     day);
                g->res->deployments++;
            }
            if (k->deployed && k->dep_to >= 0 && d == k->dep_to)
                emit(g, 1, 0,
                     "{\"schema\":\"careledger/1\",\"occurred_at\":\"%sT18:00:00+08:00\","
                     "\"event_id\":\"ret-W%06ld\",\"type\":\"deployment.ended\","
                     "\"deployment_id\":\"D-W%06ld\",\"date\":\"%s\"}",
                     day_str(o, d, day), i + 1, i + 1, day);
            int away = k->deployed && d >= k->dep_from && (k->dep_to < 0 || d <= k->dep_to);
            if (away) {
                /* Deployed days earn at the deployment rate, or the direct rate. */
                if (eligible_unit)
                    k->month_fen[mi] += res.settings.deploy_rule == CL_DEPLOY_FLAT
                                            ? res.settings.deploy_value
                                            : res.settings.direct_fen;
                if (k->first_day < 0)
                    k->first_day = d;
                k->last_day = d;
                k->has_direct = 1;
                continue;
            }
            if (!k->frontline)
                continue;
            if (rest[i] > 0) {
                rest[i]--;
                continue;
            }
            /* Work 5–7 days then rest 1–2; a few run past 14 days without rest. */
            long limit = k->run_long ? 15 + (long)(i % 5) : 5 + (long)(i % 3);
            if (streak[i] >= limit) {
                streak[i] = 0;
                rest[i] = 1 + pick(&r, 2);
                continue;
            }
            streak[i]++;
            int direct = unit(&r) < k->direct_p;
            shift_times(o, k->shift_kind, d, s, e, sizeof s);
            char eid[64];
            snprintf(eid, sizeof eid, "sh-W%06ld-%ld", i + 1, d);
            /* Half a percent are cancelled; a fifth of those cancellations come first. */
            int cancel = unit(&r) < 0.005, early = cancel && unit(&r) < 0.2;
            if (early)
                emit(g, 1, 0,
                     "{\"schema\":\"careledger/1\",\"occurred_at\":\"%s\",\"event_id\":\"cx-%s\","
                     "\"type\":\"shift.cancelled\",\"cancels\":\"%s\",\"reason\":\"录入错误\"}",
                     e, eid, eid);
            emit(g, 1, 1,
                 "{\"schema\":\"careledger/1\",\"occurred_at\":\"%s\",\"event_id\":\"%s\","
                 "\"type\":\"shift.completed\",\"worker_id\":\"W%06ld\",\"unit_id\":\"%s\","
                 "\"start\":\"%s\",\"end\":\"%s\",\"exposure\":\"%s\"}",
                 e, eid, i + 1, u->id, s, e, direct ? "direct" : "other");
            g->res->shifts++;
            if (cancel) {
                if (!early)
                    emit(g, 1, 1,
                         "{\"schema\":\"careledger/1\",\"occurred_at\":\"%s\",\"event_id\":"
                         "\"cx-%s\",\"type\":\"shift.cancelled\",\"cancels\":\"%s\","
                         "\"reason\":\"录入错误\"}",
                         e, eid, eid);
                continue; /* a cancelled shift earns nothing */
            }
            if (eligible_unit)
                k->month_fen[mi] += direct ? res.settings.direct_fen : res.settings.other_fen;
            k->has_direct |= direct;
            if (k->first_day < 0)
                k->first_day = d;
            k->last_day = d;
            if (u->first_day < 0 || d < u->first_day)
                u->first_day = d;
        }
    }
    /* Cancellations that arrive after their shift: re-walk the same choices cheaply by
     * cancelling a deterministic sample of shift ids instead. */
    rng_t c = stream(o->seed, 4);
    for (long i = 0; i < w->n_workers; i++) {
        worker_rec_t *k = &w->workers[i];
        if (k->first_day < 0 || k->deployed || unit(&c) >= 0.01)
            continue;
        char eid[64];
        snprintf(eid, sizeof eid, "sh-W%06ld-%ld", i + 1, k->first_day);
        emit(g, 1, 0,
             "{\"schema\":\"careledger/1\",\"occurred_at\":\"%sT23:00:00+08:00\","
             "\"event_id\":\"cx2-%s\",\"type\":\"shift.cancelled\",\"cancels\":\"%s\","
             "\"reason\":\"排班调整\"}",
             day_str(o, k->first_day + 1, day), eid, eid);
        /* The first day no longer earns; the estimate is only for payments and budgets. */
    }
    free(streak);
    free(rest);
}

/** @brief 1 when worker @p k is in the population of eligibility @p e (approximately). */
static int in_population(const worker_rec_t *k, cl_eligible_t e, long *since)
{
    switch (e) {
    case CL_ELIG_DEPLOYED:
        *since = k->dep_from;
        return k->deployed;
    case CL_ELIG_DIRECT:
    case CL_ELIG_DIRECT_OR_DEPLOYED:
    case CL_ELIG_DESIGNATED_FRONTLINE:
        *since = k->first_day;
        return k->has_direct && k->first_day >= 0;
    case CL_ELIG_WITH_CHILDREN:
        *since = k->first_day;
        return k->children > 0 && k->first_day >= 0;
    case CL_ELIG_INFECTED:
        *since = k->injury_day;
        return k->injured;
    default:
        *since = k->first_day;
        return k->first_day >= 0;
    }
}

/** @brief Deliveries of every once/recurring track to part of its population. */
static void deliveries(gen_t *g, world_t *w)
{
    const cl_gen_opts_t *o = g->o;
    char day[CL_DATE_LEN];
    for (long i = 0; i < w->n_workers; i++) {
        worker_rec_t *k = &w->workers[i];
        rng_t r = stream(o->seed, 100 + (uint64_t)i);
        cl_resolved_t res;
        if (settings_of(g, w->units[k->unit].region, &res) != 0 || !res.policy)
            continue;
        for (size_t m = 0; m < res.policy->n_measures; m++)
            for (size_t t = 0; t < res.policy->measures[m].n_tracks; t++) {
                const cl_track_t *tr = &res.policy->measures[m].tracks[t];
                if (tr->kind != CL_TRACK_ONCE && tr->kind != CL_TRACK_RECURRING)
                    continue;
                if (tr->scope == CL_SCOPE_FAMILY && k->family != i)
                    continue; /* one delivery per family, to its first member */
                long since;
                if (tr->scope == CL_SCOPE_UNIT || !in_population(k, tr->eligible, &since) ||
                    since < 0)
                    continue;
                /* Coverage differs by track (a stable share per track id), 45–98%. */
                unsigned h = 0;
                for (const char *p = tr->id; *p; p++)
                    h = h * 31u + (unsigned char)*p;
                if (unit(&r) >= 0.45 + (double)(h % 54) / 100.0)
                    continue;
                long first = since + pick(&r, unit(&r) < 0.85 ? 8 : 30); /* some late */
                long step = tr->kind == CL_TRACK_RECURRING && tr->cadence_days > 0
                                ? tr->cadence_days
                                : o->days + 1;
                for (long d = first, n = 0; d < o->days; d += step, n++) {
                    char money[96] = "", who[48];
                    if (tr->min_amount_fen > 0)
                        snprintf(money, sizeof money, ",\"amount_fen\":%lld",
                                 (long long)(unit(&r) < 0.08 ? tr->min_amount_fen / 2
                                                             : tr->min_amount_fen));
                    else if (tr->line[0])
                        snprintf(money, sizeof money, ",\"amount_fen\":%lld",
                                 (long long)(50000 + pick(&r, 4) * 50000));
                    if (tr->min_sum_insured_fen > 0)
                        snprintf(money + strlen(money), sizeof money - strlen(money),
                                 ",\"sum_insured_fen\":%lld",
                                 (long long)(unit(&r) < 0.1 ? tr->min_sum_insured_fen * 4 / 5
                                                            : tr->min_sum_insured_fen));
                    snprintf(who, sizeof who, "\"%s\":\"W%06ld\"",
                             tr->scope == CL_SCOPE_FAMILY ? "family_id" : "worker_id", i + 1);
                    emit(g, 2, 1,
                         "{\"schema\":\"careledger/1\",\"occurred_at\":\"%sT10:00:00+08:00\","
                         "\"event_id\":\"bd-%s-W%06ld-%ld\",\"type\":\"benefit.delivered\","
                         "\"measure\":\"%s\",%s,\"date\":\"%s\"%s}",
                         day_str(o, d, day), tr->id, i + 1, n, tr->id, who, day, money);
                    g->res->deliveries++;
                }
            }
    }
    /* Unit-scoped tracks: each unit with frontline days, most of them served. */
    for (long u = 0; u < w->n_units; u++) {
        unit_rec_t *x = &w->units[u];
        rng_t r = stream(o->seed, 50000000ULL + (uint64_t)u);
        cl_resolved_t res;
        if (x->first_day < 0 || settings_of(g, x->region, &res) != 0 || !res.policy)
            continue;
        for (size_t m = 0; m < res.policy->n_measures; m++)
            for (size_t t = 0; t < res.policy->measures[m].n_tracks; t++) {
                const cl_track_t *tr = &res.policy->measures[m].tracks[t];
                if ((tr->kind != CL_TRACK_ONCE && tr->kind != CL_TRACK_RECURRING) ||
                    tr->scope != CL_SCOPE_UNIT || unit(&r) >= 0.8)
                    continue;
                long step = tr->kind == CL_TRACK_RECURRING && tr->cadence_days > 0
                                ? tr->cadence_days
                                : o->days + 1;
                for (long d = x->first_day + pick(&r, 10), n = 0; d < o->days; d += step, n++) {
                    emit(g, 2, 0,
                         "{\"schema\":\"careledger/1\",\"occurred_at\":\"%sT10:00:00+08:00\","
                         "\"event_id\":\"bu-%s-%s-%ld\",\"type\":\"benefit.delivered\","
                         "\"measure\":\"%s\",\"unit_id\":\"%s\",\"date\":\"%s\"}",
                         day_str(o, d, day), tr->id, x->id, n, tr->id, x->id, day);
                    g->res->deliveries++;
                }
            }
    }
}

/** @brief Monthly payments (some short, some over, some not yet), injuries, budgets and
 * statuses. */
static void money(gen_t *g, world_t *w)
{
    const cl_gen_opts_t *o = g->o;
    rng_t r = stream(o->seed, 5);
    char day[CL_DATE_LEN], month[CL_MONTH_LEN];
    static const char *const FUNDING[] = {"central", "provincial", "city", "district"};
    int32_t last = o->start + o->days - 1;
    for (long i = 0; i < w->n_workers; i++) {
        worker_rec_t *k = &w->workers[i];
        unit_rec_t *u = &w->units[k->unit];
        for (int m = 0; m < w->n_months; m++) {
            int64_t fen = k->month_fen[m];
            u->est_fen += fen;
            if (fen <= 0)
                continue;
            int32_t mon = w->month0 + m;
            int32_t paid_on = cl_month_first_day(mon + 1) + 4 + (int32_t)pick(&r, 22);
            double p = unit(&r);
            if (paid_on > last + 20 || p < 0.06)
                continue; /* not paid yet: arrears */
            int64_t amount = p < 0.16   ? fen * (50 + pick(&r, 40)) / 100 /* short */
                             : p < 0.20 ? fen + 10000 * (1 + pick(&r, 5)) /* over */
                                        : fen;
            cl_date_format(paid_on, day);
            emit(g, 2, 0,
                 "{\"schema\":\"careledger/1\",\"occurred_at\":\"%sT15:00:00+08:00\","
                 "\"event_id\":\"pay-W%06ld-%d\",\"type\":\"subsidy.paid\",\"worker_id\":"
                 "\"W%06ld\",\"unit_id\":\"%s\",\"line\":\"temp_subsidy\",\"period\":\"%s\","
                 "\"amount_fen\":%lld,\"date\":\"%s\",\"funding\":\"%s\"}",
                 day, i + 1, m, i + 1, u->id, cl_month_format(mon, month), (long long)amount, day,
                 k->deployed ? "central" : FUNDING[1 + (i % 3)]);
            g->res->payments++;
        }
        /* Work injuries (infection at work): about 1 in 150 frontline workers. */
        if (k->first_day >= 0 && unit(&r) < 0.0067) {
            long rep = k->first_day + 3 + pick(&r, 20);
            if (rep >= o->days)
                continue;
            k->injured = 1;
            k->injury_day = rep;
            emit(g, 2, 0,
                 "{\"schema\":\"careledger/1\",\"occurred_at\":\"%sT09:00:00+08:00\","
                 "\"event_id\":\"inj-W%06ld\",\"type\":\"injury.reported\",\"case_id\":"
                 "\"C-W%06ld\",\"worker_id\":\"W%06ld\",\"date\":\"%s\"}",
                 day_str(o, rep, day), i + 1, i + 1, i + 1, day);
            g->res->injuries++;
            double p = unit(&r);
            long rec = p < 0.6 ? rep : p < 0.85 ? rep + 1 + pick(&r, 3) : rep + 10 + pick(&r, 10);
            if (p < 0.95 && rec < o->days) {
                emit(g, 2, 0,
                     "{\"schema\":\"careledger/1\",\"occurred_at\":\"%sT16:00:00+08:00\","
                     "\"event_id\":\"injr-W%06ld\",\"type\":\"injury.recognized\",\"case_id\":"
                     "\"C-W%06ld\",\"date\":\"%s\"}",
                     day_str(o, rec, day), i + 1, i + 1, day);
                long paid = rec + 5 + pick(&r, 40);
                if (paid < o->days)
                    emit(g, 2, 0,
                         "{\"schema\":\"careledger/1\",\"occurred_at\":\"%sT16:00:00+08:00\","
                         "\"event_id\":\"injp-W%06ld\",\"type\":\"injury.paid\",\"case_id\":"
                         "\"C-W%06ld\",\"date\":\"%s\",\"amount_fen\":%lld}",
                         day_str(o, paid, day), i + 1, i + 1, day,
                         (long long)(5000000 + pick(&r, 16) * 1000000));
            }
        }
    }
    /* Budgets: each unit's subsidy at 70–160% of what it will owe (some overrun), and a
     * region budget per jurisdiction for its money measures. */
    for (long u = 0; u < w->n_units; u++) {
        unit_rec_t *x = &w->units[u];
        if (x->est_fen <= 0)
            continue;
        int64_t amount = x->est_fen * (70 + pick(&r, 91)) / 100 / 10000 * 10000 + 10000;
        emit(g, 0, 0,
             "{\"schema\":\"careledger/1\",\"occurred_at\":\"2020-01-25T09:00:00+08:00\","
             "\"event_id\":\"bud-%s\",\"type\":\"budget.allocated\",\"budget_id\":\"B-%s\","
             "\"scope\":\"%s\",\"line\":\"temp_subsidy\",\"amount_fen\":%lld,\"from\":"
             "\"2020-01-24\",\"to\":\"2020-12-31\",\"funding\":\"%s\"}",
             x->id, x->id, x->id, (long long)amount, FUNDING[1 + (u % 3)]);
    }
    for (size_t j = 0; j < NJUR; j++) {
        cl_resolved_t res;
        int reg = region_index(JURS[j].code);
        if (reg < 0 || settings_of(g, reg, &res) != 0 || !res.policy)
            continue;
        const cl_policy_t *p = res.policy;
        for (size_t m = 0; m < p->n_measures; m++)
            for (size_t t = 0; t < p->measures[m].n_tracks; t++) {
                const cl_track_t *tr = &p->measures[m].tracks[t];
                if (tr->line[0] && tr->kind != CL_TRACK_ENTITLEMENT)
                    emit(g, 0, 0,
                         "{\"schema\":\"careledger/1\",\"occurred_at\":\"2020-01-25T10:00:00+08:"
                         "00\",\"event_id\":\"bud-%s-%s\",\"type\":\"budget.allocated\","
                         "\"budget_id\":\"B-%s-%s\",\"scope\":\"%s\",\"line\":\"%s\","
                         "\"amount_fen\":%lld,\"from\":\"2020-01-24\",\"to\":\"2020-12-31\","
                         "\"funding\":\"provincial\"}",
                         JURS[j].code, tr->id, JURS[j].code, tr->id, JURS[j].code, tr->line,
                         (long long)(w->n_workers * 100000LL * (long long)(1 + pick(&r, 3))));
                if (tr->kind != CL_TRACK_STATUS)
                    continue;
                /* Status measures move from planned to in progress, most to done. */
                static const char *const ST[] = {"planned", "in_progress", "done"};
                int upto = (int)pick(&r, 3);
                for (int s = 0; s <= upto; s++) {
                    long d = s * (o->days / 3) + pick(&r, 5);
                    if (d >= o->days)
                        break;
                    emit(g, 2, 0,
                         "{\"schema\":\"careledger/1\",\"occurred_at\":\"%sT17:00:00+08:00\","
                         "\"event_id\":\"st-%s-%s-%d\",\"type\":\"measure.status\",\"region\":"
                         "\"%s\",\"measure\":\"%s\",\"status\":\"%s\",\"date\":\"%s\"}",
                         day_str(o, d, day), JURS[j].code, tr->id, s, JURS[j].code, tr->id, ST[s],
                         day);
                }
            }
    }
}

/** @brief Flush every held-back line, in due order. */
static void flush_late(gen_t *g)
{
    for (int t = 0; t < CL_GEN_TOPICS; t++) {
        out_t *o = &g->out[t];
        while (o->n_pend) {
            size_t best = 0;
            for (size_t i = 1; i < o->n_pend; i++)
                if (o->pend[i].due < o->pend[best].due)
                    best = i;
            char *l = o->pend[best].line;
            o->pend[best] = o->pend[--o->n_pend];
            write_line(g, t, l);
            free(l);
        }
        free(o->pend);
        o->pend = NULL;
        o->cap_pend = 0;
    }
}

/** @brief Reasons in name order. */
static int by_reason_cb(const void *a, const void *b)
{
    return strcmp(a, b);
}

/** @brief Write DIR/expected.json; 0 or -1. */
static int write_expected(const char *dir, const cl_gen_result_t *e)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/expected.json", dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f, "{\"lines\":{");
    for (int t = 0; t < CL_GEN_TOPICS; t++)
        fprintf(f, "%s\"%s\":%ld", t ? "," : "", cl_gen_topics[t], e->lines[t]);
    fprintf(f, "},\"accepted\":%ld,\"duplicates\":%ld,\"dead_letters\":{", e->accepted,
            e->duplicates);
    for (int i = 0; i < e->n_reasons; i++)
        fprintf(f, "%s\"%s\":%ld", i ? "," : "", e->reasons[i].reason, e->reasons[i].n);
    fprintf(f,
            "},\"regions\":%ld,\"units\":%ld,\"workers\":%ld,\"shifts\":%ld,\"deployments\":%ld,"
            "\"deliveries\":%ld,\"payments\":%ld,\"injuries\":%ld}\n",
            e->regions, e->units, e->workers, e->shifts, e->deployments, e->deliveries, e->payments,
            e->injuries);
    return fclose(f) == 0 ? 0 : -1;
}

/** @brief Generate the dataset. */
int cl_gen_run(const cl_gen_opts_t *opts, const char *dir, cl_gen_result_t *res, char *err,
               size_t errsize)
{
    gen_t g = {.o = opts, .res = res, .noise = stream(opts->seed, 9)};
    world_t w = {0};
    int rc = -1;
    memset(res, 0, sizeof *res);
    for (int t = 0; t < CL_GEN_TOPICS; t++) {
        snprintf(res->files[t], sizeof res->files[t], "%s/%s.jsonl", dir, cl_gen_topics[t]);
        if (!(g.out[t].f = fopen(res->files[t], "w"))) {
            snprintf(err, errsize, "cannot write %s: %s", res->files[t], strerror(errno));
            goto done;
        }
    }
    if (make_world(&g, &w) != 0) {
        snprintf(err, errsize, "out of memory for %ld workers", opts->workers);
        goto done;
    }
    reference(&g, &w);
    shifts(&g, &w);
    money(&g, &w); /* injuries first: infected-worker measures need them */
    deliveries(&g, &w);
    /* Too large: one event over 64 KiB when bad lines are asked for. */
    if (opts->bad_rate > 0) {
        static char big[66 * 1024];
        int n = snprintf(big, sizeof big,
                         "{" OCC ",\"event_id\":\"big-1\",\"type\":\"injury.recognized\","
                         "\"case_id\":\"K\",\"date\":\"2020-02-01\",\"pad\":\"");
        memset(big + n, 'x', 65536);
        snprintf(big + n + 65536, sizeof big - (size_t)n - 65536, "\"}");
        write_line(&g, 2, big);
        expect_dead(res, "too_large");
    }
    flush_late(&g);
    qsort(res->reasons, (size_t)res->n_reasons, sizeof res->reasons[0], by_reason_cb);
    if (g.failed) {
        snprintf(err, errsize, "cannot write the dataset under %s: %s", dir, strerror(errno));
        goto done;
    }
    rc = 0;
done:
    for (int t = 0; t < CL_GEN_TOPICS; t++)
        if (g.out[t].f && fclose(g.out[t].f) != 0 && rc == 0) {
            snprintf(err, errsize, "cannot write %s: %s", res->files[t], strerror(errno));
            rc = -1;
        }
    if (rc == 0 && write_expected(dir, res) != 0) {
        snprintf(err, errsize, "cannot write %s/expected.json: %s", dir, strerror(errno));
        rc = -1;
    }
    for (long i = 0; w.workers && i < w.n_workers; i++)
        free(w.workers[i].month_fen);
    free(w.workers);
    free(w.units);
    for (int t = 0; t < CL_GEN_TOPICS; t++)
        for (size_t i = 0; i < g.out[t].n_pend; i++)
            free(g.out[t].pend[i].line);
    return rc;
}
