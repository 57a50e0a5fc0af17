-- The operator's dashboard counts, for each of the newest batches, its applications past
-- personalization, its rejected ones and its spoiled cards. Partial indexes keyed by batch
-- answer those counts from the index alone. Applications and cards already carry partial
-- indexes on their state (applications_pending, cards_one_good, ...), so their state
-- changes were not HOT updates before either: each of these adds one index entry to a
-- write, not a lost HOT update.
CREATE INDEX applications_batch_done ON applications (batch_id)
    WHERE state IN ('personalized', 'printed', 'qc_passed', 'dispatched', 'at_office', 'delivered', 'returned');
CREATE INDEX applications_batch_rejected ON applications (batch_id) WHERE state = 'rejected';
CREATE INDEX cards_batch_spoiled ON cards (batch_id) WHERE state IN ('spoiled', 'qc_failed');
