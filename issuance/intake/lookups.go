package intake

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cccd-project/cccd/issuance"
)

// Register look-ups with access records on are written in groups: a look-up counts
// against its user's limits, may hold the person (one look-up at a time) and is
// recorded, so it is a write and a commit; most of its cost is the commit, not the
// statement. Look-ups that arrive while another group is being written wait for it to
// finish and then go together, one statement and one commit for the lot (at most
// maxLookupGroup, one per user: a user's counts row is written once per statement). A
// look-up arriving when nothing is being written goes at once, alone, so a quiet
// counter waits for nothing; under load the groups grow with it. Each look-up's read
// is still durable before its data leaves. A group locks its users' counts rows in
// the order of their names, so groups written by several controllers at once cannot
// deadlock.

// maxLookupGroup bounds the look-ups of one statement.
const maxLookupGroup = 64

// lookupWait is how long a group's statement may take before its look-ups fail.
const lookupWait = 30 * time.Second

// lookupReq is one look-up waiting for its group.
type lookupReq struct {
	name, office, id string
	hold             bool      // a clerk's look-up to pre-fill: it holds the person
	detail           [5]string // the record's detail: read, not in register, over a minute, over a day, another open
	taken            bool      // in a group's statement (under lookupGroups.mu)
	done             chan struct{}
	res              lookupRes
}

// lookupRes is what the statement returned for one look-up.
type lookupRes struct {
	now          time.Time // the clock of the group
	over, openID string    // "minute", "day", "open" or ""; the open look-up's ID number
	openAt       time.Time
	found        bool
	p            issuance.Person
	dob          *time.Time
	sex          string
	err          error
}

// lookupGroups queues look-ups for the next group.
type lookupGroups struct {
	mu      sync.Mutex
	queue   []*lookupReq
	writing bool // a goroutine is writing groups until the queue is empty
	// groups and lookups count what was written, for the benchmark's mean group size.
	groups, lookups atomic.Int64
}

// lookup queues r and waits for its group's statement. A look-up given up (ctx done)
// before its group is written is taken off the queue and leaves nothing behind.
func (s *Service) lookup(ctx context.Context, r *lookupReq) (lookupRes, error) {
	g := &s.groups
	r.done = make(chan struct{})
	g.mu.Lock()
	g.queue = append(g.queue, r)
	if !g.writing {
		g.writing = true
		go s.writeGroups()
	}
	g.mu.Unlock()
	select {
	case <-r.done:
		return r.res, r.res.err
	case <-ctx.Done():
		g.mu.Lock()
		taken := r.taken
		if !taken {
			if i := slices.Index(g.queue, r); i >= 0 {
				g.queue = slices.Delete(g.queue, i, i+1)
			}
		}
		g.mu.Unlock()
		if taken { // too late to take back: the read is recorded, its data is not returned
			<-r.done
		}
		return lookupRes{}, ctx.Err()
	}
}

// writeGroups writes groups of queued look-ups until none is left.
func (s *Service) writeGroups() {
	g := &s.groups
	for {
		g.mu.Lock()
		group := g.take()
		if len(group) == 0 {
			g.writing = false
			g.mu.Unlock()
			return
		}
		g.mu.Unlock()
		s.writeGroup(group)
	}
}

// lookupWindows returns the starts of the minute and of the day (Vietnam time) that
// look-ups made at now count in.
func lookupWindows(now time.Time) (minute, day time.Time) {
	local := now.In(vietnam)
	return now.Truncate(time.Minute), time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, vietnam)
}

// take removes the oldest queued look-ups, one per user, up to maxLookupGroup; the
// others stay queued in order.
func (g *lookupGroups) take() []*lookupReq {
	var group []*lookupReq
	users := make(map[string]bool)
	rest := g.queue[:0]
	for _, r := range g.queue {
		if len(group) == maxLookupGroup || users[r.name] {
			rest = append(rest, r)
			continue
		}
		users[r.name] = true
		r.taken = true
		group = append(group, r)
	}
	clear(g.queue[len(rest):])
	g.queue = rest
	return group
}

// writeGroup counts, holds, reads and records the look-ups of group in one statement
// and hands each its result.
func (s *Service) writeGroup(group []*lookupReq) {
	ctx, cancel := context.WithTimeout(context.Background(), lookupWait)
	defer cancel()
	lim := s.Limits.withDefaults()
	now := s.Now()
	minute, day := lookupWindows(now)
	n := len(group)
	names, offices, ids := make([]string, n), make([]string, n), make([]string, n)
	holds := make([]bool, n)
	var details [5][]string
	for k := range details {
		details[k] = make([]string, n)
	}
	for i, r := range group {
		names[i], offices[i], ids[i], holds[i] = r.name, r.office, r.id, r.hold
		for k := range details {
			details[k][i] = r.detail[k]
		}
	}
	// A group's size is in its parameters (the arrays' lengths), so PostgreSQL would plan
	// the statement anew for each group (custom plans) and spend more time planning than
	// running it: BenchmarkLookup took about 0.7 ms a look-up so, against 0.25 ms with
	// the generic plan. The statement is told to keep its generic plan, in a transaction
	// of its own that goes in one round trip.
	batch := &pgx.Batch{}
	batch.Queue("BEGIN")
	batch.Queue("SET LOCAL plan_cache_mode = force_generic_plan")
	batch.Queue(lookupGroupSQL, names, offices, ids, holds, details[0], details[1], details[2], details[3], details[4],
		minute, day, lim.LookupsPerMinute, lim.LookupsPerDay, lim.LookupHold, now)
	batch.Queue("COMMIT")
	err := s.scanGroup(s.db.SendBatch(ctx, batch), group, now)
	// Counted before any look-up of the group returns, so that a caller sees its own.
	s.groups.groups.Add(1)
	s.groups.lookups.Add(int64(n))
	for _, r := range group {
		if err != nil {
			r.res = lookupRes{err: fmt.Errorf("intake: register lookup: %w", err)}
		}
		close(r.done)
	}
}

// scanGroup reads the results of a group's batch into its look-ups; they count only
// once the commit has succeeded.
func (s *Service) scanGroup(br pgx.BatchResults, group []*lookupReq, now time.Time) error {
	defer br.Close()
	for range 2 { // BEGIN, SET LOCAL
		if _, err := br.Exec(); err != nil {
			return err
		}
	}
	rows, err := br.Query()
	if err != nil {
		return err
	}
	got := 0
	for rows.Next() {
		var i int64
		var res lookupRes
		err := rows.Scan(&i, &res.over, &res.openID, &res.openAt, new(int64), &res.found, &res.p.FullName, &res.dob,
			&res.sex, &res.p.Nationality, &res.p.Ethnicity, &res.p.Religion, &res.p.PlaceOfOrigin,
			&res.p.PlaceOfResidence, &res.p.IdentifyingFeatures, &res.p.Father, &res.p.Mother, &res.p.Spouse,
			&res.p.PreviousIDNumber)
		if err != nil {
			rows.Close()
			return err
		}
		if i < 1 || int(i) > len(group) {
			rows.Close()
			return fmt.Errorf("look-up %d of a group of %d", i, len(group))
		}
		res.now = now
		group[i-1].res = res
		got++
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if got != len(group) {
		return fmt.Errorf("%d results for a group of %d look-ups", got, len(group))
	}
	if _, err := br.Exec(); err != nil { // COMMIT
		return err
	}
	return br.Close()
}

// LookupGroups returns how many groups of look-ups were written, and how many look-ups
// they held.
func (s *Service) LookupGroups() (groups, lookups int64) {
	return s.groups.groups.Load(), s.groups.lookups.Load()
}

// lookupGroupSQL counts, holds, reads and records a group of look-ups. keep (in the
// counts' update): the look-up is refused (over a limit, or another one open) or holds
// nothing (not a pre-fill, or nobody to pre-fill), so the open look-up stays as it was;
// excluded.open_id is the person looked up whenever it matters.
const lookupGroupSQL = `WITH q AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::boolean[],
				$5::text[], $6::text[], $7::text[], $8::text[], $9::text[])
			WITH ORDINALITY AS q(name, office, id, hold, d_read, d_missing, d_minute, d_day, d_open, i)),
		f AS (SELECT q.*, EXISTS (SELECT 1 FROM residents WHERE id_number = q.id) AS found FROM q),
		c AS (
			INSERT INTO access_counts AS c (name, minute, per_minute, day, per_day, open_id, open_at)
				SELECT name, $10, 1, $11, 1, CASE WHEN hold AND found THEN id ELSE '' END, $15::timestamptz FROM f ORDER BY name
			ON CONFLICT (name) DO UPDATE SET
				per_minute = CASE WHEN c.minute = excluded.minute THEN c.per_minute + 1 ELSE 1 END, minute = excluded.minute,
				per_day = CASE WHEN c.day = excluded.day THEN c.per_day + 1 ELSE 1 END, day = excluded.day,
				(open_id, open_at) = (SELECT CASE WHEN keep THEN c.open_id ELSE excluded.open_id END,
						CASE WHEN keep THEN c.open_at ELSE excluded.open_at END
					FROM (SELECT excluded.open_id = ''
						OR (CASE WHEN c.minute = excluded.minute THEN c.per_minute + 1 ELSE 1 END) > $12
						OR (CASE WHEN c.day = excluded.day THEN c.per_day + 1 ELSE 1 END) > $13
						OR (c.open_id NOT IN ('', excluded.open_id) AND c.open_at > $15 - $14::interval) AS keep) k)
			RETURNING name, per_minute, per_day, open_id, open_at),
		v AS (SELECT f.*, CASE WHEN c.per_minute > $12 THEN 'minute' WHEN c.per_day > $13 THEN 'day'
				WHEN f.hold AND c.open_id NOT IN ('', f.id) AND c.open_at > $15 - $14::interval THEN 'open' ELSE '' END AS over,
				c.open_id, c.open_at FROM f JOIN c USING (name)),
		r AS (SELECT v.i, residents.* FROM v JOIN residents ON residents.id_number = v.id WHERE v.over = ''),
		a AS (INSERT INTO access_pending (actor, office, action, subject, detail)
			SELECT name, office, CASE WHEN over = '' THEN 'access.register' ELSE 'access.refused' END, 'person/' || id,
				CASE over WHEN 'minute' THEN d_minute WHEN 'day' THEN d_day WHEN 'open' THEN d_open
					ELSE CASE WHEN found THEN d_read ELSE d_missing END END
			FROM v ORDER BY i RETURNING 1)
		SELECT v.i, v.over, v.open_id, coalesce(v.open_at, $15), (SELECT count(*) FROM a), r.id_number IS NOT NULL,
			coalesce(r.full_name, ''), r.date_of_birth,
			coalesce(r.sex, ''), coalesce(r.nationality, ''), coalesce(r.ethnicity, ''), coalesce(r.religion, ''),
			coalesce(r.place_of_origin, ''), coalesce(r.place_of_residence, ''), coalesce(r.identifying_features, ''),
			coalesce(r.father, ''), coalesce(r.mother, ''), coalesce(r.spouse, ''), coalesce(r.previous_id_number, '')
		FROM v LEFT JOIN r USING (i) ORDER BY v.i`
