package mrz_test

import (
	"strings"
	"testing"

	"github.com/cccd-project/cccd/issuance/mrz"
)

// TestTruncateName: long Vietnamese names cut per ICAO 9303-3 §4.6, secondary identifiers
// first, the 30-character field full and ending in a letter.
func TestTruncateName(t *testing.T) {
	tests := []struct {
		full, want string
	}{
		// fits: kept whole, no truncation
		{"Nguyễn Văn Đức", "NGUYEN<<VAN<DUC"},
		{"Tôn Nữ Thị Hoàng Phương Thảo", "TON<<NU<THI<HOANG<PHUONG<THAO"},      // 29: fits
		{"Tôn Nữ Thị Hoàng Phương Thảo Mai", "TON<<NU<THI<HOANG<PHUONG<THA<M"}, // the cut falls after THAO
		// the cut falls just after THAO: THAO gives up a letter for NGOC's initial
		{"Nguyễn Thị Hoàng Phương Thảo Ngọc Bích", "NGUYEN<<THI<HOANG<PHUONG<THA<N"},
		// the cut falls on the end of UYEN: a letter already
		{"Công Tôn Nữ Thị Hoàng Hạ Uyên Phương Thảo Ngọc Bích", "CONG<<TON<NU<THI<HOANG<HA<UYEN"},
		// the cut falls inside PHUONG
		{"Trần Nguyễn Thị Minh Khai Phương Linh", "TRAN<<NGUYEN<THI<MINH<KHAI<PHU"},
		// the cut falls after the one-letter word Y: the word before it gives up a letter
		{"Lê Thị Ngọc Ánh Hồng Nhung Y Lan Anh", "LE<<THI<NGOC<ANH<HONG<NHUN<Y<L"},
		// Đ and every tone mark, 100 characters
		{"Đặng Thị Hồng Nhung Phương Thảo Ngọc Bích Diễm Quỳnh Hương Giang Bảo Ngọc Ánh Dương Tuyết Mai Lan Anh",
			"DANG<<THI<HONG<NHUNG<PHUONG<TH"},
		{"Huỳnh Công Tôn Nữ Ngọc Hân", "HUYNH<<CONG<TON<NU<NGOC<HAN"},
	}
	for _, tt := range tests {
		t.Run(tt.full, func(t *testing.T) {
			got := mrz.TruncateName(mrz.Name(tt.full), mrz.TD1LineLen)
			if got != tt.want {
				t.Errorf("TruncateName(%q) = %q, want %q", mrz.Name(tt.full), got, tt.want)
			}
			if full := mrz.Name(tt.full); len(full) > mrz.TD1LineLen && (len(got) != mrz.TD1LineLen || strings.HasSuffix(got, "<")) {
				t.Errorf("truncated %q is not 30 characters ending in a letter", got)
			}
			td1, err := mrz.NewVietnamese("001190012345", tt.full, "F", "900101", "300101")
			if err != nil {
				t.Fatal(err)
			}
			l, err := td1.Lines()
			if err != nil || strings.TrimRight(l[2], "<") != tt.want {
				t.Errorf("line 3 %q (%v), want %q", l[2], err, tt.want)
			}
		})
	}
}

func TestTruncateNameEdges(t *testing.T) {
	p27 := strings.Repeat("A", 27)
	p28 := strings.Repeat("B", 28)
	tests := []struct{ name, want string }{
		{p27 + "<<CD<EF", p27 + "<<C"},                  // room for one letter of the secondary
		{p28 + "<<CD", strings.Repeat("B", 27) + "<<C"}, // the primary gives up a letter for the initial
		{strings.Repeat("X", 35), strings.Repeat("X", 30)},
		{"AB<<C<D<E<F<G<H<I<J<K<L<M<N<O<P", "AB<<C<D<E<F<G<H<I<J<K<L<M<N<O"}, // no word to shorten: ends in a letter anyway
		{"AB<<C<D<E<F<G<H<I<J<K<L<M<N<PP<Q", "AB<<C<D<E<F<G<H<I<J<K<L<M<N<PP"},
		{"AB<<C<D<E<F<G<H<I<J<K<L<M<N<O<<Q", "AB<<C<D<E<F<G<H<I<J<K<L<M<N<O"},
	}
	for _, tt := range tests {
		if got := mrz.TruncateName(tt.name, 30); got != tt.want {
			t.Errorf("TruncateName(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}
