package workflow

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/cccd-project/cccd/issuance/intake"
	"github.com/cccd-project/cccd/issuance/ledger"
	"github.com/cccd-project/cccd/personalization/verify"
	"github.com/cccd-project/cccd/smartcard/apdu"
	"github.com/cccd-project/cccd/smartcard/emrtd"
)

// ErrCardRefused means the card presented at a hand-over is not genuine, or not the card
// made for the receipt: nothing was recorded. It wraps the verdict's reasons.
var ErrCardRefused = errors.New("workflow: card refused at hand-over")

// CardStatus implements verify.StatusSource with the issuance records: table cards and
// card_reports (lost, stolen, damaged). A card reported, revoked, or destroyed at production
// (spoiled, failed QC, returned) is revoked; one made but not handed over yet (encoded,
// printed, dispatched, at the office) is not issued; each with the time its state began
// (intake.Service.CardStatus). It asks as
// the signed-in user of ctx (intake.WithUser): the check is a recorded read of the
// holder's record (intake.Service.CardStatus) and discloses valid or revoked, and
// whether the card was made for idNumber, never the registry's ID number.
func (e *Engine) CardStatus(ctx context.Context, serial, idNumber string) (verify.Status, error) {
	u, ok := intake.UserFrom(ctx)
	if !ok {
		return verify.Status{}, errors.New("workflow: card status: the registry check is a recorded read and needs a signed-in user")
	}
	c, err := intake.New(e.DB).CardStatus(ctx, u, serial, idNumber)
	if err != nil {
		return verify.Status{}, err
	}
	return verify.Status{Known: c.Known, Revoked: c.Revoked, NotIssued: c.NotIssued, AtOffice: c.AtOffice, Reason: c.Reason,
		Since: c.Since, WrongHolder: c.Known && !c.HolderMatches}, nil
}

// VerifyForHandover verifies the card on t as the card made for receipt: the CAN comes
// from the application's ID number (its last 6 digits), the card must carry the serial
// of the card waiting at the office, and its status is read from the issuance records
// as the signed-in user of ctx (CardStatus).
func (e *Engine) VerifyForHandover(ctx context.Context, receipt string, t apdu.Transmitter, opts verify.Options) (verify.Report, error) {
	_, serial, _, err := e.CardAtOffice(ctx, receipt)
	if err != nil {
		return verify.Report{}, err
	}
	var id string
	if err := e.DB.QueryRow(ctx, "SELECT id_number FROM applications WHERE receipt = $1", receipt).Scan(&id); err != nil {
		return verify.Report{}, fmt.Errorf("workflow: application %s: %w", receipt, err)
	}
	if len(id) != 12 {
		return verify.Report{}, fmt.Errorf("workflow: application %s: ID number %q is not 12 digits", receipt, id)
	}
	opts.ExpectSerial, opts.Status = serial, e
	return verify.Verify(ctx, t, emrtd.Credentials{CAN: id[6:]}, opts), nil
}

// HandVerified hands a card over after verifying it on t (VerifyForHandover): only a
// genuine card that is the card made for h.Receipt is recorded (Hand, with its serial).
// A refused card gives ErrCardRefused and the report says why. A return (outcome
// returned) needs no card in a reader: use Hand.
func (e *Engine) HandVerified(ctx context.Context, actor ledger.Actor, h *Handover, t apdu.Transmitter, opts verify.Options) (verify.Report, error) {
	if h.Outcome != "delivered" {
		return verify.Report{}, fmt.Errorf("workflow: outcome %q: a verified hand-over delivers the card", h.Outcome)
	}
	if strings.TrimSpace(h.ReceivedBy) == "" {
		return verify.Report{}, ErrReceiverNeeded
	}
	// The office first: staff read only the cards waiting at their own office.
	_, _, office, err := e.CardAtOffice(ctx, h.Receipt)
	if err != nil {
		return verify.Report{}, err
	}
	if office != actor.Office {
		return verify.Report{}, fmt.Errorf("%w: the card for %s is at %s, %s works at %s", ErrWrongOffice, h.Receipt, office, actor.Name, actor.Office)
	}
	if _, ok := intake.UserFrom(ctx); !ok {
		ctx = intake.WithUser(ctx, intake.User{Name: actor.Name, Role: actor.Role, Office: actor.Office})
	}
	r, err := e.VerifyForHandover(intake.WithPurpose(ctx, intake.PurposeHandover), h.Receipt, t, opts)
	if err != nil {
		return r, err
	}
	if r.Verdict != verify.Genuine {
		return r, fmt.Errorf("%w: %s: %w", ErrCardRefused, h.Receipt, r.Err())
	}
	h.Serial = r.Serial
	return r, e.Hand(ctx, actor, *h)
}
