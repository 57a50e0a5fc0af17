package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/cccd-project/cccd/hsm"
	"github.com/cccd-project/cccd/hsm/pkcs11"
	"github.com/cccd-project/cccd/hsm/softkey"
)

func init() { addCommand(newHSMCmd) }

// keyStoreFlags selects the key store for hsm and pki commands.
var keyStoreFlags struct{ kind string }

// keyStoreConfig is the key store configuration, filled from the environment:
//
//	CCCD_KEYSTORE            pkcs11 (default) or soft
//	CCCD_HSM_MODULE          PKCS#11 module (default SoftHSM2's)
//	CCCD_HSM_TOKEN           token label (default "cccd"), or CCCD_HSM_SLOT
//	CCCD_HSM_PIN             user PIN, or CCCD_HSM_PIN_FILE (default <data-dir>/softhsm/user.pin)
//	CCCD_KEYSTORE_PASSPHRASE software store passphrase, or CCCD_KEYSTORE_PASSPHRASE_FILE
//
// Secrets are read from the environment or files only, never from flags, and never printed.
type keyStoreConfig struct {
	Kind    string
	PKCS11  pkcs11.Config
	PIN     hsm.SecretSource
	SoftDir string
	Phrase  hsm.SecretSource
}

func loadKeyStoreConfig() (keyStoreConfig, error) {
	c := keyStoreConfig{Kind: keyStoreFlags.kind}
	if c.Kind == "" {
		c.Kind = os.Getenv("CCCD_KEYSTORE")
	}
	if c.Kind == "" {
		c.Kind = "pkcs11"
	}
	c.PKCS11.Module = envOr("CCCD_HSM_MODULE", pkcs11.SoftHSMModule)
	if s := os.Getenv("CCCD_HSM_SLOT"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return c, fmt.Errorf("CCCD_HSM_SLOT: %w", err)
		}
		c.PKCS11.Slot = &n
	} else {
		c.PKCS11.TokenLabel = envOr("CCCD_HSM_TOKEN", "cccd")
	}
	c.PIN = hsm.SecretSource{Env: "CCCD_HSM_PIN", File: envOr("CCCD_HSM_PIN_FILE", filepath.Join(softHSMDir(), "user.pin"))}
	c.SoftDir = filepath.Join(global.dataDir, "keys")
	c.Phrase = hsm.SecretSource{Env: "CCCD_KEYSTORE_PASSPHRASE", File: os.Getenv("CCCD_KEYSTORE_PASSPHRASE_FILE")}
	switch c.Kind {
	case "pkcs11", "soft":
		return c, nil
	}
	return c, fmt.Errorf("key store %q: want pkcs11 or soft", c.Kind)
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func softHSMDir() string { return filepath.Join(global.dataDir, "softhsm") }

// openKeyStore opens the configured key store; close releases it.
func openKeyStore(ctx context.Context) (ks hsm.KeyStore, describe string, close func(), err error) {
	c, err := loadKeyStoreConfig()
	if err != nil {
		return nil, "", nil, err
	}
	if c.Kind == "soft" {
		phrase, err := c.Phrase.Read()
		if err != nil {
			return nil, "", nil, fmt.Errorf("software key store: %w", err)
		}
		s, err := softkey.Open(c.SoftDir, phrase, softkey.KDF{})
		if err != nil {
			return nil, "", nil, err
		}
		return s, "software key store " + c.SoftDir, func() {}, nil
	}
	// The development token made by `cccd hsm init` is found without extra settings.
	if c.PKCS11.Module == pkcs11.SoftHSMModule && os.Getenv("SOFTHSM2_CONF") == "" {
		if conf := filepath.Join(softHSMDir(), "softhsm2.conf"); fileExists(conf) {
			os.Setenv("SOFTHSM2_CONF", conf)
		}
	}
	pin, err := c.PIN.Read()
	if err != nil {
		return nil, "", nil, fmt.Errorf("HSM PIN: %w (run `cccd hsm init` for a development token)", err)
	}
	c.PKCS11.PIN = pin
	s, err := pkcs11.Open(ctx, c.PKCS11)
	if err != nil {
		return nil, "", nil, err
	}
	return s, c.PKCS11.String(), func() { s.Close() }, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// secretFile returns the secret in path, creating it with 16 random bytes (hex, mode 0600)
// when it does not exist.
func secretFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		return string(trimNL(b)), nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	r := make([]byte, 16)
	if _, err := rand.Read(r); err != nil {
		return "", err
	}
	s := hex.EncodeToString(r)
	if err := os.WriteFile(path, []byte(s+"\n"), 0o600); err != nil {
		return "", err
	}
	return s, nil
}

func trimNL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

func newHSMCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "hsm", Short: "Key store: SoftHSM development token, PKCS#11 module, software store"}
	cmd.PersistentFlags().StringVar(&keyStoreFlags.kind, "keystore", "", "pkcs11 or soft (env CCCD_KEYSTORE; default pkcs11)")
	var label string
	initCmd := &cobra.Command{
		Use:   "init",
		Short: "Create a SoftHSM2 development token under <data-dir>/softhsm (PINs in 0600 files, never printed)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := softHSMDir()
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return err
			}
			pinFile, soFile := filepath.Join(dir, "user.pin"), filepath.Join(dir, "so.pin")
			pin, err := secretFile(pinFile)
			if err != nil {
				return err
			}
			so, err := secretFile(soFile)
			if err != nil {
				return err
			}
			h, err := pkcs11.InitSoftHSM(cmd.Context(), dir, label, pin, so)
			if err != nil {
				return err
			}
			if global.json {
				return printJSON(map[string]string{"softhsm2_conf": h.Conf, "token": h.TokenLabel, "pin_file": pinFile, "module": pkcs11.SoftHSMModule})
			}
			fmt.Printf(`SoftHSM2 token %q ready.
  config:   %s   (cccd sets SOFTHSM2_CONF to it when unset)
  PIN file: %s   (SO PIN: %s)

Production: point cccd at the vendor's PKCS#11 module and token instead:
  export CCCD_KEYSTORE=pkcs11
  export CCCD_HSM_MODULE=/path/to/vendor-pkcs11.so
  export CCCD_HSM_TOKEN=<token label>        # or CCCD_HSM_SLOT=<n>
  export CCCD_HSM_PIN_FILE=/run/secrets/hsm-pin   # or CCCD_HSM_PIN; never a flag
`, h.TokenLabel, h.Conf, pinFile, soFile)
			return nil
		},
	}
	initCmd.Flags().StringVar(&label, "token-label", "cccd", "token label")
	list := &cobra.Command{
		Use:   "list",
		Short: "List the key labels in the configured key store",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ks, desc, closeKS, err := openKeyStore(cmd.Context())
			if err != nil {
				return err
			}
			defer closeKS()
			labels, err := ks.List(cmd.Context())
			if err != nil {
				return err
			}
			if global.json {
				return printJSON(map[string]any{"keystore": desc, "keys": labels})
			}
			fmt.Println(desc)
			for _, l := range labels {
				fmt.Println(" ", l)
			}
			return nil
		},
	}
	cmd.AddCommand(initCmd, list)
	return cmd
}
