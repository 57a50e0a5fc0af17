package printqueue

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cccd-project/cccd/issuance"
	"github.com/cccd-project/cccd/issuance/workflow"
	"github.com/cccd-project/cccd/personalization/lds"
	"github.com/cccd-project/cccd/personalization/prep"
	"github.com/cccd-project/cccd/printqueue/layout"
	"github.com/cccd-project/cccd/printqueue/render"
)

// source reads what a card face is made of: the application record and the chip's
// read-back.
type source struct {
	db     *pgxpool.Pool
	engine *workflow.Engine
}

// application loads the application record (person jsonb, portrait bytea).
func (s source) application(ctx context.Context, appID int64) (issuance.Application, string, error) {
	var app issuance.Application
	var person []byte
	var reason, receipt string
	err := s.db.QueryRow(ctx, "SELECT person, portrait, reason, intake_office, receipt FROM applications WHERE id = $1", appID).
		Scan(&person, &app.Portrait, &reason, &app.IntakeOffice, &receipt)
	if errors.Is(err, pgx.ErrNoRows) {
		return app, "", fmt.Errorf("%w: %d", ErrNoSuchApp, appID)
	}
	if err != nil {
		return app, "", fmt.Errorf("printqueue: application %d: %w", appID, err)
	}
	if err := json.Unmarshal(person, &app.Person); err != nil {
		return app, "", fmt.Errorf("printqueue: application %d: person: %w", appID, err)
	}
	app.Reason = issuance.Reason(reason)
	return app, receipt, nil
}

// faceCard builds what is printed on the card with serial for the application: the
// fields come from the application record through personalization/prep (the same
// preparation that wrote the chip). The issue date is the one the station wrote to
// the chip (DG13 field 11 of the read-back): it is chosen when the chip is written
// and recorded nowhere else.
func (s source) faceCard(ctx context.Context, appID int64, serial string) (layout.Card, error) {
	app, _, err := s.application(ctx, appID)
	if err != nil {
		return layout.Card{}, err
	}
	rbSerial, _, dg13raw, err := s.engine.Readback(ctx, appID)
	if err != nil {
		return layout.Card{}, fmt.Errorf("printqueue: card %s: %w", serial, err)
	}
	if rbSerial != serial {
		return layout.Card{}, fmt.Errorf("printqueue: card %s: read-back is of card %s", serial, rbSerial)
	}
	dg13, err := lds.ParseDG13(dg13raw)
	if err != nil {
		return layout.Card{}, fmt.Errorf("printqueue: card %s: read-back DG13: %w", serial, err)
	}
	issue, err := parseDDMMYYYY(dg13.IssueDate)
	if err != nil {
		return layout.Card{}, fmt.Errorf("printqueue: card %s: read-back DG13 issue date: %w", serial, err)
	}
	c, err := prep.Prepare(app, issue, serial)
	if err != nil {
		return layout.Card{}, fmt.Errorf("printqueue: card %s: %w", serial, err)
	}
	return FaceCard(c, app.Portrait), nil
}

// FaceCard maps the prepared card (personalization/prep) onto the fields a design
// prints (printqueue/layout). The 2024 design's "place of birth" (nơi đăng ký khai
// sinh) is printed from the place of origin, the only place the application and DG13
// (field 8) carry.
func FaceCard(c *prep.Card, portrait []byte) layout.Card {
	p := c.Printed
	if len(c.Face.JPEG) > 0 {
		portrait = c.Face.JPEG
	}
	return layout.Card{
		IDNumber:            p.IDNumber,
		FullName:            p.FullName,
		DateOfBirth:         p.DateOfBirth,
		Sex:                 p.Sex,
		Nationality:         p.Nationality,
		PlaceOfOrigin:       p.PlaceOfOrigin,
		PlaceOfBirth:        p.PlaceOfOrigin,
		PlaceOfResidence:    p.PlaceOfResidence,
		IdentifyingFeatures: c.DG13.IdentifyingFeatures,
		IssueDate:           p.IssueDate,
		ExpiryDate:          p.ExpiryDate,
		PreviousIDNumber:    c.DG13.PreviousIDNumber,
		IssuingAuthority:    p.IssuingAuthority,
		Portrait:            portrait,
		MRZ:                 p.MRZ,
		CardSerial:          p.Serial,
	}
}

func parseDDMMYYYY(s string) (issuance.Date, error) {
	if len(s) != 10 || s[2] != '/' || s[5] != '/' {
		return issuance.Date{}, fmt.Errorf("%q is not dd/mm/yyyy", s)
	}
	return issuance.ParseDate(s[6:] + "-" + s[3:5] + "-" + s[:2])
}

// renderCard renders the front and back of one card as a PDF.
func (s source) renderCard(ctx context.Context, appID int64, serial, design string) ([]byte, error) {
	d, err := layout.Lookup(design)
	if err != nil {
		return nil, fmt.Errorf("printqueue: %w", err)
	}
	c, err := s.faceCard(ctx, appID, serial)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := render.Render(&buf, d, c); err != nil {
		return nil, fmt.Errorf("printqueue: card %s: %w", serial, err)
	}
	return buf.Bytes(), nil
}
