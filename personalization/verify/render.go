package verify

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteText writes the report for a person at a counter: the verdict with its reason
// first, the holder, every check, and the time of every step.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	switch r.Verdict {
	case Genuine:
		fmt.Fprintf(&b, "GENUINE: every check passed")
	case NotGenuine:
		fmt.Fprintf(&b, "NOT GENUINE: %s", r.Code)
	default:
		fmt.Fprintf(&b, "COULD NOT READ: %s", r.Code)
	}
	fmt.Fprintf(&b, " (%s)\n", ms(r.Total))
	for _, f := range r.Failures() {
		fmt.Fprintf(&b, "  reason: %s\n", f.Detail)
	}
	if !r.JudgedAt.IsZero() {
		fmt.Fprintf(&b, "  judged as of %s", r.JudgedAt.In(ict).Format("2006-01-02 15:04 MST"))
		if r.ValidationModel != "" {
			fmt.Fprintf(&b, " by the %s model", r.ValidationModel)
		}
		b.WriteString("\n")
	}
	if h := r.Holder; h != nil {
		fmt.Fprintf(&b, "\nHolder\n")
		tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		for _, kv := range [][2]string{
			{"ID number", h.IDNumber}, {"Full name", h.FullName}, {"Date of birth", h.DateOfBirth}, {"Sex", h.Sex},
			{"Nationality", h.Nationality}, {"Place of origin", h.PlaceOfOrigin}, {"Place of residence", h.PlaceOfResidence},
			{"Issued", h.IssueDate}, {"Expires", h.ExpiryDate}, {"Card serial", r.Serial}, {"Issuing State", r.Issuer},
		} {
			if kv[1] != "" {
				fmt.Fprintf(tw, "  %s\t%s\n", kv[0], kv[1])
			}
		}
		for i, l := range mrzLines(h.MRZ) {
			label := ""
			if i == 0 {
				label = "MRZ"
			}
			fmt.Fprintf(tw, "  %s\t%s\n", label, l)
		}
		tw.Flush()
	}
	fmt.Fprintf(&b, "\nChecks\n")
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	for _, f := range r.Reasons {
		mark, code := "ok", ""
		switch {
		case f.NotApplicable:
			mark = "n/a"
		case f.Skipped:
			mark = "skip"
		case !f.OK:
			mark, code = "FAIL", "["+f.Code+"] "
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s%s\n", mark, f.Check, code, f.Detail)
	}
	tw.Flush()
	if len(r.Steps) > 0 {
		fmt.Fprintf(&b, "\nSteps\n")
		tw = tabwriter.NewWriter(&b, 0, 4, 2, ' ', tabwriter.AlignRight)
		for _, s := range r.Steps {
			fmt.Fprintf(tw, "  %s\t%s\t\n", s.Name, ms(s.Duration))
		}
		fmt.Fprintf(tw, "  total\t%s\t\n", ms(r.Total))
		tw.Flush()
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

func mrzLines(s string) []string {
	switch len(s) {
	case 90: // TD1
		return []string{s[:30], s[30:60], s[60:]}
	case 88: // TD3
		return []string{s[:44], s[44:]}
	}
	return []string{s}
}
