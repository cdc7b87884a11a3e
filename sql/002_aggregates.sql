-- careledger schema 2: keyed facts (R5) and per-worker derived rows (R1, R2),
-- maintained in the ingest transaction. Reports sum these "as of D"; `careledger
-- verify` recomputes them from raw facts by its own SQL and compares.

SET LOCAL search_path = careledger;

-- Dead letters belong to the consumer group that read them, like the counts.
ALTER TABLE dead_letters ADD COLUMN consumer_group text NOT NULL DEFAULT '';
DROP INDEX dead_letters_reason;
CREATE INDEX dead_letters_group_reason ON dead_letters (consumer_group, reason);

-- Indexes the per-batch recomputation reads raw facts by.
CREATE INDEX events_worker ON events (worker_id, type) WHERE worker_id IS NOT NULL;
CREATE INDEX events_cancels ON events (cancels) WHERE cancels IS NOT NULL;
CREATE INDEX events_deployment ON events (deployment_id) WHERE deployment_id IS NOT NULL;
CREATE INDEX events_unit_shift ON events (unit_id) WHERE type = 'shift.completed';

-- R5: for each key the latest occurred_at wins (tie: the larger event_id).
CREATE TABLE regions (
    code        text PRIMARY KEY,
    name        text NOT NULL,
    parent      text,
    level       text NOT NULL,
    occurred_at timestamptz NOT NULL,
    event_id    text NOT NULL
);
CREATE TABLE units (
    unit_id     text PRIMARY KEY,
    name        text NOT NULL,
    region      text NOT NULL,
    kind        text NOT NULL,
    level       text NOT NULL,
    occurred_at timestamptz NOT NULL,
    event_id    text NOT NULL
);
CREATE TABLE workers (
    worker_id        text PRIMARY KEY,
    unit_id          text NOT NULL,
    role             text NOT NULL,
    staff            text NOT NULL,
    family_id        text NOT NULL,
    spouse_worker_id text,
    children         integer NOT NULL,
    elders           integer NOT NULL,
    occurred_at      timestamptz NOT NULL,
    event_id         text NOT NULL
);
CREATE INDEX workers_unit ON workers (unit_id);
CREATE TABLE budgets (
    budget_id   text PRIMARY KEY,
    scope       text NOT NULL,
    line        text NOT NULL,
    amount_fen  bigint NOT NULL,
    from_date   date NOT NULL,
    to_date     date NOT NULL,
    funding     text NOT NULL,
    occurred_at timestamptz NOT NULL,
    event_id    text NOT NULL
);
-- Deployment starts and ends are keyed separately (R5), merged here.
CREATE TABLE deployment_starts (
    deployment_id text PRIMARY KEY,
    worker_id     text NOT NULL,
    team          text NOT NULL,
    destination   text NOT NULL,
    date          date NOT NULL,
    exposure      text NOT NULL,
    occurred_at   timestamptz NOT NULL,
    event_id      text NOT NULL
);
CREATE INDEX deployment_starts_worker ON deployment_starts (worker_id);
CREATE TABLE deployment_ends (
    deployment_id text PRIMARY KEY,
    date          date NOT NULL,
    occurred_at   timestamptz NOT NULL,
    event_id      text NOT NULL
);
-- Injury stages keyed by (case_id, stage).
CREATE TABLE injury_stages (
    case_id     text NOT NULL,
    stage       text NOT NULL,       -- reported / recognized / paid
    worker_id   text,                -- reported only
    date        date NOT NULL,
    amount_fen  bigint,              -- paid only
    occurred_at timestamptz NOT NULL,
    event_id    text NOT NULL,
    PRIMARY KEY (case_id, stage)
);
CREATE TABLE statuses (
    region      text NOT NULL,
    measure     text NOT NULL,
    date        date NOT NULL,
    status      text NOT NULL,
    note        text,
    occurred_at timestamptz NOT NULL,
    event_id    text NOT NULL,
    PRIMARY KEY (region, measure, date)
);

-- R1/R2: one row per worker and local date; kind direct/other/deployed.
CREATE TABLE worker_days (
    worker_id      text NOT NULL,
    date           date NOT NULL,
    kind           text NOT NULL,
    unit_id        text NOT NULL,    -- credited unit ('' when unknown)
    policy_id      text,             -- of the credited unit; NULL when none in force
    admitted       boolean NOT NULL,
    frontline      boolean NOT NULL,
    designated     boolean NOT NULL,
    subsidy_fen    bigint NOT NULL,
    perf_fen       bigint NOT NULL,
    shift_event_id text,
    deployment_id  text,
    PRIMARY KEY (worker_id, date)
);
CREATE INDEX worker_days_unit ON worker_days (unit_id, date);

-- An open deployment: every day from from_date to the report's D is deployed.
CREATE TABLE open_deployments (
    worker_id     text PRIMARY KEY,
    deployment_id text NOT NULL,
    from_date     date NOT NULL,
    unit_id       text NOT NULL,
    policy_id     text,
    subsidy_fen   bigint NOT NULL,   -- per day
    perf_fen      bigint NOT NULL,   -- per day
    frontline     boolean NOT NULL
);

-- The policies in force, each with its settings resolved by inheritance
-- (SPEC §4), written with policy_state; `verify` derives figures from these.
CREATE TABLE policy_settings (
    policy_id      text PRIMARY KEY,
    region         text NOT NULL,
    effective_from date NOT NULL,
    effective_to   date,
    timezone       text NOT NULL,
    frontline      text NOT NULL,      -- any / direct
    direct_fen     bigint NOT NULL,
    other_fen      bigint NOT NULL,
    deploy_rule    text NOT NULL,      -- none / flat / multiplier
    deploy_value   bigint NOT NULL,
    unit_levels    text[],             -- NULL: every level
    perf_basis     text NOT NULL,      -- subsidy / frontline_day
    perf_rate_fen  bigint NOT NULL
);

-- The digest of the policy set the figures were computed with (a changed
-- set recomputes everything), written by whoever ingests.
CREATE TABLE policy_state (
    id          integer PRIMARY KEY CHECK (id = 1),
    digest      text NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
