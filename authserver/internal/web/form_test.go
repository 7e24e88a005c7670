package web_test

import (
	"net/url"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// formFields returns what a browser would submit from the form on p whose
// action is action, with no button pressed: inputs with their values,
// ticked boxes only, each select's selected option (or its first), and
// textareas.
func formFields(t *testing.T, p page, action string) url.Values {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(p.body))
	if err != nil {
		t.Fatal(err)
	}
	attr := func(n *html.Node, k string) (string, bool) {
		for _, a := range n.Attr {
			if a.Key == k {
				return a.Val, true
			}
		}
		return "", false
	}
	var form *html.Node
	var find func(*html.Node)
	find = func(n *html.Node) {
		if form != nil {
			return
		}
		if n.Type == html.ElementNode && n.Data == "form" {
			if a, _ := attr(n, "action"); a == action {
				form = n
				return
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			find(c)
		}
	}
	find(doc)
	if form == nil {
		t.Fatalf("no form with action %q on the page (%d): %s", action, p.status, p.body)
	}
	out := url.Values{}
	var text func(*html.Node) string
	text = func(n *html.Node) string {
		var b strings.Builder
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if c.Type == html.TextNode {
				b.WriteString(c.Data)
			} else {
				b.WriteString(text(c))
			}
		}
		return b.String()
	}
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			name, named := attr(n, "name")
			_, disabled := attr(n, "disabled")
			if named && !disabled {
				switch n.Data {
				case "input":
					typ, _ := attr(n, "type")
					v, _ := attr(n, "value")
					_, checked := attr(n, "checked")
					switch typ {
					case "checkbox", "radio":
						if checked {
							if v == "" {
								v = "on"
							}
							out.Add(name, v)
						}
					case "submit", "button", "image", "reset":
					default:
						out.Add(name, v)
					}
				case "textarea":
					out.Add(name, strings.TrimPrefix(text(n), "\n"))
				case "select":
					var first, sel *html.Node
					var opts func(*html.Node)
					opts = func(o *html.Node) {
						if o.Type == html.ElementNode && o.Data == "option" {
							if first == nil {
								first = o
							}
							if _, ok := attr(o, "selected"); ok && sel == nil {
								sel = o
							}
						}
						for c := o.FirstChild; c != nil; c = c.NextSibling {
							opts(c)
						}
					}
					opts(n)
					if sel == nil {
						sel = first
					}
					if sel != nil {
						v, ok := attr(sel, "value")
						if !ok {
							v = text(sel)
						}
						out.Add(name, v)
					}
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(form)
	return out
}

// submit GETs path, then posts its form for action as a browser would,
// with the fields in set replaced (an empty slice unticks or clears).
func (b *browser) submit(path, action string, set url.Values) page {
	b.t.Helper()
	f := formFields(b.t, b.do("GET", path, nil), action)
	for k, vs := range set {
		if len(vs) == 0 {
			f.Del(k)
		} else {
			f[k] = vs
		}
	}
	return b.do("POST", action, f)
}
