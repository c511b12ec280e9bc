-- The staff API's in-memory audience index (SQLite): one version per office, bumped by triggers
-- in the transaction of every write that changes who a state change of the office would reach
-- (its bookings, or the channels and language of an applicant booked there). A reader that
-- read the version before the rows knows its copy is current while the version stands.
CREATE TABLE booking_versions (
    office_code TEXT PRIMARY KEY REFERENCES offices (code),
    version     BIGINT NOT NULL
) WITHOUT ROWID;
INSERT INTO booking_versions (office_code, version) SELECT code, 0 FROM offices;

CREATE TRIGGER booking_versions_office AFTER INSERT ON offices
BEGIN
    INSERT OR IGNORE INTO booking_versions (office_code, version) VALUES (NEW.code, 0);
END;
CREATE TRIGGER booking_versions_insert AFTER INSERT ON bookings
BEGIN
    UPDATE booking_versions SET version = version + 1 WHERE office_code = NEW.office_code;
END;
CREATE TRIGGER booking_versions_update AFTER UPDATE ON bookings
BEGIN
    UPDATE booking_versions SET version = version + 1 WHERE office_code IN (OLD.office_code, NEW.office_code);
END;
CREATE TRIGGER booking_versions_delete AFTER DELETE ON bookings
BEGIN
    UPDATE booking_versions SET version = version + 1 WHERE office_code = OLD.office_code;
END;
CREATE TRIGGER booking_versions_reach
AFTER UPDATE OF email, language, whatsapp_opted_out, sms_opted_out, email_opted_out ON applicants
BEGIN
    UPDATE booking_versions SET version = version + 1
    WHERE office_code IN (SELECT office_code FROM bookings WHERE applicant_id = NEW.id);
END;
