package vchip

import (
	"math/rand/v2"
	"sync"
)

// TearPlan decides, chip by chip, which blank chips a fault drill tears mid-write: a
// share Rate of them, each at an APDU between the 5th and the 40th of its
// personalization (the writes of the data groups). The same Seed gives the same
// decisions in the same order.
type TearPlan struct {
	Rate float64
	Seed int64

	mu sync.Mutex
	r  *rand.Rand
}

// Next is the TearAfter of the next chip: 0 for a chip that is not torn.
func (p *TearPlan) Next() int {
	if p.Rate <= 0 {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.r == nil {
		p.r = rand.New(rand.NewPCG(uint64(p.Seed), 0x7ea4))
	}
	if p.r.Float64() >= p.Rate {
		return 0
	}
	return 5 + p.r.IntN(36)
}

// Torn reports whether a tear (Faults.TearAfter) happened to this chip: a card pulled
// out mid-write, spoiled whatever it holds.
func (c *Chip) Torn() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.torn
}
