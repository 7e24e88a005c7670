package items

import (
	"encoding/json"
	"errors"
	"strconv"
)

// Field limits of the model.
const (
	maxNameLen        = 50
	maxDescriptionLen = 250
)

// Errors returned by stores.
var (
	// ErrNotFound: no item with that id.
	ErrNotFound = errors.New("items: not found")
	// ErrNameTaken: another item already has that name.
	ErrNameTaken = errors.New("items: name taken")
)

// Owner is the local copy of an auth-server user: Sub is the auth server's
// user id (the introspection response's sub), Email its username.
type Owner struct {
	Sub   string `db:"sub"`
	Email string `db:"email"`
}

// MarshalJSON writes {"id": ..., "email": ...}. An integer sub (the auth
// server's user ids are integers) is written as a JSON number, as the
// tutorial's Django model does; any other sub as a string.
func (o Owner) MarshalJSON() ([]byte, error) {
	var id any = o.Sub
	if n, err := strconv.ParseInt(o.Sub, 10, 64); err == nil && strconv.FormatInt(n, 10) == o.Sub {
		id = n
	}
	return json.Marshal(struct {
		ID    any    `json:"id"`
		Email string `json:"email"`
	}{id, o.Email})
}

// Item is one stored item.
type Item struct {
	ID          int64  `json:"id" db:"id"`
	Name        string `json:"name" db:"name"`
	Description string `json:"description" db:"description"`
	Price       Price  `json:"price" db:"price"`
	User        Owner  `json:"user" db:"user"`
}

// Fields is a validated change to an item: nil means "leave as is". For a
// create or a PUT every field is set.
type Fields struct {
	Name        *string
	Description *string
	Price       *Price
}
