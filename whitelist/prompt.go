package whitelist

import (
	"context"
	"errors"
)

// Answer is the user's reply to the trust prompt.
type Answer int

// The three answers of the trust prompt (docs/design.md "The decision flow",
// step 4). The zero value is AnswerNo, so anything that fails to produce an
// answer refuses.
const (
	AnswerNo     Answer = iota // refuse; write nothing
	AnswerYes                  // proceed once; write nothing
	AnswerAlways               // add the server to the user list, then proceed
)

// String returns "no", "yes" or "always".
func (a Answer) String() string {
	switch a {
	case AnswerYes:
		return "yes"
	case AnswerAlways:
		return "always"
	default:
		return "no"
	}
}

// PromptRequest is what the trust prompt shows. Origin is normalized; LaunchURL
// is the raw descriptor URL from the network and must be sanitized before a
// terminal sees it.
type PromptRequest struct {
	Origin       Origin
	LaunchURL    string
	UserListPath string // where Always writes, shown to the user
}

// Question is the exact question of the trust prompt, from the trusted-server
// list of Pulse Secure / Ivanti Connect Secure.
const Question = "Do you want to download, install and/or execute software from the following server"

// ErrInterrupted is the error, wrapped or not, of a Prompter whose prompt
// Ctrl-C or a signal ended: the answer is No, and the launch counts as
// interrupted rather than refused by the user.
var ErrInterrupted = errors.New("prompt interrupted")

// A Prompter asks the user whether to trust a server. Implementations must
// answer AnswerNo on cancel, timeout, a closed terminal or any error; an error
// is returned for the record, and the decision treats it as No.
type Prompter interface {
	Prompt(ctx context.Context, req PromptRequest) (Answer, error)
}
