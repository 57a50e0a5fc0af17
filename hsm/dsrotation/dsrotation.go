// Package dsrotation hands the personalization stations the Document Signer to sign the next
// card with, and enforces DS rotation in that signing path (ICAO 9303-12 §5.1: a DS key signs
// for at most its usage period; common practice also caps it at ~100,000 documents).
//
// Each Acquire takes one count from the current DS's counter in PostgreSQL with a single
// UPDATE ... WHERE used < doc_limit AND now() < usage_end: the row lock and the re-checked
// condition make the limit hold across any number of goroutines, processes and stations.
// When the current DS is used up or expired the next active one is taken; when none is left,
// an Issuer (the authority, by policy) issues a new one.
package dsrotation

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cccd-project/cccd/hsm"
)

// ErrNoSigner is returned when no Document Signer is usable and none can be issued.
var ErrNoSigner = errors.New("dsrotation: no usable Document Signer")

// Issuer issues a Document Signer when none is usable and returns its id (implemented by
// *authority.Authority; automatic issuance is its documented policy).
type Issuer interface {
	IssueDocumentSigner(ctx context.Context) (int64, error)
}

// Pool gives out Document Signers. Safe for concurrent use.
type Pool struct {
	db     *pgxpool.Pool
	keys   hsm.KeyStore
	issuer Issuer // nil: never issue automatically

	mu      sync.Mutex
	current *entry
}

type entry struct {
	id     int64
	signer crypto.Signer
	cert   *x509.Certificate
}

// New returns a pool over the pki_document_signer table. issuer may be nil (stations that
// must not issue: Acquire then fails with ErrNoSigner when the DS are used up).
func New(db *pgxpool.Pool, keys hsm.KeyStore, issuer Issuer) *Pool {
	return &Pool{db: db, keys: keys, issuer: issuer}
}

// acquireSQL takes one count from the oldest usable DS. The sub-select picks a candidate
// without locking; the outer WHERE is re-evaluated on the locked, latest row version (READ
// COMMITTED), so a DS that reached its limit meanwhile yields no row instead of an overrun.
// A start up to one minute ahead tolerates clock skew between hosts.
const acquireSQL = `UPDATE pki_document_signer
	SET used = used + 1, state = CASE WHEN used + 1 >= doc_limit THEN 'exhausted' ELSE state END
	WHERE id = (SELECT id FROM pki_document_signer
	            WHERE state = 'active' AND used < doc_limit
	              AND usage_start <= now() + interval '1 minute' AND now() < usage_end
	            ORDER BY usage_start, id LIMIT 1)
	  AND state = 'active' AND used < doc_limit AND now() < usage_end
	RETURNING id, key_label, used`

// Acquire takes one document count from the current DS and returns its signer and
// certificate. One database round trip per call while the DS stays the same; the count is
// spent even if the caller then fails to use it (a count is never reused).
func (p *Pool) Acquire(ctx context.Context) (crypto.Signer, *x509.Certificate, error) {
	issued := false
	for attempt := 0; attempt < 8; attempt++ {
		var id, used int64
		var label string
		err := p.db.QueryRow(ctx, acquireSQL).Scan(&id, &label, &used)
		if errors.Is(err, pgx.ErrNoRows) {
			// Either nothing is usable or the candidate ran out under us: look again, and
			// when nothing is left, issue once.
			var any bool
			if err := p.db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pki_document_signer WHERE state = 'active'
				AND used < doc_limit AND usage_start <= now() + interval '1 minute' AND now() < usage_end)`).Scan(&any); err != nil {
				return nil, nil, fmt.Errorf("dsrotation: %w", err)
			}
			if any {
				continue
			}
			if p.issuer == nil || issued {
				return nil, nil, ErrNoSigner
			}
			if _, err := p.issuer.IssueDocumentSigner(ctx); err != nil {
				return nil, nil, fmt.Errorf("%w: automatic issuance: %w", ErrNoSigner, err)
			}
			issued = true
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("dsrotation: acquire: %w", err)
		}
		e, err := p.load(ctx, id, label)
		if err != nil {
			return nil, nil, err
		}
		return e.signer, e.cert, nil
	}
	return nil, nil, fmt.Errorf("%w: contention did not settle", ErrNoSigner)
}

// load returns the cached signer of DS id, loading it on a change of DS (the previous one is
// dropped from memory).
func (p *Pool) load(ctx context.Context, id int64, label string) (*entry, error) {
	p.mu.Lock()
	e := p.current
	p.mu.Unlock()
	if e != nil && e.id == id {
		return e, nil
	}
	var der []byte
	if err := p.db.QueryRow(ctx, "SELECT cert FROM pki_document_signer WHERE id = $1", id).Scan(&der); err != nil {
		return nil, fmt.Errorf("dsrotation: DS %d: %w", id, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("dsrotation: DS %d certificate: %w", id, err)
	}
	signer, err := p.keys.Signer(ctx, label)
	if err != nil {
		return nil, fmt.Errorf("dsrotation: DS %d key: %w", id, err)
	}
	pub, ok := signer.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(cert.PublicKey) {
		return nil, fmt.Errorf("dsrotation: DS %d: key %q does not match its certificate", id, label)
	}
	e = &entry{id: id, signer: signer, cert: cert}
	p.mu.Lock()
	if p.current == nil || p.current.id < id {
		p.current = e
	}
	p.mu.Unlock()
	return e, nil
}
