//go:build !unix

package argon2

// region is memory mapped outside the Go heap; there is none here, and
// Memory keeps an ordinary slice.
type region struct{ b []byte }

func mapRegion(int) *region { return nil }

func (*region) free() {}
