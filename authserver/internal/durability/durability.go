package durability

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Node is one Redis server, as the checks need it. Info returns the text of
// INFO section; ConfigGet returns the value of CONFIG GET parameter. Both
// return an error matching ErrRefused when the server answers the command
// with an error (managed services often rename or forbid CONFIG, some
// restrict INFO), and any other error when it cannot be asked. String names
// the node in logs.
type Node interface {
	Info(ctx context.Context, section string) (string, error)
	ConfigGet(ctx context.Context, parameter string) (string, error)
	String() string
}

// ErrRefused is matched by a Node's error when the server refused the
// command, as opposed to not answering.
var ErrRefused = errors.New("durability: command refused")

// Persistence is what a node says of its RDB snapshots.
type Persistence int

// RDB states. RDBUnknown: CONFIG GET save was refused.
const (
	RDBOff Persistence = iota
	RDBOn
	RDBUnknown
)

// Report is what one node said.
type Report struct {
	Node   string
	Policy string // maxmemory_policy, from INFO memory; "" when INFO is refused
	AOF    bool   // aof_enabled, from INFO persistence
	RDB    Persistence
}

// Evicts reports whether the policy may drop keys. Only noeviction keeps
// them: the volatile-* policies evict keys with a TTL, and every key of the
// token store has one.
func (r Report) Evicts() bool { return r.Policy != "" && r.Policy != "noeviction" }

// Inspect asks node for its eviction policy (INFO memory) and persistence
// (INFO persistence; CONFIG GET save only when AOF is off). INFO is used
// first because managed services that refuse CONFIG still answer it. An
// error means the node could not be asked (down, or INFO refused).
func Inspect(ctx context.Context, n Node) (Report, error) {
	r := Report{Node: n.String()}
	mem, err := n.Info(ctx, "memory")
	switch {
	case errors.Is(err, ErrRefused):
	case err != nil:
		return r, fmt.Errorf("durability: INFO memory on %s: %w", n, err)
	default:
		var ok bool
		if r.Policy, ok = infoField(mem, "maxmemory_policy"); !ok {
			return r, fmt.Errorf("durability: INFO memory on %s has no maxmemory_policy", n)
		}
	}
	pers, err := n.Info(ctx, "persistence")
	if err != nil && !errors.Is(err, ErrRefused) {
		return r, fmt.Errorf("durability: INFO persistence on %s: %w", n, err)
	}
	aof, _ := infoField(pers, "aof_enabled")
	r.AOF = aof == "1"
	if !r.AOF {
		switch save, err := n.ConfigGet(ctx, "save"); {
		case errors.Is(err, ErrRefused):
			r.RDB = RDBUnknown
		case err != nil:
			return r, fmt.Errorf("durability: CONFIG GET save on %s: %w", n, err)
		case strings.TrimSpace(save) != "":
			r.RDB = RDBOn
		}
	}
	return r, nil
}

// infoField returns the value of "name:value" in an INFO answer.
func infoField(info, name string) (string, bool) {
	sc := bufio.NewScanner(strings.NewReader(info))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), name+":"); ok {
			return v, true
		}
	}
	return "", false
}

// ErrEvicting is matched by the error of a node whose policy evicts.
var ErrEvicting = errors.New("durability: redis evicts keys")

// EvictionError names the node and its policy, and what to do.
type EvictionError struct {
	Node, Policy, Override string
}

func (e *EvictionError) Error() string {
	return fmt.Sprintf("redis %s has maxmemory-policy %s: an evicting policy silently drops tokens and the "+
		"refresh-token tombstones that detect replay; set maxmemory-policy noeviction (in redis.conf, or "+
		"CONFIG SET maxmemory-policy noeviction), or set %s=true to run anyway", e.Node, e.Policy, e.Override)
}

// Is makes errors.Is(err, ErrEvicting) true.
func (e *EvictionError) Is(target error) bool { return target == ErrEvicting }

// Guard checks every node of one Redis deployment. Each Check stores its
// warnings for Warnings. It is safe for concurrent use.
type Guard struct {
	nodes         func() []Node
	allowEviction bool
	override      string

	mu       sync.Mutex
	warnings []string
}

// NewGuard returns a Guard over the nodes nodes returns (called at every
// check, so that a cluster's current nodes are seen). allowEviction turns
// the refusal of an evicting policy into a warning; override is the name of
// the setting that does so, quoted in messages.
func NewGuard(nodes func() []Node, allowEviction bool, override string) *Guard {
	return &Guard{nodes: nodes, allowEviction: allowEviction, override: override}
}

// Check inspects every node. It returns an *EvictionError (matching
// ErrEvicting) for the first node whose policy evicts, unless eviction is
// allowed, and an error when a node cannot be inspected. reports are what
// the nodes said, for logging; warnings are fixed sentences without
// addresses, fit for a public /readyz.
func (g *Guard) Check(ctx context.Context) (reports []Report, warnings []string, err error) {
	var evict error
	nodes := g.nodes()
	if len(nodes) == 0 {
		g.setWarnings(nil)
		return nil, nil, errors.New("durability: no redis node is known yet")
	}
	for _, n := range nodes {
		r, err := Inspect(ctx, n)
		if err != nil {
			g.setWarnings(nil)
			return reports, nil, err
		}
		reports = append(reports, r)
		switch {
		case r.Policy == "":
			warnings = add(warnings, "redis: maxmemory-policy could not be checked (INFO is refused): make sure it is noeviction")
		case r.Evicts() && g.allowEviction:
			warnings = add(warnings, "redis: maxmemory-policy "+r.Policy+" evicts keys, allowed by "+g.override+
				": evicted tokens log their users out, and evicted refresh-token tombstones turn off replay detection")
		case r.Evicts():
			warnings = add(warnings, "redis: maxmemory-policy "+r.Policy+" evicts keys: the auth server refuses it (set noeviction)")
			if evict == nil {
				evict = &EvictionError{Node: r.Node, Policy: r.Policy, Override: g.override}
			}
		}
		switch {
		case r.AOF || r.RDB == RDBOn:
		case r.RDB == RDBUnknown:
			warnings = add(warnings, "redis: persistence could not be checked (CONFIG is refused, and INFO does not say AOF is on): "+
				"make sure the provider persists the data, or a Redis restart loses every token")
		default:
			warnings = add(warnings, "redis: no persistence (neither AOF nor RDB): a Redis restart loses every token; set appendonly yes")
		}
	}
	g.setWarnings(warnings)
	return reports, warnings, evict
}

func add(list []string, w string) []string {
	if slices.Contains(list, w) {
		return list
	}
	return append(list, w)
}

func (g *Guard) setWarnings(w []string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.warnings = w
}

// Ping is Check for a readiness probe: nil when every node answers and none
// evicts (or eviction is allowed).
func (g *Guard) Ping(ctx context.Context) error {
	_, _, err := g.Check(ctx)
	return err
}

// Warnings are the warnings of the latest Check.
func (g *Guard) Warnings() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.warnings)
}
