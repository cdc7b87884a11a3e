-- careledger schema 1: raw facts, dead letters, stored consumer offsets.
-- Applied by `careledger migrate` inside one transaction, recorded in
-- careledger.schema_migrations.

CREATE SCHEMA IF NOT EXISTS careledger;
SET LOCAL search_path = careledger;

-- Every accepted event: typed columns for the rules, plus the original JSON.
-- One wide table: a batch is one COPY, and NULL columns cost one bit each.
CREATE TABLE events (
    event_id          text PRIMARY KEY,
    type              text NOT NULL,
    fingerprint       bytea NOT NULL,          -- SHA-256 of the canonical form (R4)
    occurred_at       timestamptz NOT NULL,
    source            text,
    src_topic         text NOT NULL,           -- where it was read (file:NAME for files)
    src_partition     integer NOT NULL,
    src_offset        bigint NOT NULL,
    -- typed columns, by SPEC §3 name
    code              text,
    name              text,
    parent            text,
    level             text,
    unit_id           text,
    region            text,
    kind              text,
    worker_id         text,
    role              text,
    staff             text,
    family_id         text,
    spouse_worker_id  text,
    children          integer,
    elders            integer,
    start_at          timestamptz,
    end_at            timestamptz,
    exposure          text,
    post              text,
    cancels           text,
    reason            text,
    deployment_id     text,
    team              text,
    destination       text,
    date              date,
    measure           text,                    -- the track id named (JL-05, HQ-18b)
    reference         text,
    amount_fen        bigint,
    sum_insured_fen   bigint,
    line              text,
    period            date,                    -- first day of the month (subsidy.paid)
    funding           text,
    case_id           text,
    status            text,
    note              text,
    budget_id         text,
    scope             text,
    from_date         date,
    to_date           date,
    payload           text NOT NULL            -- the message as received (valid UTF-8 JSON)
);

-- Rejected messages, each copy its own row, with the reason code of SPEC §11.
CREATE TABLE dead_letters (
    id            bigserial PRIMARY KEY,
    src_topic     text NOT NULL,
    src_partition integer NOT NULL,
    src_offset    bigint NOT NULL,
    reason        text NOT NULL,
    message       text NOT NULL,
    event_id      text,                        -- when the message named one
    msg_key       bytea,
    payload       bytea NOT NULL,              -- the raw bytes, whatever they were
    received_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX dead_letters_reason ON dead_letters (reason);

-- The consumed position per (group, topic, partition), advanced only in the
-- transaction that stores the batch (a fenced UPDATE, SPEC §6), plus the
-- counts that `careledger status` reports.
CREATE TABLE offsets (
    consumer_group text NOT NULL,
    topic          text NOT NULL,
    partition      integer NOT NULL,
    next_offset    bigint NOT NULL,
    accepted       bigint NOT NULL DEFAULT 0,
    duplicates     bigint NOT NULL DEFAULT 0,
    dead_letters   bigint NOT NULL DEFAULT 0,
    watermark      timestamptz,                -- latest occurred_at accepted here
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer_group, topic, partition)
);
