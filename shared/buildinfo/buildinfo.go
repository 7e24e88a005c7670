// Package buildinfo describes a running Portcullis binary from the build
// information the Go toolchain embeds (runtime/debug.ReadBuildInfo), for the
// binaries' `version` command.
package buildinfo

import (
	"fmt"
	"runtime/debug"
	"strings"
)

// Describe returns name's version as several lines: the module version
// (v0.1.0 when installed with `go install …@v0.1.0`, "(devel)" when built
// inside the repository), the VCS revision when the build recorded one
// (with its time and whether the tree was modified), and the Go version.
func Describe(name string) string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return name + " (no build information)"
	}
	return describe(name, bi)
}

func describe(name string, bi *debug.BuildInfo) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s\n", name, bi.Main.Version)
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	if rev := settings["vcs.revision"]; rev != "" {
		fmt.Fprintf(&b, "revision %s", rev)
		if t := settings["vcs.time"]; t != "" {
			fmt.Fprintf(&b, " (%s)", t)
		}
		if settings["vcs.modified"] == "true" {
			b.WriteString(", modified")
		}
		b.WriteString("\n")
	} else {
		b.WriteString("revision unknown (built without VCS information)\n")
	}
	fmt.Fprintf(&b, "%s, module %s", bi.GoVersion, bi.Main.Path)
	return b.String()
}
