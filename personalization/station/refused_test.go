package station

import (
	"errors"
	"fmt"
	"testing"

	"github.com/cccd-project/cccd/issuance/workflow"
)

// TestRefusedJob: only a job refused as it was taken (finished elsewhere or paused)
// leaves its blank card in the reader; a used chip or any later failure does not.
func TestRefusedJob(t *testing.T) {
	cases := []struct {
		err  error
		keep bool
	}{
		{&StepError{"start card", fmt.Errorf("%w: job j1 is done", workflow.ErrJobObsolete)}, true},
		{&StepError{"start card", fmt.Errorf("%w: job j1", workflow.ErrPaused)}, true},
		{&StepError{"start card", fmt.Errorf("%w: CHIP1", workflow.ErrChipUsed)}, false},
		{&StepError{"write DG2", workflow.ErrJobObsolete}, false},
		{workflow.ErrPaused, false},
		{errors.New("card removed"), false},
		{nil, false},
	}
	for _, c := range cases {
		if got := refusedJob(c.err); got != c.keep {
			t.Errorf("refusedJob(%v) = %v, want %v", c.err, got, c.keep)
		}
	}
}
