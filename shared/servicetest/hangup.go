package servicetest

import (
	"context"
	"net/http"
	"testing"
	"time"
)

// HangUp sends req with c and hangs up, by cancelling the request's
// context, as soon as inside reports that the server is working on it. It
// fails the test when the request was answered anyway, and returns once
// the client has given up.
func HangUp(t testing.TB, c *http.Client, req *http.Request, inside func() bool) {
	t.Helper()
	ctx, cancel := context.WithCancel(req.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		resp, err := c.Do(req.WithContext(ctx))
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	Eventually(t, 10*time.Second, "the server to be working on the request", inside)
	cancel()
	if err := <-done; err == nil {
		t.Fatal("the request was answered although the client hung up")
	}
}
