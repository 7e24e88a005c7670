package redisurl

import (
	"errors"
	"reflect"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Config
		bad  bool
	}{
		{name: "standalone", in: "redis://127.0.0.1:6379/2", want: Config{Mode: Standalone, Addrs: []string{"127.0.0.1:6379"}, DB: 2}},
		{name: "default port", in: "redis://cache", want: Config{Mode: Standalone, Addrs: []string{"cache:6379"}}},
		{name: "tls and password", in: "rediss://:s3cret@h:6380/0", want: Config{Mode: Standalone, Addrs: []string{"h:6380"}, Password: "s3cret", TLS: true}},
		{name: "acl user", in: "redis://app:pw@h:6379", want: Config{Mode: Standalone, Addrs: []string{"h:6379"}, Username: "app", Password: "pw"}},
		{name: "sentinel", in: "redis-sentinel://:pw@s1:26379,s2/1?master=mymaster&sentinel_password=sp",
			want: Config{Mode: Sentinel, Addrs: []string{"s1:26379", "s2:26379"}, Password: "pw", DB: 1, MasterName: "mymaster", SentinelPassword: "sp"}},
		{name: "cluster", in: "redis-cluster://a:7001,b:7002,c:7003", want: Config{Mode: Cluster, Addrs: []string{"a:7001", "b:7002", "c:7003"}}},
		{name: "cluster tls", in: "rediss-cluster://a:7001", want: Config{Mode: Cluster, Addrs: []string{"a:7001"}, TLS: true}},
		{name: "unknown scheme", in: "http://h", bad: true},
		{name: "two standalone hosts", in: "redis://a,b", bad: true},
		{name: "sentinel without master", in: "redis-sentinel://s1", bad: true},
		{name: "cluster with db", in: "redis-cluster://a/1", bad: true},
		{name: "bad db", in: "redis://h/x", bad: true},
		{name: "empty host in list", in: "redis-cluster://a,,b", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.in)
			if tt.bad {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("err = %v, want ErrInvalid", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestRedactedHidesPassword(t *testing.T) {
	c, _ := Parse("redis://:hunter2@h:1/0")
	if r := c.Redacted(); r != "standalone h:1 db=0 tls=false" {
		t.Fatal(r)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"redis://h:1/0", "redis-sentinel://a,b?master=m", "redis-cluster://a:1,b:2", "rediss://:p@h", "%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := Parse(s)
		if err != nil {
			return
		}
		if len(c.Addrs) == 0 {
			t.Fatalf("%q parsed with no address", s)
		}
	})
}
