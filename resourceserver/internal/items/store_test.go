package items

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/portcullis-oauth/portcullis/resourceserver/internal/testenv"
)

func ptr[T any](v T) *T { return &v }

func mustPrice(t testing.TB, s string) Price {
	t.Helper()
	p, err := ParsePrice(s)
	if err != nil {
		t.Fatalf("ParsePrice(%q): %v", s, err)
	}
	return p
}

func fields(t testing.TB, name, desc, price string) Fields {
	return Fields{Name: ptr(name), Description: ptr(desc), Price: ptr(mustPrice(t, price))}
}

// TestStoreContract runs the same checks against every SQL backend.
func TestStoreContract(t *testing.T) {
	t.Parallel()
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			for _, c := range storeCases {
				t.Run(c.name, func(t *testing.T) {
					t.Parallel()
					st := NewSQLStore(b.Open(t))
					ctx := context.Background()
					for _, o := range []Owner{alice, bob} {
						if err := st.EnsureOwner(ctx, o); err != nil {
							t.Fatalf("EnsureOwner: %v", err)
						}
					}
					c.run(t, st)
				})
			}
		})
	}
}

var (
	alice = Owner{Sub: "1", Email: "alice@example.com"}
	bob   = Owner{Sub: "2", Email: "bob@example.com"}
)

var storeCases = []struct {
	name string
	run  func(t *testing.T, st *SQLStore)
}{
	{"create then get keeps every field exactly", func(t *testing.T, st *SQLStore) {
		ctx := context.Background()
		for i, price := range []string{"12.50", "999999999999.99", "-3.00", "0.05", "0.00"} {
			name := fmt.Sprintf("thing %d ünïcødé", i)
			it, err := st.Create(ctx, alice.Sub, fields(t, name, "a thing", price))
			if err != nil {
				t.Fatalf("Create: %v", err)
			}
			got, err := st.Get(ctx, it.ID)
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			want := Item{ID: it.ID, Name: name, Description: "a thing", Price: mustPrice(t, price), User: alice}
			if got != want || it != want {
				t.Fatalf("got %+v (create %+v), want %+v", got, it, want)
			}
			if got.Price.String() != price {
				t.Fatalf("price %q, want %q", got.Price, price)
			}
		}
	}},
	{"names at the column limits are stored whole", func(t *testing.T, st *SQLStore) {
		name := strings.Repeat("é", maxNameLen)
		desc := strings.Repeat("ü", maxDescriptionLen)
		it, err := st.Create(context.Background(), alice.Sub, fields(t, name, desc, "1"))
		if err != nil {
			t.Fatalf("Create: %v", err)
		}
		if it.Name != name || it.Description != desc {
			t.Fatalf("got %q / %q", it.Name, it.Description)
		}
	}},
	{"duplicate name is ErrNameTaken", func(t *testing.T, st *SQLStore) {
		ctx := context.Background()
		if _, err := st.Create(ctx, alice.Sub, fields(t, "dup", "x", "1")); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Create(ctx, bob.Sub, fields(t, "dup", "y", "2")); !errors.Is(err, ErrNameTaken) {
			t.Fatalf("err = %v, want ErrNameTaken", err)
		}
	}},
	{"concurrent creates of one name: exactly one wins", func(t *testing.T, st *SQLStore) {
		const n = 8
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				_, errs[i] = st.Create(context.Background(), alice.Sub, fields(t, "race", "x", "1"))
			})
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, ErrNameTaken):
				t.Fatalf("unexpected error: %v", err)
			}
		}
		if won != 1 {
			t.Fatalf("%d creates won, want 1", won)
		}
	}},
	{"get unknown is ErrNotFound", func(t *testing.T, st *SQLStore) {
		if _, err := st.Get(context.Background(), 424242); !errors.Is(err, ErrNotFound) {
			t.Fatalf("err = %v, want ErrNotFound", err)
		}
	}},
	{"list is in id order with limit and offset", func(t *testing.T, st *SQLStore) {
		ctx := context.Background()
		var ids []int64
		for i := range 5 {
			it, err := st.Create(ctx, []Owner{alice, bob}[i%2].Sub, fields(t, fmt.Sprintf("n%d", i), "d", "1"))
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, it.ID)
		}
		tests := []struct {
			name          string
			limit, offset int
			want          []int64
		}{
			{"all", 100, 0, ids},
			{"first two", 2, 0, ids[:2]},
			{"middle", 2, 2, ids[2:4]},
			{"past the end", 10, 5, nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := st.List(ctx, tt.limit, tt.offset)
				if err != nil {
					t.Fatal(err)
				}
				if got == nil {
					t.Fatal("List returned nil, want an empty slice (JSON [])")
				}
				if len(got) != len(tt.want) {
					t.Fatalf("got %d items, want %d", len(got), len(tt.want))
				}
				for i := range got {
					if got[i].ID != tt.want[i] {
						t.Fatalf("item %d id %d, want %d", i, got[i].ID, tt.want[i])
					}
				}
			})
		}
		all, _ := st.List(ctx, 100, 0)
		if all[1].User != bob || all[0].User != alice {
			t.Fatalf("owners not joined: %+v", all[:2])
		}
	}},
	{"partial update changes only the given fields", func(t *testing.T, st *SQLStore) {
		ctx := context.Background()
		it, err := st.Create(ctx, alice.Sub, fields(t, "p", "old", "1.10"))
		if err != nil {
			t.Fatal(err)
		}
		got, err := st.Update(ctx, it.ID, Fields{Price: ptr(mustPrice(t, "2.2"))})
		if err != nil {
			t.Fatal(err)
		}
		want := Item{ID: it.ID, Name: "p", Description: "old", Price: mustPrice(t, "2.20"), User: alice}
		if got != want {
			t.Fatalf("got %+v, want %+v", got, want)
		}
		if same, err := st.Update(ctx, it.ID, Fields{}); err != nil || same != want {
			t.Fatalf("empty update: %+v, %v", same, err)
		}
	}},
	{"update to a taken name is ErrNameTaken", func(t *testing.T, st *SQLStore) {
		ctx := context.Background()
		if _, err := st.Create(ctx, alice.Sub, fields(t, "a", "x", "1")); err != nil {
			t.Fatal(err)
		}
		b, err := st.Create(ctx, alice.Sub, fields(t, "b", "x", "1"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Update(ctx, b.ID, Fields{Name: ptr("a")}); !errors.Is(err, ErrNameTaken) {
			t.Fatalf("err = %v, want ErrNameTaken", err)
		}
		if _, err := st.Update(ctx, b.ID, Fields{Name: ptr("b")}); err != nil {
			t.Fatalf("renaming to its own name: %v", err)
		}
	}},
	{"update unknown is ErrNotFound", func(t *testing.T, st *SQLStore) {
		if _, err := st.Update(context.Background(), 999, Fields{Name: ptr("z")}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("err = %v, want ErrNotFound", err)
		}
	}},
	{"delete, then it is gone", func(t *testing.T, st *SQLStore) {
		ctx := context.Background()
		it, err := st.Create(ctx, alice.Sub, fields(t, "d", "x", "1"))
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Delete(ctx, it.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Get(ctx, it.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Get after delete: %v", err)
		}
		if err := st.Delete(ctx, it.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("second Delete: %v, want ErrNotFound", err)
		}
		// The name is free again.
		if _, err := st.Create(ctx, alice.Sub, fields(t, "d", "x", "1")); err != nil {
			t.Fatalf("reuse name: %v", err)
		}
	}},
	{"EnsureOwner is idempotent and follows email changes", func(t *testing.T, st *SQLStore) {
		ctx := context.Background()
		it, err := st.Create(ctx, alice.Sub, fields(t, "o", "x", "1"))
		if err != nil {
			t.Fatal(err)
		}
		if err := st.EnsureOwner(ctx, alice); err != nil {
			t.Fatal(err)
		}
		moved := Owner{Sub: alice.Sub, Email: "alice@new.example"}
		if err := st.EnsureOwner(ctx, moved); err != nil {
			t.Fatal(err)
		}
		got, err := st.Get(ctx, it.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.User != moved {
			t.Fatalf("owner %+v, want %+v", got.User, moved)
		}
	}},
}
