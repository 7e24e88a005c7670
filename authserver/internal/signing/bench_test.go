package signing_test

import (
	"testing"
	"time"

	"github.com/portcullis-oauth/portcullis/authserver/internal/signing"
	"github.com/portcullis-oauth/portcullis/authserver/internal/testenv"
)

// BenchmarkSign is the raw rate of id token signatures per algorithm, the
// baseline for the cost of openid on the code exchange.
func BenchmarkSign(b *testing.B) {
	kr := signing.NewKeyring(testenv.DB(b, testenv.SQLiteURL(b)), newKEK(b, 'a'), time.Hour)
	ctx := testenv.Context(b)
	if err := kr.Ensure(ctx); err != nil {
		b.Fatal(err)
	}
	payload := []byte(`{"iss":"https://id.example","sub":"42","aud":"rp","exp":1900000000,"iat":1800000000,"auth_time":1800000000,"nonce":"n","at_hash":"x"}`)
	for _, alg := range signing.Algorithms {
		b.Run(alg, func(b *testing.B) {
			for b.Loop() {
				if _, err := kr.Sign(ctx, alg, payload); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
