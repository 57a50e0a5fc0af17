package intake

import (
	"context"

	"github.com/cccd-project/cccd/issuance"
)

// Require returns an error wrapping ErrForbidden unless u has one of the allowed roles.
// Front ends other than the JSON API (the web console) use it for screens that have no
// service method of their own.
func Require(u User, allowed ...string) error { return require(u, allowed...) }

// RegisterRecord returns the population register's record of id, to pre-fill an
// application: clerks and supervisors only (GET /api/v1/register/{id}). It is Lookup
// for u: limited and recorded.
func (s *Service) RegisterRecord(ctx context.Context, u User, id string) (issuance.Person, error) {
	if err := require(u, RoleClerk, RoleSupervisor); err != nil {
		return issuance.Person{}, err
	}
	return s.Lookup(WithUser(ctx, u), id)
}
