package yamlerr

import (
	"errors"
	"fmt"
	"testing"
)

func TestErrorNamesWhatIsKnown(t *testing.T) {
	for _, tc := range []struct {
		e    Error
		want string
	}{
		{Error{File: "s.yaml", Line: 7, Field: "modules[0].mac", Msg: "bad"}, "s.yaml:7: field modules[0].mac: bad"},
		{Error{File: "s.yaml", Field: "(document)", Msg: "bad"}, "s.yaml: field (document): bad"},
		{Error{Field: "slot", Msg: "slot 40 is outside 1..32"}, "field slot: slot 40 is outside 1..32"},
	} {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("%q, want %q", got, tc.want)
		}
	}
	if got := New("name", "%q is %d", "x", 3).Error(); got != `field name: "x" is 3` {
		t.Errorf("New: %q", got)
	}
}

func TestListAndErrorsAs(t *testing.T) {
	l := List{{File: "a", Line: 1, Field: "f", Msg: "one"}, {File: "a", Line: 2, Field: "g", Msg: "two"}}
	if got := l.Error(); got != "a:1: field f: one\na:2: field g: two" {
		t.Errorf("%q", got)
	}
	var e *Error
	if !errors.As(fmt.Errorf("load: %w", New("mac", "bad")), &e) || e.Field != "mac" {
		t.Errorf("errors.As through a wrap: %v", e)
	}
}
