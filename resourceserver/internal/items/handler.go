package items

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/portcullis-oauth/portcullis/middleware/ginauth"
)

// MaxBody is the largest request body the item endpoints read (1 MiB).
const MaxBody = 1 << 20

// List limits: GET /items/ answers a JSON array (no pagination envelope, as
// in the tutorial) of at most ?limit= items (default and maximum 1000),
// starting after ?offset= items, in id order.
const (
	DefaultListLimit = 1000
	MaxListLimit     = 1000
)

// Messages written as {"detail": ...}.
const (
	detailNotFound  = "Not found."
	detailForbidden = "You do not have permission to perform this action."
	detailTooLarge  = "Request body is too large."
	detailServer    = "A server error occurred."
	msgInvalidInt   = "A valid integer is required."
)

// store is what the handlers need; *SQLStore implements it.
type store interface {
	EnsureOwner(ctx context.Context, o Owner) error
	Create(ctx context.Context, ownerSub string, f Fields) (Item, error)
	Get(ctx context.Context, id int64) (Item, error)
	List(ctx context.Context, limit, offset int) ([]Item, error)
	Update(ctx context.Context, id int64, f Fields) (Item, error)
	Delete(ctx context.Context, id int64) error
}

var _ store = (*SQLStore)(nil)

// Handler serves /items/. Safe for concurrent use.
type Handler struct {
	store store
	log   *slog.Logger
}

// NewHandler returns a Handler over st.
func NewHandler(st store, log *slog.Logger) *Handler {
	return &Handler{store: st, log: log}
}

// Register mounts the routes on r, with and without the trailing slash (no
// redirect). authn authenticates every request; read guards GET, write guards
// POST, PUT, PATCH and DELETE.
func (h *Handler) Register(r gin.IRouter, authn, read, write gin.HandlerFunc) {
	for _, p := range []string{"/items/", "/items"} {
		r.GET(p, authn, read, h.list)
		r.POST(p, authn, write, h.create)
	}
	for _, p := range []string{"/items/:id/", "/items/:id"} {
		r.GET(p, authn, read, h.get)
		r.PUT(p, authn, write, h.update(false))
		r.PATCH(p, authn, write, h.update(true))
		r.DELETE(p, authn, write, h.delete)
	}
}

func (h *Handler) list(c *gin.Context) {
	limit, offset, verr := pageParams(c.Request.URL.Query())
	if verr != nil {
		c.JSON(http.StatusBadRequest, verr)
		return
	}
	items, err := h.store.List(c.Request.Context(), limit, offset)
	if err != nil {
		h.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, items)
}

func pageParams(q url.Values) (limit, offset int, verr ValidationError) {
	limit, offset = DefaultListLimit, 0
	verr = ValidationError{}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		switch {
		case err != nil:
			verr.add("limit", msgInvalidInt)
		case n < 1:
			verr.add("limit", "Ensure this value is greater than or equal to 1.")
		default:
			limit = min(n, MaxListLimit)
		}
	}
	if s := q.Get("offset"); s != "" {
		n, err := strconv.Atoi(s)
		switch {
		case err != nil:
			verr.add("offset", msgInvalidInt)
		case n < 0:
			verr.add("offset", "Ensure this value is greater than or equal to 0.")
		default:
			offset = n
		}
	}
	if len(verr) > 0 {
		return 0, 0, verr
	}
	return limit, offset, nil
}

func (h *Handler) create(c *gin.Context) {
	owner, ok := ownerOf(c)
	if !ok {
		detail(c, http.StatusForbidden, detailForbidden)
		return
	}
	f, ok := h.bind(c, false)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	if err := h.store.EnsureOwner(ctx, owner); err != nil {
		h.fail(c, err)
		return
	}
	it, err := h.store.Create(ctx, owner.Sub, f)
	if err != nil {
		h.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, it)
}

func (h *Handler) get(c *gin.Context) {
	id, ok := itemID(c)
	if !ok {
		return
	}
	it, err := h.store.Get(c.Request.Context(), id)
	if err != nil {
		h.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, it)
}

// update serves PUT (partial=false) and PATCH. As in DRF, the object is
// looked up (404) and the permission checked (403) before the body is read.
func (h *Handler) update(partial bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		it, ok := h.owned(c)
		if !ok {
			return
		}
		f, ok := h.bind(c, partial)
		if !ok {
			return
		}
		it, err := h.store.Update(c.Request.Context(), it.ID, f)
		if err != nil {
			h.fail(c, err)
			return
		}
		c.JSON(http.StatusOK, it)
	}
}

func (h *Handler) delete(c *gin.Context) {
	it, ok := h.owned(c)
	if !ok {
		return
	}
	if err := h.store.Delete(c.Request.Context(), it.ID); err != nil {
		h.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// ownerOf tells whom the caller's token speaks for: the auth server's user
// id (sub) and email (username). A server that sends no sub (DOT) has its
// users keyed by username instead. ok is false for a token with no user
// (client_credentials), which may read but not create, change or delete.
func ownerOf(c *gin.Context) (Owner, bool) {
	id, ok := ginauth.IdentityFrom(c)
	if !ok || id.Username == "" {
		return Owner{}, false
	}
	sub := id.Subject
	if sub == "" {
		sub = id.Username
	}
	return Owner{Sub: sub, Email: id.Username}, true
}

// owned loads the item named in the path and checks that the caller owns
// it. The owner never changes, so checking before writing is race-free.
func (h *Handler) owned(c *gin.Context) (Item, bool) {
	id, ok := itemID(c)
	if !ok {
		return Item{}, false
	}
	it, err := h.store.Get(c.Request.Context(), id)
	if err != nil {
		h.fail(c, err)
		return Item{}, false
	}
	owner, ok := ownerOf(c)
	if !ok || owner.Sub != it.User.Sub {
		detail(c, http.StatusForbidden, detailForbidden)
		return Item{}, false
	}
	return it, true
}

// itemID reads the :id path parameter; anything but a positive integer is
// 404, as Django's <int:pk> route would not match it.
func itemID(c *gin.Context) (int64, bool) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id < 1 || strconv.FormatInt(id, 10) != c.Param("id") {
		detail(c, http.StatusNotFound, detailNotFound)
		return 0, false
	}
	return id, true
}

// bind reads and validates the body (JSON or form, at most MaxBody bytes)
// and writes the 400/413/415 answer itself when it fails.
func (h *Handler) bind(c *gin.Context, partial bool) (Fields, bool) {
	in, ok := readInput(c)
	if !ok {
		return Fields{}, false
	}
	f, err := ParseFields(in, partial)
	if err != nil {
		h.fail(c, err)
		return Fields{}, false
	}
	return f, true
}

func readInput(c *gin.Context) (Input, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			detail(c, http.StatusRequestEntityTooLarge, detailTooLarge)
		} else {
			detail(c, http.StatusBadRequest, "Could not read the request body.")
		}
		return nil, false
	}
	ct := c.GetHeader("Content-Type")
	mt := ""
	if ct != "" {
		mt, _, err = mime.ParseMediaType(ct)
		if err != nil {
			detail(c, http.StatusUnsupportedMediaType, "Unsupported media type \""+ct+"\" in request.")
			return nil, false
		}
	}
	switch mt {
	case "", "application/json":
		in, err := DecodeJSONObject(body)
		if err != nil {
			var pe *ParseError
			if errors.As(err, &pe) {
				detail(c, http.StatusBadRequest, pe.Error())
			} else {
				c.JSON(http.StatusBadRequest, err)
			}
			return nil, false
		}
		return in, true
	case "application/x-www-form-urlencoded":
		vals, err := url.ParseQuery(string(body))
		if err != nil {
			detail(c, http.StatusBadRequest, "Malformed form body.")
			return nil, false
		}
		in := make(Input, len(vals))
		for k, v := range vals {
			if len(v) > 0 {
				in[k] = FormValue(v[len(v)-1])
			}
		}
		return in, true
	}
	detail(c, http.StatusUnsupportedMediaType, "Unsupported media type \""+ct+"\" in request.")
	return nil, false
}

// fail maps an error to its answer: validation and name clashes are 400,
// a missing item 404, a gone client nothing, anything else 500 (logged once).
func (h *Handler) fail(c *gin.Context, err error) {
	var verr ValidationError
	switch {
	case errors.As(err, &verr):
		c.JSON(http.StatusBadRequest, verr)
	case errors.Is(err, ErrNameTaken):
		c.JSON(http.StatusBadRequest, ValidationError{"name": {msgNameTaken}})
	case errors.Is(err, ErrNotFound):
		detail(c, http.StatusNotFound, detailNotFound)
	case c.Request.Context().Err() != nil:
		// The client went away; nobody reads an answer. Whatever the
		// store made of the cancellation (lib/pq's "canceling statement
		// due to user request" is no context.Canceled), it is no server
		// error: the access log and metrics count it as 499.
		c.Abort()
	default:
		h.log.ErrorContext(c.Request.Context(), "items: request failed", "method", c.Request.Method, "path", c.FullPath(), "err", err)
		detail(c, http.StatusInternalServerError, detailServer)
	}
}

func detail(c *gin.Context, status int, msg string) {
	c.AbortWithStatusJSON(status, gin.H{"detail": msg})
}

// MarshalJSON writes the DRF body {"field": ["message"]}.
func (v ValidationError) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string][]string(v))
}
