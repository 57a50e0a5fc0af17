package intake

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/cccd-project/cccd/issuance"
	"github.com/cccd-project/cccd/issuance/ledger"
)

// ErrNoSuchOffice is an office code that is not in the offices code table.
var ErrNoSuchOffice = errors.New("intake: no such office in the offices code table")

// Office is one entry of the offices code table: the offices that take applications and hand cards over.
type Office struct {
	Code   string `json:"code"`
	Active bool   `json:"active"`
}

// Offices lists the offices code table, by code: administrators only.
func (s *Service) Offices(ctx context.Context, u User) ([]Office, error) {
	if err := require(u, RoleAdmin); err != nil {
		return nil, err
	}
	rows, err := s.db.Query(ctx, "SELECT code, active FROM offices ORDER BY code")
	if err != nil {
		return nil, fmt.Errorf("intake: offices: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Office])
	if err != nil {
		return nil, fmt.Errorf("intake: offices: %w", err)
	}
	return out, nil
}

// SetOffice enters an office in the code table (active) or, with active false, closes it: intake then refuses
// it as a delivery office. An office is never deleted, so that its history keeps its code. Administrators
// only; audited.
func (s *Service) SetOffice(ctx context.Context, u User, code string, active bool) error {
	if err := require(u, RoleAdmin); err != nil {
		return err
	}
	if !issuance.ValidOfficeCode(code) {
		return issuance.ValidationError{{Field: "office", Rule: officeRuleText}}
	}
	return pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO offices (code, active) VALUES ($1, $2)
			ON CONFLICT (code) DO UPDATE SET active = EXCLUDED.active`, code, active); err != nil {
			return fmt.Errorf("intake: office: %w", err)
		}
		action := "office.open"
		if !active {
			action = "office.close"
		}
		return ledger.Audit(ctx, tx, ledger.Entry{Actor: u.Actor(), Action: action, Subject: "office/" + code})
	})
}

const officeRuleText = `must be an office code: 3-digit province code, "-", 2 to 6 of A-Z 0-9 (e.g. "001-HK01")`
