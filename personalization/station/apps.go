package station

import (
	"context"
	"encoding/asn1"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cccd-project/cccd/issuance"
	"github.com/cccd-project/cccd/smartcard/apdu"
	"github.com/cccd-project/cccd/smartcard/perso"
	"github.com/cccd-project/cccd/smartcard/securityinfo"
)

// ErrNoApplication: the job names an application the database does not hold.
var ErrNoApplication = errors.New("station: no such application")

// DBApplications loads applications from the issuance database (table applications:
// person jsonb, portrait bytea).
type DBApplications struct {
	DB *pgxpool.Pool
}

// Application implements Applications.
func (d DBApplications) Application(ctx context.Context, id int64) (issuance.Application, error) {
	var app issuance.Application
	var person []byte
	var reason, office string
	err := d.DB.QueryRow(ctx, "SELECT person, portrait, reason, intake_office FROM applications WHERE id = $1", id).
		Scan(&person, &app.Portrait, &reason, &office)
	if errors.Is(err, pgx.ErrNoRows) {
		return app, fmt.Errorf("%w: %d", ErrNoApplication, id)
	}
	if err != nil {
		return app, fmt.Errorf("station: application %d: %w", id, err)
	}
	if err := json.Unmarshal(person, &app.Person); err != nil {
		return app, fmt.Errorf("station: application %d: person: %w", id, err)
	}
	app.Reason, app.IntakeOffice = issuance.Reason(reason), office
	return app, nil
}

// generateCAKey has the chip generate its Chip Authentication key (ICAO 9303-11 §6.2):
// brainpoolP256r1 through perso.GenerateCAKey, or NIST P-256 by naming the curve in the
// GENERATE ASYMMETRIC KEY PAIR data (84 01 02 06 <curve OID>, the profile of package vchip).
func generateCAKey(ctx context.Context, t apdu.Transmitter, nistP256 bool) ([]byte, error) {
	if !nistP256 {
		return perso.GenerateCAKey(ctx, t)
	}
	oid, err := asn1.Marshal(securityinfo.OIDCurveP256)
	if err != nil {
		return nil, err
	}
	spki, err := apdu.Run(ctx, t, apdu.Command{INS: 0x47, P1: 0x80, Data: append([]byte{0x84, 0x01, 0x02}, oid...), Ne: apdu.MaxShortLe})
	if err != nil {
		return nil, fmt.Errorf("generate CA key: %w", err)
	}
	if _, _, _, err := securityinfo.ParseECPublicKey(spki); err != nil {
		return nil, fmt.Errorf("generate CA key: %w", err)
	}
	return spki, nil
}
