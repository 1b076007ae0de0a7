package negotiation

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/cpsmm/cpsmm/stack/ident"
)

func TestAdvertWire(t *testing.T) {
	a := Advert{From: ident.MACFromUint64(7), Seq: 0x0102030405060708, Role: Primary, Eligible: true, Want: WantAlways, Claim: true}
	b := MarshalAdvert(a)
	if want, _ := hex.DecodeString("01020903" + "0102030405060708"); !bytes.Equal(b, want) {
		t.Fatalf("encoded %x, want %x", b, want)
	}
	back, err := UnmarshalAdvert(ident.MACFromUint64(7), b)
	if err != nil || back != a {
		t.Fatalf("decoded %+v (%v), want %+v", back, err, a)
	}
	for name, bad := range map[string]string{
		"short": "010209", "version": "02020903" + "0000000000000001", "role": "01030903" + "0000000000000001",
		"flags": "01022003" + "0000000000000001", "want": "01020904" + "0000000000000001", "want 0": "01020900" + "0000000000000001",
	} {
		raw, _ := hex.DecodeString(bad)
		if _, err := UnmarshalAdvert(ident.MACFromUint64(1), raw); !errors.Is(err, ErrBadAdvert) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// FuzzUnmarshalAdvert: never panics; what decodes encodes back the same.
func FuzzUnmarshalAdvert(f *testing.F) {
	f.Add(MarshalAdvert(Advert{Seq: 9, Role: Standby, Want: WantYes, Eligible: true}))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := UnmarshalAdvert(ident.MACFromUint64(5), b)
		if err != nil {
			return
		}
		if again := MarshalAdvert(a); !bytes.Equal(again, b) {
			t.Fatalf("re-encoded %x from %x", again, b)
		}
	})
}
