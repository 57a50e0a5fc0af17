package portrait_test

import (
	"bytes"
	"image/jpeg"
	"syscall"
	"testing"

	"github.com/cccd-project/cccd/issuance"
	"github.com/cccd-project/cccd/issuance/portrait"
)

func TestGenerate(t *testing.T) {
	seen := map[string]int64{}
	for seed := int64(-3); seed < 60; seed++ {
		p, err := portrait.Generate(seed)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if prev, dup := seen[string(p)]; dup {
			t.Errorf("seeds %d and %d give the same portrait", prev, seed)
		}
		seen[string(p)] = seed
		if len(p) < 10_000 || len(p) > 40_000 {
			t.Errorf("seed %d: %d bytes, want about 20 KB", seed, len(p))
		}
		img, err := jpeg.Decode(bytes.NewReader(p))
		if err != nil {
			t.Fatalf("seed %d: not a JPEG: %v", seed, err)
		}
		if b := img.Bounds(); b.Dx() != portrait.Width || b.Dy() != portrait.Height {
			t.Errorf("seed %d: %v, want %dx%d", seed, b, portrait.Width, portrait.Height)
		}
		// Light uniform background: the top corners are bright and alike.
		var lum []uint32
		for _, pt := range [][2]int{{3, 3}, {portrait.Width - 4, 3}, {3, 60}, {portrait.Width - 4, 60}} {
			r, g, b, _ := img.At(pt[0], pt[1]).RGBA()
			lum = append(lum, (r+g+b)/3>>8)
		}
		for _, l := range lum {
			if l < 215 || absDiff(l, lum[0]) > 6 {
				t.Errorf("seed %d: background luminance %v, want light and uniform", seed, lum)
				break
			}
		}
	}
}

func TestGenerateDeterministic(t *testing.T) {
	for _, seed := range []int64{0, 1, 42, -7, 1 << 40} {
		a, _ := portrait.Generate(seed)
		b, _ := portrait.Generate(seed)
		if !bytes.Equal(a, b) {
			t.Errorf("seed %d: two calls differ", seed)
		}
	}
}

// TestGeneratePassesIntakeRules checks the portraits against the rules an application's portrait must meet.
func TestGeneratePassesIntakeRules(t *testing.T) {
	for seed := int64(0); seed < 20; seed++ {
		p, err := portrait.Generate(seed)
		if err != nil {
			t.Fatal(err)
		}
		a := issuance.Application{Portrait: p}
		err = a.Validate(issuance.MustParseDate("2026-01-01"))
		if ve, ok := err.(issuance.ValidationError); !ok || ve.Has("portrait") {
			t.Errorf("seed %d: portrait rejected: %v", seed, err)
		}
	}
}

func absDiff(a, b uint32) uint32 {
	if a > b {
		return a - b
	}
	return b - a
}

// BenchmarkGenerate reports wall and CPU time (getrusage, all threads) per portrait and the JPEG size.
func BenchmarkGenerate(b *testing.B) {
	var size int
	cpu0 := cpuTime()
	for i := 0; b.Loop(); i++ {
		p, err := portrait.Generate(int64(i))
		if err != nil {
			b.Fatal(err)
		}
		size += len(p)
	}
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(size)/float64(b.N), "bytes/portrait")
}

// BenchmarkRender measures drawing alone, without JPEG encoding.
func BenchmarkRender(b *testing.B) {
	cpu0 := cpuTime()
	for i := 0; b.Loop(); i++ {
		portrait.Render(int64(i))
	}
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
}

func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
