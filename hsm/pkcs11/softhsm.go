package pkcs11

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// SoftHSM describes a development token created by InitSoftHSM.
type SoftHSM struct {
	Conf       string // path for SOFTHSM2_CONF
	TokenDir   string
	TokenLabel string
}

// InitSoftHSM prepares a private SoftHSM2 token under dir: it writes dir/softhsm2.conf
// (tokendir dir/tokens, mode 0700) and initialises a token with softhsm2-util. The PINs are
// passed on softhsm2-util's command line (the tool has no other non-interactive input), so use
// it for development tokens only. The process that later opens the token must have
// SOFTHSM2_CONF set to the returned Conf before the module is loaded. If the token already
// exists it is left alone.
func InitSoftHSM(ctx context.Context, dir, tokenLabel, pin, soPin string) (*SoftHSM, error) {
	if pin == "" || soPin == "" {
		return nil, errors.New("pkcs11: softhsm: empty PIN or SO PIN")
	}
	util, err := exec.LookPath("softhsm2-util")
	if err != nil {
		return nil, fmt.Errorf("pkcs11: softhsm2-util not installed (Debian package softhsm2): %w", err)
	}
	if _, err := os.Stat(SoftHSMModule); err != nil {
		return nil, fmt.Errorf("pkcs11: softhsm module missing (Debian package softhsm2): %w", err)
	}
	h := &SoftHSM{Conf: filepath.Join(dir, "softhsm2.conf"), TokenDir: filepath.Join(dir, "tokens"), TokenLabel: tokenLabel}
	if err := os.MkdirAll(h.TokenDir, 0o700); err != nil {
		return nil, fmt.Errorf("pkcs11: softhsm: %w", err)
	}
	conf := fmt.Sprintf("directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n", h.TokenDir)
	if err := os.WriteFile(h.Conf, []byte(conf), 0o600); err != nil {
		return nil, fmt.Errorf("pkcs11: softhsm: %w", err)
	}
	env := append(os.Environ(), "SOFTHSM2_CONF="+h.Conf)
	show := exec.CommandContext(ctx, util, "--show-slots")
	show.Env = env
	out, err := show.CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("pkcs11: softhsm2-util --show-slots: %w: %s", err, out)
	}
	if containsLabel(out, tokenLabel) {
		return h, nil
	}
	cmd := exec.CommandContext(ctx, util, "--init-token", "--free", "--label", tokenLabel, "--pin", pin, "--so-pin", soPin)
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("pkcs11: softhsm2-util --init-token: %w: %s", err, out)
	}
	return h, nil
}

func containsLabel(showSlots []byte, label string) bool {
	// softhsm2-util prints "Label:            <label>" padded to 32 characters.
	for _, line := range strings.Split(string(showSlots), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "Label:"); ok && strings.TrimSpace(v) == label {
			return true
		}
	}
	return false
}
