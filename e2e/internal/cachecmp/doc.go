// Package cachecmp holds no code, only the benchmark that chose the
// introspection caches' library: golang-lru's expirable LRU, otter v2 and
// ristretto v2 (both W-TinyLFU) under a scan-heavy pattern, a working set
// twice the cache's size. Run it with
// `go test -run '^$' -bench . ./e2e/internal/cachecmp/`.
package cachecmp
