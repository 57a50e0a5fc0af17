package authority

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/cccd-project/cccd/hsm"
	"github.com/cccd-project/cccd/hsm/pki"
	"github.com/cccd-project/cccd/issuance/ledger"
)

// Action is an operation under dual control.
type Action string

// The actions that need two admins (issue "HSM and document PKI" §5).
const (
	ActionCreateCSCA Action = "csca.create"
	ActionRollover   Action = "csca.rollover"
	ActionIssueDS    Action = "ds.issue"
)

// Params are the optional parameters of a request; zero values take the Config defaults.
type Params struct {
	Algorithm     hsm.Algorithm `json:"algorithm,omitempty"`      // CSCA or DS key algorithm
	DocumentLimit int64         `json:"document_limit,omitempty"` // ds.issue
	// Lifetime is the profile a CSCA ceremony (csca.create, csca.rollover) is asked for; Request
	// records the requester's Config.Lifetime here so that the second admin confirms exactly
	// that profile, and Confirm checks it again.
	Lifetime *pki.Lifetime `json:"lifetime,omitempty"`
}

// Result is what a confirmed request produced.
type Result struct {
	RequestID int64
	Action    Action
	CSCA      *x509.Certificate // csca.create, csca.rollover
	Link      *x509.Certificate // csca.rollover
	DS        *x509.Certificate // ds.issue
	DSID      int64
}

// Request records that admin 'by' asks for action; nothing happens until a different admin
// confirms it. It returns the request id.
func (a *Authority) Request(ctx context.Context, by string, action Action, p Params) (int64, error) {
	switch action {
	case ActionCreateCSCA, ActionRollover, ActionIssueDS:
	default:
		return 0, fmt.Errorf("authority: unknown action %q", action)
	}
	if p.Algorithm != "" {
		if _, err := hsm.ParseAlgorithm(string(p.Algorithm)); err != nil {
			return 0, err
		}
	}
	if p.DocumentLimit < 0 {
		return 0, fmt.Errorf("authority: document limit %d must be positive", p.DocumentLimit)
	}
	if action != ActionIssueDS {
		l := a.cfg.Lifetime
		if p.Lifetime != nil {
			l = p.Lifetime.WithDefaults()
		}
		if err := l.Check(); err != nil {
			return 0, err
		}
		p.Lifetime = &l
	}
	params, err := json.Marshal(p)
	if err != nil {
		return 0, fmt.Errorf("authority: %w", err)
	}
	var id int64
	err = pgx.BeginFunc(ctx, a.db, func(tx pgx.Tx) error {
		actor, err := admin(ctx, tx, by)
		if err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, "INSERT INTO pki_request (action, params, requested_by) VALUES ($1, $2, $3) RETURNING id",
			string(action), params, by).Scan(&id); err != nil {
			return fmt.Errorf("authority: %w", err)
		}
		return ledger.Audit(ctx, tx, ledger.Entry{Actor: actor, Action: "pki.request", Subject: fmt.Sprintf("pki_request/%d", id),
			Detail: fmt.Sprintf("%s %s", action, params)})
	})
	return id, err
}

// Confirm executes pending request id on behalf of admin 'by', who must differ from the
// requester. Both names are recorded with the result. Keys generated for a confirmation that
// then fails are destroyed again.
func (a *Authority) Confirm(ctx context.Context, id int64, by string) (*Result, error) {
	var res *Result
	var created []string // key labels to destroy if the transaction fails
	err := pgx.BeginFunc(ctx, a.db, func(tx pgx.Tx) error {
		var action, requester string
		var params []byte
		err := tx.QueryRow(ctx, "SELECT action, params, requested_by FROM pki_request WHERE id = $1 AND state = 'pending' FOR UPDATE",
			id).Scan(&action, &params, &requester)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("%w: %d", ErrRequest, id)
		}
		if err != nil {
			return fmt.Errorf("authority: %w", err)
		}
		if requester == by {
			return fmt.Errorf("%w: %q requested request %d", ErrSameAdmin, by, id)
		}
		first, err := admin(ctx, tx, requester)
		if err != nil {
			return err
		}
		second, err := admin(ctx, tx, by)
		if err != nil {
			return err
		}
		var p Params
		if err := json.Unmarshal(params, &p); err != nil {
			return fmt.Errorf("authority: request params: %w", err)
		}
		res = &Result{RequestID: id, Action: Action(action)}
		switch res.Action {
		case ActionCreateCSCA:
			res.CSCA, err = a.createCSCA(ctx, tx, p, first, second, &created)
		case ActionRollover:
			res.CSCA, res.Link, err = a.rollover(ctx, tx, p, first, second, &created)
		case ActionIssueDS:
			res.DSID, res.DS, err = a.issueDS(ctx, tx, p, &first, &second, &created)
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE pki_request SET state = 'done', confirmed_by = $2, confirmed_at = now(), result = $3
			WHERE id = $1`, id, by, resultText(res)); err != nil {
			return fmt.Errorf("authority: %w", err)
		}
		return ledger.Audit(ctx, tx, ledger.Entry{Actor: second, Action: "pki.confirm", Subject: fmt.Sprintf("pki_request/%d", id),
			Detail: fmt.Sprintf("%s requested by %s, confirmed by %s: %s", action, requester, by, resultText(res))})
	})
	if err != nil {
		for _, l := range created {
			_ = a.keys.Destroy(context.WithoutCancel(ctx), l)
		}
		return nil, err
	}
	return res, nil
}

func resultText(r *Result) string {
	switch {
	case r.DS != nil:
		return fmt.Sprintf("ds %d serial %x", r.DSID, r.DS.SerialNumber)
	case r.CSCA != nil:
		return fmt.Sprintf("csca %s serial %x", r.CSCA.Subject.SerialNumber, r.CSCA.SerialNumber)
	}
	return ""
}

func newLabel(prefix string) string {
	b := make([]byte, 5)
	rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

// generate creates a key and records the event; label is appended to created.
func (a *Authority) generate(ctx context.Context, tx pgx.Tx, actor ledger.Actor, kind string, alg hsm.Algorithm, created *[]string) (string, crypto.Signer, error) {
	label := newLabel(kind)
	k, err := a.keys.Generate(ctx, label, alg)
	if err != nil {
		return "", nil, fmt.Errorf("authority: generate %s key: %w", kind, err)
	}
	*created = append(*created, label)
	return label, k, keyEvent(ctx, tx, actor, label, kind, "generated", string(alg))
}

func (a *Authority) cscaAlgorithm(p Params) (hsm.Algorithm, error) {
	alg := a.cfg.CSCAAlgorithm
	if p.Algorithm != "" {
		alg = p.Algorithm
	}
	if alg != hsm.ECDSAP384 && alg != hsm.RSA3072 {
		return "", fmt.Errorf("authority: CSCA algorithm %q (want ecdsa-p384 or rsa-3072)", alg)
	}
	return alg, nil
}

// lifetime is the profile a ceremony request recorded, or the Config's for older requests.
func (a *Authority) lifetime(p Params) pki.Lifetime {
	if p.Lifetime != nil {
		return *p.Lifetime
	}
	return a.cfg.Lifetime
}

func (a *Authority) createCSCA(ctx context.Context, tx pgx.Tx, p Params, first, second ledger.Actor, created *[]string) (*x509.Certificate, error) {
	var n int
	if err := tx.QueryRow(ctx, "SELECT count(*) FROM pki_csca").Scan(&n); err != nil {
		return nil, fmt.Errorf("authority: %w", err)
	}
	if n > 0 {
		return nil, ErrCSCAExists
	}
	alg, err := a.cscaAlgorithm(p)
	if err != nil {
		return nil, err
	}
	label, key, err := a.generate(ctx, tx, second, "csca", alg, created)
	if err != nil {
		return nil, err
	}
	cert, err := pki.NewCSCA(key, pki.CSCAOptions{Authority: a.cfg.Authority, Sequence: 1, Lifetime: a.lifetime(p), Now: a.cfg.Now()})
	if err != nil {
		return nil, err
	}
	return cert, insertCSCA(ctx, tx, 1, label, alg, cert, nil, first.Name, second.Name)
}

func insertCSCA(ctx context.Context, tx pgx.Tx, seq int, label string, alg hsm.Algorithm, cert, link *x509.Certificate, by1, by2 string) error {
	from, to, err := pki.PrivateKeyUsagePeriod(cert)
	if err != nil {
		return err
	}
	var linkDER []byte
	if link != nil {
		linkDER = link.Raw
	}
	if _, err := tx.Exec(ctx, `INSERT INTO pki_csca (sequence, key_label, algorithm, cert, link_cert, serial, usage_start, usage_end,
		not_after, requested_by, confirmed_by) VALUES ($1, $2, $3, $4, $5, $6::numeric, $7, $8, $9, $10, $11)`,
		seq, label, string(alg), cert.Raw, linkDER, cert.SerialNumber.String(), from, to, cert.NotAfter, by1, by2); err != nil {
		return fmt.Errorf("authority: store CSCA: %w", err)
	}
	return nil
}

func (a *Authority) rollover(ctx context.Context, tx pgx.Tx, p Params, first, second ledger.Actor, created *[]string) (*x509.Certificate, *x509.Certificate, error) {
	old, err := a.activeCSCA(ctx, tx)
	if err != nil {
		return nil, nil, err
	}
	oldKey, err := a.keys.Signer(ctx, old.KeyLabel)
	if err != nil {
		return nil, nil, fmt.Errorf("authority: CSCA key: %w", err)
	}
	alg, err := a.cscaAlgorithm(p)
	if err != nil {
		return nil, nil, err
	}
	label, key, err := a.generate(ctx, tx, second, "csca", alg, created)
	if err != nil {
		return nil, nil, err
	}
	next, link, err := pki.Rollover(old.Cert, oldKey, key, pki.CSCAOptions{Authority: a.cfg.Authority, Sequence: old.Sequence + 1,
		Lifetime: a.lifetime(p), Now: a.cfg.Now()})
	if err != nil {
		return nil, nil, err
	}
	if _, err := tx.Exec(ctx, "UPDATE pki_csca SET state = 'superseded' WHERE id = $1", old.ID); err != nil {
		return nil, nil, fmt.Errorf("authority: %w", err)
	}
	return next, link, insertCSCA(ctx, tx, old.Sequence+1, label, alg, next, link, first.Name, second.Name)
}

// issueDS issues a DS from the active CSCA. by1/by2 are nil for automatic issuance.
func (a *Authority) issueDS(ctx context.Context, tx pgx.Tx, p Params, by1, by2 *ledger.Actor, created *[]string) (int64, *x509.Certificate, error) {
	csca, err := a.activeCSCA(ctx, tx)
	if err != nil {
		return 0, nil, err
	}
	cscaKey, err := a.keys.Signer(ctx, csca.KeyLabel)
	if err != nil {
		return 0, nil, fmt.Errorf("authority: CSCA key: %w", err)
	}
	alg := a.cfg.DSAlgorithm
	if p.Algorithm != "" {
		alg = p.Algorithm
	}
	limit := a.cfg.DSDocumentLimit
	if p.DocumentLimit > 0 {
		limit = p.DocumentLimit
	}
	actor := ledger.System("dsrotation")
	var r1, r2 *string
	if by2 != nil {
		actor, r1, r2 = *by2, &by1.Name, &by2.Name
	}
	label, key, err := a.generate(ctx, tx, actor, "ds", alg, created)
	if err != nil {
		return 0, nil, err
	}
	cert, err := pki.IssueDocumentSigner(csca.Cert, cscaKey, key.Public(), pki.DSOptions{Authority: a.cfg.Authority,
		SerialNumber: label, Lifetime: a.cfg.Lifetime, Now: a.cfg.Now()})
	if err != nil {
		return 0, nil, err
	}
	from, to, err := pki.PrivateKeyUsagePeriod(cert)
	if err != nil {
		return 0, nil, err
	}
	var id int64
	if err := tx.QueryRow(ctx, `INSERT INTO pki_document_signer (csca_id, key_label, algorithm, cert, serial, usage_start, usage_end,
		doc_limit, auto_issued, requested_by, confirmed_by) VALUES ($1, $2, $3, $4, $5::numeric, $6, $7, $8, $9, $10, $11) RETURNING id`,
		csca.ID, label, string(alg), cert.Raw, cert.SerialNumber.String(), from, to, limit, by2 == nil, r1, r2).Scan(&id); err != nil {
		return 0, nil, fmt.Errorf("authority: store DS: %w", err)
	}
	return id, cert, ledger.Audit(ctx, tx, ledger.Entry{Actor: actor, Action: "pki.ds.issue", Subject: fmt.Sprintf("ds/%d", id),
		Detail: fmt.Sprintf("serial %x limit %d usage until %s auto=%v", cert.SerialNumber, limit, to.Format("2006-01-02"), by2 == nil)})
}

// autoIssueLock serialises automatic DS issuance between stations (pg_advisory_xact_lock key).
const autoIssueLock = 0x63636364_0200

// IssueDocumentSigner is the automatic issuance used by the rotation pool when no DS is
// usable (see the package comment for the policy). If another station issued one meanwhile,
// nothing is issued. It returns the id of a usable DS.
func (a *Authority) IssueDocumentSigner(ctx context.Context) (int64, error) {
	var id int64
	var created []string
	err := pgx.BeginFunc(ctx, a.db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(autoIssueLock)); err != nil {
			return fmt.Errorf("authority: %w", err)
		}
		err := tx.QueryRow(ctx, `SELECT id FROM pki_document_signer WHERE state = 'active' AND used < doc_limit
			AND now() < usage_end ORDER BY usage_start, id LIMIT 1`).Scan(&id)
		if err == nil {
			return nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("authority: %w", err)
		}
		id, _, err = a.issueDS(ctx, tx, Params{}, nil, nil, &created)
		return err
	})
	if err != nil {
		for _, l := range created {
			_ = a.keys.Destroy(context.WithoutCancel(ctx), l)
		}
		return 0, err
	}
	return id, nil
}
