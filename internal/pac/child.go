package pac

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// The messages between Script (the parent) and ServeChild, one JSON
// value each, in this order: childConfig, answered by one childReply (an
// empty one: the limits are set); the script as a JSON string, answered
// by one childReply (an empty one: loaded); then any number of
// childQuery, each answered by one childReply.
type (
	childConfig struct {
		Memory   int64 `json:"memory"`    // bytes the script may use, past what the process holds at start
		BudgetMS int64 `json:"budget_ms"` // time for the script's top level and for each query
	}
	childQuery struct {
		URL  string `json:"url"`
		Host string `json:"host"`
	}
	childReply struct {
		Result string `json:"result,omitempty"`
		Error  string `json:"error,omitempty"`
		Bound  bool   `json:"bound,omitempty"` // the error is a bound the script ran into (EvalError.bound)
	}
)

// memoryWatch is how often the child looks at its heap while a script
// runs: a script that allocates without end is stopped with a clear error
// at the soft limit, and the kernel's limit (limitMemory) ends the
// process if an allocation outruns the watch.
const memoryWatch = 5 * time.Millisecond

// ServeChild is the PAC evaluator's child process (trustlaunch __pac):
// it limits its own memory (RLIMIT_AS and RLIMIT_DATA on Linux) before it
// reads the script, then answers queries on out until in ends. It runs
// with nothing from the parent but its standard input: the script and
// the queries. Its error ends the process; a script's failure is an
// answer, not an error.
func ServeChild(in io.Reader, out io.Writer) error {
	dec := json.NewDecoder(in)
	enc := json.NewEncoder(out)
	var cfg childConfig
	if err := dec.Decode(&cfg); err != nil {
		return fmt.Errorf("read the configuration: %w", err)
	}
	reply := func(r childReply) error { return enc.Encode(r) }
	if cfg.Memory <= 0 || cfg.BudgetMS <= 0 {
		err := errors.New("the PAC evaluator's configuration has no memory limit or no time budget")
		_ = reply(childReply{Error: err.Error(), Bound: true})
		return err
	}
	if err := limitMemory(cfg.Memory); err != nil {
		err = fmt.Errorf("cannot limit the PAC evaluator's memory: %w", err)
		_ = reply(childReply{Error: err.Error(), Bound: true})
		return err
	}
	if err := reply(childReply{}); err != nil {
		return err
	}
	// The collector works hard well before the kernel's limit, so that a
	// script's garbage does not count against it.
	debug.SetMemoryLimit(cfg.Memory / 2)
	debug.SetMaxStack(64 << 20)
	e, err := newEngine(time.Duration(cfg.BudgetMS) * time.Millisecond)
	if err != nil {
		return err
	}
	stop := watchHeap(e, uint64(cfg.Memory)*3/4)
	defer stop()
	var script string
	if err := dec.Decode(&script); err != nil {
		return fmt.Errorf("read the script: %w", err)
	}
	if err := e.load(script); err != nil {
		return reply(failure(err))
	}
	script = ""
	if err := reply(childReply{}); err != nil {
		return err
	}
	for {
		var q childQuery
		if err := dec.Decode(&q); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("read a query: %w", err)
		}
		res, err := e.Find(q.URL, q.Host)
		r := childReply{Result: res}
		if err != nil {
			r = failure(err)
		}
		if err := reply(r); err != nil {
			return err
		}
	}
}

func failure(err error) childReply {
	var ee *EvalError
	return childReply{Error: err.Error(), Bound: errors.As(err, &ee) && ee.bound}
}

// watchHeap interrupts e's script whenever the heap's live objects pass
// limit; stop ends the watch.
func watchHeap(e *Engine, limit uint64) (stop func()) {
	done := make(chan struct{})
	go func() {
		sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		t := time.NewTicker(memoryWatch)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			metrics.Read(sample)
			if sample[0].Value.Kind() == metrics.KindUint64 && sample[0].Value.Uint64() > limit {
				e.interruptForMemory()
			}
		}
	}()
	return func() { close(done) }
}
