package console

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
)

// benchProduction gives the applications Bench loaded the production records the
// operator's dashboard reads, at the scale of the applications: every application past
// approval in one of 100 batches of four lines (runs of ids, as CreateBatches makes
// them) with its card (encoded, printed, ... as
// its state says), one in 50 with a spoiled card before it, a card event for each card
// spread over the same time as the applications (so a shift holds its share), eight
// station readers and a few dead letters.
func benchProduction(ctx context.Context, db *pgxpool.Pool) error {
	steps := []string{
		`INSERT INTO batches (line, office, state, created_by, created_at, started_at)
			SELECT 'L' || (g % 4 + 1), '001-HK01', 'running', 'bench.op',
				now() - make_interval(hours => 101 - g), now() - make_interval(hours => 101 - g)
			FROM generate_series(1, 100) g`,
		// CreateBatches takes approved applications in id order: a batch is a run of ids.
		`UPDATE applications SET batch_id = (SELECT min(id) FROM batches) + least(99, (id - (SELECT min(id) FROM applications)) * 100 /
				(SELECT count(*) FROM applications))
			WHERE state NOT IN ('submitted', 'approved', 'rejected')`,
		`INSERT INTO cards (serial, application_id, batch_id, state, reason, created_at, updated_at)
			SELECT 'VNSPOIL' || lpad(id::text, 9, '0'), id, batch_id, 'spoiled', 'bench: torn mid-write', updated_at, updated_at
			FROM applications WHERE batch_id IS NOT NULL AND id % 50 = 0`,
		`INSERT INTO cards (serial, application_id, batch_id, state, created_at, updated_at)
			SELECT 'VNBENCH' || lpad(id::text, 9, '0'), id, batch_id,
				CASE state WHEN 'queued' THEN 'blank' WHEN 'personalized' THEN 'encoded' WHEN 'printed' THEN 'printed'
					WHEN 'qc_passed' THEN 'printed' WHEN 'dispatched' THEN 'dispatched' WHEN 'at_office' THEN 'in_stock'
					ELSE 'issued' END, updated_at, updated_at
			FROM applications WHERE batch_id IS NOT NULL AND state <> 'queued'`,
		`INSERT INTO card_events (serial, from_state, to_state, actor, at)
			SELECT serial, 'blank', CASE WHEN state = 'spoiled' THEN 'spoiled' ELSE 'encoded' END, 'station:bench', created_at
			FROM cards`,
		`INSERT INTO station_readers (station, reader, line, position, state, serial, good, spoiled)
			SELECT 'st-' || (g / 2 + 1), 'CCCD vpcd ' || g, 'L' || (g % 4 + 1), g % 2, 'good', 'VNBENCH' || lpad(g::text, 9, '0'), 1000, 20
			FROM generate_series(0, 7) g`,
		`INSERT INTO dead_letters (consumer, subject, msg_id, payload, deliveries, error)
			SELECT 'stage-print', 'cccd.app.personalized', 'bench-' || g, jsonb_build_object('application_id', g), 5, 'printer jammed'
			FROM generate_series(1, 5) g`,
		// A database that has been running: autovacuum has visited the tables (PostgreSQL 13+
		// vacuums insert-only tables too), so counts can be answered from the indexes.
		`VACUUM (ANALYZE) batches, applications, cards, card_events`,
	}
	for i, q := range steps {
		if _, err := db.Exec(ctx, q); err != nil {
			return fmt.Errorf("console: bench production records, step %d: %w", i+1, err)
		}
	}
	return nil
}
