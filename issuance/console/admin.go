package console

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/cccd-project/cccd/issuance/intake"
	"github.com/cccd-project/cccd/issuance/ledger"
)

func init() {
	admin := []string{intake.RoleAdmin}
	addNav(Nav{Path: "/console/admin/users", Title: L("Người dùng", "Users"), Key: "u", Order: 70, Roles: admin})
	addNav(Nav{Path: "/console/admin/audit", Title: L("Nhật ký kiểm toán", "Audit log"), Key: "k", Order: 71, Roles: admin})
	addNav(Nav{Path: "/console/admin/pki", Title: L("Chứng thư số", "PKI"), Key: "i", Order: 72, Roles: admin})
	addRoute("GET /console/admin/users", admin, (*Console).adminUsers)
	addRoute("GET /console/admin/audit", admin, (*Console).adminAudit)
	addRoute("GET /console/admin/pki", admin, (*Console).adminPKI)
}

// userRow is a user with its console login state.
type userRow struct {
	intake.UserInfo
	Password    bool
	LockedUntil time.Time
	Sessions    int
}

// adminUsers lists the users (intake.Service.Users, administrators only) with whether
// each has a console password, is locked out, and how many sessions it has open.
func (c *Console) adminUsers(p *Page) error {
	users, err := c.intake.Users(p.Ctx(), p.User)
	if err != nil {
		return err
	}
	rows, err := c.db.Query(p.Ctx(), `SELECT p.user_name, coalesce(p.locked_until, 'epoch'),
		(SELECT count(*) FROM console_sessions s WHERE s.user_name = p.user_name AND s.expires_at > now())
		FROM console_passwords p`)
	if err != nil {
		return fmt.Errorf("console: users: %w", err)
	}
	type login struct {
		locked   time.Time
		sessions int
	}
	logins := map[string]login{}
	var name string
	var l login
	if _, err := pgx.ForEachRow(rows, []any{&name, &l.locked, &l.sessions}, func() error {
		logins[name] = l
		return nil
	}); err != nil {
		return fmt.Errorf("console: users: %w", err)
	}
	out := make([]userRow, len(users))
	for i, u := range users {
		l, ok := logins[u.Name]
		out[i] = userRow{UserInfo: u, Password: ok, Sessions: l.sessions}
		if l.locked.After(time.Now()) {
			out[i].LockedUntil = l.locked
		}
	}
	return p.Render("admin_users", L("Người dùng", "Users"), out)
}

// auditEntry is one row of the audit log.
type auditEntry struct {
	ID                                     int64
	Chain                                  int16
	Seq                                    int64
	At                                     time.Time
	Actor, Office, Action, Subject, Detail string
	Hash                                   string
}

type auditData struct {
	Entries  []auditEntry
	Verified bool
	Report   ledger.AuditReport
	Took     time.Duration
	Next     string // query string of the next (older) page
}

// AuditPage is the number of audit entries a page shows.
const AuditPage = 100

// adminAudit browses the audit log, newest first, filtered by actor, action or subject,
// and with ?verify=1 recomputes every chain (ledger.VerifyAudit, as `cccd audit verify`).
func (c *Console) adminAudit(p *Page) error {
	if err := intake.Require(p.User, intake.RoleAdmin); err != nil {
		return err
	}
	q := p.R.URL.Query()
	p.Form = &Form{Values: map[string]string{"actor": q.Get("actor"), "action": q.Get("action"), "subject": q.Get("subject")}}
	for _, f := range []string{"actor", "action", "subject"} {
		if v := q.Get(f); utf8.RuneCountInString(v) > 100 || !utf8.ValidString(v) {
			p.Form.Fail(f, "Tối đa 100 ký tự (at most 100 characters).")
		}
	}
	page := 0
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 100000 {
			p.Form.Fail("page", "Số trang không hợp lệ (page: 0 to 100000).")
		} else {
			page = n
		}
	}
	var d auditData
	if !p.Form.OK() {
		return p.RenderStatus(http.StatusUnprocessableEntity, "admin_audit", L("Nhật ký kiểm toán", "Audit log"), d)
	}
	// Reads recorded but not yet chained are chained first, so that the page lists them.
	if _, err := ledger.ChainPending(p.Ctx(), c.db); err != nil {
		return err
	}
	rows, err := c.db.Query(p.Ctx(), `SELECT chain, seq, at, actor, office, action, subject, detail, hash FROM audit_log
		WHERE ($1 = '' OR actor = $1) AND ($2 = '' OR action = $2) AND ($3 = '' OR subject = $3)
		ORDER BY at DESC, chain, seq DESC LIMIT $4 OFFSET $5`, q.Get("actor"), q.Get("action"), q.Get("subject"),
		AuditPage, page*AuditPage)
	if err != nil {
		return fmt.Errorf("console: audit: %w", err)
	}
	var e auditEntry
	var hash []byte
	if _, err := pgx.ForEachRow(rows, []any{&e.Chain, &e.Seq, &e.At, &e.Actor, &e.Office, &e.Action, &e.Subject,
		&e.Detail, &hash}, func() error {
		e.Hash = hex.EncodeToString(hash)
		d.Entries = append(d.Entries, e)
		return nil
	}); err != nil {
		return fmt.Errorf("console: audit: %w", err)
	}
	if len(d.Entries) == AuditPage {
		next := p.R.URL.Query()
		next.Set("page", strconv.Itoa(page+1))
		next.Del("verify")
		d.Next = next.Encode()
	}
	if q.Get("verify") == "1" {
		start := time.Now()
		if d.Report, err = ledger.VerifyAudit(p.Ctx(), c.db); err != nil {
			return err
		}
		d.Verified, d.Took = true, time.Since(start).Round(time.Millisecond)
	}
	return p.Render("admin_audit", L("Nhật ký kiểm toán", "Audit log"), d)
}

// certRow is a certificate of the PKI overview.
type certRow struct {
	ID          int64
	Subject     string
	Serial      string
	NotAfter    time.Time
	UsageEnd    time.Time
	State       string
	Used, Limit int64
	Percent     int
	Fingerprint string
	Expiring    bool // within 30 days
	Auto        bool
}

type crlRow struct {
	CSCAID     int64
	Number     int64
	ThisUpdate time.Time
	NextUpdate time.Time
	Revoked    int
	Overdue    bool
}

type pkiData struct {
	Configured bool
	CSCAs      []certRow
	Signers    []certRow
	CRLs       []crlRow
}

// adminPKI shows the CSCA generations, the Document Signers with their usage counts and
// ends of private key usage, and the newest CRL of each CSCA with its next update.
func (c *Console) adminPKI(p *Page) error {
	if err := intake.Require(p.User, intake.RoleAdmin); err != nil {
		return err
	}
	title := L("Hạ tầng khoá công khai", "PKI overview")
	a := c.cfg.PKI
	if a == nil {
		return p.Render("admin_pki", title, pkiData{})
	}
	d := pkiData{Configured: true}
	soon := time.Now().Add(30 * 24 * time.Hour)
	cscas, err := a.CSCAs(p.Ctx())
	if err != nil {
		return err
	}
	for _, cs := range cscas {
		d.CSCAs = append(d.CSCAs, certRow{ID: cs.ID, Subject: cs.Cert.Subject.String(), Serial: cs.Cert.SerialNumber.String(),
			NotAfter: cs.Cert.NotAfter, State: cs.State, Fingerprint: fingerprint(cs.Cert), Expiring: cs.Cert.NotAfter.Before(soon)})
	}
	dss, err := a.DocumentSigners(p.Ctx())
	if err != nil {
		return err
	}
	for _, ds := range dss {
		r := certRow{ID: ds.ID, Subject: ds.Cert.Subject.String(), Serial: ds.Cert.SerialNumber.String(), NotAfter: ds.Cert.NotAfter,
			UsageEnd: ds.UsageEnd, State: ds.State, Used: ds.Used, Limit: ds.Limit, Fingerprint: fingerprint(ds.Cert),
			Expiring: ds.UsageEnd.Before(soon), Auto: ds.AutoIssued}
		if ds.Limit > 0 {
			r.Percent = int(100 * ds.Used / ds.Limit)
		}
		d.Signers = append(d.Signers, r)
	}
	crls, err := a.LatestCRLs(p.Ctx())
	if err != nil {
		return err
	}
	for _, cr := range crls {
		row := crlRow{CSCAID: cr.CSCAID, Number: cr.Number, ThisUpdate: cr.ThisUpdate}
		if rl, err := x509.ParseRevocationList(cr.DER); err == nil {
			row.NextUpdate, row.Revoked = rl.NextUpdate, len(rl.RevokedCertificateEntries)
			row.Overdue = rl.NextUpdate.Before(time.Now())
		}
		d.CRLs = append(d.CRLs, row)
	}
	return p.Render("admin_pki", title, d)
}

// fingerprint is the SHA-256 of a certificate's DER, in hex.
func fingerprint(c *x509.Certificate) string {
	h := sha256.Sum256(c.Raw)
	return strings.ToUpper(hex.EncodeToString(h[:]))
}
