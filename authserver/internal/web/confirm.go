package web

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/gin-gonic/gin"
)

// confirmation is the page asked before a destructive action: what it
// acts on, what will happen, and a form that posts to Action, or a way
// Back.
//
// Pending, when set, is the submitted form the action will apply once
// confirmed. It never goes back to the browser (it may hold a new
// password): it is stashed in the session, sealed under the session's id
// and bound to Action, and the page posts only a random reference to it,
// which pending redeems once.
type confirmation struct {
	Title, Question string
	Crumbs          []crumb
	Effects         []string
	Action, Back    string
	Button          string
	Pending         url.Values
}

// pendingTTL bounds how long a confirmation page stays answerable.
const pendingTTL = 10 * time.Minute

// refLen is the length of a pending change's reference: 32 random bytes,
// base64url without padding.
const refLen = 43

func (h *Handler) confirm(c *gin.Context, cf confirmation) {
	ref := "1"
	if cf.Pending != nil {
		b := make([]byte, 32)
		_, _ = rand.Read(b) // never fails on Linux (crypto/rand)
		ref = base64.RawURLEncoding.EncodeToString(b)
		sid := c.MustGet(keySID).(string)
		if err := h.stashSealed(c.Request.Context(), sid, pendingStash(ref), pendingPurpose(cf.Action), cf.Pending.Encode(), pendingTTL); err != nil {
			h.unavailable(c, err)
			return
		}
	}
	h.render(c, http.StatusOK, "confirm", gin.H{"Title": cf.Title, "Crumbs": cf.Crumbs, "Confirm": cf, "Ref": ref})
}

// pending redeems the reference a confirmation page posted to action
// (its "confirm" field) for the form stashed with it. It is single-use:
// a replay, a reference from another session or one stashed for another
// action (another user's page) gets a 400 page, and ok is false.
func (h *Handler) pending(c *gin.Context, action string) (form url.Values, ok bool) {
	refused := func() (url.Values, bool) {
		h.message(c, http.StatusBadRequest, "Confirmation expired",
			"This confirmation has expired or was already used. Nothing was changed: submit the form again.")
		return nil, false
	}
	ref := c.Request.PostForm.Get("confirm")
	if len(ref) != refLen {
		return refused()
	}
	if _, err := base64.RawURLEncoding.DecodeString(ref); err != nil {
		return refused()
	}
	sid := c.MustGet(keySID).(string)
	v, found, err := h.takeSealed(c.Request.Context(), sid, pendingStash(ref), pendingPurpose(action))
	if err != nil {
		h.unavailable(c, err)
		return nil, false
	}
	if !found {
		return refused()
	}
	form, err = url.ParseQuery(v)
	if err != nil {
		return refused()
	}
	return form, true
}

func pendingStash(ref string) string { return "confirm:" + ref }

// pendingPurpose binds a stashed form to the URL it confirms, which names
// the user being edited.
func pendingPurpose(action string) string { return "confirm\x00" + action }

// pluralize is "1 member", "2 members".
func pluralize(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}
