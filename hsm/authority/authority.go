// Package authority runs the country's signing authority on top of PostgreSQL and an
// hsm.KeyStore: it creates and rolls over the CSCA and issues Document Signers under dual
// control (one admin requests, a different admin confirms), issues DS automatically for the
// rotation pool (hsm/dsrotation) by policy, revokes, publishes CRLs on the ICAO 9303-12
// schedule, exports the CSCA Master List and destroys retired keys with an audit record.
// Certificate profiles come from hsm/pki.
//
// Dual-control policy: creating or rolling over the CSCA and issuing a DS by hand need two
// distinct admins. Automatic DS issuance by the rotation pool (when the current DS is used
// up) needs none: it is bounded by the configuration both admins approved for the CSCA
// (usage period, document limit) and every such DS is recorded with auto_issued = true and an
// audit entry.
package authority

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cccd-project/cccd/hsm"
	"github.com/cccd-project/cccd/hsm/pki"
	"github.com/cccd-project/cccd/issuance/ledger"
)

// Sentinel errors callers branch on.
var (
	ErrNotAdmin   = errors.New("authority: not an active admin")
	ErrSameAdmin  = errors.New("authority: dual control needs a second, different admin")
	ErrNoCSCA     = errors.New("authority: no active CSCA")
	ErrCSCAExists = errors.New("authority: a CSCA already exists (use rollover)")
	ErrRequest    = errors.New("authority: no such pending request")
	ErrNotFound   = errors.New("authority: not found")
)

// Config is the signing policy. Zero values take the defaults noted.
type Config struct {
	pki.Authority                    // country, organization, CRL URL (required)
	CSCAAlgorithm   hsm.Algorithm    // default ecdsa-p384 (or rsa-3072)
	DSAlgorithm     hsm.Algorithm    // default ecdsa-p256
	Lifetime        pki.Lifetime     // key usage periods and validities (ICAO 9303-12 §5); defaults of pki.Lifetime
	DSDocumentLimit int64            // default 100000
	RetireGrace     time.Duration    // how long after its end a DS key is kept before destruction; default 1h
	Now             func() time.Time // clock; default time.Now
}

func (c Config) withDefaults() Config {
	if c.CSCAAlgorithm == "" {
		c.CSCAAlgorithm = hsm.ECDSAP384
	}
	if c.DSAlgorithm == "" {
		c.DSAlgorithm = hsm.ECDSAP256
	}
	c.Lifetime = c.Lifetime.WithDefaults()
	if c.DSDocumentLimit == 0 {
		c.DSDocumentLimit = 100000
	}
	if c.RetireGrace == 0 {
		c.RetireGrace = time.Hour
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Validate checks the policy.
func (c Config) Validate() error {
	c = c.withDefaults()
	if err := c.Authority.Validate(); err != nil {
		return err
	}
	if c.CSCAAlgorithm != hsm.ECDSAP384 && c.CSCAAlgorithm != hsm.RSA3072 {
		return fmt.Errorf("authority: CSCA algorithm %q (want ecdsa-p384 or rsa-3072)", c.CSCAAlgorithm)
	}
	if _, err := hsm.ParseAlgorithm(string(c.DSAlgorithm)); err != nil {
		return err
	}
	if err := c.Lifetime.Check(); err != nil {
		return err
	}
	if c.DSDocumentLimit < 1 {
		return fmt.Errorf("authority: DS document limit %d must be positive", c.DSDocumentLimit)
	}
	return nil
}

// Authority is the signing authority. Safe for concurrent use.
type Authority struct {
	db   *pgxpool.Pool
	keys hsm.KeyStore
	cfg  Config
}

// New returns the authority over db (migrated) and keys.
func New(db *pgxpool.Pool, keys hsm.KeyStore, cfg Config) (*Authority, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Authority{db: db, keys: keys, cfg: cfg.withDefaults()}, nil
}

// admin loads an active admin for the audit record.
func admin(ctx context.Context, q pgx.Tx, name string) (ledger.Actor, error) {
	a := ledger.Actor{Name: name}
	err := q.QueryRow(ctx, "SELECT role, office FROM users WHERE name = $1 AND NOT disabled", name).Scan(&a.Role, &a.Office)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && a.Role != "admin") {
		return a, fmt.Errorf("%w: %q", ErrNotAdmin, name)
	}
	if err != nil {
		return a, fmt.Errorf("authority: %w", err)
	}
	return a, nil
}

// CSCA is one CSCA generation.
type CSCA struct {
	ID       int64
	Sequence int
	KeyLabel string
	Cert     *x509.Certificate
	Link     *x509.Certificate // nil for the first generation
	State    string
}

// activeCSCA returns the active CSCA and its signer.
func (a *Authority) activeCSCA(ctx context.Context, q pgx.Tx) (*CSCA, error) {
	c := &CSCA{}
	var der []byte
	err := q.QueryRow(ctx, "SELECT id, sequence, key_label, cert FROM pki_csca WHERE state = 'active'").Scan(&c.ID, &c.Sequence, &c.KeyLabel, &der)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNoCSCA
	}
	if err != nil {
		return nil, fmt.Errorf("authority: %w", err)
	}
	if c.Cert, err = x509.ParseCertificate(der); err != nil {
		return nil, fmt.Errorf("authority: stored CSCA: %w", err)
	}
	c.State = "active"
	return c, nil
}

// CSCAs lists every CSCA generation, oldest first.
func (a *Authority) CSCAs(ctx context.Context) ([]CSCA, error) {
	rows, err := a.db.Query(ctx, "SELECT id, sequence, key_label, cert, link_cert, state FROM pki_csca ORDER BY sequence")
	if err != nil {
		return nil, fmt.Errorf("authority: %w", err)
	}
	defer rows.Close()
	var out []CSCA
	for rows.Next() {
		var c CSCA
		var der, link []byte
		if err := rows.Scan(&c.ID, &c.Sequence, &c.KeyLabel, &der, &link, &c.State); err != nil {
			return nil, fmt.Errorf("authority: %w", err)
		}
		if c.Cert, err = x509.ParseCertificate(der); err != nil {
			return nil, fmt.Errorf("authority: stored CSCA: %w", err)
		}
		if link != nil {
			if c.Link, err = x509.ParseCertificate(link); err != nil {
				return nil, fmt.Errorf("authority: stored link: %w", err)
			}
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// DocumentSigner is one DS record.
type DocumentSigner struct {
	ID         int64
	KeyLabel   string
	Cert       *x509.Certificate
	UsageEnd   time.Time
	Limit      int64
	Used       int64
	State      string
	AutoIssued bool
}

// DocumentSigners lists the DS records, newest first.
func (a *Authority) DocumentSigners(ctx context.Context) ([]DocumentSigner, error) {
	rows, err := a.db.Query(ctx, `SELECT id, key_label, cert, usage_end, doc_limit, used, state, auto_issued
		FROM pki_document_signer ORDER BY id DESC`)
	if err != nil {
		return nil, fmt.Errorf("authority: %w", err)
	}
	defer rows.Close()
	var out []DocumentSigner
	for rows.Next() {
		var d DocumentSigner
		var der []byte
		if err := rows.Scan(&d.ID, &d.KeyLabel, &der, &d.UsageEnd, &d.Limit, &d.Used, &d.State, &d.AutoIssued); err != nil {
			return nil, fmt.Errorf("authority: %w", err)
		}
		if d.Cert, err = x509.ParseCertificate(der); err != nil {
			return nil, fmt.Errorf("authority: stored DS: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// keyEvent records a key life-cycle event in pki_key_event and the audit log.
func keyEvent(ctx context.Context, tx pgx.Tx, actor ledger.Actor, label, kind, event, detail string) error {
	if _, err := tx.Exec(ctx, "INSERT INTO pki_key_event (key_label, kind, event, actor, detail) VALUES ($1, $2, $3, $4, $5)",
		label, kind, event, actor.Name, detail); err != nil {
		return fmt.Errorf("authority: key event: %w", err)
	}
	return ledger.Audit(ctx, tx, ledger.Entry{Actor: actor, Action: "pki.key." + event, Subject: kind + "/" + label, Detail: detail})
}
