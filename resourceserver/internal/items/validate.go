package items

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"
)

// ValidationError maps field names to DRF-style messages. It is returned by
// ParseFields and written as the 400 body {"field": ["message", ...]}.
type ValidationError map[string][]string

func (v ValidationError) Error() string {
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("items: invalid")
	for _, k := range keys {
		fmt.Fprintf(&b, " %s: %s;", k, strings.Join(v[k], " "))
	}
	return b.String()
}

func (v ValidationError) add(field, msg string) { v[field] = append(v[field], msg) }

// The messages DRF gives, word for word.
const (
	msgRequired   = "This field is required."
	msgNull       = "This field may not be null."
	msgBlank      = "This field may not be blank."
	msgNotString  = "Not a valid string."
	msgNullChars  = "Null characters are not allowed."
	msgNameTaken  = "item with this name already exists."
	msgMaxLenFmt  = "Ensure this field has no more than %d characters."
	msgNotADict   = "Invalid data. Expected a dictionary, but got %s."
	nonFieldField = "non_field_errors"
)

// Input is a request body already decoded to field values: a JSON object's
// members (json.RawMessage) or a form's values (strings).
type Input map[string]Value

// Value is one field of an Input.
type Value struct {
	raw    json.RawMessage // set for JSON bodies
	form   string          // set for form bodies
	isForm bool
}

// JSONValue wraps one member of a JSON object.
func JSONValue(raw json.RawMessage) Value { return Value{raw: raw} }

// FormValue wraps one form field.
func FormValue(s string) Value { return Value{form: s, isForm: true} }

// DecodeJSONObject decodes body into an Input. A body that is not JSON
// returns a *json.SyntaxError-like error (the caller answers "JSON parse
// error"); a JSON value that is not an object returns a ValidationError with
// DRF's non_field_errors message. An empty body is an empty object.
func DecodeJSONObject(body []byte) (Input, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return Input{}, nil
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, &ParseError{err}
	}
	if dec.More() {
		return nil, &ParseError{fmt.Errorf("extra data after the JSON value")}
	}
	if _, ok := v.(map[string]any); !ok {
		return nil, ValidationError{nonFieldField: {fmt.Sprintf(msgNotADict, pyType(v))}}
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil {
		return nil, &ParseError{err}
	}
	in := make(Input, len(obj))
	for k, raw := range obj {
		in[k] = JSONValue(raw)
	}
	return in, nil
}

// ParseError is a request body that is not valid JSON.
type ParseError struct{ Err error }

func (e *ParseError) Error() string { return "JSON parse error - " + e.Err.Error() }
func (e *ParseError) Unwrap() error { return e.Err }

func pyType(v any) string {
	switch v.(type) {
	case []any:
		return "list"
	case string:
		return "str"
	case json.Number:
		return "int"
	case bool:
		return "bool"
	case nil:
		return "NoneType"
	}
	return "dict"
}

// ParseFields validates an Input as DRF's ModelSerializer does. With partial
// (PATCH) a missing field is left alone; otherwise name, description and
// price are required. id and user are read-only and ignored, as is any
// unknown field. It returns a ValidationError listing every bad field.
func ParseFields(in Input, partial bool) (Fields, error) {
	var f Fields
	verr := ValidationError{}
	if v, ok := in["name"]; ok {
		if s, msg := charField(v, maxNameLen); msg != "" {
			verr.add("name", msg)
		} else {
			f.Name = &s
		}
	} else if !partial {
		verr.add("name", msgRequired)
	}
	if v, ok := in["description"]; ok {
		if s, msg := charField(v, maxDescriptionLen); msg != "" {
			verr.add("description", msg)
		} else {
			f.Description = &s
		}
	} else if !partial {
		verr.add("description", msgRequired)
	}
	if v, ok := in["price"]; ok {
		if p, msg := priceField(v); msg != "" {
			verr.add("price", msg)
		} else {
			f.Price = &p
		}
	} else if !partial {
		verr.add("price", msgRequired)
	}
	if len(verr) > 0 {
		return Fields{}, verr
	}
	return f, nil
}

// charField is DRF's CharField(max_length=n, trim_whitespace=True): strings
// and numbers are accepted, anything else is "Not a valid string.".
func charField(v Value, maxLen int) (string, string) {
	var s string
	if v.isForm {
		s = v.form
	} else {
		raw := bytes.TrimSpace(v.raw)
		switch {
		case string(raw) == "null":
			return "", msgNull
		case len(raw) > 0 && raw[0] == '"':
			if err := json.Unmarshal(raw, &s); err != nil {
				return "", msgNotString
			}
		case len(raw) > 0 && (raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9'):
			s = string(raw)
		default:
			return "", msgNotString
		}
	}
	if !utf8.ValidString(s) {
		return "", msgNotString
	}
	if strings.IndexByte(s, 0) >= 0 {
		return "", msgNullChars
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return "", msgBlank
	}
	if utf8.RuneCountInString(s) > maxLen {
		return "", fmt.Sprintf(msgMaxLenFmt, maxLen)
	}
	return s, ""
}

// priceField accepts a JSON number or string (or a form value) and parses it
// exactly with ParsePrice.
func priceField(v Value) (Price, string) {
	var s string
	if v.isForm {
		s = v.form
	} else {
		raw := bytes.TrimSpace(v.raw)
		switch {
		case string(raw) == "null":
			return Price{}, msgNull
		case len(raw) > 0 && raw[0] == '"':
			if err := json.Unmarshal(raw, &s); err != nil {
				return Price{}, errPriceInvalid.Error()
			}
		case len(raw) > 0 && (raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9'):
			s = string(raw) // the number's own text: no float64 on the way
		default:
			return Price{}, errPriceInvalid.Error()
		}
	}
	p, err := ParsePrice(s)
	if err != nil {
		return Price{}, err.Error()
	}
	return p, ""
}
