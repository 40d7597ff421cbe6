package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"golang.org/x/term"
)

// Progress is reported this often: redrawn on a terminal, logged otherwise.
const (
	terminalProgressEvery = 250 * time.Millisecond
	logProgressEvery      = 5 * time.Second
)

// progress reports how far an import is: a line redrawn in place when stderr is a terminal,
// a JSON log line every few seconds when it is not (a file, a pipe, a CI log).
type progress struct {
	w        io.Writer // the terminal, or nil: log instead
	log      *slog.Logger
	total    int64        // bytes of the input, 0 when unknown (stdin)
	read     func() int64 // bytes of the input read so far
	now      func() time.Time
	every    time.Duration
	start    time.Time
	last     time.Time
	records  int
	reported bool
}

func newProgress(stderr io.Writer, log *slog.Logger, total int64, read func() int64) *progress {
	p := &progress{log: log, total: total, read: read, now: time.Now, every: logProgressEvery}
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.w, p.every = f, terminalProgressEvery
	}
	p.start = p.now()
	p.last = p.start
	return p
}

// update records that records records are done; it reports when the interval has passed.
func (p *progress) update(records int) {
	p.records = records
	if now := p.now(); now.Sub(p.last) >= p.every {
		p.last = now
		p.report(now)
	}
}

// finish ends the report: the terminal line is completed.
func (p *progress) finish() {
	if p.w != nil && p.reported {
		p.report(p.now())
		fmt.Fprintln(p.w)
	}
}

func (p *progress) report(now time.Time) {
	p.reported = true
	elapsed := now.Sub(p.start)
	rate := 0.0
	if elapsed > 0 {
		rate = float64(p.records) / elapsed.Seconds()
	}
	fraction, left := p.estimate(elapsed)
	if p.w == nil {
		attrs := []any{"records", p.records, "per_second", int(rate), "elapsed", elapsed.Round(time.Second).String()}
		if fraction >= 0 {
			attrs = append(attrs, "percent", int(fraction*100), "left", left.Round(time.Second).String())
		}
		p.log.Info("import progress", attrs...)
		return
	}
	line := fmt.Sprintf("\r%s, %.0f/s", plural(p.records, "record"), rate)
	if fraction >= 0 {
		line += fmt.Sprintf(", %d%%, about %s left", int(fraction*100), left.Round(time.Second))
	}
	fmt.Fprintf(p.w, "%s\033[K", line)
}

// estimate returns the fraction of the input read and the time left at the rate so far, or
// -1 when the size of the input is not known.
func (p *progress) estimate(elapsed time.Duration) (float64, time.Duration) {
	if p.total <= 0 {
		return -1, 0
	}
	read := min(p.read(), p.total)
	if read <= 0 {
		return 0, 0
	}
	fraction := float64(read) / float64(p.total)
	left := time.Duration(float64(elapsed) * (1 - fraction) / fraction)
	return fraction, left
}
