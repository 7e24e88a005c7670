package clients_test

import (
	"strings"
	"testing"

	"github.com/portcullis-oauth/portcullis/authserver/internal/clients"
	"github.com/portcullis-oauth/portcullis/authserver/internal/testenv"
)

func TestListFiltersAndOrders(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			st := clients.NewStore(testenv.DB(t, b.URL))
			ctx := testenv.Context(t)
			for _, c := range []clients.Client{
				{ClientID: "b-pub", Name: "beta", Type: clients.Public, GrantTypesRaw: "authorization_code", RedirectURIsRaw: "https://b.example/cb"},
				{ClientID: "a-conf", Name: "Alpha", Type: clients.Confidential, GrantTypesRaw: "password refresh_token", SecretHash: "x"},
				{ClientID: "c-conf", Name: "gamma", Type: clients.Confidential, GrantTypesRaw: "client_credentials", SecretHash: "x"},
			} {
				if err := st.Create(ctx, &c); err != nil {
					t.Fatal(err)
				}
			}
			ids := func(q clients.ListQuery) []string {
				t.Helper()
				cs, _, err := st.List(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				var out []string
				for _, c := range cs {
					out = append(out, c.ClientID)
				}
				return out
			}
			for _, tc := range []struct {
				name string
				q    clients.ListQuery
				want string
			}{
				{"by name, case-insensitively", clients.ListQuery{}, "a-conf b-pub c-conf"},
				{"descending", clients.ListQuery{Order: "-name"}, "c-conf b-pub a-conf"},
				{"by client id", clients.ListQuery{Order: "client_id"}, "a-conf b-pub c-conf"},
				{"by type", clients.ListQuery{Order: "client_type"}, "a-conf c-conf b-pub"},
				{"unknown order", clients.ListQuery{Order: "secret_hash"}, "a-conf b-pub c-conf"},
				{"public", clients.ListQuery{Type: clients.Public}, "b-pub"},
				{"password grant", clients.ListQuery{Grant: clients.GrantPassword}, "a-conf"},
				{"refresh grant, whole word", clients.ListQuery{Grant: clients.GrantRefreshToken}, "a-conf"},
				{"no such grant", clients.ListQuery{Grant: "token"}, ""},
			} {
				if got := ids(tc.q); strings.Join(got, " ") != tc.want {
					t.Errorf("%s: %v, want %s", tc.name, got, tc.want)
				}
			}
		})
	}
}
