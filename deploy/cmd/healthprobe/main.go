// Command healthprobe is the container health check of the Portcullis images.
// Distroless images have no shell and no curl, so the Dockerfile builds this
// small static binary beside the services. It GETs
// http://127.0.0.1:$PORT/healthz (or the path given as its one argument, such
// as /readyz) and exits 0 on a 2xx answer within the timeout, 1 otherwise.
//
//	healthprobe            # GET /healthz on $PORT
//	healthprobe /readyz    # GET /readyz on $PORT
package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// timeout bounds the whole probe; Docker's own HEALTHCHECK timeout is longer.
const timeout = 3 * time.Second

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stderr))
}

// run probes once and returns the exit code: 0 healthy, 1 unhealthy, 2 misuse.
func run(args []string, getenv func(string) string, stderr io.Writer) int {
	path := "/healthz"
	switch len(args) {
	case 0:
	case 1:
		path = args[0]
	default:
		fmt.Fprintln(stderr, "usage: healthprobe [/path]   (GETs http://127.0.0.1:$PORT/path, default /healthz)")
		return 2
	}
	if !strings.HasPrefix(path, "/") {
		fmt.Fprintf(stderr, "healthprobe: path %q must start with /\n", path)
		return 2
	}
	port, err := strconv.Atoi(getenv("PORT"))
	if err != nil || port < 1 || port > 65535 {
		fmt.Fprintf(stderr, "healthprobe: PORT=%q: want the service's port, 1..65535\n", getenv("PORT"))
		return 2
	}
	url := "http://127.0.0.1:" + strconv.Itoa(port) + path
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		fmt.Fprintf(stderr, "healthprobe: %v\n", err)
		return 2
	}
	req.Header.Set("User-Agent", "portcullis-healthprobe")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "healthprobe: GET %s: %v\n", url, err)
		return 1
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		fmt.Fprintf(stderr, "healthprobe: GET %s: %s\n", url, resp.Status)
		return 1
	}
	return 0
}
