package dotimport

import (
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// djTime scans a Django DateTimeField: a time from PostgreSQL, text such
// as "2026-12-06 12:00:00.123456" (UTC, as Django writes it with
// USE_TZ=True) from SQLite.
type djTime struct {
	Time  time.Time
	Valid bool
}

var djLayouts = []string{
	"2006-01-02 15:04:05.999999999-07:00",
	"2006-01-02T15:04:05.999999999-07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02T15:04:05.999999999Z07:00",
}

// Scan implements sql.Scanner.
func (t *djTime) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		*t = djTime{}
		return nil
	case time.Time:
		*t = djTime{Time: x.UTC(), Valid: true}
		return nil
	case []byte:
		return t.parse(string(x))
	case string:
		return t.parse(x)
	}
	return fmt.Errorf("dotimport: cannot read %T as a time", v)
}

func (t *djTime) parse(s string) error {
	s = strings.TrimSpace(s)
	for _, l := range djLayouts {
		if p, err := time.Parse(l, s); err == nil {
			*t = djTime{Time: p.UTC(), Valid: true}
			return nil
		}
	}
	return fmt.Errorf("dotimport: cannot read %q as a time", s)
}

func (t djTime) null() sql.NullTime { return sql.NullTime{Time: t.Time, Valid: t.Valid} }

// quote quotes an SQL identifier for both dialects.
func quote(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }
