-- The relay deletes the outbox rows it has published instead of marking them sent: the
-- outbox is only the way to the bus (the events stay in the JetStream stream, the
-- timelines and the audit log), and a delete writes no new row version and no index
-- entries. Rows already sent go now; every row left is waiting to be published.
DELETE FROM outbox WHERE sent_at IS NOT NULL;
DROP INDEX outbox_unsent;
ALTER TABLE outbox DROP COLUMN sent_at;
