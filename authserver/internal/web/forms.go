package web

import (
	"html/template"
	"strings"
)

// formErrors maps a form field's name to its messages; the key nonField
// holds what belongs to no one field. Each field shows its own messages
// beside it, tied to the input by aria-describedby (WCAG 3.3.1).
type formErrors map[string][]string

// nonField is Django's NON_FIELD_ERRORS key.
const nonField = "__all__"

func (f formErrors) add(field, msg string) { f[field] = append(f[field], msg) }

// fieldErrors is one field's messages, as the "errs" template shows them.
type fieldErrors struct {
	ID   string
	Msgs []string
}

// funcs are the templates' helpers.
var funcs = template.FuncMap{
	// errs is the messages of field name, with the id its input points at.
	"errs": func(f formErrors, name string) fieldErrors {
		return fieldErrors{ID: errorID(name), Msgs: f[name]}
	},
	// invalid marks an input whose field has errors and points it at them.
	"invalid": func(f formErrors, name string) template.HTMLAttr {
		if len(f[name]) == 0 {
			return ""
		}
		return template.HTMLAttr(`aria-invalid="true" aria-describedby="` + errorID(name) + `"`)
	},
	"yesno": func(b bool) string {
		if b {
			return "Yes"
		}
		return "No"
	},
	"plural": pluralize,
	"join":   strings.Join,
}

// errorID is the element id of a field's messages; names are ours
// (letters, digits, '_'), never the user's.
func errorID(name string) string { return "id_" + name + "_error" }
