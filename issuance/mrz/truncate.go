package mrz

import "strings"

// TruncateName fits an MRZ name (as Name returns it) into a name field of n characters (ICAO
// 9303-3 §4.6): a name that fits is kept whole; a longer one is cut in its secondary
// identifiers first, keeping the primary identifier whole, so that the field is full and ends
// in a letter, which tells a reader the name was truncated. When the cut falls just after a
// word, the field would end in a filler: the last word that still fits gives up its last
// letter so that the field can end with the initial of the word that was cut off
// ("NGUYEN<<THI<HOANG<PHUONG<THAO<NGOC<BICH" -> "NGUYEN<<THI<HOANG<PHUONG<THA<N"). A primary
// identifier too long to leave room for a secondary one is cut alone.
func TruncateName(name string, n int) string {
	if len(name) <= n {
		return name
	}
	primary, secondary, found := strings.Cut(name, "<<")
	if !found || len(primary)+2 >= n {
		return fitWords(name[:n], name[n:])
	}
	b := n - len(primary) - 2
	return primary + "<<" + fitWords(secondary[:b], secondary[b:])
}

// fitWords returns head (words separated by single <) so that it ends in a letter and keeps
// its length, given the text cut off after it (tail, non-empty).
func fitWords(head, tail string) string {
	if !strings.HasSuffix(head, "<") {
		return head
	}
	words := strings.Split(strings.TrimSuffix(head, "<"), "<")
	initial := strings.TrimLeft(tail, "<")
	for k := len(words) - 1; k >= 0 && initial != ""; k-- {
		if len(words[k]) >= 2 {
			words[k] = words[k][:len(words[k])-1]
			return strings.Join(words, "<") + "<" + initial[:1]
		}
	}
	return strings.TrimRight(head, "<")
}
