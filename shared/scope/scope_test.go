package scope

import (
	"errors"
	"reflect"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Set
		err  error
	}{
		{name: "empty", in: "", want: nil},
		{name: "order kept", in: "write read", want: Set{"write", "read"}},
		{name: "duplicates dropped", in: "read read", want: Set{"read"}},
		{name: "double space", in: "read  write", err: ErrInvalid},
		{name: "leading space", in: " read", err: ErrInvalid},
		{name: "quote", in: `re"ad`, err: ErrInvalid},
		{name: "non ascii", in: "lé", err: ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.in)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestHasAllAndMissing(t *testing.T) {
	s := Set{"read", "write"}
	if !s.HasAll(Set{"write"}) || s.HasAll(Set{"write", "admin"}) {
		t.Fatal("HasAll wrong")
	}
	if got := s.Missing(Set{"admin", "read", "x"}); !reflect.DeepEqual(got, Set{"admin", "x"}) {
		t.Fatalf("Missing = %v", got)
	}
	if got := s.String(); got != "read write" {
		t.Fatalf("String = %q", got)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"", "read", "read write", "a  b", " x", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		set, err := Parse(s)
		if err != nil {
			return
		}
		again, err := Parse(set.String())
		if err != nil || !reflect.DeepEqual(again, set) {
			t.Fatalf("round trip of %q: %v %v", s, again, err)
		}
	})
}
