package verify

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/cccd-project/cccd/issuance/mrz"
	"github.com/cccd-project/cccd/personalization/lds"
)

// TestTruncatedNameAgrees: the verifier's own truncation agrees with the one that writes cards
// (mrz.TruncateName) on the spec vectors and on 20,000 random long Vietnamese names, words of
// one to seven letters, so that Compare flags a real mismatch and nothing else.
func TestTruncatedNameAgrees(t *testing.T) {
	vectors := map[string]string{
		"Nguyễn Thị Hoàng Phương Thảo Ngọc Bích":              "NGUYEN<<THI<HOANG<PHUONG<THA<N",
		"Công Tôn Nữ Thị Hoàng Hạ Uyên Phương Thảo Ngọc Bích": "CONG<<TON<NU<THI<HOANG<HA<UYEN",
		"Trần Nguyễn Thị Minh Khai Phương Linh":               "TRAN<<NGUYEN<THI<MINH<KHAI<PHU",
		"Lê Thị Ngọc Ánh Hồng Nhung Y Lan Anh":                "LE<<THI<NGOC<ANH<HONG<NHUN<Y<L",
		"Nguyễn Văn Đức":                                      "NGUYEN<<VAN<DUC",
	}
	for full, want := range vectors {
		if got := truncatedName(mrz.Name(full)); got != want {
			t.Errorf("truncatedName(%q) = %q, want %q", mrz.Name(full), got, want)
		}
	}
	words := []string{"Y", "Ê", "Lê", "Võ", "Hà", "Thị", "Văn", "Ngọc", "Hoàng", "Phương", "Nguyễn", "Huỳnh", "Trương", "Khương",
		"Nguyệt", "Quỳnh", "Đức", "Ánh", "Xuân", "Nghiêm"}
	r := rand.New(rand.NewPCG(19, 30))
	for range 20000 {
		var b strings.Builder
		for i := range 2 + r.IntN(14) {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(words[r.IntN(len(words))])
		}
		name := mrz.Name(b.String())
		if got, want := truncatedName(name), mrz.TruncateName(name, mrz.TD1LineLen); got != want {
			t.Fatalf("%q: verifier %q, writer %q", name, got, want)
		}
	}
}

// TestCompareTruncatedName: Compare accepts a chip whose MRZ name was cut by the ICAO 9303-3
// §4.6 rule and flags one cut plainly at 30 characters (ending in a filler), which the old
// writer produced and the old check, using the same cut, let through.
func TestCompareTruncatedName(t *testing.T) {
	full := "Nguyễn Thị Hoàng Phương Thảo Ngọc Bích"
	dg13 := lds.DG13{IDNumber: "001190012345", FullName: full, DateOfBirth: "01/01/1990", Sex: "Nữ", ExpiryDate: "01/01/2030"}
	for _, tc := range []struct {
		name string
		want []string
	}{
		{"NGUYEN<<THI<HOANG<PHUONG<THA<N", nil},
		{mrz.Name(full)[:30], []string{"name"}},
		{"NGUYEN<<THI<HOANG<PHUONG<THAO", []string{"name"}},
	} {
		td1 := mrz.TD1{DocumentCode: "ID", Issuer: "VNM", DocumentNumber: "190012345", OptionalData1: "001190012345",
			BirthDate: "900101", Sex: "F", ExpiryDate: "300101", Nationality: "VNM", Name: tc.name}
		if got := Compare(lds.DG1{Fields: td1}, dg13); !slices.Equal(got, tc.want) {
			t.Errorf("MRZ name %q: Compare = %v, want %v", tc.name, got, tc.want)
		}
	}
}
