/**
 * @file event.c
 * @brief Table-driven decoding, validation and fingerprinting of events.
 */
#include "careledger/event.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "careledger/json.h"
#include "careledger/sha256.h"

#define AMOUNT_MAX   1000000000000LL /* 10^12 fen (SPEC §11) */
#define COUNT_MAX    1000            /* children, elders */
#define SHIFT_MAX_US (24LL * 3600 * 1000000)

/** How a field is read and checked. */
typedef enum field_kind {
    F_TEXT,    /* non-empty string */
    F_ID,      /* 1..64 of [A-Za-z0-9._:-] */
    F_CODE,    /* six-digit region code */
    F_ENUM,    /* one of a list */
    F_INSTANT, /* RFC 3339 with offset */
    F_DATE,    /* YYYY-MM-DD */
    F_MONTH,   /* YYYY-MM */
    F_COUNT,   /* integer 0..COUNT_MAX */
    F_AMOUNT,  /* integer fen 0..10^12 */
    F_LINE,    /* [a-z_]{1,31} */
    F_MEASURE, /* a measure (track) id of a loaded policy */
    F_SCOPE,   /* a unit id or a region code */
} field_kind_t;

#define REQ      1 /* must be present */
#define NULLABLE 2 /* required key whose value may be null */

typedef struct field {
    const char *name;
    field_kind_t kind;
    int flags;
    size_t off;                /* offset of the member in cl_event_t */
    const char *const *values; /* F_ENUM */
} field_t;

static const char *const LEVELS_REGION[] = {"province", "city", "district", NULL};
static const char *const UNIT_KINDS[] = {
    "hospital", "designated_hospital", "cdc", "community_health", "clinic", "other", NULL};
static const char *const LEVELS_UNIT[] = {"province", "city", "county", "township", NULL};
static const char *const ROLES[] = {"doctor",        "nurse", "technician",
                                    "public_health", "other", NULL};
static const char *const STAFF[] = {"establishment", "contract", NULL};
static const char *const EXPOSURES[] = {"direct", "other", NULL};
static const char *const LINES_PAID[] = {"temp_subsidy", "performance_pay", NULL};
static const char *const FUNDING[] = {"central", "provincial", "city", "district", NULL};
static const char *const STATUSES[] = {"planned", "in_progress", "done", NULL};

#define S(m) offsetof(cl_event_t, m)

static const field_t F_REGION[] = {{"code", F_CODE, REQ, S(code), NULL},
                                   {"name", F_TEXT, REQ, S(name), NULL},
                                   {"parent", F_CODE, NULLABLE, S(parent), NULL},
                                   {"level", F_ENUM, REQ, S(level), LEVELS_REGION},
                                   {NULL, 0, 0, 0, NULL}};
static const field_t F_UNIT[] = {
    {"unit_id", F_ID, REQ, S(unit_id), NULL},      {"name", F_TEXT, REQ, S(name), NULL},
    {"region", F_CODE, REQ, S(region), NULL},      {"kind", F_ENUM, REQ, S(kind), UNIT_KINDS},
    {"level", F_ENUM, REQ, S(level), LEVELS_UNIT}, {NULL, 0, 0, 0, NULL}};
static const field_t F_WORKER[] = {{"worker_id", F_ID, REQ, S(worker_id), NULL},
                                   {"unit_id", F_ID, REQ, S(unit_id), NULL},
                                   {"role", F_ENUM, REQ, S(role), ROLES},
                                   {"staff", F_ENUM, REQ, S(staff), STAFF},
                                   {"family_id", F_ID, 0, S(family_id), NULL},
                                   {"spouse_worker_id", F_ID, 0, S(spouse_worker_id), NULL},
                                   {"children", F_COUNT, REQ, S(children), NULL},
                                   {"elders", F_COUNT, REQ, S(elders), NULL},
                                   {NULL, 0, 0, 0, NULL}};
static const field_t F_SHIFT[] = {{"worker_id", F_ID, REQ, S(worker_id), NULL},
                                  {"unit_id", F_ID, REQ, S(unit_id), NULL},
                                  {"start", F_INSTANT, REQ, S(start), NULL},
                                  {"end", F_INSTANT, REQ, S(end), NULL},
                                  {"exposure", F_ENUM, REQ, S(exposure), EXPOSURES},
                                  {"post", F_TEXT, 0, S(post), NULL},
                                  {NULL, 0, 0, 0, NULL}};
static const field_t F_CANCEL[] = {{"cancels", F_ID, REQ, S(cancels), NULL},
                                   {"reason", F_TEXT, 0, S(reason), NULL},
                                   {NULL, 0, 0, 0, NULL}};
static const field_t F_DEPLOY_START[] = {{"deployment_id", F_ID, REQ, S(deployment_id), NULL},
                                         {"worker_id", F_ID, REQ, S(worker_id), NULL},
                                         {"team", F_TEXT, REQ, S(team), NULL},
                                         {"destination", F_TEXT, REQ, S(destination), NULL},
                                         {"date", F_DATE, REQ, S(date), NULL},
                                         {"exposure", F_ENUM, 0, S(exposure), EXPOSURES},
                                         {NULL, 0, 0, 0, NULL}};
static const field_t F_DEPLOY_END[] = {{"deployment_id", F_ID, REQ, S(deployment_id), NULL},
                                       {"date", F_DATE, REQ, S(date), NULL},
                                       {NULL, 0, 0, 0, NULL}};
static const field_t F_BENEFIT[] = {{"measure", F_MEASURE, REQ, S(measure), NULL},
                                    {"worker_id", F_ID, 0, S(worker_id), NULL},
                                    {"family_id", F_ID, 0, S(family_id), NULL},
                                    {"unit_id", F_ID, 0, S(unit_id), NULL},
                                    {"date", F_DATE, REQ, S(date), NULL},
                                    {"amount_fen", F_AMOUNT, 0, S(amount_fen), NULL},
                                    {"sum_insured_fen", F_AMOUNT, 0, S(sum_insured_fen), NULL},
                                    {"reference", F_TEXT, 0, S(reference), NULL},
                                    {NULL, 0, 0, 0, NULL}};
static const field_t F_PAID[] = {
    {"worker_id", F_ID, REQ, S(worker_id), NULL},       {"unit_id", F_ID, REQ, S(unit_id), NULL},
    {"line", F_ENUM, REQ, S(line), LINES_PAID},         {"period", F_MONTH, REQ, S(period), NULL},
    {"amount_fen", F_AMOUNT, REQ, S(amount_fen), NULL}, {"date", F_DATE, REQ, S(date), NULL},
    {"funding", F_ENUM, REQ, S(funding), FUNDING},      {NULL, 0, 0, 0, NULL}};
static const field_t F_INJ_REPORTED[] = {{"case_id", F_ID, REQ, S(case_id), NULL},
                                         {"worker_id", F_ID, REQ, S(worker_id), NULL},
                                         {"date", F_DATE, REQ, S(date), NULL},
                                         {NULL, 0, 0, 0, NULL}};
static const field_t F_INJ_RECOGNIZED[] = {{"case_id", F_ID, REQ, S(case_id), NULL},
                                           {"date", F_DATE, REQ, S(date), NULL},
                                           {NULL, 0, 0, 0, NULL}};
static const field_t F_INJ_PAID[] = {{"case_id", F_ID, REQ, S(case_id), NULL},
                                     {"date", F_DATE, REQ, S(date), NULL},
                                     {"amount_fen", F_AMOUNT, REQ, S(amount_fen), NULL},
                                     {NULL, 0, 0, 0, NULL}};
static const field_t F_STATUS[] = {
    {"region", F_CODE, REQ, S(region), NULL},     {"measure", F_MEASURE, REQ, S(measure), NULL},
    {"status", F_ENUM, REQ, S(status), STATUSES}, {"date", F_DATE, REQ, S(date), NULL},
    {"note", F_TEXT, 0, S(note), NULL},           {NULL, 0, 0, 0, NULL}};
static const field_t F_BUDGET[] = {{"budget_id", F_ID, REQ, S(budget_id), NULL},
                                   {"scope", F_SCOPE, REQ, S(scope), NULL},
                                   {"line", F_LINE, REQ, S(line), NULL},
                                   {"amount_fen", F_AMOUNT, REQ, S(amount_fen), NULL},
                                   {"from", F_DATE, REQ, S(from), NULL},
                                   {"to", F_DATE, REQ, S(to), NULL},
                                   {"funding", F_ENUM, REQ, S(funding), FUNDING},
                                   {NULL, 0, 0, 0, NULL}};

static const struct {
    const char *name;
    const field_t *fields;
} TYPES[CL_EV__COUNT] = {
    [CL_EV_REGION_REGISTERED] = {"region.registered", F_REGION},
    [CL_EV_UNIT_REGISTERED] = {"unit.registered", F_UNIT},
    [CL_EV_WORKER_REGISTERED] = {"worker.registered", F_WORKER},
    [CL_EV_SHIFT_COMPLETED] = {"shift.completed", F_SHIFT},
    [CL_EV_SHIFT_CANCELLED] = {"shift.cancelled", F_CANCEL},
    [CL_EV_DEPLOYMENT_STARTED] = {"deployment.started", F_DEPLOY_START},
    [CL_EV_DEPLOYMENT_ENDED] = {"deployment.ended", F_DEPLOY_END},
    [CL_EV_BENEFIT_DELIVERED] = {"benefit.delivered", F_BENEFIT},
    [CL_EV_SUBSIDY_PAID] = {"subsidy.paid", F_PAID},
    [CL_EV_INJURY_REPORTED] = {"injury.reported", F_INJ_REPORTED},
    [CL_EV_INJURY_RECOGNIZED] = {"injury.recognized", F_INJ_RECOGNIZED},
    [CL_EV_INJURY_PAID] = {"injury.paid", F_INJ_PAID},
    [CL_EV_MEASURE_STATUS] = {"measure.status", F_STATUS},
    [CL_EV_BUDGET_ALLOCATED] = {"budget.allocated", F_BUDGET},
};

struct cl_decoder {
    cl_json_scanner_t *scanner;
    const cl_policy_set_t *policies;
    int replay; /* inside cl_event_redecode(): measures not looked up, no fingerprint */
};

/** @brief Create a decoder (borrows @p policies). */
cl_decoder_t *cl_decoder_create(const cl_policy_set_t *policies)
{
    cl_decoder_t *dec = calloc(1, sizeof *dec);
    if (!dec)
        return NULL;
    dec->scanner = cl_json_scanner_create();
    if (!dec->scanner) {
        free(dec);
        return NULL;
    }
    dec->policies = policies;
    return dec;
}

/** @brief Swap the borrowed policy set. */
void cl_decoder_set_policies(cl_decoder_t *dec, const cl_policy_set_t *policies)
{
    dec->policies = policies;
}

/** @brief Free a decoder. */
void cl_decoder_destroy(cl_decoder_t *dec)
{
    if (!dec)
        return;
    cl_json_scanner_destroy(dec->scanner);
    free(dec);
}

/** @brief Free an event's arena. */
void cl_event_release(cl_event_t *ev)
{
    free(ev->arena);
    ev->arena = NULL;
    ev->arena_cap = ev->arena_used = 0;
}

/** @brief The type's SPEC name. */
const char *cl_event_type_name(cl_event_type_t type)
{
    return (unsigned)type < CL_EV__COUNT ? TYPES[type].name : "?";
}

/** @brief Valid id: 1..64 of [A-Za-z0-9._:-]. */
int cl_event_id_valid(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++) {
        char c = s[n];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '-'))
            return 0;
    }
    return n >= 1 && n <= CL_ID_MAX;
}

/** @brief Fill a rejection. */
static int reject(cl_reject_t *rej, const char *code, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int reject(cl_reject_t *rej, const char *code, const char *name, const char *fmt, ...)
{
    if (name)
        snprintf(rej->code, sizeof rej->code, "%s:%s", code, name);
    else
        snprintf(rej->code, sizeof rej->code, "%s", code);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rej->detail, sizeof rej->detail, fmt, ap);
    va_end(ap);
    /* Details quote input cut to a few bytes: keep them valid UTF-8 for storage. */
    cl_utf8_sanitize(rej->detail);
    cl_utf8_sanitize(rej->code);
    return -1;
}

/** @brief Decode a string member into the event's arena. */
static const char *arena_string(cl_event_t *ev, const char *buf, const cl_json_member_t *m)
{
    /* The arena was sized for the whole message before decoding. */
    char *dst = ev->arena + ev->arena_used;
    long n = cl_json_unescape(buf + m->off, m->len, dst, ev->arena_cap - ev->arena_used);
    if (n < 0)
        return NULL;
    ev->arena_used += (size_t)n + 1;
    return dst;
}

/** @brief Intern a literal (an enum value) so the event never points into the table. */
static const char *enum_value(const char *const *values, const char *s)
{
    for (size_t i = 0; values[i]; i++)
        if (strcmp(values[i], s) == 0)
            return values[i];
    return NULL;
}

/** @brief 1 if s is [a-z_]{1,31}. */
static int line_valid(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!((s[n] >= 'a' && s[n] <= 'z') || s[n] == '_'))
            return 0;
    return n >= 1 && n < 32;
}

/** @brief Read one field of the table into the event. */
static int decode_field(cl_decoder_t *dec, const char *buf, const field_t *f, cl_event_t *ev,
                        cl_reject_t *rej)
{
    const cl_json_member_t *m = cl_json_get(dec->scanner, f->name);
    char *base = (char *)ev;
    if (!m || (m->type == 'z' && !(f->flags & NULLABLE))) {
        if (!m && (f->flags & (REQ | NULLABLE)))
            return reject(rej, "missing_field", f->name, "%s is required", f->name);
        if (m && (f->flags & REQ))
            return reject(rej, "bad_type", f->name, "%s must not be null", f->name);
        return 0; /* optional and absent (or null) */
    }
    if (m->type == 'z')
        return 0; /* nullable and null: stays NULL */

    switch (f->kind) {
    case F_COUNT:
    case F_AMOUNT: {
        if (m->type != 'n')
            return reject(rej, "bad_type", f->name, "%s must be a JSON integer", f->name);
        int64_t v;
        cl_json_int_status_t st = cl_json_int(buf + m->off, m->len, &v);
        const char *code = f->kind == F_AMOUNT ? "bad_amount" : "bad_value";
        if (st == CL_JSON_INT_FRACTION)
            return reject(rej, code, f->name, "%s must be an integer", f->name);
        int64_t max = f->kind == F_AMOUNT ? AMOUNT_MAX : COUNT_MAX;
        if (st == CL_JSON_INT_RANGE || v < 0 || v > max)
            return reject(rej, code, f->name, "%s must be between 0 and %lld", f->name,
                          (long long)max);
        *(int64_t *)(base + f->off) = v;
        if (f->off == S(amount_fen))
            ev->present |= CL_EVF_AMOUNT;
        else if (f->off == S(sum_insured_fen))
            ev->present |= CL_EVF_SUM_INSURED;
        return 0;
    }
    default:
        break;
    }

    if (m->type != 's')
        return reject(rej, "bad_type", f->name, "%s must be a string", f->name);
    if (m->has_nul)
        return reject(rej, "bad_value", f->name, "%s holds U+0000", f->name);
    const char *s = arena_string(ev, buf, m);
    if (!s)
        return reject(rej, "bad_value", f->name, "%s could not be decoded", f->name);

    switch (f->kind) {
    case F_TEXT:
        if (!*s)
            return reject(rej, "bad_value", f->name, "%s must not be empty", f->name);
        break;
    case F_ID:
        if (!cl_event_id_valid(s))
            return reject(rej, "bad_value", f->name,
                          "%s must be 1..64 characters of [A-Za-z0-9._:-]", f->name);
        break;
    case F_CODE:
        if (!cl_region_code_valid(s))
            return reject(rej, "bad_value", f->name, "%s must be a six-digit region code", f->name);
        break;
    case F_SCOPE:
        if (!cl_event_id_valid(s))
            return reject(rej, "bad_value", f->name, "%s must be a unit_id or a region code",
                          f->name);
        break;
    case F_LINE:
        if (!line_valid(s))
            return reject(rej, "bad_value", f->name, "%s must match [a-z_]{1,31}", f->name);
        break;
    case F_ENUM: {
        const char *v = enum_value(f->values, s);
        if (!v)
            return reject(rej, "bad_value", f->name, "%s: \"%.40s\" is not an allowed value",
                          f->name, s);
        s = v;
        break;
    }
    case F_INSTANT: {
        int64_t us;
        if (cl_instant_parse(s, &us) != 0)
            return reject(rej, "bad_time", f->name, "%s must be an RFC 3339 date-time with offset",
                          f->name);
        *(int64_t *)(base + f->off) = us;
        return 0;
    }
    case F_DATE: {
        int32_t d;
        if (cl_date_parse(s, &d) != 0)
            return reject(rej, "bad_time", f->name, "%s must be a real date YYYY-MM-DD", f->name);
        *(int32_t *)(base + f->off) = d;
        return 0;
    }
    case F_MONTH: {
        int32_t mo;
        if (cl_month_parse(s, &mo) != 0)
            return reject(rej, "bad_time", f->name, "%s must be a month YYYY-MM", f->name);
        *(int32_t *)(base + f->off) = mo;
        return 0;
    }
    case F_MEASURE: {
        if (dec->replay)
            break; /* checked when first decoded, under the policies of that moment */
        const cl_track_t *t = dec->policies ? cl_policy_set_track(dec->policies, s) : NULL;
        if (!t)
            return reject(rej, "unknown_measure", NULL,
                          "no loaded policy has measure \"%.20s\" (a measure with several "
                          "tracks is named with its letter, e.g. HQ-18b)",
                          s);
        ev->track = t;
        break;
    }
    default:
        break;
    }
    *(const char **)(base + f->off) = s;
    return 0;
}

/** @brief Rules that involve more than one field. */
static int cross_checks(cl_event_t *ev, cl_reject_t *rej)
{
    switch (ev->type) {
    case CL_EV_WORKER_REGISTERED:
        if (!ev->family_id)
            ev->family_id = ev->worker_id; /* SPEC §3: family_id defaults to worker_id */
        break;
    case CL_EV_SHIFT_COMPLETED:
        if (ev->end <= ev->start)
            return reject(rej, "bad_time", "end", "end must be after start");
        if (ev->end - ev->start > SHIFT_MAX_US)
            return reject(rej, "bad_time", "end", "a shift may last at most 24 hours");
        break;
    case CL_EV_DEPLOYMENT_STARTED:
        if (!ev->exposure)
            ev->exposure = EXPOSURES[0]; /* "direct" */
        break;
    case CL_EV_BUDGET_ALLOCATED:
        if (ev->to < ev->from)
            return reject(rej, "bad_time", "to", "to must not be before from");
        break;
    case CL_EV_BENEFIT_DELIVERED: {
        const cl_track_t *t = ev->track;
        if (!t)
            break; /* cl_event_redecode(): checked when first decoded */
        if (t->kind == CL_TRACK_STATUS || t->kind == CL_TRACK_ENTITLEMENT ||
            t->kind == CL_TRACK_SLA)
            return reject(rej, "bad_value", "measure", "%s is counted by %s, not by deliveries",
                          t->id,
                          t->kind == CL_TRACK_STATUS        ? "measure.status"
                          : t->kind == CL_TRACK_ENTITLEMENT ? "subsidy.paid"
                                                            : "injury events");
        static const char *const scope_key[] = {NULL, "worker_id", "family_id", "unit_id"};
        const char *have[4] = {NULL, ev->worker_id, ev->family_id, ev->unit_id};
        const char *want = scope_key[t->scope];
        if (!have[t->scope])
            return reject(rej, "missing_field", want, "%s is %s-scoped: %s is required", t->id,
                          cl_scope_name(t->scope), want);
        for (int s = 1; s <= 3; s++)
            if (s != (int)t->scope && have[s])
                return reject(rej, "bad_value", scope_key[s], "%s is %s-scoped: give %s only",
                              t->id, cl_scope_name(t->scope), want);
        break;
    }
    case CL_EV_MEASURE_STATUS:
        if (ev->track && ev->track->kind != CL_TRACK_STATUS)
            return reject(rej, "bad_value", "measure",
                          "%s is counted per %s, not by measure.status", ev->track->id,
                          cl_track_kind_name(ev->track->kind));
        break;
    default:
        break;
    }
    return 0;
}

/** @brief Feed one tagged, length-prefixed value to the fingerprint. */
static void fp_put(cl_sha256_t *h, const char *name, char tag, const char *val, size_t len)
{
    uint8_t hdr[5];
    size_t nl = strlen(name);
    cl_sha256_update(h, name, nl);
    hdr[0] = (uint8_t)tag;
    hdr[1] = (uint8_t)(len >> 24);
    hdr[2] = (uint8_t)(len >> 16);
    hdr[3] = (uint8_t)(len >> 8);
    hdr[4] = (uint8_t)len;
    cl_sha256_update(h, hdr, 5);
    cl_sha256_update(h, val, len);
}

/** @brief Canonical form: every field in table order, defaults applied, instants in UTC. */
static void fingerprint(cl_event_t *ev)
{
    cl_sha256_t h;
    char num[32];
    cl_sha256_init(&h);
    cl_sha256_update(&h, "careledger-fp/1", 15);
    fp_put(&h, "schema", 's', ev->schema, strlen(ev->schema));
    fp_put(&h, "event_id", 's', ev->event_id, strlen(ev->event_id));
    fp_put(&h, "type", 's', TYPES[ev->type].name, strlen(TYPES[ev->type].name));
    snprintf(num, sizeof num, "%lld", (long long)ev->occurred_at);
    fp_put(&h, "occurred_at", 't', num, strlen(num));
    if (ev->source)
        fp_put(&h, "source", 's', ev->source, strlen(ev->source));
    const char *base = (const char *)ev;
    for (const field_t *f = TYPES[ev->type].fields; f->name; f++) {
        switch (f->kind) {
        case F_COUNT:
        case F_AMOUNT: {
            int present = f->flags & REQ;
            if (f->off == S(amount_fen))
                present = ev->present & CL_EVF_AMOUNT;
            else if (f->off == S(sum_insured_fen))
                present = ev->present & CL_EVF_SUM_INSURED;
            if (present) {
                snprintf(num, sizeof num, "%lld", (long long)*(const int64_t *)(base + f->off));
                fp_put(&h, f->name, 'i', num, strlen(num));
            }
            break;
        }
        case F_INSTANT:
            snprintf(num, sizeof num, "%lld", (long long)*(const int64_t *)(base + f->off));
            fp_put(&h, f->name, 't', num, strlen(num));
            break;
        case F_DATE:
        case F_MONTH:
            snprintf(num, sizeof num, "%ld", (long)*(const int32_t *)(base + f->off));
            fp_put(&h, f->name, f->kind == F_DATE ? 'd' : 'm', num, strlen(num));
            break;
        default: {
            const char *s = *(const char *const *)(base + f->off);
            if (s)
                fp_put(&h, f->name, 's', s, strlen(s));
            else if (f->flags & NULLABLE)
                fp_put(&h, f->name, 'z', "", 0);
        }
        }
    }
    cl_sha256_final(&h, ev->fingerprint);
}

/** @brief Reset the event and size its arena for a message of @p len bytes. */
static int event_reset(cl_event_t *ev, size_t len)
{
    char *arena = ev->arena;
    size_t cap = ev->arena_cap;
    memset(ev, 0, sizeof *ev);
    /* Each member is decoded at most once (a key given twice is refused), and a string's
     * decoded form plus its NUL is shorter than its token with quotes: the message's length
     * bounds the whole arena. The slack only saves a regrowth for slightly longer messages. */
    size_t need = (len + 64) & ~(size_t)63;
    if (cap < need) {
        char *a = realloc(arena, need);
        if (!a) {
            ev->arena = arena;
            ev->arena_cap = cap;
            return -1;
        }
        arena = a;
        cap = need;
    }
    ev->arena = arena;
    ev->arena_cap = cap;
    return 0;
}

/** @brief Decode an envelope string member. */
static int envelope_string(cl_decoder_t *dec, const char *buf, cl_event_t *ev, const char *name,
                           int required, const char **out, cl_reject_t *rej)
{
    const cl_json_member_t *m = cl_json_get(dec->scanner, name);
    if (!m || (m->type == 'z' && !required))
        return required ? reject(rej, "missing_field", name, "%s is required", name) : 0;
    if (m->type != 's')
        return reject(rej, "bad_type", name, "%s must be a string", name);
    if (m->has_nul)
        return reject(rej, "bad_value", name, "%s holds U+0000", name);
    *out = arena_string(ev, buf, m);
    if (!*out)
        return reject(rej, "bad_value", name, "%s could not be decoded", name);
    return 0;
}

/** @brief 1 if @p s is careledger/1 or careledger/1.N. */
static int schema_supported(const char *s)
{
    if (strncmp(s, "careledger/1", 12) != 0)
        return 0;
    if (s[12] == '\0')
        return 1;
    if (s[12] != '.' || !s[13])
        return 0;
    for (const char *p = s + 13; *p; p++)
        if (*p < '0' || *p > '9')
            return 0;
    return 1;
}

/** @brief Decode and validate one message. */
int cl_event_decode(cl_decoder_t *dec, const char *buf, size_t len, cl_event_t *ev,
                    cl_reject_t *rej)
{
    char why[160];
    rej->code[0] = rej->detail[0] = '\0';
    if (len > CL_EVENT_MAX_BYTES)
        return reject(rej, "too_large", NULL, "%zu bytes, at most %d", len, CL_EVENT_MAX_BYTES);
    if (event_reset(ev, len) != 0)
        return reject(rej, "too_large", NULL, "out of memory for %zu bytes", len);
    switch (cl_json_scan(dec->scanner, buf, len, why, sizeof why)) {
    case CL_JSON_OK:
        break;
    case CL_JSON_BAD_UTF8:
        return reject(rej, "invalid_utf8", NULL, "%s", why);
    default:
        return reject(rej, "invalid_json", NULL, "%s", why);
    }

    const char *type = NULL;
    if (envelope_string(dec, buf, ev, "schema", 1, &ev->schema, rej))
        return -1;
    if (!schema_supported(ev->schema))
        return reject(rej, "unsupported_schema", NULL, "schema \"%.40s\" (expected careledger/1)",
                      ev->schema);
    if (envelope_string(dec, buf, ev, "type", 1, &type, rej))
        return -1;
    int t = -1;
    for (int i = 0; i < CL_EV__COUNT; i++)
        if (strcmp(TYPES[i].name, type) == 0)
            t = i;
    if (t < 0)
        return reject(rej, "unknown_type", NULL, "type \"%.40s\"", type);
    ev->type = (cl_event_type_t)t;
    if (envelope_string(dec, buf, ev, "event_id", 1, &ev->event_id, rej))
        return -1;
    if (!cl_event_id_valid(ev->event_id))
        return reject(rej, "bad_value", "event_id",
                      "event_id must be 1..64 characters of [A-Za-z0-9._:-]");
    const char *occurred = NULL;
    if (envelope_string(dec, buf, ev, "occurred_at", 1, &occurred, rej))
        return -1;
    if (cl_instant_parse(occurred, &ev->occurred_at) != 0)
        return reject(rej, "bad_time", "occurred_at",
                      "occurred_at must be an RFC 3339 date-time with offset");
    if (envelope_string(dec, buf, ev, "source", 0, &ev->source, rej))
        return -1;

    for (const field_t *f = TYPES[t].fields; f->name; f++)
        if (decode_field(dec, buf, f, ev, rej))
            return -1;
    if (cross_checks(ev, rej))
        return -1;
    if (!dec->replay)
        fingerprint(ev);
    return 0;
}

/** @brief Decode again a message this decoder accepted before (no checks of policies). */
int cl_event_redecode(cl_decoder_t *dec, const char *buf, size_t len, cl_event_t *ev)
{
    if (len <= CL_EVENT_MAX_BYTES && event_reset(ev, len) != 0)
        return -2; /* out of memory: not the message's fault */
    cl_reject_t rej;
    dec->replay = 1;
    int rc = cl_event_decode(dec, buf, len, ev, &rej);
    dec->replay = 0;
    return rc;
}

/** @brief Hex of the fingerprint. */
char *cl_event_fingerprint_hex(const cl_event_t *ev, char out[65])
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hex[ev->fingerprint[i] >> 4];
        out[2 * i + 1] = hex[ev->fingerprint[i] & 15];
    }
    out[64] = '\0';
    return out;
}
