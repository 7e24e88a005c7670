package revocation

import (
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	in := Event{Kind: KindTokens, TokenHashes: []string{HashHex("pat_x")}, Reason: "revoke", At: 42}
	b, err := Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	in.V = Version
	if !reflect.DeepEqual(in, out) {
		t.Fatalf("got %+v want %+v", out, in)
	}
}

func TestDecodeRejects(t *testing.T) {
	for _, tt := range []struct{ name, in string }{
		{"not json", "nope"},
		{"no kind", `{"v":1}`},
		{"short hash", `{"v":1,"kind":"tokens","token_hashes":["ab"]}`},
		{"non hex", `{"v":1,"kind":"tokens","token_hashes":["zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"]}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Decode([]byte(tt.in)); !errors.Is(err, ErrMalformed) {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func TestHashHexIsSHA256(t *testing.T) {
	// SHA-256("abc"), from FIPS 180-2 appendix B.1.
	if got := HashHex("abc"); got != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Fatalf("HashHex = %s", got)
	}
}

func TestChannel(t *testing.T) {
	if got := Channel("t1:"); got != "t1:portcullis:revocations" {
		t.Fatal(got)
	}
}

func TestOriginTag(t *testing.T) {
	b, err := Encode(Event{Kind: KindTokens, TokenHashes: []string{HashHex("x")}, Origin: "a1b2c3"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), OriginTag("a1b2c3")) {
		t.Fatalf("%s does not carry %s", b, OriginTag("a1b2c3"))
	}
	// The tag cannot be forged inside another field: quotes are escaped.
	b, err = Encode(Event{Kind: KindClient, ClientID: `x","origin":"a1b2c3"`, Reason: `"origin":"a1b2c3"`})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), OriginTag("a1b2c3")) {
		t.Fatalf("%s: the tag appeared without an Origin", b)
	}
}

// TestReasonsDocumented keeps the Reason comment, the constants and
// Reasons the same set: a reason added in one place only fails here.
func TestReasonsDocumented(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "revocation.go", nil, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	var documented, declared []string
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok {
			continue
		}
		for _, sp := range g.Specs {
			switch sp := sp.(type) {
			case *ast.TypeSpec:
				if sp.Name.Name == "Reason" {
					for _, m := range regexp.MustCompile(`(?m)^//   - "([a-z_]+)"`).FindAllStringSubmatch(commentText(g.Doc), -1) {
						documented = append(documented, m[1])
					}
				}
			case *ast.ValueSpec:
				if id, ok := sp.Type.(*ast.Ident); ok && id.Name == "Reason" {
					v, err := strconv.Unquote(sp.Values[0].(*ast.BasicLit).Value)
					if err != nil {
						t.Fatal(err)
					}
					declared = append(declared, v)
				}
			}
		}
	}
	var listed []string
	for _, r := range Reasons() {
		listed = append(listed, string(r))
	}
	if len(documented) == 0 {
		t.Fatal("no reasons found in the Reason comment")
	}
	if !slices.Equal(documented, listed) {
		t.Errorf("Reason comment lists %v, Reasons() %v", documented, listed)
	}
	slices.Sort(declared)
	slices.Sort(listed)
	if !slices.Equal(declared, listed) {
		t.Errorf("constants of type Reason are %v, Reasons() %v", declared, listed)
	}
}

func commentText(g *ast.CommentGroup) string {
	var b strings.Builder
	for _, c := range g.List {
		b.WriteString(c.Text)
		b.WriteByte('\n')
	}
	return b.String()
}
