package intake

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/cccd-project/cccd/issuance"
)

// Require returns an error wrapping ErrForbidden unless u has one of the allowed roles.
// Front ends other than the JSON API (the web console) use it for screens that have no
// service method of their own.
func Require(u User, allowed ...string) error { return require(u, allowed...) }

// RegisterRecord returns the population register's record of id, to pre-fill an
// application: clerks and supervisors only (GET /api/v1/register/{id}).
func (s *Service) RegisterRecord(ctx context.Context, u User, id string) (issuance.Person, error) {
	if err := require(u, RoleClerk, RoleSupervisor); err != nil {
		return issuance.Person{}, err
	}
	return s.Lookup(ctx, id)
}

// UserInfo is a user as an administrator sees it.
type UserInfo struct {
	User
	Disabled bool `json:"disabled"`
}

// Users lists every user, by name: administrators only.
func (s *Service) Users(ctx context.Context, u User) ([]UserInfo, error) {
	if err := require(u, RoleAdmin); err != nil {
		return nil, err
	}
	rows, err := s.db.Query(ctx, "SELECT name, role, office, disabled FROM users ORDER BY name")
	if err != nil {
		return nil, fmt.Errorf("intake: users: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (UserInfo, error) {
		var ui UserInfo
		err := r.Scan(&ui.Name, &ui.Role, &ui.Office, &ui.Disabled)
		return ui, err
	})
	if err != nil {
		return nil, fmt.Errorf("intake: users: %w", err)
	}
	return out, nil
}
