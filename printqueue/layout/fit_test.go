package layout_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/cccd-project/cccd/printqueue/fonts"
	"github.com/cccd-project/cccd/printqueue/layout"
)

const (
	name51  = "Công Tôn Nữ Thị Hoàng Hạ Uyên Phương Thảo Ngọc Bích"
	name100 = "Đặng Thị Hồng Nhung Phương Thảo Ngọc Bích Diễm Quỳnh Hương Giang Bảo Ngọc Ánh Dương Tuyết Mai Lan Vy"
)

func fullNameElement(t *testing.T, design string) layout.Element {
	t.Helper()
	d, err := layout.Lookup(design)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range d.Front.Elements {
		if e.Field == "FullName" {
			return e
		}
	}
	t.Fatalf("%s prints no FullName", design)
	return layout.Element{}
}

// TestFitNames: the name-fitting rule on the 2024 face. A short name is one line at full
// size; a long one wraps onto a second line before its type gets smaller; a 100-character
// name is two lines within the design's bounds; what cannot fit even so is refused, naming
// the room it needs.
func TestFitNames(t *testing.T) {
	e := fullNameElement(t, layout.DefaultDesign)
	if n := len([]rune(name100)); n != 100 {
		t.Fatalf("name100 has %d characters", n)
	}
	tests := []struct {
		name      string
		lines     int
		size      float64 // exact size, or 0: below e.Size, at least e.MinSize
		overflows bool
	}{
		{"Nguyễn Văn Đức", 1, e.Size, false},
		{"Nguyễn Thị Hoàng Phương Thảo Bích", 1, e.Size, false},
		{"Nguyễn Thị Hoàng Phương Thảo Ngọc Bích", 2, e.Size, false}, // 38 capitals: two lines, full size
		{name51, 2, e.Size, false},                                   // wraps at full size, no smaller type
		{name100, 2, 0, false},
		{strings.Repeat(name100+" ", 2), 0, 0, true},
		{"Nguyễn " + strings.Repeat("W", 60), 0, 0, true}, // a word wider than the box is never broken
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := layout.Fit(fonts.SansWidth, strings.ToUpper(tt.name), e) // printed in capitals
			if tt.overflows {
				if !errors.Is(err, layout.ErrTextOverflow) || !strings.Contains(err.Error(), "2 line(s) of 55.5 mm") {
					t.Fatalf("Fit = %+v, %v; want ErrTextOverflow naming the room", f, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(f.Lines) != tt.lines || strings.Join(f.Lines, " ") != strings.Join(strings.Fields(strings.ToUpper(tt.name)), " ") {
				t.Errorf("lines %q, want %d holding the whole name", f.Lines, tt.lines)
			}
			if tt.size != 0 && f.Size != tt.size || tt.size == 0 && (f.Size >= e.Size || f.Size < e.MinSize) {
				t.Errorf("size %g pt (element %g..%g)", f.Size, e.MinSize, e.Size)
			}
			for _, l := range f.Lines {
				if w := fonts.SansWidth(l, f.Size); w > e.W {
					t.Errorf("line %q is %.1f mm wide, box %.1f mm", l, w, e.W)
				}
			}
			t.Logf("%d characters: %d line(s) at %g pt", len([]rune(tt.name)), len(f.Lines), f.Size)
		})
	}
}

// TestFitFieldEveryDesign: the check intake runs fits the 51- and 100-character names on
// every embedded design, and refuses a 200-character one naming design and face.
func TestFitFieldEveryDesign(t *testing.T) {
	for _, name := range layout.Names() {
		d, _ := layout.Lookup(name)
		for _, n := range []string{name51, name100} {
			if err := layout.FitField(fonts.SansWidth, d, "FullName", strings.ToUpper(n)); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}
		err := layout.FitField(fonts.SansWidth, d, "FullName", strings.Repeat(name100+" ", 2))
		if !errors.Is(err, layout.ErrTextOverflow) || !strings.HasPrefix(err.Error(), name+" front face: ") {
			t.Errorf("%s: 200 characters: %v", name, err)
		}
	}
}
