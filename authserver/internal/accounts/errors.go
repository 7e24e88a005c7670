package accounts

import (
	"errors"
	"sort"
)

// Errors returned by Store and Service.
var (
	ErrNotFound           = errors.New("accounts: user not found")
	ErrEmailTaken         = errors.New("accounts: email already registered")
	ErrInvalidCredentials = errors.New("accounts: invalid credentials")
)

// Messages shared with Django REST framework and Django's validators.
const (
	MsgRequired     = "This field is required."
	MsgBlank        = "This field may not be blank."
	MsgInvalidEmail = "Enter a valid email address."
	MsgUnique       = "This field must be unique."
	MsgMismatch     = "Password fields did not match"
	MsgOldIncorrect = "Old password is incorrect"
	MsgNotAString   = "Not a valid string."
	MsgEmailTooLong = "Ensure this field has no more than 254 characters."
)

// FieldErrors maps a field name to its messages, DRF's 400 body shape:
// {"email": ["Enter a valid email address."]}. A nil or empty FieldErrors
// means no error.
type FieldErrors map[string][]string

// Add appends msg to field.
func (f FieldErrors) Add(field, msg string) { f[field] = append(f[field], msg) }

// Error lists the fields, so FieldErrors can travel as an error.
func (f FieldErrors) Error() string {
	keys := make([]string, 0, len(f))
	for k := range f {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	s := "accounts: invalid fields:"
	for _, k := range keys {
		s += " " + k
	}
	return s
}
