-- Worker demand (PostgreSQL): a worker with messages in hand is busy. The rate of a provider account is
-- divided among the busy workers that send through it (among all of them while none is busy), so
-- an idle worker's share goes to the others instead of going unused. Each worker also shows the
-- share it may use now, and takes a larger one only where the others' shown shares leave room.
ALTER TABLE workers ADD COLUMN busy BIGINT NOT NULL DEFAULT 0;
ALTER TABLE workers ADD COLUMN shares TEXT NOT NULL DEFAULT '';  -- account=per_second, space-separated
ALTER TABLE workers ADD COLUMN shrunk_at_ms BIGINT NOT NULL DEFAULT 0;  -- when its shown share last shrank (epoch ms)
