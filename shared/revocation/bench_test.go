package revocation

import (
	"strconv"
	"testing"
)

// BenchmarkDecode measures what a subscriber pays to decode one event: a
// rotation's (two hashes) and a user's revocation naming ten tokens.
func BenchmarkDecode(b *testing.B) {
	for _, n := range []int{2, 10} {
		hs := make([]string, n)
		for i := range hs {
			hs[i] = HashString("tok" + strconv.Itoa(i))
		}
		payload, err := Encode(Event{Kind: KindTokens, TokenHashes: hs, Reason: ReasonRotation, At: 1700000000, Origin: "0123456789abcdef"})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(strconv.Itoa(n)+" hashes", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(payload)))
			for b.Loop() {
				if _, err := Decode(payload); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
