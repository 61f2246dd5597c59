//go:build !linux

package main

// osHelpForms are this OS's hidden forms that parse flags: none here.
func osHelpForms() []helpForm { return nil }

// osPromptingForms are the names of those that may show the trust prompt.
func osPromptingForms() []string { return nil }
