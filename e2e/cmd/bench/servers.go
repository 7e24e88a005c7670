package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/portcullis-oauth/portcullis/middleware"
	"github.com/portcullis-oauth/portcullis/middleware/ginauth"
)

// fixedJSON is the handler every baseline serves: a fixed 200 JSON answer.
func fixedJSON(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"message": "hello", "status": "ok"})
}

func healthz(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) }

// serveBare runs `bench bare`: a Gin engine in release mode with no
// middleware at all, answering GET / with fixedJSON. It also replays: PUT
// /replay records an answer, and POST /replay then reads the request's
// form, as a real endpoint would, and gives that answer, with no other work
// (the ceiling rows).
func serveBare(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bare", flag.ContinueOnError)
	port := fs.Int("port", 0, "port to listen on (127.0.0.1)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.GET("/", fixedJSON)
	r.GET("/healthz", healthz)
	var answer atomic.Pointer[recorded]
	r.PUT("/replay", func(c *gin.Context) {
		var a recorded
		if err := c.ShouldBindJSON(&a); err != nil || a.Status < 200 || a.Status > 599 {
			c.JSON(http.StatusBadRequest, gin.H{"detail": "want a recorded answer"})
			return
		}
		answer.Store(&a)
		c.Status(http.StatusNoContent)
	})
	r.POST("/replay", func(c *gin.Context) {
		a := answer.Load()
		if a == nil {
			c.Status(http.StatusServiceUnavailable)
			return
		}
		if err := c.Request.ParseForm(); err != nil {
			c.Status(http.StatusBadRequest)
			return
		}
		h := c.Writer.Header()
		for k, v := range a.Header {
			h[k] = v
		}
		c.Writer.WriteHeader(a.Status)
		_, _ = c.Writer.Write(a.Body)
	})
	return serveUntil(ctx, *port, r)
}

// recorded is one answer of a real server, as `bench bare` replays it.
type recorded struct {
	Status int                 `json:"status"`
	Header map[string][]string `json:"header"` // without Date and Content-Length, which net/http writes
	Body   []byte              `json:"body"`
}

// serveMW runs `bench mw`: one Gin engine with /bare (fixedJSON) and
// /protected (fixedJSON behind ginauth with a Verifier pointed at the real
// auth server), so both are measured in the same process.
func serveMW(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("mw", flag.ContinueOnError)
	port := fs.Int("port", 0, "port to listen on (127.0.0.1)")
	introspect := fs.String("introspect", "", "the auth server's introspection URL")
	id := fs.String("client-id", "", "introspection client id")
	secret := fs.String("client-secret", "", "introspection client secret")
	if err := fs.Parse(args); err != nil {
		return err
	}
	v, err := middleware.New(*introspect, middleware.WithClientCredentials(*id, *secret))
	if err != nil {
		return fmt.Errorf("mw: %w", err)
	}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.GET("/bare", fixedJSON)
	r.GET("/protected", ginauth.New(v), fixedJSON)
	r.GET("/healthz", healthz)
	return serveUntil(ctx, *port, r)
}

func serveUntil(ctx context.Context, port int, h http.Handler) error {
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}
