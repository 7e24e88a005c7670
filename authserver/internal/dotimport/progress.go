package dotimport

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// progress draws "users   1200/5000 [=====         ]" on one terminal line,
// redrawn at most ten times a second. A nil *progress draws nothing.
type progress struct {
	w     io.Writer
	label string
	total int64
	n     int64
	last  time.Time
	width int
}

func newProgress(w io.Writer, label string, total int64) *progress {
	return &progress{w: w, label: label, total: total, width: 30}
}

func (p *progress) add(n int64) {
	if p == nil {
		return
	}
	p.n += n
	if now := time.Now(); now.Sub(p.last) >= 100*time.Millisecond {
		p.last = now
		p.draw()
	}
}

func (p *progress) draw() {
	fill := p.width
	if p.total > 0 {
		fill = int(min(p.n, p.total) * int64(p.width) / p.total)
	}
	bar := strings.Repeat("=", fill) + strings.Repeat(" ", p.width-fill)
	fmt.Fprintf(p.w, "\r%-15s %9d/%-9d [%s]", p.label, p.n, p.total, bar)
}

func (p *progress) finish() {
	if p == nil {
		return
	}
	p.draw()
	fmt.Fprintln(p.w)
}
