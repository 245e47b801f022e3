package chunk

import (
	"bytes"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	recs := [][]byte{[]byte("a"), {}, []byte("record three")}
	var v []byte
	for _, r := range recs {
		v = Append(v, r)
	}
	var got [][]byte
	if err := Each(v, func(i int, r []byte) bool { got = append(got, r); return true }); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(recs) {
		t.Fatalf("got %d records; want %d", len(got), len(recs))
	}
	for i := range recs {
		if !bytes.Equal(got[i], recs[i]) {
			t.Errorf("record %d = %q; want %q", i, got[i], recs[i])
		}
	}
	if _, err := Count(v[:len(v)-1]); err == nil {
		t.Error("a truncated chunk counted without error")
	}
}

func FuzzEach(f *testing.F) {
	f.Add(Append(Append(nil, []byte("x")), []byte("yz")))
	f.Add([]byte{0, 0, 0, 9, 1})
	f.Fuzz(func(t *testing.T, v []byte) {
		var again []byte
		if err := Each(v, func(_ int, r []byte) bool { again = Append(again, r); return true }); err == nil && !bytes.Equal(again, v) {
			t.Fatalf("re-encoded %x; want %x", again, v)
		}
	})
}
