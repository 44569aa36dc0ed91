package export

import (
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/safetensors"
)

// progress logs how much of a long write is done: a line every 5% of the
// bytes or every 15 seconds, whichever comes first.
type progress struct {
	log      *slog.Logger
	what     string
	total    int64
	doneB    int64
	start    time.Time
	lastLog  time.Time
	lastFrac int64 // last logged twentieth
}

func newProgress(log *slog.Logger, what string, total int64) *progress {
	now := time.Now()
	return &progress{log: log, what: what, total: total, start: now, lastLog: now}
}

// add records n more bytes written.
func (p *progress) add(n int64) {
	p.doneB += n
	if p.total <= 0 {
		return
	}
	frac := 20 * p.doneB / p.total
	if frac > p.lastFrac || time.Since(p.lastLog) > 15*time.Second {
		p.lastFrac, p.lastLog = frac, time.Now()
		p.log.Info(fmt.Sprintf("%s: %s of %s (%d%%)", p.what, humanBytes(p.doneB), humanBytes(p.total), 100*p.doneB/p.total),
			"elapsed", time.Since(p.start).Round(time.Second).String())
	}
}

// done logs the end of the write.
func (p *progress) done() {
	p.log.Info(fmt.Sprintf("%s: %s written", p.what, humanBytes(p.doneB)), "seconds", fmt.Sprintf("%.1f", time.Since(p.start).Seconds()))
}

// wrap returns e with its data counted as it is written.
func (p *progress) wrap(e safetensors.Entry) safetensors.Entry {
	switch {
	case e.Stream != nil:
		stream := e.Stream
		e.Stream = func(w io.Writer) error { return stream(&countWriter{w: w, p: p}) }
	case e.Lazy != nil:
		lazy := e.Lazy
		e.Lazy = func() ([]byte, error) {
			b, err := lazy()
			p.add(int64(len(b)))
			return b, err
		}
	default:
		data := e.Data
		e.Data, e.Lazy = nil, func() ([]byte, error) { p.add(int64(len(data))); return data, nil }
	}
	return e
}

type countWriter struct {
	w io.Writer
	p *progress
}

func (c *countWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.p.add(int64(n))
	return n, err
}

// humanBytes formats a size in decimal units ("4.97 GB").
func humanBytes(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.2f %cB", float64(n)/float64(div), "kMGTPE"[exp])
}
