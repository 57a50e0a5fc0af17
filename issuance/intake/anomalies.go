package intake

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cccd-project/cccd/issuance/ledger"
)

// AnomalyConfig tunes the anomaly report. Zero fields take the defaults.
type AnomalyConfig struct {
	Now          time.Time // end of the report (default: the service's clock)
	Days         int       // baseline days before the last 24 hours (default 7)
	JumpFactor   float64   // reads in the last 24 hours above this many times the daily baseline (default 3)
	MinReads     int       // ... and at least this many (default 20)
	Unfollowed   int       // pre-fill look-ups without an application by the same clerk within a day (default 3)
	OfficeOpen   int       // office hours, Vietnam time: from this hour (default 7)
	OfficeClose  int       // ... to this hour (default 18); Sundays are outside office hours
	MaxAnomalies int       // default 1000
}

// Validate checks the configuration.
func (c AnomalyConfig) Validate() error {
	switch {
	case c.Days < 0 || c.Days > 366:
		return errors.New("intake: anomalies: days: 0-366 (0 takes 7)")
	case c.JumpFactor < 0, c.MinReads < 0, c.Unfollowed < 0, c.MaxAnomalies < 0:
		return errors.New("intake: anomalies: thresholds must not be negative (0 takes the default)")
	case c.OfficeOpen < 0 || c.OfficeOpen > 23 || c.OfficeClose < 0 || c.OfficeClose > 24:
		return errors.New("intake: anomalies: office hours: open 0-23, close 0-24")
	case c.OfficeClose != 0 && c.OfficeClose <= c.OfficeOpen:
		return fmt.Errorf("intake: anomalies: office hours: close %d must be after open %d", c.OfficeClose, c.OfficeOpen)
	}
	return nil
}

func (c AnomalyConfig) withDefaults(now time.Time) AnomalyConfig {
	if c.Now.IsZero() {
		c.Now = now
	}
	if c.Days == 0 {
		c.Days = 7
	}
	if c.JumpFactor == 0 {
		c.JumpFactor = 3
	}
	if c.MinReads == 0 {
		c.MinReads = 20
	}
	if c.Unfollowed == 0 {
		c.Unfollowed = 3
	}
	if c.OfficeOpen == 0 && c.OfficeClose == 0 {
		c.OfficeOpen, c.OfficeClose = 7, 18
	}
	if c.MaxAnomalies == 0 {
		c.MaxAnomalies = 1000
	}
	return c
}

// Kinds of anomalies.
const (
	AnomalyJump       = "jump"        // reads jumped above the user's baseline
	AnomalyUnfollowed = "unfollowed"  // look-ups not followed by an application
	AnomalyAfterHours = "after-hours" // reads outside office hours
)

// Anomaly is one finding of the anomaly report about one user.
type Anomaly struct {
	Kind   string `json:"kind"`
	User   string `json:"user"`
	Office string `json:"office"`
	Count  int64  `json:"count"`
	Detail string `json:"detail"`
}

// Anomalies reports, for an administrator, users whose reads of personal data look
// wrong: reads in the last 24 hours that jump above the user's daily baseline, register
// look-ups for a pre-fill not followed by an application of the same clerk within a
// day, and reads outside office hours (Vietnam time).
func (s *Service) Anomalies(ctx context.Context, u User, c AnomalyConfig) ([]Anomaly, error) {
	if err := require(u, RoleAdmin); err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	c = c.withDefaults(s.Now())
	if _, err := ledger.ChainPending(ctx, s.db); err != nil {
		return nil, err
	}
	day := c.Now.Add(-24 * time.Hour)
	from := day.AddDate(0, 0, -c.Days)
	rows, err := s.db.Query(ctx, `
		SELECT 'jump', actor, office, recent,
			format('%s reads in the last 24 hours, %s a day over the %s days before', recent, round(before::numeric / $6::int, 1), $6::int)
		FROM (SELECT actor, office, count(*) FILTER (WHERE at >= $1) AS recent, count(*) FILTER (WHERE at < $1) AS before
			FROM audit_log WHERE action LIKE 'access.%' AND at >= $2 AND at < $3 GROUP BY actor, office) j
		WHERE recent >= $4 AND recent > $5 * greatest(before::float8 / $6, 1)
		UNION ALL
		SELECT 'unfollowed', l.actor, l.office, count(*),
			format('%s register look-ups to pre-fill without an application by the same clerk within a day, e.g. %s at %s',
				count(*), min(substr(l.subject, 8)), min(l.at))
		FROM audit_log l
		WHERE l.action = 'access.register' AND l.at >= $2 AND l.at < $1
			AND l.detail::jsonb->>'purpose' = 'prefill' AND coalesce(l.detail::jsonb->>'outcome', '') = ''
			AND NOT EXISTS (SELECT 1 FROM applications a WHERE a.id_number = substr(l.subject, 8) AND a.clerk = l.actor
				AND a.created_at >= l.at AND a.created_at < l.at + interval '1 day')
		GROUP BY l.actor, l.office HAVING count(*) >= $7
		UNION ALL
		SELECT 'after-hours', actor, office, count(*),
			format('%s reads outside %s:00-%s:00 Monday to Saturday (Vietnam time), from %s to %s', count(*), $8::int, $9::int, min(at), max(at))
		FROM audit_log
		WHERE action LIKE 'access.%' AND at >= $2 AND at < $3
			AND (extract(hour FROM at AT TIME ZONE INTERVAL '+07:00') NOT BETWEEN $8 AND $9 - 1
				OR extract(isodow FROM at AT TIME ZONE INTERVAL '+07:00') = 7)
		GROUP BY actor, office
		LIMIT $10`,
		day, from, c.Now, c.MinReads, c.JumpFactor, c.Days, c.Unfollowed, c.OfficeOpen, c.OfficeClose, c.MaxAnomalies)
	if err != nil {
		return nil, fmt.Errorf("intake: anomalies: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Anomaly, error) {
		var a Anomaly
		err := r.Scan(&a.Kind, &a.User, &a.Office, &a.Count, &a.Detail)
		return a, err
	})
	if err != nil {
		return nil, fmt.Errorf("intake: anomalies: %w", err)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].User != out[j].User {
			return out[i].User < out[j].User
		}
		return out[i].Kind < out[j].Kind
	})
	return out, nil
}
