-- The staff API's in-memory audience index (PostgreSQL): one version per office, bumped by
-- statement triggers in the transaction of every write that changes who a state change of the
-- office would reach (its bookings, or the channels and language of an applicant booked there).
-- A reader that read the version before the rows knows its copy is current while the version
-- stands. Statement triggers with transition tables bump each office once per statement, not
-- once per row.
CREATE TABLE booking_versions (
    office_code TEXT PRIMARY KEY REFERENCES offices (code),
    version     BIGINT NOT NULL
);
INSERT INTO booking_versions (office_code, version) SELECT code, 0 FROM offices;

CREATE FUNCTION kabar_booking_office_added() RETURNS trigger AS $$
BEGIN
    INSERT INTO booking_versions (office_code, version) VALUES (NEW.code, 0) ON CONFLICT DO NOTHING;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER booking_versions_office AFTER INSERT ON offices
    FOR EACH ROW EXECUTE FUNCTION kabar_booking_office_added();

-- The offices of the rows a statement wrote: `new_rows` for an insert, `old_rows` for a delete,
-- both for an update (a booking that moved changes two offices).
CREATE FUNCTION kabar_bookings_changed() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE booking_versions SET version = version + 1
        WHERE office_code IN (SELECT office_code FROM new_rows);
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE booking_versions SET version = version + 1
        WHERE office_code IN (SELECT office_code FROM old_rows);
    ELSE
        UPDATE booking_versions SET version = version + 1
        WHERE office_code IN (SELECT office_code FROM new_rows UNION SELECT office_code FROM old_rows);
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER booking_versions_insert AFTER INSERT ON bookings
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION kabar_bookings_changed();
CREATE TRIGGER booking_versions_update AFTER UPDATE ON bookings
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION kabar_bookings_changed();
CREATE TRIGGER booking_versions_delete AFTER DELETE ON bookings
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION kabar_bookings_changed();

CREATE FUNCTION kabar_applicants_reach_changed() RETURNS trigger AS $$
BEGIN
    UPDATE booking_versions SET version = version + 1
    WHERE office_code IN (
        SELECT b.office_code FROM bookings b
        JOIN new_rows n ON n.id = b.applicant_id
        JOIN old_rows o ON o.id = n.id
        WHERE n.email IS DISTINCT FROM o.email OR n.language IS DISTINCT FROM o.language
           OR n.whatsapp_opted_out <> o.whatsapp_opted_out OR n.sms_opted_out <> o.sms_opted_out
           OR n.email_opted_out <> o.email_opted_out);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER booking_versions_reach AFTER UPDATE ON applicants
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION kabar_applicants_reach_changed();
