-- Append-only records are keyed by what they are read by, and carry no second index
-- that only numbers them: each of the three is written at every state change.
-- The audit log is read chain by chain in sequence order: (chain, seq) becomes its key
-- and the surrogate id, never read, goes.
ALTER TABLE audit_log DROP CONSTRAINT audit_log_pkey;
ALTER TABLE audit_log DROP COLUMN id;
ALTER TABLE audit_log DROP CONSTRAINT audit_log_chain_seq_key;
ALTER TABLE audit_log ADD PRIMARY KEY (chain, seq);
-- Timelines are read per application and per card, in id order.
ALTER TABLE application_events DROP CONSTRAINT application_events_pkey;
DROP INDEX application_events_app;
ALTER TABLE application_events ADD PRIMARY KEY (application_id, id);
ALTER TABLE card_events DROP CONSTRAINT card_events_pkey;
DROP INDEX card_events_serial;
ALTER TABLE card_events ADD PRIMARY KEY (serial, id);
-- A timeline row is written only by the statement that changes its application's or
-- card's state, from the row that statement has just locked and updated (applications
-- and cards are never deleted); a foreign-key check per row would read that row again
-- through a trigger at every state change.
ALTER TABLE application_events DROP CONSTRAINT application_events_application_id_fkey;
ALTER TABLE card_events DROP CONSTRAINT card_events_serial_fkey;
