package intake

// Who may do what on the production line, the same for every front end (the command
// line, the API and the web console): each names the roles one kind of operation needs.
var (
	// ProductionRoles run the line: batches, stations, dispatch, reprints, printers.
	ProductionRoles = []string{RoleOperator, RoleAdmin}
	// ProductionViewRoles watch it: batch status, reconciliation, print queue, QC reports.
	ProductionViewRoles = []string{RoleOperator, RoleAdmin, RoleSupervisor}
	// OfficeRoles receive shipments and hand cards over, at their own office.
	OfficeRoles = []string{RoleClerk, RoleSupervisor, RoleAdmin}
	// DeadLetterRoles decide about the messages a consumer gave up on.
	DeadLetterRoles = []string{RoleOperator, RoleAdmin}
	// RevokeRoles revoke issued cards (lost, stolen, damaged).
	RevokeRoles = []string{RoleSupervisor, RoleAdmin}
	// VerifyRoles read cards at a counter with the console's readers.
	VerifyRoles = []string{RoleVerifier, RoleClerk, RoleSupervisor, RoleAdmin}
	// AdminRoles pause, resume and re-run applications.
	AdminRoles = []string{RoleAdmin}
)

// Allowed reports whether u has one of roles.
func (u User) Allowed(roles []string) bool {
	for _, r := range roles {
		if u.Role == r {
			return true
		}
	}
	return false
}
