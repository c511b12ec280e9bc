-- Automatic detection on the public pages (PostgreSQL): an open proposal shows as "detected
-- automatically, being confirmed by staff", so opening or deciding one moves the status topic of
-- the shared change signal (and notifies its listeners).
CREATE TRIGGER change_signal_proposals AFTER INSERT OR UPDATE OF status ON detect_proposals
    FOR EACH STATEMENT EXECUTE FUNCTION kabar_status_changed();
