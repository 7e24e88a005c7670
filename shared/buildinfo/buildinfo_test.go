package buildinfo

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestDescribe(t *testing.T) {
	for _, tc := range []struct {
		name string
		bi   debug.BuildInfo
		want []string
	}{
		{
			name: "installed from a proxy",
			bi:   debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Path: "example.com/m", Version: "v0.1.0"}},
			want: []string{"svc v0.1.0\n", "revision unknown", "go1.26.0, module example.com/m"},
		},
		{
			name: "built in a modified checkout",
			bi: debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Path: "example.com/m", Version: "(devel)"},
				Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc123"}, {Key: "vcs.time", Value: "2026-12-06T12:00:00Z"}, {Key: "vcs.modified", Value: "true"}}},
			want: []string{"svc (devel)\n", "revision abc123 (2026-12-06T12:00:00Z), modified\n"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := describe("svc", &tc.bi)
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("describe = %q, lacks %q", got, w)
				}
			}
		})
	}
}

func TestDescribeThisBinary(t *testing.T) {
	if got := Describe("x"); !strings.HasPrefix(got, "x ") || !strings.Contains(got, "go1.") {
		t.Fatalf("Describe = %q", got)
	}
}
