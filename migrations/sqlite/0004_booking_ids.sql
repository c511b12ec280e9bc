-- A message keeps the ids of the bookings it is about as a JSON array, aggregated by the same
-- GROUP BY that plans it. The separate message_bookings table cost the planner a second
-- statement and a second index insert per booking: a third of its time.
ALTER TABLE messages ADD COLUMN booking_ids TEXT NOT NULL DEFAULT '[]';
UPDATE messages SET booking_ids = (
    SELECT json_group_array(mb.booking_id) FROM message_bookings mb WHERE mb.message_id = messages.id
);
DROP TABLE message_bookings;

-- A STOP by WhatsApp finds its applicant by the WhatsApp number when one was given. Partial: most
-- applicants use their mobile number (whatsapp is NULL), so the index costs imports little.
CREATE INDEX applicants_whatsapp ON applicants (whatsapp) WHERE whatsapp IS NOT NULL;
