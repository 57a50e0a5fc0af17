-- Applications are looked up by ID or receipt; by state only where a stage takes its
-- next work: supervisors' pending approvals, batching, dispatch. A partial index per
-- such queue holds only the applications waiting there, so that a state change adds an
-- entry to it only when the application enters that queue, and no plan can trade the
-- primary key for a scan of every application in a state (as one on (state, id) invites
-- when the statistics of a state are stale).
DROP INDEX applications_state;
CREATE INDEX applications_pending ON applications (id) WHERE state = 'submitted';
CREATE INDEX applications_unbatched ON applications (id) WHERE state = 'approved' AND batch_id IS NULL;
CREATE INDEX applications_to_dispatch ON applications (id) WHERE state = 'qc_passed';
