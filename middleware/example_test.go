package middleware_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"

	"github.com/portcullis-oauth/portcullis/middleware"
	"github.com/portcullis-oauth/portcullis/middleware/ginauth"
	"github.com/portcullis-oauth/portcullis/middleware/introspecttest"
	"github.com/portcullis-oauth/portcullis/middleware/subscriber"
	"github.com/portcullis-oauth/portcullis/shared/revocation"
	"github.com/portcullis-oauth/portcullis/shared/servicetest"
	"github.com/portcullis-oauth/portcullis/shared/wire"
)

// get sends a GET with a bearer token to h and prints the status and body.
func get(h http.Handler, path, token string) {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	body, _ := io.ReadAll(w.Body)
	fmt.Println(w.Code, string(body))
}

// Protect a net/http mux: every route needs a valid token, and one route
// needs the write scope too.
func Example() {
	// In production the URL is the auth server's /o/introspect/; here a fake.
	auth := introspecttest.NewServer()
	defer auth.Close()
	auth.RequireClientCredentials("rs-id", "rs-secret")
	auth.Register("reader-token", wire.Introspection{
		Scope: "read", Exp: time.Now().Add(time.Hour).Unix(), ClientID: "rs-id", Username: "user1@email.com",
	})

	v, err := middleware.New(auth.URL,
		middleware.WithClientCredentials("rs-id", "rs-secret"),
		middleware.WithRequiredScopes("read"),
	)
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /items/", func(w http.ResponseWriter, r *http.Request) {
		id, _ := middleware.FromContext(r.Context())
		fmt.Fprintf(w, "items of %s", id.Username)
	})
	mux.Handle("GET /admin/", v.Require("write")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "admin")
	})))
	h := v.Handler(mux)

	get(h, "/items/", "reader-token")
	get(h, "/admin/", "reader-token")
	get(h, "/items/", "")
	// Output:
	// 200 items of user1@email.com
	// 403 {"detail":"You do not have permission to perform this action."}
	// 401 {"detail":"Authentication credentials were not provided."}
}

// Verify checks a token outside HTTP, for example in a gRPC interceptor.
func ExampleVerifier_Verify() {
	auth := introspecttest.NewServer()
	defer auth.Close()
	auth.Register("tok", wire.Introspection{Scope: "read write", Exp: time.Now().Add(time.Hour).Unix(), ClientID: "cc-id"})
	v, err := middleware.New(auth.URL)
	if err != nil {
		log.Fatal(err)
	}
	id, err := v.Verify(context.Background(), "tok")
	fmt.Println(id.ClientID, id.Scopes, err)
	_, err = v.Verify(context.Background(), "unknown")
	fmt.Println(err)
	// Output:
	// cc-id read write <nil>
	// middleware: token not active: middleware: invalid token
}

// Protect a Gin router group, with a per-route scope.
func Example_gin() {
	gin.SetMode(gin.ReleaseMode)
	auth := introspecttest.NewServer()
	defer auth.Close()
	auth.Register("reader-token", wire.Introspection{Scope: "read", Exp: time.Now().Add(time.Hour).Unix(), Username: "user1@email.com"})
	v, err := middleware.New(auth.URL)
	if err != nil {
		log.Fatal(err)
	}
	r := gin.New()
	items := r.Group("/items", ginauth.New(v))
	items.GET("/", func(c *gin.Context) {
		id, _ := ginauth.IdentityFrom(c)
		c.String(http.StatusOK, "items of "+id.Username)
	})
	items.POST("/", ginauth.RequireScopes(v, "write"), func(c *gin.Context) { c.Status(http.StatusCreated) })

	get(r, "/items/", "reader-token")
	get(r, "/items/", "stolen-token")
	// Output:
	// 200 items of user1@email.com
	// 401 {"detail":"The access token is invalid."}
}

// Run the revocation subscriber beside the verifier: a revoked token is
// evicted from the cache as soon as the auth server publishes the event.
func Example_subscriber() {
	auth := introspecttest.NewServer()
	defer auth.Close()
	auth.Register("tok", wire.Introspection{Scope: "read", Exp: time.Now().Add(time.Hour).Unix()})
	v, err := middleware.New(auth.URL)
	if err != nil {
		log.Fatal(err)
	}

	mr := miniredis.NewMiniRedis() // in production: redis.ParseURL(os.Getenv("REDIS_URL"))
	if err := mr.Start(); err != nil {
		log.Fatal(err)
	}
	defer mr.Close()
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer rdb.Close()

	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error)
	channel := revocation.Channel("") // REDIS_PREFIX goes here
	go func() {
		done <- subscriber.Run(ctx, rdb, channel, v, nil,
			subscriber.WithOnSubscribed(func() { close(ready) }))
	}()
	<-ready

	_, err = v.Verify(ctx, "tok")
	fmt.Println("cached:", v.Len(), err)

	// What the auth server does on POST /o/revoke_token/:
	auth.Revoke("tok")
	payload, _ := revocation.Encode(revocation.Event{Kind: revocation.KindTokens, TokenHashes: []string{revocation.HashHex("tok")}})
	rdb.Publish(ctx, channel, payload)
	if !servicetest.Until(5*time.Second, func() bool { return v.Len() == 0 }) {
		log.Fatal("the revocation event never arrived")
	}
	_, err = v.Verify(ctx, "tok")
	fmt.Println("after revocation:", err)

	cancel()
	fmt.Println("Run:", <-done)
	// Output:
	// cached: 1 <nil>
	// after revocation: middleware: token not active: middleware: invalid token
	// Run: <nil>
}

// Check tells a readiness probe whether the auth server accepts the
// verifier's own credentials. With a wrong secret every request would get
// 503, so the service is not ready. An auth server that is merely down is
// left out here: taking every replica out of the load balancer would not
// bring it back.
func ExampleVerifier_Check() {
	auth := introspecttest.NewServer()
	defer auth.Close()
	auth.RequireClientCredentials("rs-id", "rs-secret")

	for _, secret := range []string{"rs-secret", "wrong-secret"} {
		v, err := middleware.New(auth.URL,
			middleware.WithClientCredentials("rs-id", secret),
			middleware.WithLogger(slog.New(slog.DiscardHandler)), // the default, slog.Default(), logs the rejection
		)
		if err != nil {
			log.Fatal(err)
		}
		readyz := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := v.Check(r.Context()); errors.Is(err, middleware.ErrCredentialsRejected) {
				http.Error(w, "introspection credentials rejected", http.StatusServiceUnavailable)
				return
			}
			fmt.Fprintln(w, "ready")
		})
		w := httptest.NewRecorder()
		readyz.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		fmt.Print(secret, " ", w.Code, " ", w.Body.String())
	}
	// Output:
	// rs-secret 200 ready
	// wrong-secret 503 introspection credentials rejected
}
