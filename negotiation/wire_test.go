package negotiation

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/cpsmm/cpsmm/stack/ident"
)

func TestAdvertWire(t *testing.T) {
	a := Advert{From: ident.MACFromUint64(7), Slot: ident.At(3, 17), Seq: 0x0102030405060708, Role: Primary, Eligible: true,
		Want: WantAlways, Claim: true, Forced: true}
	b := MarshalAdvert(a)
	if want, _ := hex.DecodeString("02022903" + "0311" + "0102030405060708"); !bytes.Equal(b, want) {
		t.Fatalf("encoded %x, want %x", b, want)
	}
	back, err := UnmarshalAdvert(ident.MACFromUint64(7), b)
	if err != nil || back != a {
		t.Fatalf("decoded %+v (%v), want %+v", back, err, a)
	}
	for name, bad := range map[string]string{
		"short": "020209", "empty": "", "long": "02020903" + "0101" + "000000000000000100",
		"role":  "02030903" + "0101" + "0000000000000001",
		"flags": "02024003" + "0101" + "0000000000000001", "want": "02020904" + "0101" + "0000000000000001",
		"want 0": "02020900" + "0101" + "0000000000000001", "slot": "02020903" + "0121" + "0000000000000001",
	} {
		raw, _ := hex.DecodeString(bad)
		if _, err := UnmarshalAdvert(ident.MACFromUint64(1), raw); !errors.Is(err, ErrBadAdvert) || errors.Is(err, ErrAdvertVersion) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// A version 1 advert (12 octets, an older release) and an unknown
	// version are refused as such, whatever their length.
	for name, old := range map[string]string{
		"v1": "01020903" + "0102030405060708", "v1 short": "01", "v3": "03020903" + "0311" + "0102030405060708",
	} {
		raw, _ := hex.DecodeString(old)
		if _, err := UnmarshalAdvert(ident.MACFromUint64(1), raw); !errors.Is(err, ErrAdvertVersion) || !errors.Is(err, ErrBadAdvert) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// FuzzUnmarshalAdvert: never panics; what decodes encodes back the same.
func FuzzUnmarshalAdvert(f *testing.F) {
	f.Add(MarshalAdvert(Advert{Seq: 9, Role: Standby, Want: WantYes, Eligible: true, Slot: ident.At(1, 2)}))
	f.Add([]byte{1, 2, 3})
	f.Add([]byte{1, 2, 9, 3, 1, 2, 3, 4, 5, 6, 7, 8}) // version 1
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
