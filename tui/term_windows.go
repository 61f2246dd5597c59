package tui

import (
	"os"

	"golang.org/x/sys/windows"
)

// discardTypeahead drops the console input typed before the question
// appeared.
func discardTypeahead(f *os.File) error {
	return windows.FlushConsoleInputBuffer(windows.Handle(f.Fd()))
}
