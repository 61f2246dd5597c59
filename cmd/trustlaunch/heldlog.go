package main

import (
	"fmt"
	"sync"
)

// maxHeldLines bounds what heldLog keeps while an emulator has the
// terminal; older lines beyond it are counted, not kept, so a long session
// (or a flood of refusals, already aggregated by the connector) cannot grow
// memory without end.
const maxHeldLines = 200

// heldLog is the log sink of a launch. Until the emulator starts, a line
// goes to the terminal at once. While an emulator draws on this terminal
// (c3270's screen, the raw relay), a line written over it would corrupt the
// screen the user is typing into, so lines are held and printed after the emulator has exited,
// in order, with a count of any that did not fit. The oldest lines are the
// ones dropped: the launcher's last line, written at teardown, sums up what
// the user could not be shown while the emulator ran ("tunnel reopened N
// times ..."), so it is always printed.
type heldLog struct {
	print func(format string, args ...any) // the terminal sink (stdio.logf)

	mu      sync.Mutex
	holding bool
	lines   []string
	dropped int
}

// logf is launcher.Options.Logf.
func (h *heldLog) logf(format string, args ...any) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.holding {
		h.print(format, args...)
		return
	}
	if len(h.lines) == maxHeldLines {
		copy(h.lines, h.lines[1:])
		h.lines = h.lines[:maxHeldLines-1]
		h.dropped++
	}
	h.lines = append(h.lines, fmt.Sprintf(format, args...))
}

// hold starts holding lines: the emulator now has the terminal.
func (h *heldLog) hold() {
	h.mu.Lock()
	h.holding = true
	h.mu.Unlock()
}

// release prints what was held and writes through again.
func (h *heldLog) release() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.dropped > 0 {
		h.print("%d earlier log lines of the session were dropped", h.dropped)
	}
	for _, l := range h.lines {
		h.print("%s", l)
	}
	h.lines, h.dropped, h.holding = nil, 0, false
}
