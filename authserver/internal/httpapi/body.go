package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/portcullis-oauth/portcullis/authserver/internal/accounts"
)

// MaxBodyBytes caps every request body; a larger one gets 413.
const MaxBodyBytes = 1 << 20

// errBody is a request body problem with the status and DRF detail to send.
type errBody struct {
	status int
	detail string
}

func (e *errBody) Error() string { return e.detail }

// readFields reads a JSON, form or multipart body into named fields, the way
// DRF's parsers do. A JSON value must be a string or a number; anything else
// is reported as a field error by the caller via notString.
func readFields(c *gin.Context, names ...string) (map[string]accounts.Field, accounts.FieldErrors, error) {
	out := make(map[string]accounts.Field, len(names))
	fe := accounts.FieldErrors{}
	ct := c.GetHeader("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if ct == "" {
		mt, err = "", nil
	}
	if err != nil {
		return nil, nil, &errBody{http.StatusBadRequest, fmt.Sprintf("Unsupported media type %q in request.", ct)}
	}
	switch mt {
	case "application/json":
		// Read the whole body first, so that an oversized one is a 413
		// however it is shaped.
		body, err := io.ReadAll(c.Request.Body)
		if err != nil {
			return nil, nil, bodyError(err, "Malformed request body - ")
		}
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(body, &raw); err != nil {
			var ute *json.UnmarshalTypeError
			if errors.As(err, &ute) {
				return nil, nil, &errBody{http.StatusBadRequest, "JSON parse error - expected an object"}
			}
			return nil, nil, bodyError(err, "JSON parse error - ")
		}
		for _, n := range names {
			v, ok := raw[n]
			if !ok {
				continue
			}
			if string(v) == "null" {
				fe.Add(n, "This field may not be null.")
				continue
			}
			var s string
			if err := json.Unmarshal(v, &s); err == nil {
				out[n] = accounts.Field{Value: s, Set: true}
				continue
			}
			var num json.Number
			if err := json.Unmarshal(v, &num); err == nil {
				out[n] = accounts.Field{Value: num.String(), Set: true}
				continue
			}
			fe.Add(n, accounts.MsgNotAString)
		}
	case "application/x-www-form-urlencoded", "multipart/form-data", "":
		if mt == "multipart/form-data" {
			err = c.Request.ParseMultipartForm(MaxBodyBytes)
		} else {
			err = c.Request.ParseForm()
		}
		if err != nil {
			return nil, nil, bodyError(err, "Malformed request body - ")
		}
		for _, n := range names {
			if vs, ok := c.Request.PostForm[n]; ok && len(vs) > 0 {
				out[n] = accounts.Field{Value: vs[0], Set: true}
			}
		}
	default:
		return nil, nil, &errBody{http.StatusBadRequest, "Unsupported media type " + strconv.Quote(ct) + " in request."}
	}
	return out, fe, nil
}

func bodyError(err error, prefix string) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return &errBody{http.StatusRequestEntityTooLarge, "Request body too large."}
	}
	return &errBody{http.StatusBadRequest, prefix + err.Error()}
}

// writeBodyError answers a body problem in DRF's {"detail": …} shape.
func writeBodyError(c *gin.Context, err error) bool {
	var eb *errBody
	if errors.As(err, &eb) {
		c.AbortWithStatusJSON(eb.status, gin.H{"detail": eb.detail})
		return true
	}
	return false
}
