package authority

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cccd-project/cccd/hsm"
	"github.com/cccd-project/cccd/hsm/pki"
	"github.com/cccd-project/cccd/hsm/pki/ecparams"
	"github.com/cccd-project/cccd/issuance/ledger"
)

// Revoke revokes Document Signer id (RFC 5280 reason code), marks it revoked so the rotation
// pool stops using it at once, and records it for the next CRL (which PublishCRLs issues
// within 48 hours). Its key is destroyed by RetireDocumentSigners.
func (a *Authority) Revoke(ctx context.Context, dsID int64, reason int, by string) error {
	return pgx.BeginFunc(ctx, a.db, func(tx pgx.Tx) error {
		actor, err := admin(ctx, tx, by)
		if err != nil {
			return err
		}
		var cscaID int64
		var serial string
		err = tx.QueryRow(ctx, `UPDATE pki_document_signer SET state = 'revoked' WHERE id = $1 AND state <> 'revoked'
			RETURNING csca_id, serial::text`, dsID).Scan(&cscaID, &serial)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("%w: DS %d (or already revoked)", ErrNotFound, dsID)
		}
		if err != nil {
			return fmt.Errorf("authority: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO pki_revocation (csca_id, serial, reason, revoked_by) VALUES ($1, $2::numeric, $3, $4)`,
			cscaID, serial, reason, by); err != nil {
			return fmt.Errorf("authority: %w", err)
		}
		return ledger.Audit(ctx, tx, ledger.Entry{Actor: actor, Action: "pki.ds.revoke", Subject: fmt.Sprintf("ds/%d", dsID),
			Detail: fmt.Sprintf("serial %s reason %d", serial, reason)})
	})
}

// CRLInfo describes a published CRL.
type CRLInfo struct {
	CSCAID     int64
	Number     int64
	ThisUpdate time.Time
	DER        []byte
}

// crlMargin is how long before the 90-day deadline a routine CRL is issued.
const crlMargin = 7 * 24 * time.Hour

// PublishCRLs issues, for every CSCA whose certificate is still valid, a new CRL when one is
// due under ICAO 9303-12 (pki.CRLSchedule): no CRL yet, an unpublished revocation and at least
// 48 hours since the previous CRL, or the 90-day deadline less than a week away. Run it at
// least hourly (e.g. from a timer); with force it ignores the "due" test but never the 48-hour
// floor. It returns the CRLs issued.
func (a *Authority) PublishCRLs(ctx context.Context, force bool) ([]CRLInfo, error) {
	cscas, err := a.CSCAs(ctx)
	if err != nil {
		return nil, err
	}
	now := a.cfg.Now().UTC().Truncate(time.Second)
	var out []CRLInfo
	for _, c := range cscas {
		if now.After(c.Cert.NotAfter) {
			continue
		}
		info, err := a.publishCRL(ctx, c, now, force)
		if err != nil {
			return out, err
		}
		if info != nil {
			out = append(out, *info)
		}
	}
	return out, nil
}

func (a *Authority) publishCRL(ctx context.Context, c CSCA, now time.Time, force bool) (*CRLInfo, error) {
	var info *CRLInfo
	err := pgx.BeginFunc(ctx, a.db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT id FROM pki_csca WHERE id = $1 FOR UPDATE", c.ID); err != nil {
			return fmt.Errorf("authority: %w", err)
		}
		var last time.Time
		var number int64
		err := tx.QueryRow(ctx, "SELECT number, this_update FROM pki_crl WHERE csca_id = $1 ORDER BY number DESC LIMIT 1", c.ID).Scan(&number, &last)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("authority: %w", err)
		}
		var pending *time.Time
		if err := tx.QueryRow(ctx, "SELECT min(revoked_at) FROM pki_revocation WHERE csca_id = $1 AND published_in IS NULL", c.ID).Scan(&pending); err != nil {
			return fmt.Errorf("authority: %w", err)
		}
		var p time.Time
		if pending != nil {
			p = *pending
		}
		earliest, deadline := pki.CRLSchedule(last, p)
		due := last.IsZero() || (!p.IsZero() && !now.Before(earliest)) || !now.Before(deadline.Add(-crlMargin))
		if !due && !(force && !now.Before(earliest)) {
			return nil
		}
		rows, err := tx.Query(ctx, "SELECT serial::text, reason, revoked_at FROM pki_revocation WHERE csca_id = $1 ORDER BY revoked_at", c.ID)
		if err != nil {
			return fmt.Errorf("authority: %w", err)
		}
		var revoked []pki.Revoked
		for rows.Next() {
			var s string
			var r pki.Revoked
			if err := rows.Scan(&s, &r.Reason, &r.At); err != nil {
				rows.Close()
				return fmt.Errorf("authority: %w", err)
			}
			r.Serial, _ = new(big.Int).SetString(s, 10)
			revoked = append(revoked, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("authority: %w", err)
		}
		key, err := a.keys.Signer(ctx, c.KeyLabel)
		if err != nil {
			return fmt.Errorf("authority: CSCA key: %w", err)
		}
		number++
		opts := pki.CRLOptions{Number: big.NewInt(number), ThisUpdate: now}
		if !last.IsZero() {
			opts.Previous = last
		}
		der, err := pki.CRL(c.Cert, key, revoked, opts)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "INSERT INTO pki_crl (csca_id, number, this_update, next_update, der) VALUES ($1, $2, $3, $4, $5)",
			c.ID, number, now, now.Add(pki.CRLMaxInterval), der); err != nil {
			return fmt.Errorf("authority: %w", err)
		}
		if _, err := tx.Exec(ctx, "UPDATE pki_revocation SET published_in = $2 WHERE csca_id = $1 AND published_in IS NULL", c.ID, number); err != nil {
			return fmt.Errorf("authority: %w", err)
		}
		info = &CRLInfo{CSCAID: c.ID, Number: number, ThisUpdate: now, DER: der}
		return ledger.Audit(ctx, tx, ledger.Entry{Actor: ledger.System("pki"), Action: "pki.crl.publish",
			Subject: fmt.Sprintf("csca/%d", c.ID), Detail: fmt.Sprintf("number %d, %d entries", number, len(revoked))})
	})
	return info, err
}

// LatestCRLs returns the newest CRL of each CSCA.
func (a *Authority) LatestCRLs(ctx context.Context) ([]CRLInfo, error) {
	rows, err := a.db.Query(ctx, `SELECT DISTINCT ON (csca_id) csca_id, number, this_update, der FROM pki_crl
		ORDER BY csca_id, number DESC`)
	if err != nil {
		return nil, fmt.Errorf("authority: %w", err)
	}
	defer rows.Close()
	var out []CRLInfo
	for rows.Next() {
		var c CRLInfo
		if err := rows.Scan(&c.CSCAID, &c.Number, &c.ThisUpdate, &c.DER); err != nil {
			return nil, fmt.Errorf("authority: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// AddForeignCSCA records a foreign CSCA the country vouches for in its master list (after an
// out-of-band check of its fingerprint by admin 'by').
func (a *Authority) AddForeignCSCA(ctx context.Context, cert *x509.Certificate, by string) error {
	if !cert.IsCA || len(cert.Subject.Country) != 1 {
		return fmt.Errorf("authority: foreign CSCA must be a CA certificate with one countryName")
	}
	fp := sha256.Sum256(cert.Raw)
	return pgx.BeginFunc(ctx, a.db, func(tx pgx.Tx) error {
		actor, err := admin(ctx, tx, by)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO pki_foreign_csca (fingerprint, country, cert, added_by) VALUES ($1, $2, $3, $4)
			ON CONFLICT DO NOTHING`, fp[:], cert.Subject.Country[0], cert.Raw, by); err != nil {
			return fmt.Errorf("authority: %w", err)
		}
		return ledger.Audit(ctx, tx, ledger.Entry{Actor: actor, Action: "pki.foreign.add", Subject: "csca/" + cert.Subject.Country[0],
			Detail: fmt.Sprintf("sha256 %x", fp)})
	})
}

// ExportMasterList signs a CSCA Master List with the own CSCA certificates, link
// certificates and the recorded foreign CSCAs. A Master List Signer is issued from the active
// CSCA (key generated in the key store) when none is valid for at least a day.
func (a *Authority) ExportMasterList(ctx context.Context) ([]byte, error) {
	var certs []*x509.Certificate
	cscas, err := a.CSCAs(ctx)
	if err != nil {
		return nil, err
	}
	for _, c := range cscas {
		certs = append(certs, c.Cert)
		if c.Link != nil {
			certs = append(certs, c.Link)
		}
	}
	rows, err := a.db.Query(ctx, "SELECT cert FROM pki_foreign_csca ORDER BY country")
	if err != nil {
		return nil, fmt.Errorf("authority: %w", err)
	}
	for rows.Next() {
		var der []byte
		if err := rows.Scan(&der); err != nil {
			rows.Close()
			return nil, fmt.Errorf("authority: %w", err)
		}
		c, err := ecparams.ParseCertificate(der) // foreign keys may have explicit EC parameters
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("authority: stored foreign CSCA: %w", err)
		}
		certs = append(certs, c)
	}
	rows.Close()
	mls, label, err := a.masterListSigner(ctx)
	if err != nil {
		return nil, err
	}
	key, err := a.keys.Signer(ctx, label)
	if err != nil {
		return nil, fmt.Errorf("authority: MLS key: %w", err)
	}
	return pki.ExportMasterList(certs, mls, key, a.cfg.Now())
}

func (a *Authority) masterListSigner(ctx context.Context) (*x509.Certificate, string, error) {
	var cert *x509.Certificate
	var label string
	var created []string
	err := pgx.BeginFunc(ctx, a.db, func(tx pgx.Tx) error {
		csca, err := a.activeCSCA(ctx, tx)
		if err != nil {
			return err
		}
		var der []byte
		err = tx.QueryRow(ctx, `SELECT key_label, cert FROM pki_master_list_signer WHERE csca_id = $1 AND not_after > $2
			ORDER BY id DESC LIMIT 1`, csca.ID, a.cfg.Now().Add(24*time.Hour)).Scan(&label, &der)
		if err == nil {
			cert, err = x509.ParseCertificate(der)
			return err
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("authority: %w", err)
		}
		cscaKey, err := a.keys.Signer(ctx, csca.KeyLabel)
		if err != nil {
			return fmt.Errorf("authority: CSCA key: %w", err)
		}
		l, key, err := a.generate(ctx, tx, ledger.System("pki"), "mls", a.cfg.DSAlgorithm, &created)
		if err != nil {
			return err
		}
		label = l
		if cert, err = pki.NewMasterListSigner(csca.Cert, cscaKey, key.Public(), pki.MLSOptions{Authority: a.cfg.Authority, Now: a.cfg.Now()}); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, "INSERT INTO pki_master_list_signer (csca_id, key_label, cert, not_after) VALUES ($1, $2, $3, $4)",
			csca.ID, label, cert.Raw, cert.NotAfter)
		return err
	})
	if err != nil {
		for _, l := range created {
			_ = a.keys.Destroy(context.WithoutCancel(ctx), l)
		}
		return nil, "", err
	}
	return cert, label, nil
}

// RetireDocumentSigners destroys the keys of Document Signers that can no longer sign:
// used up, past their usage period, or revoked, once RetireGrace has passed (so a station
// that acquired the last count finishes its signature first). Each destruction is recorded in
// pki_key_event and the audit log. It returns the number of keys destroyed.
func (a *Authority) RetireDocumentSigners(ctx context.Context) (int, error) {
	rows, err := a.db.Query(ctx, `SELECT id, key_label FROM pki_document_signer
		WHERE state <> 'destroyed' AND (state IN ('exhausted', 'revoked') OR usage_end < now()) ORDER BY id`)
	if err != nil {
		return 0, fmt.Errorf("authority: %w", err)
	}
	type ds struct {
		id    int64
		label string
	}
	var list []ds
	for rows.Next() {
		var d ds
		if err := rows.Scan(&d.id, &d.label); err != nil {
			rows.Close()
			return 0, fmt.Errorf("authority: %w", err)
		}
		list = append(list, d)
	}
	rows.Close()
	n := 0
	for _, d := range list {
		err := pgx.BeginFunc(ctx, a.db, func(tx pgx.Tx) error {
			var state string
			var changed time.Time
			// The DS row is locked so no station can take a count while the key goes.
			if err := tx.QueryRow(ctx, `SELECT state, coalesce(retired_at, least(usage_end, now())) FROM pki_document_signer
				WHERE id = $1 FOR UPDATE`, d.id).Scan(&state, &changed); err != nil {
				return fmt.Errorf("authority: %w", err)
			}
			if state == "destroyed" {
				return nil
			}
			if _, err := tx.Exec(ctx, "UPDATE pki_document_signer SET retired_at = coalesce(retired_at, now()) WHERE id = $1", d.id); err != nil {
				return fmt.Errorf("authority: %w", err)
			}
			if a.cfg.Now().Sub(changed) < a.cfg.RetireGrace {
				return nil
			}
			// A key already gone (a earlier run destroyed it, then failed to commit) counts as destroyed.
			if err := a.keys.Destroy(ctx, d.label); err != nil && !errors.Is(err, hsm.ErrKeyNotFound) {
				return fmt.Errorf("authority: destroy DS key %s: %w", d.label, err)
			}
			if _, err := tx.Exec(ctx, "UPDATE pki_document_signer SET state = 'destroyed' WHERE id = $1", d.id); err != nil {
				return fmt.Errorf("authority: %w", err)
			}
			n++
			return keyEvent(ctx, tx, ledger.System("pki"), d.label, "ds", "destroyed", fmt.Sprintf("ds %d was %s", d.id, state))
		})
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
