package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"strconv"
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
// middleware at all, answering GET / with fixedJSON.
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
	return serveUntil(ctx, *port, r)
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
