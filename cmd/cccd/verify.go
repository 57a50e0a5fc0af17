package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cccd-project/cccd/hsm/pki/trust"
	"github.com/cccd-project/cccd/issuance/intake"
	"github.com/cccd-project/cccd/issuance/lifecycle"
	"github.com/cccd-project/cccd/issuance/mrz"
	"github.com/cccd-project/cccd/issuance/store/pgcluster"
	"github.com/cccd-project/cccd/issuance/workflow"
	"github.com/cccd-project/cccd/personalization/verify"
	"github.com/cccd-project/cccd/smartcard/apdu"
	"github.com/cccd-project/cccd/smartcard/emrtd"
	"github.com/cccd-project/cccd/smartcard/pcsc"
)

// verifyFlags are shared by `cccd verify` and the verification inside `cccd deliver`.
// --reader is a root flag because deliver's flags belong to workflow.go: it names the
// PC/SC reader holding the card for both commands.
var verifyFlags struct {
	reader    string
	trustDir  string
	maxChunk  int
	noRegistr bool
}

func init() {
	addCommand(newVerifyCmd)
	addCommand(newRevokeCmd)
	rootCmd.PersistentFlags().StringVar(&verifyFlags.reader, "reader", os.Getenv("CCCD_READER"),
		"PC/SC reader holding the card, for verify and deliver (env CCCD_READER; default: the first reader a card is put in)")
	// `cccd deliver` verifies the card before recording the hand-over: a card that is not
	// genuine, or not the card made for the receipt, is refused with the verdict.
	prev := handOver
	handOver = func(cmd *cobra.Command, e *workflow.Engine, u intake.User, h workflow.Handover) error {
		if h.Outcome != "delivered" {
			return prev(cmd, e, u, h) // a card going back to production is not verified
		}
		ts, err := loadTrust(trustDir())
		if err != nil {
			return err
		}
		pc, err := pcsc.Open()
		if err != nil {
			return &exitError{2, fmt.Errorf("deliver: %w (is pcscd running?)", err)}
		}
		defer pc.Close()
		reader, err := pickReader(cmd.Context(), pc, verifyFlags.reader)
		if err != nil {
			return err
		}
		card, err := pc.Connect(cmd.Context(), reader)
		if err != nil {
			return &exitError{2, err}
		}
		defer card.Close()
		return handOverVerified(cmd.Context(), e, u, h, card, verify.Options{Trust: ts, Read: readOptions()},
			func(h workflow.Handover) error { return prev(cmd, e, u, h) })
	}
}

// handOverVerified verifies the card on t (verifyHandover) and, only when it is genuine
// and the card made for h.Receipt, records the hand-over with record. A refused card's
// report goes to stderr and the error carries the verdict's exit code and reasons.
func handOverVerified(ctx context.Context, e *workflow.Engine, u intake.User, h workflow.Handover, t apdu.Transmitter, opts verify.Options,
	record func(workflow.Handover) error) error {
	r, err := verifyHandover(ctx, e, u, h.Receipt, t, opts)
	if err != nil {
		return err
	}
	if r.Verdict != verify.Genuine {
		_ = r.WriteText(os.Stderr)
		return &exitError{r.Verdict.ExitCode(), fmt.Errorf("deliver: hand-over of %s refused: %w", h.Receipt, r.Err())}
	}
	h.Serial = r.Serial
	return record(h)
}

// verifyHandover verifies the card on t as the card made for receipt: the CAN comes from
// the application's ID number (its last 6 digits), the card must carry the serial of the
// card waiting at the office, and its registry status is asked as u (a hand-over read).
func verifyHandover(ctx context.Context, e *workflow.Engine, u intake.User, receipt string, t apdu.Transmitter, opts verify.Options) (verify.Report, error) {
	_, serial, _, err := e.CardAtOffice(ctx, receipt)
	if err != nil {
		return verify.Report{}, err
	}
	var id string
	if err := e.DB.QueryRow(ctx, "SELECT id_number FROM applications WHERE receipt = $1", receipt).Scan(&id); err != nil {
		return verify.Report{}, fmt.Errorf("deliver: application %s: %w", receipt, err)
	}
	if len(id) != 12 {
		return verify.Report{}, fmt.Errorf("deliver: application %s: ID number %q is not 12 digits", receipt, id)
	}
	opts.ExpectSerial = serial
	opts.Status = registryCheck{intake.New(e.DB), u}
	return verify.Verify(ctx, t, emrtd.Credentials{CAN: id[6:]}, opts), nil
}

// registryCheck asks the intake service for a card's status as user: valid or
// revoked, never the holder's record, and a recorded read (verification, hand-over).
type registryCheck struct {
	svc  *intake.Service
	user intake.User
}

// CardStatus implements verify.StatusSource.
func (r registryCheck) CardStatus(ctx context.Context, serial, idNumber string) (verify.Status, error) {
	c, err := r.svc.CardStatus(ctx, r.user, serial, idNumber)
	if err != nil {
		return verify.Status{}, err
	}
	return verify.Status{Known: c.Known, Revoked: c.Revoked, Reason: c.Reason, WrongHolder: c.Known && !c.HolderMatches}, nil
}

func trustDir() string {
	if verifyFlags.trustDir != "" {
		return verifyFlags.trustDir
	}
	if d := os.Getenv("CCCD_TRUST_DIR"); d != "" {
		return d
	}
	return filepath.Join(global.dataDir, "trust")
}

func readOptions() emrtd.Options { return emrtd.Options{MaxChunk: verifyFlags.maxChunk} }

// loadTrust loads the verifier's trust store, explaining how to make one when it is missing.
func loadTrust(dir string) (*trust.Store, error) {
	how := fmt.Sprintf("create it with `cccd pki trust add-csca CSCA.pem --trust-dir %s` (the country's CSCA certificate), "+
		"add foreign CSCAs with `cccd pki masterlist import MASTERLIST.ml --trust-dir %s` and CRLs with `cccd pki trust add-crl FILE.crl`", dir, dir)
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil, &exitError{2, fmt.Errorf("verify: no trust store at %s: %s", dir, how)}
	}
	s, err := trust.Load(os.DirFS(dir))
	if err != nil {
		return nil, &exitError{2, fmt.Errorf("verify: trust store %s: %w", dir, err)}
	}
	if len(s.CSCAs()) == 0 {
		return nil, &exitError{2, fmt.Errorf("verify: the trust store at %s holds no CSCA: %s", dir, how)}
	}
	return s, nil
}

// pickReader returns name once a card is in it, or, with no name, the first reader a
// card is put in.
func pickReader(ctx context.Context, pc *pcsc.Context, name string) (string, error) {
	if name != "" {
		fmt.Fprintf(os.Stderr, "waiting for a card in %q...\n", name)
		if err := pc.WaitForCard(ctx, name); err != nil {
			return "", &exitError{2, err}
		}
		return name, nil
	}
	readers, err := pc.Readers(ctx)
	if err != nil {
		return "", &exitError{2, err}
	}
	if len(readers) == 0 {
		return "", &exitError{2, errors.New("verify: pcscd has no reader (for virtual readers: scripts/pcscd.sh start 14)")}
	}
	fmt.Fprintf(os.Stderr, "waiting for a card in any of %d readers (choose one with --reader)...\n", len(readers))
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	found := make(chan string, len(readers))
	for _, r := range readers {
		go func() {
			if pc.WaitForCard(wctx, r) == nil {
				found <- r
			}
		}()
	}
	select {
	case r := <-found:
		return r, nil
	case <-ctx.Done():
		return "", &exitError{2, ctx.Err()}
	}
}

// parseCredentials builds the chip credentials from --can or --mrz. --mrz takes the 90
// characters of the TD1 zone (the three lines, with or without line breaks) or
// DOCUMENT_NUMBER/YYMMDD/YYMMDD (birth, expiry).
func parseCredentials(can, mrzText string) (emrtd.Credentials, error) {
	switch {
	case can != "" && mrzText != "":
		return emrtd.Credentials{}, errors.New("verify: give --can or --mrz, not both")
	case can != "":
		if len(can) != 6 || strings.Trim(can, "0123456789") != "" {
			return emrtd.Credentials{}, fmt.Errorf("verify: --can %q must be the 6 digits printed on the card", can)
		}
		return emrtd.Credentials{CAN: can}, nil
	}
	if parts := strings.Split(mrzText, "/"); len(parts) == 3 {
		return emrtd.Credentials{DocumentNumber: parts[0], DateOfBirth: parts[1], DateOfExpiry: parts[2]}, nil
	}
	zone := strings.Join(strings.Fields(mrzText), "")
	td1, err := mrz.ParseTD1(zone)
	if err != nil {
		return emrtd.Credentials{}, fmt.Errorf("verify: --mrz: %w (want the 90 MRZ characters or DOCNUMBER/YYMMDD/YYMMDD)", err)
	}
	return emrtd.Credentials{DocumentNumber: td1.DocumentNumber, DateOfBirth: td1.BirthDate, DateOfExpiry: td1.ExpiryDate}, nil
}

// registryStatus returns the registry status source when the issuance database is
// reachable (CCCD_DATABASE_URL, or the private cluster of the data directory runs) and
// the caller is signed in (--as, --token-file, CCCD_TOKEN: the check is a recorded read
// of the holder's record), or nil and why not. The verifier never starts a database.
func registryStatus(ctx context.Context) (verify.StatusSource, func(), string) {
	if verifyFlags.noRegistr {
		return nil, func() {}, "registry check disabled (--no-registry)"
	}
	if os.Getenv("CCCD_DATABASE_URL") == "" {
		c, err := pgcluster.ForDataDir(global.dataDir)
		if err != nil || !c.Running(ctx) {
			return nil, func() {}, "no issuance database reachable (set CCCD_DATABASE_URL): card status not checked"
		}
	}
	octx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	db, err := openDB(octx)
	if err != nil {
		return nil, func() {}, "issuance database not reachable: card status not checked: " + err.Error()
	}
	svc, err := newIntake(db)
	if err != nil {
		db.Close()
		return nil, func() {}, "card status not checked: " + err.Error()
	}
	u, err := currentUser(ctx, svc)
	if err != nil {
		db.Close()
		return nil, func() {}, "card status not checked: the registry check is a recorded read and needs a signed-in verifier (--as NAME): " + err.Error()
	}
	return registryCheck{svc, u}, db.Close, ""
}

// verifyOutput is the JSON of one verification.
type verifyOutput struct {
	verify.Report
	Reader       string `json:"reader"`
	PortraitFile string `json:"portrait_file,omitempty"`
	Registry     string `json:"registry_note,omitempty"`
}

func newVerifyCmd() *cobra.Command {
	var can, mrzText, portraitDir string
	var watch bool
	cmd := &cobra.Command{
		Use:   "verify [--reader NAME] [--can N | --mrz MRZ] [--json] [--watch]",
		Short: "Read a card and decide whether it is genuine (exit 0 genuine, 1 not genuine, 2 could not read)",
		Long: `Waits for a card, opens it with PACE (CAN or MRZ; BAC fallback), reads every data group and checks:
Passive Authentication (EF.SOD signature, Document Signer -> CSCA of the trust store and imported master
lists, CRLs, the hash of every data group), Chip and Active Authentication (clone checks), DG1 against
DG13, expiry, and, when the issuance database is reachable, the card's status (revoked, lost, stolen).
The portrait is saved as a JPEG. --watch serves a counter: card after card, until interrupted.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			var creds *emrtd.Credentials
			if can != "" || mrzText != "" {
				c, err := parseCredentials(can, mrzText)
				if err != nil {
					return &exitError{2, err}
				}
				creds = &c
			}
			if _, err := loadTrust(trustDir()); err != nil {
				return err // before waiting for a card: say now how to make the trust store
			}
			status, closeDB, note := registryStatus(ctx)
			defer closeDB()
			if note != "" && !global.json {
				fmt.Fprintln(os.Stderr, note)
			}
			pc, err := pcsc.Open()
			if err != nil {
				return &exitError{2, fmt.Errorf("verify: %w (is pcscd running?)", err)}
			}
			defer pc.Close()
			if portraitDir == "" {
				portraitDir = filepath.Join(global.dataDir, "verify")
			}
			stdin := bufio.NewReader(os.Stdin)
			reader := verifyFlags.reader
			for {
				r, err := pickReader(ctx, pc, reader)
				if err != nil {
					if watch && ctx.Err() != nil {
						return nil
					}
					return err
				}
				ts, err := loadTrust(trustDir()) // again for every card: a counter runs all day, CRLs change
				if err != nil {
					return err
				}
				c := creds
				if c == nil {
					if c, err = promptCAN(stdin, r); err != nil {
						return &exitError{2, err}
					}
				}
				out := verifyInReader(ctx, pc, r, *c, verify.Options{Trust: ts, Status: status, Read: readOptions()}, portraitDir)
				out.Registry = note
				if err := printVerifyOutput(out); err != nil {
					return err
				}
				if !watch {
					if out.Verdict != verify.Genuine {
						return &exitError{out.Verdict.ExitCode(), out.Err()}
					}
					return nil
				}
				reader = r
				fmt.Fprintln(os.Stderr, "remove the card...")
				if err := pc.WaitForRemoval(ctx, r); err != nil {
					return nil // interrupted
				}
			}
		},
	}
	cmd.Flags().StringVar(&can, "can", "", "the 6-digit card access number printed on the card (asked for when neither --can nor --mrz)")
	cmd.Flags().StringVar(&mrzText, "mrz", "", "the MRZ (90 characters) or DOCNUMBER/YYMMDD/YYMMDD (birth, expiry)")
	cmd.Flags().BoolVar(&watch, "watch", false, "counter mode: verify card after card until interrupted")
	cmd.Flags().StringVar(&portraitDir, "portrait-dir", "", "where the portrait JPEG is saved (default <data-dir>/verify)")
	cmd.Flags().StringVar(&verifyFlags.trustDir, "trust-dir", "", "trust store directory (env CCCD_TRUST_DIR; default <data-dir>/trust)")
	cmd.Flags().IntVar(&verifyFlags.maxChunk, "max-chunk", 0, "READ BINARY bytes per APDU (default 223, short APDUs; up to 65471 for readers with extended length)")
	cmd.Flags().BoolVar(&verifyFlags.noRegistr, "no-registry", false, "do not ask the issuance database for the card's status")
	return cmd
}

// promptCAN asks for the CAN of the card in reader on the terminal until one is valid.
func promptCAN(in *bufio.Reader, reader string) (*emrtd.Credentials, error) {
	for {
		fmt.Fprintf(os.Stderr, "CAN (6 digits printed on the card) for the card in %q: ", reader)
		line, err := in.ReadString('\n')
		if err != nil && (err != io.EOF || line == "") {
			return nil, fmt.Errorf("verify: no CAN given (use --can or --mrz): %w", err)
		}
		c, perr := parseCredentials(strings.TrimSpace(line), "")
		if perr == nil {
			return &c, nil
		}
		fmt.Fprintln(os.Stderr, perr)
		if err != nil {
			return nil, perr
		}
	}
}

// verifyInReader connects to the card in reader, verifies it and saves the portrait.
func verifyInReader(ctx context.Context, pc *pcsc.Context, reader string, creds emrtd.Credentials, opts verify.Options, portraitDir string) verifyOutput {
	out := verifyOutput{Reader: reader}
	start := time.Now()
	card, err := pc.Connect(ctx, reader)
	if err != nil {
		out.Verdict, out.Code = verify.Unreadable, verify.CodeReadFailed
		out.Reasons = []verify.Finding{{Check: verify.CheckRead, Code: verify.CodeReadFailed, Detail: err.Error()}}
		return out
	}
	connect := time.Since(start)
	out.Report = verify.Verify(ctx, card, creds, opts)
	_ = card.Close()
	out.Steps = append([]verify.Step{{Name: "connect", Duration: connect}}, out.Steps...)
	out.Total += connect
	if len(out.Portrait) > 0 && out.Serial != "" {
		p := filepath.Join(portraitDir, out.Serial+".jpg")
		if err := os.MkdirAll(portraitDir, 0o755); err == nil && os.WriteFile(p, out.Portrait, 0o644) == nil {
			out.PortraitFile = p
		}
	}
	return out
}

func printVerifyOutput(out verifyOutput) error {
	if global.json {
		return printJSON(out)
	}
	fmt.Printf("Card in %s\n", out.Reader)
	if err := out.WriteText(os.Stdout); err != nil {
		return err
	}
	if out.PortraitFile != "" {
		fmt.Printf("\nPortrait saved to %s\n", out.PortraitFile)
	}
	fmt.Println()
	return nil
}

// newRevokeCmd is `cccd revoke SERIAL --reason lost|stolen|damaged`.
func newRevokeCmd() *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   "revoke SERIAL --reason lost|stolen|damaged",
		Short: "Revoke an issued card (lost, stolen, damaged): counters then refuse it",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withEngine(cmd, []string{intake.RoleSupervisor, intake.RoleAdmin}, func(e *workflow.Engine, u intake.User) error {
				if err := e.RevokeCard(cmd.Context(), u.Actor(), args[0], reason); err != nil {
					return err
				}
				if global.json {
					return printJSON(map[string]string{"serial": args[0], "state": string(lifecycle.Revoked), "reason": reason})
				}
				fmt.Printf("card %s revoked (%s)\n", args[0], reason)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "lost, stolen or damaged")
	return cmd
}
