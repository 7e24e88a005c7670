package bff

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"

	"github.com/gin-gonic/gin"
)

// readBody reads at most MaxBody bytes, answering 413 past that.
func readBody(c *gin.Context) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			detail(c, http.StatusRequestEntityTooLarge, "Request body is too large.")
		} else {
			detail(c, http.StatusBadRequest, "Could not read the request body.")
		}
		return nil, false
	}
	return body, true
}

// readFields reads the named string fields from a JSON object or a form
// body. A field that is absent is absent from the map; a field that is not a
// string is a DRF-style 400.
func readFields(c *gin.Context, names ...string) (map[string]string, bool) {
	body, ok := readBody(c)
	if !ok {
		return nil, false
	}
	ct := c.GetHeader("Content-Type")
	mt := ""
	if ct != "" {
		var err error
		if mt, _, err = mime.ParseMediaType(ct); err != nil {
			mt = "invalid"
		}
	}
	out := make(map[string]string, len(names))
	switch mt {
	case "application/x-www-form-urlencoded":
		vals, err := url.ParseQuery(string(body))
		if err != nil {
			detail(c, http.StatusBadRequest, "Malformed form body.")
			return nil, false
		}
		for _, n := range names {
			if v, ok := vals[n]; ok && len(v) > 0 {
				out[n] = v[len(v)-1]
			}
		}
		return out, true
	case "", "application/json":
		if len(bytes.TrimSpace(body)) == 0 {
			return out, true
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(body, &obj); err != nil {
			var ute *json.UnmarshalTypeError
			if errors.As(err, &ute) {
				c.AbortWithStatusJSON(http.StatusBadRequest, gin.H{"non_field_errors": []string{"Invalid data. Expected a dictionary."}})
				return nil, false
			}
			detail(c, http.StatusBadRequest, "JSON parse error - "+err.Error())
			return nil, false
		}
		bad := map[string][]string{}
		for _, n := range names {
			raw, ok := obj[n]
			if !ok || string(raw) == "null" {
				continue
			}
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				bad[n] = []string{"Not a valid string."}
				continue
			}
			out[n] = s
		}
		if len(bad) > 0 {
			c.AbortWithStatusJSON(http.StatusBadRequest, bad)
			return nil, false
		}
		return out, true
	}
	detail(c, http.StatusUnsupportedMediaType, "Unsupported media type \""+ct+"\" in request.")
	return nil, false
}
