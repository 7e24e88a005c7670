package passwords

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/portcullis-oauth/portcullis/authserver/internal/passwords/argon2"
	"github.com/portcullis-oauth/portcullis/shared/servicetest"
)

// fastParams keep the tests quick; they are valid but far too weak for use.
var fastParams = Params{Time: 1, MemoryKiB: 64, Threads: 1, KeyLen: 32, SaltLen: 16}

func newHasher(t testing.TB, p Params) *Hasher {
	t.Helper()
	h, err := NewHasher(p)
	if err != nil {
		t.Fatalf("NewHasher(%+v): %v", p, err)
	}
	return h
}

// djangoVectors is testdata/django_vectors.json, made by
// testdata/gen_django_vectors.py with Django 3.2.25.
type djangoVectors struct {
	DjangoVersion string `json:"django_version"`
	Validate      []struct {
		Password string   `json:"password"`
		Email    string   `json:"email"`
		Messages []string `json:"messages"`
	} `json:"validate"`
	PBKDF2        hashVector   `json:"pbkdf2_sha256"`
	DjangoHashers []hashVector `json:"django_hashers"`
	Bcrypt2y      hashVector   `json:"bcrypt_2y"`
}

type hashVector struct {
	Password string `json:"password"`
	Encoded  string `json:"encoded"`
}

func loadVectors(t *testing.T) djangoVectors {
	t.Helper()
	b, err := os.ReadFile("testdata/django_vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v djangoVectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Validate) == 0 || len(v.DjangoHashers) == 0 {
		t.Fatal("django_vectors.json has no vectors")
	}
	return v
}

func TestDefaultParams(t *testing.T) {
	p := DefaultParams()
	want := Params{Time: 2, MemoryKiB: 19456, Threads: 1, KeyLen: 32, SaltLen: 16}
	if p != want {
		t.Fatalf("DefaultParams() = %+v, want %+v", p, want)
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestNewHasherRejectsNonsense(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Params)
		want   string // substring of the error
	}{
		{"zero time", func(p *Params) { p.Time = 0 }, "time 0"},
		{"huge time", func(p *Params) { p.Time = 1000 }, "time 1000"},
		{"zero threads", func(p *Params) { p.Threads = 0 }, "threads"},
		{"memory below 8 per thread", func(p *Params) { p.Threads = 4; p.MemoryKiB = 31 }, "memory 31"},
		{"huge memory", func(p *Params) { p.MemoryKiB = 1 << 30 }, "memory"},
		{"zero key", func(p *Params) { p.KeyLen = 0 }, "key length 0"},
		{"short salt", func(p *Params) { p.SaltLen = 4 }, "salt length 4"},
		{"huge salt", func(p *Params) { p.SaltLen = 1 << 20 }, "salt length"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := fastParams
			tt.mutate(&p)
			h, err := NewHasher(p)
			if err == nil || h != nil {
				t.Fatalf("NewHasher(%+v) = %v, %v; want error", p, h, err)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "passwords: params: ") {
				t.Fatalf("error %q does not mention %q", err, tt.want)
			}
		})
	}
}

func TestHashFormat(t *testing.T) {
	h := newHasher(t, fastParams)
	re := regexp.MustCompile(`^\$argon2id\$v=19\$m=64,t=1,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)
	a, err := h.Hash(context.Background(), "testpass123")
	if err != nil {
		t.Fatal(err)
	}
	b, err := h.Hash(context.Background(), "testpass123")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{a, b} {
		if !re.MatchString(s) {
			t.Errorf("Hash = %q, not PHC argon2id with fastParams", s)
		}
	}
	if a == b {
		t.Error("two hashes of one password are equal: salt is not random")
	}
}

func TestVerify(t *testing.T) {
	h := newHasher(t, fastParams)
	own, err := h.Hash(context.Background(), "testpass123")
	if err != nil {
		t.Fatal(err)
	}
	v := loadVectors(t)
	bcryptHash, err := bcrypt.GenerateFromPassword([]byte("testpass123"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	type verifyCase struct {
		name       string
		encoded    string
		password   string
		ok, rehash bool
	}
	tests := []verifyCase{
		{"argon2id round trip", own, "testpass123", true, false},
		{"argon2id wrong password", own, "testpass124", false, false},
		{"argon2id empty password", own, "", false, false},
		// Made by Python's argon2-cffi 21.1.0 (libargon2), with fastParams.
		{"argon2id known answer", "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQxNmJ5dGVzIQ$jAWJpfBdRZYDH18USwfFqf1xn0CTWI8ve5+QrObVPEA", "testpass123", true, false},
		{"argon2id known answer wrong", "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQxNmJ5dGVzIQ$jAWJpfBdRZYDH18USwfFqf1xn0CTWI8ve5+QrObVPEA", "Testpass123", false, false},
		{"argon2i known answer", "$argon2i$v=19$m=256,t=2,p=2$c29tZXNhbHQxNmJ5dGVzIQ$49swGgUmAtuVQX2MxXSOrramaiMmLWMBR6Jz1mjJWqA", "testpass123", true, true},
		{"bcrypt generated", string(bcryptHash), "testpass123", true, true},
		{"bcrypt generated wrong", string(bcryptHash), "testpass12", false, false},
		{"bcrypt $2y$ from python bcrypt", v.Bcrypt2y.Encoded, v.Bcrypt2y.Password, true, true},
		{"bcrypt $2a$", "$2a$" + string(bcryptHash[4:]), "testpass123", true, true},
		// Known answer: Python's hashlib.pbkdf2_hmac('sha256', b'testpass123',
		// b'somesalt', 260000), base64; Django 3.2's encoder gives the same.
		{"django pbkdf2_sha256", "pbkdf2_sha256$260000$somesalt$ttPjtTH2/kdmBz+gMfxb1/2Nx+pYg2vW1vOZuNO+EVo=", "testpass123", true, true},
		{"django pbkdf2_sha256 wrong", "pbkdf2_sha256$260000$somesalt$ttPjtTH2/kdmBz+gMfxb1/2Nx+pYg2vW1vOZuNO+EVo=", "testpass12", false, false},
		{"django pbkdf2_sha256 other salt", "pbkdf2_sha256$260000$somesalT$ttPjtTH2/kdmBz+gMfxb1/2Nx+pYg2vW1vOZuNO+EVo=", "testpass123", false, false},
		{"django pbkdf2 from json", v.PBKDF2.Encoded, v.PBKDF2.Password, true, true},
	}
	for i, dv := range v.DjangoHashers {
		name := "django " + strings.SplitN(dv.Encoded, "$", 2)[0]
		tests = append(tests,
			verifyCase{name, dv.Encoded, dv.Password, true, true},
			verifyCase{name + " wrong", dv.Encoded, dv.Password + string(rune('a'+i)), false, false},
		)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, rehash, err := h.Verify(context.Background(), tt.encoded, tt.password)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if ok != tt.ok || rehash != tt.rehash {
				t.Fatalf("Verify = ok %v, needsRehash %v; want %v, %v", ok, rehash, tt.ok, tt.rehash)
			}
		})
	}
}

func TestPBKDF2VectorIsDjangos(t *testing.T) {
	v := loadVectors(t)
	const want = "pbkdf2_sha256$260000$somesalt$ttPjtTH2/kdmBz+gMfxb1/2Nx+pYg2vW1vOZuNO+EVo="
	if v.PBKDF2.Encoded != want || v.PBKDF2.Password != "testpass123" {
		t.Fatalf("Django encoded %q, hard-coded vector is %q", v.PBKDF2.Encoded, want)
	}
}

func TestNeedsRehashWhenParamsChange(t *testing.T) {
	old := newHasher(t, fastParams)
	encoded, err := old.Hash(context.Background(), "testpass123")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		mutate func(*Params)
		want   bool
	}{
		{"same params", func(*Params) {}, false},
		{"time", func(p *Params) { p.Time = 2 }, true},
		{"memory", func(p *Params) { p.MemoryKiB = 128 }, true},
		{"threads", func(p *Params) { p.Threads = 2 }, true},
		{"key length", func(p *Params) { p.KeyLen = 64 }, true},
		{"salt length", func(p *Params) { p.SaltLen = 32 }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := fastParams
			tt.mutate(&p)
			ok, rehash, err := newHasher(t, p).Verify(context.Background(), encoded, "testpass123")
			if err != nil || !ok {
				t.Fatalf("Verify = %v, %v; want ok (old params are read from the hash)", ok, err)
			}
			if rehash != tt.want {
				t.Fatalf("needsRehash = %v, want %v", rehash, tt.want)
			}
		})
	}
}

func TestVerifyMalformed(t *testing.T) {
	h := newHasher(t, fastParams)
	good := "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQxNmJ5dGVzIQ$jAWJpfBdRZYDH18USwfFqf1xn0CTWI8ve5+QrObVPEA"
	if ok, _, err := h.Verify(context.Background(), good, "testpass123"); !ok || err != nil {
		t.Fatalf("control hash does not verify: %v %v", ok, err)
	}
	bc := "$2b$04$pfJowSWwgcPIDcleXfRSEObzPdC7eUS5oxcRGDPv7WO6Irhfd/SCa"
	tests := []struct{ name, encoded string }{
		{"empty", ""},
		{"plain text", "testpass123"},
		{"unknown algorithm", "md5$abc$def"},
		{"django unusable password", "!QWERTYUIOPasdfghjkl1234567890qwertyuiopas"},
		{"argon2d", strings.Replace(good, "argon2id", "argon2d", 1)},
		{"argon2id no version", strings.Replace(good, "v=19$", "", 1)},
		{"argon2id version 16", strings.Replace(good, "v=19", "v=16", 1)},
		{"argon2id params out of order", strings.Replace(good, "m=64,t=1", "t=1,m=64", 1)},
		{"argon2id missing param", strings.Replace(good, ",p=1", "", 1)},
		{"argon2id extra param", strings.Replace(good, "p=1", "p=1,k=2", 1)},
		{"argon2id leading zero", strings.Replace(good, "m=64", "m=064", 1)},
		{"argon2id signed", strings.Replace(good, "t=1", "t=+1", 1)},
		{"argon2id zero time", strings.Replace(good, "t=1", "t=0", 1)},
		{"argon2id zero threads", strings.Replace(good, "p=1", "p=0", 1)},
		{"argon2id threads over 255", strings.Replace(good, "p=1", "p=256", 1)},
		{"argon2id memory 4 GiB", strings.Replace(good, "m=64", "m=4194304", 1)},
		{"argon2id memory overflow", strings.Replace(good, "m=64", "m=99999999999", 1)},
		{"argon2id padded salt", strings.Replace(good, "IQ$", "IQ==$", 1)},
		{"argon2id newline in base64", strings.Replace(good, "c29t", "c2\n9t", 1)},
		{"pbkdf2 newline in base64", "pbkdf2_sha256$260000$somesalt$ttPjtTH2/kdmBz+gMfxb1/2Nx+pYg2vW1vOZuNO+EVo=\r\n"},
		{"argon2id bad base64", strings.Replace(good, "c29t", "c2*t", 1)},
		{"argon2id non-canonical base64", strings.Replace(good, "IQ$", "IR$", 1)},
		{"argon2id short key", good[:len(good)-30]},
		{"argon2id empty salt", strings.Replace(good, "c29tZXNhbHQxNmJ5dGVzIQ", "", 1)},
		{"argon2id trailing field", good + "$x"},
		{"argon2id truncated", "$argon2id$v=19$m=64,t=1,p=1"},
		{"bcrypt truncated", bc[:59]},
		{"bcrypt too long", bc + "x"},
		{"bcrypt $2x$", "$2x$" + bc[4:]},
		{"bcrypt $3a$", "$3a$" + bc[4:]},
		{"bcrypt cost 3", strings.Replace(bc, "$04$", "$03$", 1)},
		{"bcrypt cost 31", strings.Replace(bc, "$04$", "$31$", 1)},
		{"bcrypt bad char", bc[:20] + "!" + bc[21:]},
		{"django bcrypt_sha256 bad inner", "bcrypt_sha256$" + bc[:50]},
		{"pbkdf2 missing field", "pbkdf2_sha256$260000$ttPjtTH2/kdmBz+gMfxb1/2Nx+pYg2vW1vOZuNO+EVo="},
		{"pbkdf2 zero iterations", "pbkdf2_sha256$0$somesalt$ttPjtTH2/kdmBz+gMfxb1/2Nx+pYg2vW1vOZuNO+EVo="},
		{"pbkdf2 too many iterations", "pbkdf2_sha256$2000000000$somesalt$ttPjtTH2/kdmBz+gMfxb1/2Nx+pYg2vW1vOZuNO+EVo="},
		{"pbkdf2 iterations not a number", "pbkdf2_sha256$26e4$somesalt$ttPjtTH2/kdmBz+gMfxb1/2Nx+pYg2vW1vOZuNO+EVo="},
		{"pbkdf2 empty salt", "pbkdf2_sha256$260000$$ttPjtTH2/kdmBz+gMfxb1/2Nx+pYg2vW1vOZuNO+EVo="},
		{"pbkdf2 unpadded key", "pbkdf2_sha256$260000$somesalt$ttPjtTH2/kdmBz+gMfxb1/2Nx+pYg2vW1vOZuNO+EVo"},
		{"pbkdf2 short key", "pbkdf2_sha256$260000$somesalt$ttPjtTH2/kdmBz+gMfxb1w=="},
		{"pbkdf2 extra field", "pbkdf2_sha256$260000$somesalt$ttPjtTH2/kdmBz+gMfxb1/2Nx+pYg2vW1vOZuNO+EVo=$x"},
		{"pbkdf2_sha1", "pbkdf2_sha1$260000$somesalt$ttPjtTH2/kdmBz+gMfxb1/2Nx+pYg2vW1vOZuNO+EVo="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, rehash, err := h.Verify(context.Background(), tt.encoded, "testpass123")
			if !errors.Is(err, ErrMalformedHash) {
				t.Fatalf("Verify(%q) err = %v, want ErrMalformedHash", tt.encoded, err)
			}
			if ok || rehash {
				t.Fatalf("Verify(%q) = %v, %v; want false, false", tt.encoded, ok, rehash)
			}
		})
	}
}

func TestPasswordLengthCap(t *testing.T) {
	h := newHasher(t, fastParams)
	atCap := strings.Repeat("a", MaxPasswordBytes)
	overCap := atCap + "a"

	if _, err := h.Hash(context.Background(), overCap); !errors.Is(err, ErrPasswordTooLong) {
		t.Fatalf("Hash(over cap) err = %v, want ErrPasswordTooLong", err)
	}
	encoded, err := h.Hash(context.Background(), atCap)
	if err != nil {
		t.Fatalf("Hash(at cap): %v", err)
	}
	if ok, _, err := h.Verify(context.Background(), encoded, atCap); !ok || err != nil {
		t.Fatalf("Verify(at cap) = %v, %v; want true", ok, err)
	}
	// bcrypt ignores bytes past 72, so if Verify ran bcrypt on the long
	// password it would match: false proves it stopped before the KDF.
	bc, err := bcrypt.GenerateFromPassword([]byte(atCap[:72]), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if ok, _, err := h.Verify(context.Background(), string(bc), atCap); !ok || err != nil {
		t.Fatalf("control: bcrypt should match past 72 bytes: %v, %v", ok, err)
	}
	if ok, rehash, err := h.Verify(context.Background(), string(bc), overCap); ok || rehash || err != nil {
		t.Fatalf("Verify(over cap) = %v, %v, %v; want false, false, nil", ok, rehash, err)
	}
	if _, _, err := h.Verify(context.Background(), "garbage", overCap); !errors.Is(err, ErrMalformedHash) {
		t.Fatalf("Verify(garbage, over cap) err = %v, want ErrMalformedHash", err)
	}
}

// TestVerifyDummyDoesTheWork checks that VerifyDummy really runs argon2 with
// the Hasher's memory cost (its slot ends up keeping that much memory), and
// skips it for a password over the cap.
func TestVerifyDummyDoesTheWork(t *testing.T) {
	p := fastParams
	p.MemoryKiB = 4096
	h := newHasher(t, p)
	const memBytes = 4096 * 1024
	if err := h.VerifyDummy(context.Background(), "nobody's password"); err != nil {
		t.Fatal(err)
	}
	if got := keptBytes(h); got != memBytes {
		t.Fatalf("after VerifyDummy the slots keep %d bytes, want %d (argon2 memory)", got, memBytes)
	}
	forget(h)
	if err := h.VerifyDummy(context.Background(), strings.Repeat("x", MaxPasswordBytes+1)); err != nil {
		t.Fatal(err)
	}
	if got := keptBytes(h); got != 0 {
		t.Fatalf("VerifyDummy over the cap left %d bytes in the slots: it ran argon2", got)
	}
}

// TestQueueRefusesWhenFull: with every slot busy and the queue full, each
// call is refused with ErrBusy at once and derives nothing; as soon as one
// place frees up, calls run again. The slots and the queue are filled by
// hand, so the test does not depend on timing.
func TestQueueRefusesWhenFull(t *testing.T) {
	h, err := NewHasher(fastParams, WithQueue(2))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cap(h.admitted), runtime.GOMAXPROCS(0)+2; got != want {
		t.Fatalf("admits %d derivations, want GOMAXPROCS+queue = %d", got, want)
	}
	encoded, err := h.Hash(context.Background(), "testpass123")
	if err != nil {
		t.Fatal(err)
	}
	for range cap(h.admitted) {
		h.admitted <- struct{}{}
	}
	if _, err := h.Hash(context.Background(), "testpass123"); !errors.Is(err, ErrBusy) {
		t.Fatalf("Hash with a full queue: %v, want ErrBusy", err)
	}
	if ok, rehash, err := h.Verify(context.Background(), encoded, "testpass123"); ok || rehash || !errors.Is(err, ErrBusy) {
		t.Fatalf("Verify with a full queue = %v, %v, %v; want false, false, ErrBusy", ok, rehash, err)
	}
	if err := h.VerifyDummy(context.Background(), "testpass123"); !errors.Is(err, ErrBusy) {
		t.Fatalf("VerifyDummy with a full queue: %v, want ErrBusy", err)
	}
	// A refused call gave back nothing it did not take.
	if len(h.admitted) != cap(h.admitted) || running(h) != 0 {
		t.Fatalf("after refusals: %d admitted, %d slots held", len(h.admitted), running(h))
	}
	<-h.admitted
	if ok, _, err := h.Verify(context.Background(), encoded, "testpass123"); !ok || err != nil {
		t.Fatalf("Verify with one place free = %v, %v", ok, err)
	}
	if len(h.admitted) != cap(h.admitted)-1 || running(h) != 0 {
		t.Fatalf("after a run: %d admitted, %d slots held; the run did not give its place back", len(h.admitted), running(h))
	}
}

// busySlots is a Hasher with a queue of one whose every derivation slot is
// taken, by hand, as running derivations would take them.
func busySlots(t *testing.T) *Hasher {
	t.Helper()
	h, err := NewHasher(fastParams, WithQueue(1))
	if err != nil {
		t.Fatal(err)
	}
	for range cap(h.slots) {
		h.slots <- struct{}{}
		h.admitted <- struct{}{}
	}
	return h
}

// keptBytes is how much argon2 memory h's free slots keep.
func keptBytes(h *Hasher) (n int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, m := range h.free {
		n += m.mem.Bytes()
	}
	return n
}

// forget lets go of the memory of h's free slots at once, as release does
// once they have been unused for MemoryIdle.
func forget(h *Hasher) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, m := range h.free {
		m.mem.Release()
	}
}

// running is how many of h's derivation slots are taken.
func running(h *Hasher) int { return len(h.slots) }

// TestQueueWaitsForASlot: a call admitted to the queue waits for a running
// derivation to finish instead of being refused or running beside it.
func TestQueueWaitsForASlot(t *testing.T) {
	h := busySlots(t)
	done := make(chan error, 1)
	go func() { _, err := h.Hash(context.Background(), "testpass123"); done <- err }()
	// Once the waiting call holds the last admission, the next is refused.
	servicetest.Eventually(t, 10*time.Second, "the queued call takes its place",
		func() bool { return len(h.admitted) == cap(h.admitted) })
	if err := h.VerifyDummy(context.Background(), "x"); !errors.Is(err, ErrBusy) {
		t.Fatalf("with the queue taken: %v, want ErrBusy", err)
	}
	select {
	case err := <-done:
		t.Fatalf("the queued call ran while every slot was busy (err %v)", err)
	default:
	}
	<-h.slots
	if err := <-done; err != nil {
		t.Fatalf("the queued call, once a slot freed: %v", err)
	}
}

// TestQueueLeavesWhenTheCallerGivesUp: a call waiting for a slot whose
// context ends (a client that hung up) leaves the queue with the context's
// error, gives its place back, and derives nothing; so does a call whose
// context had ended before it came.
func TestQueueLeavesWhenTheCallerGivesUp(t *testing.T) {
	h := busySlots(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var derived atomic.Bool
	go func() {
		done <- h.kdf(ctx, func(*argon2.Memory) { derived.Store(true) })
	}()
	servicetest.Eventually(t, 10*time.Second, "the call to wait in the queue",
		func() bool { return len(h.admitted) == cap(h.admitted) })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("the abandoned call: %v, want context.Canceled", err)
	}
	if derived.Load() {
		t.Fatal("the abandoned call derived a key")
	}
	if len(h.admitted) != cap(h.slots) || running(h) != cap(h.slots) {
		t.Fatalf("after the abandoned call: %d admitted, %d slots held; want its place given back", len(h.admitted), running(h))
	}
	if ok, _, err := h.Verify(ctx, "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", "x"); ok || !errors.Is(err, context.Canceled) {
		t.Fatalf("Verify with an ended context and every slot busy = %v, %v; want context.Canceled", ok, err)
	}
}

// TestSlotsKeepTheirMemory: a derivation leaves its slot holding the
// hasher's memory cost, which the next one reuses; a stored hash with a
// larger cost is checked without growing it.
func TestSlotsKeepTheirMemory(t *testing.T) {
	h, err := NewHasher(fastParams, WithQueue(0))
	if err != nil {
		t.Fatal(err)
	}
	if n := keptBytes(h); n != 0 {
		t.Fatalf("a new hasher keeps %d bytes", n)
	}
	encoded, err := h.Hash(context.Background(), "testpass123")
	if err != nil {
		t.Fatal(err)
	}
	if n, want := keptBytes(h), int(fastParams.MemoryKiB)*1024; n != want {
		t.Fatalf("after one derivation the slots keep %d bytes, want %d", n, want)
	}
	bigger := fastParams
	bigger.MemoryKiB *= 4
	hb, err := NewHasher(bigger)
	if err != nil {
		t.Fatal(err)
	}
	big, err := hb.Hash(context.Background(), "testpass123")
	if err != nil {
		t.Fatal(err)
	}
	for range 2 * cap(h.slots) {
		for _, enc := range []string{encoded, big} {
			if ok, _, err := h.Verify(context.Background(), enc, "testpass123"); !ok || err != nil {
				t.Fatalf("Verify(%s) = %v, %v", enc, ok, err)
			}
		}
	}
	if n := keptBytes(h); n > cap(h.slots)*int(fastParams.MemoryKiB)*1024 {
		t.Fatalf("after checks of a costlier hash the slots keep %d bytes, over the hasher's own cost", n)
	}
	forget(h)
	if n := keptBytes(h); n != 0 {
		t.Fatalf("after forget the slots keep %d bytes", n)
	}
	if ok, _, err := h.Verify(context.Background(), encoded, "testpass123"); !ok || err != nil {
		t.Fatalf("Verify after release = %v, %v", ok, err)
	}
}

// TestOneAtATimeKeepsOneMemory: derivations one after another reuse the
// memory used last, so they keep one memory cost however many slots the
// hasher has.
func TestOneAtATimeKeepsOneMemory(t *testing.T) {
	h, err := NewHasher(fastParams, withWorkers(4))
	if err != nil {
		t.Fatal(err)
	}
	encoded, err := h.Hash(context.Background(), "testpass123")
	if err != nil {
		t.Fatal(err)
	}
	for range 3 * cap(h.slots) {
		if ok, _, err := h.Verify(context.Background(), encoded, "testpass123"); !ok || err != nil {
			t.Fatalf("Verify = %v, %v", ok, err)
		}
	}
	if n, want := keptBytes(h), int(fastParams.MemoryKiB)*1024; n != want {
		t.Fatalf("after derivations one at a time the slots keep %d bytes, want one memory cost (%d)", n, want)
	}
}

// holdSlot runs a derivation in h that waits until the returned function
// is called, so that the next derivations take other slots.
func holdSlot(t *testing.T, h *Hasher) (done func()) {
	t.Helper()
	started, finish, ended := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		ended <- h.kdf(context.Background(), func(mem *argon2.Memory) {
			argon2.IDKey(mem, []byte("pw"), []byte("saltsalt"), 1, fastParams.MemoryKiB, 1, 32)
			close(started)
			<-finish
		})
	}()
	<-started
	return func() {
		close(finish)
		if err := <-ended; err != nil {
			t.Errorf("the held derivation: %v", err)
		}
	}
}

// TestUnusedMemoryIsLetGoUnderATrickle: memory that a burst warmed and
// nothing uses any more is let go after memoryIdle, even while a trickle
// of derivations goes on (it must not keep postponing the release), and
// the trickle's own memory once it stops.
func TestUnusedMemoryIsLetGoUnderATrickle(t *testing.T) {
	h, err := NewHasher(fastParams, withWorkers(3))
	if err != nil {
		t.Fatal(err)
	}
	h.memoryIdle = 200 * time.Millisecond
	encoded, err := h.Hash(context.Background(), "testpass123")
	if err != nil {
		t.Fatal(err)
	}
	one := int(fastParams.MemoryKiB) * 1024
	// A burst: three derivations at once warm three memories.
	release1, release2 := holdSlot(t, h), holdSlot(t, h)
	if ok, _, err := h.Verify(context.Background(), encoded, "testpass123"); !ok || err != nil {
		t.Fatalf("Verify = %v, %v", ok, err)
	}
	release1()
	release2()
	if n := keptBytes(h); n != 3*one {
		t.Fatalf("after a burst of three the slots keep %d bytes, want %d", n, 3*one)
	}
	stop := servicetest.Repeat(t, 20*time.Millisecond, func() bool {
		if ok, _, err := h.Verify(context.Background(), encoded, "testpass123"); !ok || err != nil {
			t.Errorf("Verify in the trickle = %v, %v", ok, err)
			return false
		}
		return true
	})
	servicetest.Eventually(t, 10*time.Second, "the memory the trickle does not use to be let go",
		func() bool { return keptBytes(h) == one })
	stop()
	servicetest.Eventually(t, 10*time.Second, "the trickle's memory to be let go once it stopped",
		func() bool { return keptBytes(h) == 0 })
}

// TestReleaseBesideDerivations: release running all the time beside
// derivations loses no slot and breaks no derivation.
func TestReleaseBesideDerivations(t *testing.T) {
	h, err := NewHasher(fastParams, withWorkers(4), WithQueue(64))
	if err != nil {
		t.Fatal(err)
	}
	h.memoryIdle = 0
	encoded, err := h.Hash(context.Background(), "testpass123")
	if err != nil {
		t.Fatal(err)
	}
	stop := servicetest.Repeat(t, 0, func() bool { h.release(); return true })
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				if ok, _, err := h.Verify(context.Background(), encoded, "testpass123"); !ok || err != nil {
					t.Errorf("Verify = %v, %v", ok, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	stop()
	h.mu.Lock()
	free := len(h.free)
	h.mu.Unlock()
	if running(h) != 0 || len(h.admitted) != 0 || free != cap(h.slots) {
		t.Fatalf("after the run: %d slots held, %d admitted, %d free memories of %d", running(h), len(h.admitted), free, cap(h.slots))
	}
}
