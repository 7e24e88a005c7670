package passwords

import (
	"bufio"
	"bytes"
	"compress/gzip"
	_ "embed"
	"fmt"
	"sync"
)

// commonGz is Django's common-password list; see doc.go and NOTICE.
//
//go:embed common-passwords.txt.gz
var commonGz []byte

// commonSet is the decompressed list, built on first use.
var commonSet = sync.OnceValues(func() (map[string]struct{}, error) {
	return loadCommon(commonGz)
})

func loadCommon(gz []byte) (map[string]struct{}, error) {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, fmt.Errorf("passwords: common list: %w", err)
	}
	set := make(map[string]struct{}, 20000)
	sc := bufio.NewScanner(zr)
	for sc.Scan() {
		set[pyStrip(sc.Text())] = struct{}{}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("passwords: common list: %w", err)
	}
	if err := zr.Close(); err != nil {
		return nil, fmt.Errorf("passwords: common list: %w", err)
	}
	return set, nil
}

// IsCommon reports whether password, lowercased and stripped of surrounding
// whitespace, is on Django's list of 20,000 common passwords
// (CommonPasswordValidator). It is safe for concurrent use.
func IsCommon(password string) bool {
	set, err := commonSet()
	if err != nil {
		// The list is embedded at build time and checked by the tests.
		panic(err)
	}
	_, ok := set[pyStrip(pyLower(password))]
	return ok
}
