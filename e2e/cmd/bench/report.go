package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// row is one line of the table.
type row struct {
	figure, measured, baseline, target, verdict string
}

// cpuTime is the user+system CPU time of every thread of pid so far, from
// /proc/PID/stat (in clock ticks of 10 ms); 0 when unknown.
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')') // the command name may hold spaces
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64) // field 14 of the whole line
	st, _ := strconv.ParseInt(f[12], 10, 64) // field 15
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// sampler records c's peak RSS while a load runs.
func (b *bench) sampler(c *child) func(<-chan struct{}) {
	return func(stop <-chan struct{}) { b.rss.sample(c, stop) }
}

func (b *bench) rssRows() {
	b.rss.mu.Lock()
	defer b.rss.mu.Unlock()
	for _, name := range b.rss.order {
		measured := fmt.Sprintf("%s → %s", mib(b.rss.idle[name]), mib(b.rss.peak[name]))
		if b.rss.peak[name] == 0 { // it served only as a subscriber, or -only left out its workloads
			measured = mib(b.rss.idle[name]) + " idle; no workload of its own sampled it in this run"
		}
		b.rows = append(b.rows, row{
			figure:   "RSS of " + name + " (VmRSS), idle → peak under its workloads",
			measured: measured, baseline: "—", target: "—", verdict: "—",
		})
	}
}

func (b *bench) add(r row) { b.rows = append(b.rows, r) }

// addChecked adds r, or a FAILED row when more than 1% of requests failed.
func (b *bench) addChecked(res result, name string, r row) {
	if res.errRate() > 0.01 {
		msg := fmt.Sprintf("%s: %d of %d requests failed (%.1f%%): %s", name, res.bad, res.ok+res.bad, 100*res.errRate(), res.errSummary())
		b.loud = append(b.loud, msg)
		r.verdict = "**FAILED: >1% errors**"
		fmt.Fprintln(os.Stderr, "bench: ERROR", msg)
	}
	b.add(r)
}

// ratioRow adds a figure judged as a ratio to base; want 0 means no target
// (a figure shown for comparison).
func (b *bench) ratioRow(figure, name string, res result, base float64, baseName string, want float64) {
	ratio := res.rps() / base
	r := row{
		figure:   figure,
		measured: b.perf(res, name),
		baseline: fmt.Sprintf("%s: %.0f req/s → **%.0f%%**", baseName, base, 100*ratio),
		target:   "— (for comparison)", verdict: "—",
	}
	if want > 0 {
		r.target, r.verdict = fmt.Sprintf("≥ %.0f%% of %s", 100*want, baseName), verdict(ratio >= want)
	}
	b.addChecked(res, name, r)
}

// perf describes a run's rate and latency, and the peak RSS of the process
// sampled while it ran.
func (b *bench) perf(res result, name string) string {
	s := fmt.Sprintf("**%.0f req/s**, p50 %s, p99 %s", res.rps(), ms(res.p50), ms(res.p99))
	if kib, who := b.rss.lastPeak(); kib > 0 {
		s += fmt.Sprintf("; RSS of %s up to %s", who, mib(kib))
	}
	if res.bad > 0 {
		s += fmt.Sprintf(" (%d non-2xx/errors of %d)", res.bad, res.ok+res.bad)
	}
	fmt.Fprintf(os.Stderr, "bench:   %-20s %s\n", name, strings.ReplaceAll(s, "**", ""))
	return s
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "**NOT met**"
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

func mib(kib int64) string { return fmt.Sprintf("%.1f MiB", float64(kib)/1024) }

// render builds the markdown report.
func (b *bench) render() string {
	var s strings.Builder
	fmt.Fprintf(&s, "Portcullis `make bench`, %s, %s\n\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"), runtime.Version())
	slice := b.load.duration / baselineRounds
	fmt.Fprintf(&s, "Machine: %d cores (%s). Load: %s, %d connections, %s warm-up, then %s per workload. **The load generator and every server share this machine**, so ratios in the same run are the fair comparison. A ratio to a baseline takes it in %d slices interleaved with the workload's own %d (baseline, workload, …, %s each), so that both share the machine's drift; p50 is the mean of the slices' p50s and p99 the worst slice's.\n\n",
		runtime.NumCPU(), cpuModel(), b.drv.describe(b.load), b.load.conns, b.load.warmup, b.load.duration, baselineRounds, baselineRounds, slice)
	s.WriteString("| figure | measured | baseline in the same run | target | verdict |\n| --- | --- | --- | --- | --- |\n")
	for _, r := range b.rows {
		fmt.Fprintf(&s, "| %s | %s | %s | %s | %s |\n", r.figure, r.measured, r.baseline, r.target, r.verdict)
	}
	if len(b.micro) > 0 {
		s.WriteString("\nMicro-benchmarks (`testing.B`, run by deploy/bench.sh just before the servers started):\n\n")
		s.WriteString("| benchmark | per op | also reported | target | verdict |\n| --- | --- | --- | --- | --- |\n")
		for _, r := range b.micro {
			fmt.Fprintf(&s, "| %s | %s | %s | %s | %s |\n", r.figure, r.measured, r.baseline, r.target, r.verdict)
		}
	}
	fmt.Fprintf(&s, "\nServers: authserver and resourceserver with LOG_LEVEL=warn, default argon2id params, real PostgreSQL and Redis; whole run %.0f s.\n", time.Since(b.started).Seconds())
	return s.String()
}

func cpuModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}
