-- Automatic detection on the public pages (SQLite): an open proposal shows as "detected
-- automatically, being confirmed by staff", so opening or deciding one moves the status topic of
-- the shared change signal.
CREATE TRIGGER change_signal_proposal_insert AFTER INSERT ON detect_proposals
BEGIN
    UPDATE change_signal SET version = version + 1 WHERE topic = 'status';
END;
CREATE TRIGGER change_signal_proposal_update AFTER UPDATE OF status ON detect_proposals
BEGIN
    UPDATE change_signal SET version = version + 1 WHERE topic = 'status';
END;
