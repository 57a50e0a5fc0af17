package printqueue

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/jackc/pgx/v5"

	"github.com/cccd-project/cccd/issuance/ledger"
	"github.com/cccd-project/cccd/issuance/workflow"
	"github.com/cccd-project/cccd/personalization/lds"
	"github.com/cccd-project/cccd/printqueue/layout"
	"github.com/cccd-project/cccd/printqueue/qc"
)

// errFace marks a check outcome that fails the card (as opposed to an I/O error, which
// is retried).
var errFace = errors.New("printqueue: face check failed")

// QC checks the printed face of the application's card against its chip: the face is
// read from the PDF that was sent to the printer (printqueue/qc), the chip's DG1 and
// DG13 are the station's read-back. Equal: the card passes (Engine.QCPass). Different:
// the card is spoiled with a reason naming the fields, and the application is queued
// for a new card (Engine.Spoil). It is the Do of the "printed" stage worker.
func (q *Queue) QC(ctx context.Context, appID int64) error {
	serial, _, err := checkFace(ctx, q.engine, appID)
	if errors.Is(err, errFace) {
		reason := "QC: " + errors.Unwrap(err).Error()
		q.log.Warn("printqueue: QC failed, card spoiled", "application", appID, "serial", serial, "reason", reason)
		if err := q.engine.Spoil(ctx, q.cfg.Actor, appID, reason); err != nil && !errors.Is(err, ledger.ErrStateChanged) {
			return err
		}
		return nil
	}
	if err != nil {
		return err // pdftotext missing, database down: redelivered, then a dead letter
	}
	if err := q.engine.QCPass(ctx, q.cfg.Actor, appID); err != nil {
		return err
	}
	q.log.Info("printqueue: QC passed", "application", appID, "serial", serial)
	return nil
}

// faceErr wraps the reason a face fails so that errors.Is(err, errFace) and
// errors.Unwrap(err) gives the reason.
type faceErr struct{ reason error }

func (e faceErr) Error() string        { return e.reason.Error() }
func (e faceErr) Unwrap() error        { return e.reason }
func (e faceErr) Is(target error) bool { return target == errFace }

// checkFace compares the last face printed for the application's current card with the
// chip's read-back. A failing card gives an error matching errFace; other errors are
// I/O.
func checkFace(ctx context.Context, e *workflow.Engine, appID int64) (serial, pdfPath string, err error) {
	serial, dg1raw, dg13raw, err := e.Readback(ctx, appID)
	if err != nil {
		return "", "", fmt.Errorf("printqueue: qc %d: %w", appID, err)
	}
	var design string
	// The job may still be "sent": the application is marked printed before the job is
	// closed, and the QC stage can run in between.
	err = e.DB.QueryRow(ctx, `SELECT pdf, design FROM print_jobs WHERE serial = $1 AND state IN ('sent', 'printed')
		AND pdf <> '' ORDER BY id DESC LIMIT 1`, serial).Scan(&pdfPath, &design)
	if errors.Is(err, pgx.ErrNoRows) {
		return serial, "", faceErr{ErrNoPDF}
	}
	if err != nil {
		return serial, "", fmt.Errorf("printqueue: qc %d: %w", appID, err)
	}
	pdf, err := os.ReadFile(pdfPath)
	if err != nil {
		return serial, pdfPath, fmt.Errorf("printqueue: qc card %s: %w", serial, err)
	}
	d, err := layout.Lookup(design)
	if err != nil {
		return serial, pdfPath, fmt.Errorf("printqueue: qc card %s: %w", serial, err)
	}
	pages, err := qc.Extract(ctx, pdf)
	if err != nil {
		return serial, pdfPath, fmt.Errorf("printqueue: qc card %s: %w", serial, err)
	}
	face, err := qc.ReadFace(pages, d)
	if err != nil {
		return serial, pdfPath, faceErr{err}
	}
	dg1, err := lds.ParseDG1(dg1raw)
	if err != nil {
		return serial, pdfPath, faceErr{fmt.Errorf("chip DG1 unreadable: %w", err)}
	}
	dg13, err := lds.ParseDG13(dg13raw)
	if err != nil {
		return serial, pdfPath, faceErr{fmt.Errorf("chip DG13 unreadable: %w", err)}
	}
	if err := qc.Check(face, dg1, dg13); err != nil {
		return serial, pdfPath, faceErr{err}
	}
	return serial, pdfPath, nil
}

// Verification is the outcome of Verify for one card.
type Verification struct {
	Receipt string `json:"receipt"`
	Serial  string `json:"serial"`
	PDF     string `json:"pdf"`
	OK      bool   `json:"ok"`                // MRZ equals DG1 and every field equals DG13
	Problem string `json:"problem,omitempty"` // what differs
}

// Verify checks again, without changing anything, the printed face of every card of a
// batch that was printed and is still good (printed, passed QC or later) against its
// chip's read-back, and reports each card.
func Verify(ctx context.Context, e *workflow.Engine, batch int64) ([]Verification, error) {
	rows, err := e.DB.Query(ctx, `SELECT a.id, a.receipt FROM applications a JOIN cards c ON c.application_id = a.id
		WHERE c.batch_id = $1 AND c.state NOT IN ('blank', 'encoded', 'spoiled', 'qc_failed', 'revoked', 'returned')
		ORDER BY a.id`, batch)
	if err != nil {
		return nil, fmt.Errorf("printqueue: verify: %w", err)
	}
	type app struct {
		id      int64
		receipt string
	}
	apps, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (app, error) {
		var a app
		return a, r.Scan(&a.id, &a.receipt)
	})
	if err != nil {
		return nil, fmt.Errorf("printqueue: verify: %w", err)
	}
	if len(apps) == 0 {
		return nil, fmt.Errorf("%w: %d", ErrEmptyBatch, batch)
	}
	out := make([]Verification, 0, len(apps))
	for _, a := range apps {
		serial, path, err := checkFace(ctx, e, a.id)
		v := Verification{Receipt: a.receipt, Serial: serial, PDF: path, OK: err == nil}
		if errors.Is(err, errFace) {
			v.Problem = err.Error()
		} else if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}
