-- Inbound replies (PostgreSQL) keep the provider's id of the message (Twilio MessageSid, WhatsApp wamid), so a
-- webhook the provider delivers again records nothing a second time. Older rows have none (NULL
-- never conflicts).
ALTER TABLE inbound_replies ADD COLUMN provider_message_id TEXT;
CREATE UNIQUE INDEX inbound_replies_provider_message ON inbound_replies (provider, provider_message_id);
