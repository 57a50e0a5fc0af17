package main

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"

	"github.com/cccd-project/cccd/hsm"
	"github.com/cccd-project/cccd/hsm/authority"
	"github.com/cccd-project/cccd/hsm/pki"
	"github.com/cccd-project/cccd/hsm/pki/ecparams"
	"github.com/cccd-project/cccd/hsm/pki/trust"
	"github.com/cccd-project/cccd/issuance/intake"
)

func init() { addCommand(newPKICmd) }

// pkiFlags fill authority.Config (env CCCD_PKI_COUNTRY, CCCD_PKI_ORG, CCCD_PKI_CRL_URL).
var pkiFlags struct {
	country, org, crlURL string
	dsLimit              int64
	lifetime             pki.Lifetime
}

// spanFlag is a pki.Span flag ("22y1d").
type spanFlag struct{ s *pki.Span }

func (f spanFlag) String() string {
	if f.s == nil || f.s.IsZero() {
		return ""
	}
	return f.s.String()
}
func (f spanFlag) Set(v string) (err error) { *f.s, err = pki.ParseSpan(v); return err }
func (f spanFlag) Type() string             { return "span" }

func pkiConfig() authority.Config {
	return authority.Config{
		Lifetime: pkiFlags.lifetime,
		Authority: pki.Authority{
			Country:      pkiFlags.country,
			Organization: pkiFlags.org,
			CRLURL:       pkiFlags.crlURL,
		},
		DSDocumentLimit: pkiFlags.dsLimit,
	}
}

// withAuthority opens the database, the key store and the authority, and authenticates the
// caller (--as, --token-file or CCCD_TOKEN).
func withAuthority(ctx context.Context, f func(a *authority.Authority, db *pgxpool.Pool, ks hsm.KeyStore, user string) error) error {
	db, err := openDB(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	u, err := currentUser(ctx, intake.New(db))
	if err != nil {
		return err
	}
	ks, _, closeKS, err := openKeyStore(ctx)
	if err != nil {
		return err
	}
	defer closeKS()
	a, err := authority.New(db, ks, pkiConfig())
	if err != nil {
		return err
	}
	return f(a, db, ks, u.Name)
}

func pkiDir() string { return filepath.Join(global.dataDir, "pki") }

func writePEM(name string, c *x509.Certificate) (string, error) {
	if err := os.MkdirAll(pkiDir(), 0o755); err != nil {
		return "", err
	}
	p := filepath.Join(pkiDir(), name)
	return p, os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}), 0o644)
}

func newPKICmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pki",
		Short: "Document PKI (ICAO 9303-12): CSCA, Document Signers, CRLs, master lists; two admins for key ceremonies",
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&pkiFlags.country, "country", envOr("CCCD_PKI_COUNTRY", "VN"), "issuing State, ISO 3166-1 alpha-2")
	pf.StringVar(&pkiFlags.org, "organization", envOr("CCCD_PKI_ORG", "Bo Cong an"), "organization in subject names")
	pf.StringVar(&pkiFlags.crlURL, "crl-url", envOr("CCCD_PKI_CRL_URL", "http://pki.cccd.example.vn/csca.crl"), "CRL distribution point")
	pf.Int64Var(&pkiFlags.dsLimit, "ds-limit", 100000, "documents a DS may sign")
	pf.IntVar(&pkiFlags.lifetime.CSCAKeyYears, "csca-key-years", pki.DefaultCSCAKeyYears, "CSCA private key usage period in years (ICAO 9303-12 §5.1)")
	pf.IntVar(&pkiFlags.lifetime.DSUsageMonths, "ds-usage-months", pki.DefaultDSUsageMonths, "DS private key usage period in months")
	pf.Var(spanFlag{&pkiFlags.lifetime.CardValidity}, "card-validity", "longest validity of a card a DS signs (default "+pki.LongestCardValidity.String()+")")
	pf.Var(spanFlag{&pkiFlags.lifetime.CSCAValidity}, "csca-validity", "CSCA certificate validity (default: key usage + the longest DS validity)")
	pf.StringVar(&keyStoreFlags.kind, "keystore", "", "pkcs11 or soft (env CCCD_KEYSTORE; default pkcs11)")

	request := func(use, short string, action authority.Action) *cobra.Command {
		var alg string
		var limit int64
		c := &cobra.Command{
			Use:   use,
			Short: short + " (dual control: creates a request for a second admin to confirm)",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, args []string) error {
				return withAuthority(cmd.Context(), func(a *authority.Authority, _ *pgxpool.Pool, _ hsm.KeyStore, user string) error {
					id, err := a.Request(cmd.Context(), user, action, authority.Params{Algorithm: hsm.Algorithm(alg), DocumentLimit: limit})
					if err != nil {
						return err
					}
					if global.json {
						return printJSON(map[string]any{"request": id, "action": action, "requested_by": user})
					}
					fmt.Printf("request %d (%s) recorded for %s; a second admin runs: cccd pki confirm %d --as NAME\n", id, action, user, id)
					if action != authority.ActionIssueDS {
						fmt.Println("lifetime:", pkiFlags.lifetime.Arithmetic())
					}
					return nil
				})
			},
		}
		if action == authority.ActionIssueDS {
			c.Flags().Int64Var(&limit, "limit", 0, "document limit (default --ds-limit)")
			c.Flags().StringVar(&alg, "algorithm", "", "ecdsa-p256 (default), ecdsa-p384 or rsa-3072")
		} else {
			c.Flags().StringVar(&alg, "algorithm", "", "ecdsa-p384 (default) or rsa-3072")
		}
		return c
	}
	csca := &cobra.Command{Use: "csca", Short: "Country Signing CA"}
	csca.AddCommand(
		request("create", "Create the CSCA key and self-signed certificate", authority.ActionCreateCSCA),
		request("rollover", "Roll the CSCA over to a new key with a link certificate", authority.ActionRollover),
		&cobra.Command{Use: "list", Short: "List CSCA generations", Args: cobra.NoArgs, RunE: func(cmd *cobra.Command, args []string) error {
			return withAuthority(cmd.Context(), func(a *authority.Authority, _ *pgxpool.Pool, _ hsm.KeyStore, _ string) error {
				cs, err := a.CSCAs(cmd.Context())
				if err != nil {
					return err
				}
				w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "SEQ\tSTATE\tKEY\tSERIAL\tVALID UNTIL\tLINK")
				for _, c := range cs {
					fmt.Fprintf(w, "%d\t%s\t%s\t%x\t%s\t%v\n", c.Sequence, c.State, c.KeyLabel, c.Cert.SerialNumber, c.Cert.NotAfter.Format(time.DateOnly), c.Link != nil)
				}
				return w.Flush()
			})
		}},
	)
	ds := &cobra.Command{Use: "ds", Short: "Document Signers"}
	var reason int
	revoke := &cobra.Command{
		Use: "revoke ID", Short: "Revoke a Document Signer (published by the next `cccd pki crl`)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil {
				return fmt.Errorf("DS id %q: %w", args[0], err)
			}
			return withAuthority(cmd.Context(), func(a *authority.Authority, _ *pgxpool.Pool, _ hsm.KeyStore, user string) error {
				if err := a.Revoke(cmd.Context(), id, reason, user); err != nil {
					return err
				}
				fmt.Printf("DS %d revoked by %s; run `cccd pki crl` to publish (within 48 hours)\n", id, user)
				return nil
			})
		},
	}
	revoke.Flags().IntVar(&reason, "reason", 1, "RFC 5280 reason: 0 unspecified, 1 keyCompromise, 4 superseded, 5 cessationOfOperation")
	ds.AddCommand(
		request("issue", "Issue a Document Signer by hand", authority.ActionIssueDS),
		revoke,
		&cobra.Command{Use: "list", Short: "List Document Signers with their counters", Args: cobra.NoArgs, RunE: func(cmd *cobra.Command, args []string) error {
			return withAuthority(cmd.Context(), func(a *authority.Authority, _ *pgxpool.Pool, _ hsm.KeyStore, _ string) error {
				list, err := a.DocumentSigners(cmd.Context())
				if err != nil {
					return err
				}
				w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "ID\tSTATE\tUSED\tLIMIT\tUSAGE END\tAUTO\tKEY")
				for _, d := range list {
					fmt.Fprintf(w, "%d\t%s\t%d\t%d\t%s\t%v\t%s\n", d.ID, d.State, d.Used, d.Limit, d.UsageEnd.Format(time.DateOnly), d.AutoIssued, d.KeyLabel)
				}
				return w.Flush()
			})
		}},
		&cobra.Command{Use: "retire", Short: "Destroy the keys of used-up, expired and revoked Document Signers (audited)", Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, args []string) error {
				return withAuthority(cmd.Context(), func(a *authority.Authority, _ *pgxpool.Pool, _ hsm.KeyStore, _ string) error {
					n, err := a.RetireDocumentSigners(cmd.Context())
					fmt.Printf("%d Document Signer keys destroyed\n", n)
					return err
				})
			}},
	)
	confirm := &cobra.Command{
		Use: "confirm REQUEST", Short: "Confirm another admin's request (second person of dual control)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil {
				return fmt.Errorf("request id %q: %w", args[0], err)
			}
			return withAuthority(cmd.Context(), func(a *authority.Authority, _ *pgxpool.Pool, _ hsm.KeyStore, user string) error {
				r, err := a.Confirm(cmd.Context(), id, user)
				if err != nil {
					return err
				}
				out := map[string]string{"request": args[0], "action": string(r.Action), "confirmed_by": user}
				if r.CSCA != nil {
					p, err := writePEM(fmt.Sprintf("csca-%s.pem", r.CSCA.Subject.SerialNumber), r.CSCA)
					if err != nil {
						return err
					}
					out["csca"] = p
				}
				if r.Link != nil {
					p, err := writePEM(fmt.Sprintf("link-%s.pem", r.Link.Subject.SerialNumber), r.Link)
					if err != nil {
						return err
					}
					out["link"] = p
				}
				if r.DS != nil {
					p, err := writePEM(fmt.Sprintf("ds-%d.pem", r.DSID), r.DS)
					if err != nil {
						return err
					}
					out["ds"] = p
				}
				if global.json {
					return printJSON(out)
				}
				for _, k := range []string{"request", "action", "confirmed_by", "csca", "link", "ds"} {
					if v, ok := out[k]; ok {
						fmt.Printf("%-13s %s\n", k+":", v)
					}
				}
				return nil
			})
		},
	}
	var force bool
	var crlOut string
	crl := &cobra.Command{
		Use: "crl", Short: "Publish CRLs that are due (90-day / 48-hour rules) and write the latest to --out", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return withAuthority(cmd.Context(), func(a *authority.Authority, _ *pgxpool.Pool, _ hsm.KeyStore, _ string) error {
				issued, err := a.PublishCRLs(cmd.Context(), force)
				if err != nil {
					return err
				}
				for _, c := range issued {
					fmt.Printf("CRL %d of CSCA %d issued %s\n", c.Number, c.CSCAID, c.ThisUpdate.Format(time.RFC3339))
				}
				if len(issued) == 0 {
					fmt.Println("no CRL due (at least 48 hours between CRLs, at most 90 days)")
				}
				latest, err := a.LatestCRLs(cmd.Context())
				if err != nil {
					return err
				}
				if crlOut == "" {
					crlOut = filepath.Join(pkiDir(), "crl")
				}
				if err := os.MkdirAll(crlOut, 0o755); err != nil {
					return err
				}
				for _, c := range latest {
					p := filepath.Join(crlOut, fmt.Sprintf("csca-%d.crl", c.CSCAID))
					if err := os.WriteFile(p, c.DER, 0o644); err != nil {
						return err
					}
					fmt.Printf("%s (number %d)\n", p, c.Number)
				}
				return nil
			})
		},
	}
	crl.Flags().BoolVar(&force, "force", false, "issue even if not due (never within 48 hours of the previous CRL)")
	crl.Flags().StringVar(&crlOut, "out", "", "directory for the DER CRLs (default <data-dir>/pki/crl)")

	ml := &cobra.Command{Use: "masterlist", Short: "CSCA Master Lists (ICAO 9303-12 §9)"}
	var mlOut, trustDir string
	export := &cobra.Command{
		Use: "export", Short: "Sign a master list of own and vouched-for foreign CSCAs", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return withAuthority(cmd.Context(), func(a *authority.Authority, _ *pgxpool.Pool, _ hsm.KeyStore, _ string) error {
				der, err := a.ExportMasterList(cmd.Context())
				if err != nil {
					return err
				}
				if mlOut == "" {
					mlOut = filepath.Join(pkiDir(), "masterlist.der")
				}
				if err := os.MkdirAll(filepath.Dir(mlOut), 0o755); err != nil {
					return err
				}
				fmt.Printf("%s (%d bytes)\n", mlOut, len(der))
				return os.WriteFile(mlOut, der, 0o644)
			})
		},
	}
	export.Flags().StringVar(&mlOut, "out", "", "output file (default <data-dir>/pki/masterlist.der)")
	imp := &cobra.Command{
		Use: "import FILE", Short: "Verify a master list against the trust store and add its CSCAs (verifier side, no database)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if trustDir == "" {
				trustDir = filepath.Join(global.dataDir, "trust")
			}
			return importMasterList(args[0], trustDir)
		},
	}
	imp.Flags().StringVar(&trustDir, "trust-dir", "", "trust store directory (default <data-dir>/trust)")
	foreign := &cobra.Command{
		Use: "add-foreign CERT", Short: "Vouch for a foreign CSCA (checked out of band) in the exported master list", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := readCert(args[0])
			if err != nil {
				return err
			}
			return withAuthority(cmd.Context(), func(a *authority.Authority, _ *pgxpool.Pool, _ hsm.KeyStore, user string) error {
				if err := a.AddForeignCSCA(cmd.Context(), c, user); err != nil {
					return err
				}
				fmt.Printf("foreign CSCA %s added (sha256 %x)\n", c.Subject, sha256.Sum256(c.Raw))
				return nil
			})
		},
	}
	ml.AddCommand(export, imp, foreign)
	cmd.AddCommand(csca, ds, confirm, crl, ml, newTrustCmd())
	return cmd
}

// newTrustCmd is `cccd pki trust`: the verifier's trust store directory (no database, no keys).
func newTrustCmd() *cobra.Command {
	var dir string
	cmd := &cobra.Command{Use: "trust", Short: "Verifier trust store: trusted CSCAs and CRLs (used for Passive Authentication)"}
	cmd.PersistentFlags().StringVar(&dir, "trust-dir", "", "trust store directory (default <data-dir>/trust)")
	edit := func(f func(s *trust.Store) error) error {
		if dir == "" {
			dir = filepath.Join(global.dataDir, "trust")
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		s, err := trust.Load(os.DirFS(dir))
		if err != nil {
			return err
		}
		if err := f(s); err != nil {
			return err
		}
		return s.Save(dir)
	}
	addCSCA := &cobra.Command{
		Use: "add-csca CERT", Short: "Trust a CSCA certificate (self-signed: your decision; link: must verify)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := readCert(args[0])
			if err != nil {
				return err
			}
			return edit(func(s *trust.Store) error {
				if err := s.AddCSCAFrom(c, "add-csca "+filepath.Base(args[0])); err != nil {
					return err
				}
				fmt.Printf("trusted %s (sha256 %x)\n", c.Subject, sha256.Sum256(c.Raw))
				return nil
			})
		},
	}
	addCRL := &cobra.Command{
		Use: "add-crl CRL", Short: "Add a DER CRL issued by a trusted CSCA (signature checked)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			der, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			return edit(func(s *trust.Store) error { return s.AddCRL(der) })
		},
	}
	list := &cobra.Command{
		Use: "list", Short: "List the trusted CSCA certificates", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return edit(func(s *trust.Store) error {
				return listTrust(s)
			})
		},
	}
	cmd.AddCommand(addCSCA, addCRL, list)
	return cmd
}

// readCert reads a PEM or DER certificate file.
func readCert(path string) (*x509.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if p, _ := pem.Decode(b); p != nil {
		b = p.Bytes
	}
	c, err := ecparams.ParseCertificate(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}
