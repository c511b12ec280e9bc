-- Broadcasts get a lifecycle for four-eyes approval (issue 13): staff draft one and submit it; one
-- reaching more than `[staff] approval_threshold` applicants or more than one office waits,
-- submitted, for a supervisor who is not its author, who approves (it is scheduled) or rejects it
-- with a reason. Only scheduled broadcasts are planned. `kabar broadcast send` schedules at once.
ALTER TABLE broadcasts DROP CONSTRAINT broadcasts_status_check;
ALTER TABLE broadcasts ADD CONSTRAINT broadcasts_status_check
    CHECK (status IN ('draft', 'submitted', 'scheduled', 'planned', 'rejected', 'cancelled'));
ALTER TABLE broadcasts
    ADD COLUMN reach            BIGINT,  -- applicants counted when it was submitted
    ADD COLUMN submitted_by     TEXT,
    ADD COLUMN submitted_at     BIGINT,
    ADD COLUMN approved_by      TEXT,    -- NULL when it needed no approval (or came from the CLI)
    ADD COLUMN approved_at      BIGINT,
    ADD COLUMN rejected_by      TEXT,
    ADD COLUMN rejected_at      BIGINT,
    ADD COLUMN rejection_reason TEXT,
    ADD COLUMN cancelled_by     TEXT;
