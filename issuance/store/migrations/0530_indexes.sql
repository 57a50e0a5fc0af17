-- Indexes that cost a write per event and serve no lookup go; the one a daily
-- reconciliation needs comes.
-- Outbox rows are read in id order and deleted once published; their event ID (a random
-- UUID, the JetStream message ID) is never looked up.
ALTER TABLE outbox DROP CONSTRAINT outbox_event_id_key;
-- Card events are read by card (card_events_serial); reconciliation by day selects the
-- cards started that day.
DROP INDEX card_events_at;
CREATE INDEX cards_created ON cards (created_at);
