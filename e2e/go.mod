module github.com/portcullis-oauth/portcullis/e2e

go 1.26.0

require github.com/portcullis-oauth/portcullis/shared v0.0.0

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/lib/pq v1.12.3 // indirect
	github.com/redis/go-redis/v9 v9.23.0 // indirect
	go.uber.org/atomic v1.12.0 // indirect
	golang.org/x/oauth2 v0.38.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
)

replace github.com/portcullis-oauth/portcullis/shared => ../shared
