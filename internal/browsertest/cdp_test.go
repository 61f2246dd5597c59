//go:build linux

package browsertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/coder/websocket"
)

// cdp is a minimal Chrome DevTools Protocol client: one WebSocket to the
// browser endpoint, commands with ids, and flattened sessions
// (Target.attachToTarget with flatten: true), so page commands travel on the
// same connection with a sessionId. Events are delivered to waiters that
// registered before the command that causes them.
type cdp struct {
	ws *websocket.Conn

	mu      sync.Mutex
	nextID  int64
	pending map[int64]chan cdpMessage
	waiters []*cdpWaiter
	logs    []string      // console and log entries of attached pages
	err     error         // why the read loop ended
	done    chan struct{} // closed when the read loop ends
}

// cdpMessage is a response or an event.
type cdpMessage struct {
	ID        int64           `json:"id,omitempty"`
	Method    string          `json:"method,omitempty"`
	SessionID string          `json:"sessionId,omitempty"`
	Params    json.RawMessage `json:"params,omitempty"`
	Result    json.RawMessage `json:"result,omitempty"`
	Error     *cdpError       `json:"error,omitempty"`
}

type cdpError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Data    string `json:"data,omitempty"`
}

func (e *cdpError) Error() string {
	if e.Data != "" {
		return fmt.Sprintf("%s (%d): %s", e.Message, e.Code, e.Data)
	}
	return fmt.Sprintf("%s (%d)", e.Message, e.Code)
}

// cdpWaiter receives the first event named method on sessionID.
type cdpWaiter struct {
	sessionID, method string
	ch                chan json.RawMessage // buffered, 1
}

// dialCDP connects to the browser's DevTools WebSocket at wsURL.
func dialCDP(ctx context.Context, wsURL string) (*cdp, error) {
	ws, _, err := websocket.Dial(ctx, wsURL, nil)
	if err != nil {
		return nil, fmt.Errorf("devtools: dial %s: %w", wsURL, err)
	}
	// The default limit is 32 KiB; a page's text (the chrome://policy
	// fallback message) or a batch of log entries can exceed it.
	ws.SetReadLimit(16 << 20)
	c := &cdp{ws: ws, pending: make(map[int64]chan cdpMessage), done: make(chan struct{})}
	go c.readLoop()
	return c, nil
}

func (c *cdp) readLoop() {
	var err error
	defer func() {
		c.mu.Lock()
		c.err = err
		c.mu.Unlock()
		close(c.done)
	}()
	for {
		var data []byte
		_, data, err = c.ws.Read(context.Background())
		if err != nil {
			return
		}
		var m cdpMessage
		if err = json.Unmarshal(data, &m); err != nil {
			err = fmt.Errorf("devtools: bad message: %w", err)
			return
		}
		c.mu.Lock()
		if m.ID != 0 {
			if ch, ok := c.pending[m.ID]; ok {
				delete(c.pending, m.ID)
				ch <- m // buffered
			}
		} else {
			if entry := logEntry(m); entry != "" && len(c.logs) < 1000 {
				c.logs = append(c.logs, entry)
			}
			kept := c.waiters[:0]
			for _, w := range c.waiters {
				if w.method == m.Method && w.sessionID == m.SessionID {
					w.ch <- m.Params // buffered; the waiter is then dropped
					continue
				}
				kept = append(kept, w)
			}
			c.waiters = kept
		}
		c.mu.Unlock()
	}
}

// logEntry formats a Log.entryAdded event (where Chromium reports, among
// others, "Not allowed to launch ... because a user gesture is required"),
// or returns "" for any other event.
func logEntry(m cdpMessage) string {
	if m.Method != "Log.entryAdded" {
		return ""
	}
	var p struct {
		Entry struct {
			Source string `json:"source"`
			Level  string `json:"level"`
			Text   string `json:"text"`
			URL    string `json:"url"`
		} `json:"entry"`
	}
	if json.Unmarshal(m.Params, &p) != nil {
		return ""
	}
	e := p.Entry
	return fmt.Sprintf("%s %s: %s %s", e.Level, e.Source, e.Text, e.URL)
}

// pageLog returns the log entries of the attached pages so far.
func (c *cdp) pageLog() []string {
	if c == nil {
		return nil // a browser without DevTools (Firefox: firefox_test.go)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.logs...)
}

// close ends the connection; the read loop then ends too.
func (c *cdp) close() {
	c.ws.Close(websocket.StatusNormalClosure, "")
	<-c.done
}

// call sends method with params on sessionID ("" for the browser) and
// decodes the result into result (which may be nil).
func (c *cdp) call(ctx context.Context, sessionID, method string, params, result any) error {
	if params == nil {
		params = struct{}{}
	}
	p, err := json.Marshal(params)
	if err != nil {
		return err
	}
	ch := make(chan cdpMessage, 1)
	c.mu.Lock()
	c.nextID++
	id := c.nextID
	c.pending[id] = ch
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
	}()
	msg, err := json.Marshal(cdpMessage{ID: id, Method: method, SessionID: sessionID, Params: p})
	if err != nil {
		return err
	}
	if err := c.ws.Write(ctx, websocket.MessageText, msg); err != nil {
		return fmt.Errorf("devtools: %s: %w", method, err)
	}
	select {
	case m := <-ch:
		if m.Error != nil {
			return fmt.Errorf("devtools: %s: %w", method, m.Error)
		}
		if result != nil {
			if err := json.Unmarshal(m.Result, result); err != nil {
				return fmt.Errorf("devtools: %s: decode result: %w", method, err)
			}
		}
		return nil
	case <-c.done:
		return fmt.Errorf("devtools: %s: connection closed: %w", method, c.readErr())
	case <-ctx.Done():
		return fmt.Errorf("devtools: %s: %w", method, ctx.Err())
	}
}

func (c *cdp) readErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// expect registers interest in the next event named method on sessionID.
// Register before sending the command that causes the event, then wait.
func (c *cdp) expect(sessionID, method string) *cdpWaiter {
	w := &cdpWaiter{sessionID: sessionID, method: method, ch: make(chan json.RawMessage, 1)}
	c.mu.Lock()
	c.waiters = append(c.waiters, w)
	c.mu.Unlock()
	return w
}

// wait returns the event's parameters, or an error when ctx ends or the
// connection closes first.
func (c *cdp) wait(ctx context.Context, w *cdpWaiter) (json.RawMessage, error) {
	select {
	case p := <-w.ch:
		return p, nil
	case <-c.done:
		return nil, fmt.Errorf("devtools: waiting for %s: connection closed: %w", w.method, c.readErr())
	case <-ctx.Done():
		return nil, fmt.Errorf("devtools: waiting for %s: %w", w.method, ctx.Err())
	}
}

// page is one tab, attached with a flattened session.
type page struct {
	c         *cdp
	sessionID string
}

// newPage opens a tab on about:blank and attaches to it.
func (c *cdp) newPage(ctx context.Context) (*page, error) {
	var created struct {
		TargetID string `json:"targetId"`
	}
	if err := c.call(ctx, "", "Target.createTarget", map[string]any{"url": "about:blank"}, &created); err != nil {
		return nil, err
	}
	var attached struct {
		SessionID string `json:"sessionId"`
	}
	if err := c.call(ctx, "", "Target.attachToTarget", map[string]any{"targetId": created.TargetID, "flatten": true}, &attached); err != nil {
		return nil, err
	}
	p := &page{c: c, sessionID: attached.SessionID}
	for _, domain := range []string{"Page", "Log"} {
		if err := c.call(ctx, p.sessionID, domain+".enable", nil, nil); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// navigate loads url and returns once its load event fired. A navigation
// that fails (DNS, TLS, refused) is an error carrying Chromium's net error.
func (p *page) navigate(ctx context.Context, url string) error {
	loaded := p.c.expect(p.sessionID, "Page.loadEventFired")
	var nav struct {
		ErrorText string `json:"errorText"`
	}
	if err := p.c.call(ctx, p.sessionID, "Page.navigate", map[string]any{"url": url}, &nav); err != nil {
		return err
	}
	if nav.ErrorText != "" {
		return fmt.Errorf("navigate to %s: %s", url, nav.ErrorText)
	}
	_, err := p.c.wait(ctx, loaded)
	return err
}

// eval evaluates expr in the page, awaiting it when it is a promise, and
// decodes its value into result.
func (p *page) eval(ctx context.Context, expr string, result any) error {
	var r struct {
		Result struct {
			Type  string          `json:"type"`
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text      string `json:"text"`
			Exception struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	err := p.c.call(ctx, p.sessionID, "Runtime.evaluate", map[string]any{
		"expression":    expr,
		"awaitPromise":  true,
		"returnByValue": true,
	}, &r)
	if err != nil {
		return err
	}
	if e := r.ExceptionDetails; e != nil {
		return fmt.Errorf("evaluate: %s %s", e.Text, e.Exception.Description)
	}
	if result == nil {
		return nil
	}
	if len(r.Result.Value) == 0 {
		return errors.New("evaluate: no value (type " + r.Result.Type + ")")
	}
	return json.Unmarshal(r.Result.Value, result)
}

// click presses and releases the left mouse button at (x, y) in CSS
// pixels of the viewport: a real user gesture, which Chromium requires
// before it hands a link to an external protocol handler.
func (p *page) click(ctx context.Context, x, y float64) error {
	for _, ev := range []map[string]any{
		{"type": "mouseMoved", "x": x, "y": y},
		{"type": "mousePressed", "x": x, "y": y, "button": "left", "buttons": 1, "clickCount": 1},
		{"type": "mouseReleased", "x": x, "y": y, "button": "left", "buttons": 0, "clickCount": 1},
	} {
		if err := p.c.call(ctx, p.sessionID, "Input.dispatchMouseEvent", ev, nil); err != nil {
			return err
		}
	}
	return nil
}
