package sessiontoken

import (
	"container/heap"
	"context"
	"errors"
	"sync"
	"time"
)

// Replay is where a verifier records the tokens it admitted, and so what
// enforces the single-use rule (see the package documentation): the first
// use of a token binds it to the client address it came from; later uses
// from that address are admitted until the token expires, and uses from
// any other address are refused.
//
// MemoryReplay serves one proxy host. An implementation shared by several
// proxies keeps the same rule in a store they all reach, and must fail
// closed: an error other than a *Refusal makes the verifier refuse the
// token as an internal error.
type Replay interface {
	// Admit records e, or checks it against the use recorded for its
	// key. It returns nil to admit the use, a *Refusal with reason
	// Replayed to refuse it, or another error when it cannot tell.
	Admit(ctx context.Context, e Entry) error
}

// Entry is one use of a token, as a Replay sees it.
type Entry struct {
	// Key names the token: its issuer and jti (a jti is unique per
	// issuer only).
	Key string
	// Source is the client address the use came from, normalized.
	Source string
	// Until is when the record may be forgotten: the token's exp plus
	// ClockSkew, after which no verifier admits it anyway.
	Until time.Time
	// Now is the verifier's clock.
	Now time.Time
}

// ErrReplayFull is MemoryReplay's answer when it holds its capacity of
// unexpired tokens: it cannot record another, so it admits none (fail
// closed) until some expire.
var ErrReplayFull = errors.New("the replay memory is full: no new token is admitted until one expires")

// DefaultReplayCapacity is MemoryReplay's capacity when none is given:
// 200,000 tokens within MaxLifetime plus ClockSkew (330 s) is over 600 new
// sessions a second on one proxy host, in about 40 MB (BenchmarkReplayMemory
// measured 190 bytes a token).
const DefaultReplayCapacity = 200_000

// MemoryReplay is a Replay in this process's memory, for a single proxy
// host with one verifier process (Squid's children-max=1). It holds at most
// its capacity of unexpired tokens, and forgets each when it expires. A
// restart forgets them all: a token used before the restart can then be
// used once more from another address, until its exp, at most MaxLifetime
// after it was issued.
type MemoryReplay struct {
	mu       sync.Mutex
	capacity int
	byKey    map[string]*memEntry
	queue    expiryQueue
}

type memEntry struct {
	key    string
	source string
	until  time.Time
}

// NewMemoryReplay returns an empty MemoryReplay holding at most capacity
// tokens (DefaultReplayCapacity when capacity is 0 or less).
func NewMemoryReplay(capacity int) *MemoryReplay {
	if capacity <= 0 {
		capacity = DefaultReplayCapacity
	}
	return &MemoryReplay{capacity: capacity, byKey: map[string]*memEntry{}}
}

// Admit implements Replay.
func (m *MemoryReplay) Admit(_ context.Context, e Entry) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for len(m.queue) > 0 && !m.queue[0].until.After(e.Now) {
		old := heap.Pop(&m.queue).(*memEntry)
		delete(m.byKey, old.key)
	}
	if prev, ok := m.byKey[e.Key]; ok {
		if prev.source == e.Source {
			return nil
		}
		r := refuse(Replayed, "the token was used before from another client address")
		r.Detail = "first used from " + prev.source
		return r
	}
	if len(m.byKey) >= m.capacity {
		return ErrReplayFull
	}
	me := &memEntry{key: e.Key, source: e.Source, until: e.Until}
	m.byKey[e.Key] = me
	heap.Push(&m.queue, me)
	return nil
}

// Len returns how many unexpired tokens are held (as of the last Admit).
func (m *MemoryReplay) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.byKey)
}

// expiryQueue is a min-heap of entries by expiry.
type expiryQueue []*memEntry

func (q expiryQueue) Len() int           { return len(q) }
func (q expiryQueue) Less(i, j int) bool { return q[i].until.Before(q[j].until) }
func (q expiryQueue) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *expiryQueue) Push(x any)        { *q = append(*q, x.(*memEntry)) }
func (q *expiryQueue) Pop() any {
	old := *q
	n := len(old)
	e := old[n-1]
	old[n-1] = nil
	*q = old[:n-1]
	return e
}
