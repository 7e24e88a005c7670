package introspecttest

import (
	"encoding/json"
	"testing"
)

// TestShapes checks the fields by which each server names a token's kind.
func TestShapes(t *testing.T) {
	c := Claims{Subject: "42", Username: "u", ClientID: "rs-id", Scope: "read", Exp: 2000000000, Iat: 1900000000}
	tests := []struct {
		name  string
		shape Shape
		kind  Kind
		want  map[string]any // fields that must have these values; nil: must be absent
	}{
		{"hydra access", Hydra, AccessToken, map[string]any{"active": true, "token_use": "access_token", "token_type": "bearer", "sub": "42"}},
		{"hydra refresh", Hydra, RefreshToken, map[string]any{"active": true, "token_use": "refresh_token", "token_type": ""}},
		{"keycloak access", Keycloak, AccessToken, map[string]any{"active": true, "typ": "Bearer", "token_type": "Bearer", "scope": "read"}},
		{"keycloak refresh", Keycloak, RefreshToken, map[string]any{"active": true, "typ": "Refresh"}},
		{"keycloak offline", Keycloak, OfflineToken, map[string]any{"active": true, "typ": "Offline"}},
		{"keycloak id", Keycloak, IDToken, map[string]any{"active": true, "typ": "ID", "aud": "rs-id"}},
		{"dot access", DOT, AccessToken, map[string]any{"active": true, "username": "u", "token_type": nil, "sub": nil}},
		{"dot refresh", DOT, RefreshToken, map[string]any{"active": false, "scope": nil}},
		{"portcullis access", Portcullis, AccessToken, map[string]any{"active": true, "token_type": "Bearer"}},
		{"portcullis refresh", Portcullis, RefreshToken, map[string]any{"active": true, "token_type": "refresh_token"}},
		{"portcullis id", Portcullis, IDToken, map[string]any{"active": false}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got map[string]any
			if err := json.Unmarshal([]byte(tc.shape(tc.kind, c)), &got); err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.want {
				gv, ok := got[k]
				if v == nil && ok || v != nil && gv != v {
					t.Errorf("%s = %v (present %v), want %v", k, gv, ok, v)
				}
			}
		})
	}
}
