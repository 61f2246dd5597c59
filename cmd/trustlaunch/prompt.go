package main

import (
	"context"
	"errors"

	"github.com/trustlaunch/trustlaunch/whitelist"
)

// newPrompter is replaced when the tui package lands.
func newPrompter(s *stdio, o openOptions) whitelist.Prompter { return noPrompter{} }

type noPrompter struct{}

func (noPrompter) Prompt(context.Context, whitelist.PromptRequest) (whitelist.Answer, error) {
	return whitelist.AnswerNo, errors.New("no prompter in this build")
}
