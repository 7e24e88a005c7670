package subscriber

import (
	"testing"

	"github.com/redis/go-redis/v9"
)

func TestDialPicksTheTopology(t *testing.T) {
	tests := []struct {
		url  string
		want string
	}{
		{"redis://127.0.0.1:6379/0", "*redis.Client"},
		{"redis-sentinel://127.0.0.1:26379?master=m", "*redis.Client"},
		{"redis-cluster://127.0.0.1:7001,127.0.0.1:7002", "*redis.ClusterClient"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			c, err := Dial(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			got := ""
			switch c.(type) {
			case *redis.Client:
				got = "*redis.Client"
			case *redis.ClusterClient:
				got = "*redis.ClusterClient"
			}
			if got != tt.want {
				t.Fatalf("got %T, want %s", c, tt.want)
			}
		})
	}
	if _, err := Dial("http://x"); err == nil {
		t.Fatal("a bad URL was accepted")
	}
}
