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
	"github.com/cccd-project/cccd/issuance/ledger"
	"github.com/cccd-project/cccd/issuance/lifecycle"
	"github.com/cccd-project/cccd/issuance/mrz"
	"github.com/cccd-project/cccd/issuance/store/pgcluster"
	"github.com/cccd-project/cccd/issuance/workflow"
	"github.com/cccd-project/cccd/personalization/counter"
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
		if err := handOverVerified(cmd.Context(), e, u.Actor(), &h, card, verify.Options{Trust: ts, Read: readOptions()}); err != nil {
			return err
		}
		return printHandover(h)
	}
}

// handOverVerified records the hand-over only when the card on t is genuine and the card
// made for h.Receipt (workflow.Engine.HandVerified). A refused card's report goes to
// stderr and the error carries the verdict's exit code and reasons.
func handOverVerified(ctx context.Context, e *workflow.Engine, actor ledger.Actor, h *workflow.Handover, t apdu.Transmitter, opts verify.Options) error {
	r, err := e.HandVerified(ctx, actor, h, t, opts)
	if errors.Is(err, workflow.ErrCardRefused) {
		_ = r.WriteText(os.Stderr)
		return &exitError{r.Verdict.ExitCode(), fmt.Errorf("deliver: hand-over refused: %w", err)}
	}
	return err
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
// card is put in (counter.PickReader), saying on stderr what it waits for.
func pickReader(ctx context.Context, pc *pcsc.Context, name string) (string, error) {
	if name != "" {
		fmt.Fprintf(os.Stderr, "waiting for a card in %q...\n", name)
	} else {
		fmt.Fprintln(os.Stderr, "waiting for a card in any reader (choose one with --reader)...")
	}
	r, err := counter.PickReader(ctx, pc, name)
	if err != nil {
		return "", &exitError{2, err}
	}
	return r, nil
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

// registryStatus returns the database status source when the issuance database is
// reachable (CCCD_DATABASE_URL, or the private cluster of the data directory runs) and
// the caller is signed in (--as, --token-file, CCCD_TOKEN), or nil and why not. The
// verifier never starts a database.
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
	return statusAs{&workflow.Engine{DB: db}, u}, func() { closeChained(ctx, db) }, ""
}

// statusAs asks src for card statuses as u: the check is a recorded read of the
// holder's record (intake.Service.CardStatus), which discloses valid or revoked only.
type statusAs struct {
	src verify.StatusSource
	u   intake.User
}

// CardStatus implements verify.StatusSource.
func (s statusAs) CardStatus(ctx context.Context, serial, idNumber string) (verify.Status, error) {
	return s.src.CardStatus(intake.WithUser(ctx, s.u), serial, idNumber)
}

// verifyOutput is the JSON of one verification.
type verifyOutput struct {
	verify.Report
	Reader       string `json:"reader"`
	PortraitFile string `json:"portrait_file,omitempty"`
	Registry     string `json:"registry_note,omitempty"`
}

func newVerifyCmd() *cobra.Command {
	var can, mrzText, portraitDir, at string
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
			var now func() time.Time
			if at != "" {
				t, err := verify.ParseAt(at)
				if err != nil {
					return &exitError{2, err}
				}
				now = func() time.Time { return t }
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
			var printErr error
			w := counter.Watch{PC: pc, Reader: verifyFlags.reader, Once: !watch,
				Setup: func(ctx context.Context, r string) (emrtd.Credentials, verify.Options, error) {
					ts, err := loadTrust(trustDir()) // again for every card: a counter runs all day, CRLs change
					if err != nil {
						return emrtd.Credentials{}, verify.Options{}, err
					}
					c := creds
					if c == nil {
						if c, err = promptCAN(stdin, r); err != nil {
							return emrtd.Credentials{}, verify.Options{}, &exitError{2, err}
						}
					}
					return *c, verify.Options{Trust: ts, Status: status, Read: readOptions(), Now: now}, nil
				},
				On: func(ev counter.Event) {
					switch ev.Kind {
					case counter.Waiting:
						if ev.Reader != "" {
							fmt.Fprintf(os.Stderr, "waiting for a card in %q...\n", ev.Reader)
						} else {
							fmt.Fprintln(os.Stderr, "waiting for a card in any reader (choose one with --reader)...")
						}
					case counter.Result:
						out := verifyOutput{Report: *ev.Report, Reader: ev.Reader, Registry: note}
						out.PortraitFile = savePortrait(portraitDir, out.Report)
						if err := printVerifyOutput(out); err != nil && printErr == nil {
							printErr = err
						}
						if watch {
							fmt.Fprintln(os.Stderr, "remove the card...")
						}
					}
				}}
			r, err := w.Run(ctx)
			var ee *exitError
			switch {
			case errors.As(err, &ee):
				return err
			case err != nil:
				return &exitError{2, err}
			case printErr != nil:
				return printErr
			case !watch && r.Verdict != verify.Genuine:
				return &exitError{r.Verdict.ExitCode(), r.Err()}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&can, "can", "", "the 6-digit card access number printed on the card (asked for when neither --can nor --mrz)")
	cmd.Flags().StringVar(&mrzText, "mrz", "", "the MRZ (90 characters) or DOCNUMBER/YYMMDD/YYMMDD (birth, expiry)")
	cmd.Flags().BoolVar(&watch, "watch", false, "counter mode: verify card after card until interrupted")
	cmd.Flags().StringVar(&at, "at", "", "judge the card as of this date (YYYY-MM-DD, end of that day in Vietnam; or RFC 3339), past or future")
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

// savePortrait saves the chip's portrait as <dir>/<serial>.jpg and returns the path, or
// "" when there is none or it could not be saved.
func savePortrait(dir string, r verify.Report) string {
	if len(r.Portrait) == 0 || r.Serial == "" {
		return ""
	}
	p := filepath.Join(dir, r.Serial+".jpg")
	if err := os.MkdirAll(dir, 0o755); err != nil || os.WriteFile(p, r.Portrait, 0o644) != nil {
		return ""
	}
	return p
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
			return withEngine(cmd, intake.RevokeRoles, func(e *workflow.Engine, u intake.User) error {
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
