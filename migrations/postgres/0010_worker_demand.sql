-- Worker demand (PostgreSQL): a worker with messages in hand is busy. The rate of a provider account is
-- divided among the busy workers that send through it (among all of them while none is busy), so
-- an idle worker's share goes to the others instead of going unused.
ALTER TABLE workers ADD COLUMN busy BIGINT NOT NULL DEFAULT 0;
