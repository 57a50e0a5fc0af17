package vchip

import "testing"

// TestTearPlan: the same seed gives the same decisions; the share torn follows the rate
// and every tear falls inside the personalization's writes.
func TestTearPlan(t *testing.T) {
	a, b := &TearPlan{Rate: 0.2, Seed: 7}, &TearPlan{Rate: 0.2, Seed: 7}
	torn := 0
	for i := 0; i < 2000; i++ {
		x, y := a.Next(), b.Next()
		if x != y {
			t.Fatalf("chip %d: %d and %d with the same seed", i, x, y)
		}
		if x != 0 {
			torn++
			if x < 5 || x > 40 {
				t.Fatalf("tear after APDU %d, outside 5..40", x)
			}
		}
	}
	if torn < 300 || torn > 500 {
		t.Fatalf("%d of 2000 chips torn at rate 0.2", torn)
	}
	if (&TearPlan{}).Next() != 0 {
		t.Fatal("a zero plan tore a chip")
	}
}

// TestTornChip: a chip reports the tear that happened to it.
func TestTornChip(t *testing.T) {
	c := New("TORN1", Options{})
	c.SetFaults(Faults{TearAfter: 2})
	c.Process([]byte{0x00, 0xA4, 0x04, 0x0C, 0x07, 0xA0, 0x00, 0x00, 0x02, 0x47, 0x10, 0x01})
	if c.Torn() {
		t.Fatal("torn before the tear")
	}
	if out := c.Process([]byte{0x00, 0xB0, 0x00, 0x00, 0x00}); out != nil {
		t.Fatalf("the tearing APDU was answered: % X", out)
	}
	if !c.Torn() {
		t.Fatal("not torn after the tear")
	}
}
