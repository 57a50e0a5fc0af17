package main

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cccd-project/cccd/issuance"
	"github.com/cccd-project/cccd/issuance/intake"
	"github.com/cccd-project/cccd/issuance/ledger"
	"github.com/cccd-project/cccd/issuance/mrz"
	"github.com/cccd-project/cccd/issuance/store/storetest"
	"github.com/cccd-project/cccd/issuance/workflow"
	"github.com/cccd-project/cccd/personalization/lds"
	"github.com/cccd-project/cccd/personalization/verify"
	"github.com/cccd-project/cccd/personalization/verify/verifytest"
	"github.com/cccd-project/cccd/smartcard/vchip"
)

// TestMain runs the tests of package main with storetest's database server (the only
// TestMain of the package: other cmd tests share it).
func TestMain(m *testing.M) { storetest.Main(m) }

// seedCardAtOffice inserts an application at the office with its card in stock, the
// state `cccd deliver` starts from.
func seedCardAtOffice(t *testing.T, db *pgxpool.Pool, receipt string, app issuance.Application, serial string) {
	t.Helper()
	ctx := context.Background()
	var batch, appID int64
	steps := []func() error{
		func() error {
			_, err := db.Exec(ctx, "INSERT INTO users (name, role, office, token_hash) VALUES ('clerk1', 'clerk', 'OFF1', '\\x01') ON CONFLICT DO NOTHING")
			return err
		},
		func() error {
			return db.QueryRow(ctx, "INSERT INTO batches (line, office, state, created_by) VALUES ('L1', 'OFF1', 'running', 'op') RETURNING id").Scan(&batch)
		},
		func() error {
			return db.QueryRow(ctx, `INSERT INTO applications (receipt, id_number, state, person, portrait, reason, intake_office, delivery, clerk, batch_id)
				VALUES ($1, $2, 'at_office', '{}', '\x00', 'first_issue', 'OFF1', '{"office": "OFF1"}', 'clerk1', $3) RETURNING id`,
				receipt, app.IDNumber, batch).Scan(&appID)
		},
		func() error {
			_, err := db.Exec(ctx, "INSERT INTO cards (serial, application_id, batch_id, state) VALUES ($1, $2, $3, 'in_stock')", serial, appID, batch)
			return err
		},
	}
	for _, s := range steps {
		if err := s(); err != nil {
			t.Fatalf("seed: %v", err)
		}
	}
}

func issueChip(t *testing.T, serial string, spec verifytest.Spec) *vchip.Chip {
	t.Helper()
	chip := vchip.New(serial, vchip.Options{})
	chip.SetSleep(func(time.Duration) {})
	if _, err := verifytest.Issue(context.Background(), vchip.Transport{Chip: chip}, spec); err != nil {
		t.Fatal(err)
	}
	chip.Reset()
	return chip
}

func appState(t *testing.T, db *pgxpool.Pool, receipt string) (app, card string) {
	t.Helper()
	if err := db.QueryRow(context.Background(), `SELECT a.state, c.state FROM applications a JOIN cards c ON c.application_id = a.id
		WHERE a.receipt = $1`, receipt).Scan(&app, &card); err != nil {
		t.Fatal(err)
	}
	return app, card
}

// TestDeliverVerifiesCard: `cccd deliver` refuses a forged card and a genuine card that
// is not the one made for the receipt, hands over the right one, and once the card is
// revoked as lost the registry check of the verifier refuses it.
func TestDeliverVerifiesCard(t *testing.T) {
	db := storetest.New(t)
	e := &workflow.Engine{DB: db}
	p, err := verifytest.NewPKI("VN")
	if err != nil {
		t.Fatal(err)
	}
	ts, err := p.Trust()
	if err != nil {
		t.Fatal(err)
	}
	app, err := verifytest.Application(21)
	if err != nil {
		t.Fatal(err)
	}
	const receipt, serial = "R-DELIVER-1", "VNDELIVER1"
	seedCardAtOffice(t, db, receipt, app, serial)
	good := verifytest.Spec{App: app, DS: p.DS, DSKey: p.DSKey, NISTP256: true}
	forged := good
	forged.AfterSign = func(files map[uint16][]byte) error {
		d, err := lds.ParseDG13(files[0x010D])
		if err != nil {
			return err
		}
		d.FullName = "Trần Thị Giả"
		files[0x010D], err = d.Encode()
		return err
	}
	actor := ledger.Actor{Name: "clerk1", Role: "clerk", Office: "OFF1"}
	stderr := os.Stderr
	devnull, _ := os.Open(os.DevNull)
	t.Cleanup(func() { os.Stderr = stderr; devnull.Close() })
	os.Stderr = devnull // the refused card's report

	cases := []struct {
		name     string
		chip     *vchip.Chip
		wantCode int // exit code of a refusal; 0: handed over
		wantApp  string
		reason   string // failure code the refusal names
	}{
		{"forged card refused", issueChip(t, serial, forged), 1, "at_office", "dg-hash-mismatch:DG13"},
		{"another genuine card refused", issueChip(t, "VNOTHER001", good), 1, "at_office", verify.CodeSerialMismatch},
		{"the genuine card is handed over", issueChip(t, serial, good), 0, "delivered", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			h := workflow.Handover{Receipt: receipt, Outcome: "delivered", ReceivedBy: "Người Nhận"}
			err := handOverVerified(ctx, e, actor, &h, vchip.Transport{Chip: tc.chip}, verify.Options{Trust: ts})
			var ee *exitError
			switch {
			case tc.wantCode == 0 && err != nil:
				t.Fatalf("hand-over failed: %v", err)
			case tc.wantCode != 0 && (!errors.As(err, &ee) || ee.code != tc.wantCode):
				t.Fatalf("err %v, want a refusal with exit code %d", err, tc.wantCode)
			case tc.wantCode != 0 && !strings.Contains(err.Error(), tc.reason):
				t.Fatalf("refusal %v does not name %s", err, tc.reason)
			}
			if got, _ := appState(t, db, receipt); got != tc.wantApp {
				t.Errorf("application %s, want %s", got, tc.wantApp)
			}
		})
	}

	// The registry checks of the hand-overs are reads of the holder's record, recorded
	// as the office staff's, for a hand-over (chained onto the audit log first).
	if _, err := ledger.ChainPending(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	var reads int
	if err := db.QueryRow(context.Background(), `SELECT count(*) FROM audit_log WHERE action = 'access.card'
		AND subject = 'person/' || $1 AND actor = 'clerk1' AND detail::jsonb->>'purpose' = 'hand-over'`, app.IDNumber).Scan(&reads); err != nil || reads == 0 {
		t.Fatalf("hand-over reads recorded: %d %v", reads, err)
	}

	t.Run("revoked card fails the registry check", func(t *testing.T) {
		ctx := context.Background()
		if err := e.RevokeCard(ctx, ledger.Actor{Name: "sup1", Role: "supervisor", Office: "OFF1"}, serial, "lost"); err != nil {
			t.Fatal(err)
		}
		if _, card := appState(t, db, receipt); card != "revoked" {
			t.Fatalf("card %s, want revoked", card)
		}
		chip := issueChip(t, serial, good)
		verifier := intake.User{Name: "tam.verifier", Role: intake.RoleVerifier, Office: "OFF1"}
		r := verify.Verify(ctx, vchip.Transport{Chip: chip}, verifytest.CANOf(app), verify.Options{Trust: ts, Status: statusAs{e, verifier}})
		if r.Verdict != verify.NotGenuine || r.Code != verify.CodeRevoked {
			t.Fatalf("%s %q, want not genuine %s: %v", r.Verdict, r.Code, verify.CodeRevoked, r.Err())
		}
		if err := e.RevokeCard(ctx, ledger.Actor{Name: "sup1"}, serial, "misplaced"); !errors.Is(err, workflow.ErrRevokeReason) {
			t.Errorf("reason misplaced: %v, want ErrRevokeReason", err)
		}
	})
}

func TestParseCredentials(t *testing.T) {
	td1, err := mrz.NewVietnamese("001064012345", "Nguyễn Văn A", "M", "640812", "301031")
	if err != nil {
		t.Fatal(err)
	}
	lines, err := td1.Lines()
	if err != nil {
		t.Fatal(err)
	}
	zone := strings.Join(lines[:], "\n")
	cases := []struct {
		name, can, mrz string
		wantErr        bool
		want           string // CAN or document number
	}{
		{"can", "123456", "", false, "123456"},
		{"can too short", "12345", "", true, ""},
		{"both", "123456", "X/1/2", true, ""},
		{"mrz short form", "", "064012345/640812/301031", false, "064012345"},
		{"mrz zone with line breaks", "", zone, false, "064012345"},
		{"mrz garbage", "", "not an mrz", true, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parseCredentials(tc.can, tc.mrz)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v, want error %v", err, tc.wantErr)
			}
			if err == nil && c.CAN != tc.want && c.DocumentNumber != tc.want {
				t.Errorf("credentials %+v, want %s", c, tc.want)
			}
		})
	}
}
