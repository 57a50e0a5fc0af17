-- Applications and cards are found by ID, receipt, serial, batch or application; by
-- state only where a stage takes its next work: supervisors' pending approvals,
-- batching, dispatch. A partial index per such queue holds only the rows waiting there.
-- No other index has the state in its key: with one, a plan made while a state was
-- rare (a fresh site, statistics older than a burst) scans every row in that state
-- instead of looking the rows up by key, and each state change adds fewer index
-- entries without them.
DROP INDEX applications_state;
CREATE INDEX applications_pending ON applications (id) WHERE state = 'submitted';
CREATE INDEX applications_unbatched ON applications (id) WHERE state = 'approved' AND batch_id IS NULL;
CREATE INDEX applications_to_dispatch ON applications (id) WHERE state = 'qc_passed';

DROP INDEX applications_batch;
CREATE INDEX applications_batch ON applications (batch_id);
DROP INDEX cards_batch;
CREATE INDEX cards_batch ON cards (batch_id);
DROP INDEX cards_application;
CREATE INDEX cards_application ON cards (application_id);
