package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/cccd-project/cccd/smartcard/vchip"
	"github.com/cccd-project/cccd/smartcard/vpcd"
)

func init() { addCommand(newCardCmd) }

// controlTimeout bounds one request to the card emulator (an insert waits for the reader).
const controlTimeout = 15 * time.Second

// newCardCmd is `cccd card`: virtual chips in the PC/SC readers of the local pcscd
// (scripts/pcscd.sh start N configures the vpcd reader slots).
func newCardCmd() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "card",
		Short: "Virtual chip cards in PC/SC reader slots (emulator daemon and its controls)",
	}
	cmd.PersistentFlags().StringVar(&dir, "dir", "", "emulator directory with emulator.sock and chips/ (default DATA_DIR/cards)")
	emuDir := func() string {
		if dir != "" {
			return dir
		}
		return filepath.Join(global.dataDir, "cards")
	}
	cmd.AddCommand(newCardEmulateCmd(emuDir), newCardInsertCmd(emuDir), newCardRemoveCmd(emuDir), newCardListCmd(emuDir))
	return cmd
}

func newCardEmulateCmd(dir func() string) *cobra.Command {
	var slots int
	var feed bool
	var tear vchip.TearPlan
	cmd := &cobra.Command{
		Use:   "emulate",
		Short: "Run the card emulator: serve virtual chips in vpcd reader slots 0..N-1 until stopped",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			e := &vpcd.Emulator{
				Slots:    slots,
				Dir:      dir(),
				Load:     func(path string) (vpcd.Card, error) { return vchip.Load(path) },
				NewBlank: func(dir string) (vpcd.Card, string, error) { return newBlankChipTorn(dir, &tear) },
				Save: func(card vpcd.Card, path string) error {
					chip, ok := card.(*vchip.Chip)
					if !ok {
						return fmt.Errorf("card in %s is a %T, not a vchip.Chip", path, card)
					}
					return chip.Save(path)
				},
			}
			if feed {
				e.Finished = func(card vpcd.Card) bool {
					chip, ok := card.(*vchip.Chip)
					return ok && (!chip.Blank() || chip.Torn())
				}
				for i := 0; i < slots; i++ {
					if _, err := e.Insert(cmd.Context(), i, "", true); err != nil {
						return err
					}
				}
			}
			return e.Serve(cmd.Context())
		},
	}
	cmd.Flags().IntVar(&slots, "slots", 4, "reader slots to serve (pcscd must have at least this many: scripts/pcscd.sh start N)")
	cmd.Flags().Float64Var(&tear.Rate, "tear-rate", 0, "fault drill: this share of the blank chips is pulled out of the reader in the middle of its personalization")
	cmd.Flags().Int64Var(&tear.Seed, "tear-seed", 1, "fault drill: seed of the choice of the torn chips and of the APDU where each tears")
	cmd.Flags().BoolVar(&feed, "feed", false, "card feeder: start with a blank chip in every slot, and replace each chip a reader finished with (personalized or spoiled) by a new blank one; finished chips go to DIR/out")
	return cmd
}

// newBlankChip makes a blank chip with a random serial, to be saved as dir/SERIAL.json.
// newBlankChipTorn is newBlankChip, torn mid-write when the plan says so.
func newBlankChipTorn(dir string, plan *vchip.TearPlan) (vpcd.Card, string, error) {
	card, path, err := newBlankChip(dir)
	if err == nil {
		if n := plan.Next(); n > 0 {
			card.(*vchip.Chip).SetFaults(vchip.Faults{TearAfter: n})
		}
	}
	return card, path, err
}

func newBlankChip(dir string) (vpcd.Card, string, error) {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, "", err
	}
	serial := fmt.Sprintf("VC%X", b)
	path := filepath.Join(dir, serial+".json")
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		return nil, "", fmt.Errorf("chip file %s exists already", path)
	}
	return vchip.New(serial, vchip.Options{}), path, nil
}

func cardControl(ctx context.Context, dir string, req vpcd.Request) ([]vpcd.SlotInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, controlTimeout)
	defer cancel()
	return vpcd.Control(ctx, dir, req)
}

func newCardInsertCmd(dir func() string) *cobra.Command {
	var req vpcd.Request
	cmd := &cobra.Command{
		Use:   "insert --slot I (--blank | --file CHIP.json)",
		Short: "Insert a chip (a new blank one, or one from its file) into a reader slot of the emulator",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			req.Op = "insert"
			infos, err := cardControl(cmd.Context(), dir(), req)
			if err != nil {
				return err
			}
			return printSlots(infos)
		},
	}
	cmd.Flags().IntVar(&req.Slot, "slot", 0, "reader slot")
	cmd.Flags().BoolVar(&req.Blank, "blank", false, "insert a new blank chip (created in DIR/chips)")
	cmd.Flags().StringVar(&req.File, "file", "", "insert the chip saved in this file")
	cmd.MarkFlagsMutuallyExclusive("blank", "file")
	cmd.MarkFlagsOneRequired("blank", "file")
	_ = cmd.MarkFlagRequired("slot")
	return cmd
}

func newCardRemoveCmd(dir func() string) *cobra.Command {
	var req vpcd.Request
	cmd := &cobra.Command{
		Use:   "remove --slot I",
		Short: "Pull the chip out of a reader slot; its state is saved back to its file",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			req.Op = "remove"
			infos, err := cardControl(cmd.Context(), dir(), req)
			if err != nil {
				return err
			}
			return printSlots(infos)
		},
	}
	cmd.Flags().IntVar(&req.Slot, "slot", 0, "reader slot")
	_ = cmd.MarkFlagRequired("slot")
	return cmd
}

func newCardListCmd(dir func() string) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the emulator's reader slots, their PC/SC reader names and the chip in each",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			infos, err := cardControl(cmd.Context(), dir(), vpcd.Request{Op: "list"})
			if err != nil {
				return err
			}
			return printSlots(infos)
		},
	}
}

func printSlots(infos []vpcd.SlotInfo) error {
	if global.json {
		return printJSON(infos)
	}
	tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SLOT\tREADER\tPORT\tCHIP")
	for _, si := range infos {
		chip := si.Chip
		if chip == "" {
			chip = "-"
		}
		fmt.Fprintf(tw, "%d\t%s\t%d\t%s\n", si.Slot, si.Reader, si.Port, chip)
	}
	return tw.Flush()
}
